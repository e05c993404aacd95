//! A scrolling list that keeps only the rows on screen in the DOM, so a call tree of
//! 100,000 rows scrolls as smoothly as one of ten. Rows have one fixed height.

use std::ops::Range;

use web_sys::{Element, KeyboardEvent};
use yew::prelude::*;

use crate::dom::Listener;

/// Rows drawn above and below the viewport, so fast scrolling shows no gaps.
const OVERSCAN: usize = 10;

#[derive(Properties, PartialEq)]
pub struct VirtualListProps {
    pub id: AttrValue,
    pub len: usize,
    /// In CSS pixels; must match the rows' CSS height.
    pub row_height: f64,
    pub render: Callback<Range<usize>, Html>,
    /// When `scroll_request` changes, this row is scrolled into view.
    pub ensure_visible: Option<usize>,
    pub scroll_request: u64,
    #[prop_or_default]
    pub onkeydown: Callback<KeyboardEvent>,
    #[prop_or_default]
    pub role: AttrValue,
    #[prop_or_default]
    pub label: AttrValue,
}

#[function_component(VirtualList)]
pub fn virtual_list(props: &VirtualListProps) -> Html {
    let node = use_node_ref();
    // (scrollTop, clientHeight) of the scrolling element.
    let viewport = use_state(|| (0.0f64, 800.0f64));
    let measure = {
        let node = node.clone();
        let viewport = viewport.clone();
        move || {
            if let Some(el) = node.cast::<Element>() {
                let now = (el.scroll_top() as f64, el.client_height() as f64);
                if now != *viewport {
                    viewport.set(now);
                }
            }
        }
    };
    {
        let measure = measure.clone();
        use_effect_with(props.len, move |_| {
            measure();
            let listener = Listener::on_window("resize", move |_| measure());
            move || drop(listener)
        });
    }
    {
        let node = node.clone();
        let (target, h) = (props.ensure_visible, props.row_height);
        use_effect_with(props.scroll_request, move |_| {
            if let (Some(i), Some(el)) = (target, node.cast::<Element>()) {
                let top = i as f64 * h;
                let (scroll, height) = (el.scroll_top() as f64, el.client_height() as f64);
                if top < scroll {
                    el.set_scroll_top(top as i32);
                } else if top + h > scroll + height {
                    el.set_scroll_top((top + h - height).ceil() as i32);
                }
            }
        });
    }
    let onscroll = Callback::from(move |_: Event| measure());
    let h = props.row_height;
    let (scroll, height) = *viewport;
    let first = ((scroll / h) as usize)
        .saturating_sub(OVERSCAN)
        .min(props.len);
    let last = (first + (height / h).ceil() as usize + 2 * OVERSCAN).min(props.len);
    html! {
        <div ref={node} id={props.id.clone()} class="vlist" tabindex="0" role={props.role.clone()}
             aria-label={props.label.clone()} data-rows={props.len.to_string()} {onscroll} onkeydown={props.onkeydown.clone()}>
            <div class="vlist-space" style={format!("height:{}px", props.len as f64 * h)}>
                <div class="vlist-rows" style={format!("transform:translateY({}px)", first as f64 * h)}>
                    { props.render.emit(first..last) }
                </div>
            </div>
        </div>
    }
}
