//! Writes the benchmarks' synthetic session (4 threads, depth 20–60, 3000 functions, about
//! 60,000 distinct stacks per million samples) as callscope's format and as speedscope
//! JSON, for the viewer benchmark (`bench/viewer.mjs`) to open in both apps.
//!
//! `cargo run --release -p callscope-bench --bin synthetic-session -- [--samples N] DIR`

use std::path::PathBuf;

use callscope_bench::synthetic::{generate, Spec};
use callscope_model::format;

fn usage(msg: &str) -> ! {
    eprintln!("synthetic-session: {msg}\nusage: synthetic-session [--samples N] DIR");
    std::process::exit(2)
}

fn main() {
    let mut spec = Spec::default();
    let mut dir = None;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--samples" => {
                spec.samples = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| usage("--samples needs a number"))
            }
            _ if dir.is_none() && !arg.starts_with('-') => dir = Some(PathBuf::from(arg)),
            _ => usage(&format!("unknown argument {arg}")),
        }
    }
    let dir = dir.unwrap_or_else(|| usage("no output directory"));
    let session = generate(&spec);
    let stem = format!("synthetic-{}", spec.samples);
    let files = [
        (
            format!("{stem}.pyisession"),
            format::callscope::encode(&session),
        ),
        (
            format!("{stem}.speedscope.json"),
            format::speedscope::encode(&session),
        ),
    ];
    if let Err(e) = std::fs::create_dir_all(&dir) {
        usage(&format!("could not create {}: {e}", dir.display()));
    }
    for (name, bytes) in files {
        let path = dir.join(name);
        let bytes = bytes.unwrap_or_else(|e| usage(&format!("could not encode: {e}")));
        if let Err(e) = std::fs::write(&path, &bytes) {
            usage(&format!("could not write {}: {e}", path.display()));
        }
        println!("{} ({} bytes)", path.display(), bytes.len());
    }
}
