//! Golden files for every renderer and writer. After an intended change, re-bless with
//! `CALLSCOPE_BLESS=1 cargo test -p callscope-model --test golden` (or `make bless`) and
//! review the diff of `tests/golden/`.

mod common;

use std::path::PathBuf;

use callscope_model::format;
use callscope_model::processors::{PathPattern, ProcessorOptions};
use callscope_model::render::json_tree;
use callscope_model::render::text::{render, FlatMode, TextOptions, TimeFormat};
use callscope_model::Session;
use common::{read_fixture, small_program};

fn check(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("CALLSCOPE_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "{} is missing: run with CALLSCOPE_BLESS=1 to create it",
            path.display()
        )
    });
    if expected != actual {
        let actual_path = std::env::temp_dir().join(format!("callscope-actual-{name}"));
        std::fs::write(&actual_path, actual).unwrap();
        pretty_assertions::assert_eq!(
            expected,
            actual,
            "\n{name} differs (actual output in {}); if the change is intended, re-bless with \
             CALLSCOPE_BLESS=1 cargo test -p callscope-model --test golden",
            actual_path.display()
        );
    }
}

fn fixture(name: &str) -> Session {
    format::load(&read_fixture(&format!("pyinstrument/{name}.pyisession"))).unwrap()
}

fn text(s: &Session, edit: impl FnOnce(&mut TextOptions)) -> String {
    let mut o = TextOptions::default();
    edit(&mut o);
    render(s, &o)
}

#[test]
fn text_tree_of_each_fixture() {
    for name in ["mixed", "recursion", "asyncio_sleep"] {
        check(&format!("{name}.txt"), &text(&fixture(name), |_| {}));
        check(
            &format!("{name}-timeline.txt"),
            &text(&fixture(name), |o| o.processors.timeline = true),
        );
    }
}

#[test]
fn text_options() {
    let s = small_program();
    check("small.txt", &text(&s, |_| {}));
    check("small-ascii.txt", &text(&s, |o| o.unicode = false));
    check("small-color.txt", &text(&s, |o| o.color = true));
    check(
        "small-percent.txt",
        &text(&s, |o| o.time = TimeFormat::PercentOfTotal),
    );
    check(
        "small-flat-self.txt",
        &text(&s, |o| o.flat = Some(FlatMode::SelfTime)),
    );
    check(
        "small-flat-total.txt",
        &text(&s, |o| o.flat = Some(FlatMode::TotalTime)),
    );
    check(
        "small-show-all.txt",
        &text(&s, |o| o.processors.show_all = true),
    );
    check(
        "small-worker-thread.txt",
        &text(&s, |o| o.threads = vec![1]),
    );
    check(
        "small-hide-project.txt",
        &text(&s, |o| {
            o.processors.hide = Some(PathPattern::glob("/proj/*").unwrap())
        }),
    );
    check(
        "small-timeline.txt",
        &text(&s, |o| o.processors.timeline = true),
    );
}

#[test]
fn exports() {
    let s = small_program();
    let speedscope: serde_json::Value =
        serde_json::from_slice(&format::speedscope::encode(&s).unwrap()).unwrap();
    check(
        "small.speedscope.json",
        &serde_json::to_string_pretty(&speedscope).unwrap(),
    );
    check("small.collapsed.txt", &format::collapsed::encode(&s));
    let tree: serde_json::Value =
        serde_json::from_str(&json_tree::render(&s, &[], &ProcessorOptions::default())).unwrap();
    check(
        "small.tree.json",
        &serde_json::to_string_pretty(&tree).unwrap(),
    );
    let json: serde_json::Value =
        serde_json::from_slice(&format::callscope::to_json(&s).unwrap()).unwrap();
    check(
        "small.session.json",
        &serde_json::to_string_pretty(&json).unwrap(),
    );
}
