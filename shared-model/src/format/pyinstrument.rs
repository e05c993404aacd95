//! pyinstrument's session JSON (`pyinstrument -r session`), read and written.
//!
//! A pyinstrument session is a list of `frame_records`: each a full stack of frame strings
//! and the time it stood for. A frame string is `name\0file\0first_line` followed by
//! attributes, each introduced by `\x01` and a marker: `l` the executing line, `c` the
//! class name, `h` whether `__tracebackhide__` was set. Synthetic frames (`[await]`,
//! `[self]`, `[out-of-context]`) have no `\0` parts; a stack may start with a thread frame
//! whose file is `<thread>`.

use std::collections::HashMap;
use std::io::Write;

use serde::Deserialize;

use crate::error::{LoadError, SaveError};
use crate::ids::FrameId;
use crate::session::{Counts, FunctionKind, Metadata, Session, SessionBuilder};

const FORMAT: &str = "pyinstrument session";

#[derive(Deserialize)]
struct PyiSession {
    #[serde(default)]
    start_time: f64,
    #[serde(default)]
    duration: f64,
    #[serde(default)]
    min_interval: Option<f64>,
    #[serde(default)]
    sample_count: Option<u64>,
    #[serde(default)]
    target_description: String,
    #[serde(default)]
    cpu_time: Option<f64>,
    #[serde(default)]
    sys_path: Vec<String>,
    #[serde(default)]
    sys_prefixes: Vec<String>,
    /// The stack that started the Profiler, outermost first (see [`stem_length`]).
    #[serde(default)]
    start_call_stack: Vec<String>,
    frame_records: Vec<Record>,
}

/// A stack of frame strings, outermost first, and the seconds it stood for.
type Record = (Vec<String>, f64);

/// A frame string's identity: pyinstrument's identifier, `name\0file\0first_line`, without
/// the attributes that follow it.
fn identifier(info: &str) -> &str {
    info.split('\x01').next().unwrap_or("")
}

/// How many frames (after a leading thread frame) every record starts with that pyinstrument
/// leaves out of its tree: it trims the stem along `start_call_stack` while the stem has one
/// child and no time of its own, so that a Profiler started deep in a program shows the
/// tree from the frame that started it (pyinstrument's `Session._trim_stem`).
fn stem_length(start_call_stack: &[String], frame_records: &[Record]) -> usize {
    let start: Vec<&str> = start_call_stack.iter().map(|s| identifier(s)).collect();
    let records: Vec<&[String]> = frame_records.iter().map(|(s, _)| &s[..]).collect();
    // The frame every record has at `depth`, when they all agree.
    let shared = |depth: usize| -> Option<&str> {
        let first = identifier(records.first()?.get(depth)?);
        records
            .iter()
            .all(|s| s.get(depth).map(|f| identifier(f)) == Some(first))
            .then_some(first)
    };
    if start.is_empty() || shared(0) != Some(start[0]) {
        return 0;
    }
    // The root (the thread frame) goes down to its only child while that child is the next
    // frame of the start stack; a frame some record ends at has time of its own and stops it.
    let mut root = 0;
    while root + 1 < start.len() && shared(root + 1) == Some(start[root + 1]) {
        root += 1;
    }
    // Frames 1..root are the stem; the frame at `root` stays, as the tree's root.
    root.saturating_sub(1)
}

/// The class name pyinstrument shows for each function: of the classes observed with it
/// (it records the class of `self` at each sample, which a method can see change), the one
/// observed for the most time.
fn class_names(frame_records: &[Record]) -> HashMap<&str, &str> {
    let mut observed: HashMap<&str, HashMap<&str, f64>> = HashMap::new();
    for (stack, time) in frame_records {
        for info in stack {
            if let Ok(FrameInfo {
                class: Some(class), ..
            }) = parse_frame_info(info)
            {
                *observed
                    .entry(identifier(info))
                    .or_default()
                    .entry(class)
                    .or_default() += time;
            }
        }
    }
    observed
        .into_iter()
        .filter_map(|(id, classes)| {
            let best = classes
                .into_iter()
                .max_by(|a, b| a.1.total_cmp(&b.1).then_with(|| b.0.cmp(a.0)))?;
            Some((id, best.0))
        })
        .collect()
}

/// One parsed frame string.
struct FrameInfo<'a> {
    name: &'a str,
    file: &'a str,
    /// The first line, or a thread's identifier for a `<thread>` frame.
    first_line: u64,
    line: Option<u32>,
    class: Option<&'a str>,
    hidden: bool,
}

fn parse_frame_info(info: &str) -> Result<FrameInfo<'_>, String> {
    let mut attrs = info.split('\x01');
    let identifier = attrs.next().unwrap_or("");
    let mut parts = identifier.split('\0');
    let name = parts.next().unwrap_or("");
    let file = parts.next().unwrap_or("");
    let first_line = match parts.next() {
        Some(l) => l
            .parse()
            .map_err(|_| format!("bad line number {l:?} in frame {identifier:?}"))?,
        None => 0,
    };
    let mut frame = FrameInfo {
        name,
        file,
        first_line,
        line: None,
        class: None,
        hidden: false,
    };
    for attr in attrs {
        let mut chars = attr.chars();
        match chars.next() {
            Some('l') => frame.line = chars.as_str().parse().ok(),
            Some('c') => frame.class = Some(chars.as_str()),
            Some('h') => frame.hidden = chars.as_str() != "0",
            // Unknown attributes are for newer pyinstrument versions to add; ignoring them
            // keeps the rest of the frame usable.
            _ => {}
        }
    }
    Ok(frame)
}

/// Reads a pyinstrument session (already decompressed JSON).
pub(crate) fn decode_json(json: &[u8]) -> Result<Session, LoadError> {
    let doc: PyiSession =
        serde_json::from_slice(json).map_err(|e| LoadError::invalid(FORMAT, e.to_string()))?;
    let program = doc
        .target_description
        .strip_prefix("Program: ")
        .unwrap_or(&doc.target_description)
        .to_owned();
    let meta = Metadata {
        program,
        start_time: doc.start_time,
        duration_us: seconds_to_us(doc.duration),
        interval_us: seconds_to_us(doc.min_interval.unwrap_or(0.001)),
        cpu_time_us: doc.cpu_time.map(seconds_to_us),
        sys_path: doc.sys_path,
        sys_prefixes: doc.sys_prefixes,
        recorder: "pyinstrument".to_owned(),
        sampling_mode: "imported".to_owned(),
        counts: Counts {
            samples: doc.sample_count.unwrap_or(doc.frame_records.len() as u64),
            ..Counts::default()
        },
        ..Metadata::default()
    };
    let stem = stem_length(&doc.start_call_stack, &doc.frame_records);
    let classes = class_names(&doc.frame_records);
    let mut b = SessionBuilder::new(meta);
    let mut now = 0u64;
    let mut frames: Vec<FrameId> = Vec::new();
    for (i, (stack, time)) in doc.frame_records.iter().enumerate() {
        if !time.is_finite() || *time < 0.0 {
            return Err(LoadError::invalid(
                FORMAT,
                format!("frame record {i} has time {time}"),
            ));
        }
        frames.clear();
        let mut thread = None;
        for (depth, info) in stack.iter().enumerate() {
            let fi = parse_frame_info(info)
                .map_err(|m| LoadError::invalid(FORMAT, format!("frame record {i}: {m}")))?;
            if fi.file == "<thread>" && depth == 0 {
                thread = Some((fi.first_line, fi.name));
                continue;
            }
            if (1..=stem).contains(&depth) {
                continue;
            }
            let first_line = u32::try_from(fi.first_line).unwrap_or(u32::MAX);
            let kind = if fi.file.is_empty() && fi.name.starts_with('[') {
                FunctionKind::Pseudo
            } else {
                FunctionKind::Python
            };
            let name = match classes.get(identifier(info)) {
                Some(class) if !class.is_empty() => format!("{class}.{}", fi.name),
                _ => fi.name.to_owned(),
            };
            let func = b.function(&name, fi.file, first_line, kind);
            if fi.hidden {
                b.mark_tracebackhide(func);
            }
            frames.push(b.frame(func, fi.line.unwrap_or(first_line)));
        }
        let Some(stack_id) = b.stack_from_frames(frames.iter().copied()) else {
            continue;
        };
        let (tid, tname) = thread.unwrap_or((0, "MainThread"));
        let t = b.thread_index(tid, tname);
        let weight = seconds_to_us(*time);
        now = now.checked_add(weight).ok_or_else(|| {
            LoadError::invalid(
                FORMAT,
                format!("frame record {i}: times add up past any real profile"),
            )
        })?;
        b.push_sample(t, stack_id, now, weight, None);
    }
    if let Some(t) = b
        .session()
        .threads
        .iter()
        .position(|t| t.name == "MainThread")
    {
        b.thread_mut(t).is_main = true;
    }
    let session = b.finish();
    session
        .validate()
        .map_err(|m| LoadError::invalid(FORMAT, m))?;
    Ok(session)
}

fn seconds_to_us(s: f64) -> u64 {
    if s.is_finite() && s > 0.0 {
        (s * 1e6).round() as u64
    } else {
        0
    }
}

/// Writes the samples as a pyinstrument session, which `pyinstrument --load` opens.
pub fn encode_session(session: &Session) -> Result<Vec<u8>, SaveError> {
    let mut out = Vec::new();
    write_session(session, &mut out)?;
    Ok(out)
}

/// Streams a pyinstrument session to `out`. pyinstrument repeats every frame of every stack
/// in every sample, so the output is large; it is never held in memory whole.
pub fn write_session(session: &Session, out: &mut impl Write) -> Result<(), SaveError> {
    let info_of: Vec<String> = session
        .frames
        .iter()
        .map(|fr| {
            let f = session.function(fr.func);
            let mut s = format!(
                "{}\0{}\0{}\x01l{}",
                session.string(f.name),
                session.string(f.file),
                f.first_line,
                fr.line
            );
            if f.tracebackhide {
                s.push_str("\x01h1");
            }
            serde_json::to_string(&s).expect("strings serialise")
        })
        .collect();
    let thread_info: Vec<String> = session
        .threads
        .iter()
        .map(|t| {
            serde_json::to_string(&format!("{}\0<thread>\0{}", t.name, t.id))
                .expect("strings serialise")
        })
        .collect();
    let meta = &session.meta;
    let interval = meta.interval_us as f64 / 1e6;
    let header = serde_json::json!({
        "start_time": meta.start_time,
        "duration": meta.duration_us as f64 / 1e6,
        "min_interval": interval,
        "max_interval": interval,
        "sample_count": session.sample_count(),
        // pyinstrument trims the tree's stem along this; it must at least name a thread.
        "start_call_stack": session
            .threads
            .iter()
            .find(|t| t.is_main)
            .or(session.threads.first())
            .map(|t| vec![format!("{}\0<thread>\0{}", t.name, t.id)])
            .unwrap_or_default(),
        "target_description": format!("Program: {}", meta.program),
        "cpu_time": meta.cpu_time_us.unwrap_or(0) as f64 / 1e6,
        "sys_path": meta.sys_path,
        "sys_prefixes": meta.sys_prefixes,
    });
    let header = serde_json::to_string(&header)?;
    out.write_all(&header.as_bytes()[..header.len() - 1])?;
    out.write_all(b", \"frame_records\": [")?;
    // pyinstrument interleaves every thread's records in time order.
    let mut order: Vec<(u64, u32, u32)> = Vec::with_capacity(session.sample_count());
    for (t, thread) in session.threads.iter().enumerate() {
        order.extend(
            thread
                .samples
                .time_us
                .iter()
                .enumerate()
                .map(|(i, &time)| (time, t as u32, i as u32)),
        );
    }
    order.sort_unstable();
    let mut frames = Vec::new();
    for (n, &(_, t, i)) in order.iter().enumerate() {
        let thread = &session.threads[t as usize];
        out.write_all(if n == 0 { b"[[" } else { b", [[" })?;
        out.write_all(thread_info[t as usize].as_bytes())?;
        frames.clear();
        let mut cursor = Some(thread.samples.stack[i as usize]);
        while let Some(id) = cursor {
            frames.push(session.stack(id).frame);
            cursor = session.stack(id).parent;
        }
        for f in frames.iter().rev() {
            out.write_all(b", ")?;
            out.write_all(info_of[f.index()].as_bytes())?;
        }
        write!(
            out,
            "], {}]",
            thread.samples.weight_us[i as usize] as f64 / 1e6
        )?;
    }
    out.write_all(b"]}")?;
    Ok(())
}
