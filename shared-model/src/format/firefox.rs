//! The Firefox Profiler's processed profile JSON (<https://profiler.firefox.com>), written
//! with `fxprof-processed-profile`, the crate samply writes it with.
//!
//! One process; one track per thread. Every callscope sample is one sample at its time,
//! with the CPU time the thread used since its previous sample as its CPU delta (the track's
//! activity graph) and, as its weight, the number of ticks it stands for: the Firefox
//! Profiler shows weight × interval as running time, so its call tree gives callscope's
//! wall times, also where the sampler missed ticks or a tick came early.
//!
//! The thread's state at a sample is the category of the sample's innermost frame, which
//! is what colours the activity graph: `Python` (running), `GIL wait` (running Python code
//! but waiting to take the GIL) and `Idle` (off CPU). Without recorded states, the CPU time
//! decides between `Python` and `Idle`; without either, every sample is `Python`.
//!
//! The crate's frames are labels (it has no file or line for them), so a function's label
//! is its name and where it is defined, `name  file:line`, as the text tree prints it; the
//! Firefox Profiler merges call nodes by label, which then means by function. The
//! launcher's frames are left out, as the function table leaves them out.

use std::collections::HashMap;
use std::time::Duration;

use fxprof_processed_profile::{
    CategoryColor, CategoryHandle, CpuDelta, Frame, FrameFlags, FrameInfo, Profile,
    ReferenceTimestamp, SamplingInterval, StackHandle, StringHandle, ThreadHandle, Timestamp,
};

use crate::error::SaveError;
use crate::ids::{FuncId, StackId};
use crate::processors::launcher_prefix;
use crate::session::{FunctionKind, Session, Thread, ThreadState};

/// The state a sample is drawn in.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum State {
    Running,
    GilWait,
    Idle,
}

struct Categories {
    running: CategoryHandle,
    gil_wait: CategoryHandle,
    idle: CategoryHandle,
}

impl Categories {
    fn of(&self, state: State) -> CategoryHandle {
        match state {
            State::Running => self.running,
            State::GilWait => self.gil_wait,
            State::Idle => self.idle,
        }
    }
}

/// The stacks of one thread as the crate interns them (its handles belong to one thread).
struct ThreadStacks {
    handle: ThreadHandle,
    /// Each callscope stack's node, drawn as running.
    stacks: HashMap<StackId, Option<StackHandle>>,
    /// Each (stack, state) a sample ended in: the innermost frame carries the state.
    leaves: HashMap<(StackId, State), StackHandle>,
}

struct Writer<'s> {
    session: &'s Session,
    launcher: Vec<Option<bool>>,
    profile: Profile,
    categories: Categories,
    labels: HashMap<FuncId, StringHandle>,
}

impl Writer<'_> {
    fn label(&mut self, func: FuncId) -> StringHandle {
        if let Some(&h) = self.labels.get(&func) {
            return h;
        }
        let s = self.session;
        let f = s.function(func);
        let name = s.string(f.name);
        let label = match f.kind {
            FunctionKind::Python => format!("{name}  {}:{}", s.string(f.file), f.first_line),
            FunctionKind::Native | FunctionKind::Pseudo => name.to_owned(),
        };
        let h = self.profile.intern_string(&label);
        self.labels.insert(func, h);
        h
    }

    fn frame(&mut self, stack: StackId, state: State) -> FrameInfo {
        let func = self.session.frame(self.session.stack(stack).frame).func;
        FrameInfo {
            frame: Frame::Label(self.label(func)),
            category_pair: self.categories.of(state).into(),
            flags: FrameFlags::empty(),
        }
    }

    /// The node of `stack` (outside the launcher's frames) drawn as running; `None` when
    /// the whole stack is the launcher's.
    fn stack(&mut self, t: &mut ThreadStacks, stack: StackId) -> Option<StackHandle> {
        // Parents first, without recursion: stacks can be thousands of frames deep.
        let mut missing = Vec::new();
        let mut cursor = Some(stack);
        while let Some(id) = cursor {
            if t.stacks.contains_key(&id) {
                break;
            }
            if self.launcher[id.index()] == Some(true) {
                t.stacks.insert(id, None);
                break;
            }
            missing.push(id);
            cursor = self.session.stack(id).parent;
        }
        for id in missing.into_iter().rev() {
            let parent = self
                .session
                .stack(id)
                .parent
                .and_then(|p| t.stacks.get(&p).copied().flatten());
            let frame = self.frame(id, State::Running);
            let frame = self.profile.intern_frame(t.handle, frame);
            let node = self.profile.intern_stack(t.handle, parent, frame);
            t.stacks.insert(id, Some(node));
        }
        t.stacks.get(&stack).copied().flatten()
    }

    fn leaf(&mut self, t: &mut ThreadStacks, stack: StackId, state: State) -> Option<StackHandle> {
        if state == State::Running {
            return self.stack(t, stack);
        }
        if let Some(&h) = t.leaves.get(&(stack, state)) {
            return Some(h);
        }
        // Samples inside the launcher's frames are left out before this.
        let parent = self.session.stack(stack).parent;
        let parent = parent.and_then(|p| self.stack(t, p));
        let frame = self.frame(stack, state);
        let frame = self.profile.intern_frame(t.handle, frame);
        let node = self.profile.intern_stack(t.handle, parent, frame);
        t.leaves.insert((stack, state), node);
        Some(node)
    }

    fn thread(&mut self, process: fxprof_processed_profile::ProcessHandle, thread: &Thread) {
        let tid = thread.native_id.unwrap_or(thread.id) as u32;
        let handle = self.profile.add_thread(
            process,
            tid,
            Timestamp::from_nanos_since_reference(0),
            thread.is_main,
        );
        self.profile.set_thread_name(handle, &thread.name);
        let mut t = ThreadStacks {
            handle,
            stacks: HashMap::new(),
            leaves: HashMap::new(),
        };
        let s = &thread.samples;
        let interval = self.session.meta.interval_us.max(1);
        // Ticks are counted on the running sum, so that their rounding does not add up: a
        // sample may get none, and the thread's total stays within half a tick.
        let (mut wall, mut ticks_before) = (0u64, 0u64);
        for i in 0..s.len() {
            let (stack, weight) = (s.stack[i], s.weight_us[i]);
            if self.launcher[stack.index()] == Some(true) {
                continue;
            }
            let cpu = s.cpu_us.as_ref().map(|c| c[i]);
            let state = match (s.state.as_ref().map(|c| c[i]), cpu) {
                (Some(st), _) => state_of(st),
                (None, Some(cpu)) if cpu * 2 < weight => State::Idle,
                _ => State::Running,
            };
            let node = self.leaf(&mut t, stack, state);
            wall = wall.saturating_add(weight);
            let ticks_now = (wall + interval / 2) / interval;
            let ticks = (ticks_now - ticks_before).min(i32::MAX as u64) as i32;
            ticks_before = ticks_now;
            self.profile.add_sample(
                handle,
                Timestamp::from_nanos_since_reference(s.time_us[i].saturating_mul(1000)),
                node,
                CpuDelta::from(Duration::from_micros(cpu.unwrap_or(0))),
                ticks,
            );
        }
    }
}

fn state_of(st: ThreadState) -> State {
    if st.gil_waiting() {
        State::GilWait
    } else if st.on_cpu() || st.gil_held() {
        State::Running
    } else {
        State::Idle
    }
}

/// The session as the Firefox Profiler's processed profile JSON.
pub fn encode(session: &Session) -> Result<Vec<u8>, SaveError> {
    let meta = &session.meta;
    let mut profile = Profile::new(
        "callscope",
        ReferenceTimestamp::from_millis_since_unix_epoch(meta.start_time * 1000.0),
        SamplingInterval::from_nanos(meta.interval_us.max(1) * 1000),
    );
    let categories = Categories {
        running: profile.add_category("Python", CategoryColor::Yellow),
        gil_wait: profile.add_category("GIL wait", CategoryColor::Orange),
        idle: profile.add_category("Idle", CategoryColor::Transparent),
    };
    let name = if meta.program.is_empty() {
        "Python"
    } else {
        &meta.program
    };
    let process = profile.add_process(name, 0, Timestamp::from_nanos_since_reference(0));
    profile.set_process_end_time(
        process,
        Timestamp::from_nanos_since_reference(meta.duration_us.saturating_mul(1000)),
    );
    let mut w = Writer {
        session,
        launcher: launcher_prefix(session),
        profile,
        categories,
        labels: HashMap::new(),
    };
    for thread in &session.threads {
        w.thread(process, thread);
    }
    Ok(serde_json::to_vec(&w.profile)?)
}
