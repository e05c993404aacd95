//! Reading every profile format callscope understands, detected from the content, and the
//! writers for the formats other tools read.

pub mod callscope;
pub mod collapsed;
pub mod firefox;
pub mod pprof;
pub mod pstats;
pub mod pyinstrument;
pub mod speedscope;

use std::io::Read;

use serde::de::IgnoredAny;
use serde::Deserialize;

use crate::error::LoadError;
use crate::session::Session;

/// The largest decompressed document accepted: a gzip bomb or a corrupt length stops here
/// instead of exhausting memory (a 1M-sample session is about 25 MB of JSON).
pub const MAX_DECOMPRESSED: u64 = 1 << 30;

/// The formats [`load`] recognises.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Callscope,
    Pyinstrument,
    Speedscope,
    Collapsed,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Callscope => "callscope session",
            Format::Pyinstrument => "pyinstrument session",
            Format::Speedscope => "speedscope",
            Format::Collapsed => "collapsed stacks",
        }
    }
}

/// Reads a profile in any supported format, compressed with gzip or not.
pub fn load(bytes: &[u8]) -> Result<Session, LoadError> {
    load_with_format(bytes).map(|(s, _)| s)
}

/// Like [`load`], also saying which format the bytes were in.
pub fn load_with_format(bytes: &[u8]) -> Result<(Session, Format), LoadError> {
    if bytes.is_empty() {
        return Err(LoadError::Empty);
    }
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let data = gunzip(bytes, MAX_DECOMPRESSED)?;
        if data.starts_with(&[0x1f, 0x8b]) {
            return Err(LoadError::UnknownFormat("gzip inside gzip".to_owned()));
        }
        return load_plain(&data);
    }
    load_plain(bytes)
}

/// Decompresses gzip, refusing output larger than `limit` bytes.
pub fn gunzip(bytes: &[u8], limit: u64) -> Result<Vec<u8>, LoadError> {
    let mut out = Vec::new();
    let decoder = flate2::read::MultiGzDecoder::new(bytes);
    decoder
        .take(limit + 1)
        .read_to_end(&mut out)
        .map_err(|e| LoadError::Gzip(e.to_string()))?;
    if out.len() as u64 > limit {
        return Err(LoadError::TooLarge(format!(
            "it decompresses to more than {limit} bytes"
        )));
    }
    if out.is_empty() {
        return Err(LoadError::Gzip("it decompresses to nothing".to_owned()));
    }
    Ok(out)
}

/// Top-level keys that tell the JSON formats apart. Unknown keys are skipped without being
/// stored, so this pass is cheap even on large documents.
#[derive(Deserialize)]
struct Probe {
    format: Option<String>,
    frame_records: Option<IgnoredAny>,
    shared: Option<IgnoredAny>,
    profiles: Option<IgnoredAny>,
}

fn load_plain(bytes: &[u8]) -> Result<(Session, Format), LoadError> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace());
    let Some(start) = start else {
        return Err(LoadError::Empty);
    };
    let body = &bytes[start..];
    if body[0] == b'{' {
        // callscope writes its format name first: recognise it without a separate pass.
        let head = &body[..body.len().min(256)];
        if contains(head, format!("\"{}\"", callscope::FORMAT_NAME).as_bytes()) {
            return callscope::decode_json(body).map(|s| (s, Format::Callscope));
        }
        let probe: Probe = serde_json::from_slice(body).map_err(LoadError::json)?;
        return match probe {
            Probe {
                format: Some(f), ..
            } if f == callscope::FORMAT_NAME => {
                callscope::decode_json(body).map(|s| (s, Format::Callscope))
            }
            Probe {
                frame_records: Some(_),
                ..
            } => pyinstrument::decode_json(body).map(|s| (s, Format::Pyinstrument)),
            Probe {
                shared: Some(_),
                profiles: Some(_),
                ..
            } => speedscope::decode_json(body).map(|s| (s, Format::Speedscope)),
            _ => Err(LoadError::UnknownFormat(describe_json(body))),
        };
    }
    // A collapsed line can start with `<`, as `<module> (app.py:1);main (app.py:3) 5`.
    if body.starts_with(b"<") && !std::str::from_utf8(body).is_ok_and(looks_collapsed) {
        let text = std::str::from_utf8(body)
            .map_err(|_| LoadError::UnknownFormat("an HTML page that is not UTF-8".to_owned()))?;
        return crate::report::load(text).map(|s| (s, Format::Callscope));
    }
    if body[0] == b'[' {
        return Err(LoadError::UnknownFormat(
            "a JSON array (Chrome trace events and similar are not supported)".to_owned(),
        ));
    }
    // From the start of the first line: a collapsed line can start with a space, as
    // py-spy's ` 7` for samples with no Python frame.
    let line_start = bytes[..start]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let text = std::str::from_utf8(&bytes[line_start..]).map_err(|_| {
        LoadError::UnknownFormat("binary data that is neither gzip nor JSON".to_owned())
    })?;
    if looks_collapsed(text) {
        return collapsed::decode_text(text).map(|s| (s, Format::Collapsed));
    }
    Err(LoadError::UnknownFormat(format!(
        "text that is not collapsed stacks (first line: {:?})",
        text.lines()
            .next()
            .unwrap_or("")
            .chars()
            .take(60)
            .collect::<String>()
    )))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn looks_collapsed(text: &str) -> bool {
    let first = text
        .lines()
        .map(str::trim_end)
        .find(|l| !l.is_empty() && !l.starts_with('#'));
    first.is_some_and(|l| {
        l.rsplit_once(' ')
            .is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    })
}

fn describe_json(body: &[u8]) -> String {
    let keys: Vec<String> =
        serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(body)
            .map(|m| m.keys().take(6).cloned().collect())
            .unwrap_or_default();
    if keys.is_empty() {
        "a JSON object with no keys callscope knows".to_owned()
    } else {
        format!(
            "JSON from another tool (top-level keys: {}); callscope reads its own sessions, \
             pyinstrument sessions, speedscope files and collapsed stacks",
            keys.join(", ")
        )
    }
}
