//! Everything the viewer knows, and every change a user can make, as a reducer. The trees,
//! rows and search matches are derived here when their inputs change, so components only
//! draw, and the whole behaviour is tested on the host (`tests/state.rs`).

use std::collections::HashSet;
use std::rc::Rc;

use callscope_model::functions::FunctionTable;
use callscope_model::invert::inverted;
use callscope_model::library::CodeInfo;
use callscope_model::processors::ProcessorOptions;
use callscope_model::render::folding::Folding;
use callscope_model::render::processed_tree;
use callscope_model::timeline::Timeline;
use callscope_model::tree::{CallTree, NodeKind};
use callscope_model::{FuncId, NodeId, Session};
use yew::Reducible;

use crate::hash::HashState;
use crate::rows::{visible_rows, Expansion, Row, RowKey};
use crate::search::Query;
use crate::window::{Window, KEY_PAN, KEY_ZOOM};

/// A session on screen, with what every view derives from it once.
pub struct Loaded {
    pub name: String,
    pub session: Session,
    pub code: CodeInfo,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum View {
    #[default]
    Tree,
    Timeline,
    Flame,
    Functions,
}

impl View {
    pub const ALL: [View; 4] = [View::Tree, View::Timeline, View::Flame, View::Functions];

    pub fn id(self) -> &'static str {
        match self {
            View::Tree => "tree",
            View::Timeline => "timeline",
            View::Flame => "flame",
            View::Functions => "functions",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            View::Tree => "Call tree",
            View::Timeline => "Timeline",
            View::Flame => "Flame graph",
            View::Functions => "Functions",
        }
    }

    pub fn from_id(id: &str) -> Option<View> {
        View::ALL.into_iter().find(|v| v.id() == id)
    }
}

/// The toggles above the views. Everything but `percent` changes the tree.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub group_libraries: bool,
    pub remove_importlib: bool,
    /// Show times as a percentage of the selection instead of seconds.
    pub percent: bool,
    /// Nodes under this percentage of the total are folded into their parent's self time.
    pub threshold_pct: f64,
    pub inverted: bool,
    /// With every thread selected: one tree for all of them instead of a subtree each.
    pub merge_threads: bool,
    /// A function's direct calls of itself fold into one row, as in the terminal.
    pub collapse_recursion: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            group_libraries: true,
            remove_importlib: true,
            percent: false,
            threshold_pct: 1.0,
            inverted: false,
            merge_threads: false,
            collapse_recursion: true,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SortColumn {
    SelfTime,
    #[default]
    Total,
    Name,
}

/// Keys the call tree answers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NavKey {
    Up,
    Down,
    /// Opens a closed row, or moves to the first child of an open one.
    Right,
    /// Closes an open row, or moves to the parent.
    Left,
    Toggle,
    /// `*`: opens everything below the selected row.
    ExpandAll,
    Home,
    End,
    PageUp,
    PageDown,
}

const PAGE: usize = 20;

/// Keys the timeline answers to (its vertical scroll is the component's).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimelineKey {
    ZoomIn,
    ZoomOut,
    Left,
    Right,
    /// `0`: the whole session.
    Reset,
}

/// A span of the timeline: its lane (thread), depth and index in that depth's row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpanKey {
    pub thread: usize,
    pub depth: usize,
    pub index: usize,
}

/// What the timeline shows: its window (`None`: the whole session), vertical scroll,
/// folded lanes and selected span.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TimelineView {
    pub window: Option<Window>,
    pub scroll_y: f64,
    pub collapsed: Rc<HashSet<usize>>,
    /// Groups of similar threads (by their first thread) opened or folded against the
    /// default: folded when there are many lanes.
    pub groups_toggled: Rc<HashSet<usize>>,
    pub selected: Option<SpanKey>,
}

/// The tree and tables for the current thread and settings.
pub struct Built {
    pub tree: CallTree,
    pub folding: Folding,
    /// Depends on the thread only, so a settings change keeps it.
    pub table: Rc<FunctionTable>,
}

impl Built {
    /// `table`: the previous build's, when the thread is the same.
    pub fn new(
        loaded: &Loaded,
        thread: Option<usize>,
        range: Option<(u64, u64)>,
        settings: &Settings,
        table: Option<Rc<FunctionTable>>,
    ) -> Self {
        let threads: Vec<usize> = thread.into_iter().collect();
        let options = ProcessorOptions {
            filter_threshold: settings.threshold_pct.max(0.0) / 100.0,
            group_library_frames: settings.group_libraries,
            remove_importlib: settings.remove_importlib,
            collapse_recursion: settings.collapse_recursion,
            time_range: range.map(|(a, b)| a..b),
            ..ProcessorOptions::default()
        };
        let s = &loaded.session;
        let mut tree = processed_tree(
            s,
            &loaded.code,
            &threads,
            !settings.inverted && !settings.merge_threads,
            &options,
        );
        if settings.inverted {
            tree = inverted(s, &tree);
        }
        let folding = Folding::new(s, &tree);
        let table = table.unwrap_or_else(|| {
            Rc::new(FunctionTable::build(s, &threads, range.map(|(a, b)| a..b)))
        });
        Built {
            tree,
            folding,
            table,
        }
    }

    /// Whether `id` is a node of the tree as it stands (processors unlink, not delete).
    pub fn contains(&self, id: NodeId) -> bool {
        id.index() < self.tree.nodes.len()
            && (id == self.tree.root || self.tree.node(id).parent.is_some())
    }
}

#[derive(Clone, Default)]
pub struct State {
    pub loaded: Option<Rc<Loaded>>,
    pub built: Option<Rc<Built>>,
    /// The last failure, shown above the previous session (which stays usable).
    pub error: Option<String>,
    pub loading: Option<String>,
    pub dragging: bool,
    /// `None`: every thread.
    pub thread: Option<usize>,
    pub view: View,
    pub settings: Settings,
    pub expansion: Rc<Expansion>,
    pub rows: Rc<Vec<Row>>,
    /// The call tree's selected row.
    pub selected: Option<RowKey>,
    /// The flame graph's zoomed node and selected (outlined) node.
    pub zoom: Option<NodeId>,
    pub flame_selected: Option<NodeId>,
    /// The function table's selection and order.
    pub func: Option<FuncId>,
    pub sort: SortColumn,
    pub query: String,
    /// Functions whose name or file matches the query.
    pub matched: Rc<HashSet<FuncId>>,
    /// Tree nodes of matched functions, in the tree's reading order.
    pub matches: Rc<Vec<NodeId>>,
    /// Which match the last jump went to, in the current view's list.
    pub current_match: Option<usize>,
    /// Bumped when the call tree should scroll its selection into view.
    pub scroll_request: u64,
    /// What the URL asked for, applied to the first session that loads.
    pub restore: Option<HashState>,
    /// The theme a host page chose ("dark", "light"); `None` follows the system.
    pub theme: Option<String>,
    /// Whether the system's scheme is dark: views draw their canvases from the page's
    /// colours, and must draw again when it changes.
    pub system_dark: bool,
    /// The time range (µs since the session start) the tree, flame graph and table show:
    /// the timeline's selection.
    pub range: Option<(u64, u64)>,
    /// The timeline's layout, made the first time the timeline is shown.
    pub timeline: Option<Rc<Timeline>>,
    pub tl: TimelineView,
}

fn same<T>(a: &Option<Rc<T>>, b: &Option<Rc<T>>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => Rc::ptr_eq(a, b),
        (None, None) => true,
        _ => false,
    }
}

impl PartialEq for State {
    fn eq(&self, other: &Self) -> bool {
        same(&self.loaded, &other.loaded)
            && same(&self.built, &other.built)
            && Rc::ptr_eq(&self.rows, &other.rows)
            && Rc::ptr_eq(&self.matched, &other.matched)
            && self.error == other.error
            && self.loading == other.loading
            && self.dragging == other.dragging
            && self.thread == other.thread
            && self.view == other.view
            && self.settings == other.settings
            && self.selected == other.selected
            && self.zoom == other.zoom
            && self.flame_selected == other.flame_selected
            && self.func == other.func
            && self.sort == other.sort
            && self.query == other.query
            && self.current_match == other.current_match
            && self.scroll_request == other.scroll_request
            && self.theme == other.theme
            && self.system_dark == other.system_dark
            && self.range == other.range
            && same(&self.timeline, &other.timeline)
            && self.tl == other.tl
    }
}

pub enum Action {
    Loading(String),
    Loaded(String, Box<Session>),
    Failed(String),
    Dragging(bool),
    Thread(Option<usize>),
    Settings(Settings),
    View(View),
    Toggle(RowKey),
    Select(RowKey),
    Key(NavKey),
    Zoom(Option<NodeId>),
    FlameSelect(Option<NodeId>),
    /// Selects a function in the table (and shows its callers and callees).
    Function(Option<FuncId>),
    Sort(SortColumn),
    Query(String),
    /// Jumps to the next (`true`) or previous search match in the current view.
    Jump(bool),
    /// Shows a node in the call tree: its path opened, the row selected.
    Reveal(NodeId),
    /// A host page changed the theme (already applied to the page; the canvas redraws).
    Theme(Option<String>),
    /// The system's colour scheme changed (to dark: true).
    SystemDark(bool),
    /// Restricts the tree, flame graph and table to a time range, or shows everything.
    Range(Option<(u64, u64)>),
    TimelineWindow(Window),
    /// Zooms the timeline by a factor (above 1: in) about a point of its window (0: left
    /// edge, 1: right edge): a wheel or pinch, relative so that a burst of events composes.
    TimelineZoom(f64, f64),
    /// Pans the timeline by a fraction of its window's width.
    TimelinePan(f64),
    TimelineKey(TimelineKey),
    /// Scrolls the lanes by a number of pixels, within `[0, max]`.
    TimelineScroll(f64, f64),
    /// Folds or unfolds a thread's lane.
    TimelineLane(usize),
    /// Opens or folds the group of similar threads whose first thread this is.
    TimelineGroup(usize),
    TimelineSelect(Option<SpanKey>),
    /// Shows a call path of a thread (outermost function first) in the call tree.
    RevealPath(usize, Vec<FuncId>),
}

impl State {
    /// A state that starts with what the URL's hash asks for.
    pub fn from_hash(hash: &str) -> Self {
        let restore = HashState::parse(hash);
        State {
            view: restore.view,
            settings: restore.settings.clone(),
            query: restore.query.clone(),
            range: restore.range,
            restore: Some(restore),
            ..State::default()
        }
    }

    /// The hash that brings a reload back here.
    pub fn hash(&self) -> String {
        HashState {
            view: self.view,
            thread: self.thread,
            settings: self.settings.clone(),
            selected: self.selected,
            zoom: self.zoom,
            func: self.func,
            query: self.query.clone(),
            range: self.range,
            window: self.tl.window.map(|w| (w.from as u64, w.to.ceil() as u64)),
        }
        .format()
    }

    /// The threads the timeline draws a lane for: the one chosen, or every thread that has
    /// samples.
    pub fn timeline_lanes(&self) -> Vec<usize> {
        let Some(loaded) = &self.loaded else {
            return Vec::new();
        };
        match self.thread {
            Some(t) => vec![t],
            None => (0..loaded.session.threads.len())
                .filter(|&t| !loaded.session.threads[t].samples.is_empty())
                .collect(),
        }
    }

    /// The timeline's bounds and current window.
    pub fn timeline_window(&self) -> Option<(f64, f64, Window)> {
        let t = self.timeline.as_ref()?;
        let (start, end) = (t.start_us as f64, t.end_us as f64);
        let w = self.tl.window.unwrap_or(Window::new(start, end));
        Some((start, end, w.clamp(start, end)))
    }

    fn ensure_timeline(&mut self) {
        if self.view == View::Timeline && self.timeline.is_none() {
            if let Some(loaded) = &self.loaded {
                self.timeline = Some(Rc::new(Timeline::build(&loaded.session)));
            }
        }
    }

    fn set_window(&mut self, w: Window) {
        if let Some((start, end, _)) = self.timeline_window() {
            self.tl.window = Some(w.clamp(start, end));
        }
    }

    fn timeline_key(&mut self, key: TimelineKey) {
        let Some((_, _, w)) = self.timeline_window() else {
            return;
        };
        match key {
            TimelineKey::ZoomIn => self.set_window(w.zoom(KEY_ZOOM, 0.5)),
            TimelineKey::ZoomOut => self.set_window(w.zoom(1.0 / KEY_ZOOM, 0.5)),
            TimelineKey::Left => self.set_window(w.pan(-KEY_PAN)),
            TimelineKey::Right => self.set_window(w.pan(KEY_PAN)),
            TimelineKey::Reset => self.tl.window = None,
        }
    }

    fn reveal_path(&mut self, thread: usize, path: &[FuncId]) {
        let Some(built) = self.built.clone() else {
            return;
        };
        let tree = &built.tree;
        let split = tree
            .node(tree.root)
            .children
            .iter()
            .any(|&c| matches!(tree.node(c).kind, NodeKind::Thread(_)));
        let node = if self.settings.inverted {
            let reversed: Vec<FuncId> = path.iter().rev().copied().collect();
            tree.find_path(None, &reversed)
        } else {
            tree.find_path(split.then_some(thread), path)
        };
        self.view = View::Tree;
        if node != tree.root {
            self.reveal(node);
        }
    }

    /// Rebuilds the tree for the current thread and settings, with its first expansion.
    /// `keep_table`: only settings changed, so the function table still holds.
    fn rebuild(&mut self, keep_table: bool) {
        let Some(loaded) = &self.loaded else {
            return;
        };
        let table = keep_table
            .then(|| self.built.as_ref().map(|b| b.table.clone()))
            .flatten();
        let built = Rc::new(Built::new(
            loaded,
            self.thread,
            self.range,
            &self.settings,
            table,
        ));
        self.expansion = Rc::new(Expansion::heaviest_path(&built.tree, 12));
        self.built = Some(built);
        self.selected = None;
        self.zoom = None;
        self.flame_selected = None;
        self.current_match = None;
        self.refresh_matches();
        self.refresh_rows();
    }

    fn refresh_rows(&mut self) {
        let (Some(loaded), Some(built)) = (&self.loaded, &self.built) else {
            self.rows = Rc::default();
            return;
        };
        self.rows = Rc::new(visible_rows(
            &loaded.session,
            &built.tree,
            &built.folding,
            &self.expansion,
        ));
    }

    fn refresh_matches(&mut self) {
        let (Some(loaded), Some(built)) = (&self.loaded, &self.built) else {
            return;
        };
        let query = Query::new(&self.query);
        let matched = query.functions(&loaded.session, &loaded.code);
        self.matches = Rc::new(
            built
                .tree
                .walk()
                .into_iter()
                .filter(|&id| built.tree.func(id).is_some_and(|f| matched.contains(&f)))
                .collect(),
        );
        self.matched = Rc::new(matched);
        self.current_match = None;
    }

    /// The functions of the table in its current order.
    pub fn table_order(&self) -> Vec<FuncId> {
        let (Some(loaded), Some(built)) = (&self.loaded, &self.built) else {
            return Vec::new();
        };
        let mut rows: Vec<_> = built.table.rows.iter().collect();
        match self.sort {
            SortColumn::Total => {}
            SortColumn::SelfTime => rows.sort_by_key(|r| std::cmp::Reverse(r.self_us)),
            SortColumn::Name => rows.sort_by(|a, b| {
                loaded
                    .session
                    .function_name(a.func)
                    .to_lowercase()
                    .cmp(&loaded.session.function_name(b.func).to_lowercase())
            }),
        }
        rows.into_iter().map(|r| r.func).collect()
    }

    fn selected_index(&self) -> Option<usize> {
        let key = self.selected?;
        self.rows.iter().position(|r| r.key == key)
    }

    fn toggle(&mut self, key: RowKey) {
        let e = Rc::make_mut(&mut self.expansion);
        match key {
            RowKey::Node(id) => {
                if !e.nodes.remove(&id) {
                    e.nodes.insert(id);
                }
            }
            RowKey::Group(g) => {
                if !e.groups.remove(&g) {
                    e.groups.insert(g);
                }
            }
        }
        self.refresh_rows();
    }

    fn set_expanded(&mut self, key: RowKey, open: bool) {
        let is_open = match key {
            RowKey::Node(id) => self.expansion.nodes.contains(&id),
            RowKey::Group(g) => self.expansion.groups.contains(&g),
        };
        if is_open != open {
            self.toggle(key);
        }
    }

    fn select_row(&mut self, index: usize) {
        if let Some(row) = self.rows.get(index) {
            self.selected = Some(row.key);
            self.scroll_request += 1;
        }
    }

    fn key(&mut self, key: NavKey) {
        if self.rows.is_empty() {
            return;
        }
        let Some(i) = self.selected_index() else {
            self.select_row(0);
            return;
        };
        let row = self.rows[i].clone();
        let last = self.rows.len() - 1;
        match key {
            NavKey::Up => self.select_row(i.saturating_sub(1)),
            NavKey::Down => self.select_row((i + 1).min(last)),
            NavKey::PageUp => self.select_row(i.saturating_sub(PAGE)),
            NavKey::PageDown => self.select_row((i + PAGE).min(last)),
            NavKey::Home => self.select_row(0),
            NavKey::End => self.select_row(last),
            NavKey::Right if row.expandable && !row.expanded => self.set_expanded(row.key, true),
            NavKey::Right if row.expanded => self.select_row((i + 1).min(last)),
            NavKey::Right => {}
            NavKey::Left if row.expanded => self.set_expanded(row.key, false),
            NavKey::Left => {
                if let Some(p) = self.rows[..i].iter().rposition(|r| r.depth < row.depth) {
                    self.select_row(p);
                }
            }
            NavKey::Toggle if row.expandable => self.toggle(row.key),
            NavKey::Toggle => {}
            NavKey::ExpandAll => self.expand_all_below(row.node),
        }
    }

    fn expand_all_below(&mut self, from: NodeId) {
        let Some(built) = self.built.clone() else {
            return;
        };
        let e = Rc::make_mut(&mut self.expansion);
        for id in built.tree.walk_from(from) {
            if !built.tree.node(id).children.is_empty() {
                e.nodes.insert(id);
            }
        }
        self.refresh_rows();
    }

    /// Opens every row on the way to `id` (groups included) and selects it.
    fn reveal(&mut self, id: NodeId) {
        let Some(built) = self.built.clone() else {
            return;
        };
        if !built.contains(id) {
            return;
        }
        let tree = &built.tree;
        let e = Rc::make_mut(&mut self.expansion);
        let mut cursor = Some(id);
        while let Some(n) = cursor {
            if n != id && n != tree.root {
                e.nodes.insert(n);
            }
            if let Some(g) = tree.node(n).group {
                if !built.folding.visible(tree, n) {
                    e.groups.insert(g);
                }
            }
            cursor = tree.node(n).parent;
        }
        self.refresh_rows();
        self.selected = Some(RowKey::Node(id));
        self.scroll_request += 1;
    }

    fn jump(&mut self, forward: bool) {
        if self.view == View::Timeline {
            return self.timeline_jump(forward);
        }
        let table_matches: Vec<FuncId> = match self.view {
            View::Functions => self
                .table_order()
                .into_iter()
                .filter(|f| self.matched.contains(f))
                .collect(),
            View::Tree | View::Flame | View::Timeline => Vec::new(),
        };
        let count = match self.view {
            View::Functions => table_matches.len(),
            View::Tree | View::Flame | View::Timeline => self.matches.len(),
        };
        if count == 0 || self.query.is_empty() {
            self.current_match = None;
            return;
        }
        let next = match (self.current_match, forward) {
            (None, true) => 0,
            (None, false) => count - 1,
            (Some(i), true) => (i + 1) % count,
            (Some(i), false) => (i + count - 1) % count,
        };
        self.current_match = Some(next);
        match self.view {
            View::Tree => self.reveal(self.matches[next]),
            View::Flame => {
                let node = self.matches[next];
                let inside = self.zoom.is_none_or(|z| self.is_ancestor_or_self(z, node));
                if !inside {
                    self.zoom = None;
                }
                self.flame_selected = Some(node);
            }
            View::Functions => {
                self.func = Some(table_matches[next]);
                self.scroll_request += 1;
            }
            View::Timeline => {}
        }
    }

    /// Selects the next (or previous) span of a matched function in time order, across the
    /// lanes, and brings it into the window.
    fn timeline_jump(&mut self, forward: bool) {
        let Some(timeline) = self.timeline.clone() else {
            return;
        };
        if self.query.trim().is_empty() || self.matched.is_empty() {
            return;
        }
        let lanes = self.timeline_lanes();
        // Spans are ordered by (start, lane, depth).
        let order = |k: SpanKey| {
            let pos = lanes.iter().position(|&t| t == k.thread).unwrap_or(0);
            (
                timeline.lanes[k.thread].rows[k.depth].start_us[k.index],
                pos,
                k.depth,
            )
        };
        let current = self
            .tl
            .selected
            .filter(|k| lanes.contains(&k.thread))
            .map(order);
        let mut best: Option<(SpanKey, (u64, usize, usize))> = None;
        let mut wrapped: Option<(SpanKey, (u64, usize, usize))> = None;
        for &t in &lanes {
            for (depth, row) in timeline.lanes[t].rows.iter().enumerate() {
                let hits = (0..row.len()).filter(|&i| self.matched.contains(&row.func[i]));
                for index in hits {
                    let key = SpanKey {
                        thread: t,
                        depth,
                        index,
                    };
                    let o = order(key);
                    let ahead = match current {
                        None => true,
                        Some(c) if forward => o > c,
                        Some(c) => o < c,
                    };
                    let better = |b: &Option<(SpanKey, (u64, usize, usize))>| {
                        b.is_none_or(|(_, bo)| if forward { o < bo } else { o > bo })
                    };
                    if ahead && better(&best) {
                        best = Some((key, o));
                    }
                    if better(&wrapped) {
                        wrapped = Some((key, o));
                    }
                }
            }
        }
        let Some((key, _)) = best.or(wrapped) else {
            return;
        };
        self.tl.selected = Some(key);
        let span = timeline.lanes[key.thread].span(key.depth, key.index);
        if let Some((_, _, w)) = self.timeline_window() {
            let (a, b) = (span.start_us as f64, span.end_us as f64);
            if a < w.from || b > w.to {
                let width = w.width().max((b - a) * 1.1);
                let mid = (a + b) / 2.0;
                self.set_window(Window::new(mid - width / 2.0, mid + width / 2.0));
            }
        }
    }

    fn is_ancestor_or_self(&self, ancestor: NodeId, node: NodeId) -> bool {
        let Some(built) = &self.built else {
            return false;
        };
        let mut cursor = Some(node);
        while let Some(n) = cursor {
            if n == ancestor {
                return true;
            }
            cursor = built.tree.node(n).parent;
        }
        false
    }

    /// Applies what the URL asked for, once the first session is built.
    fn restore(&mut self, hash: HashState) {
        let Some(loaded) = &self.loaded else {
            return;
        };
        if hash
            .thread
            .is_some_and(|t| t < loaded.session.threads.len())
        {
            self.thread = hash.thread;
            self.rebuild(false);
        }
        self.ensure_timeline();
        if let Some((from, to)) = hash.window {
            self.set_window(Window::new(from as f64, to as f64));
        }
        let Some(built) = self.built.clone() else {
            return;
        };
        match hash.selected {
            Some(RowKey::Node(id)) if built.contains(id) => self.reveal(id),
            Some(RowKey::Group(g)) if g < built.tree.groups.len() => {
                let root = built.tree.groups[g].root;
                if built.contains(root) {
                    self.reveal(root);
                    self.set_expanded(RowKey::Node(root), true);
                    self.selected = Some(RowKey::Group(g));
                }
            }
            _ => {}
        }
        self.zoom = hash.zoom.filter(|&z| built.contains(z));
        self.func = hash.func.filter(|f| built.table.get(*f).is_some());
    }
}

impl Reducible for State {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut s = (*self).clone();
        match action {
            Action::Loading(name) => {
                s.loading = Some(name);
                s.dragging = false;
            }
            Action::Loaded(name, session) => {
                let code = CodeInfo::new(&session);
                s.loaded = Some(Rc::new(Loaded {
                    name,
                    session: *session,
                    code,
                }));
                s.error = None;
                s.loading = None;
                s.thread = None;
                s.func = None;
                s.timeline = None;
                s.tl = TimelineView::default();
                // What the URL asked for holds for the first session; a new file starts whole.
                if s.restore.is_none() {
                    s.range = None;
                }
                s.rebuild(false);
                s.ensure_timeline();
                if let Some(hash) = s.restore.take() {
                    s.restore(hash);
                }
            }
            Action::Failed(message) => {
                s.error = Some(message);
                s.loading = None;
                s.dragging = false;
            }
            Action::Dragging(on) => s.dragging = on,
            Action::Thread(t) => {
                s.thread = t;
                s.func = None;
                s.tl.selected = None;
                s.rebuild(false);
            }
            Action::Settings(settings) => {
                let rebuild = Settings {
                    percent: s.settings.percent,
                    ..settings.clone()
                } != s.settings;
                s.settings = settings;
                if rebuild {
                    s.rebuild(true);
                }
            }
            Action::View(v) => {
                s.view = v;
                s.current_match = None;
                s.ensure_timeline();
            }
            Action::Toggle(key) => {
                s.selected = Some(key);
                s.toggle(key);
            }
            Action::Select(key) => s.selected = Some(key),
            Action::Key(key) => s.key(key),
            Action::Zoom(z) => {
                s.zoom = z;
                s.flame_selected = z;
            }
            Action::FlameSelect(n) => s.flame_selected = n,
            Action::Function(f) => {
                s.func = f;
                s.scroll_request += 1;
            }
            Action::Sort(c) => s.sort = c,
            Action::Query(q) => {
                if q != s.query {
                    s.query = q;
                    s.refresh_matches();
                }
            }
            Action::Jump(forward) => s.jump(forward),
            Action::Reveal(id) => {
                s.view = View::Tree;
                s.reveal(id);
            }
            Action::Theme(theme) => s.theme = theme,
            Action::SystemDark(dark) => s.system_dark = dark,
            Action::Range(range) => {
                let range = range.filter(|(a, b)| a < b);
                if range != s.range {
                    s.range = range;
                    s.rebuild(false);
                }
            }
            Action::TimelineWindow(w) => s.set_window(w),
            Action::TimelineZoom(factor, at) => {
                if let Some((_, _, w)) = s.timeline_window() {
                    s.set_window(w.zoom(factor, at));
                }
            }
            Action::TimelinePan(by) => {
                if let Some((_, _, w)) = s.timeline_window() {
                    s.set_window(w.pan(by));
                }
            }
            Action::TimelineKey(key) => s.timeline_key(key),
            Action::TimelineScroll(by, max) => {
                s.tl.scroll_y = (s.tl.scroll_y + by).clamp(0.0, max.max(0.0))
            }
            Action::TimelineLane(t) => toggle(Rc::make_mut(&mut s.tl.collapsed), t),
            Action::TimelineGroup(t) => toggle(Rc::make_mut(&mut s.tl.groups_toggled), t),
            Action::TimelineSelect(key) => s.tl.selected = key,
            Action::RevealPath(thread, path) => s.reveal_path(thread, &path),
        }
        Rc::new(s)
    }
}

fn toggle(set: &mut HashSet<usize>, item: usize) {
    if !set.remove(&item) {
        set.insert(item);
    }
}
