//! speedscope's file format (<https://www.speedscope.app/file-format-schema.json>), read and
//! written. Every thread becomes one sampled profile; reading accepts sampled and evented
//! profiles, each profile becoming a thread.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::error::{LoadError, SaveError};
use crate::ids::{FrameId, StackId};
use crate::session::{FunctionKind, Metadata, Session, SessionBuilder};

const FORMAT: &str = "speedscope";
const SCHEMA: &str = "https://www.speedscope.app/file-format-schema.json";

#[derive(Serialize)]
struct File {
    #[serde(rename = "$schema")]
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

/// What is written: sampled profiles only.
#[derive(Serialize)]
struct Profile {
    #[serde(rename = "type")]
    kind: &'static str,
    name: String,
    unit: String,
    #[serde(rename = "startValue")]
    start_value: f64,
    #[serde(rename = "endValue")]
    end_value: f64,
    samples: Vec<Vec<usize>>,
    weights: Vec<f64>,
}

/// What is read of a file: a profile's fields as one struct, since serde buffers the whole
/// of an internally tagged enum's content as generic values before it picks the variant,
/// and the stacks interned as they are read.
#[derive(Deserialize)]
struct FileIn {
    shared: Shared,
    profiles: Vec<ProfileIn>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    exporter: Option<String>,
}

#[derive(Deserialize)]
struct ProfileIn {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    name: String,
    unit: String,
    #[serde(rename = "startValue")]
    start_value: f64,
    #[serde(default)]
    samples: Option<InternedStacks>,
    #[serde(default)]
    weights: Option<Vec<f64>>,
    #[serde(default)]
    events: Option<Vec<Event>>,
}

/// A sampled profile's stacks as they are read: each one a node of a tree of
/// (parent, frame index), so that a sample costs one number however deep its stack (a
/// `Vec` per sample cost a million allocations for a million samples).
#[derive(Default)]
struct InternedStacks {
    /// Node `n + 1` is (its parent node, 0 for none; its frame index).
    nodes: Vec<(u32, u32)>,
    index: HashMap<(u32, u32), u32>,
    /// Each sample's node (0: an empty stack).
    samples: Vec<u32>,
    /// The last stack read, (frame index, node) per depth: consecutive samples share most
    /// of their stack, which then needs no lookup.
    last: Vec<(u32, u32)>,
}

impl<'de> Deserialize<'de> for InternedStacks {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Stacks;
        impl<'de> serde::de::Visitor<'de> for Stacks {
            type Value = InternedStacks;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an array of arrays of frame indices")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<InternedStacks, A::Error> {
                let mut out = InternedStacks::default();
                while let Some(node) = seq.next_element_seed(Stack(&mut out))? {
                    out.samples.push(node);
                }
                Ok(out)
            }
        }
        /// One stack, interned; its node.
        struct Stack<'a>(&'a mut InternedStacks);
        impl<'de> serde::de::DeserializeSeed<'de> for Stack<'_> {
            type Value = u32;
            fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<u32, D::Error> {
                d.deserialize_seq(self)
            }
        }
        impl<'de> serde::de::Visitor<'de> for Stack<'_> {
            type Value = u32;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an array of frame indices")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<u32, A::Error> {
                let t = self.0;
                let (mut node, mut depth, mut same) = (0u32, 0usize, true);
                while let Some(frame) = seq.next_element::<u32>()? {
                    same &= t.last.get(depth).is_some_and(|&(f, _)| f == frame);
                    if same {
                        node = t.last[depth].1;
                    } else {
                        node = *t.index.entry((node, frame)).or_insert_with(|| {
                            t.nodes.push((node, frame));
                            t.nodes.len() as u32
                        });
                        t.last.truncate(depth);
                        t.last.push((frame, node));
                    }
                    depth += 1;
                }
                t.last.truncate(depth);
                Ok(node)
            }
        }
        d.deserialize_seq(Stacks)
    }
}

#[derive(Deserialize)]
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
    let file: FileIn =
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
        let ProfileIn {
            name,
            unit,
            start_value,
            ..
        } = profile;
        let missing = |what: &str| {
            LoadError::invalid(
                FORMAT,
                format!("profile {p} is {} but has no {what}", profile.kind),
            )
        };
        match profile.kind.as_str() {
            "sampled" => {
                let samples = profile.samples.as_ref().ok_or_else(|| missing("samples"))?;
                let weights = profile.weights.as_ref().ok_or_else(|| missing("weights"))?;
                let scale = unit_scale(unit)?;
                if samples.samples.len() != weights.len() {
                    return Err(LoadError::invalid(
                        FORMAT,
                        format!(
                            "profile {p} has {} samples but {} weights",
                            samples.samples.len(),
                            weights.len()
                        ),
                    ));
                }
                // Each node's stack in the session, made when a sample first needs it.
                let mut made: Vec<Option<StackId>> = vec![None; samples.nodes.len() + 1];
                let mut unmade = Vec::new();
                let t = b.add_thread(p as u64, None, name, p == 0);
                let mut now = to_us(*start_value, scale, "startValue")?;
                let start = now;
                for (s, (&node, &weight)) in samples.samples.iter().zip(weights).enumerate() {
                    let w = to_us(weight, scale, "a weight")?;
                    let mut n = node as usize;
                    while n != 0 && made[n].is_none() {
                        unmade.push(n);
                        n = samples.nodes[n - 1].0 as usize;
                    }
                    let mut stack = made[n];
                    while let Some(k) = unmade.pop() {
                        let index = samples.nodes[k - 1].1 as usize;
                        let fr = frame(index, &|| format!("profile {p}, sample {s}"))?;
                        stack = Some(b.stack(stack, fr));
                        made[k] = stack;
                    }
                    now = now.checked_add(w).ok_or_else(|| {
                        LoadError::invalid(
                            FORMAT,
                            format!(
                                "profile {p}, sample {s}: weights add up past any real profile"
                            ),
                        )
                    })?;
                    // A sample's time is the end of the interval its weight covers.
                    if let Some(st) = stack {
                        b.push_sample(t, st, now - start, w, None);
                    }
                }
            }
            "evented" => {
                let events = profile.events.as_ref().ok_or_else(|| missing("events"))?;
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
            other => {
                return Err(LoadError::invalid(
                    FORMAT,
                    format!("profile {p} has unknown type {other:?} (sampled or evented)"),
                ))
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
            Profile {
                kind: "sampled",
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
