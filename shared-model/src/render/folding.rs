//! Which library frames a view folds into "[N frames hidden]" lines. The terminal and the
//! viewer both ask here, so they hide the same frames.

use crate::ids::NodeId;
use crate::library::CodeInfo;
use crate::session::Session;
use crate::tree::CallTree;

/// The folding decisions for one processed tree.
pub struct Folding {
    /// Per group: whether it folds (a group that would hide fewer than two frames does not).
    collapses: Vec<bool>,
    /// Per node: whether it stays visible inside its folded group.
    keeps: Vec<bool>,
}

impl Folding {
    pub fn new(session: &Session, tree: &CallTree) -> Self {
        let root_total = tree.total_us();
        let keeps: Vec<bool> = (0..tree.nodes.len())
            .map(|i| {
                let id = NodeId::from_index(i);
                let node = tree.node(id);
                let Some(g) = node.group else {
                    return true;
                };
                // A group's entry, a frame with heavy self time, and a frame that calls out
                // of the group (into project code) stay visible.
                tree.groups[g].root == id
                    || tree.self_us(session, id) as f64 > 0.2 * root_total as f64
                    || node.children.iter().any(|&c| tree.node(c).group != Some(g))
            })
            .collect();
        let collapses = tree
            .groups
            .iter()
            .map(|g| g.members.iter().filter(|m| !keeps[m.index()]).count() >= 2)
            .collect();
        Folding { collapses, keeps }
    }

    /// Whether group `g` is folded.
    pub fn collapses(&self, g: usize) -> bool {
        self.collapses[g]
    }

    /// Whether `id` is shown when its group is folded.
    pub fn visible(&self, tree: &CallTree, id: NodeId) -> bool {
        match tree.node(id).group {
            Some(g) if self.collapses[g] => self.keeps[id.index()],
            _ => true,
        }
    }

    /// The members a folded group `g` hides, and the libraries they belong to, in order of
    /// appearance ("asyncio, selectors").
    pub fn hidden(&self, tree: &CallTree, code: &CodeInfo, g: usize) -> (Vec<NodeId>, Vec<String>) {
        let hidden: Vec<NodeId> = tree.groups[g]
            .members
            .iter()
            .copied()
            .filter(|&m| !self.visible(tree, m))
            .collect();
        let mut libraries: Vec<String> = Vec::new();
        for &m in &hidden {
            if let Some(func) = tree.func(m) {
                let lib = code.library(func);
                if !lib.is_empty() && !libraries.iter().any(|l| l == lib) {
                    libraries.push(lib.to_owned());
                }
            }
        }
        (hidden, libraries)
    }
}
