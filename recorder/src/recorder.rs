//! Turns sampling passes into a [`Session`]. Pure Rust: the sampler reads the stacks from
//! memory and hands them over as plain integers, so this part is tested without an
//! interpreter.
//!
//! Samples are kept as raw frames (code object, instruction offset) until the end: only
//! then, with the GIL held, can the Python layer say what a C call site calls (its name
//! comes from the bytecode) and give 3.9/3.10 functions their class names. Raw stacks are
//! interned as a prefix tree, as the session's own stack table is.

use std::collections::HashMap;
use std::ops::Range;

use callscope_model::{
    Counts, FuncId, FunctionKind, Metadata, Session, SessionBuilder, StackId, ThreadState,
};
use rustc_hash::FxHashMap;

pub use crate::code::CodeEntry;
use crate::spool::SpoolWriter;
pub use crate::stacks::{Gil, RawFrame};
use crate::tasks::{View, Watch};

/// The code index of the `[await]` frame: a profiled task waiting.
pub const AWAIT_CODE: u32 = u32::MAX;
/// The code index of `[out-of-context]`: the loop running outside the profiled context
/// (`async_mode="strict"`).
pub const OUT_OF_CONTEXT_CODE: u32 = u32::MAX - 1;

/// Does this code index stand for a pseudo frame rather than a code object?
pub fn is_pseudo(code: u32) -> bool {
    code >= OUT_OF_CONTEXT_CODE
}

fn pseudo(code: u32) -> RawFrame {
    RawFrame {
        code,
        offset: 0,
        in_call: false,
    }
}

/// A thread the sampler has seen.
#[derive(Clone, Debug, Default)]
pub struct ThreadInfo {
    /// `threading.get_ident()`.
    pub ident: u64,
    pub native_id: Option<u64>,
    pub name: String,
    pub is_main: bool,
}

/// One thread's stack in a pass: `frames` indexes [`Capture::frames`], innermost first.
#[derive(Clone, Debug)]
pub struct CapturedThread {
    /// Index into the sampler's thread table.
    pub thread: u32,
    /// The thread's CPU clock at the pass, when read in this pass (the sampler reads it
    /// less often than it samples; see `sampler.rs`).
    pub cpu_us: Option<u64>,
    pub gil: Gil,
    pub frames: Range<usize>,
}

/// Everything one pass read: times in microseconds on the sampler's clock.
#[derive(Clone, Debug, Default)]
pub struct Capture {
    pub time_us: u64,
    pub threads: Vec<CapturedThread>,
    pub frames: Vec<RawFrame>,
}

impl Capture {
    pub fn clear(&mut self) {
        self.threads.clear();
        self.frames.clear();
    }
}

/// What only the interpreter can say about code objects, asked once per session.
pub trait Describe {
    fn code(&self, code: u32) -> &CodeEntry;
    /// The name of the C function called at `offset` in `code`, if the instruction there
    /// is a call.
    fn callee(&mut self, code: u32, offset: i32) -> Option<String>;
}

/// The [`Describe`] of a recording: the code table, and the C call names asked for
/// (from the interpreter at the end, or read back from a stream).
pub struct CodeNames<'a> {
    pub codes: &'a [CodeEntry],
    pub callees: HashMap<(u32, i32), String>,
}

impl Describe for CodeNames<'_> {
    fn code(&self, code: u32) -> &CodeEntry {
        &self.codes[code as usize]
    }

    fn callee(&mut self, code: u32, offset: i32) -> Option<String> {
        self.callees.get(&(code, offset)).cloned()
    }
}

/// Which threads a recording keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Threads {
    All,
    /// Only the thread with this `threading.get_ident()`.
    Only(u64),
}

#[derive(Default)]
struct RawStacks {
    /// (parent + 1, or 0 for a root; frame)
    nodes: Vec<(u32, RawFrame)>,
    index: FxHashMap<(u32, RawFrame), u32>,
}

impl RawStacks {
    /// The node's index, and whether it is new.
    fn intern(&mut self, parent: u32, frame: RawFrame) -> (u32, bool) {
        let next = self.nodes.len() as u32;
        let mut new = false;
        let i = *self.index.entry((parent, frame)).or_insert_with(|| {
            self.nodes.push((parent, frame));
            new = true;
            next
        });
        (i, new)
    }
}

/// The stacks of an async-mode recording's thread, rewritten as pyinstrument's are: while
/// the profiled task awaits, the samples show where it waits, under `[await]`, wherever the
/// loop is meanwhile.
struct AsyncStacks {
    watch: Watch,
    /// The frames outside the profiled task's (the event loop's), innermost first: learned
    /// once, from the stack at the start (read while the thread is inside `start()`, so it
    /// holds still) or failing that the first that runs the task. They do not change while
    /// the task lives, and a stack read while a coroutine is being resumed can lack them
    /// (its frame is not linked to its caller yet): learning again would risk that.
    prefix: Option<Vec<RawFrame>>,
    /// The task's own frame, as last seen running.
    anchor_frame: Option<RawFrame>,
    /// The last state the timer could tell: a tick whose read failed a check (free-threaded
    /// builds change a context under the reader more often) is taken to be in that state.
    last_view: Option<View>,
}

impl AsyncStacks {
    /// Learns where the profiled code sits on a stack that runs it.
    fn learn(&mut self, frames: &[RawFrame]) {
        let Some(anchor) = self.watch.anchor else {
            return;
        };
        if let Some(i) = frames.iter().rposition(|f| f.code == anchor) {
            if self.prefix.is_none() && i + 1 < frames.len() {
                self.prefix = Some(frames[i + 1..].to_vec());
            }
            self.anchor_frame = Some(RawFrame {
                in_call: false,
                ..frames[i]
            });
        }
    }

    /// Whether to record `frames`, or the stack written into `out` instead, or nothing.
    fn rewrite(
        &mut self,
        frames: &[RawFrame],
        view: Option<View>,
        out: &mut Vec<RawFrame>,
    ) -> Rewrite {
        out.clear();
        match view {
            Some(View::Switching) => return Rewrite::Skip,
            Some(v) => self.last_view = Some(v),
            None => {}
        }
        match self.last_view {
            None | Some(View::InContext | View::Switching) => {
                self.learn(frames);
                return Rewrite::AsRead;
            }
            Some(View::Awaiting(ref chain)) => {
                out.push(pseudo(AWAIT_CODE));
                out.extend_from_slice(chain);
            }
            Some(View::Elsewhere) if self.watch.strict => {
                out.push(pseudo(OUT_OF_CONTEXT_CODE));
                out.extend(self.anchor_frame);
            }
            Some(View::Elsewhere) => return Rewrite::AsRead,
        }
        out.extend_from_slice(self.prefix.as_deref().unwrap_or_default());
        Rewrite::Rewritten
    }
}

enum Rewrite {
    AsRead,
    Rewritten,
    Skip,
}

/// One sample as recorded and as streamed: times relative to the recording's start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawSample {
    /// Index into the sampler's thread table.
    pub key: u32,
    /// Raw stack node.
    pub node: u32,
    pub time_us: u64,
    pub weight_us: u64,
    pub cpu_us: Option<u64>,
    pub on_cpu: bool,
    pub gil: Gil,
}

#[derive(Default)]
struct Column {
    stack: Vec<u32>,
    time_us: Vec<u64>,
    weight_us: Vec<u64>,
    cpu_us: Vec<Option<u64>>,
    on_cpu: Vec<bool>,
    gil: Vec<Gil>,
}

impl Column {
    fn push(&mut self, r: &RawSample) {
        self.stack.push(r.node);
        self.time_us.push(r.time_us);
        self.weight_us.push(r.weight_us);
        self.cpu_us.push(r.cpu_us);
        self.on_cpu.push(r.on_cpu);
        self.gil.push(r.gil);
    }
}

struct RecordedThread {
    key: u32,
    last_us: u64,
    last_cpu_us: Option<u64>,
    /// When the CPU clock was last read, and whether the thread was on a CPU since the
    /// reading before: carried by the samples until the next reading.
    last_cpu_at_us: u64,
    on_cpu: bool,
    samples: Column,
    /// The previous sample's stack, outermost first, with each frame's node: most samples
    /// share most of it, and need no lookup for that part.
    path: Vec<(RawFrame, u32)>,
}

/// The samples of one `Profiler` run.
pub struct Recorder {
    meta: Metadata,
    start_us: u64,
    filter: Threads,
    stacks: RawStacks,
    /// Thread key → index in `recorded`.
    by_key: Vec<Option<usize>>,
    recorded: Vec<RecordedThread>,
    /// Time of the previous pass: the weight of a thread's first sample starts there.
    last_pass_us: u64,
    passes: u64,
    async_stacks: Option<AsyncStacks>,
    rewritten: Vec<RawFrame>,
    /// Where the recording is streamed as it happens, if it is (see `spool.rs`).
    pub spool: Option<SpoolWriter>,
}

impl Recorder {
    pub fn new(meta: Metadata, start_us: u64, filter: Threads) -> Self {
        Recorder {
            meta,
            start_us,
            filter,
            stacks: RawStacks::default(),
            by_key: Vec::new(),
            recorded: Vec::new(),
            last_pass_us: start_us,
            passes: 0,
            async_stacks: None,
            rewritten: Vec::new(),
            spool: None,
        }
    }

    /// Makes this an async-mode recording of `watch.thread`.
    pub fn set_watch(&mut self, watch: Watch) {
        self.async_stacks = Some(AsyncStacks {
            watch,
            prefix: None,
            anchor_frame: None,
            last_view: None,
        });
    }

    pub fn watch(&self) -> Option<&Watch> {
        self.async_stacks.as_ref().map(|a| &a.watch)
    }

    fn is_watched(&self, key: u32, threads: &[ThreadInfo]) -> bool {
        self.async_stacks.as_ref().is_some_and(|a| {
            threads
                .get(key as usize)
                .is_some_and(|t| t.ident == a.watch.thread)
        })
    }

    pub fn meta(&self) -> &Metadata {
        &self.meta
    }

    pub fn set_meta(&mut self, meta: Metadata) {
        self.meta = meta;
    }

    pub fn start_us(&self) -> u64 {
        self.start_us
    }

    pub fn set_start(&mut self, start_us: u64) {
        self.start_us = start_us;
    }

    /// Passes recorded so far (ticks in which this recording took at least one sample).
    pub fn passes_seen(&self) -> u64 {
        self.passes
    }

    /// A node read back from a stream: it must be the next one.
    pub fn replay_node(&mut self, parent: u32, frame: RawFrame) -> Result<(), &'static str> {
        if parent as usize > self.stacks.nodes.len() {
            return Err("a stack node before its parent");
        }
        match self.stacks.intern(parent, frame) {
            (_, true) => Ok(()),
            (_, false) => Err("a stack node twice"),
        }
    }

    /// A sample read back from a stream.
    pub fn replay_sample(&mut self, sample: &RawSample) -> Result<(), &'static str> {
        if sample.node as usize >= self.stacks.nodes.len() {
            return Err("a sample of an unknown stack");
        }
        if sample.time_us != self.last_pass_us || self.passes == 0 {
            self.passes += 1;
            self.last_pass_us = sample.time_us;
        }
        self.thread(sample.key).samples.push(sample);
        Ok(())
    }

    pub fn interval_us(&self) -> u64 {
        self.meta.interval_us
    }

    fn wants(&self, key: u32, threads: &[ThreadInfo]) -> bool {
        match self.filter {
            Threads::All => true,
            Threads::Only(ident) => threads.get(key as usize).is_some_and(|t| t.ident == ident),
        }
    }

    /// Notes the CPU clocks at the start, so that the first samples carry the CPU time used
    /// since then; no samples are recorded from this pass.
    pub fn baseline(&mut self, capture: &Capture, threads: &[ThreadInfo]) {
        for t in &capture.threads {
            if self.is_watched(t.thread, threads) {
                if let Some(a) = &mut self.async_stacks {
                    a.learn(&capture.frames[t.frames.clone()]);
                }
            }
            if self.wants(t.thread, threads) {
                let at = capture.time_us;
                let recorded = self.thread(t.thread);
                recorded.last_cpu_us = t.cpu_us;
                recorded.last_cpu_at_us = at;
            }
        }
    }

    /// Records one pass: a sample for every captured thread that had Python frames.
    /// `view` is what an async-mode recording's thread was doing (see `tasks.rs`), `None`
    /// when the timer could not tell.
    pub fn record(&mut self, capture: &Capture, threads: &[ThreadInfo], mut view: Option<View>) {
        let now = capture.time_us.max(self.last_pass_us);
        let mut rewritten = std::mem::take(&mut self.rewritten);
        for t in &capture.threads {
            if t.frames.is_empty() || !self.wants(t.thread, threads) {
                continue;
            }
            let mut frames = &capture.frames[t.frames.clone()];
            if self.is_watched(t.thread, threads) {
                if let Some(a) = &mut self.async_stacks {
                    match a.rewrite(frames, view.take(), &mut rewritten) {
                        Rewrite::AsRead => {}
                        Rewrite::Rewritten => frames = &rewritten,
                        // Dropped as a torn read is.
                        Rewrite::Skip => continue,
                    }
                }
            }
            let mut path = std::mem::take(&mut self.thread(t.thread).path);
            let shared = path
                .iter()
                .zip(frames.iter().rev())
                .take_while(|((a, _), b)| a == *b)
                .count();
            path.truncate(shared);
            let mut parent = path.last().map_or(0, |&(_, node)| node + 1);
            for &frame in frames.iter().rev().skip(shared) {
                let (node, new) = self.stacks.intern(parent, frame);
                if let (true, Some(spool)) = (new, &mut self.spool) {
                    spool.node(parent, frame);
                }
                path.push((frame, node));
                parent = node + 1;
            }
            let (last_pass_us, start_us) = (self.last_pass_us, self.start_us);
            let recorded = self.thread(t.thread);
            recorded.path = path;
            let last_us = recorded.last_us.max(last_pass_us.min(now));
            let weight = now - last_us;
            // CPU time is booked at the samples where the clock was read, for the whole
            // span since the previous reading; the samples in between carry none.
            let cpu = match (t.cpu_us, recorded.last_cpu_us) {
                (Some(now_cpu), Some(before)) => {
                    let used = now_cpu.saturating_sub(before);
                    let span = now.saturating_sub(recorded.last_cpu_at_us).max(1);
                    recorded.on_cpu = used > 0 && used * 2 >= span;
                    Some(used)
                }
                // The first reading of a thread seen after the start: no span to measure.
                (Some(_), None) => Some(0),
                _ => None,
            };
            recorded.last_us = now;
            if t.cpu_us.is_some() {
                recorded.last_cpu_us = t.cpu_us;
                recorded.last_cpu_at_us = now;
            }
            let on_cpu = recorded.on_cpu;
            let sample = RawSample {
                key: t.thread,
                node: parent - 1,
                time_us: now - start_us,
                weight_us: weight,
                cpu_us: cpu,
                on_cpu,
                gil: t.gil,
            };
            recorded.samples.push(&sample);
            if let Some(spool) = &mut self.spool {
                spool.sample(&sample);
            }
        }
        self.last_pass_us = now;
        self.passes += 1;
        self.rewritten = rewritten;
    }

    fn thread(&mut self, key: u32) -> &mut RecordedThread {
        let i = key as usize;
        if self.by_key.len() <= i {
            self.by_key.resize(i + 1, None);
        }
        let index = match self.by_key[i] {
            Some(index) => index,
            None => {
                self.recorded.push(RecordedThread {
                    key,
                    last_us: self.last_pass_us,
                    last_cpu_us: None,
                    last_cpu_at_us: self.last_pass_us,
                    on_cpu: false,
                    samples: Column::default(),
                    path: Vec::new(),
                });
                self.by_key[i] = Some(self.recorded.len() - 1);
                self.recorded.len() - 1
            }
        };
        &mut self.recorded[index]
    }

    /// Finishes the session. `threads` supplies the names as they are now (threads are
    /// often renamed after they start); `describe` names code objects and C calls.
    pub fn finish(
        self,
        end_us: u64,
        counts: Counts,
        threads: &[ThreadInfo],
        describe: &mut dyn Describe,
    ) -> Session {
        let mut meta = self.meta;
        meta.duration_us = end_us.saturating_sub(self.start_us).max(1);
        meta.counts = counts;
        let mut b = SessionBuilder::new(meta);
        let mut funcs: HashMap<u32, FuncId> = HashMap::new();
        let mut natives: HashMap<String, FuncId> = HashMap::new();
        // Each raw node's session stack, and whether it ends inside a C function.
        let mut stacks: Vec<(StackId, bool)> = Vec::with_capacity(self.stacks.nodes.len());
        for &(parent, frame) in &self.stacks.nodes {
            let parent = parent.checked_sub(1).map(|p| stacks[p as usize].0);
            if is_pseudo(frame.code) {
                let name = if frame.code == AWAIT_CODE {
                    "[await]"
                } else {
                    "[out-of-context]"
                };
                let func = b.function(name, "", 0, FunctionKind::Pseudo);
                let pseudo_frame = b.frame(func, 0);
                stacks.push((b.stack(parent, pseudo_frame), false));
                continue;
            }
            let entry = describe.code(frame.code);
            let line = entry.line(frame.offset);
            let func = *funcs.entry(frame.code).or_insert_with(|| {
                let id = b.function(
                    &entry.name,
                    &entry.file,
                    entry.first_line,
                    FunctionKind::Python,
                );
                if entry.tracebackhide {
                    b.mark_tracebackhide(id);
                }
                id
            });
            let py_frame = b.frame(func, line);
            let mut stack = b.stack(parent, py_frame);
            let mut in_c = false;
            if frame.in_call {
                if let Some(name) = describe.callee(frame.code, frame.offset) {
                    let native = *natives.entry(name).or_insert_with_key(|name| {
                        b.function(name, "<built-in>", 0, FunctionKind::Native)
                    });
                    let c_frame = b.frame(native, 0);
                    stack = b.stack(Some(stack), c_frame);
                    in_c = true;
                }
            }
            stacks.push((stack, in_c));
        }
        for r in self.recorded {
            let info = threads.get(r.key as usize).cloned().unwrap_or_default();
            let index = b.add_thread(info.ident, info.native_id, &info.name, info.is_main);
            let s = r.samples;
            let has_cpu = s.cpu_us.iter().any(Option::is_some);
            for j in 0..s.stack.len() {
                let (stack, _) = stacks[s.stack[j] as usize];
                let mut state = 0;
                if s.on_cpu[j] {
                    state |= ThreadState::ON_CPU;
                }
                match s.gil[j] {
                    Gil::Held => state |= ThreadState::GIL_HELD,
                    Gil::Waiting => state |= ThreadState::GIL_WAITING,
                    Gil::NotHeld | Gil::None => {}
                }
                b.push_sample_with_state(
                    index,
                    stack,
                    s.time_us[j],
                    s.weight_us[j],
                    has_cpu.then(|| s.cpu_us[j].unwrap_or(0)),
                    ThreadState(state),
                );
            }
        }
        b.finish()
    }

    /// The raw frames that are inside a call, for which [`Describe::callee`] will be asked.
    pub fn call_sites(&self) -> impl Iterator<Item = (u32, i32)> + '_ {
        self.stacks
            .nodes
            .iter()
            .filter(|(_, f)| f.in_call)
            .map(|(_, f)| (f.code, f.offset))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Codes(Vec<CodeEntry>);

    impl Describe for Codes {
        fn code(&self, code: u32) -> &CodeEntry {
            &self.0[code as usize]
        }
        fn callee(&mut self, code: u32, offset: i32) -> Option<String> {
            // In these tests `work` calls `sorted` at offset 8.
            (code == 2 && offset == 8).then(|| "sorted".into())
        }
    }

    fn codes() -> Codes {
        Codes(
            ["<module>", "main", "work", "helper"]
                .iter()
                .enumerate()
                .map(|(i, name)| CodeEntry {
                    name: name.to_string(),
                    file: "app.py".into(),
                    first_line: i as u32 * 10 + 1,
                    tracebackhide: *name == "helper",
                    ..CodeEntry::default()
                })
                .collect(),
        )
    }

    fn threads() -> Vec<ThreadInfo> {
        vec![
            ThreadInfo {
                ident: 1,
                native_id: Some(100),
                name: "MainThread".into(),
                is_main: true,
            },
            ThreadInfo {
                ident: 2,
                native_id: Some(101),
                name: "worker".into(),
                is_main: false,
            },
        ]
    }

    /// A thread's part of a pass: (thread key, cpu, gil, innermost-first (code, offset)).
    type Stack<'a> = (u32, Option<u64>, Gil, &'a [(u32, i32)]);

    fn capture(time_us: u64, stacks: &[Stack]) -> Capture {
        let mut c = Capture {
            time_us,
            ..Capture::default()
        };
        for (thread, cpu, gil, frames) in stacks {
            let start = c.frames.len();
            c.frames.extend(
                frames
                    .iter()
                    .enumerate()
                    .map(|(i, &(code, offset))| RawFrame {
                        code,
                        offset,
                        in_call: i == 0,
                    }),
            );
            c.threads.push(CapturedThread {
                thread: *thread,
                cpu_us: *cpu,
                gil: *gil,
                frames: start..c.frames.len(),
            });
        }
        c
    }

    fn names(s: &Session, stack: StackId) -> Vec<&str> {
        s.stack_frames(stack)
            .iter()
            .map(|&f| s.function_name(s.frame(f).func))
            .collect()
    }

    #[test]
    fn weights_are_the_time_since_each_threads_previous_sample() {
        let (mut codes, threads) = (codes(), threads());
        let mut r = Recorder::new(Metadata::default(), 1_000, Threads::All);
        r.baseline(&capture(1_000, &[(0, Some(50), Gil::Held, &[])]), &threads);
        let main_work: &[(u32, i32)] = &[(2, 4), (1, 2), (0, 0)];
        r.record(
            &capture(2_000, &[(0, Some(850), Gil::Held, main_work)]),
            &threads,
            None,
        );
        // The worker appears in the third pass: its first sample stands for the time since
        // the previous pass, not since the session started.
        r.record(
            &capture(
                5_000,
                &[
                    (0, Some(1_000), Gil::Waiting, main_work),
                    (1, Some(7), Gil::Held, &[(3, 0), (1, 2)]),
                ],
            ),
            &threads,
            None,
        );
        let s = r.finish(6_000, Counts::default(), &threads, &mut codes);
        assert_eq!(s.meta.duration_us, 5_000);
        let main = &s.threads[0];
        assert_eq!(main.name, "MainThread");
        assert!(main.is_main);
        assert_eq!(main.samples.time_us, vec![1_000, 4_000]);
        assert_eq!(main.samples.weight_us, vec![1_000, 3_000]);
        assert_eq!(main.samples.cpu_us, Some(vec![800, 150]));
        let worker = &s.threads[1];
        assert_eq!(worker.samples.weight_us, vec![3_000]);
        assert_eq!(worker.samples.cpu_us, Some(vec![0]));
        assert_eq!(
            names(&s, main.samples.stack[0]),
            ["<module>", "main", "work"]
        );
        assert!(s.functions.iter().any(|f| f.tracebackhide));
        // 800 µs of CPU in 1,000 µs is on CPU; 150 in 3,000 is not.
        let states = main.samples.state.as_ref().unwrap();
        assert_eq!(
            states,
            &[
                ThreadState(ThreadState::ON_CPU | ThreadState::GIL_HELD),
                ThreadState(ThreadState::GIL_WAITING)
            ]
        );
        s.validate().unwrap();
    }

    #[test]
    fn stacks_that_share_a_prefix_with_the_previous_sample_are_recorded_whole() {
        let (mut codes, threads) = (codes(), threads());
        let mut r = Recorder::new(Metadata::default(), 0, Threads::All);
        let passes: &[&[(u32, i32)]] = &[
            &[(2, 4), (1, 2), (0, 0)],
            &[(3, 0), (1, 2), (0, 0)],
            &[(0, 5)],
            &[(2, 4), (1, 2), (0, 0)],
            // `work` innermost at its call of `sorted`, then the same frame calling `helper`.
            &[(2, 8), (1, 2), (0, 0)],
            &[(3, 0), (2, 8), (1, 2), (0, 0)],
        ];
        for (i, &frames) in passes.iter().enumerate() {
            let time = (i as u64 + 1) * 1_000;
            // The worker's stacks go the other way round, and must not share its path.
            let worker = passes[passes.len() - 1 - i];
            let stacks = [(0, None, Gil::None, frames), (1, None, Gil::None, worker)];
            r.record(&capture(time, &stacks), &threads, None);
        }
        let s = r.finish(7_000, Counts::default(), &threads, &mut codes);
        let read = |t: usize| -> Vec<Vec<&str>> {
            s.threads[t]
                .samples
                .stack
                .iter()
                .map(|&st| names(&s, st))
                .collect()
        };
        let expected = [
            vec!["<module>", "main", "work"],
            vec!["<module>", "main", "helper"],
            vec!["<module>"],
            vec!["<module>", "main", "work"],
            vec!["<module>", "main", "work", "sorted"],
            vec!["<module>", "main", "work", "helper"],
        ];
        assert_eq!(read(0), expected);
        let mut reversed = expected.to_vec();
        reversed.reverse();
        assert_eq!(read(1), reversed);
        let main = &s.threads[0].samples.stack;
        assert_eq!(main[0], main[3]);
        s.validate().unwrap();
    }

    #[test]
    fn a_c_call_ends_the_stack_in_a_frame_that_names_it() {
        let (mut codes, threads) = (codes(), threads());
        let mut r = Recorder::new(Metadata::default(), 0, Threads::All);
        // `work` at offset 8 is inside sorted(); main at offset 8 is not a call.
        r.record(
            &capture(1_000, &[(0, None, Gil::NotHeld, &[(2, 8), (1, 8), (0, 0)])]),
            &threads,
            None,
        );
        r.record(
            &capture(2_000, &[(0, None, Gil::NotHeld, &[(1, 8), (0, 0)])]),
            &threads,
            None,
        );
        let s = r.finish(2_000, Counts::default(), &threads, &mut codes);
        let t = &s.threads[0];
        assert_eq!(
            names(&s, t.samples.stack[0]),
            ["<module>", "main", "work", "sorted"]
        );
        let sorted = s.frame(*s.stack_frames(t.samples.stack[0]).last().unwrap());
        assert_eq!(s.function(sorted.func).kind, FunctionKind::Native);
        assert_eq!(s.function_file(sorted.func), "<built-in>");
        assert_eq!(names(&s, t.samples.stack[1]), ["<module>", "main"]);
    }

    #[test]
    fn a_recording_of_the_current_thread_keeps_only_that_thread() {
        let (mut codes, threads) = (codes(), threads());
        let mut r = Recorder::new(Metadata::default(), 0, Threads::Only(2));
        r.record(
            &capture(
                1_000,
                &[
                    (0, None, Gil::Held, &[(1, 2)]),
                    (1, None, Gil::NotHeld, &[(3, 0)]),
                ],
            ),
            &threads,
            None,
        );
        let s = r.finish(1_000, Counts::default(), &threads, &mut codes);
        assert_eq!(s.threads.len(), 1);
        assert_eq!(s.threads[0].name, "worker");
    }

    fn watch(strict: bool) -> Watch {
        Watch {
            thread: 1,
            var: 0,
            var_hash: 0,
            token: 0,
            coro: 0,
            anchor: Some(1),
            strict,
        }
    }

    #[test]
    fn an_async_recording_shows_where_its_task_waits() {
        let (mut codes, threads) = (codes(), threads());
        let running: &[(u32, i32)] = &[(2, 4), (1, 2), (0, 0)];
        let idle: &[(u32, i32)] = &[(3, 0), (0, 6)];
        let waiting_at = vec![RawFrame {
            code: 1,
            offset: 8,
            in_call: false,
        }];
        for strict in [false, true] {
            let mut r = Recorder::new(Metadata::default(), 0, Threads::All);
            r.set_watch(watch(strict));
            // The fourth pass reads the task being resumed, not linked to the loop's frames
            // yet: the fifth still shows the wait under them.
            let torn: &[(u32, i32)] = &[(2, 4), (1, 2)];
            let views = [
                View::InContext,
                View::Awaiting(waiting_at.clone()),
                View::Elsewhere,
                View::InContext,
                View::Awaiting(waiting_at.clone()),
            ];
            for (i, view) in views.iter().enumerate() {
                let stack = match i {
                    0 => running,
                    3 => torn,
                    _ => idle,
                };
                let pass = capture(1_000 * (i as u64 + 1), &[(0, None, Gil::None, stack)]);
                r.record(&pass, &threads, Some(view.clone()));
            }
            // A tick whose state could not be read is taken to be in the last state.
            r.record(
                &capture(6_000, &[(0, None, Gil::None, idle)]),
                &threads,
                None,
            );
            let s = r.finish(5_000, Counts::default(), &threads, &mut codes);
            let t = &s.threads[0];
            assert_eq!(names(&s, t.samples.stack[0]), ["<module>", "main", "work"]);
            assert_eq!(t.samples.stack[4], t.samples.stack[1]);
            assert_eq!(t.samples.stack[5], t.samples.stack[1]);
            // Awaiting: the task's frames under the loop's, wherever the loop is meanwhile.
            assert_eq!(
                names(&s, t.samples.stack[1]),
                ["<module>", "main", "[await]"]
            );
            let out_of_context = names(&s, t.samples.stack[2]);
            if strict {
                assert_eq!(out_of_context, ["<module>", "main", "[out-of-context]"]);
            } else {
                assert_eq!(out_of_context, ["<module>", "helper"]);
            }
            let wait = s.frame(*s.stack_frames(t.samples.stack[1]).last().unwrap());
            assert_eq!(s.function(wait.func).kind, FunctionKind::Pseudo);
            s.validate().unwrap();
        }
    }

    #[test]
    fn a_tick_that_saw_the_context_switch_records_nothing() {
        let (mut codes, threads) = (codes(), threads());
        let mut r = Recorder::new(Metadata::default(), 0, Threads::All);
        r.set_watch(watch(false));
        let running: &[(u32, i32)] = &[(2, 4), (1, 2), (0, 0)];
        let selecting: &[(u32, i32)] = &[(3, 0), (0, 6)];
        let ticks = [
            (running, View::InContext),
            // Read in the task's context, and by the end of the read in the loop's select.
            (selecting, View::Switching),
            (running, View::InContext),
        ];
        for (i, (stack, view)) in ticks.into_iter().enumerate() {
            let pass = capture(1_000 * (i as u64 + 1), &[(0, None, Gil::None, stack)]);
            r.record(&pass, &threads, Some(view));
        }
        let s = r.finish(3_000, Counts::default(), &threads, &mut codes);
        let t = &s.threads[0];
        assert_eq!(t.samples.time_us, [1_000, 3_000]);
        for &stack in &t.samples.stack {
            assert_eq!(names(&s, stack), ["<module>", "main", "work"]);
        }
    }

    #[test]
    fn threads_without_frames_are_skipped_and_names_are_refreshed() {
        let (mut codes, mut threads) = (codes(), threads());
        let mut r = Recorder::new(Metadata::default(), 0, Threads::All);
        r.record(
            &capture(
                1_000,
                &[(0, None, Gil::None, &[(1, 2)]), (1, None, Gil::None, &[])],
            ),
            &threads,
            None,
        );
        threads[0].name = "renamed".into();
        let s = r.finish(1_000, Counts::default(), &threads, &mut codes);
        assert_eq!(s.threads.len(), 1);
        assert_eq!(s.threads[0].name, "renamed");
        assert_eq!(s.threads[0].samples.cpu_us, None);
    }
}
