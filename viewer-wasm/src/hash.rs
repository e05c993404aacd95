//! The URL hash: which view, thread, settings, selection and search the page shows, so a
//! reload (or a shared link to a hosted profile) comes back to the same place.
//! `#view=flame&thread=1&inverted=1&threshold=0.5&sel=n42&zoom=17&func=3&q=parse`;
//! the timeline adds its window and the selected range, in microseconds:
//! `&window=0-850000&range=200000-850000`.

use callscope_model::{FuncId, NodeId};

use crate::rows::RowKey;
use crate::state::{Settings, View};

#[derive(Clone, Debug, Default, PartialEq)]
pub struct HashState {
    pub view: View,
    pub thread: Option<usize>,
    pub settings: Settings,
    pub selected: Option<RowKey>,
    pub zoom: Option<NodeId>,
    pub func: Option<FuncId>,
    pub query: String,
    pub range: Option<(u64, u64)>,
    pub window: Option<(u64, u64)>,
}

fn span(value: &str) -> Option<(u64, u64)> {
    let (a, b) = value.split_once('-')?;
    let (a, b) = (a.parse().ok()?, b.parse().ok()?);
    (a < b).then_some((a, b))
}

impl HashState {
    /// Reads a hash (with or without the leading `#`); unknown or malformed parts are
    /// ignored, since a stale link should still open the profile.
    pub fn parse(hash: &str) -> Self {
        let mut h = HashState::default();
        for part in hash.trim_start_matches('#').split('&') {
            let Some((key, value)) = part.split_once('=') else {
                continue;
            };
            let value = decode(value);
            let flag = value == "1";
            match key {
                "view" => h.view = View::from_id(&value).unwrap_or_default(),
                "thread" => h.thread = value.parse().ok(),
                "libraries" => h.settings.group_libraries = !flag,
                "importlib" => h.settings.remove_importlib = !flag,
                "percent" => h.settings.percent = flag,
                "inverted" => h.settings.inverted = flag,
                "merged" => h.settings.merge_threads = flag,
                "recursion" => h.settings.collapse_recursion = !flag,
                "threshold" => {
                    if let Ok(t) = value.parse::<f64>() {
                        if t.is_finite() && (0.0..=100.0).contains(&t) {
                            h.settings.threshold_pct = t;
                        }
                    }
                }
                "sel" => {
                    h.selected = match value.split_at_checked(1) {
                        Some(("n", n)) => {
                            n.parse().ok().map(|n| RowKey::Node(NodeId::from_index(n)))
                        }
                        Some(("g", g)) => g.parse().ok().map(RowKey::Group),
                        _ => None,
                    }
                }
                "zoom" => h.zoom = value.parse().ok().map(NodeId::from_index),
                "func" => h.func = value.parse().ok().map(FuncId::from_index),
                "q" => h.query = value,
                "range" => h.range = span(&value),
                "window" => h.window = span(&value),
                _ => {}
            }
        }
        h
    }

    /// The hash for this state, leaving out what is at its default.
    pub fn format(&self) -> String {
        let defaults = Settings::default();
        let s = &self.settings;
        let mut parts: Vec<String> = vec![format!("view={}", self.view.id())];
        if let Some(t) = self.thread {
            parts.push(format!("thread={t}"));
        }
        if s.group_libraries != defaults.group_libraries {
            parts.push("libraries=1".into());
        }
        if s.remove_importlib != defaults.remove_importlib {
            parts.push("importlib=1".into());
        }
        if s.percent {
            parts.push("percent=1".into());
        }
        if s.inverted {
            parts.push("inverted=1".into());
        }
        if s.merge_threads {
            parts.push("merged=1".into());
        }
        if s.collapse_recursion != defaults.collapse_recursion {
            parts.push("recursion=1".into());
        }
        if s.threshold_pct != defaults.threshold_pct {
            parts.push(format!("threshold={}", s.threshold_pct));
        }
        match self.selected {
            Some(RowKey::Node(n)) => parts.push(format!("sel=n{}", n.index())),
            Some(RowKey::Group(g)) => parts.push(format!("sel=g{g}")),
            None => {}
        }
        if let Some(z) = self.zoom {
            parts.push(format!("zoom={}", z.index()));
        }
        if let Some(f) = self.func {
            parts.push(format!("func={}", f.index()));
        }
        if !self.query.is_empty() {
            parts.push(format!("q={}", encode(&self.query)));
        }
        if let Some((a, b)) = self.window {
            parts.push(format!("window={a}-{b}"));
        }
        if let Some((a, b)) = self.range {
            parts.push(format!("range={a}-{b}"));
        }
        format!("#{}", parts.join("&"))
    }
}

/// Percent-encodes everything but unreserved characters.
fn encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_field() {
        let h = HashState {
            view: View::Flame,
            thread: Some(2),
            settings: Settings {
                group_libraries: false,
                remove_importlib: false,
                percent: true,
                threshold_pct: 0.25,
                inverted: true,
                merge_threads: true,
                collapse_recursion: false,
            },
            selected: Some(RowKey::Group(3)),
            zoom: Some(NodeId::from_index(17)),
            func: Some(FuncId::from_index(5)),
            query: "json/decoder & <x> ü".into(),
            range: Some((200_000, 850_000)),
            window: Some((0, 900_000)),
        };
        assert_eq!(HashState::parse(&h.format()), h);
        let n = HashState {
            selected: Some(RowKey::Node(NodeId::from_index(42))),
            ..HashState::default()
        };
        assert_eq!(n.format(), "#view=tree&sel=n42");
        assert_eq!(HashState::parse(&n.format()), n);
    }

    #[test]
    fn junk_is_ignored() {
        let h = HashState::parse(
            "#view=nope&thread=x&threshold=-4&sel=z9&q=%zz&&=&zoom&range=5-2&window=a-9",
        );
        assert_eq!(
            h,
            HashState {
                query: "%zz".into(),
                ..HashState::default()
            }
        );
    }
}
