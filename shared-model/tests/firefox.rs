//! The Firefox Profiler export, read back as the Firefox Profiler reads a processed profile
//! (the tables of `fxprof-processed-profile`'s own integration tests: per thread, samples
//! pointing into a stack table of (prefix, frame), frames into functions, functions into the
//! thread's string array; categories in `meta`).

mod common;

use callscope_model::format::firefox;
use callscope_model::ThreadState;
use serde_json::Value;

struct Sample {
    /// Labels, outermost first.
    stack: Vec<String>,
    /// The category of the innermost frame.
    category: String,
    time_ms: f64,
    weight: i64,
    cpu_us: u64,
}

fn samples(doc: &Value, thread: &Value) -> Vec<Sample> {
    let col = |table: &str, key: &str| thread[table][key].as_array().unwrap().clone();
    let (prefix, frame) = (col("stackTable", "prefix"), col("stackTable", "frame"));
    let (func, category) = (col("frameTable", "func"), col("frameTable", "category"));
    let names = col("funcTable", "name");
    let strings = thread["stringArray"].as_array().unwrap();
    let categories = doc["meta"]["categories"].as_array().unwrap();
    let label = |f: usize| {
        let name = names[func[f].as_u64().unwrap() as usize].as_u64().unwrap();
        strings[name as usize].as_str().unwrap().to_owned()
    };
    let s = &thread["samples"];
    let mut time_ms = 0.0;
    (0..s["length"].as_u64().unwrap() as usize)
        .map(|i| {
            time_ms += s["timeDeltas"][i].as_f64().unwrap();
            let leaf = s["stack"][i].as_u64().unwrap() as usize;
            let leaf_frame = frame[leaf].as_u64().unwrap() as usize;
            let mut stack = Vec::new();
            let mut cursor = Some(leaf);
            while let Some(at) = cursor {
                stack.push(label(frame[at].as_u64().unwrap() as usize));
                cursor = prefix[at].as_u64().map(|p| p as usize);
            }
            stack.reverse();
            let c = category[leaf_frame].as_u64().unwrap() as usize;
            Sample {
                stack,
                category: categories[c]["name"].as_str().unwrap().to_owned(),
                time_ms,
                weight: s["weight"][i].as_i64().unwrap(),
                cpu_us: s["threadCPUDelta"][i].as_u64().unwrap(),
            }
        })
        .collect()
}

#[test]
fn every_thread_is_a_track_with_its_samples_stacks_times_and_states() {
    let mut session = common::small_program();
    // The main thread's four samples: running with the GIL, waiting for it, running, off CPU.
    let held = ThreadState(ThreadState::ON_CPU | ThreadState::GIL_HELD);
    let waiting = ThreadState(ThreadState::ON_CPU | ThreadState::GIL_WAITING);
    session.threads[0].samples.state = Some(vec![held, waiting, held, ThreadState(0)]);
    let doc: Value = serde_json::from_slice(&firefox::encode(&session).unwrap()).unwrap();

    // What the Firefox Profiler looks at before it upgrades and shows a file.
    assert!(
        doc["meta"]["version"].as_u64().unwrap() >= 24,
        "{}",
        doc["meta"]
    );
    assert!(doc["meta"]["preprocessedProfileVersion"].as_u64().unwrap() >= 50);
    assert_eq!(doc["meta"]["interval"].as_f64(), Some(1.0));
    assert_eq!(doc["meta"]["product"], "callscope");
    let start = doc["meta"]["startTime"].as_f64().unwrap();
    assert_eq!(start, session.meta.start_time * 1000.0);

    let threads = doc["threads"].as_array().unwrap();
    let names: Vec<_> = threads
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    // The main thread is the process's own track, named by the program, as in Firefox.
    assert_eq!(names, ["app.py", "Thread-2"]);
    assert_eq!(threads[0]["isMainThread"], true);
    assert_eq!(threads[0]["processName"], "app.py");

    let main = samples(&doc, &threads[0]);
    let stacks: Vec<_> = main.iter().map(|s| s.stack.join(";")).collect();
    assert_eq!(
        stacks,
        [
            "<module>  /proj/app.py:0;main  /proj/app.py:10;compute  /proj/app.py:30",
            "<module>  /proj/app.py:0;main  /proj/app.py:10;parse  /proj/app.py:20;\
             loads  /usr/lib/python3.11/json/__init__.py:340;\
             decode  /usr/lib/python3.11/json/decoder.py:330;\
             raw_decode  /usr/lib/python3.11/json/decoder.py:350",
            "<module>  /proj/app.py:0;main  /proj/app.py:10;compute  /proj/app.py:30",
            "<module>  /proj/app.py:0;main  /proj/app.py:10",
        ]
    );
    let categories: Vec<_> = main.iter().map(|s| s.category.as_str()).collect();
    assert_eq!(categories, ["Python", "GIL wait", "Python", "Idle"]);
    // Only the innermost frame carries the state: the callers are drawn as running, so
    // the call tree is one tree whatever the states.
    let first_parent = &threads[0]["stackTable"]["prefix"]
        [threads[0]["samples"]["stack"][1].as_u64().unwrap() as usize];
    let parent_frame = threads[0]["stackTable"]["frame"][first_parent.as_u64().unwrap() as usize]
        .as_u64()
        .unwrap() as usize;
    assert_eq!(
        threads[0]["frameTable"]["category"][parent_frame].as_u64(),
        Some(1),
        "the category of `parse` under the waiting sample is Python's"
    );

    // Times, CPU deltas, and weights in ticks: weight × interval is callscope's wall time.
    let times: Vec<_> = main.iter().map(|s| s.time_ms.round() as u64).collect();
    assert_eq!(times, [30, 50, 60, 65]);
    let cpu: Vec<_> = main.iter().map(|s| s.cpu_us).collect();
    assert_eq!(cpu, [15_000, 10_000, 5_000, 2_500]);
    let weights: Vec<_> = main.iter().map(|s| s.weight).collect();
    assert_eq!(weights, [30, 20, 10, 5]);

    // Without recorded states, the CPU time decides: the worker used half its time.
    let worker = samples(&doc, &threads[1]);
    assert_eq!(worker.len(), 1);
    assert_eq!(worker[0].category, "Python");
    assert_eq!(worker[0].weight, 50);
    assert!(
        worker[0].stack[2].starts_with("sleep  "),
        "{:?}",
        worker[0].stack
    );
}

#[test]
fn a_thread_off_cpu_without_states_is_idle() {
    let mut session = common::small_program();
    session.threads[1].samples.cpu_us = Some(vec![1_000]);
    let doc: Value = serde_json::from_slice(&firefox::encode(&session).unwrap()).unwrap();
    let worker = samples(&doc, &doc["threads"][1]);
    assert_eq!(worker[0].category, "Idle");
}
