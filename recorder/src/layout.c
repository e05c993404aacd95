/* Where the fields callscope reads live in this CPython's structures.
 *
 * Compiled by build.rs against the internal headers of the one CPython the wheel is built
 * for, so no offset is ever copied by hand. From 3.13 on the interpreter publishes the
 * same facts at run time in `_PyRuntime.debug_offsets` (`_Py_DebugOffsets`, made for
 * external readers such as debuggers and profilers), and they are taken from there: the
 * fields of that struct keep their names across versions, so 3.14 and later need no new
 * code here. Everything `_Py_DebugOffsets` does not describe (the string and GIL layouts
 * before 3.13, the type objects) comes from public headers, which compile everywhere.
 *
 * An offset that does not exist in this version is NONE.
 */
#define Py_BUILD_CORE 1
#include <Python.h>
#include <frameobject.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "internal/pycore_pystate.h"
#include "internal/pycore_interp.h"
#include "internal/pycore_runtime.h"
#if PY_VERSION_HEX >= 0x030B0000
#include "internal/pycore_frame.h"
#endif
#include "internal/pycore_gil.h"
#include "internal/pycore_context.h"
#include "internal/pycore_hamt.h"
#if PY_VERSION_HEX >= 0x030D0000
#include "internal/pycore_genobject.h"
#else
#include <opcode.h>
#endif

#define NONE UINT64_MAX

/* Keep in step with `Layout` in layout.rs. */
struct callscope_layout {
    uint64_t version_hex;
    uint64_t free_threaded;

    uint64_t interp_threads_head;

    uint64_t tstate_size;
    uint64_t tstate_next;
    uint64_t tstate_interp;
    uint64_t tstate_thread_id;
    uint64_t tstate_native_thread_id;
    /* 3.9/3.10: the PyFrameObject; 3.11/3.12: the _PyCFrame; 3.13+: the frame itself. */
    uint64_t tstate_frame;
    uint64_t tstate_datastack_chunk;
    uint64_t cframe_current_frame;

    /* 0: PyFrameObject chain (3.9, 3.10); 1: _PyInterpreterFrame chain (3.11+). */
    uint64_t frame_kind;
    uint64_t frame_size;
    uint64_t frame_previous;
    uint64_t frame_code;
    uint64_t frame_instr;
    uint64_t frame_owner;
    uint64_t owned_by_cstack;
    uint64_t owned_by_generator;

    uint64_t code_size;
    uint64_t code_filename;
    uint64_t code_name;
    uint64_t code_qualname;
    uint64_t code_linetable;
    uint64_t code_firstlineno;
    uint64_t code_varnames;
    /* 3.11+: the start of the instructions inside the code object. */
    uint64_t code_adaptive;

    uint64_t ob_type;
    uint64_t var_size;
    uint64_t tuple_items;
    uint64_t bytes_data;
    uint64_t unicode_state;
    uint64_t unicode_length;
    uint64_t unicode_ascii_size;
    uint64_t unicode_compact_size;
    /* Masks of PyASCIIObject.state's bit fields, in the 32-bit word at unicode_state. */
    uint64_t unicode_kind_mask;
    uint64_t unicode_kind_shift;
    uint64_t unicode_compact_mask;
    uint64_t unicode_ascii_mask;

    uint64_t code_type;
    uint64_t frame_type;
    uint64_t unicode_type;
    uint64_t bytes_type;
    uint64_t tuple_type;

    /* Where the GIL of the main interpreter says whether it is held and by which thread
     * state; NONE on a free-threaded build. Absolute addresses. */
    uint64_t gil_locked;
    uint64_t gil_holder;
    /* The whole GIL structure, whose mutex and condition a thread waiting for the GIL
     * sleeps on. */
    uint64_t gil_start;
    uint64_t gil_size;

    /* Async tasks (tasks.rs): the thread's current contextvars.Context, its variables
     * (an immutable HAMT) and the HAMT's nodes. */
    uint64_t tstate_context;
    uint64_t context_vars;
    uint64_t hamt_root;
    uint64_t hamt_bitmap_bitmap;
    uint64_t hamt_bitmap_array;
    uint64_t hamt_array_array;
    /* A coroutine's frame: 3.9/3.10 a PyFrameObject pointer, 3.11+ the frame inside it. */
    uint64_t gen_frame;
    uint64_t gen_frame_state;
    /* gi_frame_state values as the byte holds them (NONE is -1 as a 64-bit number):
     * suspended, and (3.13+) suspended inside an await. */
    uint64_t frame_state_suspended;
    uint64_t frame_state_yield_from;
    /* Where a suspended frame's value stack ends: 3.9 a pointer (f_stacktop), 3.10 a
     * depth from f_valuestack (f_stackdepth), 3.11-3.13 an index into localsplus. */
    uint64_t frame_stacktop;
    uint64_t frame_valuestack;
    /* 3.9: f_executing; 3.10: f_state. */
    uint64_t frame_state;
    /* 3.9, 3.10: where a frame object counts its references (0 once it is freed), and
     * the thread's count of nested calls, at least its number of frames (see
     * `StackReader::walk_objects`). */
    uint64_t ob_refcnt;
    uint64_t tstate_recursion_depth;
    uint64_t code_code;
    /* The instruction after a suspended await: 3.9/3.10 YIELD_FROM; 3.11/3.12 RESUME
     * (and its quickened or instrumented twin) with an argument of 2 or more. */
    uint64_t op_yield_from;
    uint64_t op_resume;
    uint64_t op_resume_alt;
    uint64_t coro_type;
    uint64_t gen_type;
    uint64_t context_type;
};

/* The nodes of Python/hamt.c, which no header declares; their layout has not changed
 * since contextvars came in 3.7. */
typedef struct {
    PyObject_VAR_HEAD
    uint32_t b_bitmap;
    PyObject *b_array[1];
} callscope_hamt_bitmap;

typedef struct {
    PyObject_HEAD
    PyObject *a_array[32];
    Py_ssize_t a_count;
} callscope_hamt_array;

static void task_layout(struct callscope_layout *l) {
    l->tstate_context = offsetof(PyThreadState, context);
    l->context_vars = offsetof(PyContext, ctx_vars);
    l->hamt_root = offsetof(PyHamtObject, h_root);
    l->hamt_bitmap_bitmap = offsetof(callscope_hamt_bitmap, b_bitmap);
    l->hamt_bitmap_array = offsetof(callscope_hamt_bitmap, b_array);
    l->hamt_array_array = offsetof(callscope_hamt_array, a_array);
    l->coro_type = (uint64_t)(uintptr_t)&PyCoro_Type;
    l->gen_type = (uint64_t)(uintptr_t)&PyGen_Type;
    l->context_type = (uint64_t)(uintptr_t)&PyContext_Type;
#if PY_VERSION_HEX >= 0x030B0000
    l->gen_frame = offsetof(PyGenObject, gi_iframe);
    l->gen_frame_state = offsetof(PyGenObject, gi_frame_state);
    l->frame_state_suspended = (uint8_t)FRAME_SUSPENDED;
#if PY_VERSION_HEX < 0x030E0000
    l->frame_stacktop = offsetof(_PyInterpreterFrame, stacktop);
#endif
#if PY_VERSION_HEX >= 0x030D0000
    l->frame_state_yield_from = (uint8_t)FRAME_SUSPENDED_YIELD_FROM;
#else
    l->op_resume = RESUME;
#if PY_VERSION_HEX >= 0x030C0000
    l->op_resume_alt = INSTRUMENTED_RESUME;
#else
    l->op_resume_alt = RESUME_QUICK;
#endif
#endif
#else
    l->gen_frame = offsetof(PyGenObject, gi_frame);
    l->frame_valuestack = offsetof(PyFrameObject, f_valuestack);
    l->code_code = offsetof(PyCodeObject, co_code);
    l->op_yield_from = YIELD_FROM;
#if PY_VERSION_HEX >= 0x030A0000
    l->frame_stacktop = offsetof(PyFrameObject, f_stackdepth);
    l->frame_state = offsetof(PyFrameObject, f_state);
    l->frame_state_suspended = (uint8_t)FRAME_SUSPENDED;
#else
    l->frame_stacktop = offsetof(PyFrameObject, f_stacktop);
    l->frame_state = offsetof(PyFrameObject, f_executing);
#endif
#endif
}

static uint64_t mask_shift(uint64_t mask) {
    uint64_t shift = 0;
    while (mask && !(mask & 1)) {
        mask >>= 1;
        shift++;
    }
    return shift;
}

/* The bit-field masks come from the compiler: set one field, see which bits moved. */
static void unicode_state_masks(struct callscope_layout *l) {
    PyASCIIObject probe;
    uint32_t word;
    size_t at = offsetof(PyASCIIObject, state);

    memset(&probe, 0, sizeof probe);
    probe.state.kind = 7;
    memcpy(&word, (char *)&probe + at, sizeof word);
    l->unicode_kind_mask = word;
    l->unicode_kind_shift = mask_shift(word);

    memset(&probe, 0, sizeof probe);
    probe.state.compact = 1;
    memcpy(&word, (char *)&probe + at, sizeof word);
    l->unicode_compact_mask = word;

    memset(&probe, 0, sizeof probe);
    probe.state.ascii = 1;
    memcpy(&word, (char *)&probe + at, sizeof word);
    l->unicode_ascii_mask = word;

    l->unicode_state = at;
    l->unicode_length = offsetof(PyASCIIObject, length);
    l->unicode_ascii_size = sizeof(PyASCIIObject);
    l->unicode_compact_size = sizeof(PyCompactUnicodeObject);
}

void callscope_layout(PyInterpreterState *interp, struct callscope_layout *l) {
    memset(l, 0xff, sizeof *l);
    l->version_hex = PY_VERSION_HEX;
#ifdef Py_GIL_DISABLED
    l->free_threaded = 1;
#else
    l->free_threaded = 0;
#endif
    l->ob_type = offsetof(PyObject, ob_type);
    l->var_size = offsetof(PyVarObject, ob_size);
    l->tuple_items = offsetof(PyTupleObject, ob_item);
    l->bytes_data = offsetof(PyBytesObject, ob_sval);
    unicode_state_masks(l);
    l->code_type = (uint64_t)(uintptr_t)&PyCode_Type;
    l->frame_type = (uint64_t)(uintptr_t)&PyFrame_Type;
    l->unicode_type = (uint64_t)(uintptr_t)&PyUnicode_Type;
    l->bytes_type = (uint64_t)(uintptr_t)&PyBytes_Type;
    l->tuple_type = (uint64_t)(uintptr_t)&PyTuple_Type;
    task_layout(l);

#if PY_VERSION_HEX >= 0x030D0000
    const _Py_DebugOffsets *d = &_PyRuntime.debug_offsets;
    l->interp_threads_head = d->interpreter_state.threads_head;
    l->tstate_size = d->thread_state.size;
    l->tstate_next = d->thread_state.next;
    l->tstate_interp = d->thread_state.interp;
    l->tstate_thread_id = d->thread_state.thread_id;
    l->tstate_native_thread_id = d->thread_state.native_thread_id;
    l->tstate_frame = d->thread_state.current_frame;
    l->tstate_datastack_chunk = d->thread_state.datastack_chunk;
    l->frame_kind = 1;
    l->frame_size = d->interpreter_frame.localsplus;
    l->frame_previous = d->interpreter_frame.previous;
    l->frame_code = d->interpreter_frame.executable;
    l->frame_instr = d->interpreter_frame.instr_ptr;
    l->frame_owner = d->interpreter_frame.owner;
    l->owned_by_cstack = FRAME_OWNED_BY_CSTACK;
    l->owned_by_generator = FRAME_OWNED_BY_GENERATOR;
    l->code_size = d->code_object.size;
    l->code_filename = d->code_object.filename;
    l->code_name = d->code_object.name;
    l->code_qualname = d->code_object.qualname;
    l->code_linetable = d->code_object.linetable;
    l->code_firstlineno = d->code_object.firstlineno;
    l->code_varnames = d->code_object.localsplusnames;
    l->code_adaptive = d->code_object.co_code_adaptive;
    if (!d->free_threaded) {
        l->gil_locked = (uint64_t)(uintptr_t)interp + d->interpreter_state.gil_runtime_state_locked;
        l->gil_holder = (uint64_t)(uintptr_t)interp + d->interpreter_state.gil_runtime_state_holder;
        l->gil_start = (uint64_t)(uintptr_t)interp + d->interpreter_state.gil_runtime_state;
        l->gil_size = sizeof(struct _gil_runtime_state);
    }
#else
    (void)interp;
    l->tstate_size = sizeof(PyThreadState);
    l->tstate_next = offsetof(PyThreadState, next);
    l->tstate_interp = offsetof(PyThreadState, interp);
    l->tstate_thread_id = offsetof(PyThreadState, thread_id);
    l->code_size = sizeof(PyCodeObject);
    l->code_filename = offsetof(PyCodeObject, co_filename);
    l->code_name = offsetof(PyCodeObject, co_name);
    l->code_firstlineno = offsetof(PyCodeObject, co_firstlineno);
#if PY_VERSION_HEX >= 0x030B0000
    l->interp_threads_head = offsetof(PyInterpreterState, threads.head);
    l->tstate_native_thread_id = offsetof(PyThreadState, native_thread_id);
    l->tstate_frame = offsetof(PyThreadState, cframe);
    l->tstate_datastack_chunk = offsetof(PyThreadState, datastack_chunk);
    l->cframe_current_frame = offsetof(_PyCFrame, current_frame);
    l->frame_kind = 1;
    l->frame_size = offsetof(_PyInterpreterFrame, localsplus);
    l->frame_previous = offsetof(_PyInterpreterFrame, previous);
    l->frame_code = offsetof(_PyInterpreterFrame, f_code);
    l->frame_instr = offsetof(_PyInterpreterFrame, prev_instr);
    l->frame_owner = offsetof(_PyInterpreterFrame, owner);
    l->owned_by_generator = FRAME_OWNED_BY_GENERATOR;
#if PY_VERSION_HEX >= 0x030C0000
    l->owned_by_cstack = FRAME_OWNED_BY_CSTACK;
#endif
    l->code_qualname = offsetof(PyCodeObject, co_qualname);
    l->code_linetable = offsetof(PyCodeObject, co_linetable);
    l->code_varnames = offsetof(PyCodeObject, co_localsplusnames);
    l->code_adaptive = offsetof(PyCodeObject, co_code_adaptive);
#else
    l->interp_threads_head = offsetof(PyInterpreterState, tstate_head);
    l->tstate_frame = offsetof(PyThreadState, frame);
    l->frame_kind = 0;
    l->frame_size = offsetof(PyFrameObject, f_lineno) + sizeof(int);
    l->ob_refcnt = offsetof(PyObject, ob_refcnt);
    l->tstate_recursion_depth = offsetof(PyThreadState, recursion_depth);
    l->frame_previous = offsetof(PyFrameObject, f_back);
    l->frame_code = offsetof(PyFrameObject, f_code);
    l->frame_instr = offsetof(PyFrameObject, f_lasti);
    l->code_varnames = offsetof(PyCodeObject, co_varnames);
#if PY_VERSION_HEX >= 0x030A0000
    l->code_linetable = offsetof(PyCodeObject, co_linetable);
#else
    l->code_linetable = offsetof(PyCodeObject, co_lnotab);
#endif
#endif
    /* The GIL: a field of the runtime before 3.12, the interpreter's own from 3.12. */
#if PY_VERSION_HEX >= 0x030C0000
    struct _gil_runtime_state *gil = interp->ceval.gil;
#else
    struct _gil_runtime_state *gil = &_PyRuntime.ceval.gil;
#endif
    l->gil_locked = (uint64_t)(uintptr_t)&gil->locked;
    l->gil_holder = (uint64_t)(uintptr_t)&gil->last_holder;
    l->gil_start = (uint64_t)(uintptr_t)gil;
    l->gil_size = sizeof *gil;
#endif
}
