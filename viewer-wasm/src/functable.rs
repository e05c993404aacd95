//! The function table: every function with its self and total time, sortable; the
//! selected function's callers and callees beside it.

use std::rc::Rc;

use callscope_model::functions::Edge;
use web_sys::KeyboardEvent;
use yew::prelude::*;

use crate::rows::location;
use crate::state::{Action, SortColumn, State};
use crate::units::time;
use crate::virtual_list::VirtualList;

/// Must match `.frow`'s height in style.css.
pub const ROW_HEIGHT: f64 = 22.0;

#[derive(Properties, PartialEq)]
pub struct TableProps {
    pub state: UseReducerHandle<State>,
}

#[function_component(FunctionTableView)]
pub fn function_table(props: &TableProps) -> Html {
    let state = props.state.clone();
    let order = {
        let state = state.clone();
        let key = state.built.as_ref().map_or(0, |b| Rc::as_ptr(b) as usize);
        use_memo((key, state.sort), move |_| state.table_order())
    };
    let (Some(loaded), Some(built)) = (state.loaded.clone(), state.built.clone()) else {
        return html! {};
    };
    if order.is_empty() {
        return html! { <p class="empty">{"No samples in this selection."}</p> };
    }
    let table = &built.table;
    let total = table.total_us;
    let percent = state.settings.percent;
    let header = |column: SortColumn, text: &str, class: &str| {
        let state = state.clone();
        let sorted = state.sort == column;
        // Times sort heaviest first, names alphabetically.
        let (order, arrow) = match (sorted, column) {
            (false, _) => ("none", ""),
            (true, SortColumn::Name) => ("ascending", " ▴"),
            (true, _) => ("descending", " ▾"),
        };
        html! {
            <button class={classes!("th", class.to_owned(), sorted.then_some("sorted"))}
                    aria-sort={order}
                    onclick={Callback::from(move |_| state.dispatch(Action::Sort(column)))}>
                {text.to_owned()}{arrow}
            </button>
        }
    };
    let selected_index = state.func.and_then(|f| order.iter().position(|&g| g == f));
    let onkeydown = {
        let state = state.clone();
        let order = order.clone();
        Callback::from(move |e: KeyboardEvent| {
            let last = order.len() - 1;
            let i = selected_index;
            let next = match e.key().as_str() {
                "ArrowDown" => i.map_or(0, |i| (i + 1).min(last)),
                "ArrowUp" => i.map_or(0, |i| i.saturating_sub(1)),
                "Home" => 0,
                "End" => last,
                _ => return,
            };
            e.prevent_default();
            state.dispatch(Action::Function(Some(order[next])));
        })
    };
    let render = {
        let state = state.clone();
        let (order, loaded, built) = (order.clone(), loaded.clone(), built.clone());
        Callback::from(move |range: std::ops::Range<usize>| {
            html! {
                for &func in &order[range] {
                    {{
                        let row = built.table.get(func).cloned().unwrap_or_default();
                        let selected = state.func == Some(func);
                        let matched = state.matched.contains(&func);
                        let onclick = {
                            let state = state.clone();
                            Callback::from(move |_| state.dispatch(Action::Function(Some(func))))
                        };
                        html! {
                            <div class={classes!("frow", selected.then_some("selected"), matched.then_some("match"))}
                                 role="row" aria-selected={selected.to_string()} {onclick}>
                                <span class="time">{time(row.self_us, total, percent)}</span>
                                <span class="time">{time(row.total_us, total, percent)}</span>
                                <span class={classes!("name", loaded.code.is_application(func).then_some("app-code"))}>
                                    {loaded.session.function_name(func).to_owned()}
                                </span>
                                <span class="loc">{location(&loaded.session, &loaded.code, func)}</span>
                            </div>
                        }
                    }}
                }
            }
        })
    };
    let detail = state.func.filter(|f| table.get(*f).is_some()).map(|func| {
        let edges = |list: Vec<&Edge>, caller: bool| -> Html {
            if list.is_empty() {
                return html! { <p class="muted">{"none"}</p> };
            }
            html! {
                <ul>
                    { for list.into_iter().map(|e| {
                        let other = if caller { e.caller } else { e.callee };
                        let state = state.clone();
                        let onclick = Callback::from(move |_| state.dispatch(Action::Function(Some(other))));
                        html! {
                            <li {onclick}>
                                <span class="time">{time(e.total_us, total, percent)}</span>
                                <span class="name">{loaded.session.function_name(other).to_owned()}</span>
                                <span class="loc">{location(&loaded.session, &loaded.code, other)}</span>
                            </li>
                        }
                    }) }
                </ul>
            }
        };
        html! {
            <aside class="func-detail" id="func-detail">
                <h2>{loaded.session.function_name(func).to_owned()}</h2>
                <p class="loc">{location(&loaded.session, &loaded.code, func)}</p>
                <h3>{"Called by"}</h3>
                { edges(table.callers(func).collect(), true) }
                <h3>{"Calls"}</h3>
                { edges(table.callees(func).collect(), false) }
            </aside>
        }
    });
    html! {
        <div class="functions">
            <div class="table">
                <div class="frow thead" role="row">
                    { header(SortColumn::SelfTime, "Self", "time") }
                    { header(SortColumn::Total, "Total", "time") }
                    { header(SortColumn::Name, "Function", "name") }
                </div>
                <VirtualList id="function-table" role="grid" label="Functions" len={order.len()}
                    row_height={ROW_HEIGHT} {render} {onkeydown}
                    ensure_visible={selected_index} scroll_request={state.scroll_request} />
            </div>
            { for detail }
        </div>
    }
}
