//! Getting bytes into the viewer: a dropped or chosen file, or a URL. Every failure becomes
//! an `Action::Failed` with a message naming the file and the problem.

use callscope_model::report::{base64_decode, SESSION_ELEMENT_ID, SESSION_PLACEHOLDER};
use callscope_model::{format, Session};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::File;
use yew::UseReducerDispatcher;

use crate::state::{Action, State};

/// Reads `bytes` as a session, with an error naming `name`.
pub fn parse(name: &str, bytes: &[u8]) -> Result<Session, String> {
    format::load(bytes).map_err(|e| format!("Could not open {name}: {e}"))
}

pub fn load_file(file: File, dispatch: UseReducerDispatcher<State>) {
    let name = file.name();
    dispatch.dispatch(Action::Loading(name.clone()));
    spawn_local(async move {
        let result = match JsFuture::from(file.array_buffer()).await {
            Ok(buffer) => parse(&name, &js_sys::Uint8Array::new(&buffer).to_vec()),
            Err(e) => Err(format!("Could not read {name}: {}", js_error(&e))),
        };
        finish(&dispatch, name, result);
    });
}

pub fn load_url(url: String, dispatch: UseReducerDispatcher<State>) {
    dispatch.dispatch(Action::Loading(url.clone()));
    spawn_local(async move {
        let result = fetch(&url).await.and_then(|bytes| parse(&url, &bytes));
        finish(&dispatch, url, result);
    });
}

fn finish(dispatch: &UseReducerDispatcher<State>, name: String, result: Result<Session, String>) {
    if let Ok(session) = &result {
        set_title(session, &name);
    }
    dispatch.dispatch(match result {
        Ok(session) => Action::Loaded(name, Box::new(session)),
        Err(message) => Action::Failed(message),
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

/// Opens the session a report carries in its `#callscope-session` element, if any: base64
/// of the compressed session, decoded here rather than read as markup.
pub fn load_embedded(dispatch: &UseReducerDispatcher<State>) {
    let text = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(SESSION_ELEMENT_ID))
        .and_then(|el| el.text_content())
        .unwrap_or_default();
    let text = text.trim();
    if text.is_empty() || text == SESSION_PLACEHOLDER {
        return;
    }
    let result = base64_decode(text)
        .ok_or_else(|| "This report's embedded session is damaged (not base64).".to_owned())
        .and_then(|bytes| parse("this report", &bytes));
    let name = match &result {
        Ok(session) => report_name(session),
        Err(_) => String::new(),
    };
    finish(dispatch, name, result);
}

/// A report is named after its program ("orders_report.py").
fn report_name(session: &Session) -> String {
    let program = session.meta.program.trim();
    if program.is_empty() {
        "report".to_owned()
    } else {
        program.to_owned()
    }
}

/// Names the browser tab after the session: "orders_report.py (2.31 s) · callscope".
pub fn set_title(session: &Session, name: &str) {
    let program = match session.meta.program.trim() {
        "" => name,
        p => p,
    };
    let title = format!(
        "{program} ({:.2} s) · callscope",
        session.meta.duration_us as f64 / 1e6
    );
    if let Some(document) = web_sys::window().and_then(|w| w.document()) {
        document.set_title(&title);
    }
}
