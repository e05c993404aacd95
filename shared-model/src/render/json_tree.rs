//! A processed call tree as JSON, in the shape of pyinstrument's JSON renderer, for tools
//! that already read that.
//!
//! The text is written directly rather than through `serde_json::Value`: a tree may be
//! deeper than recursion over nested values (to build, serialise or drop them) can go.

use std::fmt::Write;

use crate::ids::NodeId;
use crate::library::CodeInfo;
use crate::processors::ProcessorOptions;
use crate::render::processed_tree;
use crate::session::Session;
use crate::tree::{CallTree, NodeKind};

/// Renders the processed tree of `threads` (all when empty) as a JSON document.
pub fn render(session: &Session, threads: &[usize], options: &ProcessorOptions) -> String {
    let code = CodeInfo::new(session);
    let tree = processed_tree(session, &code, threads, false, options);
    let m = &session.meta;
    let mut out = String::new();
    let _ = write!(
        out,
        "{{\"start_time\":{},\"duration\":{},\"sample_count\":{},\"target_description\":{},\"cpu_time\":{},\"root_frame\":",
        json_f64(m.start_time),
        json_f64(m.duration_us as f64 / 1e6),
        session.sample_count(),
        json_str(&format!("Program: {}", m.program)),
        json_f64(m.cpu_time_us.unwrap_or(0) as f64 / 1e6),
    );
    match tree.node(tree.root).children.as_slice() {
        [] => out.push_str("null"),
        [only] => write_node(&mut out, session, &code, &tree, *only),
        _ => write_node(&mut out, session, &code, &tree, tree.root),
    }
    out.push_str("}\n");
    out
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialise")
}

/// serde_json's own number formatting (non-finite numbers become `null`).
fn json_f64(x: f64) -> String {
    serde_json::to_string(&x).expect("floats serialise")
}

enum Step {
    Open(NodeId, bool),
    Close,
}

fn write_node(out: &mut String, session: &Session, code: &CodeInfo, tree: &CallTree, id: NodeId) {
    let mut work = vec![Step::Open(id, true)];
    while let Some(step) = work.pop() {
        let Step::Open(n, first) = step else {
            out.push_str("]}");
            continue;
        };
        let node = tree.node(n);
        let (function, file, short, app) = match node.kind {
            NodeKind::Function(f) => (
                session.function_name(f),
                session.function_file(f),
                code.short_file(f),
                code.is_application(f),
            ),
            NodeKind::SelfTime => ("[self]", "", "", false),
            NodeKind::Thread(t) => (session.threads[t].name.as_str(), "<thread>", "", false),
            NodeKind::Root => ("[root]", "", "", false),
        };
        if !first {
            out.push(',');
        }
        let _ = write!(
            out,
            "{{\"function\":{},\"file_path_short\":{},\"file_path\":{},\"line_no\":{},\"time\":{},\"self_time\":{},\"sample_count\":{},\"is_application_code\":{app}",
            json_str(function),
            json_str(short),
            json_str(file),
            node.line,
            json_f64(node.total_us as f64 / 1e6),
            json_f64(tree.self_us(session, n) as f64 / 1e6),
            node.samples,
        );
        if let Some(g) = node.group {
            let _ = write!(out, ",\"group_id\":{g}");
        }
        out.push_str(",\"children\":[");
        work.push(Step::Close);
        for (i, &c) in node.children.iter().enumerate().rev() {
            work.push(Step::Open(c, i == 0));
        }
    }
}
