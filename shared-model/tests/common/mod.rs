//! Sessions built by hand, so that tests know the exact answer.
#![allow(dead_code)]

use callscope_model::{FunctionKind, Metadata, Session, SessionBuilder};

/// The repository's `tests/fixtures` directory.
pub fn fixture(path: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(path)
}

pub fn read_fixture(path: &str) -> Vec<u8> {
    std::fs::read(fixture(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A session from `(thread, stack, weight_ms)` rows; a stack is `"file:func:line;..."`
/// outermost first, and samples of a thread follow each other in time.
pub fn session(rows: &[(u64, &str, u64)]) -> Session {
    let meta = Metadata {
        program: "app.py".into(),
        start_time: 1_795_600_000.0,
        interval_us: 1000,
        sys_path: vec!["/proj".into(), "/usr/lib/python3.11".into()],
        sys_prefixes: vec!["/usr".into()],
        python_version: "3.11.7".into(),
        platform: "linux".into(),
        recorder: "test".into(),
        ..Metadata::default()
    };
    let mut b = SessionBuilder::new(meta);
    let mut clock = std::collections::HashMap::new();
    for &(thread, stack, weight_ms) in rows {
        let frames: Vec<_> = stack
            .split(';')
            .map(|f| {
                let mut parts = f.split(':');
                let file = parts.next().unwrap();
                let name = parts.next().unwrap();
                let line: u32 = parts.next().map_or(1, |l| l.parse().unwrap());
                let kind = if name.starts_with('[') {
                    FunctionKind::Pseudo
                } else {
                    FunctionKind::Python
                };
                let func = b.function(name, file, line / 10 * 10, kind);
                b.frame(func, line)
            })
            .collect();
        let st = b.stack_from_frames(frames).unwrap();
        let name = if thread == 1 {
            "MainThread".to_owned()
        } else {
            format!("Thread-{thread}")
        };
        let t = b.thread_index(thread, &name);
        let now: &mut u64 = clock.entry(thread).or_default();
        *now += weight_ms * 1000;
        b.push_sample(t, st, *now, weight_ms * 1000, Some(weight_ms * 500));
    }
    b.meta_mut().cpu_time_us = Some(rows.iter().map(|r| r.2 * 500).sum());
    b.finish()
}

/// A small program: main calls parse (stdlib json underneath) and compute, and a worker
/// thread sleeps.
pub fn small_program() -> Session {
    session(&[
        (1, "/proj/app.py:<module>:1;/proj/app.py:main:12;/proj/app.py:compute:31", 30),
        (1, "/proj/app.py:<module>:1;/proj/app.py:main:13;/proj/app.py:parse:21;/usr/lib/python3.11/json/__init__.py:loads:346;/usr/lib/python3.11/json/decoder.py:decode:337;/usr/lib/python3.11/json/decoder.py:raw_decode:353", 20),
        (1, "/proj/app.py:<module>:1;/proj/app.py:main:12;/proj/app.py:compute:32", 10),
        (1, "/proj/app.py:<module>:1;/proj/app.py:main:14", 5),
        (2, "/usr/lib/python3.11/threading.py:_bootstrap:1002;/proj/app.py:worker:41;/usr/lib/python3.11/time.py:sleep:1", 50),
    ])
}
