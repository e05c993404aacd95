//! Any bytes given to the loader must produce a session or a typed error, never a panic;
//! a loaded session must also survive building its views and re-encoding.
#![no_main]

use callscope_model::format;
use callscope_model::render::text::{render, TextOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(session) = format::load(data) {
        let _ = render(&session, &TextOptions::default());
        let bytes = format::callscope::encode(&session).expect("a loaded session encodes");
        let again = format::load(&bytes).expect("our own encoding loads");
        assert_eq!(again, session);
    }
});
