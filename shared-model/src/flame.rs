//! Flame graph layout: one rectangle per call-tree node, `x` and `width` in microseconds.
//!
//! Laid out from an aggregated tree the graph is the classic flame graph (heaviest child
//! first, after `aggregate_repeated_calls`); from a timeline tree it is a time-ordered
//! flame chart. Self-time nodes take space but draw nothing.

use crate::ids::{FuncId, NodeId};
use crate::tree::{CallTree, NodeKind};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlameRect {
    pub node: NodeId,
    pub func: FuncId,
    pub depth: u32,
    pub x_us: u64,
    pub width_us: u64,
}

/// Rectangles for every function node below `from` (the root for the whole graph),
/// parents before children. `x_us` starts at 0 at `from`'s left edge.
pub fn layout(tree: &CallTree, from: NodeId) -> Vec<FlameRect> {
    let mut rects = Vec::new();
    let mut work = vec![(from, 0u64, 0u32)];
    while let Some((id, x, depth)) = work.pop() {
        let node = tree.node(id);
        let child_depth = match node.kind {
            NodeKind::Function(func) => {
                rects.push(FlameRect {
                    node: id,
                    func,
                    depth,
                    x_us: x,
                    width_us: node.total_us,
                });
                depth + 1
            }
            _ => depth,
        };
        let mut cx = x;
        for &c in &node.children {
            let child = tree.node(c);
            if child.kind != NodeKind::SelfTime {
                work.push((c, cx, child_depth));
            }
            cx += child.total_us;
        }
    }
    rects
}
