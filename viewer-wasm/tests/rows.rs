//! The viewer's call tree shows what the terminal prints for the same session.

use callscope_model::library::CodeInfo;
use callscope_model::processors::ProcessorOptions;
use callscope_model::render::folding::Folding;
use callscope_model::render::processed_tree;
use callscope_model::render::text::{self, TextOptions};
use callscope_model::{format, NodeId, Session};
use callscope_viewer::rows::{label, visible_rows, Expansion, RowKind};

fn fixture(name: &str) -> Session {
    let path = format!("{}/../tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    format::load(&std::fs::read(path).unwrap()).unwrap()
}

fn line(total_us: u64, kind: &RowKind) -> String {
    let time = format!("{:.3}", total_us as f64 / 1e6);
    match kind {
        RowKind::Function { name, location, .. } => format!("{time} {name}  {location}"),
        RowKind::SelfTime => format!("{time} [self]"),
        RowKind::Thread { name } => format!("{time} {name}"),
        RowKind::Group {
            hidden, libraries, ..
        } => {
            // The terminal shortens long lists to 40 characters; the viewer has the room.
            let mut names = libraries.join(", ");
            if names.chars().count() > 40 {
                names = names.chars().take(37).collect::<String>() + "...";
            }
            format!("[{hidden} frames hidden]  {names}")
        }
    }
}

/// Rows with every node expanded, as the terminal prints everything.
fn all_lines(session: &Session) -> Vec<String> {
    let code = CodeInfo::new(session);
    let tree = processed_tree(session, &code, &[], true, &ProcessorOptions::default());
    let folding = Folding::new(session, &tree);
    let expansion = Expansion {
        nodes: (0..tree.nodes.len()).map(NodeId::from_index).collect(),
        groups: Default::default(),
    };
    visible_rows(session, &tree, &folding, &expansion)
        .iter()
        .map(|row| line(row.total_us, &label(session, &code, &tree, &folding, row)))
        .collect()
}

#[test]
fn expanded_rows_match_the_terminal_line_for_line() {
    for name in ["mixed", "recursion", "asyncio_sleep"] {
        let session = fixture(&format!("pyinstrument/{name}.pyisession"));
        let options = TextOptions {
            header: false,
            ..TextOptions::default()
        };
        let text = text::render(&session, &options);
        let expected: Vec<String> = text
            .lines()
            .map(|l| {
                l.trim_start_matches(|c: char| " │├└─".contains(c))
                    .to_owned()
            })
            .filter(|l| !l.is_empty())
            .collect();
        let ours = all_lines(&session);
        assert_eq!(ours, expected, "{name}\n{text}");
    }
}

#[test]
fn collapsed_nodes_hide_their_children_and_groups_open_in_place() {
    let session = fixture("pyinstrument/mixed.pyisession");
    let code = CodeInfo::new(&session);
    let tree = processed_tree(&session, &code, &[], true, &ProcessorOptions::default());
    let folding = Folding::new(&session, &tree);
    let closed = visible_rows(&session, &tree, &folding, &Expansion::default());
    assert_eq!(closed.len(), 1, "only the root function: {closed:?}");
    assert!(closed[0].expandable && !closed[0].expanded);

    let mut open = Expansion::heaviest_path(&tree, 20);
    let rows = visible_rows(&session, &tree, &folding, &open);
    assert!(rows.len() > 3);
    // Opening every node shows the fold line; opening the fold shows the hidden frames.
    open.nodes = (0..tree.nodes.len()).map(NodeId::from_index).collect();
    let folded = visible_rows(&session, &tree, &folding, &open);
    let group = folded
        .iter()
        .find_map(|r| match label(&session, &code, &tree, &folding, r) {
            RowKind::Group { group, hidden, .. } => Some((group, hidden)),
            _ => None,
        })
        .expect("mixed.py has library frames to fold");
    open.groups.insert(group.0);
    let unfolded = visible_rows(&session, &tree, &folding, &open);
    assert_eq!(unfolded.len(), folded.len() + group.1);
}
