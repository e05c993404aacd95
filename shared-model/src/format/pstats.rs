//! Python's profile statistics (`pstats`), as cProfile writes them: the `marshal` dump of
//! `{(file, line, name): (primitive calls, calls, own time, cumulative time, callers)}`,
//! `callers` being `{(file, line, name): (calls, calls, own time, cumulative time)}` for
//! each function that called it. `pstats.Stats`, snakeviz, tuna and gprof2dot read it.
//!
//! Times are the function table's (every thread together; recursion counted once; the
//! launcher's frames left out). A sampling profiler does not count calls: the counts are
//! the samples a function (or an edge) appears in.
//!
//! Written by hand rather than with a crate: the few `marshal` types needed (dict, tuple,
//! str, int, float) are a page of code, and no crate writes them.

use std::collections::BTreeMap;

use crate::functions::FunctionTable;
use crate::ids::FuncId;
use crate::session::{FunctionKind, Session};

type Key = (String, u32, String);

/// The numbers of one function or one edge: (calls, own seconds, cumulative seconds).
#[derive(Default, Clone, Copy)]
struct Figures {
    calls: u64,
    own: f64,
    cumulative: f64,
}

impl Figures {
    fn add(&mut self, calls: u64, own_us: u64, cumulative_us: u64) {
        self.calls += calls;
        self.own += own_us as f64 / 1e6;
        self.cumulative += cumulative_us as f64 / 1e6;
    }
}

/// cProfile's key for a function; C functions and pseudo frames have no file or line.
fn key(session: &Session, func: FuncId) -> Key {
    let f = session.function(func);
    let name = session.string(f.name);
    match f.kind {
        FunctionKind::Python => (
            session.string(f.file).to_owned(),
            f.first_line,
            name.to_owned(),
        ),
        FunctionKind::Native => ("~".into(), 0, format!("<built-in method {name}>")),
        FunctionKind::Pseudo => ("~".into(), 0, name.to_owned()),
    }
}

/// The session's function table as a `pstats` file.
pub fn encode(session: &Session) -> Vec<u8> {
    let table = FunctionTable::build(session, &[], None);
    let mut stats: BTreeMap<Key, (Figures, BTreeMap<Key, Figures>)> = BTreeMap::new();
    for row in &table.rows {
        let entry = stats.entry(key(session, row.func)).or_default();
        entry.0.add(row.total_samples, row.self_us, row.total_us);
    }
    for edge in &table.edges {
        let callee = stats.entry(key(session, edge.callee)).or_default();
        callee.1.entry(key(session, edge.caller)).or_default().add(
            edge.samples,
            edge.self_us,
            edge.total_us,
        );
    }
    let mut out = Marshal(Vec::new());
    out.dict_start();
    for (func, (figures, callers)) in &stats {
        out.key(func);
        out.tuple(5);
        out.figures(figures);
        out.dict_start();
        for (caller, f) in callers {
            out.key(caller);
            out.tuple(4);
            out.figures(f);
        }
        out.dict_end();
    }
    out.dict_end();
    out.0
}

/// The `marshal` encoding of the types a stats file holds (format version 2 and later).
struct Marshal(Vec<u8>);

impl Marshal {
    fn dict_start(&mut self) {
        self.0.push(b'{');
    }

    fn dict_end(&mut self) {
        // TYPE_NULL ends a dict.
        self.0.push(b'0');
    }

    fn tuple(&mut self, len: u32) {
        self.0.push(b'(');
        self.0.extend_from_slice(&len.to_le_bytes());
    }

    fn int(&mut self, value: u64) {
        self.0.push(b'i');
        let value = i32::try_from(value).unwrap_or(i32::MAX);
        self.0.extend_from_slice(&value.to_le_bytes());
    }

    fn float(&mut self, value: f64) {
        self.0.push(b'g');
        self.0.extend_from_slice(&value.to_le_bytes());
    }

    fn str(&mut self, value: &str) {
        self.0.push(b'u');
        let len = u32::try_from(value.len()).unwrap_or(u32::MAX);
        self.0.extend_from_slice(&len.to_le_bytes());
        self.0.extend_from_slice(&value.as_bytes()[..len as usize]);
    }

    /// `primitive calls, calls, own time, cumulative time`: the same count twice, as a
    /// sampler cannot tell primitive calls from recursive ones.
    fn figures(&mut self, f: &Figures) {
        self.int(f.calls);
        self.int(f.calls);
        self.float(f.own);
        self.float(f.cumulative);
    }

    fn key(&mut self, (file, line, name): &Key) {
        self.tuple(3);
        self.str(file);
        self.int(u64::from(*line));
        self.str(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::{Metadata, SessionBuilder};

    #[test]
    fn writes_marshal_of_the_function_table() {
        let mut b = SessionBuilder::new(Metadata::default());
        let main = b.function("main", "app.py", 1, FunctionKind::Python);
        let sorted = b.function("sorted", "<built-in>", 0, FunctionKind::Native);
        let (f1, f2) = (b.frame(main, 2), b.frame(sorted, 0));
        let root = b.stack(None, f1);
        let leaf = b.stack(Some(root), f2);
        let t = b.thread_index(1, "MainThread");
        b.push_sample(t, leaf, 0, 3_000, None);
        b.push_sample(t, root, 3_000, 1_000, None);
        let bytes = encode(&b.finish());
        // {("app.py", 1, "main"): (2, 2, 0.001, 0.004, {}), ("~", 0, "<built-in method
        // sorted>"): (1, 1, 0.003, 0.003, {main's key: (1, 1, 0.003, 0.003)})}
        assert_eq!(bytes[0], b'{');
        assert_eq!(*bytes.last().unwrap(), b'0');
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("app.py") && text.contains("<built-in method sorted>"));
        let float = |v: f64| v.to_le_bytes();
        let find = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
        assert!(find(&float(0.004)) && find(&float(0.003)) && find(&float(0.001)));
    }
}
