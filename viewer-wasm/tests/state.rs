//! The viewer's behaviour, driven through its reducer as the components drive it.

use std::rc::Rc;

use callscope_model::{format, FunctionKind, Metadata, Session, SessionBuilder};
use callscope_viewer::rows::{label, RowKey, RowKind};
use callscope_viewer::state::{Action, NavKey, Settings, SortColumn, State, View};
use yew::Reducible;

fn fixture(name: &str) -> Session {
    let path = format!(
        "{}/../tests/fixtures/pyinstrument/{name}.pyisession",
        env!("CARGO_MANIFEST_DIR")
    );
    format::load(&std::fs::read(path).unwrap()).unwrap()
}

fn run(state: Rc<State>, actions: impl IntoIterator<Item = Action>) -> Rc<State> {
    actions.into_iter().fold(state, |s, a| s.reduce(a))
}

fn loaded(session: Session) -> Rc<State> {
    run(
        Rc::new(State::default()),
        [Action::Loaded("x".into(), Box::new(session))],
    )
}

/// The visible rows as "name" (functions), "[self]", "[N hidden]", "+" marking the selection.
fn names(s: &State) -> Vec<String> {
    let (l, b) = (s.loaded.as_ref().unwrap(), s.built.as_ref().unwrap());
    s.rows
        .iter()
        .map(|r| {
            let text = match label(&l.session, &l.code, &b.tree, &b.folding, r) {
                RowKind::Function { name, .. } => name,
                RowKind::SelfTime => "[self]".into(),
                RowKind::Thread { name } => name,
                RowKind::Group { hidden, .. } => format!("[{hidden} hidden]"),
            };
            let mark = if s.selected == Some(r.key) { "+" } else { "" };
            format!("{mark}{}{text}", "  ".repeat(r.depth))
        })
        .collect()
}

fn selected_name(s: &State) -> String {
    names(s)
        .into_iter()
        .find(|n| n.starts_with('+'))
        .unwrap_or_default()
        .trim_start_matches('+')
        .trim()
        .to_owned()
}

/// main → a → b → c → d, each with a little self time.
fn chain() -> Session {
    let mut b = SessionBuilder::new(Metadata::default());
    let fs: Vec<_> = ["main", "a", "b", "c", "d"]
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let f = b.function(n, "app.py", i as u32 * 10 + 1, FunctionKind::Python);
            b.frame(f, i as u32 * 10 + 2)
        })
        .collect();
    let t = b.add_thread(1, None, "MainThread", true);
    for depth in 1..=5 {
        let stack = b.stack_from_frames(fs[..depth].iter().copied()).unwrap();
        b.push_sample(t, stack, depth as u64 * 1000, 1000, None);
    }
    b.finish()
}

#[test]
fn keyboard_moves_opens_and_closes() {
    let s = loaded(chain());
    // The first view opens the heaviest path.
    assert_eq!(names(&s)[0], "main");
    let s = run(s, [Action::Key(NavKey::Down)]);
    assert_eq!(
        selected_name(&s),
        "main",
        "the first key selects the first row"
    );
    let s = run(s, [Action::Key(NavKey::Left)]);
    assert_eq!(names(&s), ["+main"], "Left closes an open row");
    let s = run(s, [Action::Key(NavKey::Right)]);
    assert!(names(&s).len() > 1, "Right opens it again");
    let s = run(s, [Action::Key(NavKey::Right), Action::Key(NavKey::Down)]);
    // main is open: Right moves into it; Down goes on to the next row.
    let before = selected_name(&s);
    let s = run(s, [Action::Key(NavKey::Left)]);
    let s = if selected_name(&s) == before {
        run(s, [Action::Key(NavKey::Left)])
    } else {
        s
    };
    assert_ne!(
        selected_name(&s),
        before,
        "Left on a closed row moves to its parent"
    );
    let s = run(s, [Action::Key(NavKey::Home), Action::Key(NavKey::Toggle)]);
    assert_eq!(names(&s), ["+main"], "Enter toggles");
    let s = run(s, [Action::Key(NavKey::ExpandAll)]);
    let all = names(&s);
    assert!(
        all.iter().any(|n| n.trim() == "d"),
        "* opens everything below: {all:?}"
    );
    let s = run(s, [Action::Key(NavKey::End)]);
    assert_eq!(s.selected, Some(s.rows.last().unwrap().key));
    let scrolls = s.scroll_request;
    let s = run(s, [Action::Key(NavKey::PageUp)]);
    assert_eq!(s.selected, Some(s.rows[0].key));
    assert!(s.scroll_request > scrolls, "moving asks the list to scroll");
}

#[test]
fn search_jumps_open_folded_library_frames() {
    // mixed.py: json's decoder frames are folded into "[N frames hidden]".
    let s = loaded(fixture("mixed"));
    let folded = names(&s);
    assert!(
        !folded.iter().any(|n| n.contains("raw_decode")),
        "{folded:#?}"
    );
    let s = run(s, [Action::Query("raw_DECODE".into())]);
    assert!(!s.matches.is_empty());
    assert_eq!(s.current_match, None);
    let s = run(s, [Action::Jump(true)]);
    assert_eq!(s.current_match, Some(0));
    assert_eq!(
        selected_name(&s),
        "JSONDecoder.raw_decode",
        "{:#?}",
        names(&s)
    );
    // Jumping wraps around, both ways.
    let n = s.matches.len();
    let s = run(s, (0..n).map(|_| Action::Jump(true)));
    assert_eq!(s.current_match, Some(0));
    let s = run(s, [Action::Jump(false)]);
    assert_eq!(s.current_match, Some(n - 1));
    // A new query starts over; an empty one matches nothing.
    let s = run(s, [Action::Query(String::new()), Action::Jump(true)]);
    assert!(s.matches.is_empty() && s.current_match.is_none());
}

#[test]
fn search_in_the_flame_graph_and_the_table() {
    let s = loaded(fixture("mixed"));
    let s = run(
        s,
        [
            Action::View(View::Flame),
            Action::Query("loads".into()),
            Action::Jump(true),
        ],
    );
    let node = s.flame_selected.expect("a flame match is selected");
    let b = s.built.as_ref().unwrap();
    let func = b.tree.func(node).unwrap();
    assert_eq!(
        s.loaded.as_ref().unwrap().session.function_name(func),
        "loads"
    );
    let s = run(s, [Action::View(View::Functions), Action::Jump(true)]);
    let func = s.func.expect("a function is selected");
    assert!(s.matched.contains(&func));
    // Revealing a flame node in the tree switches view and selects its row.
    let s = run(s, [Action::Reveal(node)]);
    assert_eq!(s.view, View::Tree);
    assert_eq!(s.selected, Some(RowKey::Node(node)));
    assert!(s.rows.iter().any(|r| r.key == RowKey::Node(node)));
}

#[test]
fn settings_rebuild_the_tree_but_percent_does_not() {
    let s = loaded(fixture("mixed"));
    let built = s.built.clone().unwrap();
    let percent = Settings {
        percent: true,
        ..s.settings.clone()
    };
    let s = run(s, [Action::Settings(percent)]);
    assert!(Rc::ptr_eq(&built, s.built.as_ref().unwrap()));

    let libraries = Settings {
        group_libraries: false,
        ..s.settings.clone()
    };
    let s = run(
        s,
        [
            Action::Settings(libraries),
            Action::Key(NavKey::Home),
            Action::Key(NavKey::ExpandAll),
        ],
    );
    assert!(!Rc::ptr_eq(&built, s.built.as_ref().unwrap()));
    let all = names(&s);
    assert!(
        all.iter().any(|n| n.contains("raw_decode")),
        "library frames shown: {all:#?}"
    );
    assert!(!all.iter().any(|n| n.contains("hidden]")));

    // A lower threshold keeps more nodes.
    let count = |s: &State| s.built.as_ref().unwrap().tree.walk().len();
    let coarse = run(
        s.clone(),
        [Action::Settings(Settings {
            threshold_pct: 20.0,
            ..s.settings.clone()
        })],
    );
    let fine = run(
        s.clone(),
        [Action::Settings(Settings {
            threshold_pct: 0.0,
            ..s.settings.clone()
        })],
    );
    assert!(count(&coarse) < count(&s) && count(&s) <= count(&fine));
}

#[test]
fn inverted_tree_starts_from_where_time_was_spent() {
    let s = loaded(chain());
    let s = run(
        s,
        [Action::Settings(Settings {
            inverted: true,
            ..Settings::default()
        })],
    );
    let top: Vec<String> = names(&s)
        .into_iter()
        .filter(|n| !n.starts_with(' '))
        .collect();
    // Every function has 1 ms of self time: five roots, each a leaf of the normal tree.
    assert_eq!(top.len(), 5, "{:#?}", names(&s));
    let s = run(
        s,
        [Action::Key(NavKey::Home), Action::Key(NavKey::ExpandAll)],
    );
    let rows = names(&s);
    let d = rows
        .iter()
        .position(|n| n.trim_start_matches('+') == "d")
        .unwrap();
    assert_eq!(
        &rows[d..d + 5],
        ["d", "  c", "    b", "      a", "        main"]
    );
}

#[test]
fn table_sorts_by_each_column() {
    let s = loaded(fixture("mixed"));
    let by = |s: &Rc<State>, c| run(s.clone(), [Action::Sort(c)]).table_order();
    let session = &s.loaded.as_ref().unwrap().session;
    let table = &s.built.as_ref().unwrap().table;
    let total = by(&s, SortColumn::Total);
    assert!(total
        .windows(2)
        .all(|w| table.get(w[0]).unwrap().total_us >= table.get(w[1]).unwrap().total_us));
    let own = by(&s, SortColumn::SelfTime);
    assert!(own
        .windows(2)
        .all(|w| table.get(w[0]).unwrap().self_us >= table.get(w[1]).unwrap().self_us));
    let name = by(&s, SortColumn::Name);
    let lower = |f| session.function_name(f).to_lowercase();
    assert!(name.windows(2).all(|w| lower(w[0]) <= lower(w[1])));
}

#[test]
fn the_hash_brings_a_reload_back_to_the_same_place() {
    let s = loaded(fixture("mixed"));
    let s = run(
        s,
        [
            Action::View(View::Flame),
            Action::Settings(Settings {
                threshold_pct: 0.5,
                percent: true,
                ..Settings::default()
            }),
            Action::Query("decode".into()),
            Action::View(View::Tree),
            Action::Jump(true),
        ],
    );
    let hash = s.hash();
    let again = run(
        Rc::new(State::from_hash(&hash)),
        [Action::Loaded("x".into(), Box::new(fixture("mixed")))],
    );
    assert_eq!(again.hash(), hash);
    assert_eq!(again.selected, s.selected);
    assert_eq!(
        names(&again),
        names(&s).iter().map(|n| n.to_string()).collect::<Vec<_>>()
    );
    // A hash from another profile cannot select what does not exist.
    let stale = run(
        Rc::new(State::from_hash(
            "#view=tree&sel=n999999&zoom=888888&func=777777&thread=99",
        )),
        [Action::Loaded("x".into(), Box::new(fixture("mixed")))],
    );
    assert_eq!(
        (stale.selected, stale.zoom, stale.func, stale.thread),
        (None, None, None, None)
    );
}

#[test]
fn a_new_file_keeps_settings_and_drops_selection() {
    let s = loaded(fixture("mixed"));
    let s = run(
        s,
        [
            Action::Settings(Settings {
                inverted: true,
                ..Settings::default()
            }),
            Action::Key(NavKey::Down),
            Action::Failed("Could not open bad.bin: not a profile".into()),
        ],
    );
    assert!(
        s.loaded.is_some() && s.error.is_some(),
        "a failure keeps the session"
    );
    let s = run(
        s,
        [Action::Loaded("y".into(), Box::new(fixture("recursion")))],
    );
    assert!(s.settings.inverted && s.selected.is_none() && s.error.is_none());
}

#[test]
fn threads_each_on_their_own_merged_or_one_at_a_time() {
    let mut b = SessionBuilder::new(Metadata::default());
    let work = b.function("work", "app.py", 1, FunctionKind::Python);
    let frame = b.frame(work, 2);
    let stack = b.stack_from_frames([frame]).unwrap();
    let main = b.add_thread(1, None, "MainThread", true);
    let worker = b.add_thread(2, None, "worker", false);
    b.push_sample(main, stack, 0, 1000, None);
    b.push_sample(worker, stack, 0, 3000, None);
    let s = loaded(b.finish());
    assert_eq!(names(&s), ["worker", "  work", "MainThread", "  work"]);
    let merged = run(
        s.clone(),
        [Action::Settings(Settings {
            merge_threads: true,
            ..Settings::default()
        })],
    );
    assert_eq!(names(&merged), ["work"]);
    assert_eq!(merged.rows[0].total_us, 4000);
    let one = run(s, [Action::Thread(Some(0))]);
    assert_eq!(names(&one), ["work"]);
    assert_eq!(one.rows[0].total_us, 1000);
    assert!(one.hash().contains("thread=0"));
}
