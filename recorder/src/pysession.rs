//! `callscope.Session`: a finished profile as Python sees it. Loading, saving and rendering
//! are all callscope-model's; this is the thin bridge.

use std::sync::Arc;

use callscope_model::format;
use callscope_model::processors::{PathPattern, ProcessorOptions};
use callscope_model::render::json_tree;
use callscope_model::render::text::{self, FlatMode, TextOptions, TimeFormat};
use callscope_model::{LoadError, SaveError, Session};
use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

pyo3::create_exception!(
    _native,
    SessionLoadError,
    PyValueError,
    "A file or bytes that are not a profile callscope can read."
);

fn load_error(what: &str, err: LoadError) -> PyErr {
    SessionLoadError::new_err(format!("{what}: {err}"))
}

fn bad_pattern(err: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(format!("invalid pattern: {err}"))
}

fn save_error(err: SaveError) -> PyErr {
    match err {
        SaveError::Io(e) => PyOSError::new_err(e.to_string()),
        other => PyValueError::new_err(other.to_string()),
    }
}

/// A recorded or loaded profile.
#[pyclass(name = "Session", module = "callscope", frozen)]
pub struct PySession {
    pub(crate) inner: Arc<Session>,
}

impl PySession {
    pub fn new(session: Session) -> Self {
        PySession {
            inner: Arc::new(session),
        }
    }
}

/// The processors' options, from the keyword arguments every renderer takes.
pub fn processor_options(
    show_all: bool,
    timeline: bool,
    threshold: Option<f64>,
    show: Option<&str>,
    show_regex: Option<&str>,
    hide: Option<&str>,
    hide_regex: Option<&str>,
) -> PyResult<ProcessorOptions> {
    let pattern = |glob: Option<&str>, regex: Option<&str>| -> PyResult<Option<PathPattern>> {
        match (glob, regex) {
            (_, Some(r)) => PathPattern::regex(r).map(Some).map_err(bad_pattern),
            (Some(g), None) => PathPattern::glob(g).map(Some).map_err(bad_pattern),
            (None, None) => Ok(None),
        }
    };
    let mut options = ProcessorOptions {
        show_all,
        timeline,
        show: pattern(show, show_regex)?,
        hide: pattern(hide, hide_regex)?,
        ..ProcessorOptions::default()
    };
    if let Some(t) = threshold {
        if !(0.0..=1.0).contains(&t) {
            return Err(PyValueError::new_err(
                "threshold is a fraction between 0 and 1",
            ));
        }
        options.filter_threshold = t;
    }
    Ok(options)
}

#[pymethods]
impl PySession {
    /// Reads a session file: callscope's own, pyinstrument's, speedscope or collapsed
    /// stacks (gzipped or not).
    #[staticmethod]
    fn load(py: Python<'_>, path: std::path::PathBuf) -> PyResult<Self> {
        let bytes = std::fs::read(&path)
            .map_err(|e| PyOSError::new_err(format!("cannot read {}: {e}", path.display())))?;
        py.detach(|| format::load(&bytes))
            .map(PySession::new)
            .map_err(|e| load_error(&path.display().to_string(), e))
    }

    #[staticmethod]
    fn from_bytes(py: Python<'_>, data: &[u8]) -> PyResult<Self> {
        let data = data.to_vec();
        py.detach(|| format::load(&data))
            .map(PySession::new)
            .map_err(|e| load_error("session data", e))
    }

    /// `first` followed by `second` (pyinstrument's `Session.combine`): the second's
    /// samples after the first's, threads matched by id, durations and counts summed.
    #[staticmethod]
    fn combine(py: Python<'_>, first: &PySession, second: &PySession) -> Self {
        let (a, b) = (Arc::clone(&first.inner), Arc::clone(&second.inner));
        PySession::new(py.detach(|| callscope_model::combine::combine(&a, &b)))
    }

    /// The session in `format`: "callscope" (gzip, bytes), "pyinstrument" (session JSON),
    /// "speedscope", "collapsed", "pstats" (Python's profile statistics, bytes), "pprof"
    /// (gzip-compressed protobuf), "firefox" (the Firefox Profiler's processed profile) or
    /// "json" (the processed call tree).
    #[pyo3(signature = (format = "callscope"))]
    fn to_bytes<'py>(&self, py: Python<'py>, format: &str) -> PyResult<Bound<'py, PyBytes>> {
        let s = self.inner.clone();
        let bytes = match format {
            "callscope" => py.detach(|| format::callscope::encode(&s)),
            "pyinstrument" => py.detach(|| format::pyinstrument::encode_session(&s)),
            "speedscope" => py.detach(|| format::speedscope::encode(&s)),
            "collapsed" => Ok(format::collapsed::encode(&s).into_bytes()),
            "pstats" => Ok(py.detach(|| format::pstats::encode(&s))),
            "pprof" => py.detach(|| format::pprof::encode(&s)),
            "firefox" => py.detach(|| format::firefox::encode(&s)),
            "json" => Ok(json_tree::render(&s, &[], &ProcessorOptions::default()).into_bytes()),
            other => {
                return Err(PyValueError::new_err(format!(
                    "unknown format {other:?}; expected callscope, pyinstrument, speedscope, \
                     collapsed, pstats, pprof, firefox or json"
                )))
            }
        }
        .map_err(save_error)?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// A self-contained HTML report: `template` (the packed viewer the package ships) with
    /// this session embedded as base64.
    fn to_html(&self, py: Python<'_>, template: &str) -> PyResult<String> {
        let s = self.inner.clone();
        let template = template.to_owned();
        py.detach(move || callscope_model::report::write(&template, &s))
            .map_err(|e| PyValueError::new_err(e.to_string()))
    }

    /// Writes the session to `path` as a `.pyisession` file.
    fn save(&self, py: Python<'_>, path: std::path::PathBuf) -> PyResult<()> {
        let s = self.inner.clone();
        let bytes = py
            .detach(|| format::callscope::encode(&s))
            .map_err(save_error)?;
        std::fs::write(&path, bytes)
            .map_err(|e| PyOSError::new_err(format!("cannot write {}: {e}", path.display())))
    }

    /// The call tree as text, as `callscope` prints it.
    #[pyo3(signature = (*, unicode = true, color = false, show_all = false, timeline = false,
        time = "seconds", flat = None, threshold = None, show = None, show_regex = None,
        hide = None, hide_regex = None, header = true, collapse_recursion = true))]
    #[allow(clippy::too_many_arguments)]
    fn render_text(
        &self,
        py: Python<'_>,
        unicode: bool,
        color: bool,
        show_all: bool,
        timeline: bool,
        time: &str,
        flat: Option<&str>,
        threshold: Option<f64>,
        show: Option<&str>,
        show_regex: Option<&str>,
        hide: Option<&str>,
        hide_regex: Option<&str>,
        header: bool,
        collapse_recursion: bool,
    ) -> PyResult<String> {
        let time = match time {
            "seconds" => TimeFormat::Seconds,
            "percent_of_total" | "percent" => TimeFormat::PercentOfTotal,
            other => {
                return Err(PyValueError::new_err(format!(
                    "time must be 'seconds' or 'percent_of_total', not {other:?}"
                )))
            }
        };
        let flat = match flat {
            None => None,
            Some("self") => Some(FlatMode::SelfTime),
            Some("total") => Some(FlatMode::TotalTime),
            Some(other) => {
                return Err(PyValueError::new_err(format!(
                    "flat must be 'self' or 'total', not {other:?}"
                )))
            }
        };
        let mut processors = processor_options(
            show_all, timeline, threshold, show, show_regex, hide, hide_regex,
        )?;
        processors.collapse_recursion = collapse_recursion;
        let options = TextOptions {
            unicode,
            color,
            time,
            flat,
            threads: Vec::new(),
            split_threads: true,
            processors,
            header,
        };
        let s = self.inner.clone();
        Ok(py.detach(|| text::render(&s, &options)))
    }

    /// The processed call tree as pyinstrument-style JSON.
    #[pyo3(signature = (*, show_all = false, timeline = false))]
    fn render_json(&self, py: Python<'_>, show_all: bool, timeline: bool) -> PyResult<String> {
        let options = processor_options(show_all, timeline, None, None, None, None, None)?;
        let s = self.inner.clone();
        Ok(py.detach(|| json_tree::render(&s, &[], &options)))
    }

    /// Wall-clock duration in seconds.
    #[getter]
    fn duration(&self) -> f64 {
        self.inner.meta.duration_us as f64 / 1e6
    }

    /// Process CPU time in seconds, when recorded.
    #[getter]
    fn cpu_time(&self) -> Option<f64> {
        self.inner.meta.cpu_time_us.map(|c| c as f64 / 1e6)
    }

    #[getter]
    fn sample_count(&self) -> usize {
        self.inner.sample_count()
    }

    /// Unix time at which recording started.
    #[getter]
    fn start_time(&self) -> f64 {
        self.inner.meta.start_time
    }

    #[getter]
    fn program(&self) -> &str {
        &self.inner.meta.program
    }

    /// The sampling interval in seconds.
    #[getter]
    fn interval(&self) -> f64 {
        self.inner.meta.interval_us as f64 / 1e6
    }

    #[getter]
    fn python_version(&self) -> &str {
        &self.inner.meta.python_version
    }

    /// What the recorder counted: sampling passes, late ones, missed ticks, errors.
    #[getter]
    fn counts<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let c = &self.inner.meta.counts;
        let d = PyDict::new(py);
        d.set_item("samples", c.samples)?;
        d.set_item("late", c.late)?;
        d.set_item("missed", c.missed)?;
        d.set_item("errors", c.errors)?;
        d.set_item("torn", c.torn)?;
        Ok(d)
    }

    /// One dict per thread: name, ident, native_id, is_main, samples, wall and CPU seconds,
    /// and the shares of wall time on CPU, holding the GIL and waiting for it.
    #[getter]
    fn threads<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        self.inner
            .threads
            .iter()
            .map(|t| {
                let d = PyDict::new(py);
                d.set_item("name", &t.name)?;
                d.set_item("ident", t.id)?;
                d.set_item("native_id", t.native_id)?;
                d.set_item("is_main", t.is_main)?;
                d.set_item("samples", t.samples.len())?;
                d.set_item("wall_time", t.samples.total_weight_us() as f64 / 1e6)?;
                d.set_item("cpu_time", t.samples.total_cpu_us().map(|c| c as f64 / 1e6))?;
                // Shares of the thread's wall time, when the recorder noted states.
                let shares = t.samples.state_shares();
                d.set_item("on_cpu", shares.map(|s| s.on_cpu))?;
                d.set_item("gil_held", shares.map(|s| s.gil_held))?;
                d.set_item("gil_waiting", shares.map(|s| s.gil_waiting))?;
                Ok(d)
            })
            .collect()
    }

    fn __repr__(&self) -> String {
        format!(
            "<callscope.Session {:?}: {:.3} s, {} samples, {} threads>",
            self.inner.meta.program,
            self.duration(),
            self.inner.sample_count(),
            self.inner.threads.len()
        )
    }
}
