//! The flame graph: the current tree laid out by callscope-model's `flame::layout`, drawn
//! on a canvas at the screen's pixel density. Hover for details, click to zoom, the
//! breadcrumb to zoom back out.

use std::rc::Rc;

use callscope_model::flame::{layout, FlameRect};
use callscope_model::NodeId;
use wasm_bindgen::JsCast;
use web_sys::{CanvasRenderingContext2d, Element, HtmlCanvasElement, MouseEvent};
use yew::prelude::*;

use crate::dom::{prefers_dark, Listener};
use crate::palette::{fill, LEGEND};
use crate::state::{Action, State};
use crate::units::{percent_of, time};

/// Height of one frame in CSS pixels.
pub const FRAME_HEIGHT: f64 = 18.0;
/// Frames narrower than this are not drawn (their parent's width already shows them).
const MIN_WIDTH: f64 = 0.35;

/// A rectangle in CSS pixels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Placed {
    pub rect: usize,
    pub x: f64,
    pub y: f64,
    pub w: f64,
}

/// Places `rects` (laid out over `total_us`) on a canvas `width` pixels wide.
pub fn place(rects: &[FlameRect], total_us: u64, width: f64) -> Vec<Placed> {
    let scale = width / total_us.max(1) as f64;
    rects
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            let w = r.width_us as f64 * scale;
            (w >= MIN_WIDTH).then_some(Placed {
                rect: i,
                x: r.x_us as f64 * scale,
                y: r.depth as f64 * FRAME_HEIGHT,
                w,
            })
        })
        .collect()
}

/// The frame under the point (x, y), in CSS pixels.
pub fn hit(placed: &[Placed], x: f64, y: f64) -> Option<Placed> {
    placed
        .iter()
        .find(|p| y >= p.y && y < p.y + FRAME_HEIGHT && x >= p.x && x < p.x + p.w)
        .copied()
}

/// `text` cut to `chars` characters with an ellipsis, or `None` when nothing useful fits.
pub fn fit(text: &str, chars: usize) -> Option<String> {
    let n = text.chars().count();
    if n <= chars {
        Some(text.to_owned())
    } else if chars >= 3 {
        Some(text.chars().take(chars - 1).chain(['…']).collect())
    } else {
        None
    }
}

#[derive(Properties, PartialEq)]
pub struct FlameProps {
    pub state: UseReducerHandle<State>,
}

#[function_component(FlameGraph)]
pub fn flame_graph(props: &FlameProps) -> Html {
    let state = props.state.clone();
    let container = use_node_ref();
    let canvas = use_node_ref();
    let width = use_state(|| 0.0f64);
    let hover = use_state(|| None::<(Placed, f64, f64)>);
    {
        let container = container.clone();
        let width = width.clone();
        use_effect_with((), move |_| {
            let measure = move || {
                if let Some(el) = container.cast::<Element>() {
                    width.set(el.client_width() as f64);
                }
            };
            measure();
            let listener = Listener::on_window("resize", move |_| measure());
            move || drop(listener)
        });
    }
    let built = state.built.clone();
    let root = built.as_ref().map(|b| b.tree.root);
    let zoom = state
        .zoom
        .filter(|&z| built.as_ref().is_some_and(|b| b.contains(z)))
        .or(root);
    let key = built.as_ref().map_or(0, |b| Rc::as_ptr(b) as usize);
    let rects = {
        let built = built.clone();
        use_memo((key, zoom), move |_| match (&built, zoom) {
            (Some(b), Some(z)) => layout(&b.tree, z),
            _ => Vec::new(),
        })
    };
    let span = match (&built, zoom) {
        (Some(b), Some(z)) => b.tree.node(z).total_us,
        _ => 0,
    };
    let placed = {
        let rects = rects.clone();
        let px = *width;
        use_memo((key, zoom, (px * 4.0) as u64), move |_| {
            place(&rects, span, px)
        })
    };
    let depth = rects.iter().map(|r| r.depth + 1).max().unwrap_or(1) as f64;
    let height = depth * FRAME_HEIGHT;
    // One colour per function, made once per session and theme rather than per frame drawn.
    let dark = prefers_dark();
    let colours = {
        let loaded = state.loaded.clone();
        let session_key = loaded.as_ref().map_or(0, |l| Rc::as_ptr(l) as usize);
        use_memo((session_key, dark), move |_| match &loaded {
            Some(l) => (0..l.session.functions.len())
                .map(|i| {
                    let f = callscope_model::FuncId::from_index(i);
                    fill(
                        l.code.origin(f),
                        l.code.library(f),
                        l.session.function_name(f),
                        dark,
                    )
                })
                .collect(),
            None => Vec::new(),
        })
    };
    {
        let canvas = canvas.clone();
        let state = state.clone();
        let (rects, placed, colours) = (rects.clone(), placed.clone(), colours.clone());
        let matched = Rc::as_ptr(&state.matched) as usize;
        use_effect_with(
            (
                key,
                zoom,
                Rc::as_ptr(&placed) as usize,
                matched,
                state.flame_selected,
                Rc::as_ptr(&colours) as usize,
            ),
            move |_| {
                if let Some(canvas) = canvas.cast::<HtmlCanvasElement>() {
                    draw(&canvas, &state, &rects, &placed, &colours, height);
                }
            },
        );
    }
    {
        let hover = hover.clone();
        use_effect_with((key, zoom), move |_| hover.set(None));
    }
    let (Some(loaded), Some(built), Some(zoom)) = (state.loaded.clone(), built, zoom) else {
        return html! {};
    };
    if rects.is_empty() {
        return html! { <p class="empty">{"No samples in this selection."}</p> };
    }
    let at = {
        let canvas = canvas.clone();
        let placed = placed.clone();
        move |e: &MouseEvent| {
            let canvas = canvas.cast::<Element>()?;
            let bounds = canvas.get_bounding_client_rect();
            let (x, y) = (
                e.client_x() as f64 - bounds.left(),
                e.client_y() as f64 - bounds.top(),
            );
            hit(&placed, x, y).map(|p| (p, x, y))
        }
    };
    let onmousemove = {
        let hover = hover.clone();
        let at = at.clone();
        Callback::from(move |e: MouseEvent| {
            let now = at(&e);
            if now != *hover {
                hover.set(now);
            }
        })
    };
    let onmouseleave = {
        let hover = hover.clone();
        Callback::from(move |_| hover.set(None))
    };
    let onclick = {
        let state = state.clone();
        let rects = rects.clone();
        Callback::from(move |e: MouseEvent| {
            if let Some((p, _, _)) = at(&e) {
                state.dispatch(Action::Zoom(Some(rects[p.rect].node)));
            }
        })
    };
    let tree = &built.tree;
    let total = tree.total_us();
    let percent = state.settings.percent;
    // A hover from before a zoom points into the old layout: ignore it.
    let tooltip = hover.as_ref().and_then(|(p, x, y)| Some((rects.get(p.rect)?, x, y))).map(|(r, x, y)| {
        let session = &loaded.session;
        let location = crate::rows::location(session, &loaded.code, r.func);
        let self_us = tree.self_us(session, r.node);
        // Keep the tooltip inside the graph.
        let left = (x + 12.0).min((*width - 320.0).max(0.0));
        let content = html! {
            <>
                <div class="tt-name">{session.function_name(r.func).to_owned()}</div>
                <div class="loc">{location}</div>
                <div>{format!("total {} s ({})", time(r.width_us, total, false), percent_of(r.width_us, total))}</div>
                <div>{format!("self {} s ({})", time(self_us, total, false), percent_of(self_us, total))}</div>
            </>
        };
        (format!("left:{left}px;top:{}px", y + 16.0), content)
    });
    // The breadcrumb: every function from the root down to the zoomed node.
    let mut path: Vec<NodeId> = Vec::new();
    let mut cursor = Some(zoom);
    while let Some(n) = cursor {
        if tree.func(n).is_some() {
            path.push(n);
        }
        cursor = tree.node(n).parent;
    }
    path.reverse();
    let crumb = |target: Option<NodeId>, text: String, current: bool| {
        let state = state.clone();
        let onclick = Callback::from(move |_| state.dispatch(Action::Zoom(target)));
        html! { <button class={classes!("crumb", current.then_some("current"))} {onclick}>{text}</button> }
    };
    let selected_name = state
        .flame_selected
        .filter(|&n| built.contains(n))
        .and_then(|n| {
            tree.func(n)
                .map(|f| (n, loaded.session.function_name(f).to_owned()))
        });
    html! {
        <div class="flame-view">
            <nav class="breadcrumb" id="flame-breadcrumb" aria-label="Zoom">
                { crumb(None, "All".into(), path.is_empty()) }
                { for path.iter().enumerate().map(|(i, &n)| {
                    let name = tree.func(n).map(|f| loaded.session.function_name(f).to_owned()).unwrap_or_default();
                    html! { <>{"›"}{ crumb(Some(n), name, i + 1 == path.len()) }</> }
                }) }
                if let Some((node, name)) = selected_name {
                    <span class="spacer"></span>
                    <button class="reveal" onclick={
                        let state = state.clone();
                        Callback::from(move |_| state.dispatch(Action::Reveal(node)))
                    }>{format!("Show {name} in the call tree")}</button>
                }
            </nav>
            <div class="flame" ref={container}>
                <canvas ref={canvas} id="flame-canvas" role="img"
                    aria-label={format!("Flame graph, {} of {}", time(tree.node(zoom).total_us, total, percent), time(total, total, percent))}
                    style={format!("height:{height}px")} {onmousemove} {onmouseleave} {onclick} />
                // Always in the page, so showing it does not disturb the canvas beside it.
                <div id="flame-tooltip" class="tooltip" hidden={tooltip.is_none()}
                     style={tooltip.as_ref().map(|t| t.0.clone())}>
                    { for tooltip.map(|t| t.1) }
                </div>
            </div>
            <div class="legend">
                { for LEGEND.iter().map(|(origin, text)| html! {
                    <span><i style={format!("background:{}", fill(*origin, "", "", dark))}></i>{*text}</span>
                }) }
            </div>
        </div>
    }
}

fn draw(
    canvas: &HtmlCanvasElement,
    state: &State,
    rects: &[FlameRect],
    placed: &[Placed],
    colours: &[String],
    height: f64,
) {
    let (Some(loaded), Some(built)) = (&state.loaded, &state.built) else {
        return;
    };
    let Some(window) = web_sys::window() else {
        return;
    };
    let dpr = window.device_pixel_ratio().max(1.0);
    let width = canvas.client_width() as f64;
    canvas.set_width((width * dpr).round() as u32);
    canvas.set_height((height * dpr).round() as u32);
    let Some(ctx) = canvas
        .get_context("2d")
        .ok()
        .flatten()
        .and_then(|c| c.dyn_into::<CanvasRenderingContext2d>().ok())
    else {
        return;
    };
    let _ = ctx.scale(dpr, dpr);
    ctx.clear_rect(0.0, 0.0, width, height);
    ctx.set_font("11px ui-monospace, Menlo, Consolas, monospace");
    ctx.set_text_baseline("middle");
    let char_width = ctx
        .measure_text("M")
        .map(|m| m.width())
        .unwrap_or(7.0)
        .max(1.0);
    let dark = prefers_dark();
    let searching = !state.matched.is_empty() || !state.query.trim().is_empty();
    let session = &loaded.session;
    for p in placed {
        let r = &rects[p.rect];
        let hit = state.matched.contains(&r.func);
        ctx.set_global_alpha(if searching && !hit { 0.3 } else { 1.0 });
        ctx.set_fill_style_str(&colours[r.func.index()]);
        let w = (p.w - 1.0).max(MIN_WIDTH);
        ctx.fill_rect(p.x, p.y, w, FRAME_HEIGHT - 1.0);
        if let Some(text) = fit(
            session.function_name(r.func),
            ((w - 6.0) / char_width) as usize,
        ) {
            ctx.set_fill_style_str(if dark { "#f0f3f6" } else { "#1d2125" });
            let _ = ctx.fill_text(&text, p.x + 3.0, p.y + FRAME_HEIGHT / 2.0);
        }
        if searching && hit {
            ctx.set_global_alpha(1.0);
            ctx.set_stroke_style_str(if dark { "#ffd33d" } else { "#b08800" });
            ctx.set_line_width(1.0);
            ctx.stroke_rect(p.x + 0.5, p.y + 0.5, w - 1.0, FRAME_HEIGHT - 2.0);
        }
        if state.flame_selected == Some(r.node) && built.contains(r.node) {
            ctx.set_global_alpha(1.0);
            ctx.set_stroke_style_str(if dark { "#ffffff" } else { "#000000" });
            ctx.set_line_width(2.0);
            ctx.stroke_rect(p.x + 1.0, p.y + 1.0, w - 2.0, FRAME_HEIGHT - 3.0);
        }
    }
    ctx.set_global_alpha(1.0);
}

#[cfg(test)]
mod tests {
    use super::*;
    use callscope_model::FuncId;

    fn rect(depth: u32, x: u64, w: u64) -> FlameRect {
        FlameRect {
            node: NodeId::from_index(depth as usize),
            func: FuncId::from_index(0),
            depth,
            x_us: x,
            width_us: w,
        }
    }

    #[test]
    fn places_and_hits_by_pixel() {
        let rects = [
            rect(0, 0, 1000),
            rect(1, 0, 600),
            rect(1, 600, 1),
            rect(2, 100, 200),
        ];
        let placed = place(&rects, 1000, 500.0);
        // The 1 µs frame is 0.5 px wide: drawn; nothing under MIN_WIDTH is.
        assert_eq!(placed.len(), 4);
        assert_eq!(hit(&placed, 10.0, 5.0).map(|p| p.rect), Some(0));
        assert_eq!(hit(&placed, 299.0, 20.0).map(|p| p.rect), Some(1));
        assert_eq!(hit(&placed, 301.0, 20.0).map(|p| p.rect), None);
        assert_eq!(hit(&placed, 60.0, 40.0).map(|p| p.rect), Some(3));
        assert_eq!(hit(&placed, 60.0, 60.0), None);
        assert_eq!(place(&rects, 1000, 100.0).len(), 3);
    }

    #[test]
    fn labels_fit_or_vanish() {
        assert_eq!(fit("parse", 10).as_deref(), Some("parse"));
        assert_eq!(fit("parse_header", 6).as_deref(), Some("parse…"));
        assert_eq!(fit("parse", 2), None);
    }
}
