//! callscope's own session format: gzip of UTF-8 JSON. See `docs/session-format.md`.
//!
//! The document mirrors [`Session`]: tables are stored as columns of integers, so gzip sees
//! long runs of similar numbers, and sample times are delta-encoded so most of them are the
//! same few digits.

use std::io::Write;

use flate2::write::GzEncoder;
use flate2::Compression;
use serde::{Deserialize, Serialize};

use crate::error::{LoadError, SaveError};
use crate::ids::{FrameId, FuncId, StackId, StringId};
use crate::session::{
    Frame, Function, FunctionKind, Metadata, Samples, Session, Stack, Thread, ThreadState,
};

pub const FORMAT_NAME: &str = "callscope-session";
/// Readers accept any minor version of their major version: minors only add optional fields.
pub const MAJOR: u32 = 1;
pub const MINOR: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Document {
    format: String,
    version: (u32, u32),
    #[serde(default)]
    meta: Metadata,
    strings: Vec<String>,
    functions: FunctionColumns,
    frames: FrameColumns,
    stacks: StackColumns,
    threads: Vec<ThreadDoc>,
}

#[derive(Serialize, Deserialize, Default)]
struct FunctionColumns {
    name: Vec<u32>,
    file: Vec<u32>,
    line: Vec<u32>,
    /// 0 python, 1 native, 2 pseudo.
    kind: Vec<u8>,
    /// Indices of functions that set `__tracebackhide__` (rare, so stored sparsely).
    #[serde(default)]
    tracebackhide: Vec<u32>,
}

#[derive(Serialize, Deserialize, Default)]
struct FrameColumns {
    func: Vec<u32>,
    line: Vec<u32>,
}

#[derive(Serialize, Deserialize, Default)]
struct StackColumns {
    frame: Vec<u32>,
    /// Index of the parent stack, or -1 for a root.
    parent: Vec<i64>,
}

#[derive(Serialize, Deserialize)]
struct ThreadDoc {
    id: u64,
    #[serde(default)]
    native_id: Option<u64>,
    #[serde(default)]
    name: String,
    #[serde(default)]
    main: bool,
    samples: SampleColumns,
}

#[derive(Serialize, Deserialize)]
struct SampleColumns {
    stack: Vec<u32>,
    /// The first value is microseconds since the session start; each next one is the gap
    /// since the previous sample of this thread.
    time_delta_us: Vec<u64>,
    weight_us: Vec<u64>,
    #[serde(default)]
    cpu_us: Option<Vec<u64>>,
    /// Since 1.1: [`ThreadState`] bits per sample.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    state: Option<Vec<u8>>,
}

fn kind_code(kind: FunctionKind) -> u8 {
    match kind {
        FunctionKind::Python => 0,
        FunctionKind::Native => 1,
        FunctionKind::Pseudo => 2,
    }
}

/// Writes `session` as uncompressed JSON.
pub fn to_json(session: &Session) -> Result<Vec<u8>, SaveError> {
    let f = &session.functions;
    let doc = Document {
        format: FORMAT_NAME.to_owned(),
        version: (MAJOR, MINOR),
        meta: session.meta.clone(),
        strings: session.strings.clone(),
        functions: FunctionColumns {
            name: f.iter().map(|f| f.name.0).collect(),
            file: f.iter().map(|f| f.file.0).collect(),
            line: f.iter().map(|f| f.first_line).collect(),
            kind: f.iter().map(|f| kind_code(f.kind)).collect(),
            tracebackhide: (0..f.len() as u32)
                .filter(|&i| f[i as usize].tracebackhide)
                .collect(),
        },
        frames: FrameColumns {
            func: session.frames.iter().map(|fr| fr.func.0).collect(),
            line: session.frames.iter().map(|fr| fr.line).collect(),
        },
        stacks: StackColumns {
            frame: session.stacks.iter().map(|s| s.frame.0).collect(),
            parent: session
                .stacks
                .iter()
                .map(|s| s.parent.map_or(-1, |p| p.0 as i64))
                .collect(),
        },
        threads: session
            .threads
            .iter()
            .map(|t| ThreadDoc {
                id: t.id,
                native_id: t.native_id,
                name: t.name.clone(),
                main: t.is_main,
                samples: SampleColumns {
                    stack: t.samples.stack.iter().map(|s| s.0).collect(),
                    time_delta_us: t
                        .samples
                        .time_us
                        .iter()
                        .scan(0u64, |prev, &t| {
                            let d = t - *prev;
                            *prev = t;
                            Some(d)
                        })
                        .collect(),
                    weight_us: t.samples.weight_us.clone(),
                    cpu_us: t.samples.cpu_us.clone(),
                    state: t
                        .samples
                        .state
                        .as_ref()
                        .map(|s| s.iter().map(|s| s.0).collect()),
                },
            })
            .collect(),
    };
    Ok(serde_json::to_vec(&doc)?)
}

/// Writes `session` in the `.pyisession` form: gzip of the JSON document.
pub fn encode(session: &Session) -> Result<Vec<u8>, SaveError> {
    let json = to_json(session)?;
    // Level 3: measured on the 1M-sample benchmark session, 4× faster to write than level 6
    // for 5 % more bytes; the recorder writes at the end of every run.
    let mut gz = GzEncoder::new(Vec::with_capacity(json.len() / 8), Compression::new(3));
    gz.write_all(&json)?;
    Ok(gz.finish()?)
}

/// Peeks at the header fields only, so a newer version is refused with a clear message even
/// when the rest of its layout has changed.
#[derive(Deserialize)]
struct Header {
    version: Option<(u32, u32)>,
}

/// Reads a callscope JSON document (already decompressed).
pub(crate) fn decode_json(json: &[u8]) -> Result<Session, LoadError> {
    // One parse in the common case; the header is only looked at on its own when the full
    // parse fails, to tell "newer version" apart from "damaged".
    let doc: Document = match serde_json::from_slice(json) {
        Ok(doc) => doc,
        Err(err) => {
            if let Some(version) = serde_json::from_slice::<Header>(json)
                .ok()
                .and_then(|h| h.version)
            {
                check_version(Some(version))?;
            }
            return Err(LoadError::invalid(FORMAT_NAME, err.to_string()));
        }
    };
    check_version(Some(doc.version))?;
    from_document(doc)
}

fn check_version(version: Option<(u32, u32)>) -> Result<(), LoadError> {
    let (major, minor) = version
        .ok_or_else(|| LoadError::invalid(FORMAT_NAME, "the \"version\" field is missing"))?;
    if major > MAJOR {
        return Err(LoadError::NewerVersion {
            major,
            minor,
            supported: MAJOR,
        });
    }
    if major < MAJOR {
        return Err(LoadError::invalid(
            FORMAT_NAME,
            format!("unknown old format version {major}.{minor}"),
        ));
    }
    Ok(())
}

fn column_mismatch(table: &str, lens: &[(&str, usize)]) -> LoadError {
    let detail: Vec<String> = lens.iter().map(|(n, l)| format!("{n} {l}")).collect();
    LoadError::invalid(
        FORMAT_NAME,
        format!("{table} columns differ in length ({})", detail.join(", ")),
    )
}

fn from_document(doc: Document) -> Result<Session, LoadError> {
    let fc = doc.functions;
    let n = fc.name.len();
    if fc.file.len() != n || fc.line.len() != n || fc.kind.len() != n {
        return Err(column_mismatch(
            "function",
            &[
                ("name", n),
                ("file", fc.file.len()),
                ("line", fc.line.len()),
                ("kind", fc.kind.len()),
            ],
        ));
    }
    let mut functions = Vec::with_capacity(n);
    for i in 0..n {
        let kind = match fc.kind[i] {
            0 => FunctionKind::Python,
            1 => FunctionKind::Native,
            2 => FunctionKind::Pseudo,
            k => {
                return Err(LoadError::invalid(
                    FORMAT_NAME,
                    format!("function {i} has unknown kind {k}"),
                ))
            }
        };
        functions.push(Function {
            name: StringId(fc.name[i]),
            file: StringId(fc.file[i]),
            first_line: fc.line[i],
            kind,
            tracebackhide: false,
        });
    }
    for &i in &fc.tracebackhide {
        let f = functions.get_mut(i as usize).ok_or_else(|| {
            LoadError::invalid(
                FORMAT_NAME,
                format!("tracebackhide names function {i}, which does not exist"),
            )
        })?;
        f.tracebackhide = true;
    }
    if doc.frames.func.len() != doc.frames.line.len() {
        return Err(column_mismatch(
            "frame",
            &[
                ("func", doc.frames.func.len()),
                ("line", doc.frames.line.len()),
            ],
        ));
    }
    let frames = doc
        .frames
        .func
        .iter()
        .zip(&doc.frames.line)
        .map(|(&func, &line)| Frame {
            func: FuncId(func),
            line,
        })
        .collect();
    if doc.stacks.frame.len() != doc.stacks.parent.len() {
        return Err(column_mismatch(
            "stack",
            &[
                ("frame", doc.stacks.frame.len()),
                ("parent", doc.stacks.parent.len()),
            ],
        ));
    }
    let mut stacks = Vec::with_capacity(doc.stacks.frame.len());
    for (i, (&frame, &parent)) in doc.stacks.frame.iter().zip(&doc.stacks.parent).enumerate() {
        let parent = match parent {
            -1 => None,
            p if p >= 0 && p <= u32::MAX as i64 => Some(StackId(p as u32)),
            p => {
                return Err(LoadError::invalid(
                    FORMAT_NAME,
                    format!("stack {i} has invalid parent {p}"),
                ))
            }
        };
        stacks.push(Stack {
            frame: FrameId(frame),
            parent,
        });
    }
    let mut threads = Vec::with_capacity(doc.threads.len());
    for t in doc.threads {
        let c = t.samples;
        let mut time_us = Vec::with_capacity(c.time_delta_us.len());
        let mut now = 0u64;
        for &d in &c.time_delta_us {
            now = now.checked_add(d).ok_or_else(|| {
                LoadError::invalid(
                    FORMAT_NAME,
                    format!("thread {}: sample times overflow", t.id),
                )
            })?;
            time_us.push(now);
        }
        threads.push(Thread {
            id: t.id,
            native_id: t.native_id,
            name: t.name,
            is_main: t.main,
            samples: Samples {
                stack: c.stack.into_iter().map(StackId).collect(),
                time_us,
                weight_us: c.weight_us,
                cpu_us: c.cpu_us,
                state: c.state.map(|s| s.into_iter().map(ThreadState).collect()),
            },
        });
    }
    let session = Session {
        meta: doc.meta,
        strings: doc.strings,
        functions,
        frames,
        stacks,
        threads,
    };
    session
        .validate()
        .map_err(|m| LoadError::invalid(FORMAT_NAME, m))?;
    Ok(session)
}
