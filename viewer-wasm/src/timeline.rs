//! The timeline: a stack chart per thread over time, on one canvas. From the top: the
//! minimap (the whole session, each thread's activity, the visible window boxed), the
//! time axis, then a lane per thread (header, a strip of what it was doing, its spans).
//!
//! callscope-model's `timeline` lays the spans out once per session; a redraw asks it for
//! the blocks of the visible window only, paints them into a `raster` and puts that on the
//! canvas in one call, then writes the few labels that fit.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use callscope_model::timeline::{lane_groups, Block, Lane, LaneGroup, Span, Timeline};
use callscope_model::FuncId;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{Clamped, JsCast};
use web_sys::{
    CanvasRenderingContext2d, Element, HtmlCanvasElement, ImageData, KeyboardEvent, PointerEvent,
    WheelEvent,
};
use yew::prelude::*;

use crate::dom::{prefers_dark, Listener};
use crate::flamegraph::fit;
use crate::palette::rgb;
use crate::raster::{Raster, Rgba};
use crate::rows::location;
use crate::state::{Action, SpanKey, State, TimelineKey};
use crate::units::percent_of;
use crate::window::Window;

/// Heights in CSS pixels.
pub const MINIMAP_H: f64 = 36.0;
pub const AXIS_H: f64 = 20.0;
/// Where the lanes start.
pub const TOP: f64 = MINIMAP_H + AXIS_H;
pub const HEADER_H: f64 = 18.0;
pub const STRIP_H: f64 = 4.0;
pub const ROW_H: f64 = 16.0;
const GAP: f64 = 8.0;
/// A pointer that moves less than this between press and release clicked.
const CLICK_SLOP: f64 = 3.0;

/// One lane's place in the scrolled content (0 = the top of the first lane).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LanePlace {
    pub thread: usize,
    /// The header of this group of [`lane_groups`] (`thread` is its first), not a lane.
    pub group: Option<usize>,
    pub top: f64,
    /// Where its depth 0 starts.
    pub rows_top: f64,
    /// The rows shown: none when folded.
    pub rows: usize,
    pub bottom: f64,
}

/// Above this many lanes, groups of similar threads start folded.
pub const FOLD_GROUPS_ABOVE: usize = 16;

/// Stacks the lanes of `threads`, folded ones as a header and strip only. A group's lanes
/// follow its header, at its first thread's place, when `open(group)`.
pub fn place_lanes(
    timeline: &Timeline,
    threads: &[usize],
    collapsed: &HashSet<usize>,
    groups: &[LaneGroup],
    open: &dyn Fn(usize) -> bool,
) -> Vec<LanePlace> {
    let group_of: HashMap<usize, usize> = groups
        .iter()
        .enumerate()
        .flat_map(|(g, group)| group.threads.iter().map(move |&t| (t, g)))
        .collect();
    let mut y = 0.0;
    let mut places = Vec::with_capacity(threads.len());
    let mut place = |thread: usize, group: Option<usize>, rows: usize| {
        let rows_top = y + HEADER_H + STRIP_H + 2.0;
        let bottom = rows_top + rows as f64 * ROW_H + GAP;
        places.push(LanePlace {
            thread,
            group,
            top: y,
            rows_top,
            rows,
            bottom,
        });
        y = bottom;
    };
    let lane_rows = |thread: usize| {
        if collapsed.contains(&thread) {
            0
        } else {
            timeline.lanes[thread].depth()
        }
    };
    for &thread in threads {
        match group_of.get(&thread) {
            None => place(thread, None, lane_rows(thread)),
            Some(&g) if groups[g].threads[0] == thread => {
                place(thread, Some(g), 0);
                if open(g) {
                    for &member in &groups[g].threads {
                        place(member, None, lane_rows(member));
                    }
                }
            }
            Some(_) => {}
        }
    }
    places
}

/// The canvas's size and what it shows, to turn times into x and back.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Geometry {
    pub width: f64,
    pub height: f64,
    /// The session's extent, which the minimap shows.
    pub start: f64,
    pub end: f64,
    pub window: Window,
    pub scroll: f64,
}

impl Geometry {
    pub fn x(&self, t: f64) -> f64 {
        (t - self.window.from) / self.window.width().max(1e-9) * self.width
    }

    pub fn t(&self, x: f64) -> f64 {
        self.window.from + x / self.width.max(1.0) * self.window.width()
    }

    pub fn mini_x(&self, t: f64) -> f64 {
        (t - self.start) / (self.end - self.start).max(1e-9) * self.width
    }

    pub fn mini_t(&self, x: f64) -> f64 {
        self.start + x / self.width.max(1.0) * (self.end - self.start)
    }

    /// Lane content y at canvas y.
    fn content_y(&self, y: f64) -> f64 {
        y - TOP + self.scroll
    }
}

/// What is under a point of the canvas.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Hit {
    /// The minimap, at a time.
    Minimap(f64),
    Axis(f64),
    /// A lane's header.
    Header(usize),
    /// A group's header, by its index in [`lane_groups`].
    Group(usize),
    Span(SpanKey, Span),
    Empty,
}

pub fn hit(g: &Geometry, places: &[LanePlace], timeline: &Timeline, x: f64, y: f64) -> Hit {
    if y < MINIMAP_H {
        return Hit::Minimap(g.mini_t(x));
    }
    if y < TOP {
        return Hit::Axis(g.t(x));
    }
    let cy = g.content_y(y);
    let Some(place) = places.iter().find(|p| cy >= p.top && cy < p.bottom) else {
        return Hit::Empty;
    };
    if cy < place.top + HEADER_H {
        return match place.group {
            Some(g) => Hit::Group(g),
            None => Hit::Header(place.thread),
        };
    }
    if cy < place.rows_top || place.group.is_some() {
        return Hit::Empty;
    }
    let depth = ((cy - place.rows_top) / ROW_H) as usize;
    if depth >= place.rows {
        return Hit::Empty;
    }
    let lane = &timeline.lanes[place.thread];
    // A span drawn a pixel wide may be narrower: look half a pixel either side too.
    let half = g.window.width() / g.width.max(1.0) / 2.0;
    let t = g.t(x);
    [t, t - half, t + half]
        .into_iter()
        .find_map(|t| lane.span_at(depth, t))
        .map_or(Hit::Empty, |(index, span)| {
            Hit::Span(
                SpanKey {
                    thread: place.thread,
                    depth,
                    index,
                },
                span,
            )
        })
}

/// About `target` ticks' worth of a round step (1, 2 or 5 × 10ⁿ µs) across `width_us`.
pub fn tick_step(width_us: f64, target: f64) -> f64 {
    let raw = width_us / target.max(1.0);
    let base = 10f64.powf(raw.max(1e-3).log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * base)
        .find(|&s| s >= raw)
        .unwrap_or(10.0 * base)
}

/// A time since the session start, with as many decimals as `step` needs.
pub fn seconds(t_us: f64, step_us: f64) -> String {
    let decimals = (6.0 - step_us.max(1.0).log10().floor()).clamp(0.0, 6.0) as usize;
    format!("{:.*} s", decimals.max(1), t_us / 1e6)
}

/// A duration, in the unit that reads best.
pub fn duration(us: u64) -> String {
    match us {
        0..=999 => format!("{us} µs"),
        1_000..=999_999 => format!("{:.2} ms", us as f64 / 1e3),
        _ => format!("{:.3} s", us as f64 / 1e6),
    }
}

/// The range chip's text: "0.200 s – 0.850 s".
pub fn range_text((a, b): (u64, u64)) -> String {
    let step = ((b - a) as f64 / 100.0).max(1.0);
    format!("{} – {}", seconds(a as f64, step), seconds(b as f64, step))
}

struct Theme {
    fg: &'static str,
    muted: &'static str,
    bg: Rgba,
    band: Rgba,
    running: Rgba,
    waiting: Rgba,
    shade: &'static str,
}

fn theme(dark: bool) -> Theme {
    if dark {
        Theme {
            fg: "#e2e6ea",
            muted: "#8b949e",
            bg: Rgba::rgb([0x15, 0x18, 0x1c]),
            band: Rgba::rgb([0x22, 0x27, 0x2e]),
            running: Rgba::rgb([0x3f, 0xb9, 0x50]),
            waiting: Rgba::rgb([0xdb, 0x6d, 0x28]),
            shade: "rgba(0,0,0,0.55)",
        }
    } else {
        Theme {
            fg: "#1d2125",
            muted: "#6a737d",
            bg: Rgba::rgb([0xff, 0xff, 0xff]),
            band: Rgba::rgb([0xf0, 0xf2, 0xf5]),
            running: Rgba::rgb([0x2d, 0xa4, 0x4e]),
            waiting: Rgba::rgb([0xe3, 0x6c, 0x09]),
            shade: "rgba(120,128,138,0.35)",
        }
    }
}

/// Running shows green, waiting for the GIL orange, in proportion to the share of a pixel.
fn activity_colour(t: &Theme, (running, waiting): (f32, f32)) -> Option<Rgba> {
    let busy = (running + waiting).min(1.0);
    (busy > 0.0).then(|| {
        let hue = if waiting > running {
            t.waiting
        } else {
            t.running
        };
        t.bg.mix(hue, 0.25 + 0.75 * busy)
    })
}

/// What a redraw needs besides the state.
struct Frame<'a> {
    g: Geometry,
    timeline: &'a Timeline,
    places: &'a [LanePlace],
    colours: &'a [Rgba],
    minimap: &'a [Vec<(f32, f32)>],
    /// Functions to show undimmed; `None` when not searching.
    matched: Option<&'a HashSet<FuncId>>,
    names: &'a dyn Fn(FuncId) -> String,
    lane_label: &'a dyn Fn(&Lane) -> String,
    groups: &'a [LaneGroup],
    group_label: &'a dyn Fn(&LaneGroup) -> String,
    open_group: &'a dyn Fn(usize) -> bool,
    collapsed: &'a HashSet<usize>,
    selected: Option<SpanKey>,
    range: Option<(f64, f64)>,
    dark: bool,
}

fn draw(canvas: &HtmlCanvasElement, f: &Frame) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let g = f.g;
    let dpr = window.device_pixel_ratio().max(1.0);
    let (w, h) = ((g.width * dpr).round(), (g.height * dpr).round());
    if w < 1.0 || h < 1.0 {
        return;
    }
    canvas.set_width(w as u32);
    canvas.set_height(h as u32);
    let Some(ctx) = canvas
        .get_context("2d")
        .ok()
        .flatten()
        .and_then(|c| c.dyn_into::<CanvasRenderingContext2d>().ok())
    else {
        return;
    };
    let t = theme(f.dark);
    let mut r = Raster::new(w as usize, h as usize);
    // The minimap: a band per lane, coloured by activity, a column per device pixel. With
    // more lanes than pixels of height, neighbouring lanes share a band.
    let lanes = f.minimap.len();
    let bands = lanes.min((MINIMAP_H - 4.0) as usize).max(1);
    let band = ((MINIMAP_H - 4.0) / bands as f64).min(8.0) * dpr;
    for b in 0..bands {
        let members = &f.minimap[b * lanes / bands..(b + 1) * lanes / bands];
        let y0 = 2.0 * dpr + b as f64 * band;
        let n = members.len().max(1) as f32;
        for x in 0..members.first().map_or(0, Vec::len) {
            let (run, wait) = members
                .iter()
                .fold((0.0, 0.0), |(r, w), m| (r + m[x].0, w + m[x].1));
            if let Some(c) = activity_colour(&t, (run / n, wait / n)) {
                r.fill(
                    x as f64,
                    x as f64 + 1.0,
                    y0,
                    y0 + band - dpr.min(band / 3.0),
                    c,
                );
            }
        }
    }
    // The lanes, clipped below the axis.
    let px_us = g.window.width() / w;
    let (from, to) = (g.window.from, g.window.to);
    let lane_y = |cy: f64| (cy - g.scroll + TOP) * dpr;
    let clip = TOP * dpr;
    let mut blocks: Vec<Block> = Vec::new();
    let mut labels: Vec<(f64, f64, f64, FuncId)> = Vec::new();
    for place in f.places {
        let (top, bottom) = (lane_y(place.top), lane_y(place.bottom));
        if bottom < clip || top > h {
            continue;
        }
        let lane = &f.timeline.lanes[place.thread];
        r.fill(
            0.0,
            w,
            top.max(clip),
            lane_y(place.top + HEADER_H).max(clip),
            t.band,
        );
        let strip = lane_y(place.top + HEADER_H);
        if place.group.is_none() && strip + STRIP_H * dpr > clip {
            for (x, share) in lane.activity(from, to, w as usize).into_iter().enumerate() {
                if let Some(c) = activity_colour(&t, share) {
                    r.fill(
                        x as f64,
                        x as f64 + 1.0,
                        strip.max(clip),
                        strip + STRIP_H * dpr,
                        c,
                    );
                }
            }
        }
        // Only the depths on screen.
        let first = ((g.scroll - place.rows_top) / ROW_H).floor().max(0.0) as usize;
        let last = (((g.scroll + g.height - TOP - place.rows_top) / ROW_H)
            .ceil()
            .max(0.0) as usize)
            .min(place.rows);
        for depth in first..last {
            let y0 = lane_y(place.rows_top + depth as f64 * ROW_H);
            let y1 = y0 + (ROW_H - 1.0) * dpr;
            blocks.clear();
            lane.blocks(depth, from, to, px_us, &mut blocks);
            for b in &blocks {
                let x0 = (b.start_us as f64 - from) / px_us;
                let x1 = (b.end_us as f64 - from) / px_us;
                let mut c = f.colours[b.func.index()];
                if f.matched.is_some_and(|m| !m.contains(&b.func)) {
                    c = c.mix(t.bg, 0.7);
                }
                // A pixel's gap between neighbours, where there is room for it.
                let gap = if x1 - x0 > 3.0 * dpr { dpr } else { 0.0 };
                r.fill(x0, x1 - gap, y0.max(clip), y1, c);
                if !b.merged && (x1 - x0) / dpr > 24.0 && y0 >= clip {
                    labels.push((x0 / dpr, y0 / dpr, (x1 - x0) / dpr, b.func));
                }
            }
        }
    }
    let Ok(image) =
        ImageData::new_with_u8_clamped_array_and_sh(Clamped(&r.data), w as u32, h as u32)
    else {
        return;
    };
    let _ = ctx.put_image_data(&image, 0.0, 0.0);
    let _ = ctx.scale(dpr, dpr);
    ctx.set_font("11px ui-monospace, Menlo, Consolas, monospace");
    ctx.set_text_baseline("middle");
    let char_w = ctx
        .measure_text("M")
        .map(|m| m.width())
        .unwrap_or(7.0)
        .max(1.0);
    // Labels of spans wide enough to carry one.
    ctx.set_fill_style_str(if f.dark { "#f0f3f6" } else { "#1d2125" });
    for &(x, y, width, func) in &labels {
        let left = x.max(0.0);
        let room = (x + width).min(g.width) - left - 6.0;
        if let Some(text) = fit(&(f.names)(func), (room / char_w) as usize) {
            let _ = ctx.fill_text(&text, left + 3.0, y + ROW_H / 2.0);
        }
    }
    // Lane headers.
    for place in f.places {
        let y = place.top - g.scroll + TOP;
        if y + HEADER_H < TOP || y > g.height {
            continue;
        }
        let (folded, label) = match place.group {
            Some(g) => (!(f.open_group)(g), (f.group_label)(&f.groups[g])),
            None => (
                f.collapsed.contains(&place.thread),
                (f.lane_label)(&f.timeline.lanes[place.thread]),
            ),
        };
        let arrow = if folded { "▸" } else { "▾" };
        ctx.set_fill_style_str(t.fg);
        let _ = ctx.fill_text(
            &format!("{arrow} {label}"),
            6.0,
            y.max(TOP) + HEADER_H / 2.0,
        );
    }
    // The selected span.
    if let Some(key) = f.selected {
        if let Some(place) = f
            .places
            .iter()
            .find(|p| p.thread == key.thread && p.group.is_none())
        {
            let lane = &f.timeline.lanes[key.thread];
            if key.depth < place.rows && key.index < lane.rows[key.depth].len() {
                let s = lane.span(key.depth, key.index);
                let y = place.rows_top + key.depth as f64 * ROW_H - g.scroll + TOP;
                let (x0, x1) = (g.x(s.start_us as f64), g.x(s.end_us as f64));
                if y >= TOP {
                    ctx.set_stroke_style_str(if f.dark { "#ffffff" } else { "#000000" });
                    ctx.set_line_width(2.0);
                    ctx.stroke_rect(x0 + 1.0, y + 1.0, (x1 - x0 - 2.0).max(1.0), ROW_H - 3.0);
                }
            }
        }
    }
    // The axis: a tick and a time per round step.
    ctx.set_fill_style_str(t.muted);
    ctx.set_stroke_style_str(t.muted);
    ctx.set_line_width(1.0);
    let step = tick_step(g.window.width(), g.width / 110.0);
    let mut tick = (from / step).ceil() * step;
    while tick <= to {
        let x = g.x(tick).round() + 0.5;
        ctx.begin_path();
        ctx.move_to(x, TOP - 5.0);
        ctx.line_to(x, TOP);
        ctx.stroke();
        let _ = ctx.fill_text(
            &seconds(tick, step),
            x + 3.0,
            MINIMAP_H + AXIS_H / 2.0 - 1.0,
        );
        tick += step;
    }
    ctx.begin_path();
    ctx.move_to(0.0, TOP - 0.5);
    ctx.line_to(g.width, TOP - 0.5);
    ctx.stroke();
    // The range: everything outside it shaded, on the minimap and the lanes.
    ctx.set_fill_style_str(t.shade);
    if let Some((a, b)) = f.range {
        let (ma, mb) = (g.mini_x(a), g.mini_x(b));
        ctx.fill_rect(0.0, 0.0, ma.max(0.0), MINIMAP_H);
        ctx.fill_rect(mb, 0.0, (g.width - mb).max(0.0), MINIMAP_H);
        let (xa, xb) = (g.x(a).clamp(0.0, g.width), g.x(b).clamp(0.0, g.width));
        ctx.fill_rect(0.0, MINIMAP_H, xa, g.height - MINIMAP_H);
        ctx.fill_rect(xb, MINIMAP_H, g.width - xb, g.height - MINIMAP_H);
    }
    // The visible window on the minimap.
    let (wa, wb) = (g.mini_x(from), g.mini_x(to));
    ctx.set_stroke_style_str(if f.dark { "#58a6ff" } else { "#1f6feb" });
    ctx.set_line_width(1.5);
    ctx.stroke_rect(wa + 0.75, 0.75, (wb - wa - 1.5).max(1.0), MINIMAP_H - 1.5);
}

/// What a press on the canvas started.
#[derive(Clone, Copy, Debug)]
enum Gesture {
    /// In the lanes: pans (and scrolls); a click when it did not move.
    Pan { window: Window, last_y: f64 },
    /// On the axis or outside the minimap's window box: selects a range.
    Range { anchor: f64, minimap: bool },
    /// The minimap's window box, grabbed this far from its start.
    Slide { grab: f64 },
    /// Two fingers on a touch screen, down at these x positions over this window.
    Pinch { window: Window, from: (f64, f64) },
}

#[derive(Clone, Copy, Debug)]
struct Drag {
    gesture: Gesture,
    x0: f64,
    y0: f64,
    moved: bool,
}

#[derive(Properties, PartialEq)]
pub struct TimelineProps {
    pub state: UseReducerHandle<State>,
}

#[function_component(TimelineView)]
pub fn timeline_view(props: &TimelineProps) -> Html {
    let state = props.state.clone();
    let container = use_node_ref();
    let canvas = use_node_ref();
    let size = use_state_eq(|| (0.0f64, 0.0f64));
    let hover = use_state(|| None::<(Span, usize, f64, f64)>);
    let pending = use_state(|| None::<(f64, f64)>);
    let drag = use_mut_ref(|| None::<Drag>);
    // The pointers that are down (id, x), for a pinch.
    let fingers = use_mut_ref(Vec::<(i32, f64)>::new);
    // The side panel narrows the canvas as much as the window does, so the size is read
    // after every render and whenever the element is resized. A detached element reads 0:
    // that is no size to draw at.
    let measure = {
        let container = container.clone();
        let size = size.clone();
        Rc::new(move || {
            if let Some(el) = container.cast::<Element>() {
                let (w, h) = (el.client_width() as f64, el.client_height() as f64);
                if w > 0.0 && h > 0.0 {
                    size.set((w, h));
                }
            }
        })
    };
    {
        let measure = measure.clone();
        use_effect(move || measure());
    }
    {
        let container = container.clone();
        use_effect_with((), move |_| {
            let callback = Closure::<dyn FnMut()>::new(move || measure());
            let observer = web_sys::ResizeObserver::new(callback.as_ref().unchecked_ref()).ok();
            if let (Some(o), Some(el)) = (&observer, container.cast::<Element>()) {
                o.observe(&el);
            }
            move || {
                if let Some(o) = observer {
                    o.disconnect();
                }
                drop(callback);
            }
        });
    }
    let timeline = state.timeline.clone();
    let key = timeline.as_ref().map_or(0, |t| Rc::as_ptr(t) as usize);
    let threads = state.timeline_lanes();
    let groups = {
        let loaded = state.loaded.clone();
        use_memo((key, threads.clone()), move |(_, threads)| match &loaded {
            Some(l) => lane_groups(&l.session, threads),
            None => Vec::new(),
        })
    };
    let open_group = {
        let (groups, toggled) = (groups.clone(), state.tl.groups_toggled.clone());
        let folded_first = threads.len() > FOLD_GROUPS_ABOVE;
        move |g: usize| folded_first == toggled.contains(&groups[g].threads[0])
    };
    let places = {
        let timeline = timeline.clone();
        let collapsed = state.tl.collapsed.clone();
        let (groups, open_group) = (groups.clone(), open_group.clone());
        use_memo(
            (
                key,
                threads.clone(),
                Rc::as_ptr(&collapsed) as usize,
                Rc::as_ptr(&state.tl.groups_toggled) as usize,
            ),
            move |(_, threads, _, _)| match &timeline {
                Some(t) => place_lanes(t, threads, &collapsed, &groups, &open_group),
                None => Vec::new(),
            },
        )
    };
    let dpr = web_sys::window().map_or(1.0, |w| w.device_pixel_ratio().max(1.0));
    let minimap = {
        let timeline = timeline.clone();
        let bins = (size.0 * dpr).round() as usize;
        use_memo(
            (key, threads.clone(), bins),
            move |(_, threads, bins)| match &timeline {
                Some(t) => threads
                    .iter()
                    .map(|&l| t.lanes[l].activity(t.start_us as f64, t.end_us as f64, *bins))
                    .collect::<Vec<_>>(),
                None => Vec::new(),
            },
        )
    };
    let dark = prefers_dark();
    let colours = {
        let loaded = state.loaded.clone();
        let session_key = loaded.as_ref().map_or(0, |l| Rc::as_ptr(l) as usize);
        use_memo((session_key, dark), move |_| match &loaded {
            Some(l) => (0..l.session.functions.len())
                .map(|i| {
                    let f = FuncId::from_index(i);
                    Rgba::rgb(rgb(
                        l.code.origin(f),
                        l.code.library(f),
                        l.session.function_name(f),
                        dark,
                    ))
                })
                .collect::<Vec<_>>(),
            None => Vec::new(),
        })
    };
    let content_h = places.last().map_or(0.0, |p| p.bottom);
    let max_scroll = (content_h - (size.1 - TOP)).max(0.0);
    let geometry = state
        .timeline_window()
        .map(|(start, end, window)| Geometry {
            width: size.0,
            height: size.1,
            start,
            end,
            window,
            scroll: state.tl.scroll_y.min(max_scroll),
        });
    // The wheel listener lives as long as the canvas and reads what it needs from here:
    // it must not be passive, so that Ctrl+wheel zooms the timeline rather than the page.
    let wheel_geometry = use_mut_ref(|| None::<(Geometry, f64)>);
    *wheel_geometry.borrow_mut() = geometry.map(|g| (g, max_scroll));
    {
        let canvas = canvas.clone();
        let dispatch = state.dispatcher();
        let wheel_geometry = wheel_geometry.clone();
        use_effect_with(key, move |_| {
            let listener = canvas.cast::<Element>().map(|el| {
                Listener::new(&el, "wheel", move |e| {
                    let Some(e) = e.dyn_ref::<WheelEvent>() else {
                        return;
                    };
                    let Some((g, max)) = *wheel_geometry.borrow() else {
                        return;
                    };
                    e.prevent_default();
                    // Lines and pages to pixels.
                    let unit = match e.delta_mode() {
                        1 => 16.0,
                        2 => g.height,
                        _ => 1.0,
                    };
                    let (dx, dy) = (e.delta_x() * unit, e.delta_y() * unit);
                    if e.ctrl_key() || e.meta_key() {
                        let at = e.offset_x() as f64 / g.width.max(1.0);
                        dispatch.dispatch(Action::TimelineZoom((-dy * 0.004).exp(), at));
                    } else if e.shift_key() {
                        dispatch.dispatch(Action::TimelinePan(dy / g.width.max(1.0)));
                    } else if dx.abs() > dy.abs() {
                        dispatch.dispatch(Action::TimelinePan(dx / g.width.max(1.0)));
                    } else {
                        dispatch.dispatch(Action::TimelineScroll(dy, max));
                    }
                })
            });
            move || drop(listener)
        });
    }
    {
        let canvas = canvas.clone();
        let state = state.clone();
        let (places, minimap, colours, timeline) = (
            places.clone(),
            minimap.clone(),
            colours.clone(),
            timeline.clone(),
        );
        let (groups, open_group) = (groups.clone(), open_group.clone());
        let pending = *pending;
        let matched = Rc::as_ptr(&state.matched) as usize;
        let range = state.range;
        use_effect_with(
            (
                key,
                geometry.map(|g| (g.width, g.height, g.window.from, g.window.to, g.scroll)),
                Rc::as_ptr(&places) as usize,
                Rc::as_ptr(&minimap) as usize,
                Rc::as_ptr(&colours) as usize,
                matched,
                state.query.trim().is_empty(),
                state.tl.selected,
                range,
                pending.map(|(a, b)| (a.to_bits(), b.to_bits())),
                dark,
            ),
            move |_| {
                let (Some(c), Some(g), Some(t), Some(loaded)) = (
                    canvas.cast::<HtmlCanvasElement>(),
                    geometry,
                    timeline.as_ref(),
                    state.loaded.as_ref(),
                ) else {
                    return;
                };
                let session = &loaded.session;
                let searching = !state.query.trim().is_empty();
                let names = |f: FuncId| session.function_name(f).to_owned();
                let lane_label = |lane: &Lane| {
                    let cpu = lane
                        .cpu_us
                        .map(|c| format!(" · CPU {}", percent_of(c, lane.total_us)))
                        .unwrap_or_default();
                    format!(
                        "{}  {}{cpu}",
                        session.threads[lane.thread].name,
                        duration(lane.total_us)
                    )
                };
                let group_label = |group: &LaneGroup| {
                    let total = group.threads.iter().map(|&th| t.lanes[th].total_us).sum();
                    format!(
                        "{}  {} threads  {}",
                        group.label,
                        group.threads.len(),
                        duration(total)
                    )
                };
                draw(
                    &c,
                    &Frame {
                        g,
                        timeline: t,
                        places: &places,
                        colours: &colours,
                        minimap: &minimap,
                        matched: searching.then_some(&*state.matched),
                        names: &names,
                        lane_label: &lane_label,
                        groups: &groups,
                        group_label: &group_label,
                        open_group: &open_group,
                        collapsed: &state.tl.collapsed,
                        selected: state.tl.selected,
                        range: pending.or(range.map(|(a, b)| (a as f64, b as f64))),
                        dark,
                    },
                );
            },
        );
    }
    let (Some(loaded), Some(timeline), Some(g)) = (state.loaded.clone(), timeline, geometry) else {
        return html! { <div class="timeline-view"><div class="timeline" ref={container}></div></div> };
    };
    if places.is_empty() || timeline.end_us <= timeline.start_us {
        return html! {
            <div class="timeline-view">
                <div class="timeline" ref={container}>
                    <p class="empty">{"No samples to show over time."}</p>
                </div>
            </div>
        };
    }
    let point = {
        let canvas = canvas.clone();
        move |x: i32, y: i32| {
            let bounds = canvas.cast::<Element>()?.get_bounding_client_rect();
            Some((x as f64 - bounds.left(), y as f64 - bounds.top()))
        }
    };
    let onpointerdown = {
        let (drag, fingers, places, timeline, point) = (
            drag.clone(),
            fingers.clone(),
            places.clone(),
            timeline.clone(),
            point.clone(),
        );
        Callback::from(move |e: PointerEvent| {
            if e.button() != 0 {
                return;
            }
            let Some((x, y)) = point(e.client_x(), e.client_y()) else {
                return;
            };
            let mut down = fingers.borrow_mut();
            down.retain(|&(id, _)| id != e.pointer_id());
            down.push((e.pointer_id(), x));
            let gesture = match hit(&g, &places, &timeline, x, y) {
                _ if down.len() == 2 => Gesture::Pinch {
                    window: g.window,
                    from: (down[0].1, down[1].1),
                },
                Hit::Minimap(t) if t >= g.window.from && t <= g.window.to => Gesture::Slide {
                    grab: t - g.window.from,
                },
                Hit::Minimap(t) => Gesture::Range {
                    anchor: t,
                    minimap: true,
                },
                Hit::Axis(t) => Gesture::Range {
                    anchor: t,
                    minimap: false,
                },
                _ => Gesture::Pan {
                    window: g.window,
                    last_y: y,
                },
            };
            if let Some(target) = e.target().and_then(|t| t.dyn_into::<Element>().ok()) {
                let _ = target.set_pointer_capture(e.pointer_id());
            }
            *drag.borrow_mut() = Some(Drag {
                gesture,
                x0: x,
                y0: y,
                // A pinch is never a click.
                moved: matches!(gesture, Gesture::Pinch { .. }),
            });
        })
    };
    let onpointermove = {
        let (state, drag, fingers, places, timeline, point) = (
            state.clone(),
            drag.clone(),
            fingers.clone(),
            places.clone(),
            timeline.clone(),
            point.clone(),
        );
        let (hover, pending) = (hover.clone(), pending.clone());
        Callback::from(move |e: PointerEvent| {
            let Some((x, y)) = point(e.client_x(), e.client_y()) else {
                return;
            };
            if let Some(f) = fingers
                .borrow_mut()
                .iter_mut()
                .find(|(id, _)| *id == e.pointer_id())
            {
                f.1 = x;
            }
            let mut current = drag.borrow_mut();
            let Some(d) = current.as_mut() else {
                let now = match hit(&g, &places, &timeline, x, y) {
                    Hit::Span(k, s) => Some((s, k.thread, x, y)),
                    _ => None,
                };
                if now != *hover {
                    hover.set(now);
                }
                return;
            };
            d.moved |= (x - d.x0).hypot(y - d.y0) > CLICK_SLOP;
            if !d.moved {
                return;
            }
            match &mut d.gesture {
                Gesture::Pan { window, last_y } => {
                    let by = -(x - d.x0) / g.width.max(1.0);
                    state.dispatch(Action::TimelineWindow(window.pan(by)));
                    let dy = *last_y - y;
                    if dy != 0.0 {
                        state.dispatch(Action::TimelineScroll(dy, max_scroll));
                        *last_y = y;
                    }
                }
                Gesture::Range { anchor, minimap } => {
                    let t = if *minimap { g.mini_t(x) } else { g.t(x) };
                    let (a, b) = (anchor.min(t), anchor.max(t));
                    pending.set(Some((a.max(g.start), b.min(g.end))));
                }
                Gesture::Slide { grab } => {
                    let from = g.mini_t(x) - *grab;
                    state.dispatch(Action::TimelineWindow(Window::new(
                        from,
                        from + g.window.width(),
                    )));
                }
                Gesture::Pinch { window, from } => {
                    if let [(_, a), (_, b)] = fingers.borrow()[..] {
                        let now = window.pinch(g.width, *from, (a, b));
                        state.dispatch(Action::TimelineWindow(now));
                    }
                }
            }
            if hover.is_some() {
                hover.set(None);
            }
        })
    };
    let onpointerup = {
        let (state, drag, fingers, places, timeline, point) = (
            state.clone(),
            drag.clone(),
            fingers.clone(),
            places.clone(),
            timeline.clone(),
            point.clone(),
        );
        let groups = groups.clone();
        let pending = pending.clone();
        Callback::from(move |e: PointerEvent| {
            fingers.borrow_mut().retain(|&(id, _)| id != e.pointer_id());
            let Some(d) = drag.borrow_mut().take() else {
                return;
            };
            let Some((x, y)) = point(e.client_x(), e.client_y()) else {
                return;
            };
            match (d.gesture, d.moved) {
                (Gesture::Range { .. }, true) => {
                    if let Some((a, b)) = *pending {
                        state.dispatch(Action::Range(Some((a as u64, b.ceil() as u64))));
                    }
                    pending.set(None);
                }
                // A click on the minimap centres the window there.
                (
                    Gesture::Range {
                        minimap: true,
                        anchor,
                    },
                    false,
                ) => {
                    let half = g.window.width() / 2.0;
                    state.dispatch(Action::TimelineWindow(Window::new(
                        anchor - half,
                        anchor + half,
                    )));
                }
                (Gesture::Pan { .. }, false) => match hit(&g, &places, &timeline, x, y) {
                    Hit::Header(thread) => state.dispatch(Action::TimelineLane(thread)),
                    Hit::Group(g) => state.dispatch(Action::TimelineGroup(groups[g].threads[0])),
                    Hit::Span(key, _) => state.dispatch(Action::TimelineSelect(Some(key))),
                    _ => state.dispatch(Action::TimelineSelect(None)),
                },
                _ => {}
            }
        })
    };
    // The browser took the pointer (a system gesture): whatever it began is dropped.
    let onpointercancel = {
        let (drag, fingers, pending) = (drag.clone(), fingers.clone(), pending.clone());
        Callback::from(move |e: PointerEvent| {
            fingers.borrow_mut().retain(|&(id, _)| id != e.pointer_id());
            *drag.borrow_mut() = None;
            pending.set(None);
        })
    };
    let ondblclick = {
        let (state, places, timeline, point) = (
            state.clone(),
            places.clone(),
            timeline.clone(),
            point.clone(),
        );
        Callback::from(move |e: MouseEvent| {
            if let Some((x, y)) = point(e.client_x(), e.client_y()) {
                if let Hit::Span(_, s) = hit(&g, &places, &timeline, x, y) {
                    state.dispatch(Action::TimelineWindow(Window::fit(
                        s.start_us as f64,
                        s.end_us as f64,
                    )));
                }
            }
        })
    };
    let onpointerleave = {
        let hover = hover.clone();
        Callback::from(move |_| hover.set(None))
    };
    let onkeydown = {
        let state = state.clone();
        Callback::from(move |e: KeyboardEvent| {
            if e.ctrl_key() || e.meta_key() || e.alt_key() {
                return;
            }
            let key = match e.key().as_str() {
                "+" | "=" => Some(TimelineKey::ZoomIn),
                "-" | "_" => Some(TimelineKey::ZoomOut),
                "0" => Some(TimelineKey::Reset),
                "a" | "A" | "ArrowLeft" => Some(TimelineKey::Left),
                "d" | "D" | "ArrowRight" => Some(TimelineKey::Right),
                "w" | "W" | "ArrowUp" => {
                    state.dispatch(Action::TimelineScroll(-3.0 * ROW_H, max_scroll));
                    None
                }
                "s" | "S" | "ArrowDown" => {
                    state.dispatch(Action::TimelineScroll(3.0 * ROW_H, max_scroll));
                    None
                }
                "Escape" => {
                    state.dispatch(Action::TimelineSelect(None));
                    None
                }
                _ => return,
            };
            e.prevent_default();
            if let Some(k) = key {
                state.dispatch(Action::TimelineKey(k));
            }
        })
    };
    let session = &loaded.session;
    let tooltip = hover.as_ref().map(|&(s, thread, x, y)| {
        let left = (x + 12.0).min((g.width - 320.0).max(0.0));
        let content = html! {
            <>
                <div class="tt-name">{session.function_name(s.func).to_owned()}</div>
                <div class="loc">{location(session, &loaded.code, s.func)}</div>
                <div>{format!("{} from {}", duration(s.end_us - s.start_us), seconds(s.start_us as f64, 1000.0))}</div>
                <div class="muted">{session.threads[thread].name.clone()}</div>
            </>
        };
        (format!("left:{left}px;top:{}px", y + 16.0), content)
    });
    // Where each lane's first row is on screen, so that a test (or a tool) can point at a
    // span from its time and depth.
    let lanes_attr = places
        .iter()
        .filter(|p| p.group.is_none())
        .map(|p| format!("{}:{}", p.thread, TOP + p.rows_top - g.scroll))
        .collect::<Vec<_>>()
        .join(",");
    // And each group header's middle, by the group's first thread.
    let groups_attr = places
        .iter()
        .filter(|p| p.group.is_some())
        .map(|p| format!("{}:{}", p.thread, TOP + p.top + HEADER_H / 2.0 - g.scroll))
        .collect::<Vec<_>>()
        .join(",");
    let detail = state.tl.selected.and_then(|k| {
        let lane = timeline.lanes.get(k.thread)?;
        (k.index < lane.rows.get(k.depth)?.len()).then_some(())?;
        let s = lane.span(k.depth, k.index);
        let stack = lane.stack_at(k.depth, (s.start_us + s.end_us) as f64 / 2.0);
        let path: Vec<FuncId> = stack.iter().map(|s| s.func).collect();
        let reveal = {
            let state = state.clone();
            Callback::from(move |_| state.dispatch(Action::RevealPath(k.thread, path.clone())))
        };
        Some(html! {
            <aside class="tl-detail" id="timeline-detail">
                <h2>{session.function_name(s.func).to_owned()}</h2>
                <div class="loc">{location(session, &loaded.code, s.func)}</div>
                <div>{format!("{} from {}", duration(s.end_us - s.start_us), seconds(s.start_us as f64, 1000.0))}</div>
                <button id="timeline-reveal" onclick={reveal}>{"Show in call tree"}</button>
                <h3>{format!("Stack ({})", session.threads[k.thread].name)}</h3>
                <ol class="tl-stack">
                    { for stack.iter().rev().map(|f| html! {
                        <li><span class="name">{session.function_name(f.func).to_owned()}</span>
                            <span class="loc">{location(session, &loaded.code, f.func)}</span></li>
                    }) }
                </ol>
            </aside>
        })
    });
    html! {
        <div class="timeline-view">
            <div class="timeline" ref={container}>
                <canvas ref={canvas} id="timeline-canvas" tabindex="0" role="img"
                    aria-label="Timeline: what each thread ran, over time"
                    data-window={format!("{:.0}-{:.0}", g.window.from, g.window.to)}
                    data-lanes={lanes_attr} data-groups={groups_attr} data-row-height={ROW_H.to_string()}
                    {onpointerdown} {onpointermove} {onpointerup} {onpointercancel} {onpointerleave}
                    {ondblclick} {onkeydown} />
                <div id="timeline-tooltip" class="tooltip" hidden={tooltip.is_none()}
                     style={tooltip.as_ref().map(|t| t.0.clone())}>
                    { for tooltip.map(|t| t.1) }
                </div>
            </div>
            { for detail }
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_times_read_at_their_step() {
        assert_eq!(tick_step(1_000_000.0, 10.0), 100_000.0);
        assert_eq!(tick_step(1_000_000.0, 7.0), 200_000.0);
        assert_eq!(tick_step(30_000.0, 10.0), 5_000.0);
        assert_eq!(seconds(200_000.0, 100_000.0), "0.2 s");
        assert_eq!(seconds(205_000.0, 5_000.0), "0.205 s");
        assert_eq!(duration(300_000), "300.00 ms");
        assert_eq!(duration(1_500_000), "1.500 s");
        assert_eq!(duration(40), "40 µs");
        assert_eq!(range_text((200_000, 850_000)), "0.200 s – 0.850 s");
    }

    #[test]
    fn geometry_turns_times_into_pixels_and_back() {
        let g = Geometry {
            width: 1000.0,
            height: 400.0,
            start: 0.0,
            end: 2_000.0,
            window: Window::new(500.0, 1_500.0),
            scroll: 0.0,
        };
        assert_eq!(g.x(1_000.0), 500.0);
        assert_eq!(g.t(250.0), 750.0);
        assert_eq!(g.mini_x(1_000.0), 500.0);
        assert_eq!(g.mini_t(100.0), 200.0);
    }
}
