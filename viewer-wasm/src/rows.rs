//! The call tree as the rows a list draws: only expanded nodes' children, library runs
//! folded as the terminal folds them. Rows are small (no strings), so a fully opened tree
//! of 100,000 nodes is cheap to list; [`label`] makes the text for the rows on screen.
//! Pure Rust, so it is tested on the host.

use std::collections::HashSet;

use callscope_model::library::CodeInfo;
use callscope_model::render::folding::Folding;
use callscope_model::tree::{CallTree, NodeKind};
use callscope_model::{FuncId, NodeId, Session};

/// What one row shows.
#[derive(Clone, Debug, PartialEq)]
pub enum RowKind {
    Function {
        name: String,
        location: String,
        application: bool,
        /// Direct recursive calls folded into the row ("collapse recursion").
        recursion: u32,
    },
    SelfTime,
    Thread {
        name: String,
    },
    /// "[N frames hidden] json, re": expands in place.
    Group {
        group: usize,
        hidden: usize,
        libraries: Vec<String>,
    },
}

/// What a row stands for, stable while the tree is: selection and expansion use it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RowKey {
    Node(NodeId),
    Group(usize),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub key: RowKey,
    /// The node the row stands for (for a group row: the group's root).
    pub node: NodeId,
    pub depth: usize,
    pub total_us: u64,
    pub self_us: u64,
    pub expandable: bool,
    pub expanded: bool,
}

/// Which nodes and groups the user has opened.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Expansion {
    pub nodes: HashSet<NodeId>,
    pub groups: HashSet<usize>,
}

impl Expansion {
    /// Opens the heaviest path from the root down to `depth` levels, as a first view.
    pub fn heaviest_path(tree: &CallTree, depth: usize) -> Self {
        let mut e = Expansion::default();
        let mut level: Vec<NodeId> = tree.node(tree.root).children.clone();
        for _ in 0..depth {
            let mut next = Vec::new();
            for id in level {
                let node = tree.node(id);
                if node.children.is_empty() {
                    continue;
                }
                e.nodes.insert(id);
                if let Some(&heaviest) =
                    node.children.iter().max_by_key(|&&c| tree.node(c).total_us)
                {
                    next.push(heaviest);
                }
            }
            level = next;
        }
        e
    }
}

/// The visible rows of `tree`.
pub fn visible_rows(
    session: &Session,
    tree: &CallTree,
    folding: &Folding,
    expansion: &Expansion,
) -> Vec<Row> {
    let mut rows = Vec::new();
    // (node, depth), children pushed in reverse so the heaviest comes out first.
    let mut stack: Vec<(NodeId, usize)> = tree
        .node(tree.root)
        .children
        .iter()
        .rev()
        .map(|&c| (c, 0))
        .collect();
    while let Some((id, depth)) = stack.pop() {
        let node = tree.node(id);
        let open_group = node.group.is_some_and(|g| expansion.groups.contains(&g));
        let shown = open_group || folding.visible(tree, id);
        // Children in the tree's own order: the processors already put the heaviest first
        // (or keep time order), as the terminal prints them.
        let children = &node.children;
        let expanded = expansion.nodes.contains(&id);
        if shown {
            rows.push(Row {
                key: RowKey::Node(id),
                node: id,
                depth,
                total_us: node.total_us,
                self_us: tree.self_us(session, id),
                expandable: !children.is_empty(),
                expanded,
            });
            // The fold line goes under the group's root.
            if let Some(g) = node.group {
                if tree.groups[g].root == id && folding.collapses(g) && expanded {
                    rows.push(Row {
                        key: RowKey::Group(g),
                        node: id,
                        depth: depth + 1,
                        total_us: node.total_us,
                        self_us: 0,
                        expandable: true,
                        expanded: expansion.groups.contains(&g),
                    });
                }
            }
        }
        if shown && !expanded {
            continue;
        }
        let child_depth = if shown { depth + 1 } else { depth };
        for &c in children.iter().rev() {
            stack.push((c, child_depth));
        }
    }
    rows
}

/// The text of a row.
pub fn label(
    session: &Session,
    code: &CodeInfo,
    tree: &CallTree,
    folding: &Folding,
    row: &Row,
) -> RowKind {
    match row.key {
        RowKey::Group(g) => {
            let (hidden, libraries) = folding.hidden(tree, code, g);
            RowKind::Group {
                group: g,
                hidden: hidden.len(),
                libraries,
            }
        }
        RowKey::Node(id) => kind(session, code, tree, id),
    }
}

fn kind(session: &Session, code: &CodeInfo, tree: &CallTree, id: NodeId) -> RowKind {
    let node = tree.node(id);
    match node.kind {
        NodeKind::Function(f) => RowKind::Function {
            name: session.function_name(f).to_owned(),
            location: location(session, code, f),
            application: code.is_application(f),
            recursion: node.recursion,
        },
        NodeKind::SelfTime => RowKind::SelfTime,
        NodeKind::Thread(t) => RowKind::Thread {
            name: session.threads[t].name.clone(),
        },
        NodeKind::Root => RowKind::SelfTime,
    }
}

/// Where a function is, as the terminal shows it: its file and first line, where it is
/// defined.
pub fn location(session: &Session, code: &CodeInfo, func: FuncId) -> String {
    let short = code.short_file(func);
    match session.function(func).first_line {
        0 => short.to_owned(),
        line => format!("{short}:{line}"),
    }
}
