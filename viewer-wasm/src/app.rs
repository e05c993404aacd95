//! The page: loading (drop, file picker, `?url=`), errors, the header, the toolbar and the
//! current view. Components only draw and dispatch; `state` does the work.

use std::rc::Rc;

use callscope_model::render::format_utc;
use wasm_bindgen::JsCast;
use web_sys::{DragEvent, HtmlElement, HtmlInputElement, KeyboardEvent};
use yew::prelude::*;

use crate::calltree::CallTreeView;
use crate::dom::{prefers_dark, set_theme, Listener};
use crate::flamegraph::FlameGraph;
use crate::functable::FunctionTableView;
use crate::load::{load_embedded, load_file, load_url};
use crate::state::{Action, Loaded, Settings, State, View};
use crate::timeline::{range_text, TimelineView};

fn location_hash() -> String {
    web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default()
}

fn query_param(name: &str) -> Option<String> {
    web_sys::window()
        .and_then(|w| w.location().search().ok())
        .and_then(|q| web_sys::UrlSearchParams::new_with_str(&q).ok())
        .and_then(|p| p.get(name))
}

/// Reads `{type: "callscope-theme", theme: "dark" | "light" | null}` from a host page.
fn theme_message(e: &web_sys::Event) -> Option<Option<String>> {
    let data = e.dyn_ref::<web_sys::MessageEvent>()?.data();
    let kind = js_sys::Reflect::get(&data, &"type".into())
        .ok()?
        .as_string()?;
    (kind == "callscope-theme").then(|| {
        js_sys::Reflect::get(&data, &"theme".into())
            .ok()
            .and_then(|t| t.as_string())
    })
}

fn write_hash(hash: Option<String>) {
    let (Some(hash), Some(window)) = (hash, web_sys::window()) else {
        return;
    };
    if location_hash() != hash {
        if let Ok(history) = window.history() {
            let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&hash));
        }
    }
}

#[function_component(App)]
pub fn app() -> Html {
    let state = use_reducer(|| State::from_hash(&location_hash()));
    let dispatch = state.dispatcher();
    // `?embed=1`: inside a docs page (see docs/embedding.md); `?theme=dark|light`: its theme.
    let embedded = use_state(|| query_param("embed").is_some());
    {
        let dispatch = dispatch.clone();
        use_effect_with((), move |_| {
            let theme = query_param("theme");
            set_theme(theme.as_deref());
            dispatch.dispatch(Action::Theme(theme));
            let scheme = {
                let dispatch = dispatch.clone();
                // The canvases pick their colours when they draw: a change of the system's
                // scheme must draw them again.
                web_sys::window()
                    .and_then(|w| w.match_media("(prefers-color-scheme: dark)").ok().flatten())
                    .map(|m| {
                        Listener::new(&m, "change", move |_| {
                            dispatch.dispatch(Action::SystemDark(prefers_dark()))
                        })
                    })
            };
            let listener = Listener::on_window("message", move |e| {
                if let Some(theme) = theme_message(&e) {
                    set_theme(theme.as_deref());
                    dispatch.dispatch(Action::Theme(theme));
                }
            });
            move || drop((listener, scheme))
        });
    }

    {
        let dispatch = dispatch.clone();
        use_effect_with((), move |_| {
            if let Some(url) = query_param("url") {
                load_url(url, dispatch);
            } else {
                load_embedded(&dispatch);
            }
        });
    }
    // Ctrl/Cmd+F goes to our search box, which searches every view.
    use_effect_with((), move |_| {
        let listener = Listener::on_window("keydown", |e| {
            let Some(e) = e.dyn_ref::<KeyboardEvent>() else {
                return;
            };
            if (e.ctrl_key() || e.meta_key()) && e.key().eq_ignore_ascii_case("f") {
                let search = web_sys::window()
                    .and_then(|w| w.document())
                    .and_then(|d| d.get_element_by_id("search"))
                    .and_then(|el| el.dyn_into::<HtmlInputElement>().ok());
                if let Some(search) = search {
                    e.prevent_default();
                    let _ = search.focus();
                    search.select();
                }
            }
        });
        move || drop(listener)
    });
    // The hash follows the state once a session is on screen (before that it still holds
    // what the first session should restore). Replacing keeps Back for leaving the page.
    // Panning the timeline changes it on every frame, so it is written at most every
    // 200 ms, the latest one last.
    let latest_hash = use_mut_ref(|| (None::<String>, false));
    {
        let hash = state.loaded.is_some().then(|| state.hash());
        let latest = latest_hash.clone();
        use_effect_with(hash, move |hash| {
            let scheduled = {
                let mut l = latest.borrow_mut();
                l.0 = hash.clone();
                std::mem::replace(&mut l.1, true)
            };
            if let (false, Some(window)) = (scheduled, web_sys::window()) {
                let write = wasm_bindgen::closure::Closure::once_into_js(move || {
                    let hash = {
                        let mut l = latest.borrow_mut();
                        l.1 = false;
                        l.0.clone()
                    };
                    write_hash(hash);
                });
                let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(
                    write.unchecked_ref(),
                    200,
                );
            }
        });
    }

    let ondragover = {
        let dispatch = dispatch.clone();
        let dragging = state.dragging;
        Callback::from(move |e: DragEvent| {
            e.prevent_default();
            if !dragging {
                dispatch.dispatch(Action::Dragging(true));
            }
        })
    };
    let ondragleave = {
        let dispatch = dispatch.clone();
        Callback::from(move |e: DragEvent| {
            // Leaving for a child element also fires dragleave; only leaving the page counts.
            if e.related_target().is_none() {
                dispatch.dispatch(Action::Dragging(false));
            }
        })
    };
    let ondrop = {
        let dispatch = dispatch.clone();
        Callback::from(move |e: DragEvent| {
            e.prevent_default();
            let file = e
                .data_transfer()
                .and_then(|d| d.files())
                .and_then(|f| f.get(0));
            match file {
                Some(file) => load_file(file, dispatch.clone()),
                None => dispatch.dispatch(Action::Failed("Nothing to open: drop a file.".into())),
            }
        })
    };
    let onpick = {
        let dispatch = dispatch.clone();
        Callback::from(move |e: Event| {
            let input: HtmlInputElement = e.target_unchecked_into();
            if let Some(file) = input.files().and_then(|f| f.get(0)) {
                load_file(file, dispatch.clone());
            }
            input.set_value("");
        })
    };

    html! {
        <div class={classes!("app", state.dragging.then_some("dragging"), embedded.then_some("embedded"))}
             {ondragover} {ondragleave} {ondrop}>
            <header class="bar">
                <span class="brand">{"callscope"}</span>
                <label class="open">
                    {"Open a profile…"}
                    <input type="file" id="file-input" onchange={onpick} />
                </label>
                if let Some(name) = &state.loading {
                    <span class="status">{format!("Opening {name}…")}</span>
                }
            </header>
            if let Some(message) = &state.error {
                <div class="error" role="alert" id="load-error">{message.clone()}</div>
            }
            if state.dragging {
                <div class="dropzone">{"Drop a profile to open it"}</div>
            }
            {
                match &state.loaded {
                    Some(loaded) => html! {
                        <main class="session">
                            <Header loaded={loaded.clone()} />
                            <Toolbar state={state.clone()} />
                            {
                                match state.view {
                                    View::Tree => html! { <CallTreeView state={state.clone()} /> },
                                    View::Timeline => html! { <TimelineView state={state.clone()} /> },
                                    View::Flame => html! { <FlameGraph state={state.clone()} /> },
                                    View::Functions => html! { <FunctionTableView state={state.clone()} /> },
                                }
                            }
                        </main>
                    },
                    None => html! {
                        <main class="empty">
                            <p>{"Drop a profile anywhere on this page, or choose one with “Open a profile…”."}</p>
                            <p class="hint">{"callscope sessions (.pyisession), pyinstrument sessions, speedscope files and collapsed stacks. Nothing leaves your browser."}</p>
                        </main>
                    },
                }
            }
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct ToolbarProps {
    state: UseReducerHandle<State>,
}

/// Views, thread, search and the tree's settings.
#[function_component(Toolbar)]
fn toolbar(props: &ToolbarProps) -> Html {
    let state = props.state.clone();
    let Some(loaded) = state.loaded.clone() else {
        return html! {};
    };
    let session = &loaded.session;
    let on_thread = {
        let state = state.clone();
        Callback::from(move |e: Event| {
            let select: web_sys::HtmlSelectElement = e.target_unchecked_into();
            let value = select.value();
            let merge_threads = value == "merged";
            if merge_threads != state.settings.merge_threads {
                state.dispatch(Action::Settings(Settings {
                    merge_threads,
                    ..state.settings.clone()
                }));
            }
            state.dispatch(Action::Thread(value.parse().ok()));
        })
    };
    let all = state.thread.is_none();
    let merged = state.settings.merge_threads;
    let setting = |id: &'static str,
                   text: &'static str,
                   get: fn(&Settings) -> bool,
                   set: fn(&mut Settings, bool)| {
        let checked = get(&state.settings);
        let state = state.clone();
        let onchange = Callback::from(move |e: Event| {
            let input: HtmlInputElement = e.target_unchecked_into();
            let mut settings = state.settings.clone();
            set(&mut settings, input.checked());
            state.dispatch(Action::Settings(settings));
        });
        html! {
            <label class="toggle-setting">
                <input type="checkbox" id={id} {checked} {onchange} />{text}
            </label>
        }
    };
    let on_threshold = {
        let state = state.clone();
        Callback::from(move |e: Event| {
            let input: HtmlInputElement = e.target_unchecked_into();
            match input.value().trim().parse::<f64>() {
                Ok(t) if t.is_finite() && (0.0..=100.0).contains(&t) => {
                    let mut settings = state.settings.clone();
                    settings.threshold_pct = t;
                    state.dispatch(Action::Settings(settings));
                }
                _ => input.set_value(&state.settings.threshold_pct.to_string()),
            }
        })
    };
    let on_query = {
        let state = state.clone();
        Callback::from(move |e: InputEvent| {
            let input: HtmlInputElement = e.target_unchecked_into();
            state.dispatch(Action::Query(input.value()));
        })
    };
    let on_search_key = {
        let state = state.clone();
        Callback::from(move |e: KeyboardEvent| match e.key().as_str() {
            "Enter" => {
                e.prevent_default();
                state.dispatch(Action::Jump(!e.shift_key()));
            }
            "Escape" => {
                state.dispatch(Action::Query(String::new()));
                let input: HtmlElement = e.target_unchecked_into();
                let _ = input.blur();
            }
            _ => {}
        })
    };
    let jump = |forward: bool| {
        let state = state.clone();
        Callback::from(move |_| state.dispatch(Action::Jump(forward)))
    };
    let count = match state.view {
        View::Functions | View::Timeline => state.matched.len(),
        View::Tree | View::Flame => state.matches.len(),
    };
    let counter = match (state.query.trim().is_empty(), state.current_match) {
        (true, _) => String::new(),
        (false, Some(i)) => format!("{} of {count}", i + 1),
        (false, None) => format!("{count} found"),
    };
    html! {
        <div class="toolbar">
            <div class="tabs" role="tablist">
                { for View::ALL.into_iter().map(|v| {
                    let state = state.clone();
                    let current = state.view == v;
                    let onclick = Callback::from(move |_| state.dispatch(Action::View(v)));
                    html! {
                        <button role="tab" id={format!("tab-{}", v.id())} aria-selected={current.to_string()}
                                class={classes!("tab", current.then_some("current"))} {onclick}>
                            {v.title()}
                        </button>
                    }
                }) }
            </div>
            <label>{"Thread "}
                <select id="thread-select" onchange={on_thread}>
                    <option value="all" selected={all && !merged}>{"All threads, each on its own"}</option>
                    <option value="merged" selected={all && merged}>{"All threads merged"}</option>
                    { for session.threads.iter().enumerate().map(|(i, t)| html! {
                        <option value={i.to_string()} selected={state.thread == Some(i)}>
                            {format!("{} ({:.3} s)", t.name, t.samples.total_weight_us() as f64 / 1e6)}
                        </option>
                    }) }
                </select>
            </label>
            if let Some(range) = state.range {
                <span class="range-chip" id="range-chip" title="The views show only this time range">
                    {range_text(range)}
                    <button id="range-clear" aria-label="Show the whole session" onclick={
                        let state = state.clone();
                        Callback::from(move |_| state.dispatch(Action::Range(None)))
                    }>{"×"}</button>
                </span>
            }
            <div class="search">
                <input type="search" id="search" placeholder="Search functions (Ctrl+F)" aria-label="Search functions"
                       value={state.query.clone()} oninput={on_query} onkeydown={on_search_key} />
                <button id="search-prev" title="Previous match (Shift+Enter)" onclick={jump(false)}>{"↑"}</button>
                <button id="search-next" title="Next match (Enter)" onclick={jump(true)}>{"↓"}</button>
                <span id="search-count" class="muted">{counter}</span>
            </div>
            <div class="settings">
                { setting("opt-libraries", "Hide library code", |s| s.group_libraries, |s, v| s.group_libraries = v) }
                { setting("opt-importlib", "Hide importlib", |s| s.remove_importlib, |s, v| s.remove_importlib = v) }
                { setting("opt-inverted", "Inverted", |s| s.inverted, |s, v| s.inverted = v) }
                { setting("opt-recursion", "Collapse recursion", |s| s.collapse_recursion, |s, v| s.collapse_recursion = v) }
                { setting("opt-percent", "Percent", |s| s.percent, |s, v| s.percent = v) }
                <label title="Calls under this share of the total are folded into their caller">
                    {"Threshold "}
                    <input type="number" id="opt-threshold" min="0" max="100" step="0.1"
                           value={state.settings.threshold_pct.to_string()} onchange={on_threshold} />
                    {"%"}
                </label>
            </div>
        </div>
    }
}

#[derive(Properties, Clone)]
struct HeaderProps {
    loaded: Rc<Loaded>,
}

impl PartialEq for HeaderProps {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.loaded, &other.loaded)
    }
}

#[function_component(Header)]
fn header(props: &HeaderProps) -> Html {
    let s = &props.loaded.session;
    let m = &s.meta;
    let duration = m.duration_us as f64 / 1e6;
    let cpu = m.cpu_time_us.map(|c| {
        let c = c as f64 / 1e6;
        format!("{c:.3} s ({:.0}%)", 100.0 * c / duration.max(1e-9))
    });
    let facts = [
        ("Program", m.program.clone()),
        ("Recorded", format_utc(m.start_time)),
        ("Duration", format!("{duration:.3} s")),
        ("Samples", s.sample_count().to_string()),
        ("Interval", format!("{:.1} ms", m.interval_us as f64 / 1e3)),
        ("Python", m.python_version.clone()),
        ("CPU", cpu.unwrap_or_else(|| "not recorded".into())),
    ];
    html! {
        <section class="header" id="session-header">
            <h1>{props.loaded.name.clone()}</h1>
            <dl>
                { for facts.into_iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| html! {
                    <div class="fact"><dt>{k}</dt><dd>{v}</dd></div>
                }) }
            </dl>
        </section>
    }
}
