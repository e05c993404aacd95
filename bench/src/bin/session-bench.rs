//! The session format and model against pyinstrument, measured side by side in one run.
//!
//! Generates a synthetic 1M-sample session (4 threads, depth 20–60, 3000 functions) and
//! prints: callscope's file size, decode time and build+process+render time; pyinstrument's
//! session size for the same samples; and, on a subset pyinstrument can hold in memory,
//! pyinstrument 5 loading its session and rendering text next to callscope doing the same.
//!
//! `cargo run --release -p callscope-bench --bin session-bench -- [--pyinstrument PYTHON]
//!  [--samples N] [--compare-samples N] [--runs N]` (or `make bench`).

use std::io::{self, Write};
use std::process::Command;
use std::time::Duration;

use callscope_bench::median_time;
use callscope_bench::synthetic::{generate, Spec};
use callscope_model::format;
use callscope_model::render::text::{render, TextOptions};
use callscope_model::Session;

struct Args {
    samples: usize,
    compare_samples: usize,
    runs: usize,
    python: Option<String>,
}

fn parse_args() -> Args {
    let mut args = Args {
        samples: 1_000_000,
        compare_samples: 100_000,
        runs: 5,
        python: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .unwrap_or_else(|| usage(&format!("{name} needs a value")))
        };
        match a.as_str() {
            "--samples" => {
                args.samples = value("--samples")
                    .parse()
                    .unwrap_or_else(|_| usage("bad --samples"))
            }
            "--compare-samples" => {
                args.compare_samples = value("--compare-samples")
                    .parse()
                    .unwrap_or_else(|_| usage("bad --compare-samples"))
            }
            "--runs" => {
                args.runs = value("--runs")
                    .parse()
                    .unwrap_or_else(|_| usage("bad --runs"))
            }
            "--pyinstrument" => args.python = Some(value("--pyinstrument")),
            _ => usage(&format!("unknown argument {a}")),
        }
    }
    args
}

fn usage(msg: &str) -> ! {
    eprintln!("session-bench: {msg}\nusage: session-bench [--pyinstrument PYTHON] [--samples N] [--compare-samples N] [--runs N]");
    std::process::exit(2)
}

/// Counts bytes instead of storing them.
struct Counter(u64);

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The first `n` samples of the session, split evenly over its threads.
fn subset(session: &Session, n: usize) -> Session {
    let mut s = session.clone();
    let per_thread = n / s.threads.len().max(1);
    for t in &mut s.threads {
        let k = per_thread.min(t.samples.len());
        t.samples.stack.truncate(k);
        t.samples.time_us.truncate(k);
        t.samples.weight_us.truncate(k);
        if let Some(c) = t.samples.cpu_us.as_mut() {
            c.truncate(k);
        }
    }
    s.meta.counts.samples = per_thread as u64;
    s
}

fn decode_build_render(bytes: &[u8]) -> usize {
    let session = format::load(bytes).expect("our own file loads");
    render(&session, &TextOptions::default()).len()
}

const PYINSTRUMENT_SCRIPT: &str = r#"
import sys, time
import pyinstrument
from pyinstrument.session import Session
from pyinstrument.renderers import ConsoleRenderer
best = None
for _ in range(int(sys.argv[2])):
    t0 = time.perf_counter()
    session = Session.load(sys.argv[1])
    text = ConsoleRenderer(unicode=True, color=False).render(session)
    t = time.perf_counter() - t0
    best = t if best is None else sorted([best, t])[0]
print(pyinstrument.__version__, best, len(text))
"#;

fn secs(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

fn main() {
    let args = parse_args();
    let spec = Spec {
        samples: args.samples,
        ..Spec::default()
    };
    let session = generate(&spec);
    let n = session.sample_count();
    let depths = session.stack_depths();
    let sampled: Vec<u32> = session
        .threads
        .iter()
        .flat_map(|t| t.samples.stack.iter().map(|s| depths[s.index()]))
        .collect();
    println!(
        "synthetic session: {n} samples, {} threads, stack depth {}–{} (mean {:.0}), {} functions, {} distinct stacks",
        session.threads.len(),
        sampled.iter().min().copied().unwrap_or(0),
        sampled.iter().max().copied().unwrap_or(0),
        sampled.iter().map(|&d| d as f64).sum::<f64>() / sampled.len().max(1) as f64,
        session.functions.len(),
        session.stacks.len()
    );

    let (encode_time, bytes) = median_time(args.runs, || {
        format::callscope::encode(&session).expect("encodes")
    });
    let (decode_time, _) = median_time(args.runs, || format::load(&bytes).expect("decodes"));
    let (render_time, _) = median_time(args.runs, || render(&session, &TextOptions::default()));
    let (total_time, _) = median_time(args.runs, || decode_build_render(&bytes));
    let mut pyi_size = Counter(0);
    format::pyinstrument::write_session(&session, &mut pyi_size).expect("writes");

    println!();
    println!("callscope, {n} samples (median of {} runs)", args.runs);
    println!(
        "  file size            {:>12} bytes  ({:.2} bytes/sample)",
        bytes.len(),
        bytes.len() as f64 / n as f64
    );
    println!("  encode               {:>12}", secs(encode_time));
    println!("  decode               {:>12}", secs(decode_time));
    println!("  build+process+render {:>12}", secs(render_time));
    println!(
        "  decode+build+render  {:>12}  (target: under 1 s)",
        secs(total_time)
    );
    println!();
    println!("file size for the same {n} samples");
    println!("  pyinstrument session {:>12} bytes", pyi_size.0);
    println!("  callscope session    {:>12} bytes", bytes.len());
    println!(
        "  ratio                {:>11.0}×  smaller (target: at least 20×)",
        pyi_size.0 as f64 / bytes.len() as f64
    );

    let Some(python) = args.python else {
        println!("\n(pass --pyinstrument PYTHON to time pyinstrument on the same samples)");
        return;
    };
    let small = subset(&session, args.compare_samples.min(n));
    let m = small.sample_count();
    let dir = std::env::temp_dir().join(format!("callscope-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let pyi_path = dir.join("session.pyisession.json");
    let mut file = io::BufWriter::new(std::fs::File::create(&pyi_path).expect("create"));
    format::pyinstrument::write_session(&small, &mut file).expect("writes");
    file.flush().expect("flush");
    drop(file);
    let small_bytes = format::callscope::encode(&small).expect("encodes");
    let (ours, _) = median_time(args.runs, || decode_build_render(&small_bytes));
    let out = Command::new(&python)
        .args([
            "-c",
            PYINSTRUMENT_SCRIPT,
            pyi_path.to_str().expect("utf-8 path"),
            &args.runs.min(3).to_string(),
        ])
        .output()
        .unwrap_or_else(|e| usage(&format!("cannot run {python}: {e}")));
    let _ = std::fs::remove_dir_all(&dir);
    if !out.status.success() {
        eprintln!(
            "pyinstrument failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::process::exit(1);
    }
    let report = String::from_utf8_lossy(&out.stdout);
    let mut fields = report.split_whitespace();
    let version = fields.next().unwrap_or("?").to_owned();
    let theirs: f64 = fields
        .next()
        .and_then(|s| s.parse().ok())
        .expect("pyinstrument printed a time");
    println!();
    println!("load + render text, {m} samples (pyinstrument needs several GB for the full {n})");
    println!(
        "  pyinstrument {version:<8}   {theirs:>10.3} s  (best of {})",
        args.runs.min(3)
    );
    println!(
        "  callscope               {:>10.3} s  (median of {})",
        ours.as_secs_f64(),
        args.runs
    );
    println!(
        "  ratio                   {:>9.0}×  faster (target: at least 10×)",
        theirs / ours.as_secs_f64()
    );
}
