//! Prints any profile callscope can read as a call tree:
//! `cargo run -p callscope-model --example render -- FILE [--timeline] [--flat] [--all]`.

use callscope_model::format;
use callscope_model::render::text::{render, FlatMode, TextOptions};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.iter().find(|a| !a.starts_with("--")) else {
        eprintln!("usage: render FILE [--timeline] [--flat] [--all]");
        std::process::exit(2);
    };
    let bytes = std::fs::read(path).unwrap_or_else(|e| {
        eprintln!("{path}: {e}");
        std::process::exit(1);
    });
    let session = format::load(&bytes).unwrap_or_else(|e| {
        eprintln!("{path}: {e}");
        std::process::exit(1);
    });
    let mut options = TextOptions::default();
    options.processors.timeline = args.iter().any(|a| a == "--timeline");
    options.processors.show_all = args.iter().any(|a| a == "--all");
    if args.iter().any(|a| a == "--flat") {
        options.flat = Some(FlatMode::SelfTime);
    }
    print!("{}", render(&session, &options));
}
