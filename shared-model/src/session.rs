//! The in-memory session: what the recorder produces, what every reader returns and what
//! every view is computed from.
//!
//! The shape follows a columnar, interned design: strings, functions, frames and stacks are
//! tables; a stack is a `(parent, frame)` node of a prefix tree, so a sample is one
//! [`StackId`]. A parent always has a smaller index than its child, which makes cycles
//! impossible and lets every pass over the stack table run front to back in one sweep.

use std::collections::HashMap;
use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::ids::{FrameId, FuncId, StackId, StringId};

/// What kind of code a function row stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum FunctionKind {
    /// A Python code object.
    #[default]
    Python,
    /// A function implemented in C (reported by importers that know about them).
    Native,
    /// A synthetic frame such as `[await]` or `[out-of-context]`.
    Pseudo,
}

/// One function: a code object, identified by qualified name, file and first line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Function {
    pub name: StringId,
    pub file: StringId,
    pub first_line: u32,
    pub kind: FunctionKind,
    /// The function sets `__tracebackhide__`; the `remove_tracebackhide` processor drops it.
    pub tracebackhide: bool,
}

/// A function executing at one line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Frame {
    pub func: FuncId,
    pub line: u32,
}

/// A node of the stack prefix tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Stack {
    pub frame: FrameId,
    pub parent: Option<StackId>,
}

/// Samples of one thread, as columns. Times are integer microseconds from the session start.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Samples {
    pub stack: Vec<StackId>,
    /// When the sample was taken, microseconds since the session started; non-decreasing.
    pub time_us: Vec<u64>,
    /// The wall time this sample stands for (since the thread's previous sample).
    pub weight_us: Vec<u64>,
    /// CPU time the thread used since its previous sample, when the recorder could read it.
    pub cpu_us: Option<Vec<u64>>,
    /// What the thread was doing at each sample ([`ThreadState`] bits), when recorded.
    pub state: Option<Vec<ThreadState>>,
}

/// A thread's state at a sample: on CPU or not, and its relation to the GIL.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ThreadState(pub u8);

impl ThreadState {
    /// The thread used at least half of the wall time since its previous sample on a CPU.
    pub const ON_CPU: u8 = 1;
    /// The thread held the GIL.
    pub const GIL_HELD: u8 = 2;
    /// The thread was waiting to take the GIL (running Python code without holding it).
    pub const GIL_WAITING: u8 = 4;

    pub fn on_cpu(self) -> bool {
        self.0 & Self::ON_CPU != 0
    }

    pub fn gil_held(self) -> bool {
        self.0 & Self::GIL_HELD != 0
    }

    pub fn gil_waiting(self) -> bool {
        self.0 & Self::GIL_WAITING != 0
    }
}

impl Samples {
    pub fn len(&self) -> usize {
        self.stack.len()
    }

    pub fn is_empty(&self) -> bool {
        self.stack.is_empty()
    }

    pub fn push(&mut self, stack: StackId, time_us: u64, weight_us: u64, cpu_us: Option<u64>) {
        self.stack.push(stack);
        self.time_us.push(time_us);
        self.weight_us.push(weight_us);
        match (&mut self.cpu_us, cpu_us) {
            (Some(column), Some(cpu)) => column.push(cpu),
            (None, Some(cpu)) if self.stack.len() == 1 => self.cpu_us = Some(vec![cpu]),
            // A thread either reports CPU time for every sample or not at all; a partial
            // column would make utilisation figures lie, so drop it.
            (Some(_), None) => self.cpu_us = None,
            _ => {}
        }
        // Likewise for states: a sample pushed without one ends the column.
        self.state = None;
    }

    /// [`Samples::push`] with the thread's state at the sample.
    pub fn push_with_state(
        &mut self,
        stack: StackId,
        time_us: u64,
        weight_us: u64,
        cpu_us: Option<u64>,
        state: ThreadState,
    ) {
        let mut column = self.state.take();
        self.push(stack, time_us, weight_us, cpu_us);
        match &mut column {
            Some(c) if c.len() + 1 == self.stack.len() => c.push(state),
            _ if self.stack.len() == 1 => column = Some(vec![state]),
            _ => column = None,
        }
        self.state = column;
    }

    pub fn total_weight_us(&self) -> u64 {
        self.weight_us.iter().sum()
    }

    pub fn total_cpu_us(&self) -> Option<u64> {
        self.cpu_us.as_ref().map(|c| c.iter().sum())
    }

    /// The shares of the thread's wall time spent in each state, when states were recorded.
    pub fn state_shares(&self) -> Option<StateShares> {
        let states = self.state.as_ref()?;
        let total: u64 = self.weight_us.iter().sum();
        if total == 0 {
            return None;
        }
        let share = |bit: u8| {
            let t: u64 = states
                .iter()
                .zip(&self.weight_us)
                .filter(|(s, _)| s.0 & bit != 0)
                .map(|(_, w)| w)
                .sum();
            t as f64 / total as f64
        };
        Some(StateShares {
            on_cpu: share(ThreadState::ON_CPU),
            gil_held: share(ThreadState::GIL_HELD),
            gil_waiting: share(ThreadState::GIL_WAITING),
        })
    }
}

/// Fractions (0–1) of a thread's wall time by state.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StateShares {
    pub on_cpu: f64,
    pub gil_held: f64,
    pub gil_waiting: f64,
}

/// One profiled thread.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Thread {
    /// Python's thread identifier (`threading.get_ident()`).
    pub id: u64,
    /// The OS thread id, when known.
    pub native_id: Option<u64>,
    pub name: String,
    pub is_main: bool,
    pub samples: Samples,
}

/// Counters the recorder keeps so that gaps in the data are visible rather than hidden.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Counts {
    /// Sampling passes that ran (one pass samples every thread).
    pub samples: u64,
    /// Passes that ran later than 2× the interval after their tick.
    pub late: u64,
    /// Ticks for which no pass ran at all.
    pub missed: u64,
    /// Passes that failed to read a thread's stack.
    pub errors: u64,
    /// Thread stacks dropped from a pass because they changed while being read.
    pub torn: u64,
}

/// Everything about a session that is not samples.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Metadata {
    /// What was profiled, as a user would describe it (`script.py`, `-m pkg`, `-c ...`).
    pub program: String,
    pub argv: Vec<String>,
    /// Unix time in seconds at which recording started.
    pub start_time: f64,
    pub duration_us: u64,
    pub interval_us: u64,
    /// Total CPU time of the process over the session, when known.
    pub cpu_time_us: Option<u64>,
    pub python_version: String,
    pub platform: String,
    /// `sys.path` at the end of the session: used to shorten file paths for display.
    pub sys_path: Vec<String>,
    /// `sys.prefix`, `sys.base_prefix`, `sys.exec_prefix`, ...: code under these is library code.
    pub sys_prefixes: Vec<String>,
    /// Which program wrote the samples, e.g. `callscope 0.1.0` or `pyinstrument` on import.
    pub recorder: String,
    /// How samples were taken, e.g. `signal`, `pending-call`, `imported`.
    pub sampling_mode: String,
    pub counts: Counts,
}

/// The most wall or CPU time a session may hold, summed over threads: about 146,000 years.
/// Anything more is damage, and the bound lets every sum in the views use plain `u64` adds.
pub const MAX_TOTAL_US: u64 = 1 << 62;

/// A complete profile.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Session {
    pub meta: Metadata,
    pub strings: Vec<String>,
    pub functions: Vec<Function>,
    pub frames: Vec<Frame>,
    pub stacks: Vec<Stack>,
    pub threads: Vec<Thread>,
}

impl Session {
    pub fn string(&self, id: StringId) -> &str {
        &self.strings[id.index()]
    }

    pub fn function(&self, id: FuncId) -> &Function {
        &self.functions[id.index()]
    }

    pub fn frame(&self, id: FrameId) -> &Frame {
        &self.frames[id.index()]
    }

    pub fn stack(&self, id: StackId) -> &Stack {
        &self.stacks[id.index()]
    }

    pub fn function_name(&self, id: FuncId) -> &str {
        self.string(self.function(id).name)
    }

    pub fn function_file(&self, id: FuncId) -> &str {
        self.string(self.function(id).file)
    }

    /// Number of samples over all threads.
    pub fn sample_count(&self) -> usize {
        self.threads.iter().map(|t| t.samples.len()).sum()
    }

    /// Frames of `stack` from the outermost caller to the innermost frame.
    pub fn stack_frames(&self, stack: StackId) -> Vec<FrameId> {
        let mut frames = Vec::new();
        let mut cursor = Some(stack);
        while let Some(id) = cursor {
            let s = self.stack(id);
            frames.push(s.frame);
            cursor = s.parent;
        }
        frames.reverse();
        frames
    }

    /// Depth of every stack (a root stack has depth 1), computed in one front-to-back sweep.
    pub fn stack_depths(&self) -> Vec<u32> {
        let mut depth = Vec::with_capacity(self.stacks.len());
        for s in &self.stacks {
            let d = s.parent.map_or(0, |p| depth[p.index()]) + 1;
            depth.push(d);
        }
        depth
    }

    /// Wall weight and sample count of the samples that end exactly at each stack, over
    /// `threads` (all when empty) and, if given, only samples taken within `range`.
    /// Every aggregated view starts from these two columns.
    pub fn stack_weights(
        &self,
        threads: &[usize],
        range: Option<&Range<u64>>,
    ) -> (Vec<u64>, Vec<u64>) {
        let n = self.stacks.len();
        let (mut weight, mut count) = (vec![0u64; n], vec![0u64; n]);
        let all: Vec<usize>;
        let threads = if threads.is_empty() {
            all = (0..self.threads.len()).collect();
            &all[..]
        } else {
            threads
        };
        for thread in threads.iter().filter_map(|&t| self.threads.get(t)) {
            let s = &thread.samples;
            for i in 0..s.len() {
                if range.is_some_and(|r| !r.contains(&s.time_us[i])) {
                    continue;
                }
                weight[s.stack[i].index()] += s.weight_us[i];
                count[s.stack[i].index()] += 1;
            }
        }
        (weight, count)
    }

    /// Checks that every cross-reference is in range and every column has the right length.
    /// Decoders call this so that the rest of the crate can index without checks.
    pub fn validate(&self) -> Result<(), String> {
        let n_strings = self.strings.len();
        for (i, f) in self.functions.iter().enumerate() {
            if f.name.index() >= n_strings || f.file.index() >= n_strings {
                return Err(format!(
                    "function {i} refers to string {} but there are only {n_strings} strings",
                    f.name.0.max(f.file.0)
                ));
            }
        }
        for (i, fr) in self.frames.iter().enumerate() {
            if fr.func.index() >= self.functions.len() {
                return Err(format!(
                    "frame {i} refers to function {} but there are only {} functions",
                    fr.func.0,
                    self.functions.len()
                ));
            }
        }
        for (i, s) in self.stacks.iter().enumerate() {
            if s.frame.index() >= self.frames.len() {
                return Err(format!(
                    "stack {i} refers to frame {} but there are only {} frames",
                    s.frame.0,
                    self.frames.len()
                ));
            }
            if let Some(p) = s.parent {
                if p.index() >= i {
                    return Err(format!(
                        "stack {i} has parent {} — a parent must come before its child \
                         (this also rules out cycles)",
                        p.0
                    ));
                }
            }
        }
        let mut total = 0u64;
        for t in &self.threads {
            let s = &t.samples;
            let n = s.stack.len();
            let cpu_len = s.cpu_us.as_ref().map_or(n, Vec::len);
            let state_len = s.state.as_ref().map_or(n, Vec::len);
            if s.time_us.len() != n || s.weight_us.len() != n || cpu_len != n || state_len != n {
                return Err(format!(
                    "thread {} ({}): sample columns differ in length (stack {n}, time {}, \
                     weight {}, cpu {cpu_len})",
                    t.id,
                    t.name,
                    s.time_us.len(),
                    s.weight_us.len()
                ));
            }
            if let Some(bad) = s.stack.iter().find(|st| st.index() >= self.stacks.len()) {
                return Err(format!(
                    "thread {} ({}): a sample refers to stack {} but there are only {} stacks",
                    t.id,
                    t.name,
                    bad.0,
                    self.stacks.len()
                ));
            }
            let sums = [Some(&s.weight_us), s.cpu_us.as_ref()]
                .into_iter()
                .flatten()
                .map(|c| c.iter().try_fold(0u64, |a, &w| a.checked_add(w)));
            for sum in sums {
                total = sum
                    .and_then(|s| total.checked_add(s))
                    .filter(|&t| t <= MAX_TOTAL_US)
                    .ok_or_else(|| {
                        format!(
                            "thread {} ({}): sample weights add up past any real profile",
                            t.id, t.name
                        )
                    })?;
            }
            if s.time_us.windows(2).any(|w| w[1] < w[0]) {
                return Err(format!(
                    "thread {} ({}): sample times go backwards",
                    t.id, t.name
                ));
            }
        }
        Ok(())
    }
}

/// Builds a [`Session`] while interning strings, functions, frames and stacks. Used by the
/// recorder, every importer, the test fixtures and the benchmark generator.
#[derive(Default)]
pub struct SessionBuilder {
    session: Session,
    strings: HashMap<String, StringId>,
    functions: HashMap<(StringId, StringId, u32, FunctionKind), FuncId>,
    frames: HashMap<Frame, FrameId>,
    stacks: HashMap<Stack, StackId>,
}

impl SessionBuilder {
    pub fn new(meta: Metadata) -> Self {
        Self {
            session: Session {
                meta,
                ..Session::default()
            },
            ..Self::default()
        }
    }

    pub fn meta_mut(&mut self) -> &mut Metadata {
        &mut self.session.meta
    }

    pub fn intern_string(&mut self, s: &str) -> StringId {
        if let Some(&id) = self.strings.get(s) {
            return id;
        }
        let id = StringId::from_index(self.session.strings.len());
        self.session.strings.push(s.to_owned());
        self.strings.insert(s.to_owned(), id);
        id
    }

    pub fn function(
        &mut self,
        name: &str,
        file: &str,
        first_line: u32,
        kind: FunctionKind,
    ) -> FuncId {
        let function = Function {
            name: self.intern_string(name),
            file: self.intern_string(file),
            first_line,
            kind,
            tracebackhide: false,
        };
        self.intern_function(function)
    }

    /// Interns by identity (name, file, first line, kind); flags are OR-ed into the row.
    pub fn intern_function(&mut self, function: Function) -> FuncId {
        let key = (
            function.name,
            function.file,
            function.first_line,
            function.kind,
        );
        let table = &mut self.session.functions;
        let id = *self.functions.entry(key).or_insert_with(|| {
            table.push(function);
            FuncId::from_index(table.len() - 1)
        });
        table[id.index()].tracebackhide |= function.tracebackhide;
        id
    }

    pub fn mark_tracebackhide(&mut self, func: FuncId) {
        self.session.functions[func.index()].tracebackhide = true;
    }

    pub fn frame(&mut self, func: FuncId, line: u32) -> FrameId {
        let frame = Frame { func, line };
        let table = &mut self.session.frames;
        *self.frames.entry(frame).or_insert_with(|| {
            table.push(frame);
            FrameId::from_index(table.len() - 1)
        })
    }

    pub fn stack(&mut self, parent: Option<StackId>, frame: FrameId) -> StackId {
        let stack = Stack { frame, parent };
        let table = &mut self.session.stacks;
        *self.stacks.entry(stack).or_insert_with(|| {
            table.push(stack);
            StackId::from_index(table.len() - 1)
        })
    }

    /// Interns a whole stack given outermost-first; returns `None` for an empty stack.
    pub fn stack_from_frames(
        &mut self,
        frames: impl IntoIterator<Item = FrameId>,
    ) -> Option<StackId> {
        frames
            .into_iter()
            .fold(None, |parent, frame| Some(self.stack(parent, frame)))
    }

    /// Adds a thread and returns its index in [`Session::threads`].
    pub fn add_thread(
        &mut self,
        id: u64,
        native_id: Option<u64>,
        name: &str,
        is_main: bool,
    ) -> usize {
        self.session.threads.push(Thread {
            id,
            native_id,
            name: name.to_owned(),
            is_main,
            samples: Samples::default(),
        });
        self.session.threads.len() - 1
    }

    /// The index of the thread with Python id `id`, adding it if it is new.
    pub fn thread_index(&mut self, id: u64, name: &str) -> usize {
        match self.session.threads.iter().position(|t| t.id == id) {
            Some(i) => i,
            None => {
                let is_main = self.session.threads.is_empty();
                self.add_thread(id, None, name, is_main)
            }
        }
    }

    pub fn thread_mut(&mut self, index: usize) -> &mut Thread {
        &mut self.session.threads[index]
    }

    pub fn push_sample(
        &mut self,
        thread: usize,
        stack: StackId,
        time_us: u64,
        weight_us: u64,
        cpu_us: Option<u64>,
    ) {
        self.session.threads[thread]
            .samples
            .push(stack, time_us, weight_us, cpu_us);
    }

    pub fn push_sample_with_state(
        &mut self,
        thread: usize,
        stack: StackId,
        time_us: u64,
        weight_us: u64,
        cpu_us: Option<u64>,
        state: ThreadState,
    ) {
        self.session.threads[thread]
            .samples
            .push_with_state(stack, time_us, weight_us, cpu_us, state);
    }

    pub fn session(&self) -> &Session {
        &self.session
    }

    /// Finishes the session, filling in counts that the caller left at zero.
    pub fn finish(mut self) -> Session {
        let s = &mut self.session;
        if s.meta.counts.samples == 0 {
            s.meta.counts.samples = s.sample_count() as u64;
        }
        if s.meta.duration_us == 0 {
            s.meta.duration_us = s
                .threads
                .iter()
                .filter_map(|t| t.samples.time_us.last())
                .copied()
                .max()
                .unwrap_or(0);
        }
        if s.meta.interval_us == 0 {
            // Imported formats rarely say; the typical weight is what a sample stood for.
            let mut weights: Vec<u64> = s
                .threads
                .iter()
                .flat_map(|t| t.samples.weight_us.iter().copied())
                .take(100_000)
                .collect();
            weights.sort_unstable();
            s.meta.interval_us = weights
                .get(weights.len() / 2)
                .copied()
                .unwrap_or(1000)
                .max(1);
        }
        self.session
    }
}
