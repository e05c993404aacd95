//! Every kind of bad input gives a typed error whose message says what is wrong and where.

mod common;

use std::io::Write;

use callscope_model::format;
use callscope_model::LoadError;
use common::small_program;

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

fn error(bytes: &[u8]) -> (LoadError, String) {
    let err = format::load(bytes).expect_err("bad input must not load");
    let msg = err.to_string();
    (err, msg)
}

/// Our JSON with one edit applied to the parsed document.
fn edited(edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let json = format::callscope::to_json(&small_program()).unwrap();
    let mut doc: serde_json::Value = serde_json::from_slice(&json).unwrap();
    edit(&mut doc);
    gzip(&serde_json::to_vec(&doc).unwrap())
}

#[test]
fn empty_input() {
    assert!(matches!(error(b"").0, LoadError::Empty));
    assert!(matches!(error(b"  \n\t").0, LoadError::Empty));
}

#[test]
fn random_bytes() {
    let noise: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let (err, msg) = error(&noise);
    assert!(matches!(err, LoadError::UnknownFormat(_)), "{msg}");
}

#[test]
fn truncated_gzip() {
    let full = format::callscope::encode(&small_program()).unwrap();
    for cut in [3, 10, full.len() / 2, full.len() - 4] {
        let (err, msg) = error(&full[..cut]);
        assert!(matches!(err, LoadError::Gzip(_)), "cut at {cut}: {msg}");
    }
}

#[test]
fn invalid_json() {
    let (err, msg) =
        error(b"{\"format\": \"callscope-session\", \"version\": [1, 0], \"strings\": [");
    assert!(matches!(err, LoadError::Invalid { .. }), "{msg}");
    assert!(msg.contains("line 1"), "says where: {msg}");
    let (err, msg) = error(b"{\"a\": }");
    assert!(matches!(err, LoadError::Json(_)), "{msg}");
    assert!(msg.contains("column"), "{msg}");
}

#[test]
fn json_of_an_unknown_tool() {
    let (err, msg) = error(br#"{"traceEvents": [], "displayTimeUnit": "ms"}"#);
    assert!(matches!(err, LoadError::UnknownFormat(_)), "{msg}");
    assert!(msg.contains("traceEvents"), "names what it found: {msg}");
    let (err, _) = error(b"[1, 2, 3]");
    assert!(matches!(err, LoadError::UnknownFormat(_)));
    let (err, msg) = error(b"hello world\nthis is not a profile\n");
    assert!(matches!(err, LoadError::UnknownFormat(_)), "{msg}");
}

#[test]
fn newer_major_version_is_refused_clearly() {
    // Even when the rest of the layout is unrecognisable.
    let bytes =
        gzip(br#"{"format": "callscope-session", "version": [2, 3], "everything": "changed"}"#);
    let (err, msg) = error(&bytes);
    assert!(
        matches!(
            err,
            LoadError::NewerVersion {
                major: 2,
                minor: 3,
                supported: 1
            }
        ),
        "{msg}"
    );
    assert!(msg.contains("newer callscope"), "{msg}");
    // A newer minor version with an extra field still loads.
    let bytes = edited(|d| {
        d["version"] = serde_json::json!([1, 7]);
        d["future_field"] = serde_json::json!({"x": 1});
    });
    assert!(format::load(&bytes).is_ok());
}

#[test]
fn stack_id_out_of_range() {
    let bytes = edited(|d| d["threads"][0]["samples"]["stack"][0] = 999.into());
    let (_, msg) = error(&bytes);
    assert!(
        msg.contains("stack 999") && msg.contains("MainThread"),
        "{msg}"
    );
}

#[test]
fn parent_cycle_or_forward_parent() {
    let bytes = edited(|d| d["stacks"]["parent"][0] = 1.into());
    let (_, msg) = error(&bytes);
    assert!(msg.contains("stack 0 has parent 1"), "{msg}");
    let bytes = edited(|d| d["stacks"]["parent"][2] = 2.into());
    let (_, msg) = error(&bytes);
    assert!(msg.contains("stack 2 has parent 2"), "{msg}");
}

#[test]
fn columns_of_different_lengths() {
    let bytes = edited(|d| {
        d["threads"][1]["samples"]["weight_us"]
            .as_array_mut()
            .unwrap()
            .push(5.into())
    });
    let (_, msg) = error(&bytes);
    assert!(msg.contains("columns differ in length"), "{msg}");
    let bytes = edited(|d| {
        d["frames"]["line"]
            .as_array_mut()
            .unwrap()
            .pop()
            .map(|_| ())
            .unwrap()
    });
    let (_, msg) = error(&bytes);
    assert!(msg.contains("frame columns differ"), "{msg}");
}

#[test]
fn references_to_missing_rows() {
    let bytes = edited(|d| d["functions"]["name"][0] = 10_000.into());
    assert!(error(&bytes).1.contains("function 0 refers to string"));
    let bytes = edited(|d| d["frames"]["func"][0] = 10_000.into());
    assert!(error(&bytes).1.contains("frame 0 refers to function"));
    let bytes = edited(|d| d["functions"]["kind"][0] = 9.into());
    assert!(error(&bytes).1.contains("unknown kind 9"));
}

#[test]
fn absurd_sizes() {
    // A gzip bomb stops at the limit instead of filling memory (1 GiB for `load`; a small
    // limit here keeps the test fast).
    let bomb = gzip(&vec![b' '; 8 << 20]);
    assert!(bomb.len() < 64 << 10);
    assert!(matches!(
        format::gunzip(&bomb, 1 << 20),
        Err(LoadError::TooLarge(_))
    ));
    assert_eq!(format::gunzip(&bomb, 8 << 20).unwrap().len(), 8 << 20);
    // Sample times that overflow.
    let bytes = edited(|d| {
        d["threads"][0]["samples"]["time_delta_us"] = serde_json::json!([u64::MAX, u64::MAX, 1, 1])
    });
    assert!(error(&bytes).1.contains("overflow"));
}

#[test]
fn weights_that_overflow_any_sum_are_refused() {
    // Found by the fuzzer: absurd times in each format once overflowed an addition.
    let bytes = edited(|d| {
        d["threads"][0]["samples"]["weight_us"] = serde_json::json!([u64::MAX, 1, 1, 1])
    });
    assert!(error(&bytes).1.contains("weights add up"));
    let doc =
        br#"{"frame_records": [[["a\u0000a.py\u00001"], 1e300], [["a\u0000a.py\u00001"], 1e300]]}"#;
    assert!(error(doc).1.contains("frame record 1"));
    let doc = br#"{"shared":{"frames":[{"name":"a"}]},"profiles":[{"type":"sampled","name":"t",
        "unit":"seconds","startValue":0,"endValue":1,"samples":[[0],[0]],"weights":[1e300,1e300]}]}"#;
    assert!(error(doc).1.contains("profile 0, sample 1"));
}

#[test]
fn speedscope_errors_name_the_place() {
    let doc = br#"{"shared":{"frames":[{"name":"a"}]},"profiles":[{"type":"sampled","name":"t",
        "unit":"seconds","startValue":0,"endValue":1,"samples":[[0],[3]],"weights":[1,1]}]}"#;
    assert!(error(doc)
        .1
        .contains("profile 0, sample 1 refers to frame 3"));
    let doc = br#"{"shared":{"frames":[{"name":"a"}]},"profiles":[{"type":"sampled","name":"t",
        "unit":"seconds","startValue":0,"endValue":1,"samples":[[0]],"weights":[]}]}"#;
    assert!(error(doc).1.contains("1 samples but 0 weights"));
    let doc = br#"{"shared":{"frames":[{"name":"a"},{"name":"b"}]},"profiles":[{"type":"evented","name":"t",
        "unit":"seconds","startValue":0,"endValue":1,"events":[{"type":"O","frame":0,"at":0},{"type":"C","frame":1,"at":1}]}]}"#;
    assert!(error(doc).1.contains("not the innermost open frame"));
    let doc = br#"{"shared":{"frames":[]},"profiles":[{"type":"heap","name":"t","unit":"bytes","startValue":0}]}"#;
    assert!(error(doc).1.contains("profile 0 has unknown type \"heap\""));
    let doc = br#"{"shared":{"frames":[]},"profiles":[{"type":"sampled","name":"t","unit":"bytes","startValue":0,"weights":[]}]}"#;
    assert!(error(doc)
        .1
        .contains("profile 0 is sampled but has no samples"));
    let doc = br#"{"shared":{"frames":[]},"profiles":[{"type":"sampled","name":"t","unit":"bytes","startValue":0,"samples":[[0,"x"]],"weights":[1]}]}"#;
    assert!(error(doc)
        .1
        .contains(r#"invalid type: string "x", expected u32"#));
}

#[test]
fn pyinstrument_errors_name_the_record() {
    let doc = br#"{"frame_records": [[["main\u0000a.py\u0000x"], 0.001]]}"#;
    let msg = error(doc).1;
    assert!(
        msg.contains("frame record 0") && msg.contains("bad line number"),
        "{msg}"
    );
    let doc = br#"{"frame_records": [[["main\u0000a.py\u00001"], -1.0]]}"#;
    assert!(error(doc).1.contains("frame record 0 has time -1"));
}

#[test]
fn collapsed_errors_name_the_line() {
    let msg = error(b"a;b 3\nc;d lots\n").1;
    assert!(msg.contains("line 2"), "{msg}");
}
