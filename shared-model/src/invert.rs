//! The inverted (bottom-up) tree: where time was spent at the top level, and under each
//! function the paths that called it.
//!
//! Built from a processed tree, so what the processors removed or merged stays removed.
//! Each function node's self time is carried up its call path; a function's total in the
//! inverted tree is the time spent in its own code, summed over every caller.

use std::collections::HashMap;

use crate::ids::{FuncId, NodeId};
use crate::session::Session;
use crate::tree::{CallTree, NodeKind};

/// Inverts `tree`. Threads merge (a bottom-up view asks "which functions", not "which
/// thread"); library groups are dropped, as folding only makes sense top down.
pub fn inverted(session: &Session, tree: &CallTree) -> CallTree {
    let mut out = CallTree::empty();
    let mut child_of: HashMap<(NodeId, FuncId), NodeId> = HashMap::new();
    let mut path: Vec<(FuncId, u32)> = Vec::new();
    for id in tree.walk() {
        if !matches!(tree.node(id).kind, NodeKind::Function(_)) || !tree.is_real_child(session, id)
        {
            continue;
        }
        let own = tree.self_us(session, id);
        if own == 0 {
            continue;
        }
        let samples = tree.self_samples(session, id);
        path.clear();
        let mut cursor = Some(id);
        while let Some(n) = cursor {
            let node = tree.node(n);
            if let NodeKind::Function(f) = node.kind {
                if tree.is_real_child(session, n) {
                    path.push((f, node.line));
                }
            }
            cursor = node.parent;
        }
        let mut at = out.root;
        for &(func, line) in &path {
            at = *child_of
                .entry((at, func))
                .or_insert_with(|| out.add_node(at, NodeKind::Function(func), line));
            let node = out.node_mut(at);
            node.total_us += own;
            node.samples += samples;
        }
        let root = out.root;
        let r = out.node_mut(root);
        r.total_us += own;
        r.samples += samples;
    }
    for id in out.walk() {
        let mut children = std::mem::take(&mut out.node_mut(id).children);
        children.sort_by(|&a, &b| {
            let (na, nb) = (out.node(a), out.node(b));
            nb.total_us.cmp(&na.total_us).then(a.cmp(&b))
        });
        out.node_mut(id).children = children;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::{FunctionKind, Metadata, SessionBuilder};
    use crate::tree::TreeOptions;

    /// main → a → leaf (3 ms), main → b → leaf (1 ms), main (2 ms own).
    fn session() -> Session {
        let mut b = SessionBuilder::new(Metadata::default());
        let main = b.function("main", "app.py", 1, FunctionKind::Python);
        let a = b.function("a", "app.py", 10, FunctionKind::Python);
        let bb = b.function("b", "app.py", 20, FunctionKind::Python);
        let leaf = b.function("leaf", "app.py", 30, FunctionKind::Python);
        let (fm, fa, fb, fl) = (
            b.frame(main, 2),
            b.frame(a, 11),
            b.frame(bb, 21),
            b.frame(leaf, 31),
        );
        let s1 = b.stack_from_frames([fm, fa, fl]).unwrap();
        let s2 = b.stack_from_frames([fm, fb, fl]).unwrap();
        let s3 = b.stack_from_frames([fm]).unwrap();
        let t = b.add_thread(1, None, "MainThread", true);
        for (i, (stack, w)) in [(s1, 3000), (s2, 1000), (s3, 2000)].into_iter().enumerate() {
            b.push_sample(t, stack, i as u64 * 3000, w, None);
        }
        b.finish()
    }

    fn lines(session: &Session, tree: &CallTree) -> Vec<String> {
        let mut out = Vec::new();
        let mut stack = vec![(tree.root, 0usize)];
        while let Some((id, depth)) = stack.pop() {
            if let Some(f) = tree.func(id) {
                out.push(format!(
                    "{}{} {}",
                    "  ".repeat(depth - 1),
                    session.function_name(f),
                    tree.node(id).total_us
                ));
            }
            for &c in tree.node(id).children.iter().rev() {
                stack.push((c, depth + 1));
            }
        }
        out
    }

    #[test]
    fn self_time_climbs_each_call_path() {
        let s = session();
        let tree = CallTree::build(&s, &TreeOptions::default());
        let inv = inverted(&s, &tree);
        assert_eq!(inv.total_us(), tree.total_us());
        assert_eq!(
            lines(&s, &inv),
            [
                "leaf 4000",
                "  a 3000",
                "    main 3000",
                "  b 1000",
                "    main 1000",
                "main 2000",
            ]
        );
    }
}
