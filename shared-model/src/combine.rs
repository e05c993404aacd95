//! One session from two recorded one after the other: what a Profiler that is started and
//! stopped several times returns, as pyinstrument's `Session.combine` does.
//!
//! The second session's samples follow the first's on one clock: its times are shifted by
//! the first's duration, so the gap between the recordings (when nothing was sampled) is
//! left out of the duration and the timeline, and percentages stay shares of profiled time.

use crate::session::{Counts, Metadata, Session, SessionBuilder, Thread};
use crate::StackId;

/// `first` followed by `second`. Threads are matched by their Python thread id.
pub fn combine(first: &Session, second: &Session) -> Session {
    let meta = Metadata {
        start_time: first.meta.start_time,
        duration_us: first.meta.duration_us + second.meta.duration_us,
        interval_us: first.meta.interval_us,
        cpu_time_us: first
            .meta
            .cpu_time_us
            .zip(second.meta.cpu_time_us)
            .map(|(a, b)| a + b),
        counts: {
            let (a, b) = (&first.meta.counts, &second.meta.counts);
            Counts {
                samples: a.samples + b.samples,
                late: a.late + b.late,
                missed: a.missed + b.missed,
                errors: a.errors + b.errors,
                torn: a.torn + b.torn,
            }
        },
        // What the program is and where its files are is best known at the latest stop.
        ..second.meta.clone()
    };
    let mut builder = SessionBuilder::new(meta);
    copy(&mut builder, first, 0);
    copy(&mut builder, second, first.meta.duration_us);
    let mut session = builder.finish();
    // The first recording's main thread stays the main one, whichever session named it.
    let mut seen_main = false;
    for thread in &mut session.threads {
        thread.is_main = thread.is_main && !std::mem::replace(&mut seen_main, true);
    }
    session
}

fn copy(builder: &mut SessionBuilder, from: &Session, shift_us: u64) {
    // Interned in table order, so a parent stack is always mapped before its children.
    let funcs: Vec<_> = from
        .functions
        .iter()
        .map(|f| {
            let mut function = *f;
            function.name = builder.intern_string(from.string(f.name));
            function.file = builder.intern_string(from.string(f.file));
            builder.intern_function(function)
        })
        .collect();
    let frames: Vec<_> = from
        .frames
        .iter()
        .map(|f| builder.frame(funcs[f.func.index()], f.line))
        .collect();
    let mut stacks: Vec<StackId> = Vec::with_capacity(from.stacks.len());
    for s in &from.stacks {
        let parent = s.parent.map(|p| stacks[p.index()]);
        let id = builder.stack(parent, frames[s.frame.index()]);
        stacks.push(id);
    }
    for thread in &from.threads {
        let index = thread_slot(builder, thread);
        let samples = &thread.samples;
        for i in 0..samples.len() {
            let stack = stacks[samples.stack[i].index()];
            let time = samples.time_us[i] + shift_us;
            let weight = samples.weight_us[i];
            let cpu = samples.cpu_us.as_ref().map(|c| c[i]);
            match &samples.state {
                Some(states) => {
                    builder.push_sample_with_state(index, stack, time, weight, cpu, states[i])
                }
                None => builder.push_sample(index, stack, time, weight, cpu),
            }
        }
    }
}

fn thread_slot(builder: &mut SessionBuilder, thread: &Thread) -> usize {
    let existing = builder
        .session()
        .threads
        .iter()
        .position(|t| t.id == thread.id);
    match existing {
        Some(index) => {
            // A thread renamed between the recordings is shown by its latest name.
            builder.thread_mut(index).name.clone_from(&thread.name);
            index
        }
        None => builder.add_thread(thread.id, thread.native_id, &thread.name, thread.is_main),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::ThreadState;
    use crate::FunctionKind;

    fn one(name: &str, thread: u64, samples: u64, start_time: f64) -> Session {
        let mut b = SessionBuilder::new(Metadata {
            program: "app.py".into(),
            start_time,
            duration_us: samples * 1000,
            interval_us: 1000,
            cpu_time_us: Some(samples * 500),
            ..Metadata::default()
        });
        let main = b.function("main", "app.py", 1, FunctionKind::Python);
        let work = b.function(name, "app.py", 10, FunctionKind::Python);
        let frames = [b.frame(main, 2), b.frame(work, 11)];
        let stack = b.stack_from_frames(frames).unwrap();
        let t = b.add_thread(thread, None, "MainThread", true);
        for i in 1..=samples {
            b.push_sample_with_state(t, stack, i * 1000, 1000, Some(500), ThreadState(1));
        }
        b.finish()
    }

    #[test]
    fn second_recording_follows_the_first_on_one_clock() {
        let a = one("parse", 1, 3, 100.0);
        let b = one("render", 1, 2, 250.0);
        let c = combine(&a, &b);
        c.validate().unwrap();
        assert_eq!(c.meta.duration_us, 5000);
        assert_eq!(c.meta.start_time, 100.0);
        assert_eq!(c.meta.counts.samples, 5);
        assert_eq!(c.meta.cpu_time_us, Some(2500));
        assert_eq!(c.threads.len(), 1);
        let samples = &c.threads[0].samples;
        assert_eq!(samples.time_us, vec![1000, 2000, 3000, 4000, 5000]);
        assert_eq!(samples.state.as_ref().map(Vec::len), Some(5));
        let leaves: Vec<&str> = samples
            .stack
            .iter()
            .map(|&s| c.function_name(c.frame(c.stack(s).frame).func))
            .collect();
        assert_eq!(leaves, ["parse", "parse", "parse", "render", "render"]);
        // Shared rows are interned once.
        assert_eq!(
            c.functions
                .iter()
                .filter(|f| c.string(f.name) == "main")
                .count(),
            1
        );
    }

    #[test]
    fn threads_are_matched_by_id() {
        let a = one("parse", 1, 1, 0.0);
        let b = one("render", 2, 1, 1.0);
        let c = combine(&a, &b);
        assert_eq!(c.threads.len(), 2);
        assert_eq!(c.threads.iter().filter(|t| t.is_main).count(), 1);
        assert!(c.threads[0].is_main);
    }
}
