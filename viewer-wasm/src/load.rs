//! Getting bytes into the viewer: a dropped or chosen file, or a URL. Every failure becomes
//! an `Action::Failed` with a message naming the file and the problem.

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
