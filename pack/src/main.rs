//! `callscope-pack [DIST] [OUT]`: packs the viewer's Trunk build (default `www/dist`) into
//! the single-file template the Python package ships (default
//! `recorder/python/callscope/viewer.html`).

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let dist = PathBuf::from(args.next().unwrap_or_else(|| "www/dist".into()));
    let out = PathBuf::from(
        args.next()
            .unwrap_or_else(|| "recorder/python/callscope/viewer.html".into()),
    );
    let page = callscope_pack::Dist::read(&dist).and_then(|d| callscope_pack::pack(&d));
    match page {
        Ok(page) => match std::fs::write(&out, &page) {
            Ok(()) => {
                println!("packed {} ({} bytes)", out.display(), page.len());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("callscope-pack: could not write {}: {e}", out.display());
                ExitCode::FAILURE
            }
        },
        Err(e) => {
            eprintln!("callscope-pack: {e}");
            ExitCode::FAILURE
        }
    }
}
