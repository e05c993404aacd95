//! Every format round-trips and is recognised from its content alone.

mod common;

use callscope_model::format::{self, Format};
use callscope_model::functions::FunctionTable;
use callscope_model::{LoadError, Session};
use common::{read_fixture, small_program};

/// Per-function (name, file) → (self, total) microseconds: what a user compares.
fn totals(s: &Session) -> Vec<(String, String, u64, u64)> {
    let table = FunctionTable::build(s, &[], None);
    let mut rows: Vec<_> = table
        .rows
        .iter()
        .map(|r| {
            (
                s.function_name(r.func).to_owned(),
                s.function_file(r.func).to_owned(),
                r.self_us,
                r.total_us,
            )
        })
        .collect();
    rows.sort();
    rows
}

#[test]
fn callscope_format_round_trips_exactly() {
    let session = small_program();
    let bytes = format::callscope::encode(&session).unwrap();
    assert_eq!(&bytes[..2], &[0x1f, 0x8b], "sessions are gzip");
    let (loaded, fmt) = format::load_with_format(&bytes).unwrap();
    assert_eq!(fmt, Format::Callscope);
    assert_eq!(loaded, session);
    // Plain JSON (a user who gunzipped the file) reads too.
    let json = format::callscope::to_json(&session).unwrap();
    assert_eq!(format::load(&json).unwrap(), session);
}

#[test]
fn floats_round_trip_exactly() {
    // Found by the fuzzer: a start time parsed one unit in the last place off.
    let mut session = small_program();
    session.meta.start_time = 1_795_601_845.346_025_4;
    let loaded = format::load(&format::callscope::encode(&session).unwrap()).unwrap();
    assert_eq!(
        loaded.meta.start_time.to_bits(),
        session.meta.start_time.to_bits()
    );
}

#[test]
fn callscope_format_keeps_thread_and_metadata_fields() {
    let session = small_program();
    let loaded = format::load(&format::callscope::encode(&session).unwrap()).unwrap();
    assert_eq!(loaded.threads.len(), 2);
    assert_eq!(loaded.threads[0].name, "MainThread");
    assert!(loaded.threads[0].is_main);
    assert_eq!(
        loaded.threads[1].samples.cpu_us.as_ref().unwrap(),
        &vec![25_000]
    );
    assert_eq!(loaded.meta.python_version, "3.11.7");
    assert_eq!(loaded.meta.sys_prefixes, vec!["/usr".to_owned()]);
}

#[test]
fn speedscope_export_reimports_with_the_same_totals() {
    let session = small_program();
    let bytes = format::speedscope::encode(&session).unwrap();
    let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(
        json["$schema"],
        "https://www.speedscope.app/file-format-schema.json"
    );
    for p in json["profiles"].as_array().unwrap() {
        assert_eq!(
            p["samples"].as_array().unwrap().len(),
            p["weights"].as_array().unwrap().len()
        );
    }
    let (loaded, fmt) = format::load_with_format(&bytes).unwrap();
    assert_eq!(fmt, Format::Speedscope);
    assert_eq!(totals(&loaded), totals(&session));
    assert_eq!(loaded.threads.len(), 2);
}

#[test]
fn speedscope_evented_profiles_become_samples() {
    let doc = br#"{"$schema":"https://www.speedscope.app/file-format-schema.json",
        "shared":{"frames":[{"name":"main","file":"a.py","line":1},{"name":"work","file":"a.py","line":5}]},
        "profiles":[{"type":"evented","name":"t","unit":"milliseconds","startValue":0,"endValue":10,
          "events":[{"type":"O","frame":0,"at":0},{"type":"O","frame":1,"at":2},
                    {"type":"C","frame":1,"at":9},{"type":"C","frame":0,"at":10}]}]}"#;
    let s = format::load(doc).unwrap();
    let rows = totals(&s);
    assert_eq!(rows[0], ("main".into(), "a.py".into(), 3000, 10_000));
    assert_eq!(rows[1], ("work".into(), "a.py".into(), 7000, 7000));
}

#[test]
fn speedscope_sampled_stacks_keep_each_samples_frames() {
    // Stacks that share prefixes, end inside the one before, branch and come back; an
    // empty stack is no sample.
    let doc = br#"{"shared":{"frames":[{"name":"a"},{"name":"b"},{"name":"c"},{"name":"d"}]},
        "profiles":[{"type":"sampled","name":"t","unit":"milliseconds","startValue":0,"endValue":7,
          "samples":[[0,1,2],[0,1],[0,1,3],[0,2],[],[0,1,2],[1,2]],"weights":[1,1,1,1,1,1,1]}]}"#;
    let s = format::load(doc).unwrap();
    let samples = &s.threads[0].samples;
    let names: Vec<String> = samples
        .stack
        .iter()
        .map(|&st| {
            let frames = s.stack_frames(st);
            let names: Vec<&str> = frames
                .iter()
                .map(|&f| s.function_name(s.frame(f).func))
                .collect();
            names.join(";")
        })
        .collect();
    assert_eq!(names, ["a;b;c", "a;b", "a;b;d", "a;c", "a;b;c", "b;c"]);
    assert_eq!(samples.stack[0], samples.stack[4], "one stack for one path");
    assert_eq!(samples.time_us, [1000, 2000, 3000, 4000, 6000, 7000]);
}

#[test]
fn collapsed_stacks_round_trip_counts() {
    let text = "main (a.py:1);work (a.py:5) 7\nmain (a.py:1) 3\nother 2\n";
    let (s, fmt) = format::load_with_format(text.as_bytes()).unwrap();
    assert_eq!(fmt, Format::Collapsed);
    assert_eq!(s.meta.counts.samples, 12);
    let mut lines: Vec<&str> = text.lines().collect();
    lines.sort();
    let written = format::collapsed::encode(&s);
    assert_eq!(written.lines().collect::<Vec<_>>(), lines);
    assert_eq!(
        s.function_file(s.frame(s.stack(s.threads[0].samples.stack[0]).frame).func),
        "a.py"
    );
}

#[test]
fn a_collapsed_line_with_no_frames_keeps_its_time() {
    // As py-spy's `--format raw` writes a script's samples (its first frame is `<module>`,
    // which is not HTML) and those of a thread that runs no Python code.
    let text = "<module> (a.py:1);work (a.py:5) 7\n 3\n";
    let s = format::load(text.as_bytes()).unwrap();
    let rows = totals(&s);
    assert!(
        rows.contains(&("[no Python frames]".into(), String::new(), 3000, 3000)),
        "{rows:?}"
    );
    assert_eq!(s.threads[0].samples.total_weight_us(), 10_000);
    // py-spy writes its lines in no set order: the empty stack can come first.
    let s = format::load(b" 3\n<module> (a.py:1);work (a.py:5) 7\n").unwrap();
    assert_eq!(totals(&s), rows);
}

#[test]
fn collapsed_export_merges_threads_and_counts_intervals() {
    let text = format::collapsed::encode(&small_program());
    assert!(text.contains("compute (/proj/app.py:30) 40\n"), "{text}");
    assert!(
        text.contains("sleep (/usr/lib/python3.11/time.py:0) 50\n"),
        "{text}"
    );
}

#[test]
fn a_huge_collapsed_count_is_one_sample_not_millions() {
    let s = format::load(b"a;b 99991504\n").unwrap();
    assert_eq!(s.sample_count(), 1);
    assert_eq!(s.meta.counts.samples, 99_991_504);
    let err = format::load(b"a 4294967295\nb 4294967295\n").unwrap_err();
    assert!(matches!(err, LoadError::TooLarge(_)), "{err}");
}

#[test]
fn pyinstrument_session_export_round_trips() {
    let session = small_program();
    let bytes = format::pyinstrument::encode_session(&session).unwrap();
    let (loaded, fmt) = format::load_with_format(&bytes).unwrap();
    assert_eq!(fmt, Format::Pyinstrument);
    assert_eq!(totals(&loaded), totals(&session));
    let names: Vec<_> = loaded.threads.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["MainThread", "Thread-2"]);
}

#[test]
fn reads_sessions_written_by_pyinstrument() {
    let s = format::load(&read_fixture("pyinstrument/recursion.pyisession")).unwrap();
    let raw: serde_json::Value =
        serde_json::from_slice(&read_fixture("pyinstrument/recursion.pyisession")).unwrap();
    let records = raw["frame_records"].as_array().unwrap();
    assert_eq!(s.sample_count(), records.len());
    let expected_us: f64 = records.iter().map(|r| r[1].as_f64().unwrap() * 1e6).sum();
    let total: u64 = s.threads.iter().map(|t| t.samples.total_weight_us()).sum();
    assert!(
        (total as f64 - expected_us).abs() < records.len() as f64,
        "{total} vs {expected_us}"
    );
    assert_eq!(s.threads.len(), 1);
    assert_eq!(s.threads[0].name, "MainThread");
    assert!(s.threads[0].is_main);
    assert_eq!(s.meta.program, "scripts/recursion.py");
    assert_eq!(s.meta.recorder, "pyinstrument");
    // `hidden_helper` sets __tracebackhide__; pyinstrument records that per frame.
    let hidden: Vec<_> = s
        .functions
        .iter()
        .filter(|f| f.tracebackhide)
        .map(|f| s.string(f.name))
        .collect();
    assert_eq!(hidden, ["hidden_helper"]);
}

#[test]
fn pyinstrument_class_attribute_becomes_a_qualified_name() {
    let s = format::load(&read_fixture("pyinstrument/mixed.pyisession")).unwrap();
    assert!(s
        .functions
        .iter()
        .any(|f| s.string(f.name) == "Parser.parse"));
}

#[test]
fn gzip_of_any_format_is_read() {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&read_fixture("pyinstrument/mixed.pyisession"))
        .unwrap();
    let (_, fmt) = format::load_with_format(&gz.finish().unwrap()).unwrap();
    assert_eq!(fmt, Format::Pyinstrument);
}

#[test]
fn html_report_embeds_the_session_as_base64_only() {
    use callscope_model::{report, FunctionKind, Metadata, SessionBuilder};
    let evil = "</script><script>window.pwned=1</script><img src=x onerror=alert(1)>";
    let mut b = SessionBuilder::new(Metadata {
        program: evil.into(),
        ..Metadata::default()
    });
    let f = b.function(evil, &format!("/tmp/{evil}.py"), 1, FunctionKind::Python);
    let frame = b.frame(f, 2);
    let stack = b.stack_from_frames([frame]).unwrap();
    let t = b.add_thread(1, None, evil, true);
    b.push_sample(t, stack, 0, 1000, None);
    let session = b.finish();
    let template = format!(
        "<!doctype html><title>t</title>{}",
        report::session_element()
    );
    let html = report::write(&template, &session).unwrap();
    let data = report::embedded(&html).unwrap();
    assert!(data
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || b"+/=".contains(&c)));
    assert!(!html.contains("pwned") && !html.contains("<img"));
    // A report reads back as its session, by itself or through `format::load`.
    assert_eq!(report::load(&html).unwrap(), session);
    assert_eq!(format::load(html.as_bytes()).unwrap(), session);
    let viewer = report::empty(&template).unwrap();
    let err = format::load(viewer.as_bytes()).unwrap_err().to_string();
    assert!(err.contains("no session"), "{err}");
    let page = format::load(b"<!doctype html><p>hello</p>")
        .unwrap_err()
        .to_string();
    assert!(page.contains("not a callscope report"), "{page}");
}
