//! `callscope._native`: the sampler and the bridge to callscope-model. The Python layer
//! (`recorder/python/callscope`) holds the API and the CLI.

mod clock;
mod code;
mod cpython;
mod gil_wait;
mod layout;
mod memory;
mod pysession;
mod recorder;
mod sampler;
mod schedule;
mod spool;
mod stacks;
mod tasks;

use callscope_model::Metadata;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};

pub use pysession::{PySession, SessionLoadError};

/// A running recording, as returned by `start`.
#[pyclass(module = "callscope._native")]
struct Recording {
    id: u64,
    start_cpu_us: Option<u64>,
    program: String,
    /// An async-mode recording's objects, whose addresses the timer reads: alive until the
    /// recording is dropped.
    _watched: Option<Py<PyAny>>,
}

#[pymethods]
impl Recording {
    /// Stops sampling and returns the session.
    fn stop(&self, py: Python<'_>) -> PyResult<PySession> {
        // The program's CPU time: the process's, less callscope's own threads', up to now
        // (building the session below is callscope's work too).
        let end_cpu_us = program_cpu_us();
        let (mut session, spool) = sampler::stop(py, self.id)?;
        let meta = &mut session.meta;
        meta.cpu_time_us = self
            .start_cpu_us
            .zip(end_cpu_us)
            .map(|(a, b)| b.saturating_sub(a));
        fill_from_sys(py, meta, &self.program)?;
        if let Some(mut spool) = spool {
            spool.meta(meta);
            py.detach(|| spool.flush_all());
        }
        Ok(PySession::new(session))
    }

    #[getter]
    fn is_running(&self, py: Python<'_>) -> bool {
        sampler::is_running(py, self.id)
    }
}

/// The process's CPU time without what callscope's timer and helper threads used.
fn program_cpu_us() -> Option<u64> {
    clock::process_cpu_us().map(|c| c.saturating_sub(sampler::own_cpu_us()))
}

/// Starts sampling every `interval` seconds: every thread (`threads="all"`) or only the
/// calling thread (`threads="current"`).
///
/// With `spool_fd`, the recording is also streamed to that file descriptor as it happens,
/// for the `callscope` command's launcher (see `Replay`).
///
/// With `watch`, an async-mode recording of the calling thread's event loop (see
/// `tasks.rs`): `(var, token, coro, code, strict, (small_context, large_context))`, the
/// context variable whose tuple holds `token` in the profiled context, the coroutine of the
/// task that started it (or None), the code where the profiled part of a stack begins,
/// whether the mode is strict, and two probe contexts for the types of the HAMT's nodes.
#[pyfunction]
#[pyo3(signature = (interval = 0.001, program = None, threads = "all", spool_fd = None, watch = None))]
fn start(
    py: Python<'_>,
    interval: f64,
    program: Option<String>,
    threads: &str,
    spool_fd: Option<i32>,
    watch: Option<Bound<'_, PyTuple>>,
) -> PyResult<Recording> {
    if !(interval.is_finite() && (0.000_05..=10.0).contains(&interval)) {
        return Err(pyo3::exceptions::PyValueError::new_err(
            "interval must be between 0.00005 and 10 seconds",
        ));
    }
    let filter = match threads {
        "all" => recorder::Threads::All,
        "current" => {
            let ident: u64 = py
                .import("threading")?
                .call_method0("get_ident")?
                .extract()?;
            recorder::Threads::Only(ident)
        }
        _ => {
            return Err(pyo3::exceptions::PyValueError::new_err(
                "threads must be \"all\" or \"current\"",
            ))
        }
    };
    let interval_us = (interval * 1e6).round() as u64;
    let start_time = py.import("time")?.call_method0("time")?.extract::<f64>()?;
    let mut meta = Metadata {
        start_time,
        interval_us,
        recorder: format!("callscope {}", env!("CARGO_PKG_VERSION")),
        sampling_mode: "memory".into(),
        ..Metadata::default()
    };
    let program = program.unwrap_or_default();
    // Known now too, for a stream whose program may not reach the end.
    fill_from_sys(py, &mut meta, &program)?;
    let start_cpu_us = program_cpu_us();
    let spool = spool_fd.map(spool::SpoolWriter::new);
    let request = watch.as_ref().map(|w| watch_request(py, w)).transpose()?;
    let id = sampler::start(py, meta, filter, spool, request)?;
    Ok(Recording {
        id,
        start_cpu_us,
        program,
        _watched: watch.map(|w| w.into_any().unbind()),
    })
}

fn watch_request(py: Python<'_>, w: &Bound<'_, PyTuple>) -> PyResult<sampler::WatchRequest> {
    type Any<'py> = Bound<'py, PyAny>;
    type Fields<'py> = (
        Any<'py>,
        Any<'py>,
        Any<'py>,
        Any<'py>,
        bool,
        (Any<'py>, Any<'py>),
    );
    let (var, token, coro, code, strict, (small, large)): Fields = w.extract()?;
    let addr = |o: &Bound<PyAny>| o.as_ptr() as u64;
    let thread: u64 = py
        .import("threading")?
        .call_method0("get_ident")?
        .extract()?;
    Ok(sampler::WatchRequest {
        watch: tasks::Watch {
            thread,
            var: addr(&var),
            var_hash: tasks::hamt_hash(var.hash()? as i64),
            token: addr(&token),
            coro: if coro.is_none() { 0 } else { addr(&coro) },
            anchor: None,
            strict,
        },
        anchor_code: addr(&code),
        probes: (addr(&small), addr(&large)),
    })
}

/// What the session needs from `sys`, read at the end of the run.
fn fill_from_sys(py: Python<'_>, meta: &mut Metadata, program: &str) -> PyResult<()> {
    let sys = py.import("sys")?;
    let strings = |name: &str| -> PyResult<Vec<String>> {
        let list = sys.getattr(name)?.cast_into::<PyList>()?;
        Ok(list.iter().filter_map(|p| p.extract().ok()).collect())
    };
    meta.argv = strings("argv")?;
    meta.program = if program.is_empty() {
        meta.argv.join(" ")
    } else {
        program.to_owned()
    };
    meta.sys_path = strings("path")?;
    let mut prefixes = Vec::new();
    for name in ["prefix", "base_prefix", "exec_prefix", "base_exec_prefix"] {
        let p: String = sys.getattr(name)?.extract()?;
        if !prefixes.contains(&p) {
            prefixes.push(p);
        }
    }
    meta.sys_prefixes = prefixes;
    let version = sys.getattr("version_info")?;
    let (major, minor, micro): (u32, u32, u32) = (
        version.getattr("major")?.extract()?,
        version.getattr("minor")?.extract()?,
        version.getattr("micro")?.extract()?,
    );
    meta.python_version = format!("{major}.{minor}.{micro}");
    // os.uname rather than platform.platform(), which costs 10 ms at every exit.
    let uname = py.import("os")?.call_method0("uname")?;
    let field = |name: &str| -> PyResult<String> { uname.getattr(name)?.extract() };
    meta.platform = format!(
        "{}-{}-{}",
        field("sysname")?,
        field("release")?,
        field("machine")?
    );
    Ok(())
}

/// The launcher's side of a streamed recording: bytes in, a session out.
#[pyclass(module = "callscope._native")]
#[derive(Default)]
struct Replay {
    inner: Option<spool::Replay>,
}

#[pymethods]
impl Replay {
    #[new]
    fn new() -> Self {
        Replay {
            inner: Some(spool::Replay::default()),
        }
    }

    /// Takes the next bytes read from the stream.
    fn feed(&mut self, data: &[u8]) -> PyResult<()> {
        let inner = self
            .inner
            .as_mut()
            .ok_or_else(|| pyo3::exceptions::PyRuntimeError::new_err("this replay is finished"))?;
        inner
            .feed(data)
            .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))
    }

    /// Whether the program finished its recording itself (rather than being cut short).
    #[getter]
    fn ended(&self) -> bool {
        self.inner.as_ref().is_some_and(|r| r.ended())
    }

    /// The session, or None when the program never started recording.
    fn finish(&mut self) -> Option<PySession> {
        self.inner.take()?.finish().map(PySession::new)
    }
}

/// Every thread's stack read from memory now: `{ident: [(name, file, line), ...]}`,
/// innermost first. For tests and debugging.
#[pyfunction]
fn _read_stacks(py: Python<'_>) -> Vec<(u64, Vec<sampler::FrameText>)> {
    sampler::read_now(py)
}

/// `os.register_at_fork` hooks: the timer thread must not run across a fork.
#[pyfunction]
fn _before_fork(py: Python<'_>) {
    sampler::before_fork(py);
}

#[pyfunction]
fn _after_fork_parent(py: Python<'_>) {
    sampler::after_fork_parent(py);
}

#[pyfunction]
fn _after_fork_child(py: Python<'_>) {
    sampler::after_fork_child(py);
}

/// The standalone viewer: the packed `template` with no session, waiting for a file.
#[pyfunction]
fn empty_viewer(template: &str) -> PyResult<String> {
    callscope_model::report::empty(template)
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))
}

// The sampler reads memory without the GIL and guards its own state with locks, so the
// module is safe on a free-threaded build.
#[pymodule(gil_used = false)]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PySession>()?;
    m.add_class::<Recording>()?;
    m.add_class::<Replay>()?;
    m.add("SessionLoadError", m.py().get_type::<SessionLoadError>())?;
    m.add_function(wrap_pyfunction!(start, m)?)?;
    m.add_function(wrap_pyfunction!(empty_viewer, m)?)?;
    m.add_function(wrap_pyfunction!(_read_stacks, m)?)?;
    m.add_function(wrap_pyfunction!(_before_fork, m)?)?;
    m.add_function(wrap_pyfunction!(_after_fork_parent, m)?)?;
    m.add_function(wrap_pyfunction!(_after_fork_child, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
