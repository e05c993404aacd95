//! The sampler: a Rust timer thread asks the interpreter's main thread to run a sampling
//! pass, and a watchdog samples from the timer thread when the main thread cannot answer.
//!
//! A tick sends `SIGPROF` to the main thread with `pthread_kill`. CPython's C-level handler
//! only sets a flag; at the next safe point the main thread calls the Python-level handler,
//! which is [`on_signal`], a native function: it walks every thread's frames with the GIL
//! held. A signal also interrupts `time.sleep` (CPython runs handlers, then sleeps on), so a
//! sleeping main thread is sampled on time. The handler is installed with `SA_RESTART`, so
//! C libraries do not see `EINTR` on restartable calls; waits that restart (a lock's
//! `acquire`, `Thread.join`) or long C calls are covered by the watchdog, which takes the
//! GIL from the timer thread once a request has been pending for two intervals.
//!
//! Several profilers may run at once (a `callscope.profile` block inside a program run
//! by the `callscope` command): one timer serves them all, each pass feeds every recorder.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use callscope_model::{Counts, Metadata, Session};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use pyo3::{ffi, wrap_pyfunction};

use crate::clock;
use crate::cpython::{self, LineCache};
use crate::recorder::{Capture, CapturedThread, CodeEntry, Recorder, ThreadInfo};

/// The signal the timer sends. `SIGPROF` is the profiling signal by convention; callscope
/// refuses to start when a program has its own handler for it.
const SIGNAL: i32 = libc::SIGPROF;

/// The sampler's clock: microseconds since the first use.
fn now_us() -> u64 {
    static EPOCH: LazyLock<Instant> = LazyLock::new(Instant::now);
    EPOCH.elapsed().as_micros() as u64
}

/// Counters shared by the timer thread and the passes. Recorders keep the values at their
/// start and store the difference.
#[derive(Default)]
struct Counters {
    passes: AtomicU64,
    late: AtomicU64,
    missed: AtomicU64,
    errors: AtomicU64,
}

impl Counters {
    fn snapshot(&self) -> Counts {
        Counts {
            samples: self.passes.load(Relaxed),
            late: self.late.load(Relaxed),
            missed: self.missed.load(Relaxed),
            errors: self.errors.load(Relaxed),
        }
    }
}

static COUNTERS: Counters = Counters {
    passes: AtomicU64::new(0),
    late: AtomicU64::new(0),
    missed: AtomicU64::new(0),
    errors: AtomicU64::new(0),
};
/// A signal has been sent and its pass has not run yet.
static PENDING: AtomicBool = AtomicBool::new(false);
static REQUESTED_AT_US: AtomicU64 = AtomicU64::new(0);
static LAST_PASS_US: AtomicU64 = AtomicU64::new(0);
static INTERVAL_US: AtomicU64 = AtomicU64::new(1_000);

/// What the passes share. Only touched with the GIL held; the mutex is for Rust's sake and
/// is only ever tried, never waited on, so a pass that re-enters (a finalizer run while a
/// code object is described can run Python code) skips instead of deadlocking.
#[derive(Default)]
struct State {
    codes: Vec<CodeEntry>,
    /// Strong references keep code objects alive, so their addresses are not reused while
    /// they are keys in `code_index`.
    code_refs: Vec<Py<PyAny>>,
    code_index: HashMap<usize, u32>,
    lines: LineCache,
    threads: Vec<ThreadInfo>,
    /// Thread-state id → index in `threads`.
    thread_keys: HashMap<u64, u32>,
    main_tstate: u64,
    recorders: Vec<(u64, Recorder, Counts)>,
    next_id: u64,
    capture: Capture,
}

static STATE: LazyLock<Mutex<State>> = LazyLock::new(Mutex::default);

fn state() -> Option<MutexGuard<'static, State>> {
    match STATE.try_lock() {
        Ok(guard) => Some(guard),
        Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner()),
        Err(std::sync::TryLockError::WouldBlock) => None,
    }
}

/// Blocking access, for start and stop only: they run on the main thread outside any pass.
fn state_wait() -> MutexGuard<'static, State> {
    STATE.lock().unwrap_or_else(|p| p.into_inner())
}

struct Timer {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<()>,
}

static TIMER: Mutex<Option<Timer>> = Mutex::new(None);
/// The previous `SIGPROF` handler, restored when the last recorder stops.
static PREVIOUS_HANDLER: Mutex<Option<Py<PyAny>>> = Mutex::new(None);

/// Starts a recording at `meta.interval_us`; returns its id.
pub fn start(py: Python<'_>, meta: Metadata) -> PyResult<u64> {
    let threading = py.import("threading")?;
    let current = threading.call_method0("current_thread")?;
    if !current.is(threading.call_method0("main_thread")?) {
        return Err(PyRuntimeError::new_err(
            "callscope samples through a signal, so a Profiler must be started from the \
             main thread (it records every thread)",
        ));
    }
    let first = state_wait().recorders.is_empty();
    if first {
        install_handler(py)?;
    }
    let id = {
        let mut st = state_wait();
        // SAFETY: the GIL is held (we are in a Python call on the main thread).
        st.main_tstate = unsafe { cpython::thread_state_id(ffi::PyThreadState_Get()) };
        let start = now_us();
        let mut recorder = Recorder::new(meta, start);
        let mut capture = std::mem::take(&mut st.capture);
        st.capture_into(py, &mut capture, start);
        recorder.baseline(&capture, &st.threads);
        st.capture = capture;
        st.next_id += 1;
        let id = st.next_id;
        st.recorders.push((id, recorder, COUNTERS.snapshot()));
        id
    };
    update_interval(&state_wait());
    if first {
        start_timer();
    }
    Ok(id)
}

/// Stops recording `id` and returns its session.
pub fn stop(py: Python<'_>, id: u64) -> PyResult<Session> {
    let last = {
        let st = state_wait();
        if !st.recorders.iter().any(|(i, _, _)| *i == id) {
            return Err(PyRuntimeError::new_err("this recording is not running"));
        }
        st.recorders.len() == 1
    };
    if last {
        stop_timer(py);
        // A signal sent just before the timer stopped has reached CPython's C handler by
        // now; run its pass while our handler is still installed, so CPython does not warn
        // that a signal arrived without a handler.
        // SAFETY: called with the GIL held on the main thread.
        if unsafe { ffi::PyErr_CheckSignals() } != 0 {
            return Err(PyErr::fetch(py));
        }
    }
    let end = now_us();
    refresh_thread_names(py);
    let session = {
        let mut st = state_wait();
        let pos = st
            .recorders
            .iter()
            .position(|(i, _, _)| *i == id)
            .ok_or_else(|| PyRuntimeError::new_err("this recording is not running"))?;
        let (_, recorder, at_start) = st.recorders.remove(pos);
        let now = COUNTERS.snapshot();
        let counts = Counts {
            samples: now.samples - at_start.samples,
            late: now.late - at_start.late,
            missed: now.missed - at_start.missed,
            errors: now.errors - at_start.errors,
        };
        let session = recorder.finish(end, counts, &st.threads);
        update_interval(&st);
        if st.recorders.is_empty() {
            // Let the code objects go; the next recording describes them again.
            *st = State {
                next_id: st.next_id,
                ..State::default()
            };
        }
        session
    };
    if last {
        restore_handler(py)?;
    }
    Ok(session)
}

/// The timer serves every running recorder at the smallest interval any of them asked for.
fn update_interval(st: &State) {
    if let Some(smallest) = st.recorders.iter().map(|(_, r, _)| r.interval_us()).min() {
        INTERVAL_US.store(smallest.max(50), Relaxed);
    }
}

pub fn is_running(id: u64) -> bool {
    state_wait().recorders.iter().any(|(i, _, _)| *i == id)
}

/// The signal handler: a native callable that CPython calls on the main thread.
#[pyfunction]
#[pyo3(signature = (*_args))]
fn on_signal(py: Python<'_>, _args: &Bound<'_, pyo3::types::PyTuple>) {
    let now = now_us();
    if PENDING.swap(false, Relaxed) {
        let requested = REQUESTED_AT_US.load(Relaxed);
        if now.saturating_sub(requested) > 2 * INTERVAL_US.load(Relaxed) {
            COUNTERS.late.fetch_add(1, Relaxed);
        }
    }
    run_pass(py);
}

/// One sampling pass over every thread, with the GIL held. Never unwinds into CPython.
fn run_pass(py: Python<'_>) {
    let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let Some(mut st) = state() else {
            COUNTERS.missed.fetch_add(1, Relaxed);
            return;
        };
        if st.recorders.is_empty() {
            return;
        }
        let now = now_us();
        let mut capture = std::mem::take(&mut st.capture);
        st.capture_into(py, &mut capture, now);
        let st = &mut *st;
        for (_, recorder, _) in &mut st.recorders {
            recorder.record(&capture, &st.codes, &st.threads);
        }
        st.capture = capture;
        LAST_PASS_US.store(now, Relaxed);
        COUNTERS.passes.fetch_add(1, Relaxed);
    }));
    if ok.is_err() {
        COUNTERS.errors.fetch_add(1, Relaxed);
    }
}

impl State {
    /// Reads every thread's stack into `capture`.
    fn capture_into(&mut self, py: Python<'_>, capture: &mut Capture, now: u64) {
        capture.clear();
        capture.time_us = now;
        // SAFETY: the GIL is held for the whole pass; thread states are only unlinked by
        // their own thread while it holds the GIL, and frames are borrowed only inside
        // `walk_frames`.
        unsafe {
            for tstate in cpython::thread_states() {
                let tstate_id = cpython::thread_state_id(tstate);
                let top = cpython::top_frame(tstate);
                if top.is_null() {
                    continue;
                }
                let key = match self.thread_keys.get(&tstate_id) {
                    Some(&k) => k,
                    None => self.discover_thread(py, tstate_id, top),
                };
                ffi::Py_DECREF(top as *mut ffi::PyObject);
                let start = capture.frames.len();
                cpython::walk_frames(tstate, |frame, code| {
                    let index = self.code(py, code, frame);
                    let line = self.lines.line(frame, index);
                    capture.frames.push((index, line));
                });
                let cpu_us = self.threads[key as usize]
                    .native_id
                    .and_then(clock::thread_cpu_us);
                capture.threads.push(CapturedThread {
                    thread: key,
                    cpu_us,
                    frames: start..capture.frames.len(),
                });
            }
        }
    }

    /// The index of `code` in the code table, describing it the first time.
    ///
    /// # Safety
    /// `code` and `frame` must be live and the GIL held.
    unsafe fn code(
        &mut self,
        py: Python<'_>,
        code: *mut ffi::PyObject,
        frame: *mut ffi::PyFrameObject,
    ) -> u32 {
        if let Some(&i) = self.code_index.get(&(code as usize)) {
            return i;
        }
        let code_obj = Bound::from_borrowed_ptr(py, code);
        let frame_obj = Bound::from_borrowed_ptr(py, frame as *mut ffi::PyObject);
        let d = cpython::describe_code(&code_obj, &frame_obj);
        let i = self.codes.len() as u32;
        self.codes.push(CodeEntry {
            name: d.name,
            file: d.file,
            first_line: d.first_line,
            tracebackhide: d.tracebackhide,
        });
        self.code_refs.push(code_obj.unbind());
        self.code_index.insert(code as usize, i);
        i
    }

    /// Finds the `threading` identity of a thread state seen for the first time: its ident
    /// is the key under which `sys._current_frames()` holds the same top frame. Runs once
    /// per thread.
    fn discover_thread(
        &mut self,
        py: Python<'_>,
        tstate_id: u64,
        top: *mut ffi::PyFrameObject,
    ) -> u32 {
        let is_main = tstate_id == self.main_tstate;
        let info = thread_info(py, top as usize, is_main).unwrap_or_else(|_| ThreadInfo {
            ident: tstate_id,
            native_id: None,
            name: if is_main {
                "MainThread".into()
            } else {
                format!("Thread {tstate_id}")
            },
            is_main,
        });
        let key = self.threads.len() as u32;
        self.threads.push(info);
        self.thread_keys.insert(tstate_id, key);
        key
    }
}

fn thread_info(py: Python<'_>, top: usize, is_main: bool) -> PyResult<ThreadInfo> {
    let frames = py.import("sys")?.call_method0("_current_frames")?;
    let frames = frames.cast_into::<PyDict>()?;
    let ident: u64 = frames
        .iter()
        .find(|(_, f)| f.as_ptr() as usize == top)
        .map(|(k, _)| k.extract())
        .transpose()?
        .ok_or_else(|| PyRuntimeError::new_err("thread not found"))?;
    let mut info = ThreadInfo {
        ident,
        native_id: None,
        name: format!("Thread {ident}"),
        is_main,
    };
    let active = py.import("threading")?.getattr("_active")?;
    if let Some(thread) = active.cast_into::<PyDict>()?.get_item(ident)? {
        info.name = thread.getattr("name")?.extract()?;
        info.native_id = thread.getattr("native_id")?.extract()?;
    }
    if info.native_id.is_none() && is_main {
        info.native_id = Some(clock::current_tid());
    }
    Ok(info)
}

/// Threads are often named after they start; take the names as they are at the end.
fn refresh_thread_names(py: Python<'_>) {
    let Ok(active) = py
        .import("threading")
        .and_then(|t| t.getattr("_active"))
        .and_then(|a| a.cast_into::<PyDict>().map_err(PyErr::from))
    else {
        return;
    };
    let mut st = state_wait();
    for info in &mut st.threads {
        if let Ok(Some(thread)) = active.get_item(info.ident) {
            if let Ok(name) = thread.getattr("name").and_then(|n| n.extract::<String>()) {
                info.name = name;
            }
        }
    }
}

fn install_handler(py: Python<'_>) -> PyResult<()> {
    let signal = py.import("signal")?;
    let previous = signal.call_method1("getsignal", (SIGNAL,))?;
    let default = signal.getattr("SIG_DFL")?;
    let ignore = signal.getattr("SIG_IGN")?;
    if !(previous.is_none() || previous.eq(&default)? || previous.eq(&ignore)?) {
        return Err(PyRuntimeError::new_err(
            "SIGPROF already has a handler in this program (another profiler?); \
             callscope needs it to sample",
        ));
    }
    let handler = wrap_pyfunction!(on_signal, py)?;
    signal.call_method1("signal", (SIGNAL, handler))?;
    signal.call_method1("siginterrupt", (SIGNAL, false))?;
    *PREVIOUS_HANDLER.lock().unwrap_or_else(|p| p.into_inner()) = Some(previous.unbind());
    Ok(())
}

fn restore_handler(py: Python<'_>) -> PyResult<()> {
    let previous = PREVIOUS_HANDLER
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take();
    let signal = py.import("signal")?;
    let previous = match previous {
        Some(p) if !p.is_none(py) => p.into_bound(py),
        _ => signal.getattr("SIG_DFL")?,
    };
    signal.call_method1("signal", (SIGNAL, previous))?;
    Ok(())
}

fn start_timer() {
    // SAFETY: pthread_self has no preconditions; start() runs on the main thread.
    let main = unsafe { libc::pthread_self() };
    let stop = Arc::new(AtomicBool::new(false));
    let stop_flag = stop.clone();
    PENDING.store(false, Relaxed);
    LAST_PASS_US.store(now_us(), Relaxed);
    let handle = std::thread::Builder::new()
        .name("callscope-timer".into())
        .spawn(move || {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                timer_loop(main, &stop_flag)
            }));
            if outcome.is_err() {
                COUNTERS.errors.fetch_add(1, Relaxed);
            }
        })
        .expect("spawning the callscope timer thread");
    *TIMER.lock().unwrap_or_else(|p| p.into_inner()) = Some(Timer { stop, handle });
}

/// Stops the timer thread and waits for it, with the GIL released so that a watchdog pass
/// in progress can finish.
fn stop_timer(py: Python<'_>) {
    let timer = TIMER.lock().unwrap_or_else(|p| p.into_inner()).take();
    if let Some(timer) = timer {
        timer.stop.store(true, Relaxed);
        timer.handle.thread().unpark();
        py.detach(|| {
            let _ = timer.handle.join();
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

fn timer_loop(main: libc::pthread_t, stop: &AtomicBool) {
    let mut jitter = Jitter(now_us() | 1);
    // Ticks follow deadlines rather than sleeping a gap after each wake-up: every sleep
    // overshoots by tens of microseconds, which would otherwise cost several percent of
    // the samples. After a stall (a blocked watchdog pass) the schedule restarts from now
    // instead of firing a burst.
    let mut deadline = Instant::now();
    loop {
        let interval = INTERVAL_US.load(Relaxed);
        deadline += jitter.next_gap(interval);
        let now = Instant::now();
        if deadline > now {
            std::thread::park_timeout(deadline - now);
        } else if now - deadline > Duration::from_micros(interval) {
            // The ticks that fell in the stall had no pass: count them.
            let behind = (now - deadline).as_micros() as u64 / interval.max(1);
            COUNTERS.missed.fetch_add(behind, Relaxed);
            deadline = now;
        }
        if stop.load(Relaxed) {
            return;
        }
        let now = now_us();
        if !PENDING.load(Relaxed) {
            REQUESTED_AT_US.store(now, Relaxed);
            PENDING.store(true, Relaxed);
            // SAFETY: `main` is the main thread, alive until the interpreter finalizes, and
            // the profiler is stopped before that (atexit).
            if unsafe { libc::pthread_kill(main, SIGNAL) } != 0 {
                COUNTERS.errors.fetch_add(1, Relaxed);
            }
            continue;
        }
        let waiting = now.saturating_sub(REQUESTED_AT_US.load(Relaxed));
        let since_pass = now.saturating_sub(LAST_PASS_US.load(Relaxed));
        if waiting >= 2 * interval && since_pass >= interval {
            if cpython::is_finalizing() {
                return;
            }
            Python::attach(|py| {
                if !stop.load(Relaxed) {
                    run_pass(py);
                }
            });
        } else {
            COUNTERS.missed.fetch_add(1, Relaxed);
        }
    }
}

/// Fork support: the timer thread does not survive a fork, and must not be running while
/// the process is copied.
pub fn before_fork(py: Python<'_>) {
    stop_timer(py);
}

pub fn after_fork_parent() {
    if !state_wait().recorders.is_empty() {
        start_timer();
    }
}

pub fn after_fork_child() {
    // The timer thread does not exist in the child: forget its handle without joining.
    if let Some(timer) = TIMER.lock().unwrap_or_else(|p| p.into_inner()).take() {
        std::mem::forget(timer);
    }
    if !state_wait().recorders.is_empty() {
        start_timer();
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
