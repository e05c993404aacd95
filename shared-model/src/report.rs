//! Single-file HTML reports: the packed viewer (a template with one placeholder) with a
//! session embedded as base64 of its compressed bytes.
//!
//! Base64 is the only thing that goes into the page, so nothing from the profiled program
//! (function names, paths, argv) can ever be read as markup or script: the alphabet has no
//! `<`, `&` or quote. The viewer names the page from the decoded session at run time.

use thiserror::Error;

use crate::error::{LoadError, SaveError};
use crate::format;
use crate::session::Session;

/// Stands where the session goes, inside the element with id [`SESSION_ELEMENT_ID`].
pub const SESSION_PLACEHOLDER: &str = "@@CALLSCOPE-SESSION@@";
pub const SESSION_ELEMENT_ID: &str = "callscope-session";

/// The element a packed viewer carries, empty until a session fills it. It sits outside
/// the app's mount point, and its type keeps the browser from running it.
pub fn session_element() -> String {
    format!(
        "<script type=\"application/octet-stream\" id=\"{SESSION_ELEMENT_ID}\">{SESSION_PLACEHOLDER}</script>"
    )
}

#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ReportError {
    #[error("the viewer template has no session placeholder: it is not a packed callscope viewer")]
    NoPlaceholder,
    #[error("the viewer template has {0} session placeholders; a packed viewer has one")]
    ManyPlaceholders(usize),
    #[error(transparent)]
    Save(#[from] SaveError),
}

/// The report for `session`: `template` with the compressed session in its placeholder.
pub fn write(template: &str, session: &Session) -> Result<String, ReportError> {
    let bytes = format::callscope::encode(session)?;
    fill(template, &base64_encode(&bytes))
}

/// The standalone viewer: `template` with no session, waiting for a file.
pub fn empty(template: &str) -> Result<String, ReportError> {
    fill(template, "")
}

fn fill(template: &str, data: &str) -> Result<String, ReportError> {
    match template.matches(SESSION_PLACEHOLDER).count() {
        0 => Err(ReportError::NoPlaceholder),
        1 => Ok(template.replacen(SESSION_PLACEHOLDER, data, 1)),
        n => Err(ReportError::ManyPlaceholders(n)),
    }
}

/// The embedded session's base64 text in a report, if `html` is one (`None` for a page
/// without the element; `Some("")` for the standalone viewer).
pub fn embedded(html: &str) -> Option<&str> {
    let open = format!("id=\"{SESSION_ELEMENT_ID}\">");
    let start = html.find(&open)? + open.len();
    let len = html[start..].find("</script>")?;
    Some(html[start..start + len].trim())
}

/// Reads the session out of a report, so `callscope --load report.html` and a report
/// dropped on the viewer work.
pub fn load(html: &str) -> Result<Session, LoadError> {
    let data = embedded(html).ok_or_else(|| {
        LoadError::UnknownFormat("an HTML page that is not a callscope report".to_owned())
    })?;
    if data.is_empty() || data == SESSION_PLACEHOLDER {
        return Err(LoadError::UnknownFormat(
            "the callscope viewer with no session in it".to_owned(),
        ));
    }
    let bytes = base64_decode(data)
        .ok_or_else(|| LoadError::invalid("HTML report", "the embedded session is not base64"))?;
    format::load(&bytes)
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

pub fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes standard base64, skipping whitespace; `None` on any other character.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            c if c.is_ascii_whitespace() => continue,
            _ => return None,
        };
        acc = acc << 6 | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_every_length() {
        let data: Vec<u8> = (0..=255u8).chain(0..=255).collect();
        for n in 0..40 {
            let enc = base64_encode(&data[..n]);
            assert_eq!(enc.len() % 4, 0);
            assert_eq!(base64_decode(&enc).unwrap(), &data[..n], "{n}");
        }
        assert_eq!(base64_encode(b"callscope"), "Y2FsbHNjb3Bl");
        assert_eq!(base64_encode(b"ab"), "YWI=");
        assert_eq!(base64_decode("YW\nI=").unwrap(), b"ab");
        assert_eq!(base64_decode("YW<I="), None);
    }

    #[test]
    fn fill_needs_exactly_one_placeholder() {
        let page = format!("<body>{}</body>", session_element());
        assert_eq!(embedded(&empty(&page).unwrap()), Some(""));
        assert!(matches!(
            fill("<body></body>", "x"),
            Err(ReportError::NoPlaceholder)
        ));
        let twice = format!("{page}{page}");
        assert!(matches!(
            fill(&twice, "x"),
            Err(ReportError::ManyPlaceholders(2))
        ));
    }
}
