//! Packs the viewer's Trunk build (`www/dist/`: the wasm-bindgen glue, the wasm, the CSS)
//! into one HTML file that works from `file://` with no network: the wasm is gzipped and
//! inlined as base64, decompressed with the browser's `DecompressionStream` and
//! instantiated asynchronously (Chromium refuses synchronous compiles of large modules
//! and fetches of `.wasm` from `file://`). The page carries one session placeholder
//! (`callscope_model::report`), filled by `callscope -r html` or left empty for the
//! standalone viewer.

use std::io::Write;
use std::path::{Path, PathBuf};

use callscope_model::report::{base64_encode, session_element};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum PackError {
    #[error("could not read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{dir} should hold exactly one {what} (found {found}); run `make viewer` first")]
    Files {
        dir: PathBuf,
        what: &'static str,
        found: usize,
    },
    #[error("{0} contains `{1}`, which would end its inline element early")]
    Unsafe(&'static str, &'static str),
    #[error(
        "the wasm-bindgen glue does not end with the export line this packer knows \
         (`{EXPORT_LINE}`); was wasm-bindgen-cli upgraded?"
    )]
    Glue,
}

/// What wasm-bindgen 0.2.130's `--target web` glue exports; the packer calls `__wbg_init`
/// directly instead, from the same module script.
const EXPORT_LINE: &str = "export { initSync, __wbg_init as default };";

/// The viewer's build output.
pub struct Dist {
    pub glue: String,
    pub wasm: Vec<u8>,
    pub css: String,
}

impl Dist {
    pub fn read(dir: &Path) -> Result<Self, PackError> {
        // The embed script is copied beside the glue; it is not part of the viewer page.
        let glue = read_one(dir, "JavaScript glue (*.js)", |n| {
            n.ends_with(".js") && n != "callscope-embed.js"
        })?;
        let wasm = read_one(dir, "wasm module (*_bg.wasm)", |n| n.ends_with("_bg.wasm"))?;
        let css = read_one(dir, "stylesheet (*.css)", |n| n.ends_with(".css"))?;
        Ok(Dist {
            glue: String::from_utf8_lossy(&glue).into_owned(),
            wasm,
            css: String::from_utf8_lossy(&css).into_owned(),
        })
    }
}

fn read_one(
    dir: &Path,
    what: &'static str,
    pick: impl Fn(&str) -> bool,
) -> Result<Vec<u8>, PackError> {
    let read_err = |path: &Path, source| PackError::Read {
        path: path.to_owned(),
        source,
    };
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| read_err(dir, e))? {
        let path = entry.map_err(|e| read_err(dir, e))?.path();
        if path.file_name().and_then(|n| n.to_str()).is_some_and(&pick) {
            found.push(path);
        }
    }
    match found.as_slice() {
        [path] => std::fs::read(path).map_err(|e| read_err(path, e)),
        _ => Err(PackError::Files {
            dir: dir.to_owned(),
            what,
            found: found.len(),
        }),
    }
}

/// Starts the viewer from the inlined wasm; any failure is shown in the page.
const BOOT: &str = r#"
const showFatal = (message) => {
  const el = document.getElementById("callscope-fatal");
  el.textContent = message;
  el.hidden = false;
};
try {
  const packed = Uint8Array.from(atob(document.getElementById("callscope-wasm").textContent), (c) => c.charCodeAt(0));
  const wasm = await new Response(new Blob([packed]).stream().pipeThrough(new DecompressionStream("gzip"))).arrayBuffer();
  await __wbg_init({ module_or_path: wasm });
} catch (e) {
  showFatal("callscope's viewer could not start: " + e + ". It needs a browser with WebAssembly and DecompressionStream (Chrome 80, Firefox 113, Safari 16.4 or newer).");
}
"#;

/// Drops indentation, blank lines and whole-line `//` comments: a tenth of the glue, and
/// the packed viewer must stay under 400 KB. Code whose lines are not self-contained (a
/// template literal spanning lines) is left as it is.
pub fn compact(code: &str) -> String {
    if code.lines().any(|l| l.matches('`').count() % 2 == 1) {
        return code.to_owned();
    }
    code.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The packed template: one HTML file with one session placeholder.
pub fn pack(dist: &Dist) -> Result<String, PackError> {
    let glue = dist
        .glue
        .trim_end()
        .strip_suffix(EXPORT_LINE)
        .ok_or(PackError::Glue)?;
    let glue = &compact(glue);
    let css = &compact(&dist.css);
    for (what, text) in [("the JavaScript glue", glue), ("the stylesheet", css)] {
        let lower = text.to_ascii_lowercase();
        for bad in ["</script", "</style", "<!--"] {
            if lower.contains(bad) {
                return Err(PackError::Unsafe(what, bad));
            }
        }
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&dist.wasm).expect("writing to memory");
    let wasm = base64_encode(&gz.finish().expect("writing to memory"));
    Ok(format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>callscope</title>
<link rel="icon" href="data:,">
<style>
{css}</style>
</head>
<body>
<div id="callscope-app"></div>
<div id="callscope-fatal" class="fatal" role="alert" hidden></div>
<noscript>callscope's viewer needs JavaScript and WebAssembly.</noscript>
{session}
<script type="application/octet-stream" id="callscope-wasm">{wasm}</script>
<script type="module">
{glue}
{BOOT}</script>
</body>
</html>
"#,
        session = session_element(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use callscope_model::report::{embedded, SESSION_PLACEHOLDER};

    fn dist(glue: &str) -> Dist {
        Dist {
            glue: format!("{glue}\n{EXPORT_LINE}\n"),
            wasm: b"\0asm\x01\0\0\0".to_vec(),
            css: "body { margin: 0 }".into(),
        }
    }

    #[test]
    fn packs_everything_inline_with_one_placeholder() {
        let page = pack(&dist("async function __wbg_init() {}")).unwrap();
        assert_eq!(page.matches(SESSION_PLACEHOLDER).count(), 1);
        assert_eq!(embedded(&page), Some(SESSION_PLACEHOLDER));
        assert!(!page.contains(EXPORT_LINE));
        assert!(!page.contains(" src=") && !page.contains("stylesheet"));
    }

    #[test]
    fn compacts_only_code_whose_lines_stand_alone() {
        let js = "function f() {\n    // why\n\n    return `${a}`;\n}\n";
        assert_eq!(compact(js), "function f() {\nreturn `${a}`;\n}");
        let multi = "const s = `a\n    b`;\n";
        assert_eq!(compact(multi), multi);
    }

    #[test]
    fn refuses_what_would_break_out_of_an_inline_element() {
        assert!(matches!(
            pack(&dist("let s = '</SCRIPT>';")),
            Err(PackError::Unsafe(..))
        ));
        let mut d = dist("");
        d.glue = "no export line".into();
        assert!(matches!(pack(&d), Err(PackError::Glue)));
    }
}
