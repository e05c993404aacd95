//! Small DOM helpers the components share.

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::EventTarget;

/// An event listener that is removed when dropped (from an effect's cleanup).
pub struct Listener {
    target: EventTarget,
    event: &'static str,
    closure: Closure<dyn FnMut(web_sys::Event)>,
}

impl Listener {
    pub fn new(
        target: &EventTarget,
        event: &'static str,
        f: impl FnMut(web_sys::Event) + 'static,
    ) -> Self {
        let closure = Closure::<dyn FnMut(web_sys::Event)>::new(f);
        // Adding a listener to a live target cannot fail.
        let _ = target.add_event_listener_with_callback(event, closure.as_ref().unchecked_ref());
        Listener {
            target: target.clone(),
            event,
            closure,
        }
    }

    /// Listens on the window, if there is one.
    pub fn on_window(event: &'static str, f: impl FnMut(web_sys::Event) + 'static) -> Option<Self> {
        web_sys::window().map(|w| Listener::new(&w, event, f))
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self
            .target
            .remove_event_listener_with_callback(self.event, self.closure.as_ref().unchecked_ref());
    }
}

/// Whether the page is in dark mode, as the stylesheet decides it: a theme set by a host
/// page (`data-theme` on the root element) wins over the system's.
pub fn prefers_dark() -> bool {
    let window = web_sys::window();
    let chosen = window
        .as_ref()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
        .and_then(|root| root.get_attribute("data-theme"));
    match chosen.as_deref() {
        Some("dark") => true,
        Some("light") => false,
        _ => window
            .and_then(|w| w.match_media("(prefers-color-scheme: dark)").ok().flatten())
            .is_some_and(|m| m.matches()),
    }
}

/// Applies a theme chosen by a host page: "dark", "light", or anything else for the
/// system's.
pub fn set_theme(theme: Option<&str>) {
    let Some(root) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    else {
        return;
    };
    let _ = match theme {
        Some(t @ ("dark" | "light")) => root.set_attribute("data-theme", t),
        _ => root.remove_attribute("data-theme"),
    };
}
