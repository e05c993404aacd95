//! The terminal view, in the shape pyinstrument's users know: a header, then the call tree
//! with each node's time, name and `file:line`, library internals folded into
//! "[N frames hidden]" lines.

use std::fmt::Write;

use crate::functions::FunctionTable;
use crate::ids::NodeId;
use crate::library::CodeInfo;
use crate::processors::ProcessorOptions;
use crate::render::folding::Folding;
use crate::render::{format_utc, precision_for_interval, processed_tree};
use crate::session::Session;
use crate::tree::{CallTree, NodeKind};

/// How times are shown.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TimeFormat {
    #[default]
    Seconds,
    PercentOfTotal,
}

/// A flat profile instead of a tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlatMode {
    SelfTime,
    TotalTime,
}

#[derive(Clone, Debug)]
pub struct TextOptions {
    pub unicode: bool,
    pub color: bool,
    pub time: TimeFormat,
    pub flat: Option<FlatMode>,
    /// Threads to include (indices into `Session::threads`); empty means all.
    pub threads: Vec<usize>,
    /// Show each thread under its own heading when more than one has samples.
    pub split_threads: bool,
    pub processors: ProcessorOptions,
    /// Print the header (program, time, samples, duration, CPU).
    pub header: bool,
}

impl Default for TextOptions {
    fn default() -> Self {
        TextOptions {
            unicode: true,
            color: false,
            time: TimeFormat::Seconds,
            flat: None,
            threads: Vec::new(),
            split_threads: true,
            processors: ProcessorOptions::default(),
            header: true,
        }
    }
}

struct Colors {
    red: &'static str,
    yellow: &'static str,
    green: &'static str,
    faint_green: &'static str,
    app: &'static str,
    faint: &'static str,
    end: &'static str,
}

const COLORS: Colors = Colors {
    red: "\x1b[31m",
    yellow: "\x1b[33m",
    green: "\x1b[32m",
    faint_green: "\x1b[92m\x1b[2m",
    app: "\x1b[48;5;24m\x1b[38;5;15m",
    faint: "\x1b[2m",
    end: "\x1b[0m",
};
const NO_COLORS: Colors = Colors {
    red: "",
    yellow: "",
    green: "",
    faint_green: "",
    app: "",
    faint: "",
    end: "",
};

/// Renders `session` as text.
pub fn render(session: &Session, options: &TextOptions) -> String {
    let code = CodeInfo::new(session);
    let mut out = String::new();
    if options.header {
        out.push_str(&header(session));
    }
    let r = Renderer {
        session,
        code: &code,
        options,
        colors: if options.color { &COLORS } else { &NO_COLORS },
        precision: precision_for_interval(session.meta.interval_us),
    };
    if let Some(flat) = options.flat {
        r.flat(&mut out, flat);
    } else {
        let tree = processed_tree(
            session,
            &code,
            &options.threads,
            options.split_threads,
            &options.processors,
        );
        if tree.node(tree.root).children.is_empty() {
            out.push_str("No samples were recorded.\n");
        } else {
            TreeRenderer::new(&r, &tree).render(&mut out);
            r.hidden_threads(&mut out, &tree);
        }
    }
    out
}

/// `text` with control characters written as Python writes them in a string's repr
/// (`\x1b`, `\u2028`): names and paths come from the profiled program (or from a session
/// someone sent), and must not move the cursor, retitle the window or change colours.
pub fn plain(text: &str) -> std::borrow::Cow<'_, str> {
    // Line and paragraph separators break lines; bidi overrides reorder what follows.
    let unsafe_char = |c: char| {
        c.is_control()
            || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !text.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        let n = c as u32;
        match c {
            c if !unsafe_char(c) => out.push(c),
            _ if n < 0x100 => {
                let _ = write!(out, "\\x{n:02x}");
            }
            _ => {
                let _ = write!(out, "\\u{n:04x}");
            }
        }
    }
    std::borrow::Cow::Owned(out)
}

/// `12,345`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The header block: what ran, when, for how long, and how busy it kept the CPU.
pub fn header(session: &Session) -> String {
    let m = &session.meta;
    let duration = m.duration_us as f64 / 1e6;
    let mut out = String::new();
    let program = if m.program.is_empty() {
        "(unnamed)"
    } else {
        &m.program
    };
    let _ = writeln!(out, "callscope · {}", plain(program));
    let _ = write!(
        out,
        "Recorded: {}   Samples: {}   Duration: {duration:.3} s",
        format_utc(m.start_time),
        // The recorder counts sampling passes (one pass samples every thread).
        if m.counts.samples > 0 {
            m.counts.samples
        } else {
            session.sample_count() as u64
        }
    );
    if let Some(cpu) = m.cpu_time_us {
        let cpu = cpu as f64 / 1e6;
        if duration > 0.0 {
            let _ = write!(out, "   CPU: {cpu:.3} s ({:.0}%)", cpu / duration * 100.0);
        } else {
            let _ = write!(out, "   CPU: {cpu:.3} s");
        }
    }
    out.push('\n');
    let c = &m.counts;
    if c.late + c.missed + c.errors + c.torn > 0 {
        let _ = write!(
            out,
            "Sampling: {} late, {} missed, {} errors",
            c.late, c.missed, c.errors
        );
        if c.torn > 0 {
            let _ = write!(out, ", {} torn", c.torn);
        }
        out.push('\n');
    }
    // Thread states, for sessions whose recorder read the GIL.
    let shares: Vec<_> = session
        .threads
        .iter()
        .filter_map(|t| Some((t, t.samples.state_shares()?)))
        .collect();
    if shares.iter().any(|(_, s)| s.gil_held + s.gil_waiting > 0.0) {
        // A line per thread, but not hundreds for a thread pool.
        const SHOWN: usize = 8;
        let (shown, more) = match shares.len() {
            n if n > SHOWN + 1 => (SHOWN, n - SHOWN),
            n => (n, 0),
        };
        for &(t, ref s) in &shares[..shown] {
            let _ = writeln!(
                out,
                "{}: GIL held {:.0} %, waiting {:.0} %; on CPU {:.0} %",
                plain(&t.name),
                s.gil_held * 100.0,
                s.gil_waiting * 100.0,
                s.on_cpu * 100.0
            );
        }
        if more > 0 {
            let _ = writeln!(out, "... and {more} more threads");
        }
    }
    out.push('\n');
    out
}

struct Renderer<'a> {
    session: &'a Session,
    code: &'a CodeInfo,
    options: &'a TextOptions,
    colors: &'a Colors,
    precision: usize,
}

impl Renderer<'_> {
    /// Says which threads the threshold left out of a tree that shows threads apart: a
    /// pool of many short workers can be most of a program's time, each too little alone.
    fn hidden_threads(&self, out: &mut String, tree: &CallTree) {
        let shown: Vec<usize> = tree
            .node(tree.root)
            .children
            .iter()
            .filter_map(|&c| match tree.node(c).kind {
                NodeKind::Thread(t) => Some(t),
                _ => None,
            })
            .collect();
        if shown.is_empty() {
            return;
        }
        let wanted =
            |i: usize| self.options.threads.is_empty() || self.options.threads.contains(&i);
        let hidden: Vec<u64> = (self.session.threads.iter().enumerate())
            .filter(|&(i, t)| wanted(i) && !t.samples.is_empty() && !shown.contains(&i))
            .map(|(_, t)| t.samples.total_weight_us())
            .collect();
        if hidden.is_empty() {
            return;
        }
        let seconds = hidden.iter().sum::<u64>() as f64 / 1e6;
        let (n, s) = (hidden.len(), if hidden.len() == 1 { "" } else { "s" });
        let _ = writeln!(
            out,
            "\n{}{n} more thread{s} below the threshold, {seconds:.prec$} s in all \
             (--show-all or show_all=True shows them){}",
            self.colors.faint,
            self.colors.end,
            prec = self.precision,
        );
    }

    fn time(&self, us: u64, total: u64) -> String {
        let proportion = if total == 0 {
            1.0
        } else {
            us as f64 / total as f64
        };
        let c = self.colors;
        let color = if proportion > 0.6 {
            c.red
        } else if proportion > 0.2 {
            c.yellow
        } else if proportion > 0.05 {
            c.green
        } else {
            c.faint_green
        };
        let text = match self.options.time {
            TimeFormat::Seconds => format!("{:.*}", self.precision, us as f64 / 1e6),
            TimeFormat::PercentOfTotal => format!("{:.1}%", proportion * 100.0),
        };
        format!("{color}{text}{}", c.end)
    }

    /// `name  file:line`, where the line is the function's first line, as pyinstrument
    /// shows it: the executing line varies between the samples a node aggregates.
    fn function(&self, func: crate::ids::FuncId) -> String {
        let c = self.colors;
        let name = plain(self.session.function_name(func));
        let color = if self.code.is_application(func) {
            c.app
        } else {
            ""
        };
        let end = if color.is_empty() { "" } else { c.end };
        let file = plain(self.code.short_file(func));
        let line = self.session.function(func).first_line;
        match (file.is_empty(), line) {
            (true, _) => format!("{color}{name}{end}"),
            (false, 0) => format!("{color}{name}{end}  {}{file}{}", c.faint, c.end),
            (false, line) => format!("{color}{name}{end}  {}{file}:{line}{}", c.faint, c.end),
        }
    }

    fn flat(&self, out: &mut String, mode: FlatMode) {
        let table = FunctionTable::build(self.session, &self.options.threads, None);
        let mut rows: Vec<(u64, crate::ids::FuncId)> = table
            .rows
            .iter()
            .map(|r| {
                (
                    if mode == FlatMode::SelfTime {
                        r.self_us
                    } else {
                        r.total_us
                    },
                    r.func,
                )
            })
            .collect();
        rows.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        if rows.is_empty() {
            out.push_str("No samples were recorded.\n");
        }
        for (us, func) in rows {
            if !self.options.processors.show_all && (us as f64) < table.total_us as f64 * 0.001 {
                continue;
            }
            let _ = writeln!(
                out,
                "{} {}",
                self.time(us, table.total_us),
                self.function(func)
            );
        }
    }
}

struct TreeRenderer<'a> {
    r: &'a Renderer<'a>,
    tree: &'a CallTree,
    root_total: u64,
    folding: Folding,
}

/// Branch glyphs: (middle child, continuing line, last child, blank).
fn glyphs(unicode: bool) -> [&'static str; 4] {
    if unicode {
        ["├─ ", "│  ", "└─ ", "   "]
    } else {
        ["|- ", "|  ", "`- ", "   "]
    }
}

impl<'a> TreeRenderer<'a> {
    fn new(r: &'a Renderer<'a>, tree: &'a CallTree) -> Self {
        TreeRenderer {
            r,
            tree,
            root_total: tree.total_us(),
            folding: Folding::new(r.session, tree),
        }
    }

    fn render(&self, out: &mut String) {
        let roots = &self.tree.node(self.tree.root).children;
        for &top in roots {
            self.node(out, top, "", "");
        }
    }

    fn visible(&self, id: NodeId) -> bool {
        self.folding.visible(self.tree, id)
    }

    fn description(&self, id: NodeId) -> String {
        let node = self.tree.node(id);
        let time = self.r.time(node.total_us, self.root_total);
        match node.kind {
            NodeKind::Function(func) if node.recursion > 0 => {
                let times = if self.r.options.unicode { "×" } else { "x" };
                format!(
                    "{time} {}  {}[{times} {} recursive calls]{}",
                    self.r.function(func),
                    self.r.colors.faint,
                    thousands(node.recursion.into()),
                    self.r.colors.end
                )
            }
            NodeKind::Function(func) => format!("{time} {}", self.r.function(func)),
            NodeKind::SelfTime => format!("{time} [self]"),
            NodeKind::Thread(t) => {
                let thread = &self.r.session.threads[t];
                format!(
                    "{time} {}  {}(thread {}){}",
                    plain(&thread.name),
                    self.r.colors.faint,
                    thread.id,
                    self.r.colors.end
                )
            }
            NodeKind::Root => time,
        }
    }

    fn group_line(&self, g: usize) -> String {
        let (hidden, libraries) = self.folding.hidden(self.tree, self.r.code, g);
        let mut names = plain(&libraries.join(", ")).into_owned();
        if names.chars().count() > 40 {
            names = names.chars().take(37).collect::<String>() + "...";
        }
        let c = self.r.colors;
        format!(
            "[{} frames hidden]  {}{names}{}\n",
            hidden.len(),
            c.faint,
            c.end
        )
    }

    /// Prints `id` and everything below it. Iterative, because a session read from a file
    /// may be far deeper than a native stack can recurse.
    fn node(&self, out: &mut String, id: NodeId, indent: &str, child_indent: &str) {
        let mut work = vec![(id, indent.to_owned(), child_indent.to_owned())];
        while let Some((id, indent, child_indent)) = work.pop() {
            let mut marks = glyphs(self.r.options.unicode);
            if self.visible(id) {
                let _ = writeln!(out, "{indent}{}", self.description(id));
                if let Some(g) = self.tree.node(id).group {
                    if self.tree.groups[g].root == id && self.folding.collapses(g) {
                        let _ = write!(out, "{child_indent}   {}", self.group_line(g));
                        marks = ["      "; 4];
                    }
                }
            } else {
                // Hidden group members print nothing, and neither does their indent.
                marks = [""; 4];
            }
            let children = &self.tree.node(id).children;
            let last_visible = children.iter().rposition(|&c| self.visible(c));
            for (i, &c) in children.iter().enumerate().rev() {
                let (branch, cont) = if last_visible.is_some_and(|l| i < l) {
                    (marks[0], marks[1])
                } else {
                    (marks[2], marks[3])
                };
                work.push((
                    c,
                    format!("{child_indent}{branch}"),
                    format!("{child_indent}{cont}"),
                ));
            }
        }
    }
}
