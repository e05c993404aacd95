//! The call tree: samples folded into nodes with total and self time.
//!
//! A tree is an arena of [`Node`]s under a synthetic root. Each function node's `total_us`
//! is the wall time of every sample that passed through it; its self time is what is left
//! after its real children, so time that processors remove below a node (nodes under the
//! threshold, say) shows up as that node's self time — the same arithmetic pyinstrument uses,
//! which keeps our numbers comparable with its output.
//!
//! Self time recorded while a function was the innermost frame is kept as an explicit
//! [`NodeKind::SelfTime`] child, so a time-ordered tree can show *when* a function ran its
//! own code between calls.

use std::collections::HashMap;
use std::ops::Range;

use crate::ids::{FuncId, NodeId, StackId};
use crate::session::{FunctionKind, Session};

/// What a node stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NodeKind {
    Root,
    /// A thread, placed under the root when a tree keeps threads apart.
    Thread(usize),
    Function(FuncId),
    /// Time spent in the parent's own code.
    SelfTime,
}

/// A group of library frames folded into one line ("[5 frames hidden] asyncio, json").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// The outermost node of the group, which stays visible.
    pub root: NodeId,
    /// Every node in the group, the root included.
    pub members: Vec<NodeId>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub kind: NodeKind,
    /// The line that was executing: the heaviest line for an aggregated node.
    pub line: u32,
    pub total_us: u64,
    pub samples: u64,
    pub parent: Option<NodeId>,
    pub children: Vec<NodeId>,
    pub group: Option<usize>,
    /// Direct recursive calls folded into this node (see `collapse_direct_recursion`).
    pub recursion: u32,
}

/// Which samples go into a tree.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TreeOptions {
    /// Thread indices to include; empty means every thread.
    pub threads: Vec<usize>,
    /// Keep calls in time order instead of merging repeated calls.
    pub timeline: bool,
    /// Put a node per thread under the root instead of merging threads together.
    pub split_threads: bool,
    /// Only samples taken in this range of microseconds since the session start.
    pub time_range: Option<Range<u64>>,
}

/// A built call tree; node ids index [`CallTree::nodes`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallTree {
    pub nodes: Vec<Node>,
    pub groups: Vec<Group>,
    pub root: NodeId,
}

impl CallTree {
    pub(crate) fn empty() -> Self {
        let root = Node {
            kind: NodeKind::Root,
            line: 0,
            total_us: 0,
            samples: 0,
            parent: None,
            children: Vec::new(),
            group: None,
            recursion: 0,
        };
        CallTree {
            nodes: vec![root],
            groups: Vec::new(),
            root: NodeId(0),
        }
    }

    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.index()]
    }

    pub fn node_mut(&mut self, id: NodeId) -> &mut Node {
        &mut self.nodes[id.index()]
    }

    pub fn total_us(&self) -> u64 {
        self.node(self.root).total_us
    }

    pub fn func(&self, id: NodeId) -> Option<FuncId> {
        match self.node(id).kind {
            NodeKind::Function(f) => Some(f),
            _ => None,
        }
    }

    /// Whether a node counts towards its parent's children rather than its self time.
    /// Self-time nodes and pseudo frames like `[await]` are the parent's own time.
    pub fn is_real_child(&self, session: &Session, id: NodeId) -> bool {
        match self.node(id).kind {
            NodeKind::Function(f) => session.function(f).kind != FunctionKind::Pseudo,
            NodeKind::Thread(_) => true,
            NodeKind::Root | NodeKind::SelfTime => false,
        }
    }

    /// Time spent in the node itself: its total less its real children's totals.
    pub fn self_us(&self, session: &Session, id: NodeId) -> u64 {
        self.own(session, id, |n| n.total_us)
    }

    /// Samples taken in the node itself, by the same rule as [`CallTree::self_us`].
    pub fn self_samples(&self, session: &Session, id: NodeId) -> u64 {
        self.own(session, id, |n| n.samples)
    }

    fn own(&self, session: &Session, id: NodeId, value: impl Fn(&Node) -> u64) -> u64 {
        let node = self.node(id);
        if node.kind == NodeKind::SelfTime {
            return value(node);
        }
        let children: u64 = node
            .children
            .iter()
            .filter(|&&c| self.is_real_child(session, c))
            .map(|&c| value(self.node(c)))
            .sum();
        value(node).saturating_sub(children)
    }

    /// The node a call path (outermost function first) ends at in this tree, as deep as
    /// the tree follows it: a function the processors removed or folded is stepped over.
    /// `thread` picks the thread's node in a tree that keeps threads apart.
    pub fn find_path(&self, thread: Option<usize>, path: &[FuncId]) -> NodeId {
        let mut at = self.root;
        if let Some(t) = thread {
            if let Some(&n) = self
                .node(at)
                .children
                .iter()
                .find(|&&c| self.node(c).kind == NodeKind::Thread(t))
            {
                at = n;
            }
        }
        for &func in path {
            let child = self
                .node(at)
                .children
                .iter()
                .filter(|&&c| self.node(c).kind == NodeKind::Function(func))
                .max_by_key(|&&c| self.node(c).total_us);
            if let Some(&c) = child {
                at = c;
            }
        }
        at
    }

    pub(crate) fn add_node(&mut self, parent: NodeId, kind: NodeKind, line: u32) -> NodeId {
        let id = NodeId::from_index(self.nodes.len());
        self.nodes.push(Node {
            kind,
            line,
            total_us: 0,
            samples: 0,
            parent: Some(parent),
            children: Vec::new(),
            group: None,
            recursion: 0,
        });
        self.nodes[parent.index()].children.push(id);
        id
    }

    /// Node ids reachable from the root, depth first, parents before children.
    pub fn walk(&self) -> Vec<NodeId> {
        self.walk_from(self.root)
    }

    /// Node ids below and including `from`, depth first, parents before children.
    pub fn walk_from(&self, from: NodeId) -> Vec<NodeId> {
        let mut order = Vec::new();
        let mut stack = vec![from];
        while let Some(id) = stack.pop() {
            order.push(id);
            stack.extend(self.node(id).children.iter().rev());
        }
        order
    }

    /// Builds a tree from `session`'s samples.
    pub fn build(session: &Session, options: &TreeOptions) -> CallTree {
        let threads: Vec<usize> = if options.threads.is_empty() {
            (0..session.threads.len()).collect()
        } else {
            options
                .threads
                .iter()
                .copied()
                .filter(|&t| t < session.threads.len())
                .collect()
        };
        let mut tree = CallTree::empty();
        let root = tree.root;
        if options.split_threads || (options.timeline && threads.len() > 1) {
            for &t in &threads {
                let thread_node = tree.add_node(root, NodeKind::Thread(t), 0);
                tree.fill(session, &[t], thread_node, options);
            }
        } else {
            tree.fill(session, &threads, root, options);
        }
        // A thread with no samples in range would only add an empty line.
        let mut kept = std::mem::take(&mut tree.nodes[root.index()].children);
        kept.retain(|&c| tree.node(c).samples > 0);
        tree.nodes[root.index()].children = kept;
        tree.update_total(root);
        tree
    }

    fn fill(&mut self, session: &Session, threads: &[usize], under: NodeId, options: &TreeOptions) {
        if options.timeline {
            for &t in threads {
                self.fill_timeline(session, t, under, options.time_range.as_ref());
            }
        } else {
            self.fill_aggregated(session, threads, under, options.time_range.as_ref());
        }
        self.update_total(under);
    }

    fn update_total(&mut self, id: NodeId) {
        let children = &self.node(id).children;
        let total = children.iter().map(|&c| self.node(c).total_us).sum();
        let samples = children.iter().map(|&c| self.node(c).samples).sum();
        let node = self.node_mut(id);
        node.total_us = total;
        node.samples = samples;
    }

    /// Merged by call path: the cost is one pass over the samples plus one over the stack
    /// table, independent of stack depth.
    fn fill_aggregated(
        &mut self,
        session: &Session,
        threads: &[usize],
        under: NodeId,
        range: Option<&Range<u64>>,
    ) {
        let n = session.stacks.len();
        let (mut weight, mut count) = session.stack_weights(threads, range);
        let own_weight = weight.clone();
        let own_count = count.clone();
        for i in (0..n).rev() {
            if let Some(p) = session.stacks[i].parent {
                weight[p.index()] += weight[i];
                count[p.index()] += count[i];
            }
        }
        let mut node_of: Vec<Option<NodeId>> = vec![None; n];
        let mut child_index: HashMap<(NodeId, FuncId), NodeId> = HashMap::new();
        let mut self_child: HashMap<NodeId, NodeId> = HashMap::new();
        let mut lines: Vec<(NodeId, u32, u64)> = Vec::new();
        for i in 0..n {
            if count[i] == 0 {
                continue;
            }
            let stack = &session.stacks[i];
            let parent = stack.parent.map_or(Some(under), |p| node_of[p.index()]);
            let Some(parent) = parent else { continue };
            let frame = session.frame(stack.frame);
            let node = *child_index.entry((parent, frame.func)).or_insert_with(|| {
                self.add_node(parent, NodeKind::Function(frame.func), frame.line)
            });
            let n_ref = &mut self.nodes[node.index()];
            n_ref.total_us += weight[i];
            n_ref.samples += count[i];
            node_of[i] = Some(node);
            lines.push((node, frame.line, weight[i]));
            if own_count[i] > 0 {
                let self_node = *self_child
                    .entry(node)
                    .or_insert_with(|| self.add_node(node, NodeKind::SelfTime, frame.line));
                let s_ref = &mut self.nodes[self_node.index()];
                s_ref.total_us += own_weight[i];
                s_ref.samples += own_count[i];
            }
        }
        // The line a node shows is the one that carried the most time.
        lines.sort_unstable_by_key(|&(node, line, _)| (node, line));
        let mut best: HashMap<NodeId, (u64, u32)> = HashMap::new();
        for chunk in lines.chunk_by(|a, b| a.0 == b.0 && a.1 == b.1) {
            let (node, line) = (chunk[0].0, chunk[0].1);
            let w: u64 = chunk.iter().map(|c| c.2).sum();
            let entry = best.entry(node).or_insert((0, line));
            if w > entry.0 {
                *entry = (w, line);
            }
        }
        for (node, (_, line)) in best {
            self.nodes[node.index()].line = line;
        }
        // Heaviest first, as every view wants an aggregated tree.
        let mut children = Vec::new();
        for id in self.walk_from(under) {
            children.clone_from(&self.node(id).children);
            children.sort_by_key(|&c| std::cmp::Reverse(self.node(c).total_us));
            self.nodes[id.index()].children.clone_from(&children);
        }
    }

    /// In time order: consecutive samples share a node while they share the call path, and
    /// a new call of the same function after something else ran gets a node of its own.
    fn fill_timeline(
        &mut self,
        session: &Session,
        thread: usize,
        under: NodeId,
        range: Option<&Range<u64>>,
    ) {
        let s = &session.threads[thread].samples;
        let mut path: Vec<(FuncId, NodeId)> = Vec::new();
        let mut chain: Vec<StackId> = Vec::new();
        for i in 0..s.len() {
            if range.is_some_and(|r| !r.contains(&s.time_us[i])) {
                continue;
            }
            let w = s.weight_us[i];
            chain.clear();
            let mut cursor = Some(s.stack[i]);
            while let Some(id) = cursor {
                chain.push(id);
                cursor = session.stack(id).parent;
            }
            chain.reverse();
            let common = path
                .iter()
                .zip(&chain)
                .take_while(|((func, _), &st)| session.frame(session.stack(st).frame).func == *func)
                .count();
            path.truncate(common);
            for &st in &chain[common..] {
                let frame = session.frame(session.stack(st).frame);
                let parent = path.last().map_or(under, |&(_, n)| n);
                let node = self.add_node(parent, NodeKind::Function(frame.func), frame.line);
                path.push((frame.func, node));
            }
            for &(_, node) in &path {
                let n = &mut self.nodes[node.index()];
                n.total_us += w;
                n.samples += 1;
            }
            let leaf = path.last().map_or(under, |&(_, n)| n);
            let last_child = self.node(leaf).children.last().copied();
            let self_node = match last_child {
                Some(c) if self.node(c).kind == NodeKind::SelfTime => c,
                _ => {
                    let line = session.frame(session.stack(s.stack[i]).frame).line;
                    self.add_node(leaf, NodeKind::SelfTime, line)
                }
            };
            let n = &mut self.nodes[self_node.index()];
            n.total_us += w;
            n.samples += 1;
        }
    }
}

/// Surgery used by the processors. A removed node is only unlinked: nothing walks to it
/// any more, and ids stay stable for the caller.
impl CallTree {
    fn position_in_parent(&self, id: NodeId) -> Option<(NodeId, usize)> {
        let parent = self.node(id).parent?;
        let pos = self.node(parent).children.iter().position(|&c| c == id)?;
        Some((parent, pos))
    }

    /// Removes `id`, putting its children where it was. Its parent keeps its total, so the
    /// time is unchanged on every path.
    pub fn replace_with_children(&mut self, id: NodeId) {
        let Some((parent, pos)) = self.position_in_parent(id) else {
            return;
        };
        let children = std::mem::take(&mut self.nodes[id.index()].children);
        for &c in &children {
            self.nodes[c.index()].parent = Some(parent);
        }
        self.nodes[parent.index()]
            .children
            .splice(pos..=pos, children);
        self.nodes[id.index()].parent = None;
        self.leave_group(id);
    }

    /// Removes `id` and everything below it. The parent keeps its total, so the removed
    /// time becomes the parent's self time.
    pub fn detach(&mut self, id: NodeId) {
        let Some((parent, pos)) = self.position_in_parent(id) else {
            return;
        };
        self.nodes[parent.index()].children.remove(pos);
        self.nodes[id.index()].parent = None;
        let mut stack = vec![id];
        while let Some(n) = stack.pop() {
            self.leave_group(n);
            stack.extend(self.node(n).children.iter().copied());
        }
    }

    /// Folds sibling `from` into `into`: times add up and the children are appended.
    pub fn combine(&mut self, from: NodeId, into: NodeId) {
        let children = std::mem::take(&mut self.nodes[from.index()].children);
        for &c in &children {
            self.nodes[c.index()].parent = Some(into);
        }
        let (total, samples) = (self.node(from).total_us, self.node(from).samples);
        let target = &mut self.nodes[into.index()];
        target.total_us += total;
        target.samples += samples;
        target.children.extend(children);
        if let Some((parent, pos)) = self.position_in_parent(from) {
            self.nodes[parent.index()].children.remove(pos);
        }
        self.nodes[from.index()].parent = None;
        self.leave_group(from);
    }

    fn leave_group(&mut self, id: NodeId) {
        let Some(g) = self.nodes[id.index()].group.take() else {
            return;
        };
        let group = &mut self.groups[g];
        group.members.retain(|&m| m != id);
        // A group of one hides nothing.
        if group.members.len() == 1 {
            let last = group.members.pop().expect("one member");
            self.nodes[last.index()].group = None;
        } else if group.root == id {
            if let Some(&first) = group.members.first() {
                group.root = first;
            }
        }
    }
}
