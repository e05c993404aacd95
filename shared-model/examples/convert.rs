//! Converts any profile callscope reads into another format, chosen by the output's name:
//! `*.pyisession` (callscope), `*.speedscope.json`, `*.collapsed.txt`,
//! `*.pyinstrument.json` (pyinstrument session), `*.tree.json` (pyinstrument-style tree).
//!
//! `cargo run -p callscope-model --example convert -- IN OUT`

use callscope_model::format;
use callscope_model::processors::ProcessorOptions;
use callscope_model::render::json_tree;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output] = args.as_slice() else {
        eprintln!("usage: convert IN OUT");
        std::process::exit(2);
    };
    let fail = |e: &dyn std::fmt::Display| -> ! {
        eprintln!("convert: {e}");
        std::process::exit(1)
    };
    let bytes = std::fs::read(input).unwrap_or_else(|e| fail(&e));
    let session = format::load(&bytes).unwrap_or_else(|e| fail(&e));
    let out = if output.ends_with(".pyisession") {
        format::callscope::encode(&session).unwrap_or_else(|e| fail(&e))
    } else if output.ends_with(".speedscope.json") {
        format::speedscope::encode(&session).unwrap_or_else(|e| fail(&e))
    } else if output.ends_with(".collapsed.txt") {
        format::collapsed::encode(&session).into_bytes()
    } else if output.ends_with(".pyinstrument.json") {
        format::pyinstrument::encode_session(&session).unwrap_or_else(|e| fail(&e))
    } else if output.ends_with(".tree.json") {
        json_tree::render(&session, &[], &ProcessorOptions::default()).into_bytes()
    } else {
        fail(&"unknown output extension")
    };
    std::fs::write(output, out).unwrap_or_else(|e| fail(&e));
}
