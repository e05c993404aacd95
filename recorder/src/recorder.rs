//! Turns sampling passes into a [`Session`]. Pure Rust: the sampler captures the stacks
//! with the GIL held and hands them over as plain integers, so this part is tested without
//! an interpreter.

use std::ops::Range;

use callscope_model::{Counts, FuncId, FunctionKind, Metadata, Session, SessionBuilder};

/// A code object the sampler has seen, described once.
#[derive(Clone, Debug, Default)]
pub struct CodeEntry {
    pub name: String,
    pub file: String,
    pub first_line: u32,
    pub tracebackhide: bool,
}

/// A thread the sampler has seen.
#[derive(Clone, Debug, Default)]
pub struct ThreadInfo {
    /// `threading.get_ident()`.
    pub ident: u64,
    pub native_id: Option<u64>,
    pub name: String,
    pub is_main: bool,
}

/// One thread's stack in a pass: `frames` indexes [`Capture::frames`], innermost first.
#[derive(Clone, Debug)]
pub struct CapturedThread {
    /// Index into the sampler's thread table.
    pub thread: u32,
    /// The thread's CPU clock at the pass, when readable.
    pub cpu_us: Option<u64>,
    pub frames: Range<usize>,
}

/// Everything one pass read: times in microseconds on the sampler's clock.
#[derive(Clone, Debug, Default)]
pub struct Capture {
    pub time_us: u64,
    pub threads: Vec<CapturedThread>,
    /// (code index, line) pairs.
    pub frames: Vec<(u32, u32)>,
}

impl Capture {
    pub fn clear(&mut self) {
        self.threads.clear();
        self.frames.clear();
    }
}

struct RecordedThread {
    index: usize,
    last_us: u64,
    last_cpu_us: Option<u64>,
}

/// The samples of one `Profiler` run.
pub struct Recorder {
    builder: SessionBuilder,
    start_us: u64,
    funcs: Vec<Option<FuncId>>,
    threads: Vec<Option<RecordedThread>>,
    /// Time of the previous pass: the weight of a thread's first sample starts there.
    last_pass_us: u64,
}

impl Recorder {
    pub fn new(meta: Metadata, start_us: u64) -> Self {
        Recorder {
            builder: SessionBuilder::new(meta),
            start_us,
            funcs: Vec::new(),
            threads: Vec::new(),
            last_pass_us: start_us,
        }
    }

    /// Notes the CPU clocks at the start, so that the first samples carry the CPU time used
    /// since then; no samples are recorded from this pass.
    pub fn baseline(&mut self, capture: &Capture, threads: &[ThreadInfo]) {
        for t in &capture.threads {
            let recorded = self.thread(t.thread, threads);
            recorded.last_cpu_us = t.cpu_us;
        }
    }

    /// Records one pass: a sample for every captured thread that had Python frames.
    pub fn record(&mut self, capture: &Capture, codes: &[CodeEntry], threads: &[ThreadInfo]) {
        let now = capture.time_us.max(self.last_pass_us);
        for t in &capture.threads {
            if t.frames.is_empty() {
                continue;
            }
            let mut parent = None;
            for &(code, line) in capture.frames[t.frames.clone()].iter().rev() {
                let func = self.func(code, codes);
                let frame = self.builder.frame(func, line);
                parent = Some(self.builder.stack(parent, frame));
            }
            let Some(stack) = parent else { continue };
            let last_pass_us = self.last_pass_us;
            let recorded = self.thread(t.thread, threads);
            let last_us = recorded.last_us.max(last_pass_us.min(now));
            let weight = now - last_us;
            let cpu = match (t.cpu_us, recorded.last_cpu_us) {
                (Some(now_cpu), Some(before)) => Some(now_cpu.saturating_sub(before)),
                (Some(_), None) => Some(0),
                _ => None,
            };
            recorded.last_us = now;
            recorded.last_cpu_us = t.cpu_us;
            let index = recorded.index;
            self.builder
                .push_sample(index, stack, now - self.start_us, weight, cpu);
        }
        self.last_pass_us = now;
    }

    /// Finishes the session. `threads` supplies the names as they are now (threads are
    /// often renamed after they start).
    pub fn finish(mut self, end_us: u64, counts: Counts, threads: &[ThreadInfo]) -> Session {
        for (key, recorded) in self.threads.iter().enumerate() {
            if let (Some(r), Some(info)) = (recorded, threads.get(key)) {
                let t = self.builder.thread_mut(r.index);
                t.name = info.name.clone();
                t.native_id = info.native_id;
            }
        }
        let meta = self.builder.meta_mut();
        meta.duration_us = end_us.saturating_sub(self.start_us).max(1);
        meta.counts = counts;
        self.builder.finish()
    }

    pub fn interval_us(&self) -> u64 {
        self.builder.session().meta.interval_us
    }

    fn func(&mut self, code: u32, codes: &[CodeEntry]) -> FuncId {
        let i = code as usize;
        if self.funcs.len() <= i {
            self.funcs.resize(i + 1, None);
        }
        if let Some(id) = self.funcs[i] {
            return id;
        }
        let entry = &codes[i];
        let id = self.builder.function(
            &entry.name,
            &entry.file,
            entry.first_line,
            FunctionKind::Python,
        );
        if entry.tracebackhide {
            self.builder.mark_tracebackhide(id);
        }
        self.funcs[i] = Some(id);
        id
    }

    fn thread(&mut self, key: u32, threads: &[ThreadInfo]) -> &mut RecordedThread {
        let i = key as usize;
        if self.threads.len() <= i {
            self.threads.resize_with(i + 1, || None);
        }
        let builder = &mut self.builder;
        let last_us = self.last_pass_us;
        self.threads[i].get_or_insert_with(|| {
            let info = threads.get(i).cloned().unwrap_or_default();
            let index = builder.add_thread(info.ident, info.native_id, &info.name, info.is_main);
            RecordedThread {
                index,
                last_us,
                last_cpu_us: None,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes() -> Vec<CodeEntry> {
        ["<module>", "main", "work", "helper"]
            .iter()
            .enumerate()
            .map(|(i, name)| CodeEntry {
                name: name.to_string(),
                file: "app.py".into(),
                first_line: i as u32 * 10 + 1,
                tracebackhide: *name == "helper",
            })
            .collect()
    }

    fn threads() -> Vec<ThreadInfo> {
        vec![
            ThreadInfo {
                ident: 1,
                native_id: Some(100),
                name: "MainThread".into(),
                is_main: true,
            },
            ThreadInfo {
                ident: 2,
                native_id: Some(101),
                name: "worker".into(),
                is_main: false,
            },
        ]
    }

    /// A thread's part of a pass: (thread key, cpu, innermost-first frames).
    type Stack<'a> = (u32, Option<u64>, &'a [(u32, u32)]);

    fn capture(time_us: u64, stacks: &[Stack]) -> Capture {
        let mut c = Capture {
            time_us,
            ..Capture::default()
        };
        for (thread, cpu, frames) in stacks {
            let start = c.frames.len();
            c.frames.extend_from_slice(frames);
            c.threads.push(CapturedThread {
                thread: *thread,
                cpu_us: *cpu,
                frames: start..c.frames.len(),
            });
        }
        c
    }

    #[test]
    fn weights_are_the_time_since_each_threads_previous_sample() {
        let (codes, threads) = (codes(), threads());
        let mut r = Recorder::new(Metadata::default(), 1_000);
        r.baseline(&capture(1_000, &[(0, Some(50), &[])]), &threads);
        let main_work: &[(u32, u32)] = &[(2, 22), (1, 12), (0, 3)];
        r.record(
            &capture(2_000, &[(0, Some(850), main_work)]),
            &codes,
            &threads,
        );
        // The worker appears in the third pass: its first sample stands for the time since
        // the previous pass, not since the session started.
        r.record(
            &capture(
                5_000,
                &[
                    (0, Some(1_000), main_work),
                    (1, Some(7), &[(3, 31), (1, 12)]),
                ],
            ),
            &codes,
            &threads,
        );
        let s = r.finish(6_000, Counts::default(), &threads);
        assert_eq!(s.meta.duration_us, 5_000);
        let main = &s.threads[0];
        assert_eq!(main.name, "MainThread");
        assert!(main.is_main);
        assert_eq!(main.samples.time_us, vec![1_000, 4_000]);
        assert_eq!(main.samples.weight_us, vec![1_000, 3_000]);
        assert_eq!(main.samples.cpu_us, Some(vec![800, 150]));
        let worker = &s.threads[1];
        assert_eq!(worker.samples.weight_us, vec![3_000]);
        assert_eq!(worker.samples.cpu_us, Some(vec![0]));
        // Outermost first: <module> → main → work.
        let names: Vec<&str> = s
            .stack_frames(main.samples.stack[0])
            .iter()
            .map(|&f| s.function_name(s.frame(f).func))
            .collect();
        assert_eq!(names, ["<module>", "main", "work"]);
        assert!(s.functions.iter().any(|f| f.tracebackhide));
        s.validate().unwrap();
    }

    #[test]
    fn threads_without_frames_are_skipped_and_names_are_refreshed() {
        let (codes, mut threads) = (codes(), threads());
        let mut r = Recorder::new(Metadata::default(), 0);
        r.record(
            &capture(1_000, &[(0, None, &[(1, 2)]), (1, None, &[])]),
            &codes,
            &threads,
        );
        threads[0].name = "renamed".into();
        let s = r.finish(1_000, Counts::default(), &threads);
        assert_eq!(s.threads.len(), 1);
        assert_eq!(s.threads[0].name, "renamed");
        assert_eq!(s.threads[0].samples.cpu_us, None);
    }
}
