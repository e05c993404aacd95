//! Our collapsed export is what inferno (the Rust port of flamegraph.pl) reads: it draws a
//! flame graph of it without a warning, with every sample in it.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};

use callscope_model::format;
use common::read_fixture;

/// inferno reports lines it cannot use through `log`.
struct CountWarnings;

static WARNINGS: AtomicUsize = AtomicUsize::new(0);

impl log::Log for CountWarnings {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.level() <= log::Level::Warn
    }
    fn log(&self, record: &log::Record) {
        if self.enabled(record.metadata()) {
            eprintln!("inferno: {}", record.args());
            WARNINGS.fetch_add(1, Ordering::Relaxed);
        }
    }
    fn flush(&self) {}
}

#[test]
fn inferno_draws_the_collapsed_export_without_warnings() {
    log::set_logger(&CountWarnings).unwrap();
    log::set_max_level(log::LevelFilter::Warn);
    for name in ["mixed", "recursion", "api_async_mode"] {
        let bytes = read_fixture(&format!("pyinstrument/{name}.pyisession"));
        let session = format::load(&bytes).unwrap();
        let collapsed = format::collapsed::encode(&session);
        let total: u64 = collapsed
            .lines()
            .map(|l| l.rsplit_once(' ').unwrap().1.parse::<u64>().unwrap())
            .sum();
        let mut svg = Vec::new();
        let mut options = inferno::flamegraph::Options::default();
        inferno::flamegraph::from_lines(&mut options, collapsed.lines(), &mut svg).unwrap();
        let svg = String::from_utf8(svg).unwrap();
        assert_eq!(WARNINGS.load(Ordering::Relaxed), 0, "{name}");
        assert!(svg.starts_with("<?xml") && svg.contains("</svg>"), "{name}");
        // The root frame holds every sample (inferno prints the count with separators).
        let all = format!("all ({} samples, 100%)", group_thousands(total));
        assert!(svg.contains(&all), "{name}: no {all:?}");
        // Each function with a tenth of the time or more is drawn under its name.
        let table = callscope_model::functions::FunctionTable::build(&session, &[], None);
        for row in table
            .rows
            .iter()
            .filter(|r| r.total_us * 10 >= table.total_us)
        {
            let func = session.function_name(row.func);
            let escaped = func
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;");
            assert!(svg.contains(&escaped), "{name}: {func} not drawn");
        }
    }
}

fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}
