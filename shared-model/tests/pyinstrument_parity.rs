//! Our text tree for a pyinstrument session is the tree pyinstrument itself prints.
//!
//! The reference files were written by pyinstrument 5.1.3 from the same sessions
//! (`tests/fixtures/pyinstrument/make-fixtures.sh`). Only the header differs by design, and
//! pyinstrument prints the parent's file after `[self]`, which callscope leaves out.

mod common;

use callscope_model::format;
use callscope_model::render::text::{render, TextOptions};
use common::read_fixture;

fn pyinstrument_tree(text: &str) -> Vec<String> {
    text.lines()
        .skip_while(|l| !(l.starts_with("Program:") || l.starts_with("Profile at ")))
        .skip(1)
        .take_while(|l| !l.starts_with("To view this report"))
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let l = l.trim_end();
            let pseudo = ["[self]", "[await]", "[out-of-context]"]
                .iter()
                .find_map(|p| l.find(p).map(|i| i + p.len()));
            match pseudo {
                Some(end) => l[..end].to_owned(),
                None => l.to_owned(),
            }
        })
        .collect()
}

fn ours(name: &str, timeline: bool) -> Vec<String> {
    let session = format::load(&read_fixture(&format!("pyinstrument/{name}.pyisession"))).unwrap();
    let mut options = TextOptions {
        header: false,
        ..TextOptions::default()
    };
    options.processors.timeline = timeline;
    render(&session, &options)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.trim_end().to_owned())
        .collect()
}

#[test]
fn same_tree_as_pyinstrument() {
    for name in ["mixed", "recursion", "asyncio_sleep", "api_async_mode"] {
        for timeline in [false, true] {
            let suffix = if timeline { "-timeline" } else { "" };
            let reference = String::from_utf8(read_fixture(&format!(
                "pyinstrument/{name}.pyinstrument{suffix}.txt"
            )))
            .unwrap();
            let expected = pyinstrument_tree(&reference);
            assert!(
                expected.len() > 3,
                "reference for {name} parsed to {expected:?}"
            );
            pretty_assertions::assert_eq!(expected, ours(name, timeline), "{name}{suffix}");
        }
    }
}
