//! What the sampler asks the interpreter itself, with the GIL held: never on a tick, only
//! when a thread or code object is new and at the end of a recording. Layout differences
//! between versions live in `layout.c`; the few behaviour differences are here, each with
//! its reason.

use std::collections::HashMap;
use std::ffi::c_int;

use pyo3::prelude::*;
use pyo3::types::PyDict;
use pyo3::{ffi, intern};

/// `true` while the interpreter shuts down: taking the GIL from a foreign thread then can
/// hang or end the thread.
pub fn is_finalizing() -> bool {
    // SAFETY: both functions only read a flag and may be called without the GIL.
    unsafe {
        #[cfg(Py_3_13)]
        {
            ffi::Py_IsFinalizing() != 0
        }
        #[cfg(not(Py_3_13))]
        {
            // Public from 3.13; before that the same flag is exported under this name.
            extern "C" {
                fn _Py_IsFinalizing() -> c_int;
            }
            _Py_IsFinalizing() != 0
        }
    }
}

/// The main interpreter, whose threads callscope samples.
pub fn main_interpreter(_py: Python<'_>) -> *mut ffi::PyInterpreterState {
    // SAFETY: the GIL is held (the token says so); the main interpreter lives as long as
    // the process runs Python.
    unsafe { ffi::PyInterpreterState_Main() }
}

/// What `threading` knows of a thread.
pub struct ThreadFacts {
    pub name: String,
    pub native_id: Option<u64>,
}

/// `threading`'s live threads by ident, and the main thread's ident.
pub fn threads(py: Python<'_>) -> PyResult<(HashMap<u64, ThreadFacts>, u64)> {
    let threading = py.import("threading")?;
    let main: u64 = threading
        .call_method0("main_thread")?
        .getattr("ident")?
        .extract()?;
    let active = threading.getattr("_active")?.cast_into::<PyDict>()?;
    let mut out = HashMap::new();
    // A copy: other threads may start or end while we iterate.
    for (ident, thread) in active.copy()?.iter() {
        let Ok(ident) = ident.extract::<u64>() else {
            continue;
        };
        let name = thread.getattr(intern!(py, "name"))?.extract()?;
        let native_id = thread.getattr(intern!(py, "native_id"))?.extract().ok();
        out.insert(ident, ThreadFacts { name, native_id });
    }
    Ok((out, main))
}

/// Code objects by address, each with the qualified name of a function that owns it.
pub type LiveCodes<'py> = HashMap<u64, (Bound<'py, PyAny>, Option<String>)>;

/// The code objects on every thread's stack now (certainly alive).
pub fn live_frame_codes(py: Python<'_>) -> PyResult<Vec<Bound<'_, PyAny>>> {
    py.import("callscope._calls")?
        .call_method0("live_frame_codes")?
        .extract()
}

/// The live code objects among `addrs`, found through live references only, each with
/// the qualified name of a function that owns it. 3.9 and 3.10 code objects have no
/// qualified name of their own; pyinstrument shows methods as `Class.method`.
pub fn find_live<'py>(py: Python<'py>, addrs: &[u64]) -> PyResult<LiveCodes<'py>> {
    py.import("callscope._calls")?
        .call_method1("find_live", (addrs.to_vec(),))?
        .extract()
}

/// Is `code` (alive) the code object `entry` was copied from, rather than a newer one at
/// a reused address?
pub fn same_code(code: &Bound<'_, PyAny>, entry: &crate::code::CodeEntry) -> bool {
    let file = code
        .getattr("co_filename")
        .and_then(|f| f.extract::<String>());
    let line = code
        .getattr("co_firstlineno")
        .and_then(|l| l.extract::<u32>());
    matches!((file, line), (Ok(f), Ok(l)) if f == entry.file && l == entry.first_line)
}

/// For each byte offset into `code`, the name of the C function a call there calls, read
/// from the bytecode (`None` where the instruction is not a call).
pub fn callees(py: Python<'_>, code: &Py<PyAny>, offsets: &[i32]) -> PyResult<Vec<Option<String>>> {
    py.import("callscope._calls")?
        .call_method1("callee_names", (code, offsets.to_vec()))?
        .extract()
}
