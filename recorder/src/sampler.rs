//! The sampler: a Rust thread that reads every Python thread's stack from the
//! interpreter's memory at each tick, without the GIL and without signals (see
//! `stacks.rs` and docs/recorder.md).
//!
//! Two threads serve every running recording:
//! - the timer, which never takes the GIL: at each tick it reads all stacks and hands
//!   them to each recorder;
//! - the helper, which takes the GIL only when there is something new to ask Python:
//!   names of new threads, and references to new code objects found on the stacks (a
//!   strong reference keeps a code object's address from being reused while the
//!   sampler's cache knows it). References are only ever taken from live Python objects,
//!   never from an address the sampler read: that object may have been freed since.
//!
//! Several profilers may run at once, on any threads (a `callscope.profile` block inside a
//! program run by the `callscope` command, one profiler per request in a threaded
//! server): one timer serves them all at the smallest interval any of them asked for.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use callscope_model::{Counts, Metadata, Session};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

use crate::clock;
use crate::code::CodeEntry;
use crate::cpython;
use crate::gil_wait::GilWait;
use crate::layout::Layout;
use crate::memory::OwnProcess;
use crate::recorder::{Capture, CapturedThread, CodeNames, Recorder, ThreadInfo, Threads};
use crate::schedule::{self, Scheduler};
use crate::spool::SpoolWriter;
use crate::stacks::{Gil, StackRead, StackReader, ThreadRead};
use crate::tasks::{self, HamtTypes, View, Watch};

/// An async-mode recording's request, as live objects' addresses (the caller keeps the
/// objects alive until the recording stops).
pub struct WatchRequest {
    /// Without its anchor, which is the code object at `anchor_code`.
    pub watch: Watch,
    pub anchor_code: u64,
    /// Two contexts whose HAMT roots are a bitmap node and an array node.
    pub probes: (u64, u64),
}

/// The sampler's clock: microseconds since the first use.
fn now_us() -> u64 {
    static EPOCH: LazyLock<Instant> = LazyLock::new(Instant::now);
    EPOCH.elapsed().as_micros() as u64
}

/// Counters shared by the timer and the recordings. Recorders keep the values at their
/// start and store the difference.
struct Counters {
    passes: AtomicU64,
    late: AtomicU64,
    missed: AtomicU64,
    errors: AtomicU64,
    torn: AtomicU64,
}

impl Counters {
    fn snapshot(&self) -> Counts {
        Counts {
            samples: self.passes.load(Relaxed),
            late: self.late.load(Relaxed),
            missed: self.missed.load(Relaxed),
            errors: self.errors.load(Relaxed),
            torn: self.torn.load(Relaxed),
        }
    }
}

static COUNTERS: Counters = Counters {
    passes: AtomicU64::new(0),
    late: AtomicU64::new(0),
    missed: AtomicU64::new(0),
    errors: AtomicU64::new(0),
    torn: AtomicU64::new(0),
};
static INTERVAL_US: AtomicU64 = AtomicU64::new(1_000);
/// How often a thread's CPU clock is read. Reading another thread's CPU clock costs about
/// 60 µs here (the kernel brings a running thread's time up to date), far more than reading
/// its whole stack, so it is read every 10 ms rather than at every tick.
const CPU_READ_EVERY_US: u64 = 10_000;

/// CPU time of callscope's own threads, which the process's CPU clock counts too: what
/// the threads that have ended used, and the native ids of those running (0: none).
static OWN_CPU_ENDED_US: AtomicU64 = AtomicU64::new(0);
static OWN_TIDS: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];

/// CPU time used so far by callscope's timer and helper threads, in microseconds.
pub fn own_cpu_us() -> u64 {
    let running: u64 = OWN_TIDS
        .iter()
        .filter_map(|t| match t.load(Relaxed) {
            0 => None,
            tid => clock::thread_cpu_us(tid),
        })
        .sum();
    OWN_CPU_ENDED_US.load(Relaxed) + running
}

/// How often a streamed recording is written to its pipe (see `State::tick`).
const SPOOL_EVERY_US: u64 = 20_000;

/// The helper's `pthread_t`: while it holds the GIL it runs Python code of callscope's,
/// which is not the program's and is not sampled.
static HELPER_IDENT: AtomicU64 = AtomicU64::new(0);

/// A thread's key in `State::thread_keys`: its ident with its native id, or, where the
/// thread state has none (before 3.11), its thread state's address.
fn thread_key(t: &ThreadRead) -> (u64, u64) {
    (t.ident, t.native_id.unwrap_or(t.tstate))
}

/// Everything the timer, the helper and the recordings share.
#[derive(Default)]
struct State {
    reader: Option<StackReader<OwnProcess>>,
    read: StackRead,
    gil_wait: GilWait,
    gil_wait_pruned_us: u64,
    capture: Capture,
    threads: Vec<ThreadInfo>,
    /// (ident, native id or thread-state address) → index in `threads`. Idents and
    /// thread-state addresses are reused after a thread ends; native ids are not.
    thread_keys: HashMap<(u64, u64), u32>,
    /// Threads whose name `threading` has not been asked for yet.
    unnamed: Vec<u32>,
    /// When each thread's CPU clock was last read.
    cpu_read_at: Vec<u64>,
    /// Strong references to code objects in the reader's cache, by code index.
    pinned: HashMap<u32, Py<PyAny>>,
    /// How many of the reader's codes the helper has looked for on the stacks.
    looked_for: usize,
    main_ident: u64,
    /// How many codes and threads the streamed recordings have been sent.
    spooled: (usize, usize),
    recorders: Vec<(u64, Recorder, Counts)>,
    next_id: u64,
    hamt: HamtTypes,
    spool_flushed_us: u64,
}

static STATE: LazyLock<Mutex<State>> = LazyLock::new(Mutex::default);

/// The state lock, for the timer (which never takes the GIL).
fn state() -> MutexGuard<'static, State> {
    STATE.lock().unwrap_or_else(|p| p.into_inner())
}

/// Held through a whole start or stop, so that "the first recording starts the workers"
/// and "the last one stops them" hold when threads start and stop recordings at once.
static LIFECYCLE: Mutex<()> = Mutex::new(());

/// Like [`state_py`], for [`LIFECYCLE`].
fn lifecycle(py: Python<'_>) -> MutexGuard<'static, ()> {
    loop {
        match LIFECYCLE.try_lock() {
            Ok(guard) => return guard,
            Err(std::sync::TryLockError::Poisoned(p)) => return p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => py.detach(|| drop(LIFECYCLE.lock())),
        }
    }
}

/// The state lock, for a thread holding the GIL. The holder of the lock may be running
/// Python code (at the end of a recording) and need the GIL back to finish, so the GIL is
/// released while waiting.
fn state_py(py: Python<'_>) -> MutexGuard<'static, State> {
    loop {
        match STATE.try_lock() {
            Ok(guard) => return guard,
            Err(std::sync::TryLockError::Poisoned(p)) => return p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => py.detach(|| drop(STATE.lock())),
        }
    }
}

struct Workers {
    stop: Arc<AtomicBool>,
    timer: JoinHandle<()>,
    helper: JoinHandle<()>,
}

static WORKERS: Mutex<Option<Workers>> = Mutex::new(None);

/// Starts a recording at `meta.interval_us`; returns its id.
/// With `spool`, the recording is also streamed there as it happens (see `spool.rs`).
pub fn start(
    py: Python<'_>,
    meta: Metadata,
    filter: Threads,
    spool: Option<SpoolWriter>,
    watch: Option<WatchRequest>,
) -> PyResult<u64> {
    let _life = lifecycle(py);
    let first = {
        let mut st = state_py(py);
        if st.reader.is_none() {
            let interp = cpython::main_interpreter(py);
            // SAFETY: `interp` is the live main interpreter.
            let layout = unsafe { Layout::of(interp) };
            OwnProcess::refresh_pid();
            st.reader = Some(StackReader::new(OwnProcess, layout, interp as u64));
        }
        st.recorders.is_empty()
    };
    name_threads(py);
    let id = {
        let mut st = state_py(py);
        let start = now_us();
        let mut recorder = Recorder::new(meta, start, filter);
        if let Some(w) = watch {
            let st = &mut *st;
            if let Some(reader) = st.reader.as_mut() {
                if let (Some(bitmap), Some(array)) = (
                    tasks::root_type(reader, w.probes.0),
                    tasks::root_type(reader, w.probes.1),
                ) {
                    st.hamt = HamtTypes { bitmap, array };
                }
                recorder.set_watch(Watch {
                    anchor: reader.code_index(w.anchor_code),
                    ..w.watch
                });
            }
        }
        st.sample(start);
        st.spool_news();
        recorder.baseline(&st.capture, &st.threads);
        if let Some(mut spool) = spool {
            spool.meta(recorder.meta());
            for (i, code) in st.codes().iter().enumerate() {
                spool.code(i as u32, code);
            }
            for (key, thread) in st.threads.iter().enumerate() {
                spool.thread(key as u32, thread);
            }
            spool.flush();
            recorder.spool = Some(spool);
        }
        st.next_id += 1;
        let id = st.next_id;
        st.recorders.push((id, recorder, COUNTERS.snapshot()));
        update_interval(&st);
        id
    };
    if first {
        start_workers();
    }
    Ok(id)
}

/// Stops recording `id` and returns its session, and the stream it was written to, with
/// what only the end can tell added (C call names, qualified names, thread names).
pub fn stop(py: Python<'_>, id: u64) -> PyResult<(Session, Option<SpoolWriter>)> {
    let _life = lifecycle(py);
    let last = {
        let st = state_py(py);
        if !st.recorders.iter().any(|(i, _, _)| *i == id) {
            return Err(PyRuntimeError::new_err("this recording is not running"));
        }
        st.recorders.len() == 1
    };
    if last {
        stop_workers(py);
    }
    let end = now_us();
    name_threads(py);
    pin_codes(py);
    let mut st = state_py(py);
    let pos = st
        .recorders
        .iter()
        .position(|(i, _, _)| *i == id)
        .ok_or_else(|| PyRuntimeError::new_err("this recording is not running"))?;
    let (_, mut recorder, at_start) = st.recorders.remove(pos);
    let mut spool = recorder.spool.take();
    let now = COUNTERS.snapshot();
    let counts = Counts {
        samples: now.samples - at_start.samples,
        late: now.late - at_start.late,
        missed: now.missed - at_start.missed,
        errors: now.errors - at_start.errors,
        torn: now.torn - at_start.torn,
    };
    st.resolve(py, &recorder);
    let mut describe = st.describer(py, &recorder);
    if let Some(spool) = &mut spool {
        for ((code, offset), name) in &describe.callees {
            spool.callee(*code, *offset, name);
        }
        for (i, code) in describe.codes.iter().enumerate() {
            spool.name(i as u32, &code.name);
        }
        for (key, thread) in st.threads.iter().enumerate() {
            spool.thread(key as u32, thread);
        }
    }
    let start = recorder.start_us();
    let session = recorder.finish(end, counts, &st.threads, &mut describe);
    if let Some(spool) = &mut spool {
        spool.end(end.saturating_sub(start));
    }
    update_interval(&st);
    if st.recorders.is_empty() {
        // Let the code objects go; the next recording reads them again.
        *st = State {
            next_id: st.next_id,
            ..State::default()
        };
    }
    Ok((session, spool))
}

/// The timer serves every running recorder at the smallest interval any of them asked for.
fn update_interval(st: &State) {
    if let Some(smallest) = st.recorders.iter().map(|(_, r, _)| r.interval_us()).min() {
        INTERVAL_US.store(smallest.max(50), Relaxed);
    }
}

pub fn is_running(py: Python<'_>, id: u64) -> bool {
    state_py(py).recorders.iter().any(|(i, _, _)| *i == id)
}

impl State {
    /// Reads every thread's stack into `self.capture`.
    fn sample(&mut self, now: u64) {
        let Some(reader) = self.reader.as_mut() else {
            return;
        };
        reader.read(&mut self.read);
        COUNTERS.torn.fetch_add(self.read.torn, Relaxed);
        let capture = &mut self.capture;
        capture.clear();
        capture.time_us = now;
        let helper = HELPER_IDENT.load(Relaxed);
        let l = reader.layout();
        let gil = l.gil_start..l.gil_start.saturating_add(l.gil_size);
        for t in &self.read.threads {
            if t.frames.is_empty() || t.ident == helper {
                continue;
            }
            let key = thread_key(t);
            let index = match self.thread_keys.get(&key) {
                Some(&i) => i,
                None => {
                    let i = self.threads.len() as u32;
                    self.threads.push(ThreadInfo {
                        ident: t.ident,
                        native_id: t.native_id,
                        name: format!("Thread {}", t.ident),
                        is_main: t.ident == self.main_ident,
                    });
                    self.thread_keys.insert(key, i);
                    self.unnamed.push(i);
                    self.cpu_read_at.push(0);
                    i
                }
            };
            let native_id = self.threads[index as usize].native_id;
            let cpu_us =
                if now.saturating_sub(self.cpu_read_at[index as usize]) >= CPU_READ_EVERY_US {
                    self.cpu_read_at[index as usize] = now;
                    native_id.and_then(clock::thread_cpu_us)
                } else {
                    None
                };
            let gil_state = match (t.gil, native_id) {
                (Gil::NotHeld, Some(tid)) if self.gil_wait.waiting(tid, &gil, now) => Gil::Waiting,
                (g, _) => g,
            };
            let start = capture.frames.len();
            capture
                .frames
                .extend_from_slice(&self.read.frames[t.frames.clone()]);
            capture.threads.push(CapturedThread {
                thread: index,
                cpu_us,
                gil: gil_state,
                frames: start..capture.frames.len(),
            });
        }
    }

    /// One tick: read, and feed every recorder.
    fn tick(&mut self) {
        if self.recorders.is_empty() {
            return;
        }
        let now = now_us();
        self.sample(now);
        if now - self.gil_wait_pruned_us > 1_000_000 {
            // Close the files of threads that have ended.
            self.gil_wait.prune(self.gil_wait_pruned_us);
            self.gil_wait_pruned_us = now;
        }
        self.spool_news();
        let st = &mut *self;
        // The stream is written every SPOOL_EVERY_US, not at every tick: each write wakes the
        // launcher, and a process woken 1,000 times a second takes CPU time the program
        // could have had. A program that dies loses at most that much of its profile.
        let flush = now.saturating_sub(st.spool_flushed_us) >= SPOOL_EVERY_US;
        if flush {
            st.spool_flushed_us = now;
        }
        for (_, recorder, _) in &mut st.recorders {
            let view = match (recorder.watch(), st.reader.as_mut()) {
                (Some(w), Some(reader)) => st
                    .read
                    .threads
                    .iter()
                    .find(|t| t.ident == w.thread)
                    .and_then(|t| tasks::view(reader, &st.hamt, w, t.tstate, t.context)),
                _ => None,
            };
            if view == Some(View::Switching) {
                COUNTERS.torn.fetch_add(1, Relaxed);
            }
            recorder.record(&st.capture, &st.threads, view);
            if let (true, Some(spool)) = (flush, &mut recorder.spool) {
                spool.flush();
            }
        }
        COUNTERS.passes.fetch_add(1, Relaxed);
    }

    /// Sends code objects and threads seen for the first time to the streamed recordings,
    /// before any sample that refers to them.
    fn spool_news(&mut self) {
        let (codes, threads) = (self.codes().len(), self.threads.len());
        let (sent_codes, sent_threads) = self.spooled;
        if (codes, threads) == self.spooled {
            return;
        }
        let entries = self.reader.as_ref().map_or(&[][..], |r| &r.codes.entries);
        for (_, recorder, _) in &mut self.recorders {
            if let Some(spool) = &mut recorder.spool {
                for (i, code) in entries.iter().enumerate().skip(sent_codes) {
                    spool.code(i as u32, code);
                }
                for (key, thread) in self.threads.iter().enumerate().skip(sent_threads) {
                    spool.thread(key as u32, thread);
                }
            }
        }
        self.spooled = (codes, threads);
    }

    fn codes(&self) -> &[CodeEntry] {
        self.reader.as_ref().map_or(&[], |r| &r.codes.entries)
    }

    /// Is there anything the helper should ask Python?
    fn has_news(&self) -> bool {
        !self.unnamed.is_empty() || self.looked_for < self.codes().len()
    }

    /// Before a session is built: finds the code objects it needs from Python that are
    /// not pinned yet (call sites, and on 3.9/3.10 every code for its qualified name).
    fn resolve(&mut self, py: Python<'_>, recorder: &Recorder) {
        let Some(reader) = self.reader.as_mut() else {
            return;
        };
        let qualify = reader.layout().minor() < 11;
        let mut wanted: Vec<u32> = if qualify {
            (0..reader.codes.entries.len() as u32).collect()
        } else {
            recorder
                .call_sites()
                .map(|(code, _)| code)
                .filter(|c| !self.pinned.contains_key(c))
                .collect()
        };
        wanted.sort_unstable();
        wanted.dedup();
        if wanted.is_empty() {
            return;
        }
        let addrs: Vec<u64> = wanted
            .iter()
            .map(|&c| reader.codes.addrs[c as usize])
            .collect();
        let Ok(found) = cpython::find_live(py, &addrs) else {
            return;
        };
        for (&code, addr) in wanted.iter().zip(&addrs) {
            let Some((obj, qualname)) = found.get(addr) else {
                continue;
            };
            let entry = &mut reader.codes.entries[code as usize];
            if !cpython::same_code(obj, entry) {
                continue;
            }
            if let (true, Some(q)) = (qualify, qualname) {
                entry.name = crate::code::without_locals_prefix(q).to_owned();
            }
            self.pinned
                .entry(code)
                .or_insert_with(|| obj.clone().unbind());
        }
    }

    /// The names of the C functions at every call site `recorder` saw, asked once.
    fn describer<'a>(&'a self, py: Python<'_>, recorder: &Recorder) -> CodeNames<'a> {
        let mut by_code: HashMap<u32, Vec<i32>> = HashMap::new();
        for (code, offset) in recorder.call_sites() {
            by_code.entry(code).or_default().push(offset);
        }
        let mut callees = HashMap::new();
        for (code, offsets) in by_code {
            let Some(obj) = self.pinned.get(&code) else {
                continue;
            };
            if let Ok(names) = cpython::callees(py, obj, &offsets) {
                for (offset, name) in offsets.into_iter().zip(names) {
                    if let Some(name) = name {
                        callees.insert((code, offset), name);
                    }
                }
            }
        }
        CodeNames {
            codes: self.codes(),
            callees,
        }
    }
}

/// Names of threads seen for the first time, from `threading`; at the end of a recording,
/// every thread's name as it is then (threads are often renamed after they start).
fn name_threads(py: Python<'_>) {
    let Ok((facts, main)) = cpython::threads(py) else {
        return;
    };
    let mut st = state_py(py);
    st.main_ident = main;
    let st = &mut *st;
    // An ended thread's ident is often the next thread's (glibc reuses its stack), so
    // `threading` answers by ident for whichever holds it now. A thread takes the answer
    // only if its native id agrees or, where the thread state has none (before 3.11),
    // if the last pass saw it alive (whether or not its stack could be read: a thread
    // unwinding an exception at the end of a recording often cannot be).
    let live: HashSet<u32> = st
        .read
        .threads
        .iter()
        .chain(&st.read.torn_threads)
        .filter_map(|t| st.thread_keys.get(&thread_key(t)).copied())
        .collect();
    for (index, info) in st.threads.iter_mut().enumerate() {
        if let Some(f) = facts.get(&info.ident) {
            let same = match (info.native_id, f.native_id) {
                (Some(ours), Some(theirs)) => ours == theirs,
                _ => live.contains(&(index as u32)),
            };
            if same {
                info.name.clone_from(&f.name);
                info.native_id = info.native_id.or(f.native_id);
            }
        }
        info.is_main = info.ident == main;
    }
    if !st.unnamed.is_empty() {
        for (_, recorder, _) in &mut st.recorders {
            if let Some(spool) = &mut recorder.spool {
                for &key in &st.unnamed {
                    spool.thread(key, &st.threads[key as usize]);
                }
            }
        }
    }
    st.unnamed.clear();
}

/// Takes strong references to the cached code objects that are on a stack now.
fn pin_codes(py: Python<'_>) {
    let Ok(live) = cpython::live_frame_codes(py) else {
        return;
    };
    let mut st = state_py(py);
    let st = &mut *st;
    let Some(reader) = st.reader.as_ref() else {
        return;
    };
    st.looked_for = reader.codes.entries.len();
    for code in live {
        let Some(index) = reader.codes.index_of(code.as_ptr() as u64) else {
            continue;
        };
        if !st.pinned.contains_key(&index)
            && cpython::same_code(&code, &reader.codes.entries[index as usize])
        {
            st.pinned.insert(index, code.unbind());
        }
    }
}

fn start_workers() {
    let mut workers = WORKERS.lock().unwrap_or_else(|p| p.into_inner());
    // Two first recordings started at once on two threads: one set of workers.
    if workers.is_some() {
        return;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let spawn = |name: &str, slot: &'static AtomicU64, body: fn(&AtomicBool)| {
        let stop = stop.clone();
        std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                block_signals();
                slot.store(clock::current_tid(), Relaxed);
                let outcome =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| body(&stop)));
                if outcome.is_err() {
                    COUNTERS.errors.fetch_add(1, Relaxed);
                }
                let used = clock::thread_cpu_us(slot.swap(0, Relaxed)).unwrap_or(0);
                OWN_CPU_ENDED_US.fetch_add(used, Relaxed);
            })
            .expect("spawning a callscope thread")
    };
    let timer = spawn("callscope-timer", &OWN_TIDS[0], timer_loop);
    let helper = spawn("callscope-helper", &OWN_TIDS[1], helper_loop);
    *workers = Some(Workers {
        stop,
        timer,
        helper,
    });
}

/// callscope's threads take no signals: a signal sent to the process goes to one of the
/// program's threads, as it would without callscope.
fn block_signals() {
    // SAFETY: a zeroed sigset filled by sigfillset; pthread_sigmask changes only the
    // calling thread's mask.
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_BLOCK, &all, std::ptr::null_mut());
    }
}

/// Stops the timer and helper and waits for them, with the GIL released so that a helper
/// waiting for it can finish.
fn stop_workers(py: Python<'_>) {
    let workers = WORKERS.lock().unwrap_or_else(|p| p.into_inner()).take();
    if let Some(w) = workers {
        w.stop.store(true, Relaxed);
        w.timer.thread().unpark();
        w.helper.thread().unpark();
        py.detach(|| {
            let _ = w.timer.join();
            let _ = w.helper.join();
        });
    }
}

/// Exponential gaps with a floor of half the interval and a mean of one interval: the
/// timer cannot lock onto a rhythm in the program, and never fires in bursts.
struct Jitter(u64);

impl Jitter {
    fn next_gap(&mut self, interval_us: u64) -> Duration {
        // xorshift64*: enough randomness for jitter, no dependency.
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let r = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d);
        let u = ((r >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
        let half = interval_us as f64 / 2.0;
        Duration::from_micros((half - half * u.ln()) as u64)
    }
}

fn timer_loop(stop: &AtomicBool) {
    let mut jitter = Jitter(now_us() | 1);
    // Ticks follow deadlines rather than sleeping a gap after each wake-up: every sleep
    // overshoots by tens of microseconds, which would otherwise cost several percent of
    // the samples. After a stall the schedule restarts from now instead of firing a burst.
    let mut deadline = Instant::now();
    let mut panics = 0;
    let mut scheduler = Scheduler::new(deadline);
    loop {
        let interval = INTERVAL_US.load(Relaxed);
        deadline += jitter.next_gap(interval);
        let now = Instant::now();
        let mut behind = 0;
        if deadline > now {
            std::thread::park_timeout(deadline - now);
        } else if now - deadline > Duration::from_micros(interval) {
            // The ticks that fell in the stall had no pass: count them.
            behind = (now - deadline).as_micros() as u64 / interval.max(1);
            COUNTERS.missed.fetch_add(behind, Relaxed);
            COUNTERS.late.fetch_add(1, Relaxed);
            deadline = now;
        }
        if let Some(policy) = scheduler.wake(now, interval, behind) {
            schedule::apply(policy);
        }
        if stop.load(Relaxed) {
            return;
        }
        // A panic in one pass (a bug met on a torn read) costs that pass, not the rest of
        // the recording; the session counts it. A bug that strikes every pass ends the
        // timer rather than fill the program's stderr with panic messages.
        let pass = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| state().tick()));
        if pass.is_err() {
            COUNTERS.errors.fetch_add(1, Relaxed);
            panics += 1;
            if panics >= MAX_TIMER_PANICS {
                return;
            }
        }
    }
}

/// Panics after which the timer gives up (see `timer_loop`).
const MAX_TIMER_PANICS: u32 = 20;

/// How often the helper looks for new threads and code objects.
const HELPER_PERIOD: Duration = Duration::from_millis(50);

fn helper_loop(stop: &AtomicBool) {
    // SAFETY: pthread_self has no preconditions.
    HELPER_IDENT.store(unsafe { libc::pthread_self() } as u64, Relaxed);
    loop {
        std::thread::park_timeout(HELPER_PERIOD);
        if stop.load(Relaxed) {
            return;
        }
        if !state().has_news() {
            continue;
        }
        if cpython::is_finalizing() {
            return;
        }
        Python::attach(|py| {
            if !stop.load(Relaxed) {
                name_threads(py);
                pin_codes(py);
            }
        });
    }
}

/// A frame as (name, file, line).
pub type FrameText = (String, String, u32);

/// Every thread's stack as the sampler reads it from memory, innermost first, as
/// (ident, [(name, file, line)]): for tests that check it against the interpreter's own
/// view. Uses a reader of its own, so it works with or without a recording running.
pub fn read_now(py: Python<'_>) -> Vec<(u64, Vec<FrameText>)> {
    let interp = cpython::main_interpreter(py);
    // SAFETY: `interp` is the live main interpreter.
    let layout = unsafe { Layout::of(interp) };
    OwnProcess::refresh_pid();
    let mut reader = StackReader::new(OwnProcess, layout, interp as u64);
    let mut read = StackRead::default();
    reader.read(&mut read);
    read.threads
        .iter()
        .map(|t| {
            let frames = read.frames[t.frames.clone()]
                .iter()
                .map(|f| {
                    let e = &reader.codes.entries[f.code as usize];
                    (e.name.clone(), e.file.clone(), e.line(f.offset))
                })
                .collect();
            (t.ident, frames)
        })
        .collect()
}

/// Fork support: the sampler's threads do not survive a fork, and must not be running
/// (holding the state lock) while the process is copied.
pub fn before_fork(py: Python<'_>) {
    stop_workers(py);
}

pub fn after_fork_parent(py: Python<'_>) {
    if !state_py(py).recorders.is_empty() {
        start_workers();
    }
}

pub fn after_fork_child(py: Python<'_>) {
    OwnProcess::refresh_pid();
    let mut st = state_py(py);
    // The stream belongs to the parent's recording; the child's copy goes on privately.
    for (_, recorder, _) in &mut st.recorders {
        recorder.spool = None;
    }
    let running = !st.recorders.is_empty();
    drop(st);
    if running {
        start_workers();
    }
}

#[cfg(test)]
mod tests {
    use super::Jitter;

    #[test]
    fn jitter_averages_to_the_interval_and_never_bursts() {
        let mut j = Jitter(12345);
        let gaps: Vec<u64> = (0..100_000)
            .map(|_| j.next_gap(1_000).as_micros() as u64)
            .collect();
        let mean = gaps.iter().sum::<u64>() as f64 / gaps.len() as f64;
        assert!((mean - 1_000.0).abs() < 20.0, "mean {mean}");
        assert!(gaps.iter().all(|&g| g >= 500));
        assert!(gaps.iter().any(|&g| g > 2_500));
    }
}
