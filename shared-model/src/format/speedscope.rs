//! speedscope's file format (<https://www.speedscope.app/file-format-schema.json>), read and
//! written. Every thread becomes one sampled profile; reading accepts sampled and evented
//! profiles, each profile becoming a thread.

use serde::{Deserialize, Serialize};

use crate::error::{LoadError, SaveError};
use crate::ids::FrameId;
use crate::session::{FunctionKind, Metadata, Session, SessionBuilder};

const FORMAT: &str = "speedscope";
const SCHEMA: &str = "https://www.speedscope.app/file-format-schema.json";

#[derive(Serialize, Deserialize)]
struct File {
    #[serde(rename = "$schema", default)]
    schema: String,
    shared: Shared,
    profiles: Vec<Profile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(
        rename = "activeProfileIndex",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    active_profile_index: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    exporter: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct Shared {
    frames: Vec<SFrame>,
}

#[derive(Serialize, Deserialize)]
struct SFrame {
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    line: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    col: Option<u32>,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "type")]
enum Profile {
    #[serde(rename = "sampled")]
    Sampled {
        name: String,
        unit: String,
        #[serde(rename = "startValue")]
        start_value: f64,
        #[serde(rename = "endValue")]
        end_value: f64,
        samples: Vec<Vec<usize>>,
        weights: Vec<f64>,
    },
    #[serde(rename = "evented")]
    Evented {
        name: String,
        unit: String,
        #[serde(rename = "startValue")]
        start_value: f64,
        #[serde(rename = "endValue")]
        end_value: f64,
        events: Vec<Event>,
    },
}

#[derive(Serialize, Deserialize)]
struct Event {
    #[serde(rename = "type")]
    kind: String,
    at: f64,
    frame: usize,
}

/// Microseconds per unit. `none` and `bytes` have no time meaning; their values are kept as
/// they are so that proportions stay right.
fn unit_scale(unit: &str) -> Result<f64, LoadError> {
    Ok(match unit {
        "nanoseconds" => 1e-3,
        "microseconds" | "none" | "bytes" => 1.0,
        "milliseconds" => 1e3,
        "seconds" => 1e6,
        other => {
            return Err(LoadError::invalid(
                FORMAT,
                format!("unknown unit {other:?}"),
            ))
        }
    })
}

fn to_us(value: f64, scale: f64, what: &str) -> Result<u64, LoadError> {
    let us = value * scale;
    if !us.is_finite() || us < 0.0 {
        return Err(LoadError::invalid(
            FORMAT,
            format!("{what} is {value}, which is not a valid time"),
        ));
    }
    Ok(us.round() as u64)
}

pub(crate) fn decode_json(json: &[u8]) -> Result<Session, LoadError> {
    let file: File =
        serde_json::from_slice(json).map_err(|e| LoadError::invalid(FORMAT, e.to_string()))?;
    let meta = Metadata {
        program: file.name.clone().unwrap_or_default(),
        recorder: file
            .exporter
            .clone()
            .unwrap_or_else(|| "speedscope".to_owned()),
        sampling_mode: "imported".to_owned(),
        ..Metadata::default()
    };
    let mut b = SessionBuilder::new(meta);
    let frames: Vec<FrameId> = file
        .shared
        .frames
        .iter()
        .map(|f| {
            let line = f.line.unwrap_or(0);
            let file = f.file.as_deref().unwrap_or("");
            let kind = if file.is_empty() && f.name.starts_with('[') {
                FunctionKind::Pseudo
            } else {
                FunctionKind::Python
            };
            let func = b.function(&f.name, file, line, kind);
            b.frame(func, line)
        })
        .collect();
    let frame = |i: usize, where_: &dyn Fn() -> String| -> Result<FrameId, LoadError> {
        frames.get(i).copied().ok_or_else(|| {
            LoadError::invalid(
                FORMAT,
                format!(
                    "{} refers to frame {i}, but there are only {} frames",
                    where_(),
                    frames.len()
                ),
            )
        })
    };
    for (p, profile) in file.profiles.iter().enumerate() {
        match profile {
            Profile::Sampled {
                name,
                unit,
                start_value,
                samples,
                weights,
                ..
            } => {
                let scale = unit_scale(unit)?;
                if samples.len() != weights.len() {
                    return Err(LoadError::invalid(
                        FORMAT,
                        format!(
                            "profile {p} has {} samples but {} weights",
                            samples.len(),
                            weights.len()
                        ),
                    ));
                }
                let t = b.add_thread(p as u64, None, name, p == 0);
                let mut now = to_us(*start_value, scale, "startValue")?;
                let start = now;
                for (s, (stack, &weight)) in samples.iter().zip(weights).enumerate() {
                    let w = to_us(weight, scale, "a weight")?;
                    let ids = stack
                        .iter()
                        .map(|&i| frame(i, &|| format!("profile {p}, sample {s}")))
                        .collect::<Result<Vec<_>, _>>()?;
                    now = now.checked_add(w).ok_or_else(|| {
                        LoadError::invalid(
                            FORMAT,
                            format!(
                                "profile {p}, sample {s}: weights add up past any real profile"
                            ),
                        )
                    })?;
                    // A sample's time is the end of the interval its weight covers.
                    if let Some(st) = b.stack_from_frames(ids) {
                        b.push_sample(t, st, now - start, w, None);
                    }
                }
            }
            Profile::Evented {
                name,
                unit,
                start_value,
                events,
                ..
            } => {
                let scale = unit_scale(unit)?;
                let t = b.add_thread(p as u64, None, name, p == 0);
                let start = to_us(*start_value, scale, "startValue")?;
                let mut open: Vec<FrameId> = Vec::new();
                let mut last = start;
                for (e, ev) in events.iter().enumerate() {
                    let at = to_us(ev.at, scale, "an event time")?;
                    if at < last {
                        return Err(LoadError::invalid(
                            FORMAT,
                            format!("profile {p}, event {e} goes back in time"),
                        ));
                    }
                    if at > last && !open.is_empty() {
                        let st = b
                            .stack_from_frames(open.iter().copied())
                            .expect("non-empty");
                        b.push_sample(t, st, at - start.min(at), at - last, None);
                    }
                    last = at;
                    let fr = frame(ev.frame, &|| format!("profile {p}, event {e}"))?;
                    match ev.kind.as_str() {
                        "O" => open.push(fr),
                        "C" => {
                            if open.last() != Some(&fr) {
                                return Err(LoadError::invalid(
                                    FORMAT,
                                    format!("profile {p}, event {e} closes frame {} which is not the innermost open frame", ev.frame),
                                ));
                            }
                            open.pop();
                        }
                        other => {
                            return Err(LoadError::invalid(
                                FORMAT,
                                format!("profile {p}, event {e} has unknown type {other:?}"),
                            ))
                        }
                    }
                }
            }
        }
    }
    let session = b.finish();
    session
        .validate()
        .map_err(|m| LoadError::invalid(FORMAT, m))?;
    Ok(session)
}

/// Writes one sampled profile per thread, in microseconds.
pub fn encode(session: &Session) -> Result<Vec<u8>, SaveError> {
    let frames = session
        .functions
        .iter()
        .map(|f| SFrame {
            name: session.string(f.name).to_owned(),
            file: Some(session.string(f.file).to_owned()).filter(|s| !s.is_empty()),
            line: Some(f.first_line).filter(|&l| l > 0),
            col: None,
        })
        .collect();
    let profiles = session
        .threads
        .iter()
        .map(|t| {
            let samples: Vec<Vec<usize>> = t
                .samples
                .stack
                .iter()
                .map(|&s| {
                    session
                        .stack_frames(s)
                        .iter()
                        .map(|&f| session.frame(f).func.index())
                        .collect()
                })
                .collect();
            let weights: Vec<f64> = t.samples.weight_us.iter().map(|&w| w as f64).collect();
            Profile::Sampled {
                name: format!("{} ({})", t.name, t.id),
                unit: "microseconds".to_owned(),
                start_value: 0.0,
                end_value: weights.iter().sum(),
                samples,
                weights,
            }
        })
        .collect();
    let file = File {
        schema: SCHEMA.to_owned(),
        shared: Shared { frames },
        profiles,
        name: Some(session.meta.program.clone()),
        active_profile_index: Some(0),
        exporter: Some(format!("callscope {}", env!("CARGO_PKG_VERSION"))),
    };
    Ok(serde_json::to_vec(&file)?)
}
