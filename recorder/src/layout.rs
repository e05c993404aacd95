//! The layout of this CPython's structures, as `layout.c` found it in the headers (or, on
//! 3.13+, in the interpreter's `_Py_DebugOffsets`). Only offsets and type addresses: how
//! they are used is `stacks.rs`'s business.

/// An offset this CPython version does not have.
pub const NONE: u64 = u64::MAX;

/// Mirrors `struct callscope_layout` in layout.c, field for field.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Layout {
    pub version_hex: u64,
    pub free_threaded: u64,

    pub interp_threads_head: u64,

    pub tstate_size: u64,
    pub tstate_next: u64,
    pub tstate_interp: u64,
    pub tstate_thread_id: u64,
    pub tstate_native_thread_id: u64,
    pub tstate_frame: u64,
    pub tstate_datastack_chunk: u64,
    pub cframe_current_frame: u64,

    pub frame_kind: u64,
    pub frame_size: u64,
    pub frame_previous: u64,
    pub frame_code: u64,
    pub frame_instr: u64,
    pub frame_owner: u64,
    pub owned_by_cstack: u64,
    pub owned_by_generator: u64,

    pub code_size: u64,
    pub code_filename: u64,
    pub code_name: u64,
    pub code_qualname: u64,
    pub code_linetable: u64,
    pub code_firstlineno: u64,
    pub code_varnames: u64,
    pub code_adaptive: u64,

    pub ob_type: u64,
    pub var_size: u64,
    pub tuple_items: u64,
    pub bytes_data: u64,
    pub unicode_state: u64,
    pub unicode_length: u64,
    pub unicode_ascii_size: u64,
    pub unicode_compact_size: u64,
    pub unicode_kind_mask: u64,
    pub unicode_kind_shift: u64,
    pub unicode_compact_mask: u64,
    pub unicode_ascii_mask: u64,

    pub code_type: u64,
    pub frame_type: u64,
    pub unicode_type: u64,
    pub bytes_type: u64,
    pub tuple_type: u64,

    pub gil_locked: u64,
    pub gil_holder: u64,
    pub gil_start: u64,
    pub gil_size: u64,

    pub tstate_context: u64,
    pub context_vars: u64,
    pub hamt_root: u64,
    pub hamt_bitmap_bitmap: u64,
    pub hamt_bitmap_array: u64,
    pub hamt_array_array: u64,
    pub gen_frame: u64,
    pub gen_frame_state: u64,
    pub frame_state_suspended: u64,
    pub frame_state_yield_from: u64,
    pub frame_stacktop: u64,
    pub frame_valuestack: u64,
    pub frame_state: u64,
    pub ob_refcnt: u64,
    pub tstate_recursion_depth: u64,
    pub code_code: u64,
    pub op_yield_from: u64,
    pub op_resume: u64,
    pub op_resume_alt: u64,
    pub coro_type: u64,
    pub gen_type: u64,
    pub context_type: u64,
}

/// How a thread's frames are chained.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameKind {
    /// 3.9, 3.10: heap `PyFrameObject`s linked by `f_back`; `f_lasti` is the instruction.
    Object,
    /// 3.11+: `_PyInterpreterFrame`s, mostly in the thread's data stack, linked by
    /// `previous`; the instruction is a pointer into the code object.
    Interpreter,
}

extern "C" {
    fn callscope_layout(interp: *mut pyo3::ffi::PyInterpreterState, out: *mut Layout);
}

impl Layout {
    /// The layout of the running interpreter, whose main interpreter state is `interp`.
    ///
    /// # Safety
    /// `interp` must be the live main interpreter state.
    pub unsafe fn of(interp: *mut pyo3::ffi::PyInterpreterState) -> Layout {
        let mut layout = std::mem::MaybeUninit::<Layout>::uninit();
        callscope_layout(interp, layout.as_mut_ptr());
        layout.assume_init()
    }

    pub fn frame_kind(&self) -> FrameKind {
        if self.frame_kind == 0 {
            FrameKind::Object
        } else {
            FrameKind::Interpreter
        }
    }

    pub fn minor(&self) -> u32 {
        ((self.version_hex >> 16) & 0xff) as u32
    }

    pub fn has_gil(&self) -> bool {
        self.gil_locked != NONE && self.gil_holder != NONE
    }
}
