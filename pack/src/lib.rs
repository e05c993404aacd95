//! Packs the viewer's Trunk build (`www/dist/`: the wasm-bindgen glue, the wasm, the CSS)
//! into one HTML file that works from `file://` with no network: the glue and the wasm are
//! gzipped and inlined as base64, decompressed with the browser's `DecompressionStream`,
//! the glue run as an inline module script and the wasm instantiated asynchronously
//! (Chromium refuses synchronous compiles of large modules and fetches of `.wasm` from
//! `file://`).
//! The page carries one session placeholder (`callscope_model::report`), filled by
//! `callscope -r html` or left empty for the standalone viewer.

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

/// What wasm-bindgen 0.2.130's `--target web` glue exports: the boot script calls the
/// default export.
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

/// Inflates the glue (with [`START`] at its end) into a module script of the page: an
/// inline script, which the policy that lets the viewer run at all allows (a `blob:` import
/// would need one more source in `script-src`). Its consts are global, for `START`.
const BOOT: &str = r#"
const showFatal = (message) => {
  const el = document.getElementById("callscope-fatal");
  el.textContent = message;
  el.hidden = false;
};
const showUnsupported = (e) => showFatal("callscope's viewer could not start: " + e + ". It needs a browser with WebAssembly and DecompressionStream (Chrome 80, Firefox 113, Safari 16.4 or newer).");
const inflate = (id) => {
  const packed = Uint8Array.from(atob(document.getElementById(id).textContent), (c) => c.charCodeAt(0));
  return new Response(new Blob([packed]).stream().pipeThrough(new DecompressionStream("gzip")));
};
Promise.resolve().then(() => inflate("callscope-glue").text()).then((glue) => {
  const script = document.createElement("script");
  script.type = "module";
  script.textContent = glue;
  document.body.append(script);
}).catch(showUnsupported);
"#;

/// Replaces the glue's export line: starts the viewer from the inlined wasm.
const START: &str = r#"
try {
  await __wbg_init({ module_or_path: await inflate("callscope-wasm").arrayBuffer() });
} catch (e) {
  showUnsupported(e);
}
"#;

/// Drops indentation, blank lines and whole-line `//` comments from the stylesheet, which
/// stays inline so that the page is styled before the viewer starts. Code whose lines are
/// not self-contained (a template literal spanning lines) is left as it is.
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
    let css = &compact(&dist.css);
    let lower = css.to_ascii_lowercase();
    for bad in ["</script", "</style", "<!--"] {
        if lower.contains(bad) {
            return Err(PackError::Unsafe("the stylesheet", bad));
        }
    }
    let glue = gzip_base64(format!("{glue}{START}").as_bytes());
    let wasm = gzip_base64(&dist.wasm);
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
<script type="application/octet-stream" id="callscope-glue">{glue}</script>
<script type="application/octet-stream" id="callscope-wasm">{wasm}</script>
<script>{BOOT}</script>
</body>
</html>
"#,
        session = session_element(),
    ))
}

fn gzip_base64(bytes: &[u8]) -> String {
    let mut gz = Vec::new();
    zopfli::compress(
        zopfli::Options::default(),
        zopfli::Format::Gzip,
        bytes,
        &mut gz,
    )
    .expect("writing to memory");
    base64_encode(&gz)
}

#[cfg(test)]
mod tests {
    use super::*;
    use callscope_model::report::{base64_decode, embedded, SESSION_PLACEHOLDER};

    fn dist(glue: &str) -> Dist {
        Dist {
            glue: format!("{glue}\n{EXPORT_LINE}\n"),
            wasm: b"\0asm\x01\0\0\0".to_vec(),
            css: "body { margin: 0 }".into(),
        }
    }

    /// The base64 text of the inline element `id`.
    fn inline<'a>(page: &'a str, id: &str) -> &'a str {
        let open = format!(r#"<script type="application/octet-stream" id="{id}">"#);
        let start = page.find(&open).unwrap() + open.len();
        &page[start..start + page[start..].find("</script>").unwrap()]
    }

    fn unpack(page: &str, id: &str) -> Vec<u8> {
        let gz = base64_decode(inline(page, id)).unwrap();
        callscope_model::format::gunzip(&gz, 1 << 20).unwrap()
    }

    #[test]
    fn packs_everything_inline_with_one_placeholder() {
        let d = dist("async function __wbg_init() { return '</script>'; }");
        let page = pack(&d).unwrap();
        assert_eq!(page.matches(SESSION_PLACEHOLDER).count(), 1);
        assert_eq!(embedded(&page), Some(SESSION_PLACEHOLDER));
        assert!(!page.contains(" src=") && !page.contains("stylesheet"));
        // The glue and the wasm come back byte for byte from their gzipped base64, the glue
        // starting the viewer where it exported its start.
        let glue = String::from_utf8(unpack(&page, "callscope-glue")).unwrap();
        assert_eq!(
            glue,
            d.glue.replace(&format!("{EXPORT_LINE}\n"), "") + START
        );
        assert_eq!(unpack(&page, "callscope-wasm"), d.wasm);
        assert!(!page.contains("__wbg_init"));
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
        let mut d = dist("");
        d.css = "a::after { content: '</STYLE>' }".into();
        assert!(matches!(pack(&d), Err(PackError::Unsafe(..))));
        let mut d = dist("");
        d.glue = "no export line".into();
        assert!(matches!(pack(&d), Err(PackError::Glue)));
    }
}
