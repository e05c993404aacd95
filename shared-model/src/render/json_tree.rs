//! A processed call tree as JSON, in the shape of pyinstrument's JSON renderer, for tools
//! that already read that.

use serde_json::{json, Map, Value};

use crate::ids::NodeId;
use crate::library::CodeInfo;
use crate::processors::ProcessorOptions;
use crate::render::processed_tree;
use crate::session::Session;
use crate::tree::{CallTree, NodeKind};

/// Renders the processed tree of `threads` (all when empty).
pub fn render(session: &Session, threads: &[usize], options: &ProcessorOptions) -> Value {
    let code = CodeInfo::new(session);
    let tree = processed_tree(session, &code, threads, options);
    let m = &session.meta;
    let roots = &tree.node(tree.root).children;
    let root = match roots.as_slice() {
        [] => Value::Null,
        [only] => node_json(session, &code, &tree, *only),
        _ => node_json(session, &code, &tree, tree.root),
    };
    json!({
        "start_time": m.start_time,
        "duration": m.duration_us as f64 / 1e6,
        "sample_count": session.sample_count(),
        "target_description": format!("Program: {}", m.program),
        "cpu_time": m.cpu_time_us.unwrap_or(0) as f64 / 1e6,
        "root_frame": root,
    })
}

fn node_json(session: &Session, code: &CodeInfo, tree: &CallTree, id: NodeId) -> Value {
    // Built bottom-up without recursion: Python allows stacks deeper than a native stack
    // comfortably recurses through serde values.
    let order = {
        let mut order = Vec::new();
        let mut stack = vec![id];
        while let Some(n) = stack.pop() {
            order.push(n);
            stack.extend(tree.node(n).children.iter().copied());
        }
        order
    };
    let mut built: std::collections::HashMap<NodeId, Value> = std::collections::HashMap::new();
    for &n in order.iter().rev() {
        let node = tree.node(n);
        let (function, file, short, app) = match node.kind {
            NodeKind::Function(f) => (
                session.function_name(f).to_owned(),
                session.function_file(f).to_owned(),
                code.short_file(f).to_owned(),
                code.is_application(f),
            ),
            NodeKind::SelfTime => ("[self]".to_owned(), String::new(), String::new(), false),
            NodeKind::Thread(t) => (
                session.threads[t].name.clone(),
                "<thread>".to_owned(),
                String::new(),
                false,
            ),
            NodeKind::Root => ("[root]".to_owned(), String::new(), String::new(), false),
        };
        let children: Vec<Value> = node
            .children
            .iter()
            .filter_map(|c| built.remove(c))
            .collect();
        let mut obj = Map::new();
        obj.insert("function".into(), function.into());
        obj.insert("file_path_short".into(), short.into());
        obj.insert("file_path".into(), file.into());
        obj.insert("line_no".into(), node.line.into());
        obj.insert("time".into(), (node.total_us as f64 / 1e6).into());
        obj.insert(
            "self_time".into(),
            (tree.self_us(session, n) as f64 / 1e6).into(),
        );
        obj.insert("sample_count".into(), node.samples.into());
        obj.insert("is_application_code".into(), app.into());
        obj.insert("children".into(), children.into());
        if let Some(g) = node.group {
            obj.insert("group_id".into(), g.into());
        }
        built.insert(n, Value::Object(obj));
    }
    built.remove(&id).unwrap_or(Value::Null)
}
