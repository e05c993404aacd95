//! Async mode: whether an event loop thread is running the profiled async context, and
//! where the profiled task is waiting when it is not, read from memory by the timer like
//! the stacks (see `stacks.rs`), never with the GIL.
//!
//! A Profiler started with `async_mode` marks its context as pyinstrument does: a context
//! variable holds a tuple with the Profiler's token, and tasks created inside copy it, so
//! a `gather`'s children belong to the profile too. At each tick the loop thread's current
//! `contextvars.Context` is looked up for that variable (a walk down the context's HAMT).
//! Out of the context, the profiled task's coroutine is followed along what each one
//! awaits (CPython's `_PyGen_yf`), giving the frames where it waits.

use crate::layout::{FrameKind, NONE};
use crate::memory::Memory;
use crate::stacks::{i32_at, u64_at, RawFrame, StackReader};

/// One async-mode recording: what the timer looks for on its thread.
#[derive(Clone, Debug)]
pub struct Watch {
    /// `threading.get_ident()` of the thread that started the Profiler.
    pub thread: u64,
    /// The context variable and its hash as the HAMT folds it (see [`hamt_hash`]).
    pub var: u64,
    pub var_hash: u32,
    /// The object this recording put in the variable's tuple.
    pub token: u64,
    /// The coroutine of the task that started the Profiler, 0 outside a task.
    pub coro: u64,
    /// The code of that coroutine (or of the function that called `start()`): where the
    /// profiled part of a stack begins.
    pub anchor: Option<u32>,
    /// `async_mode="strict"`: time outside the context is `[out-of-context]`.
    pub strict: bool,
}

/// What the watched thread was doing at a tick.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum View {
    /// Running the profiled context (the stack is recorded as read).
    InContext,
    /// Outside it, while the profiled task waits at an await: its frames, innermost first.
    Awaiting(Vec<RawFrame>),
    /// Outside it, with no await to show.
    Elsewhere,
    /// The thread entered or left a context while its stack was read: the stack may be
    /// from either side, so the tick records nothing for it.
    Switching,
}

/// The types of the HAMT's nodes, which no header exports: taken from live contexts made
/// for the purpose (`_calls.hamt_probes`). A collision node (two keys whose 32-bit hashes
/// are equal) is not known, and a lookup that meets one has no answer.
#[derive(Clone, Copy, Debug, Default)]
pub struct HamtTypes {
    pub bitmap: u64,
    pub array: u64,
}

/// The hash of a key as `Python/hamt.c` uses it: the 64-bit hash folded to 32 bits.
pub fn hamt_hash(hash: i64) -> u32 {
    if hash == -1 {
        return u32::MAX;
    }
    let xored = (hash as i32) ^ ((hash >> 32) as i32);
    (if xored == -1 { -2 } else { xored }) as u32
}

/// Deeper than 7 levels of 5 bits there are only collision nodes.
const MAX_SHIFT: u32 = 30;
/// Longer await chains are a torn read.
const MAX_CHAIN: usize = 1_000;

/// The root node of the HAMT of the context at `context`, for the probes.
pub fn root_type<M: Memory>(reader: &StackReader<M>, context: u64) -> Option<u64> {
    let l = reader.layout();
    let mem = reader.memory();
    let vars = mem.read_u64(context + l.context_vars).ok()?;
    let root = mem.read_u64(vars + l.hamt_root).ok()?;
    mem.read_u64(root + l.ob_type).ok()
}

/// What the thread at `tstate`, whose current context was `context` when its stack was
/// read, is doing for `watch`; `None` when it cannot be told (a torn read, a node type not
/// known), and the sample is kept as read.
pub fn view<M: Memory>(
    reader: &mut StackReader<M>,
    types: &HamtTypes,
    watch: &Watch,
    tstate: u64,
    context: u64,
) -> Option<View> {
    // The loop enters and leaves a task's context around each step of it: a read that
    // began in the profiled context can end in the loop's `select`.
    let now = reader
        .memory()
        .read_u64(tstate + reader.layout().tstate_context);
    if now.ok()? != context {
        return Some(View::Switching);
    }
    if in_context(reader, types, watch, context)? {
        return Some(View::InContext);
    }
    if watch.coro == 0 {
        return Some(View::Elsewhere);
    }
    match await_chain(reader, watch.coro)? {
        chain if chain.is_empty() => Some(View::Elsewhere),
        chain => Some(View::Awaiting(chain)),
    }
}

fn in_context<M: Memory>(
    reader: &StackReader<M>,
    types: &HamtTypes,
    watch: &Watch,
    context: u64,
) -> Option<bool> {
    if context == 0 {
        // The thread has never had a context: no variable is set in it.
        return Some(false);
    }
    let l = *reader.layout();
    let mem = reader.memory();
    let mut ctx = [0u8; 64];
    let len = (l.context_vars + 8) as usize;
    mem.read(context, ctx.get_mut(..len)?).ok()?;
    if u64_at(&ctx, l.ob_type) != l.context_type {
        return None;
    }
    let vars = u64_at(&ctx, l.context_vars);
    let mut node = mem.read_u64(vars + l.hamt_root).ok()?;
    let mut shift = 0;
    let value = loop {
        if shift > MAX_SHIFT {
            return None;
        }
        let index = (watch.var_hash >> shift) & 0x1f;
        let kind = mem.read_u64(node + l.ob_type).ok()?;
        if kind == types.bitmap {
            let bitmap = mem.read_u64(node + l.hamt_bitmap_bitmap).ok()? as u32;
            let bit = 1u32 << index;
            if bitmap & bit == 0 {
                return Some(false);
            }
            let at = (bitmap & (bit - 1)).count_ones() as u64;
            let mut pair = [0u8; 16];
            mem.read(node + l.hamt_bitmap_array + at * 16, &mut pair)
                .ok()?;
            let (key, value) = (u64_at(&pair, 0), u64_at(&pair, 8));
            if key == 0 {
                node = value;
            } else if key == watch.var {
                break value;
            } else {
                return Some(false);
            }
        } else if kind == types.array {
            node = mem
                .read_u64(node + l.hamt_array_array + index as u64 * 8)
                .ok()?;
            if node == 0 {
                return Some(false);
            }
        } else {
            return None;
        }
        shift += 5;
    };
    Some(reader.tuple(value).ok()?.contains(&watch.token))
}

/// The frames of the suspended coroutine at `coro` and of what it awaits, innermost first;
/// empty when it is not suspended (running, finished, not started).
fn await_chain<M: Memory>(reader: &mut StackReader<M>, mut coro: u64) -> Option<Vec<RawFrame>> {
    let l = *reader.layout();
    let mut chain = Vec::new();
    while coro != 0 {
        if chain.len() > MAX_CHAIN {
            return None;
        }
        let (frame, awaited) = match l.frame_kind() {
            FrameKind::Interpreter => suspended_interpreter(reader, coro)?,
            FrameKind::Object => suspended_object(reader, coro)?,
        };
        let Some(frame) = frame else { break };
        chain.push(frame);
        coro = awaited.unwrap_or(0);
        if coro != 0 {
            let kind = reader.memory().read_u64(coro + l.ob_type).ok()?;
            if kind != l.coro_type && kind != l.gen_type {
                // A future, or another awaitable: the chain of coroutines ends here.
                break;
            }
        }
    }
    chain.reverse();
    Some(chain)
}

type Suspended = (Option<RawFrame>, Option<u64>);

/// 3.11+: the frame lives inside the coroutine object.
fn suspended_interpreter<M: Memory>(reader: &mut StackReader<M>, coro: u64) -> Option<Suspended> {
    let l = *reader.layout();
    if l.gen_frame == NONE || l.frame_stacktop == NONE {
        return None;
    }
    let len = (l.gen_frame + l.frame_size) as usize;
    let mut b = vec![0u8; len];
    reader.memory().read(coro, &mut b).ok()?;
    let state = b[l.gen_frame_state as usize] as u64;
    let yield_from = state == l.frame_state_yield_from;
    if state != l.frame_state_suspended && !yield_from {
        return Some((None, None));
    }
    let frame_bytes = &b[l.gen_frame as usize..];
    let frame = reader.interpreter_frame(frame_bytes, false).ok()??;
    let awaiting = if l.frame_state_yield_from != NONE {
        // 3.13+: the state says it.
        yield_from
    } else {
        // 3.11, 3.12: the instruction after the suspended one resumes from an await.
        let instr = u64_at(frame_bytes, l.frame_instr);
        let mut next = [0u8; 2];
        reader.memory().read(instr + 2, &mut next).ok()?;
        let op = next[0] as u64;
        (op == l.op_resume || op == l.op_resume_alt) && next[1] >= 2
    };
    if !awaiting {
        return Some((Some(frame), None));
    }
    let top = i32_at(frame_bytes, l.frame_stacktop);
    if top <= 0 {
        return None;
    }
    let slot = coro + l.gen_frame + l.frame_size + (top as u64 - 1) * 8;
    let awaited = reader.memory().read_u64(slot).ok()? & !7;
    Some((Some(frame), Some(awaited)))
}

/// 3.9, 3.10: the coroutine points at a heap frame object.
fn suspended_object<M: Memory>(reader: &mut StackReader<M>, coro: u64) -> Option<Suspended> {
    let l = *reader.layout();
    let frame_addr = reader.memory().read_u64(coro + l.gen_frame).ok()?;
    if frame_addr == 0 {
        return Some((None, None));
    }
    let fields = [
        l.frame_size,
        l.frame_state + 1,
        l.frame_stacktop + 8,
        l.frame_valuestack + 8,
    ];
    let len = fields.iter().copied().max().unwrap_or(0) as usize;
    let mut b = vec![0u8; len];
    reader.memory().read(frame_addr, &mut b).ok()?;
    let state = b[l.frame_state as usize] as u64;
    let suspended = if l.minor() >= 10 {
        state == l.frame_state_suspended
    } else {
        // 3.9: not executing, with a saved stack top.
        state == 0 && u64_at(&b, l.frame_stacktop) != 0
    };
    if !suspended {
        return Some((None, None));
    }
    let frame = reader.object_frame(&b, false).ok()?;
    let lasti = i32_at(&b, l.frame_instr);
    if lasti < 0 {
        return Some((Some(frame), None));
    }
    let next = if l.minor() >= 10 {
        (lasti as u64 + 1) * 2
    } else {
        lasti as u64 + 2
    };
    let code = u64_at(&b, l.frame_code);
    let bytecode = reader.memory().read_u64(code + l.code_code).ok()?;
    let mut op = [0u8; 1];
    reader
        .memory()
        .read(bytecode + l.bytes_data + next, &mut op)
        .ok()?;
    if op[0] as u64 != l.op_yield_from {
        return Some((Some(frame), None));
    }
    let slot = if l.minor() >= 10 {
        let depth = i32_at(&b, l.frame_stacktop);
        if depth <= 0 {
            return None;
        }
        u64_at(&b, l.frame_valuestack) + (depth as u64 - 1) * 8
    } else {
        u64_at(&b, l.frame_stacktop).checked_sub(8)?
    };
    let awaited = reader.memory().read_u64(slot).ok()?;
    Some((Some(frame), Some(awaited)))
}

#[cfg(test)]
mod tests {
    use super::hamt_hash;

    #[test]
    fn hashes_fold_as_the_hamt_folds_them() {
        assert_eq!(hamt_hash(5), 5);
        assert_eq!(hamt_hash(1 << 32), 1);
        assert_eq!(hamt_hash(-1), u32::MAX);
        // A fold that gives -1 becomes -2, as -1 means an error in C.
        assert_eq!(hamt_hash(0xffff_ffff), (-2i32) as u32);
    }
}
