//! HTML report sizes: callscope's single-file report next to pyinstrument's HTML report for
//! the same samples, for a small, a 100k-sample and a 1M-sample session (synthetic and
//! deterministic: 4 threads, depth 20–60, 3000 functions).
//!
//! `cargo run --release -p callscope-bench --bin report-size -- [--template PATH]
//!  [--pyinstrument PYTHON] [--sizes 2000,100000,1000000]` (or `make bench`). The template
//! is the packed viewer (`make viewer-template`).

use std::io::Write;
use std::process::Command;

use callscope_bench::synthetic::{generate, Spec};
use callscope_model::{format, report};

/// Renders pyinstrument's HTML for a session file and says how many samples it kept:
/// above 100,000 its HTML renderer resamples to a coarser interval.
const PYINSTRUMENT_SCRIPT: &str = r#"
import sys, pyinstrument
from pyinstrument.session import Session
from pyinstrument.renderers.html import HTMLRenderer
kept = {}
original = Session.resample
def resample(self, interval):
    s = original(self, interval)
    kept["n"], kept["interval"] = len(s.frame_records), interval
    return s
Session.resample = resample
session = Session.load(sys.argv[1])
html = HTMLRenderer().render(session)
print(pyinstrument.__version__, len(html.encode()), kept.get("n", len(session.frame_records)), kept.get("interval", 0))
"#;

fn usage(msg: &str) -> ! {
    eprintln!(
        "report-size: {msg}\nusage: report-size [--template PATH] [--pyinstrument PYTHON] [--sizes N,N,...]"
    );
    std::process::exit(2)
}

fn kb(n: usize) -> String {
    format!("{:.0} KB", n as f64 / 1000.0)
}

fn main() {
    let mut template_path = "recorder/python/callscope/viewer.html".to_owned();
    let mut python = None;
    let mut sizes = vec![2_000usize, 100_000, 1_000_000];
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || {
            it.next()
                .unwrap_or_else(|| usage(&format!("{arg} needs a value")))
        };
        match arg.as_str() {
            "--template" => template_path = value(),
            "--pyinstrument" => python = Some(value()),
            "--sizes" => {
                sizes = value()
                    .split(',')
                    .map(|s| s.trim().parse().unwrap_or_else(|_| usage("bad --sizes")))
                    .collect()
            }
            other => usage(&format!("unknown argument {other}")),
        }
    }
    let template = std::fs::read_to_string(&template_path).unwrap_or_else(|e| {
        usage(&format!(
            "cannot read {template_path} ({e}); run `make viewer-template`"
        ))
    });
    let viewer = report::empty(&template).expect("a packed template").len();
    println!(
        "HTML report sizes (viewer part of callscope's report: {})",
        kb(viewer)
    );
    println!(
        "{:>10}  {:>12}  {:>12}  {:>6}  {:>14}  {:>7}  pyinstrument kept",
        "samples", "session", "callscope", "data×", "pyinstrument", "ratio"
    );
    let dir = std::env::temp_dir().join(format!("callscope-report-size-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    for &samples in &sizes {
        let session = generate(&Spec {
            samples,
            ..Spec::default()
        });
        let compressed = format::callscope::encode(&session).expect("encodes").len();
        let ours = report::write(&template, &session).expect("fills").len();
        let data_ratio = (ours - viewer) as f64 / compressed as f64;
        let theirs = python.as_ref().map(|python| {
            let path = dir.join("session.json");
            let mut file = std::io::BufWriter::new(std::fs::File::create(&path).expect("create"));
            format::pyinstrument::write_session(&session, &mut file).expect("writes");
            file.flush().expect("flush");
            drop(file);
            let out = Command::new(python)
                .args([
                    "-c",
                    PYINSTRUMENT_SCRIPT,
                    path.to_str().expect("utf-8 path"),
                ])
                .output()
                .unwrap_or_else(|e| usage(&format!("cannot run {python}: {e}")));
            let _ = std::fs::remove_file(&path);
            if !out.status.success() {
                let err = String::from_utf8_lossy(&out.stderr);
                return Err(err.lines().last().unwrap_or("failed").to_owned());
            }
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            let f: Vec<&str> = text.split_whitespace().collect();
            match f.as_slice() {
                [_version, size, kept, interval] => Ok((
                    size.parse::<usize>().unwrap_or(0),
                    kept.to_string(),
                    interval.parse::<f64>().unwrap_or(0.0),
                )),
                _ => Err(format!("unexpected output: {text}")),
            }
        });
        let (pyi, ratio, kept) = match theirs {
            None => (
                "-".to_owned(),
                "-".to_owned(),
                "(pass --pyinstrument PYTHON)".to_owned(),
            ),
            Some(Err(e)) => ("failed".to_owned(), "-".to_owned(), e),
            Some(Ok((size, kept, interval))) => (
                kb(size),
                format!("{:.2}×", size as f64 / ours as f64),
                if interval > 0.0 {
                    format!("{kept} samples, resampled to {:.1} ms", interval * 1e3)
                } else {
                    format!("all {kept} samples")
                },
            ),
        };
        println!(
            "{samples:>10}  {:>12}  {:>12}  {data_ratio:>5.2}×  {pyi:>14}  {ratio:>7}  {kept}",
            kb(compressed),
            kb(ours),
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
