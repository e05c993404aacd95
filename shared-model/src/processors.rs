//! Processors: pure transformations of a [`CallTree`], applied in pyinstrument's default
//! order so that our trees match what its users are used to reading.
//!
//! Each processor takes the tree and the context it needs (the session for names and files,
//! [`CodeInfo`] for library detection, and the options) and rewrites the tree in place.

use regex::Regex;

use crate::ids::NodeId;
use crate::library::CodeInfo;
use crate::session::Session;
use crate::tree::{CallTree, Group, NodeKind};

/// A file-path pattern for showing or hiding library frames.
#[derive(Clone, Debug)]
pub struct PathPattern(Regex);

impl PathPattern {
    /// A regular expression matched at the start of the path, as Python's `re.match`.
    pub fn regex(pattern: &str) -> Result<Self, regex::Error> {
        Regex::new(&format!("^(?:{pattern})")).map(PathPattern)
    }

    /// A shell glob matched against the whole path, as Python's `fnmatch` (`*` crosses `/`).
    pub fn glob(pattern: &str) -> Result<Self, regex::Error> {
        let mut re = String::from("^");
        let mut chars = pattern.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '*' => re.push_str(".*"),
                '?' => re.push('.'),
                '[' => {
                    let mut class = String::new();
                    let mut closed = false;
                    if chars.peek() == Some(&'!') {
                        chars.next();
                        class.push('^');
                    }
                    for c in chars.by_ref() {
                        if c == ']' && !(class.is_empty() || class == "^") {
                            closed = true;
                            break;
                        }
                        if c == '\\' || c == '[' {
                            class.push('\\');
                        }
                        class.push(c);
                    }
                    if closed {
                        re.push('[');
                        re.push_str(&class);
                        re.push(']');
                    } else {
                        re.push_str(&regex::escape("["));
                        re.push_str(&regex::escape(class.trim_start_matches('^')));
                    }
                }
                c => re.push_str(&regex::escape(&c.to_string())),
            }
        }
        re.push('$');
        Regex::new(&re).map(PathPattern)
    }

    pub fn matches(&self, path: &str) -> bool {
        self.0.is_match(path)
    }
}

/// Options shared by every processor.
#[derive(Clone, Debug)]
pub struct ProcessorOptions {
    /// Nodes under this fraction of the total are removed (default 0.01, i.e. 1 %).
    pub filter_threshold: f64,
    /// Files whose frames are always shown; wins over `hide`.
    pub show: Option<PathPattern>,
    /// Files whose frames are grouped away even if they are project code.
    pub hide: Option<PathPattern>,
    /// Turn off every hiding processor: library grouping, importlib and
    /// `__tracebackhide__` removal and the threshold.
    pub show_all: bool,
    /// The tree is time-ordered: do not merge repeated calls.
    pub timeline: bool,
    /// Only samples taken in this range (microseconds since the session start): the
    /// viewer's range selection. The threshold is then a share of the range.
    pub time_range: Option<std::ops::Range<u64>>,
    /// Individual switches, for the viewer's toggles.
    pub group_library_frames: bool,
    pub remove_importlib: bool,
    /// Fold a function's direct calls of itself into one node (the terminal's default: a
    /// deep recursion would print a line per level).
    pub collapse_recursion: bool,
}

impl Default for ProcessorOptions {
    fn default() -> Self {
        ProcessorOptions {
            filter_threshold: 0.01,
            show: None,
            hide: None,
            show_all: false,
            timeline: false,
            time_range: None,
            group_library_frames: true,
            remove_importlib: true,
            collapse_recursion: false,
        }
    }
}

/// What a processor may read.
pub struct Context<'a> {
    pub session: &'a Session,
    pub code: &'a CodeInfo,
    pub options: &'a ProcessorOptions,
}

pub type Processor = fn(&mut CallTree, &Context);

/// The processors for `options`, in pyinstrument's default order.
pub fn default_processors(options: &ProcessorOptions) -> Vec<Processor> {
    let mut list: Vec<Processor> = Vec::new();
    let hiding = !options.show_all;
    if hiding && options.remove_importlib {
        list.push(remove_importlib);
    }
    if hiding {
        list.push(remove_tracebackhide);
    }
    list.push(merge_consecutive_self_time);
    if options.collapse_recursion && !options.timeline {
        list.push(collapse_direct_recursion);
    }
    if !options.timeline {
        list.push(aggregate_repeated_calls);
    }
    if hiding {
        list.push(remove_irrelevant_nodes);
    }
    list.push(remove_unnecessary_self_time_nodes);
    list.push(remove_profiler_frames);
    if hiding && options.group_library_frames {
        list.push(group_library_frames);
    }
    list
}

/// Runs the default processors for `options` over `tree`.
pub fn apply_default(
    tree: &mut CallTree,
    session: &Session,
    code: &CodeInfo,
    options: &ProcessorOptions,
) {
    let ctx = Context {
        session,
        code,
        options,
    };
    for p in default_processors(options) {
        p(tree, &ctx);
    }
}

/// Nodes reachable from the root, children before parents.
fn post_order(tree: &CallTree) -> Vec<NodeId> {
    let mut order = tree.walk();
    order.reverse();
    order
}

fn file_of<'a>(tree: &CallTree, ctx: &Context<'a>, id: NodeId) -> Option<&'a str> {
    tree.func(id).map(|f| ctx.session.function_file(f))
}

/// Removes `<frozen importlib._bootstrap>` frames, which clutter every import.
pub fn remove_importlib(tree: &mut CallTree, ctx: &Context) {
    for id in post_order(tree) {
        if file_of(tree, ctx, id).is_some_and(|f| f.contains("<frozen importlib._bootstrap")) {
            tree.replace_with_children(id);
        }
    }
}

/// Removes frames of functions that set `__tracebackhide__`, keeping their children.
pub fn remove_tracebackhide(tree: &mut CallTree, ctx: &Context) {
    for id in post_order(tree) {
        if tree
            .func(id)
            .is_some_and(|f| ctx.session.function(f).tracebackhide)
        {
            tree.replace_with_children(id);
        }
    }
}

/// Joins self-time nodes that sit next to each other.
pub fn merge_consecutive_self_time(tree: &mut CallTree, _ctx: &Context) {
    for id in tree.walk() {
        let children = tree.node(id).children.clone();
        let mut previous: Option<NodeId> = None;
        for c in children {
            if tree.node(c).kind == NodeKind::SelfTime {
                match previous {
                    Some(p) => tree.combine(c, p),
                    None => previous = Some(c),
                }
            } else {
                previous = None;
            }
        }
    }
}

/// Merges repeated calls along the same call path and sorts children heaviest first.
pub fn aggregate_repeated_calls(tree: &mut CallTree, _ctx: &Context) {
    let mut work = vec![tree.root];
    while let Some(id) = work.pop() {
        let children = tree.node(id).children.clone();
        let mut first_of: std::collections::HashMap<NodeKind, NodeId> = Default::default();
        for c in children {
            let kind = tree.node(c).kind;
            match first_of.get(&kind) {
                Some(&into) => tree.combine(c, into),
                None => {
                    first_of.insert(kind, c);
                }
            }
        }
        let mut children = std::mem::take(&mut tree.node_mut(id).children);
        children.sort_by_key(|&c| std::cmp::Reverse(tree.node(c).total_us));
        work.extend(children.iter().copied());
        tree.node_mut(id).children = children;
    }
}

/// Folds every call of a function made directly by itself into the outer call, as the
/// Firefox Profiler's "collapse direct recursion": the callees of every level become the
/// outer call's (merged by `aggregate_repeated_calls`, which runs next), and the node counts
/// the levels it folded. Times do not change: the outer call's total already holds them.
pub fn collapse_direct_recursion(tree: &mut CallTree, _ctx: &Context) {
    let mut work = vec![tree.root];
    while let Some(id) = work.pop() {
        if let NodeKind::Function(func) = tree.node(id).kind {
            loop {
                let same: Vec<NodeId> = (tree.node(id).children.iter().copied())
                    .filter(|&c| tree.node(c).kind == NodeKind::Function(func))
                    .collect();
                if same.is_empty() {
                    break;
                }
                for c in same {
                    tree.replace_with_children(c);
                }
                tree.node_mut(id).recursion += 1;
            }
        }
        work.extend(tree.node(id).children.iter().copied());
    }
}

/// Removes nodes that stand for less than `filter_threshold` of the whole tree.
pub fn remove_irrelevant_nodes(tree: &mut CallTree, ctx: &Context) {
    let total = tree.total_us().max(1) as f64;
    let threshold = ctx.options.filter_threshold;
    let mut work = vec![tree.root];
    while let Some(id) = work.pop() {
        for c in tree.node(id).children.clone() {
            if (tree.node(c).total_us as f64) / total < threshold {
                tree.detach(c);
            } else {
                work.push(c);
            }
        }
    }
}

/// Drops a self-time node that is its parent's only child: it says nothing new.
pub fn remove_unnecessary_self_time_nodes(tree: &mut CallTree, _ctx: &Context) {
    for id in tree.walk() {
        let children = &tree.node(id).children;
        if children.len() == 1 && tree.node(children[0]).kind == NodeKind::SelfTime {
            tree.detach(children[0]);
        }
    }
}

fn is_profiler_entry(file: &str) -> bool {
    let file = file.replace('\\', "/");
    [
        "pyinstrument/__main__.py",
        "callscope/__main__.py",
        "callscope/child.py",
        // Sessions recorded before the child had a module of its own.
        "callscope/cli.py",
        "callscope/runner.py",
    ]
    .iter()
    .any(|suffix| file.ends_with(suffix))
        || file.ends_with("/bin/pyinstrument")
        || file.ends_with("/bin/callscope")
}

fn is_launch_step(file: &str) -> bool {
    file == "<string>" || file.ends_with("runpy.py") || file == "<frozen runpy>"
}

/// The stack-table form of [`remove_profiler_frames`], for views built from stacks (the
/// function table): per stack, `Some(through_entry)` while the stack is still inside the
/// launcher's frames (`through_entry`: one of them was the profiler's entry point), `None`
/// from the program's first frame on.
pub(crate) fn launcher_prefix(session: &Session) -> Vec<Option<bool>> {
    let mut prefix: Vec<Option<bool>> = Vec::with_capacity(session.stacks.len());
    for stack in &session.stacks {
        let (parent_state, parent_file) = match stack.parent {
            // Parents come before children in the stack table.
            Some(p) => (prefix[p.index()], Some(stack_file(session, p))),
            None => (Some(false), None),
        };
        let state = parent_state.and_then(|through_entry| {
            let file = stack_file(session, crate::ids::StackId::from_index(prefix.len()));
            let after_runner =
                parent_file.is_some_and(|f| f.replace('\\', "/").ends_with("callscope/runner.py"));
            let entry = is_profiler_entry(file);
            ((entry || is_launch_step(file)) && !(after_runner && file == "<string>"))
                .then_some(through_entry || entry)
        });
        prefix.push(state);
    }
    prefix
}

fn stack_file(session: &Session, id: crate::ids::StackId) -> &str {
    session.function_file(session.frame(session.stack(id).frame).func)
}

/// Removes the frames of the profiler's command line that run the user's program: the
/// console script or `python -m` runpy frames, the profiler's `__main__`, the `exec` of
/// `<string>` and `runpy` again. Only a chain that passes through a profiler entry point is
/// removed, and only while each step holds most of its parent's time (as pyinstrument
/// does), so a program that itself uses runpy keeps its frames.
pub fn remove_profiler_frames(tree: &mut CallTree, ctx: &Context) {
    // Threads before the root, so the root's total is summed from updated thread totals.
    let mut parents: Vec<NodeId> = tree
        .node(tree.root)
        .children
        .iter()
        .copied()
        .filter(|&c| matches!(tree.node(c).kind, NodeKind::Thread(_)))
        .collect();
    parents.push(tree.root);
    for parent in parents {
        for top in tree.node(parent).children.clone() {
            let mut chain = Vec::new();
            let mut through_entry = false;
            let mut cursor = Some(top);
            let mut after_runner = false;
            while let Some(id) = cursor {
                let Some(file) = file_of(tree, ctx, id) else {
                    break;
                };
                let entry = is_profiler_entry(file);
                // callscope runs `-c` code as `<string>` itself: that frame is the program.
                if !(entry || is_launch_step(file)) || (after_runner && file == "<string>") {
                    break;
                }
                after_runner = file.replace('\\', "/").ends_with("callscope/runner.py");
                through_entry |= entry;
                chain.push(id);
                let node = tree.node(id);
                cursor = node
                    .children
                    .iter()
                    .copied()
                    .max_by_key(|&c| tree.node(c).total_us)
                    .filter(|&c| tree.node(c).total_us as f64 > 0.8 * node.total_us as f64);
            }
            if !through_entry {
                continue;
            }
            // The launcher's own small branches (its self time, its imports) go with it.
            for &id in &chain {
                let keep = tree
                    .node(id)
                    .children
                    .iter()
                    .copied()
                    .max_by_key(|&c| tree.node(c).total_us);
                for c in tree.node(id).children.clone() {
                    if Some(c) != keep {
                        tree.detach(c);
                    }
                }
                tree.replace_with_children(id);
            }
        }
        let total: u64 = tree
            .node(parent)
            .children
            .iter()
            .map(|&c| tree.node(c).total_us)
            .sum();
        let samples: u64 = tree
            .node(parent)
            .children
            .iter()
            .map(|&c| tree.node(c).samples)
            .sum();
        let node = tree.node_mut(parent);
        node.total_us = total;
        node.samples = samples;
    }
}

/// Folds runs of library frames into groups so the tree shows the project's code and the
/// library calls it made, with the library's internals one click away.
pub fn group_library_frames(tree: &mut CallTree, ctx: &Context) {
    let hidden = |tree: &CallTree, id: NodeId| -> bool {
        let (file, app) = match tree.node(id).kind {
            NodeKind::Function(f) => (ctx.session.function_file(f), ctx.code.is_application(f)),
            NodeKind::SelfTime => ("", false),
            NodeKind::Root | NodeKind::Thread(_) => return false,
        };
        if ctx.options.show.as_ref().is_some_and(|p| p.matches(file)) {
            return false;
        }
        if ctx.options.hide.as_ref().is_some_and(|p| p.matches(file)) {
            return true;
        }
        !app
    };
    let mut work = vec![tree.root];
    while let Some(id) = work.pop() {
        for c in tree.node(id).children.clone() {
            let starts_group = tree.node(c).group.is_none()
                && hidden(tree, c)
                && tree.node(c).children.iter().any(|&cc| hidden(tree, cc));
            if starts_group {
                let g = tree.groups.len();
                let mut members = Vec::new();
                let mut stack = vec![c];
                while let Some(m) = stack.pop() {
                    members.push(m);
                    tree.node_mut(m).group = Some(g);
                    for &cc in tree.node(m).children.iter().rev() {
                        if hidden(tree, cc) {
                            stack.push(cc);
                        }
                    }
                }
                tree.groups.push(Group { root: c, members });
            }
            work.push(c);
        }
    }
}
