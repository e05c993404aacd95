//! Every difference between the CPython versions callscope supports (3.9–3.13) lives in
//! this module, each with the reason. Everything here runs with the GIL held.

use std::collections::HashMap;
use std::ffi::c_int;

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple, PyType};

/// What callscope records about a code object, resolved once per code object.
pub struct CodeDescription {
    pub name: String,
    pub file: String,
    pub first_line: u32,
    /// The function assigns `__tracebackhide__`, which pyinstrument's users use to hide
    /// helper frames; pyinstrument checks the frame's locals, the variable name is enough.
    pub tracebackhide: bool,
}

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

/// The thread states of the main interpreter, in the interpreter's order.
///
/// # Safety
/// The GIL must be held for as long as the returned pointers are used: a thread state is
/// only removed from the list by its thread while that thread holds the GIL.
pub unsafe fn thread_states() -> Vec<*mut ffi::PyThreadState> {
    let mut out = Vec::new();
    let mut t = ffi::PyInterpreterState_ThreadHead(ffi::PyInterpreterState_Main());
    while !t.is_null() {
        out.push(t);
        t = ffi::PyThreadState_Next(t);
    }
    out
}

/// A stable identifier of a thread state for the life of the process (never reused).
///
/// # Safety
/// `tstate` must be live and the GIL held.
pub unsafe fn thread_state_id(tstate: *mut ffi::PyThreadState) -> u64 {
    ffi::PyThreadState_GetID(tstate) as u64
}

/// The innermost Python frame of `tstate` (a new reference), or null.
///
/// On 3.11+ this materialises frame objects for the interpreter's frames, which is the
/// cost of using public API only; they are cached by the interpreter afterwards.
///
/// # Safety
/// `tstate` must be live and the GIL held.
pub unsafe fn top_frame(tstate: *mut ffi::PyThreadState) -> *mut ffi::PyFrameObject {
    ffi::PyThreadState_GetFrame(tstate)
}

/// Caches line numbers per (code object, instruction offset).
///
/// On 3.11+ `PyFrame_GetLineNumber` scans the code's location table from its start on each
/// call; a module-level frame of a long script would cost that scan on every sample.
/// 3.9 and 3.10 do not expose the instruction offset through public API, so they are not
/// cached there.
#[derive(Default)]
pub struct LineCache {
    #[cfg_attr(not(Py_3_11), allow(dead_code))]
    lines: HashMap<(u32, c_int), u32>,
}

impl LineCache {
    /// The line `frame` is at; `code_index` identifies its code object.
    ///
    /// # Safety
    /// `frame` must be a live frame object and the GIL held.
    pub unsafe fn line(&mut self, frame: *mut ffi::PyFrameObject, code_index: u32) -> u32 {
        #[cfg(Py_3_11)]
        {
            let lasti = ffi::PyFrame_GetLasti(frame);
            if lasti >= 0 {
                return *self
                    .lines
                    .entry((code_index, lasti))
                    .or_insert_with(|| ffi::PyFrame_GetLineNumber(frame).max(0) as u32);
            }
        }
        let _ = code_index;
        ffi::PyFrame_GetLineNumber(frame).max(0) as u32
    }
}

/// Calls `each(frame, code)` for the frames of `tstate`, innermost first. Both pointers are
/// borrowed for the duration of the call only.
///
/// # Safety
/// `tstate` must be live and the GIL held.
pub unsafe fn walk_frames(
    tstate: *mut ffi::PyThreadState,
    mut each: impl FnMut(*mut ffi::PyFrameObject, *mut ffi::PyObject),
) {
    let mut frame = top_frame(tstate);
    while !frame.is_null() {
        // Both calls return new references (3.9+).
        let code = ffi::PyFrame_GetCode(frame) as *mut ffi::PyObject;
        each(frame, code);
        ffi::Py_DECREF(code);
        let back = ffi::PyFrame_GetBack(frame);
        ffi::Py_DECREF(frame as *mut ffi::PyObject);
        frame = back;
    }
}

/// Name, file and first line of `code`, seen running in `frame`.
///
/// Names follow pyinstrument: methods show as `Class.method`. On 3.11+ the code object's
/// `co_qualname` says so; on 3.9 and 3.10 there is only `co_name`, so the class is found
/// from the `self` or `cls` argument, as the class in its MRO that defines this code (the
/// same answer `co_qualname` gives). `outer.<locals>.` prefixes are dropped, as
/// pyinstrument shows nested functions by their own name.
pub fn describe_code(code: &Bound<'_, PyAny>, frame: &Bound<'_, PyAny>) -> CodeDescription {
    let text = |attr: &str| -> String {
        code.getattr(attr)
            .ok()
            .and_then(|v| v.cast_into::<PyString>().ok())
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let first_line = code
        .getattr("co_firstlineno")
        .and_then(|v| v.extract::<u32>())
        .unwrap_or(0);
    let varnames = code
        .getattr("co_varnames")
        .ok()
        .and_then(|v| v.cast_into::<PyTuple>().ok());
    let tracebackhide = varnames.as_ref().is_some_and(|names| {
        names
            .iter()
            .any(|n| n.extract::<&str>().ok() == Some("__tracebackhide__"))
    });
    #[cfg(Py_3_11)]
    let name = {
        let _ = frame;
        text("co_qualname")
    };
    #[cfg(not(Py_3_11))]
    let name = {
        let co_name = text("co_name");
        match defining_class(code, frame, &co_name, varnames.as_ref()) {
            Some(class) => format!("{class}.{co_name}"),
            None => co_name,
        }
    };
    CodeDescription {
        name: without_locals_prefix(&name).to_owned(),
        file: text("co_filename"),
        first_line,
        tracebackhide,
    }
}

/// `main.<locals>.helper` → `helper`; `main.<locals>.Local.method` → `Local.method`.
pub fn without_locals_prefix(qualname: &str) -> &str {
    match qualname.rfind("<locals>.") {
        Some(i) => &qualname[i + "<locals>.".len()..],
        None => qualname,
    }
}

/// The qualified name of the class whose body defines `code`, found through the frame's
/// first argument when it is called `self` or `cls`.
#[cfg_attr(Py_3_11, allow(dead_code))]
fn defining_class(
    code: &Bound<'_, PyAny>,
    frame: &Bound<'_, PyAny>,
    co_name: &str,
    varnames: Option<&Bound<'_, PyTuple>>,
) -> Option<String> {
    let argcount: usize = code.getattr("co_argcount").ok()?.extract().ok()?;
    let first = varnames?.get_item(0).ok()?;
    let first: &str = first.extract().ok()?;
    if argcount == 0 || (first != "self" && first != "cls") {
        return None;
    }
    // Reading `f_locals` fills the frame's locals dict once per code object; nothing else
    // in the sampler allocates on the Python heap.
    let locals = frame.getattr("f_locals").ok()?.cast_into::<PyDict>().ok()?;
    let value = locals.get_item(first).ok()??;
    let class = if first == "cls" {
        value.cast_into::<PyType>().ok()?
    } else {
        value.get_type()
    };
    let mro = class.getattr("__mro__").ok()?.cast_into::<PyTuple>().ok()?;
    for klass in mro.iter() {
        let Ok(dict) = klass.getattr("__dict__") else {
            continue;
        };
        let Ok(attr) = dict.get_item(co_name) else {
            continue;
        };
        // classmethod/staticmethod wrap the function; property keeps it as fget.
        let function = ["__func__", "fget"]
            .iter()
            .find_map(|a| attr.getattr(*a).ok())
            .unwrap_or(attr);
        if let Ok(c) = function.getattr("__code__") {
            if c.is(code) {
                return klass
                    .getattr("__qualname__")
                    .ok()?
                    .extract::<String>()
                    .ok()
                    .map(|q| without_locals_prefix(&q).to_owned());
            }
        }
    }
    class
        .getattr("__qualname__")
        .ok()?
        .extract::<String>()
        .ok()
        .map(|q| without_locals_prefix(&q).to_owned())
}

#[cfg(test)]
mod tests {
    use super::without_locals_prefix;

    #[test]
    fn nested_names_drop_their_enclosing_function() {
        assert_eq!(
            without_locals_prefix("main.<locals>.<listcomp>"),
            "<listcomp>"
        );
        assert_eq!(without_locals_prefix("a.<locals>.B.<locals>.c"), "c");
        assert_eq!(without_locals_prefix("a.<locals>.Local.m"), "Local.m");
        assert_eq!(without_locals_prefix("Parser.parse"), "Parser.parse");
    }
}
