//! The call tree view: virtualised rows, opened by click or keyboard.

use callscope_model::render::text::thousands;
use callscope_model::tree::CallTree;
use web_sys::KeyboardEvent;
use yew::prelude::*;

use crate::rows::{label, Row, RowKind};
use crate::state::{Action, NavKey, State};
use crate::units::{percent_of, time};
use crate::virtual_list::VirtualList;

/// Must match `.row`'s height in style.css.
pub const ROW_HEIGHT: f64 = 22.0;

#[derive(Properties, PartialEq)]
pub struct CallTreeProps {
    pub state: UseReducerHandle<State>,
}

fn nav_key(e: &KeyboardEvent) -> Option<NavKey> {
    if e.ctrl_key() || e.meta_key() || e.alt_key() {
        return None;
    }
    Some(match e.key().as_str() {
        "ArrowUp" => NavKey::Up,
        "ArrowDown" => NavKey::Down,
        "ArrowRight" => NavKey::Right,
        "ArrowLeft" => NavKey::Left,
        "Enter" | " " => NavKey::Toggle,
        "*" => NavKey::ExpandAll,
        "Home" => NavKey::Home,
        "End" => NavKey::End,
        "PageUp" => NavKey::PageUp,
        "PageDown" => NavKey::PageDown,
        _ => return None,
    })
}

#[function_component(CallTreeView)]
pub fn call_tree_view(props: &CallTreeProps) -> Html {
    let state = props.state.clone();
    let (Some(loaded), Some(built)) = (state.loaded.clone(), state.built.clone()) else {
        return html! {};
    };
    let rows = state.rows.clone();
    if rows.is_empty() {
        return html! { <p class="empty">{"No samples in this selection."}</p> };
    }
    let onkeydown = {
        let state = state.clone();
        Callback::from(move |e: KeyboardEvent| {
            if let Some(key) = nav_key(&e) {
                e.prevent_default();
                state.dispatch(Action::Key(key));
            }
        })
    };
    let selected_index = state
        .selected
        .and_then(|key| rows.iter().position(|r| r.key == key));
    let render = {
        let state = state.clone();
        Callback::from(move |range: std::ops::Range<usize>| {
            let tree = &built.tree;
            html! {
                for row in rows[range].iter() {
                    { tree_row(row, label(&loaded.session, &loaded.code, tree, &built.folding, row), tree, &state) }
                }
            }
        })
    };
    html! {
        <div class="tree-view">
            <div class="row thead" aria-hidden="true">
                <span class="time">{"Total"}</span>
                if !state.settings.percent {
                    <span class="pct">{"%"}</span>
                }
                <span class="self-time">{"Self"}</span>
                <span class="label">{if state.settings.inverted { "Function ← callers" } else { "Function → calls" }}</span>
            </div>
            <VirtualList id="calltree" role="tree" label="Call tree" len={state.rows.len()}
                row_height={ROW_HEIGHT} {render} {onkeydown}
                ensure_visible={selected_index} scroll_request={state.scroll_request} />
        </div>
    }
}

fn tree_row(row: &Row, kind: RowKind, tree: &CallTree, state: &UseReducerHandle<State>) -> Html {
    let onclick = {
        let state = state.clone();
        let key = row.key;
        let expandable = row.expandable;
        Callback::from(move |_| {
            state.dispatch(if expandable {
                Action::Toggle(key)
            } else {
                Action::Select(key)
            })
        })
    };
    let toggle = match (row.expandable, row.expanded) {
        (false, _) => " ",
        (true, true) => "▾",
        (true, false) => "▸",
    };
    let total = tree.total_us();
    let percent = state.settings.percent;
    let matched = tree
        .func(row.node)
        .is_some_and(|f| state.matched.contains(&f))
        && matches!(kind, RowKind::Function { .. });
    let self_time = match kind {
        RowKind::Function { .. } if row.self_us > 0 => time(row.self_us, total, percent),
        _ => String::new(),
    };
    let label = match kind {
        RowKind::Function {
            name,
            location,
            application,
            recursion,
        } => html! {
            <>
                <span class={classes!("name", application.then_some("app-code"))}>{name}</span>
                <span class="loc">{location}</span>
                if recursion > 0 {
                    <span class="recursion">
                        {format!("[× {} recursive calls]", thousands(recursion.into()))}
                    </span>
                }
            </>
        },
        RowKind::SelfTime => html! { <span class="name self">{"[self]"}</span> },
        RowKind::Thread { name } => html! { <span class="name thread">{name}</span> },
        RowKind::Group {
            hidden, libraries, ..
        } => html! {
            <span class="group">{format!("[{hidden} frames hidden] {}", libraries.join(", "))}</span>
        },
    };
    let selected = state.selected == Some(row.key);
    html! {
        <div class={classes!("row", selected.then_some("selected"), matched.then_some("match"))}
             role="treeitem" aria-level={(row.depth + 1).to_string()}
             aria-selected={selected.to_string()}
             aria-expanded={row.expandable.then(|| row.expanded.to_string())}
             {onclick}>
            <span class="time">{time(row.total_us, total, percent)}</span>
            if !percent {
                <span class="pct">{percent_of(row.total_us, total)}</span>
            }
            <span class="self-time" title="self time">{self_time}</span>
            // Deep recursion would push names off screen: indentation stops at 60 levels.
            <span class="label" style={format!("--depth:{}", row.depth.min(60))}>
                <span class="toggle">{toggle}</span>
                {label}
            </span>
        </div>
    }
}
