//! Telling project code from library code, and shortening paths for display.
//!
//! A function is library code when its file lives under one of the interpreter's prefixes
//! (`sys.prefix`, a virtualenv, ...) or is generated code such as `<frozen importlib...>`.
//! Paths are shown relative to the `sys.path` entry that gives the shortest result, as
//! pyinstrument does, so `site-packages/requests/api.py` reads `requests/api.py`.

use crate::ids::FuncId;
use crate::session::{FunctionKind, Session};

/// Where a function's code comes from, for colouring and grouping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeOrigin {
    /// The user's own project.
    Application,
    /// The standard library (under the interpreter's base prefix, not in site-packages),
    /// built-in functions and frozen modules.
    Stdlib,
    /// An installed package (site-packages / dist-packages) or generated code.
    ThirdParty,
    /// A pseudo frame such as `[await]`.
    Synthetic,
}

/// Per-function display facts, computed once per session.
#[derive(Clone, Debug)]
pub struct CodeInfo {
    short_file: Vec<String>,
    origin: Vec<CodeOrigin>,
    library: Vec<String>,
}

impl CodeInfo {
    pub fn new(session: &Session) -> Self {
        let n = session.functions.len();
        let mut info = CodeInfo {
            short_file: Vec::with_capacity(n),
            origin: Vec::with_capacity(n),
            library: Vec::with_capacity(n),
        };
        let mut sys_path: Vec<&str> = session.meta.sys_path.iter().map(String::as_str).collect();
        sys_path.retain(|p| !p.is_empty());
        for f in &session.functions {
            let file = session.string(f.file);
            let short = shorten_path(file, &sys_path);
            let origin = if f.kind == FunctionKind::Pseudo {
                CodeOrigin::Synthetic
            } else {
                classify(file, &session.meta.sys_prefixes)
            };
            info.library.push(library_name(&short));
            info.short_file.push(short);
            info.origin.push(origin);
        }
        info
    }

    pub fn short_file(&self, func: FuncId) -> &str {
        &self.short_file[func.index()]
    }

    pub fn origin(&self, func: FuncId) -> CodeOrigin {
        self.origin[func.index()]
    }

    pub fn is_application(&self, func: FuncId) -> bool {
        self.origin(func) == CodeOrigin::Application
    }

    /// The top-level package a library frame belongs to (`requests`, `json`, ...).
    pub fn library(&self, func: FuncId) -> &str {
        &self.library[func.index()]
    }
}

/// Classifies a file path given the interpreter's prefixes.
pub fn classify(file: &str, sys_prefixes: &[String]) -> CodeOrigin {
    if file.is_empty() {
        // Collapsed stacks and some speedscope files name functions without files: nothing
        // says they are a library's, and folding them would hide the whole profile.
        return CodeOrigin::Application;
    }
    if let Some(rest) = file.strip_prefix('<') {
        // Code typed at a console or a notebook is the user's; `<string>` (exec/-c) is
        // treated as the user's too, since library-internal exec is rare and pyinstrument
        // resolves it from the caller, which a flat classification cannot see.
        // Built-in functions and frozen modules (importlib, runpy) are the interpreter's.
        return if rest.starts_with("ipython-input-") || rest == "string>" || rest == "stdin>" {
            CodeOrigin::Application
        } else if rest.starts_with("built-in") || rest.starts_with("frozen ") {
            CodeOrigin::Stdlib
        } else {
            CodeOrigin::ThirdParty
        };
    }
    let in_site = file.contains("site-packages") || file.contains("dist-packages");
    if in_site {
        return CodeOrigin::ThirdParty;
    }
    if sys_prefixes
        .iter()
        .any(|p| !p.is_empty() && file.starts_with(p.as_str()))
    {
        return CodeOrigin::Stdlib;
    }
    CodeOrigin::Application
}

/// `path` relative to the `sys.path` entry that leaves the fewest components.
pub fn shorten_path(path: &str, sys_path: &[&str]) -> String {
    if !path.contains('/') && !path.contains('\\') {
        return path.to_owned();
    }
    let mut best: Option<&str> = None;
    for entry in sys_path {
        let entry = entry.trim_end_matches(['/', '\\']);
        if let Some(rest) = path.strip_prefix(entry) {
            if let Some(rest) = rest.strip_prefix(['/', '\\']) {
                if best.is_none_or(|b| components(rest) < components(b)) {
                    best = Some(rest);
                }
            }
        }
    }
    best.unwrap_or(path).to_owned()
}

fn components(path: &str) -> usize {
    path.split(['/', '\\']).count()
}

/// The first component of a shortened path: the package name for library code.
pub fn library_name(short_path: &str) -> String {
    short_path
        .split(['/', '\\', '.'])
        .find(|s| !s.is_empty())
        .unwrap_or("")
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortens_against_the_closest_sys_path_entry() {
        let sys_path = ["/usr/lib/python3.11", "/venv/lib/python3.11/site-packages"];
        assert_eq!(
            shorten_path(
                "/venv/lib/python3.11/site-packages/requests/api.py",
                &sys_path
            ),
            "requests/api.py"
        );
        assert_eq!(
            shorten_path("/usr/lib/python3.11/json/decoder.py", &sys_path),
            "json/decoder.py"
        );
        assert_eq!(
            shorten_path("/home/u/proj/app.py", &sys_path),
            "/home/u/proj/app.py"
        );
        assert_eq!(shorten_path("<frozen runpy>", &sys_path), "<frozen runpy>");
    }

    #[test]
    fn classifies_by_prefix_and_site_packages() {
        let prefixes = vec!["/usr".to_owned(), "/venv".to_owned()];
        assert_eq!(
            classify("/usr/lib/python3.11/json/decoder.py", &prefixes),
            CodeOrigin::Stdlib
        );
        assert_eq!(
            classify("/venv/lib/python3.11/site-packages/x/y.py", &prefixes),
            CodeOrigin::ThirdParty
        );
        assert_eq!(
            classify("/home/u/app.py", &prefixes),
            CodeOrigin::Application
        );
        assert_eq!(classify("app.py", &prefixes), CodeOrigin::Application);
        assert_eq!(
            classify("<frozen importlib._bootstrap>", &prefixes),
            CodeOrigin::Stdlib
        );
        assert_eq!(classify("<built-in>", &prefixes), CodeOrigin::Stdlib);
        assert_eq!(classify("<template>", &prefixes), CodeOrigin::ThirdParty);
        assert_eq!(classify("<string>", &prefixes), CodeOrigin::Application);
        // A function without a file (collapsed stacks) is not assumed to be a library's.
        assert_eq!(classify("", &prefixes), CodeOrigin::Application);
    }

    #[test]
    fn library_name_is_the_first_component() {
        assert_eq!(library_name("requests/api.py"), "requests");
        assert_eq!(library_name("json/decoder.py"), "json");
        assert_eq!(library_name("threading.py"), "threading");
        assert_eq!(library_name("<frozen runpy>"), "<frozen runpy>");
    }
}
