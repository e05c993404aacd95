//! callscope's viewer: a Yew app over callscope-model. `state` (with `rows`, `search`,
//! `hash`, `window`) is the view-model, and `raster` the timeline's pixel painter, pure
//! Rust tested on the host; the components (`app`, `calltree`, `timeline`, `flamegraph`,
//! `functable`, `virtual_list`) draw them and dispatch actions.

pub mod app;
pub mod calltree;
mod dom;
pub mod flamegraph;
pub mod functable;
pub mod hash;
pub mod load;
pub mod palette;
pub mod raster;
pub mod rows;
pub mod search;
pub mod state;
pub mod timeline;
pub mod units;
pub mod virtual_list;
pub mod window;

/// Shows a fatal error in the page's `#callscope-fatal` element, as text.
fn show_fatal(message: &str) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    if let Some(el) = document.get_element_by_id("callscope-fatal") {
        el.set_text_content(Some(&format!(
            "callscope's viewer hit a bug and stopped: {message}. Reload the page to go on; \
             please report this with the file you opened."
        )));
        let _ = el.remove_attribute("hidden");
    }
}

/// Mounts the viewer into `#callscope-app`. A panic becomes a visible message rather than
/// a dead page with a line in the console.
pub fn start() {
    std::panic::set_hook(Box::new(|info| {
        let message = info.to_string();
        web_sys::console::error_1(&message.as_str().into());
        show_fatal(&message);
    }));
    let root = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id("callscope-app"));
    match root {
        Some(root) => {
            yew::Renderer::<app::App>::with_root(root).render();
        }
        None => show_fatal("the page has no #callscope-app element"),
    }
}
