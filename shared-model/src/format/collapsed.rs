//! Collapsed stacks: one line per distinct stack, `outer;inner;innermost count`, as written
//! by py-spy, `stackcollapse-*` and inferno.
//!
//! Counts are sample counts. A line is read as one sample whose weight is its count times
//! one millisecond (collapsed files carry no interval), so a huge count costs nothing. When
//! writing, a stack's count is its wall time in sampling intervals (at least 1), which is the
//! sample count for regular samples and gives late samples their true weight.
//! Frames written as `name (file:line)`, py-spy's form, keep their file and line.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::error::LoadError;
use crate::ids::{FrameId, StackId};
use crate::session::{FunctionKind, Metadata, Session, SessionBuilder};

const FORMAT: &str = "collapsed stacks";
/// The wall time one counted sample stands for when reading.
pub const SAMPLE_US: u64 = 1000;

/// Splits `name (file:line)` into its parts; anything else is just a name.
fn parse_frame(text: &str) -> (&str, &str, u32) {
    if let Some(inner) = text.strip_suffix(')') {
        if let Some(open) = inner.rfind(" (") {
            let location = &inner[open + 2..];
            if let Some((file, line)) = location.rsplit_once(':') {
                if let Ok(line) = line.parse() {
                    return (&inner[..open], file, line);
                }
            }
        }
    }
    (text, "", 0)
}

/// The frame of a line with an empty stack.
const NO_FRAMES: &str = "[no Python frames]";

pub(crate) fn decode_text(text: &str) -> Result<Session, LoadError> {
    let meta = Metadata {
        interval_us: SAMPLE_US,
        recorder: "collapsed stacks".to_owned(),
        sampling_mode: "imported".to_owned(),
        ..Metadata::default()
    };
    let mut b = SessionBuilder::new(meta);
    let t = b.add_thread(0, None, "all threads", true);
    let mut now = 0u64;
    let mut total = 0u64;
    let mut frames: Vec<FrameId> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = || {
            LoadError::invalid(
                FORMAT,
                format!(
                    "line {}: expected `frame;frame;... count`, found {:?}",
                    n + 1,
                    truncate(line)
                ),
            )
        };
        let (stack, count) = line.rsplit_once(' ').ok_or_else(bad)?;
        let count: u64 = count.parse().map_err(|_| bad())?;
        total = total
            .checked_add(count)
            .filter(|&t| t <= u32::MAX as u64)
            .ok_or_else(|| {
                LoadError::TooLarge(format!(
                    "line {} brings the sample count over {}",
                    n + 1,
                    u32::MAX
                ))
            })?;
        frames.clear();
        for part in stack.split(';').filter(|p| !p.is_empty()) {
            let (name, file, line_no) = parse_frame(part);
            let kind = if file.is_empty() && name.starts_with('[') {
                FunctionKind::Pseudo
            } else {
                FunctionKind::Python
            };
            let func = b.function(name, file, line_no, kind);
            frames.push(b.frame(func, line_no));
        }
        if frames.is_empty() {
            // py-spy writes ` 7` for samples of a thread with no Python frame: their time
            // stays in the profile, under a frame that says so.
            let func = b.function(NO_FRAMES, "", 0, FunctionKind::Pseudo);
            frames.push(b.frame(func, 0));
        }
        let Some(st) = b.stack_from_frames(frames.iter().copied()) else {
            return Err(bad());
        };
        let weight = count * SAMPLE_US;
        now += weight;
        b.push_sample(t, st, now, weight, None);
    }
    if b.session().sample_count() == 0 {
        return Err(LoadError::invalid(FORMAT, "no stacks found"));
    }
    b.meta_mut().counts.samples = total;
    Ok(b.finish())
}

fn truncate(s: &str) -> String {
    s.chars().take(60).collect()
}

/// Writes every thread's samples merged, one line per distinct call path, sorted.
pub fn encode(session: &Session) -> String {
    let interval = session.meta.interval_us.max(1);
    let mut per_stack: BTreeMap<StackId, u64> = BTreeMap::new();
    for t in &session.threads {
        for (&st, &w) in t.samples.stack.iter().zip(&t.samples.weight_us) {
            *per_stack.entry(st).or_default() += w;
        }
    }
    let per_stack = per_stack
        .into_iter()
        .map(|(st, w)| (st, (w + interval / 2) / interval));
    // Stacks that differ only in executing lines read the same here, so merge by text.
    let mut per_line: BTreeMap<String, u64> = BTreeMap::new();
    for (st, n) in per_stack {
        let mut text = String::new();
        for (i, fr) in session.stack_frames(st).iter().enumerate() {
            if i > 0 {
                text.push(';');
            }
            let f = session.function(session.frame(*fr).func);
            let name = session.string(f.name).replace(';', ":");
            let file = session.string(f.file);
            if file.is_empty() {
                text.push_str(&name);
            } else {
                let _ = write!(text, "{name} ({}:{})", file.replace(';', ":"), f.first_line);
            }
        }
        *per_line.entry(text).or_default() += n;
    }
    let mut out = String::new();
    for (text, n) in per_line {
        let _ = writeln!(out, "{text} {}", n.max(1));
    }
    out
}
