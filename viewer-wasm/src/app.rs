//! The page: loading (drop, file picker, `?url=`), errors, the header and the call tree.
//! Components only draw and dispatch; the numbers come from callscope-model.

use std::rc::Rc;

use callscope_model::library::CodeInfo;
use callscope_model::processors::ProcessorOptions;
use callscope_model::render::folding::Folding;
use callscope_model::render::{format_utc, processed_tree};
use callscope_model::tree::CallTree;
use callscope_model::{format, NodeId, Session};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::{DragEvent, File, HtmlInputElement};
use yew::prelude::*;

use crate::rows::{visible_rows, Expansion, Row, RowKind};

/// A session on screen, with what every view derives from it once.
pub struct Loaded {
    pub name: String,
    pub session: Session,
    pub code: CodeInfo,
}

#[derive(Clone, Default)]
pub struct State {
    loaded: Option<Rc<Loaded>>,
    /// The last failure, shown above the previous session (which stays usable).
    error: Option<String>,
    loading: Option<String>,
    dragging: bool,
    /// `None`: every thread.
    thread: Option<usize>,
    expansion: Expansion,
    /// A new tree needs its first expansion computed once it is built.
    fresh: bool,
}

impl PartialEq for State {
    fn eq(&self, other: &Self) -> bool {
        let same_session = match (&self.loaded, &other.loaded) {
            (Some(a), Some(b)) => Rc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        };
        same_session
            && self.error == other.error
            && self.loading == other.loading
            && self.dragging == other.dragging
            && self.thread == other.thread
            && self.expansion == other.expansion
            && self.fresh == other.fresh
    }
}

pub enum Action {
    Loading(String),
    Loaded(String, Box<Session>),
    Failed(String),
    Dragging(bool),
    Thread(Option<usize>),
    Toggle(NodeId),
    ToggleGroup(usize),
    Expand(Expansion),
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
                s.expansion = Expansion::default();
                s.fresh = true;
            }
            Action::Failed(message) => {
                s.error = Some(message);
                s.loading = None;
                s.dragging = false;
            }
            Action::Dragging(on) => s.dragging = on,
            Action::Thread(t) => {
                s.thread = t;
                s.expansion = Expansion::default();
                s.fresh = true;
            }
            Action::Toggle(id) => {
                if !s.expansion.nodes.remove(&id) {
                    s.expansion.nodes.insert(id);
                }
            }
            Action::ToggleGroup(g) => {
                if !s.expansion.groups.remove(&g) {
                    s.expansion.groups.insert(g);
                }
            }
            Action::Expand(e) => {
                s.expansion = e;
                s.fresh = false;
            }
        }
        Rc::new(s)
    }
}

/// Reads `bytes` as a session, with an error naming `name`.
pub fn parse(name: &str, bytes: &[u8]) -> Result<Session, String> {
    format::load(bytes).map_err(|e| format!("Could not open {name}: {e}"))
}

fn load_file(file: File, dispatch: UseReducerDispatcher<State>) {
    let name = file.name();
    dispatch.dispatch(Action::Loading(name.clone()));
    spawn_local(async move {
        let result = match JsFuture::from(file.array_buffer()).await {
            Ok(buffer) => parse(&name, &js_sys::Uint8Array::new(&buffer).to_vec()),
            Err(e) => Err(format!("Could not read {name}: {}", js_error(&e))),
        };
        dispatch.dispatch(match result {
            Ok(session) => Action::Loaded(name, Box::new(session)),
            Err(message) => Action::Failed(message),
        });
    });
}

fn load_url(url: String, dispatch: UseReducerDispatcher<State>) {
    dispatch.dispatch(Action::Loading(url.clone()));
    spawn_local(async move {
        let result = fetch(&url).await.and_then(|bytes| parse(&url, &bytes));
        dispatch.dispatch(match result {
            Ok(session) => Action::Loaded(url, Box::new(session)),
            Err(message) => Action::Failed(message),
        });
    });
}

async fn fetch(url: &str) -> Result<Vec<u8>, String> {
    let fail = |why: String| {
        format!(
            "Could not fetch {url}: {why}. Browsers refuse fetches from pages opened as \
             file://; serve the viewer over http, or drop the file here instead."
        )
    };
    let window = web_sys::window().ok_or_else(|| fail("no window".into()))?;
    let response = JsFuture::from(window.fetch_with_str(url))
        .await
        .map_err(|e| fail(js_error(&e)))?;
    let response: web_sys::Response = response.dyn_into().map_err(|e| fail(js_error(&e)))?;
    if !response.ok() {
        return Err(fail(format!("HTTP {}", response.status())));
    }
    let buffer = response.array_buffer().map_err(|e| fail(js_error(&e)))?;
    let buffer = JsFuture::from(buffer)
        .await
        .map_err(|e| fail(js_error(&e)))?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

fn js_error(value: &wasm_bindgen::JsValue) -> String {
    value
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| value.as_string())
        .unwrap_or_else(|| "unknown error".into())
}

#[function_component(App)]
pub fn app() -> Html {
    let state = use_reducer(State::default);
    let dispatch = state.dispatcher();

    {
        let dispatch = dispatch.clone();
        use_effect_with((), move |_| {
            let url = web_sys::window()
                .and_then(|w| w.location().search().ok())
                .and_then(|q| web_sys::UrlSearchParams::new_with_str(&q).ok())
                .and_then(|p| p.get("url"));
            if let Some(url) = url {
                load_url(url, dispatch);
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
        <div class={classes!("app", state.dragging.then_some("dragging"))}
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
                        <SessionView loaded={loaded.clone()} state={state.clone()} />
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

#[derive(Properties, Clone)]
struct SessionProps {
    loaded: Rc<Loaded>,
    state: UseReducerHandle<State>,
}

impl PartialEq for SessionProps {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.loaded, &other.loaded) && self.state == other.state
    }
}

/// The tree for the selected threads, built once per (session, thread) choice.
struct Built {
    tree: CallTree,
    folding: Folding,
}

#[function_component(SessionView)]
fn session_view(props: &SessionProps) -> Html {
    let loaded = props.loaded.clone();
    let state = props.state.clone();
    let thread = state.thread;
    let built = {
        let loaded = loaded.clone();
        use_memo((Rc::as_ptr(&loaded) as usize, thread), move |_| {
            let threads: Vec<usize> = thread.into_iter().collect();
            let tree = processed_tree(
                &loaded.session,
                &loaded.code,
                &threads,
                true,
                &ProcessorOptions::default(),
            );
            let folding = Folding::new(&loaded.session, &tree);
            Built { tree, folding }
        })
    };
    if state.fresh {
        state.dispatch(Action::Expand(Expansion::heaviest_path(&built.tree, 12)));
    }
    let session = &loaded.session;
    let rows = visible_rows(
        session,
        &loaded.code,
        &built.tree,
        &built.folding,
        &state.expansion,
    );
    let total = built.tree.total_us().max(1);
    let on_thread = {
        let state = state.clone();
        Callback::from(move |e: Event| {
            let select: web_sys::HtmlSelectElement = e.target_unchecked_into();
            state.dispatch(Action::Thread(select.value().parse().ok()));
        })
    };
    html! {
        <main class="session">
            <Header loaded={loaded.clone()} />
            <div class="controls">
                <label>{"Thread "}
                    <select id="thread-select" onchange={on_thread}>
                        <option value="all" selected={thread.is_none()}>{"All threads"}</option>
                        { for session.threads.iter().enumerate().map(|(i, t)| html! {
                            <option value={i.to_string()} selected={thread == Some(i)}>
                                {format!("{} ({:.3} s)", t.name, t.samples.total_weight_us() as f64 / 1e6)}
                            </option>
                        }) }
                    </select>
                </label>
            </div>
            <div class="calltree" role="tree" id="calltree">
                if rows.is_empty() {
                    <p class="empty">{"No samples in this selection."}</p>
                }
                { for rows.iter().map(|row| tree_row(row, total, &state)) }
            </div>
        </main>
    }
}

fn tree_row(row: &Row, total: u64, state: &UseReducerHandle<State>) -> Html {
    let onclick = {
        let state = state.clone();
        let (node, kind) = (row.node, row.kind.clone());
        Callback::from(move |_| match kind {
            RowKind::Group { group, .. } => state.dispatch(Action::ToggleGroup(group)),
            _ => state.dispatch(Action::Toggle(node)),
        })
    };
    let toggle = match (row.expandable, row.expanded) {
        (false, _) => " ",
        (true, true) => "▾",
        (true, false) => "▸",
    };
    let pct = row.total_us as f64 * 100.0 / total as f64;
    let label = match &row.kind {
        RowKind::Function {
            name,
            location,
            application,
        } => html! {
            <>
                <span class={classes!("name", application.then_some("app-code"))}>{name.clone()}</span>
                <span class="loc">{location.clone()}</span>
            </>
        },
        RowKind::SelfTime => html! { <span class="name self">{"[self]"}</span> },
        RowKind::Thread { name } => html! { <span class="name thread">{name.clone()}</span> },
        RowKind::Group {
            hidden, libraries, ..
        } => html! {
            <span class="group">{format!("[{hidden} frames hidden] {}", libraries.join(", "))}</span>
        },
    };
    html! {
        <div class="row" role="treeitem" aria-expanded={row.expandable.then(|| row.expanded.to_string())}
             style={format!("--depth:{}", row.depth)} {onclick}>
            <span class="toggle">{toggle}</span>
            <span class="time">{format!("{:.3}", row.total_us as f64 / 1e6)}</span>
            <span class="pct">{format!("{pct:.1}%")}</span>
            {label}
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
                    <><dt>{k}</dt><dd>{v}</dd></>
                }) }
            </dl>
        </section>
    }
}
