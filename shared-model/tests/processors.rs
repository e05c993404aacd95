//! Each processor on a tree whose right answer is known.

mod common;

use callscope_model::library::CodeInfo;
use callscope_model::processors::{self, Context, PathPattern, ProcessorOptions};
use callscope_model::tree::{CallTree, NodeKind, TreeOptions};
use callscope_model::Session;
use common::{session, small_program};

/// The tree as `name total_ms` lines, indented by depth; groups marked with `*`.
fn outline(s: &Session, tree: &CallTree) -> Vec<String> {
    let mut out = Vec::new();
    let mut work: Vec<(callscope_model::NodeId, usize)> = tree
        .node(tree.root)
        .children
        .iter()
        .rev()
        .map(|&c| (c, 0))
        .collect();
    while let Some((id, depth)) = work.pop() {
        let node = tree.node(id);
        let name = match node.kind {
            NodeKind::Function(f) => s.function_name(f).to_owned(),
            NodeKind::SelfTime => "[self]".to_owned(),
            NodeKind::Thread(t) => format!("<{}>", s.threads[t].name),
            NodeKind::Root => "[root]".to_owned(),
        };
        let mark = if node.group.is_some() { "*" } else { "" };
        out.push(format!(
            "{}{name}{mark} {}",
            "  ".repeat(depth),
            node.total_us / 1000
        ));
        work.extend(node.children.iter().rev().map(|&c| (c, depth + 1)));
    }
    out
}

/// The outline's top-level lines.
fn tops(s: &Session, tree: &CallTree) -> Vec<String> {
    outline(s, tree)
        .into_iter()
        .filter(|l| !l.starts_with(' '))
        .collect()
}

/// Runs one processor with the default options.
fn run_one(s: &Session, tree: &mut CallTree, processor: processors::Processor) {
    run(s, tree, &ProcessorOptions::default(), &[processor]);
}

fn run(
    s: &Session,
    tree: &mut CallTree,
    options: &ProcessorOptions,
    list: &[processors::Processor],
) {
    let code = CodeInfo::new(s);
    let ctx = Context {
        session: s,
        code: &code,
        options,
    };
    for p in list {
        p(tree, &ctx);
    }
}

fn timeline(s: &Session) -> CallTree {
    CallTree::build(
        s,
        &TreeOptions {
            timeline: true,
            ..TreeOptions::default()
        },
    )
}

#[test]
fn aggregated_build_merges_calls_and_keeps_self_time() {
    let s = small_program();
    let tree = CallTree::build(&s, &TreeOptions::default());
    assert_eq!(tree.total_us(), 115_000);
    let lines = outline(&s, &tree);
    assert_eq!(
        lines[..4],
        [
            "<module> 65",
            "  main 65",
            "    compute 40",
            "      [self] 40"
        ]
    );
    assert!(lines.contains(&"_bootstrap 50".to_owned()));
}

#[test]
fn timeline_build_keeps_call_order() {
    let s = small_program();
    let tree = CallTree::build(
        &s,
        &TreeOptions {
            timeline: true,
            threads: vec![0],
            ..TreeOptions::default()
        },
    );
    let lines = outline(&s, &tree);
    let calls: Vec<_> = lines
        .iter()
        .filter(|l| l.starts_with("    ") && !l.starts_with("     "))
        .collect();
    assert_eq!(
        calls,
        [
            "    compute 30",
            "    parse 20",
            "    compute 10",
            "    [self] 5"
        ]
    );
}

#[test]
fn split_threads_puts_a_node_per_thread() {
    let s = small_program();
    let tree = CallTree::build(
        &s,
        &TreeOptions {
            split_threads: true,
            ..TreeOptions::default()
        },
    );
    assert_eq!(tops(&s, &tree), ["<MainThread> 65", "<Thread-2> 50"]);
}

#[test]
fn aggregate_repeated_calls_merges_and_sorts() {
    let s = small_program();
    let mut tree = CallTree::build(
        &s,
        &TreeOptions {
            timeline: true,
            threads: vec![0],
            ..TreeOptions::default()
        },
    );
    run_one(&s, &mut tree, processors::aggregate_repeated_calls);
    let lines = outline(&s, &tree);
    assert_eq!(
        lines[..5],
        [
            "<module> 65",
            "  main 65",
            "    compute 40",
            "      [self] 40",
            "    parse 20"
        ]
    );
    // A timeline of several threads keeps a node per thread; those sort heaviest first too.
    let mut tree = timeline(&s);
    run_one(&s, &mut tree, processors::aggregate_repeated_calls);
    assert_eq!(tops(&s, &tree), ["<MainThread> 65", "<Thread-2> 50"]);
}

#[test]
fn merge_consecutive_self_time_joins_neighbours() {
    let s = session(&[
        (1, "a.py:main:1;a.py:f:10", 1),
        (
            1,
            "a.py:main:1;a.py:imp:20;<frozen importlib._bootstrap>:_load:1",
            2,
        ),
        (1, "a.py:main:1", 3),
    ]);
    let mut tree = timeline(&s);
    let opts = ProcessorOptions::default();
    run(&s, &mut tree, &opts, &[processors::remove_importlib]);
    // importlib frame gone; its self time now sits next to imp's... and main has [self].
    let before = outline(&s, &tree);
    assert!(!before.iter().any(|l| l.contains("_load")), "{before:?}");
    let s2 = session(&[
        (1, "a.py:main:1", 1),
        (1, "a.py:main:1;<frozen importlib._bootstrap>:_load:1", 2),
        (1, "a.py:main:1", 3),
    ]);
    let mut tree = timeline(&s2);
    run(&s2, &mut tree, &opts, &[processors::remove_importlib]);
    assert_eq!(
        outline(&s2, &tree),
        ["main 6", "  [self] 1", "  [self] 2", "  [self] 3"]
    );
    run(
        &s2,
        &mut tree,
        &opts,
        &[processors::merge_consecutive_self_time],
    );
    assert_eq!(outline(&s2, &tree), ["main 6", "  [self] 6"]);
    run(
        &s2,
        &mut tree,
        &opts,
        &[processors::remove_unnecessary_self_time_nodes],
    );
    assert_eq!(outline(&s2, &tree), ["main 6"]);
}

#[test]
fn remove_tracebackhide_keeps_children() {
    let mut s = session(&[(1, "a.py:main:1;a.py:helper:10;a.py:inner:20", 4)]);
    let helper = s
        .functions
        .iter()
        .position(|f| s.strings[f.name.index()] == "helper")
        .unwrap();
    s.functions[helper].tracebackhide = true;
    let mut tree = CallTree::build(&s, &TreeOptions::default());
    run_one(&s, &mut tree, processors::remove_tracebackhide);
    assert_eq!(outline(&s, &tree), ["main 4", "  inner 4", "    [self] 4"]);
}

#[test]
fn remove_irrelevant_nodes_uses_the_threshold_and_moves_time_to_self() {
    let s = session(&[
        (1, "a.py:main:1;a.py:big:10", 990),
        (1, "a.py:main:1;a.py:tiny:20", 9),
        (1, "a.py:main:1;a.py:mid:30", 1),
    ]);
    let mut tree = CallTree::build(&s, &TreeOptions::default());
    run_one(&s, &mut tree, processors::remove_irrelevant_nodes);
    let lines = outline(&s, &tree);
    assert!(
        !lines
            .iter()
            .any(|l| l.contains("tiny") || l.contains("mid")),
        "{lines:?}"
    );
    let main = tree.node(tree.root).children[0];
    assert_eq!(
        tree.self_us(&s, main),
        10_000,
        "removed time is the parent's self time"
    );
    let mut tree = CallTree::build(&s, &TreeOptions::default());
    let opts = ProcessorOptions {
        filter_threshold: 0.005,
        ..ProcessorOptions::default()
    };
    run(&s, &mut tree, &opts, &[processors::remove_irrelevant_nodes]);
    assert!(outline(&s, &tree).iter().any(|l| l.contains("tiny 9")));
}

#[test]
fn remove_profiler_frames_strips_the_launcher_only() {
    let launcher = "<frozen runpy>:_run_module_as_main:198;<frozen runpy>:_run_code:88;/venv/site-packages/callscope/__main__.py:main:5;<string>:<module>:1;<frozen runpy>:run_path:291";
    let s = session(&[
        (
            1,
            &format!("{launcher};app.py:<module>:1;app.py:main:5"),
            10,
        ),
        (1, &format!("{launcher};app.py:<module>:1"), 2),
    ]);
    let mut tree = CallTree::build(&s, &TreeOptions::default());
    run_one(&s, &mut tree, processors::remove_profiler_frames);
    assert_eq!(outline(&s, &tree)[..2], ["<module> 12", "  main 10"]);
    // A program that uses runpy itself, without the profiler's entry point, keeps it.
    let s = session(&[(
        1,
        "<frozen runpy>:_run_module_as_main:198;app.py:<module>:1",
        3,
    )]);
    let mut tree = CallTree::build(&s, &TreeOptions::default());
    run_one(&s, &mut tree, processors::remove_profiler_frames);
    assert_eq!(outline(&s, &tree)[0], "_run_module_as_main 3");
    // `callscope -c code`: the `<string>` the runner executes is the program itself.
    let s = session(&[(
        1,
        "/venv/bin/callscope:<module>:1;/venv/site-packages/callscope/cli.py:main:9;/venv/site-packages/callscope/runner.py:<lambda>:90;<string>:<module>:1;<string>:work:3",
        4,
    )]);
    let mut tree = CallTree::build(&s, &TreeOptions::default());
    run_one(&s, &mut tree, processors::remove_profiler_frames);
    assert_eq!(outline(&s, &tree)[..2], ["<module> 4", "  work 4"]);
}

#[test]
fn group_library_frames_groups_runs_of_library_code() {
    let s = small_program();
    let mut tree = CallTree::build(&s, &TreeOptions::default());
    run_one(&s, &mut tree, processors::group_library_frames);
    let lines = outline(&s, &tree);
    assert!(lines.contains(&"      loads* 20".to_owned()), "{lines:?}");
    assert!(
        lines.contains(&"        decode* 20".to_owned()),
        "{lines:?}"
    );
    assert!(
        lines.contains(&"    parse 20".to_owned()),
        "project code is never grouped"
    );
    // A single library frame above project code is not a group; a library call and the
    // self time inside it are.
    assert!(lines.contains(&"_bootstrap 50".to_owned()), "{lines:?}");
    assert!(lines.contains(&"    sleep* 50".to_owned()), "{lines:?}");
}

#[test]
fn show_and_hide_patterns_win_in_that_order() {
    let s = small_program();
    let hide_app = ProcessorOptions {
        hide: Some(PathPattern::glob("/proj/*").unwrap()),
        ..ProcessorOptions::default()
    };
    let mut tree = CallTree::build(&s, &TreeOptions::default());
    run(
        &s,
        &mut tree,
        &hide_app,
        &[processors::group_library_frames],
    );
    assert!(outline(&s, &tree).contains(&"  main* 65".to_owned()));
    let show_json = ProcessorOptions {
        show: Some(PathPattern::regex(r".*/json/").unwrap()),
        ..ProcessorOptions::default()
    };
    let mut tree = CallTree::build(&s, &TreeOptions::default());
    run(
        &s,
        &mut tree,
        &show_json,
        &[processors::group_library_frames],
    );
    let lines = outline(&s, &tree);
    assert!(lines.iter().any(|l| l.contains("loads 20")), "{lines:?}");
    assert!(!lines.iter().any(|l| l.contains("decode*")), "{lines:?}");
}

#[test]
fn globs_follow_fnmatch() {
    let p = PathPattern::glob("*/lib/*").unwrap();
    assert!(p.matches("/usr/lib/python3.11/json/decoder.py"));
    assert!(!p.matches("/home/me/app.py"));
    let p = PathPattern::glob("*.p[yx]").unwrap();
    assert!(p.matches("a/b.py") && p.matches("b.px") && !p.matches("b.pz"));
    assert!(PathPattern::glob("[").unwrap().matches("["));
    assert!(
        PathPattern::regex("/usr").unwrap().matches("/usr/lib"),
        "regex anchors at the start"
    );
    assert!(!PathPattern::regex("lib").unwrap().matches("/usr/lib"));
}

#[test]
fn show_all_turns_off_every_hiding_processor() {
    let opts = ProcessorOptions {
        show_all: true,
        ..ProcessorOptions::default()
    };
    let list = processors::default_processors(&opts);
    assert_eq!(
        list.len(),
        4,
        "merge self, aggregate, unnecessary self, profiler frames"
    );
    let timeline = ProcessorOptions {
        timeline: true,
        ..ProcessorOptions::default()
    };
    assert_eq!(
        processors::default_processors(&timeline).len(),
        7,
        "no aggregation in timeline mode"
    );
}
