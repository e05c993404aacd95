//! Timeline spans, flame layout and the function table.

mod common;

use callscope_model::flame;
use callscope_model::functions::FunctionTable;
use callscope_model::timeline::Timeline;
use callscope_model::tree::{CallTree, TreeOptions};
use common::{session, small_program};

#[test]
fn timeline_spans_follow_samples_in_time() {
    let s = small_program();
    let timeline = Timeline::build(&s);
    let t = &timeline.lanes[0];
    let mut spans: Vec<_> = (0..t.depth())
        .flat_map(|d| (0..t.rows[d].len()).map(move |i| (d, i)))
        .map(|(d, i)| t.span(d, i))
        .map(|sp| {
            (
                s.function_name(sp.func).to_owned(),
                sp.depth,
                sp.start_us / 1000,
                sp.end_us / 1000,
            )
        })
        .collect();
    spans.sort_by_key(|x| (x.2, x.1));
    assert_eq!(
        spans[..4],
        [
            ("<module>".into(), 0, 0, 65),
            ("main".into(), 1, 0, 65),
            ("compute".into(), 2, 0, 30),
            ("parse".into(), 2, 30, 50)
        ]
    );
    assert!(
        spans.contains(&("compute".into(), 2, 50, 60)),
        "a second call is a second span"
    );
    assert_eq!(t.depth(), 6);
    assert_eq!((t.start_us, t.end_us), (0, 65_000));
    assert_eq!((timeline.start_us, timeline.end_us), (0, 65_000));
    // Every row is in start order without overlaps, which the binary searches rely on.
    for lane in &timeline.lanes {
        for row in &lane.rows {
            for i in 1..row.len() {
                assert!(row.end_us[i - 1] <= row.start_us[i]);
            }
        }
    }
}

#[test]
fn flame_layout_places_children_inside_parents() {
    let s = small_program();
    let tree = CallTree::build(&s, &TreeOptions::default());
    let rects = flame::layout(&tree, tree.root);
    for r in &rects {
        if let Some(parent) = tree
            .node(r.node)
            .parent
            .and_then(|p| rects.iter().find(|q| q.node == p))
        {
            assert_eq!(r.depth, parent.depth + 1);
            assert!(r.x_us >= parent.x_us && r.x_us + r.width_us <= parent.x_us + parent.width_us);
        }
    }
    let total: u64 = rects
        .iter()
        .filter(|r| r.depth == 0)
        .map(|r| r.width_us)
        .sum();
    assert_eq!(total, 115_000);
}

#[test]
fn function_table_counts_recursion_once() {
    let s = session(&[
        (1, "a.py:main:1;a.py:fib:10;a.py:fib:11;a.py:fib:11", 4),
        (1, "a.py:main:1;a.py:fib:10", 1),
    ]);
    let table = FunctionTable::build(&s, &[], None);
    let fib = table
        .rows
        .iter()
        .find(|r| s.function_name(r.func) == "fib")
        .unwrap();
    assert_eq!((fib.total_us, fib.self_us), (5000, 5000));
    let main = table
        .rows
        .iter()
        .find(|r| s.function_name(r.func) == "main")
        .unwrap();
    assert_eq!((main.total_us, main.self_us), (5000, 0));
    let callers: Vec<_> = table
        .callers(fib.func)
        .map(|e| (s.function_name(e.caller), e.total_us))
        .collect();
    assert_eq!(callers, [("main", 5000), ("fib", 4000)]);
    let callees: Vec<_> = table
        .callees(main.func)
        .map(|e| s.function_name(e.callee))
        .collect();
    assert_eq!(callees, ["fib"]);
}

#[test]
fn function_table_filters_by_thread_and_time() {
    let s = small_program();
    let worker = FunctionTable::build(&s, &[1], None);
    assert_eq!(worker.total_us, 50_000);
    let early = FunctionTable::build(&s, &[0], Some(0..31_000));
    assert_eq!(early.total_us, 30_000);
    let names: Vec<_> = early.rows.iter().map(|r| s.function_name(r.func)).collect();
    assert_eq!(
        names,
        ["compute", "<module>", "main"],
        "ties: most self time first"
    );
}

#[test]
fn very_deep_stacks_render_without_recursion() {
    // Deeper than a native stack would survive recursing through, on a small test thread.
    let depth = 5000;
    let line = format!(
        "{} 3\n",
        (0..depth)
            .map(|i| format!("f{i} (a.py:{i})"))
            .collect::<Vec<_>>()
            .join(";")
    );
    let s = callscope_model::format::load(line.as_bytes()).unwrap();
    let handle = std::thread::Builder::new()
        .stack_size(256 << 10)
        .spawn(move || {
            let text = callscope_model::render::text::render(&s, &Default::default());
            let json = callscope_model::render::json_tree::render(&s, &[], &Default::default());
            let root = json
                .find("\"function\":")
                .map(|i| json[i + 12..].split('"').next().unwrap_or("").to_owned());
            (text.lines().count(), root)
        })
        .unwrap();
    let (lines, root) = handle.join().expect("no stack overflow");
    assert!(lines > depth, "{lines}");
    assert_eq!(root.as_deref(), Some("f0"));
}

#[test]
fn function_table_leaves_out_the_profilers_launcher_as_the_tree_does() {
    let bytes = common::read_fixture("pyinstrument/mixed.pyisession");
    let s = callscope_model::format::load(&bytes).unwrap();
    let table = FunctionTable::build(&s, &[], None);
    let names: Vec<&str> = table.rows.iter().map(|r| s.function_name(r.func)).collect();
    assert_eq!(names[0], "<module>", "{names:?}");
    assert!(
        !names
            .iter()
            .any(|n| n.contains("run_module") || *n == "_run_code"),
        "{names:?}"
    );
    let code = callscope_model::library::CodeInfo::new(&s);
    let tree = callscope_model::render::processed_tree(&s, &code, &[], false, &Default::default());
    assert_eq!(table.total_us, tree.total_us());
    assert_eq!(table.rows[0].total_us, tree.total_us());
}

#[test]
fn text_from_the_program_never_reaches_the_terminal_as_control_characters() {
    // A function name that clears the screen and retitles the window, a file name that
    // turns the text red, and a thread name with a bidi override.
    use callscope_model::session::{FunctionKind, Metadata, SessionBuilder};
    let mut b = SessionBuilder::new(Metadata::default());
    let evil = b.function(
        "evil\x1b[2J\x1b]0;title\x07",
        "/proj/p\x1b[31mred.py",
        11,
        FunctionKind::Python,
    );
    let work = b.function("work\u{202e}kr", "/proj/app.py", 21, FunctionKind::Python);
    for (thread, name, func) in [(1, "MainThread", evil), (2, "w\x1b[8m", work)] {
        let frame = b.frame(func, 11);
        let stack = b.stack(None, frame);
        let t = b.thread_index(thread, name);
        b.push_sample(t, stack, 10_000, 10_000, None);
    }
    let s = b.finish();
    for color in [false, true] {
        let options = callscope_model::render::text::TextOptions {
            color,
            ..Default::default()
        };
        let text = callscope_model::render::text::render(&s, &options);
        assert!(text.contains(r"evil\x1b[2J\x1b]0;title\x07"), "{text}");
        assert!(text.contains(r"p\x1b[31mred.py:11"), "{text}");
        assert!(
            text.contains(r"work\u202ekr") && text.contains(r"w\x1b[8m"),
            "{text}"
        );
        assert!(!text.contains('\u{7}') && !text.contains('\u{202e}'));
        // The renderer's own colours are the only escape sequences left.
        let escapes = text.matches('\x1b').count();
        let own = text.matches("\x1b[").count();
        assert_eq!(escapes, own);
        assert!(color || escapes == 0);
        assert!(!text.contains("\x1b[2J") && !text.contains("\x1b]0;"));
    }
}

#[test]
fn threads_the_threshold_hides_are_counted_and_the_header_stays_short() {
    use callscope_model::session::{FunctionKind, Metadata, SessionBuilder, ThreadState};
    // A main thread of 1 s and a pool of 300 workers of 0.05 s: each worker is 0.3 % of
    // the time, all of them together 94 %.
    let mut b = SessionBuilder::new(Metadata {
        interval_us: 1000,
        ..Metadata::default()
    });
    let main = b.function("main", "/proj/app.py", 1, FunctionKind::Python);
    let work = b.function("handle", "/proj/app.py", 10, FunctionKind::Python);
    let held = ThreadState(ThreadState::GIL_HELD | ThreadState::ON_CPU);
    for thread in 0..301u64 {
        let (func, weight) = if thread == 0 {
            (main, 1_000_000)
        } else {
            (work, 50_000)
        };
        let frame = b.frame(func, 2);
        let stack = b.stack(None, frame);
        let name = if thread == 0 {
            "MainThread".to_owned()
        } else {
            format!("Thread-{thread}")
        };
        let t = b.thread_index(thread + 1, &name);
        b.push_sample_with_state(t, stack, weight, weight, None, held);
    }
    let s = b.finish();
    let text = callscope_model::render::text::render(&s, &Default::default());
    assert!(
        text.contains("300 more threads below the threshold, 15.000 s in all"),
        "{text}"
    );
    assert!(text.contains("... and 293 more threads"), "{text}");
    assert!(text.lines().count() < 20, "{text}");
    let mut all = callscope_model::render::text::TextOptions::default();
    all.processors.show_all = true;
    let text = callscope_model::render::text::render(&s, &all);
    assert!(text.contains("Thread-300") && !text.contains("below the threshold"));
}

#[test]
fn direct_recursion_folds_into_one_line() {
    use callscope_model::render::text::{render, TextOptions};
    use callscope_model::session::{FunctionKind, Metadata, SessionBuilder};
    // main → r → r → ... 12,000 deep, and at the bottom `leaf`; main also calls `other`.
    let mut b = SessionBuilder::new(Metadata {
        interval_us: 1000,
        ..Metadata::default()
    });
    let main = b.function("main", "/proj/app.py", 1, FunctionKind::Python);
    let r = b.function("r", "/proj/app.py", 10, FunctionKind::Python);
    let leaf = b.function("leaf", "/proj/app.py", 20, FunctionKind::Python);
    let other = b.function("other", "/proj/app.py", 30, FunctionKind::Python);
    let main_frame = b.frame(main, 2);
    let root = b.stack(None, main_frame);
    let mut top = root;
    for _ in 0..12_000 {
        let f = b.frame(r, 11);
        top = b.stack(Some(top), f);
    }
    let leaf_frame = b.frame(leaf, 21);
    let bottom = b.stack(Some(top), leaf_frame);
    let other_frame = b.frame(other, 31);
    let beside = b.stack(Some(root), other_frame);
    let t = b.thread_index(1, "MainThread");
    b.push_sample(t, bottom, 0, 300_000, None);
    b.push_sample(t, top, 300_000, 100_000, None);
    b.push_sample(t, beside, 400_000, 100_000, None);
    let s = b.finish();
    let mut options = TextOptions {
        header: false,
        ..TextOptions::default()
    };
    options.processors.collapse_recursion = true;
    let text = render(&s, &options);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        [
            "0.500 main  /proj/app.py:1",
            "├─ 0.400 r  /proj/app.py:10  [× 11,999 recursive calls]",
            "│  ├─ 0.300 leaf  /proj/app.py:20",
            "│  └─ 0.100 [self]",
            "└─ 0.100 other  /proj/app.py:30",
        ],
        "{text}"
    );
    options.processors.collapse_recursion = false;
    assert!(render(&s, &options).lines().count() > 12_000);
}

#[test]
fn a_call_path_from_the_timeline_finds_its_tree_node() {
    let s = small_program();
    let code = callscope_model::library::CodeInfo::new(&s);
    let options = callscope_model::processors::ProcessorOptions::default();
    let tree = callscope_model::render::processed_tree(&s, &code, &[], true, &options);
    let lane = &Timeline::build(&s).lanes[0];
    // At 40 ms the main thread is in json's raw_decode, under parse: library frames are
    // grouped, not removed, so the path ends at raw_decode itself.
    let path: Vec<_> = lane
        .stack_at(99, 40_000.0)
        .iter()
        .map(|sp| sp.func)
        .collect();
    let node = tree.find_path(Some(0), &path);
    assert_eq!(
        tree.func(node).map(|f| s.function_name(f)),
        Some("raw_decode")
    );
    // A path the tree does not have ends where the tree stops following it.
    let node = tree.find_path(Some(0), &path[..3]);
    assert_eq!(tree.func(node).map(|f| s.function_name(f)), Some("parse"));
}

#[test]
fn a_time_range_keeps_only_its_samples_in_the_tree() {
    let s = small_program();
    let code = callscope_model::library::CodeInfo::new(&s);
    let options = callscope_model::processors::ProcessorOptions {
        time_range: Some(30_001..50_001),
        filter_threshold: 0.0,
        ..Default::default()
    };
    let tree = callscope_model::render::processed_tree(&s, &code, &[0], false, &options);
    assert_eq!(tree.total_us(), 20_000);
    let names: Vec<_> = tree
        .walk()
        .into_iter()
        .filter_map(|n| tree.func(n))
        .map(|f| s.function_name(f))
        .collect();
    assert!(
        names.contains(&"parse") && !names.contains(&"compute"),
        "{names:?}"
    );
}
