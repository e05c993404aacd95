//! Every thread's stack, read from the interpreter's memory by the sampler thread without
//! the GIL and without stopping anyone.
//!
//! Whatever is read may be changing or freed while we read it: every copy goes through
//! [`Memory`] (a bad pointer is an error, never a crash), and what was copied is checked
//! before it is believed: a thread state must point back at our interpreter, frames and
//! code objects must have the right type, chains are bounded. A thread whose stack fails
//! a check is dropped from the pass and counted as torn; nothing half-read is recorded.

use rustc_hash::FxHashMap;
use std::ops::Range;

use crate::code::{CodeEntry, LineTable};
use crate::layout::{FrameKind, Layout, NONE};
use crate::memory::{Memory, ReadError};

/// No real program has this many threads; a longer list is a torn read going in circles.
const MAX_THREADS: usize = 100_000;
/// Deeper than any recursion limit in use; a longer chain is a torn read.
const MAX_DEPTH: usize = 50_000;
/// Strings and tables longer than this in a code object are not believed.
const MAX_OBJECT_BYTES: u64 = 16 << 20;
/// The smallest data stack chunk CPython allocates (`DATA_STACK_CHUNK_SIZE`), so always
/// readable in one copy; larger chunks are copied whole up to `MAX_CHUNK_BYTES`.
const MIN_CHUNK_BYTES: usize = 16 << 10;
const MAX_CHUNK_BYTES: usize = 4 << 20;

/// One frame as read: which code object, and where in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RawFrame {
    /// Index into [`Codes`].
    pub code: u32,
    /// Byte offset of the instruction being run (-1 before the first).
    pub offset: i32,
    /// The innermost frame: if its instruction is a call, a C function is running there.
    /// (Deeper frames at a call are waiting for the frame above; a C function between
    /// two Python frames is not shown, as it cannot be told from a Python function called
    /// through C, such as `Thread.run`'s `self._target()`.)
    pub in_call: bool,
}

/// Whether a thread held the GIL when it was sampled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Gil {
    Held,
    /// Asleep in `take_gil`, waiting for its turn (see `gil_wait.rs`).
    Waiting,
    NotHeld,
    /// A free-threaded build.
    #[default]
    None,
}

/// One thread's part of a pass.
#[derive(Clone, Debug)]
pub struct ThreadRead {
    /// `threading.get_ident()` of the thread (its `pthread_t`).
    pub ident: u64,
    pub native_id: Option<u64>,
    pub tstate: u64,
    /// The thread's current `contextvars.Context` (0 before it has one).
    pub context: u64,
    pub gil: Gil,
    /// Into [`StackRead::frames`], innermost first.
    pub frames: Range<usize>,
}

/// Everything one pass read.
#[derive(Clone, Debug, Default)]
pub struct StackRead {
    pub threads: Vec<ThreadRead>,
    pub frames: Vec<RawFrame>,
    /// Threads whose stack could not be read consistently in this pass, without frames:
    /// they are alive all the same.
    pub torn_threads: Vec<ThreadRead>,
    /// Reads dropped in this pass: those threads, and a thread list that could not be
    /// followed to its end.
    pub torn: u64,
}

/// The code objects seen so far, each copied once.
#[derive(Default)]
pub struct Codes {
    pub entries: Vec<CodeEntry>,
    pub addrs: Vec<u64>,
    index: FxHashMap<u64, u32>,
}

impl Codes {
    pub fn index_of(&self, addr: u64) -> Option<u32> {
        self.index.get(&addr).copied()
    }
}

/// A piece of a thread's data stack copied in one read.
struct Chunk {
    addr: u64,
    bytes: Vec<u8>,
    /// The chunk before this one (older frames), not yet copied.
    previous: u64,
}

impl Chunk {
    /// The `len` bytes at `addr`, if this chunk's copy holds them all. `addr` comes from
    /// a read that may be torn: any value, so no sum here may overflow.
    fn slice(&self, addr: u64, len: usize) -> Option<&[u8]> {
        let at = usize::try_from(addr.checked_sub(self.addr)?).ok()?;
        self.bytes.get(at..at.checked_add(len)?)
    }
}

/// The most bytes the GIL's `locked` and holder fields may span to be copied as one.
const GIL_SPAN_MAX: usize = 64;

pub struct StackReader<M: Memory> {
    mem: M,
    layout: Layout,
    interp: u64,
    pub codes: Codes,
    tstate_len: usize,
    code_len: usize,
    chunks: Vec<Chunk>,
    spare: Vec<Vec<u8>>,
    frame_buf: Vec<u8>,
    /// The thread states the last pass found, copied together with the list's head at the
    /// start of the next (most passes find the same threads): one call instead of one per
    /// thread. `prefetch` holds the copies, `prefetched` where each one is.
    known: Vec<u64>,
    prefetch: Vec<u8>,
    prefetched: FxHashMap<u64, usize>,
}

#[derive(Debug)]
pub(crate) enum Torn {
    Read,
    Invalid,
}

impl From<ReadError> for Torn {
    fn from(_: ReadError) -> Self {
        Torn::Read
    }
}

fn field_end(offsets: &[u64], width: u64) -> usize {
    offsets
        .iter()
        .filter(|&&o| o != NONE)
        .map(|&o| o + width)
        .max()
        .unwrap_or(0) as usize
}

pub(crate) fn u64_at(b: &[u8], offset: u64) -> u64 {
    let o = offset as usize;
    match b.get(o..o + 8) {
        Some(s) => u64::from_ne_bytes(s.try_into().unwrap_or([0; 8])),
        None => 0,
    }
}

pub(crate) fn i32_at(b: &[u8], offset: u64) -> i32 {
    let o = offset as usize;
    match b.get(o..o + 4) {
        Some(s) => i32::from_ne_bytes(s.try_into().unwrap_or([0; 4])),
        None => 0,
    }
}

impl<M: Memory> StackReader<M> {
    pub fn new(mem: M, layout: Layout, interp: u64) -> Self {
        let l = &layout;
        let tstate_len = field_end(
            &[
                l.tstate_next,
                l.tstate_interp,
                l.tstate_thread_id,
                l.tstate_native_thread_id,
                l.tstate_frame,
                l.tstate_datastack_chunk,
                l.tstate_context,
                l.tstate_recursion_depth,
            ],
            8,
        );
        let code_len = field_end(
            &[
                l.ob_type,
                l.var_size,
                l.code_filename,
                l.code_name,
                l.code_qualname,
                l.code_linetable,
                l.code_firstlineno,
                l.code_varnames,
            ],
            8,
        );
        StackReader {
            mem,
            layout,
            interp,
            codes: Codes::default(),
            tstate_len,
            code_len,
            chunks: Vec::new(),
            spare: Vec::new(),
            frame_buf: vec![0; layout.frame_size as usize],
            known: Vec::new(),
            prefetch: Vec::new(),
            prefetched: FxHashMap::default(),
        }
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Reads every thread of the interpreter into `out`.
    pub fn read(&mut self, out: &mut StackRead) {
        out.threads.clear();
        out.frames.clear();
        out.torn_threads.clear();
        out.torn = 0;
        let l = self.layout;
        let Some((mut tstate, holder)) = self.prefetch_threads() else {
            out.torn += 1;
            return;
        };
        let mut ts = vec![0u8; self.tstate_len];
        let mut found = std::mem::take(&mut self.known);
        found.clear();
        while tstate != 0 {
            found.push(tstate);
            let copied = match self.prefetched.get(&tstate) {
                Some(&i) => {
                    let len = self.tstate_len;
                    ts.copy_from_slice(&self.prefetch[i * len..(i + 1) * len]);
                    true
                }
                None => self.mem.read(tstate, &mut ts).is_ok(),
            };
            if found.len() > MAX_THREADS || !copied {
                out.torn += 1;
                break;
            }
            if u64_at(&ts, l.tstate_interp) != self.interp {
                // Freed and reused under us: the rest of the list cannot be trusted.
                out.torn += 1;
                break;
            }
            let next = u64_at(&ts, l.tstate_next);
            let ident = u64_at(&ts, l.tstate_thread_id);
            let native_id = (l.tstate_native_thread_id != NONE)
                .then(|| u64_at(&ts, l.tstate_native_thread_id))
                .filter(|&n| n != 0);
            let gil = match holder {
                None => Gil::None,
                Some(h) if h == tstate => Gil::Held,
                Some(_) => Gil::NotHeld,
            };
            let start = out.frames.len();
            let mut result = self.walk(&ts, &mut out.frames);
            if result.is_err() {
                // Most torn reads are a running thread's stack changing between two copies:
                // read it once more from its thread state.
                out.frames.truncate(start);
                result = match self.mem.read(tstate, &mut ts) {
                    Ok(()) if u64_at(&ts, l.tstate_interp) == self.interp => {
                        self.walk(&ts, &mut out.frames)
                    }
                    _ => Err(Torn::Invalid),
                };
            }
            if result.is_err() {
                out.frames.truncate(start);
            }
            let thread = ThreadRead {
                ident,
                native_id,
                tstate,
                context: u64_at(&ts, l.tstate_context),
                gil,
                frames: start..out.frames.len(),
            };
            match result {
                Ok(()) => out.threads.push(thread),
                Err(_) => {
                    out.torn_threads.push(thread);
                    out.torn += 1;
                }
            }
            tstate = next;
        }
        self.known = found;
    }

    /// Copies the thread list's head, the GIL's state and the thread states the last pass
    /// found, in one call; returns the head and the GIL's holder (see [`Self::gil_holder`]).
    fn prefetch_threads(&mut self) -> Option<(u64, Option<u64>)> {
        let head_addr = self.interp + self.layout.interp_threads_head;
        let len = self.tstate_len;
        self.known.truncate(MAX_THREADS);
        self.prefetch.resize(self.known.len() * len, 0);
        let gil_span = self.gil_span();
        let (mut head, mut gil) = ([0u8; 8], [0u8; GIL_SPAN_MAX]);
        let ahead = 1 + usize::from(gil_span.is_some());
        let copied = {
            let mut parts: Vec<(u64, &mut [u8])> = Vec::with_capacity(self.known.len() + 2);
            parts.push((head_addr, &mut head));
            if let Some((lo, span)) = gil_span {
                parts.push((lo, &mut gil[..span]));
            }
            parts.extend(
                self.known
                    .iter()
                    .copied()
                    .zip(self.prefetch.chunks_mut(len)),
            );
            self.mem.read_many(&mut parts)
        };
        self.prefetched.clear();
        // Parts after the first that failed were not copied (a thread that has ended).
        let whole = copied.saturating_sub(ahead);
        self.prefetched.extend(
            self.known
                .iter()
                .take(whole)
                .enumerate()
                .map(|(i, &a)| (a, i)),
        );
        let holder = match gil_span {
            Some((lo, _)) if copied >= 2 => Some(self.gil_holder_in(&gil, lo)),
            _ => self.gil_holder(),
        };
        let head = if copied >= 1 {
            u64::from_ne_bytes(head)
        } else {
            self.mem.read_u64(head_addr).ok()?
        };
        Some((head, holder))
    }

    /// Where the GIL's `locked` and holder fields lie, when one small copy takes both.
    fn gil_span(&self) -> Option<(u64, usize)> {
        let l = &self.layout;
        if !l.has_gil() {
            return None;
        }
        let lo = l.gil_locked.min(l.gil_holder);
        let hi = (l.gil_locked + 4).max(l.gil_holder + 8);
        let span = (hi - lo) as usize;
        (span <= GIL_SPAN_MAX).then_some((lo, span))
    }

    /// The GIL's holder from a copy of its fields starting at `lo`.
    fn gil_holder_in(&self, b: &[u8], lo: u64) -> u64 {
        let l = &self.layout;
        let locked = i32_at(b, l.gil_locked - lo);
        let holder = u64_at(b, l.gil_holder - lo);
        if locked != 0 {
            holder
        } else {
            0
        }
    }

    /// The thread state holding the GIL (0 when nobody does), or `None` without a GIL.
    fn gil_holder(&self) -> Option<u64> {
        let l = &self.layout;
        if !l.has_gil() {
            return None;
        }
        if let Some((lo, span)) = self.gil_span() {
            let mut b = [0u8; GIL_SPAN_MAX];
            self.mem.read(lo, &mut b[..span]).ok()?;
            return Some(self.gil_holder_in(&b, lo));
        }
        let locked = self.mem.read_u64(l.gil_locked).ok()? as u32;
        let holder = self.mem.read_u64(l.gil_holder).ok()?;
        Some(if locked != 0 { holder } else { 0 })
    }

    /// The innermost frame of a thread, from its thread state's bytes.
    fn current_frame(&self, ts: &[u8]) -> Result<u64, Torn> {
        let l = &self.layout;
        let frame = u64_at(ts, l.tstate_frame);
        if l.cframe_current_frame != NONE && frame != 0 {
            // 3.11, 3.12: the thread state points at a C-level frame record.
            return Ok(self.mem.read_u64(frame + l.cframe_current_frame)?);
        }
        Ok(frame)
    }

    fn walk(&mut self, ts: &[u8], out: &mut Vec<RawFrame>) -> Result<(), Torn> {
        let l = self.layout;
        let frame = self.current_frame(ts)?;
        if frame == 0 {
            return Ok(());
        }
        match l.frame_kind() {
            FrameKind::Object => {
                // A frame is counted before the thread state points at it, and uncounted
                // before it lets go of it.
                let depth = i32_at(ts, l.tstate_recursion_depth).max(0) as usize + 1;
                self.walk_objects(frame, depth.min(MAX_DEPTH), out)
            }
            FrameKind::Interpreter => {
                self.copy_chunk(u64_at(ts, l.tstate_datastack_chunk), frame);
                let result = self.walk_interpreter(frame, out);
                for chunk in self.chunks.drain(..) {
                    self.spare.push(chunk.bytes);
                }
                result
            }
        }
    }

    /// 3.9, 3.10: one read per `PyFrameObject`, at most `max_depth` of them: the thread's
    /// count of nested calls when the read began. A frame freed during the read can be
    /// taken by a new call (of this thread or another) before the read reaches it; the
    /// walk then goes on down that call's stack, and the two joined were deeper than the
    /// thread (the stress test saw 300 frames of a 201-deep recursion).
    fn walk_objects(
        &mut self,
        mut frame: u64,
        max_depth: usize,
        out: &mut Vec<RawFrame>,
    ) -> Result<(), Torn> {
        let l = self.layout;
        let mut buf = std::mem::take(&mut self.frame_buf);
        let result = (|| {
            let mut depth = 0;
            while frame != 0 {
                depth += 1;
                if depth > max_depth {
                    return Err(Torn::Invalid);
                }
                self.mem.read(frame, &mut buf)?;
                if self.freed(&buf) {
                    return Err(Torn::Invalid);
                }
                out.push(self.object_frame(&buf, depth == 1)?);
                frame = u64_at(&buf, l.frame_previous);
            }
            Ok(())
        })();
        self.frame_buf = buf;
        result
    }

    /// 3.11+: frames live in the thread's data stack (copied a chunk at a time) or, for
    /// generators and coroutines, inside their objects (read one by one).
    fn walk_interpreter(&mut self, mut frame: u64, out: &mut Vec<RawFrame>) -> Result<(), Torn> {
        let l = self.layout;
        let first = out.len();
        let mut depth = 0;
        let mut buf = std::mem::take(&mut self.frame_buf);
        let result = (|| {
            while frame != 0 {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(Torn::Invalid);
                }
                self.frame_at(frame, &mut buf)?;
                let previous = u64_at(&buf, l.frame_previous);
                let owner = buf[l.frame_owner as usize] as u64;
                if l.owned_by_cstack != NONE && owner == l.owned_by_cstack {
                    // 3.12+: a shim frame marking where C code called into Python.
                    frame = previous;
                    continue;
                }
                if let Some(raw) = self.interpreter_frame(&buf, out.len() == first)? {
                    out.push(raw);
                }
                if previous == 0 && owner == l.owned_by_generator {
                    // A coroutine or generator frame is never a thread's first: this one is
                    // being resumed or suspended, and not linked to its caller at this
                    // instant. The stack would lack everything below it.
                    return Err(Torn::Invalid);
                }
                frame = previous;
            }
            Ok(())
        })();
        self.frame_buf = buf;
        result
    }

    /// A 3.9/3.10 `PyFrameObject`'s code and instruction, from its bytes.
    pub(crate) fn object_frame(&mut self, buf: &[u8], in_call: bool) -> Result<RawFrame, Torn> {
        let l = self.layout;
        if u64_at(buf, l.ob_type) != l.frame_type {
            return Err(Torn::Invalid);
        }
        let code = self.code(u64_at(buf, l.frame_code))?;
        let lasti = i32_at(buf, l.frame_instr);
        // 3.10 counts instructions (2-byte units); 3.9 counts bytes.
        let offset = if l.minor() >= 10 && lasti >= 0 {
            lasti.saturating_mul(2)
        } else {
            lasti
        };
        Ok(RawFrame {
            code,
            offset,
            in_call,
        })
    }

    /// A 3.9/3.10 frame object freed while the stack was read. Its memory stays a frame
    /// (the free list and the code objects' spare frames keep it), and its `f_back` links
    /// the free list: followed, it gave stacks thousands of frames deep, of frames that do
    /// not run. A frame that has returned but is still referenced (by a traceback) keeps
    /// its caller alive, and the stack read through it is the one of a moment before.
    fn freed(&self, buf: &[u8]) -> bool {
        u64_at(buf, self.layout.ob_refcnt) == 0
    }

    /// A 3.11+ `_PyInterpreterFrame`'s code and instruction, from its bytes; `None` for a
    /// frame that runs no code object.
    pub(crate) fn interpreter_frame(
        &mut self,
        buf: &[u8],
        in_call: bool,
    ) -> Result<Option<RawFrame>, Torn> {
        let l = self.layout;
        // 3.14 tags the low bits of this pointer (a stack reference).
        let code_addr = u64_at(buf, l.frame_code) & !7;
        let Some(code) = self.code_or_skip(code_addr)? else {
            return Ok(None);
        };
        let instr = u64_at(buf, l.frame_instr);
        let start = code_addr + l.code_adaptive;
        let offset = instr.wrapping_sub(start) as i64;
        let len = self.codes.entries[code as usize].code_len as i64;
        if offset < -2 || (len > 0 && offset > len) {
            return Err(Torn::Invalid);
        }
        Ok(Some(RawFrame {
            code,
            offset: offset.max(-1) as i32,
            in_call,
        }))
    }

    pub(crate) fn memory(&self) -> &M {
        &self.mem
    }

    /// The code index of a live code object (one the caller holds a reference to).
    pub fn code_index(&mut self, addr: u64) -> Option<u32> {
        self.code(addr).ok()
    }

    /// Copies a data stack chunk, so that most frames need no read of their own. When the
    /// innermost frame `top` lies in it, only the part up to that frame is copied: the
    /// frames above it are free space.
    fn copy_chunk(&mut self, addr: u64, top: u64) {
        if addr == 0 {
            return;
        }
        let mut bytes = self.spare.pop().unwrap_or_default();
        let used = top.wrapping_sub(addr).wrapping_add(self.layout.frame_size);
        if top > addr && used <= MAX_CHUNK_BYTES as u64 {
            bytes.resize(used as usize, 0);
            if self.mem.read(addr, &mut bytes).is_ok() {
                let previous = u64_at(&bytes, 0);
                self.chunks.push(Chunk {
                    addr,
                    bytes,
                    previous,
                });
                return;
            }
        }
        bytes.resize(MIN_CHUNK_BYTES, 0);
        if self.mem.read(addr, &mut bytes).is_err() {
            self.spare.push(bytes);
            return;
        }
        // struct _PyStackChunk { previous; size; top; data[] }
        let previous = u64_at(&bytes, 0);
        let size = u64_at(&bytes, 8) as usize;
        if size > MIN_CHUNK_BYTES && size <= MAX_CHUNK_BYTES {
            bytes.resize(size, 0);
            if self.mem.read(addr, &mut bytes).is_err() {
                bytes.truncate(MIN_CHUNK_BYTES);
            }
        }
        self.chunks.push(Chunk {
            addr,
            bytes,
            previous,
        });
    }

    fn frame_at(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), Torn> {
        loop {
            if let Some(bytes) = self.chunks.iter().find_map(|c| c.slice(addr, buf.len())) {
                buf.copy_from_slice(bytes);
                return Ok(());
            }
            // Deep stacks span several chunks: copy the older one when a frame is there.
            let previous = self.chunks.last().map_or(0, |c| c.previous);
            let uncopied = previous != 0 && self.chunks.iter().all(|c| c.addr != previous);
            if !uncopied || self.chunks.len() > 64 {
                break;
            }
            let before = self.chunks.len();
            self.copy_chunk(previous, 0);
            if self.chunks.len() == before {
                break;
            }
        }
        self.mem.read(addr, buf)?;
        Ok(())
    }

    /// The code index of the object at `addr`, or `None` when it is not a code object
    /// (3.13 frames that run something else).
    fn code_or_skip(&mut self, addr: u64) -> Result<Option<u32>, Torn> {
        match self.code(addr) {
            Ok(i) => Ok(Some(i)),
            Err(Torn::Invalid) if self.layout.minor() >= 13 && addr != 0 => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn code(&mut self, addr: u64) -> Result<u32, Torn> {
        if let Some(&i) = self.codes.index.get(&addr) {
            return Ok(i);
        }
        if addr == 0 {
            return Err(Torn::Invalid);
        }
        let entry = self.read_code(addr)?;
        let i = self.codes.entries.len() as u32;
        self.codes.entries.push(entry);
        self.codes.addrs.push(addr);
        self.codes.index.insert(addr, i);
        Ok(i)
    }

    /// Copies what callscope needs of the code object at `addr`.
    fn read_code(&self, addr: u64) -> Result<CodeEntry, Torn> {
        let l = &self.layout;
        let mut b = vec![0u8; self.code_len];
        self.mem.read(addr, &mut b)?;
        if u64_at(&b, l.ob_type) != l.code_type {
            return Err(Torn::Invalid);
        }
        let filename = u64_at(&b, l.code_filename);
        let name_ptr = u64_at(&b, l.code_name);
        let name = match l.code_qualname {
            NONE => self.string(name_ptr)?,
            q => self.string(u64_at(&b, q))?,
        };
        let table = self.bytes(u64_at(&b, l.code_linetable))?;
        let lines = match l.minor() {
            9 => LineTable::Lnotab(table),
            10 => LineTable::Ranges(table),
            _ => LineTable::Locations(table),
        };
        let tracebackhide = self
            .tuple(u64_at(&b, l.code_varnames))?
            .into_iter()
            .any(|n| self.string(n).is_ok_and(|s| s == "__tracebackhide__"));
        let code_len = if l.code_adaptive != NONE {
            (u64_at(&b, l.var_size).min(MAX_OBJECT_BYTES) * 2) as u32
        } else {
            0
        };
        Ok(CodeEntry {
            name: crate::code::without_locals_prefix(&name).to_owned(),
            file: self.string(filename)?,
            first_line: i32_at(&b, l.code_firstlineno).max(0) as u32,
            tracebackhide,
            lines,
            code_len,
        })
    }

    /// Reads a `str` object (compact, as every string of a code object is).
    fn string(&self, addr: u64) -> Result<String, Torn> {
        let l = &self.layout;
        let mut b = vec![0u8; l.unicode_compact_size as usize + 128];
        if self.mem.read(addr, &mut b).is_err() {
            // Near the end of a mapping: read just the header.
            b.truncate(l.unicode_compact_size as usize);
            self.mem.read(addr, &mut b)?;
        }
        if u64_at(&b, l.ob_type) != l.unicode_type {
            return Err(Torn::Invalid);
        }
        let state = i32_at(&b, l.unicode_state) as u32 as u64;
        let length = u64_at(&b, l.unicode_length);
        let kind = (state & l.unicode_kind_mask) >> l.unicode_kind_shift;
        if state & l.unicode_compact_mask == 0 || !matches!(kind, 1 | 2 | 4) {
            return Err(Torn::Invalid);
        }
        let data = if state & l.unicode_ascii_mask != 0 {
            l.unicode_ascii_size
        } else {
            l.unicode_compact_size
        } as usize;
        let n = length.checked_mul(kind).filter(|&n| n <= MAX_OBJECT_BYTES);
        let n = n.ok_or(Torn::Invalid)? as usize;
        let raw = if data + n <= b.len() {
            b[data..data + n].to_vec()
        } else {
            let mut v = vec![0u8; n];
            self.mem.read(addr + data as u64, &mut v)?;
            v
        };
        let chars: String = match kind {
            1 => raw.iter().map(|&c| c as char).collect(),
            2 => raw
                .chunks_exact(2)
                .map(|c| u16::from_ne_bytes([c[0], c[1]]) as u32)
                .map(|c| char::from_u32(c).unwrap_or('\u{fffd}'))
                .collect(),
            _ => raw
                .chunks_exact(4)
                .map(|c| u32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
                .map(|c| char::from_u32(c).unwrap_or('\u{fffd}'))
                .collect(),
        };
        Ok(chars)
    }

    fn bytes(&self, addr: u64) -> Result<Vec<u8>, Torn> {
        let l = &self.layout;
        let mut head = vec![0u8; l.bytes_data as usize];
        self.mem.read(addr, &mut head)?;
        if u64_at(&head, l.ob_type) != l.bytes_type {
            return Err(Torn::Invalid);
        }
        let n = u64_at(&head, l.var_size);
        if n > MAX_OBJECT_BYTES {
            return Err(Torn::Invalid);
        }
        let mut v = vec![0u8; n as usize];
        self.mem.read(addr + l.bytes_data, &mut v)?;
        Ok(v)
    }

    /// The item pointers of a tuple.
    pub(crate) fn tuple(&self, addr: u64) -> Result<Vec<u64>, Torn> {
        let l = &self.layout;
        let mut head = vec![0u8; l.tuple_items as usize];
        self.mem.read(addr, &mut head)?;
        if u64_at(&head, l.ob_type) != l.tuple_type {
            return Err(Torn::Invalid);
        }
        let n = u64_at(&head, l.var_size);
        if n > 1 << 16 {
            return Err(Torn::Invalid);
        }
        let mut items = vec![0u8; n as usize * 8];
        self.mem.read(addr + l.tuple_items, &mut items)?;
        Ok(items
            .chunks_exact(8)
            .map(|c| u64::from_ne_bytes(c.try_into().unwrap_or([0; 8])))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::Chunk;

    #[test]
    fn a_chunk_gives_only_what_it_holds_whatever_the_address() {
        let chunk = Chunk {
            addr: 0x1000,
            bytes: (0..=255).collect(),
            previous: 0,
        };
        assert_eq!(chunk.slice(0x1010, 2), Some(&[0x10, 0x11][..]));
        assert_eq!(chunk.slice(0x10fe, 2), Some(&[0xfe, 0xff][..]));
        assert_eq!(chunk.slice(0x10ff, 2), None);
        assert_eq!(chunk.slice(0xfff, 2), None);
        // A torn pointer near the top of the address space: its end wraps around (the
        // stress test's timer once panicked on one and stopped sampling).
        assert_eq!(chunk.slice(u64::MAX - 7, 64), None);
        assert_eq!(chunk.slice(0xffff_8000_0000_0fff, 64), None);
    }
}
