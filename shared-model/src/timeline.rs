//! Time-ordered spans per thread: what a stack chart draws, laid out once per session so
//! that a redraw only reads what is visible.
//!
//! A sample stands for the wall time since its thread's previous sample, so sample `i`
//! covers `[time - weight, time]`. Consecutive samples that share a function at the same
//! depth (and everything above it) extend one span. Spans are kept per depth in start order;
//! at one depth they never overlap, so their ends are in order too, and both the first
//! visible span and the end of a run of sub-pixel spans are found by binary search.

use std::collections::HashMap;

use crate::ids::FuncId;
use crate::session::{Samples, Session};

/// One span, as [`Lane::span`] returns it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub func: FuncId,
    pub depth: u32,
    pub start_us: u64,
    pub end_us: u64,
}

/// The spans at one depth, as columns, in start order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Row {
    pub start_us: Vec<u64>,
    pub end_us: Vec<u64>,
    pub func: Vec<FuncId>,
}

impl Row {
    pub fn len(&self) -> usize {
        self.func.len()
    }

    pub fn is_empty(&self) -> bool {
        self.func.is_empty()
    }

    /// The span covering `t_us`, if any.
    pub fn at(&self, t_us: f64) -> Option<usize> {
        let i = self.end_us.partition_point(|&e| (e as f64) <= t_us);
        (i < self.len() && self.start_us[i] as f64 <= t_us).then_some(i)
    }
}

/// What a thread was doing: from the recorded thread state where the session has it,
/// otherwise from its CPU time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Activity {
    /// On a CPU (and holding the GIL, where that was recorded).
    Running,
    /// Waiting to take the GIL.
    GilWait,
    /// Off CPU: sleeping, blocked on I/O or a lock.
    Idle,
    /// Neither the state nor the CPU time was recorded.
    Unknown,
}

impl Activity {
    fn of(samples: &Samples, i: usize) -> Activity {
        if let Some(states) = &samples.state {
            let s = states[i];
            return if s.gil_waiting() {
                Activity::GilWait
            } else if s.on_cpu() {
                Activity::Running
            } else {
                Activity::Idle
            };
        }
        match &samples.cpu_us {
            Some(cpu) if cpu[i] * 2 >= samples.weight_us[i] => Activity::Running,
            Some(_) => Activity::Idle,
            None => Activity::Unknown,
        }
    }
}

/// Consecutive samples of one activity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Run {
    pub start_us: u64,
    pub end_us: u64,
    pub activity: Activity,
}

/// What to draw at one depth for a window: a span, or sub-pixel spans merged into one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Block {
    pub start_us: u64,
    pub end_us: u64,
    /// The first span of the block, for its colour.
    pub func: FuncId,
    /// Whether this stands for several spans, each narrower than a pixel: about a pixel
    /// wide, coloured as its first span.
    pub merged: bool,
}

/// One thread's timeline.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lane {
    pub thread: usize,
    /// `rows[d]`: the spans at depth `d`.
    pub rows: Vec<Row>,
    pub runs: Vec<Run>,
    pub start_us: u64,
    pub end_us: u64,
    pub total_us: u64,
    pub cpu_us: Option<u64>,
}

impl Lane {
    /// Lays out the samples of `thread`. One pass; a sample with the stack of the one
    /// before it only moves the open spans' end. `launcher` is
    /// [`launcher_prefix`](crate::processors::launcher_prefix): the frames of the command
    /// line that ran the program are left out, as the call tree leaves them out.
    pub(crate) fn build(session: &Session, thread: usize, launcher: &[Option<bool>]) -> Lane {
        let s = &session.threads[thread].samples;
        let mut lane = Lane {
            thread,
            total_us: s.total_weight_us(),
            cpu_us: s.total_cpu_us(),
            ..Lane::default()
        };
        // The open span at each depth: its function and start.
        let mut open: Vec<(FuncId, u64)> = Vec::new();
        let mut chain: Vec<FuncId> = Vec::new();
        let mut prev_stack = None;
        let mut prev_end = 0u64;
        for i in 0..s.len() {
            let end = s.time_us[i];
            let start = end.saturating_sub(s.weight_us[i]).max(prev_end);
            if i == 0 {
                lane.start_us = start;
            }
            // A gap between samples (a thread that was not sampled) closes everything.
            let contiguous = start == prev_end;
            if prev_stack != Some(s.stack[i]) || !contiguous {
                chain.clear();
                let mut cursor = Some(s.stack[i]);
                while let Some(id) = cursor {
                    if launcher[id.index()] == Some(true) {
                        break;
                    }
                    let st = session.stack(id);
                    chain.push(session.frame(st.frame).func);
                    cursor = st.parent;
                }
                chain.reverse();
                let keep = if contiguous {
                    open.iter()
                        .zip(&chain)
                        .take_while(|((f, _), c)| f == *c)
                        .count()
                } else {
                    0
                };
                while open.len() > keep {
                    let depth = open.len() - 1;
                    let (func, from) = open.pop().expect("non-empty");
                    lane.close(depth, func, from, prev_end);
                }
                open.extend(chain[keep..].iter().map(|&f| (f, start)));
                prev_stack = Some(s.stack[i]);
            }
            let activity = Activity::of(s, i);
            match lane.runs.last_mut() {
                Some(r) if r.activity == activity && r.end_us == start => r.end_us = end,
                _ => lane.runs.push(Run {
                    start_us: start,
                    end_us: end,
                    activity,
                }),
            }
            prev_end = end;
        }
        while let Some((func, from)) = open.pop() {
            lane.close(open.len(), func, from, prev_end);
        }
        lane.end_us = prev_end;
        lane
    }

    fn close(&mut self, depth: usize, func: FuncId, start_us: u64, end_us: u64) {
        if self.rows.len() <= depth {
            self.rows.resize_with(depth + 1, Row::default);
        }
        let row = &mut self.rows[depth];
        row.start_us.push(start_us);
        row.end_us.push(end_us);
        row.func.push(func);
    }

    /// The deepest stack's depth: how many rows the lane has.
    pub fn depth(&self) -> usize {
        self.rows.len()
    }

    pub fn span(&self, depth: usize, index: usize) -> Span {
        let row = &self.rows[depth];
        Span {
            func: row.func[index],
            depth: depth as u32,
            start_us: row.start_us[index],
            end_us: row.end_us[index],
        }
    }

    /// The span at `depth` covering `t_us`.
    pub fn span_at(&self, depth: usize, t_us: f64) -> Option<(usize, Span)> {
        let i = self.rows.get(depth)?.at(t_us)?;
        Some((i, self.span(depth, i)))
    }

    /// The stack at `t_us` from the outermost frame down to `depth` (all of it when
    /// `depth` is deeper).
    pub fn stack_at(&self, depth: usize, t_us: f64) -> Vec<Span> {
        (0..self.rows.len().min(depth + 1))
            .map_while(|d| self.span_at(d, t_us).map(|(_, s)| s))
            .collect()
    }

    /// What to draw at `depth` for the window `[from_us, to_us)`, where `pixel_us` is the
    /// time one pixel covers. Spans narrower than a pixel are merged with their neighbours,
    /// so the cost follows the window's width in pixels, not the number of spans in it.
    pub fn blocks(
        &self,
        depth: usize,
        from_us: f64,
        to_us: f64,
        pixel_us: f64,
        out: &mut Vec<Block>,
    ) {
        let Some(row) = self.rows.get(depth) else {
            return;
        };
        let n = row.len();
        let mut i = row.end_us.partition_point(|&e| (e as f64) <= from_us);
        while i < n && (row.start_us[i] as f64) < to_us {
            let (start, end) = (row.start_us[i], row.end_us[i]);
            if (end - start) as f64 >= pixel_us {
                out.push(Block {
                    start_us: start,
                    end_us: end,
                    func: row.func[i],
                    merged: false,
                });
                i += 1;
                continue;
            }
            // Every span that ends within a pixel of this one's start joins it.
            let limit = start as f64 + pixel_us;
            let j = i + row.end_us[i..].partition_point(|&e| (e as f64) <= limit);
            let end = row.end_us[j - 1];
            out.push(Block {
                start_us: start,
                end_us: end,
                func: row.func[i],
                merged: j - i > 1,
            });
            i = j;
        }
    }

    /// The share of each `bins`-th of `[from_us, to_us)` the thread spent running and
    /// waiting for the GIL, for the minimap and a folded lane.
    pub fn activity(&self, from_us: f64, to_us: f64, bins: usize) -> Vec<(f32, f32)> {
        let mut out = vec![(0.0f32, 0.0f32); bins];
        let width = (to_us - from_us) / bins.max(1) as f64;
        if bins == 0 || width <= 0.0 {
            return out;
        }
        let first = self.runs.partition_point(|r| (r.end_us as f64) <= from_us);
        for r in &self.runs[first..] {
            let (a, b) = (r.start_us as f64, r.end_us as f64);
            if a >= to_us {
                break;
            }
            let busy = match r.activity {
                Activity::Running | Activity::Unknown => 0,
                Activity::GilWait => 1,
                Activity::Idle => continue,
            };
            let lo = ((a.max(from_us) - from_us) / width) as usize;
            let hi = (((b.min(to_us) - from_us) / width).ceil() as usize).min(bins);
            for (k, bin) in out.iter_mut().enumerate().take(hi).skip(lo) {
                let (x0, x1) = (from_us + k as f64 * width, from_us + (k + 1) as f64 * width);
                let share = ((b.min(x1) - a.max(x0)) / width).max(0.0) as f32;
                if busy == 0 {
                    bin.0 += share;
                } else {
                    bin.1 += share;
                }
            }
        }
        out
    }
}

/// Every thread's lane.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Timeline {
    pub lanes: Vec<Lane>,
    pub start_us: u64,
    pub end_us: u64,
}

/// Threads whose names differ only in their numbers (`worker-1`, `worker-2`; a pool's
/// `ThreadPoolExecutor-0_3`), shown as one lane that opens on its threads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LaneGroup {
    /// The shared name, numbers as `*`: `ThreadPoolExecutor-*_*`.
    pub label: String,
    /// In the order given.
    pub threads: Vec<usize>,
}

/// Fewer similar threads than this stay lanes of their own.
pub const GROUP_MIN: usize = 4;

/// The groups among `threads` (lanes in display order): at least [`GROUP_MIN`] threads of
/// one name pattern each, in the order of their first thread.
pub fn lane_groups(session: &Session, threads: &[usize]) -> Vec<LaneGroup> {
    let mut groups: Vec<LaneGroup> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for &t in threads {
        let label = name_pattern(&session.threads[t].name);
        let i = *index.entry(label.clone()).or_insert_with(|| {
            groups.push(LaneGroup {
                label,
                threads: Vec::new(),
            });
            groups.len() - 1
        });
        groups[i].threads.push(t);
    }
    groups.retain(|g| g.threads.len() >= GROUP_MIN);
    groups
}

/// A thread name with each run of digits as `*`.
fn name_pattern(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if !c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('*') {
            out.push('*');
        }
    }
    out
}

impl Timeline {
    pub fn build(session: &Session) -> Timeline {
        let launcher = crate::processors::launcher_prefix(session);
        let lanes: Vec<Lane> = (0..session.threads.len())
            .map(|t| Lane::build(session, t, &launcher))
            .collect();
        let busy = || lanes.iter().filter(|l| !l.rows.is_empty());
        Timeline {
            start_us: busy().map(|l| l.start_us).min().unwrap_or(0),
            end_us: busy().map(|l| l.end_us).max().unwrap_or(0),
            lanes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::{FunctionKind, Metadata, SessionBuilder, ThreadState};

    /// `a` (20 samples of 1 ms) then `b` (30), each under `main`, one thread.
    fn phases() -> Session {
        let mut b = SessionBuilder::new(Metadata::default());
        let main = b.function("main", "app.py", 1, FunctionKind::Python);
        let fa = b.function("a", "app.py", 10, FunctionKind::Python);
        let fb = b.function("b", "app.py", 20, FunctionKind::Python);
        let (m, a, bb) = (b.frame(main, 2), b.frame(fa, 11), b.frame(fb, 21));
        let sa = b.stack_from_frames([m, a]).unwrap();
        let sb = b.stack_from_frames([m, bb]).unwrap();
        let t = b.add_thread(1, None, "MainThread", true);
        for i in 0..50u64 {
            let (stack, state) = if i < 20 {
                (sa, ThreadState(ThreadState::ON_CPU | ThreadState::GIL_HELD))
            } else {
                (sb, ThreadState(ThreadState::GIL_WAITING))
            };
            b.push_sample_with_state(t, stack, (i + 1) * 1000, 1000, Some(500), state);
        }
        b.finish()
    }

    #[test]
    fn phases_become_spans_and_runs() {
        let s = phases();
        let lane = Lane::build(&s, 0, &crate::processors::launcher_prefix(&s));
        assert_eq!(lane.depth(), 2);
        assert_eq!(lane.rows[0].len(), 1);
        let names: Vec<_> = (0..2)
            .map(|i| {
                let sp = lane.span(1, i);
                (s.function_name(sp.func), sp.start_us, sp.end_us)
            })
            .collect();
        assert_eq!(names, [("a", 0, 20_000), ("b", 20_000, 50_000)]);
        assert_eq!(
            lane.runs.iter().map(|r| r.activity).collect::<Vec<_>>(),
            [Activity::Running, Activity::GilWait]
        );
        assert_eq!(lane.span_at(1, 25_000.0).map(|(i, _)| i), Some(1));
        assert_eq!(lane.span_at(1, 50_000.0), None);
        let stack: Vec<_> = lane
            .stack_at(9, 5_000.0)
            .iter()
            .map(|sp| s.function_name(sp.func))
            .collect();
        assert_eq!(stack, ["main", "a"]);
        let act = lane.activity(0.0, 50_000.0, 5);
        assert_eq!(act[0], (1.0, 0.0));
        assert_eq!(act[4], (0.0, 1.0));
    }

    #[test]
    fn the_launchers_frames_are_left_out_as_the_call_tree_leaves_them_out() {
        let mut b = SessionBuilder::new(Metadata::default());
        let frames: Vec<_> = [
            ("_run_module_as_main", "<frozen runpy>"),
            ("<module>", "/venv/lib/callscope/__main__.py"),
            ("run_path", "<frozen runpy>"),
            ("<module>", "app.py"),
            ("work", "app.py"),
        ]
        .iter()
        .map(|&(name, file)| {
            let f = b.function(name, file, 1, FunctionKind::Python);
            b.frame(f, 1)
        })
        .collect();
        let launched = b.stack_from_frames(frames.clone()).unwrap();
        // A program that runs runpy itself, with no profiler entry point: all its own.
        let own = b.stack_from_frames([frames[0], frames[3]]).unwrap();
        let t = b.add_thread(1, None, "MainThread", true);
        b.push_sample(t, launched, 1000, 1000, None);
        b.push_sample(t, own, 2000, 1000, None);
        let s = b.finish();
        let lane = &Timeline::build(&s).lanes[0];
        let names = |depth: usize| -> Vec<&str> {
            let row = &lane.rows[depth];
            row.func.iter().map(|&f| s.function_name(f)).collect()
        };
        assert_eq!(names(0), ["<module>", "_run_module_as_main"]);
        assert_eq!(names(1), ["work", "<module>"]);
        assert_eq!(lane.depth(), 2);
    }

    #[test]
    fn threads_that_differ_only_in_numbers_form_groups() {
        let mut b = SessionBuilder::new(Metadata::default());
        let names = [
            "MainThread",
            "ThreadPoolExecutor-0_0",
            "Thread-1 (poll)",
            "ThreadPoolExecutor-0_1",
            "ThreadPoolExecutor-0_2",
            "Thread-2 (poll)",
            "ThreadPoolExecutor-0_10",
            "Thread-3 (flush)",
        ];
        for (i, name) in names.iter().enumerate() {
            b.add_thread(i as u64, None, name, i == 0);
        }
        let s = b.finish();
        let all: Vec<usize> = (0..names.len()).collect();
        let groups = lane_groups(&s, &all);
        assert_eq!(
            groups,
            [LaneGroup {
                label: "ThreadPoolExecutor-*_*".into(),
                threads: vec![1, 3, 4, 6],
            }]
        );
        // Two `poll` threads are not enough for a group; without one pool thread, neither
        // is the pool.
        assert_eq!(lane_groups(&s, &[0, 1, 2, 3, 4, 5]), []);
    }

    #[test]
    fn sub_pixel_spans_merge_into_one_block_per_pixel() {
        let mut lane = Lane::default();
        for i in 0..1000u64 {
            lane.close(0, FuncId(i as u32 % 3), i * 10, i * 10 + 10);
        }
        let mut out = Vec::new();
        // 10 µs spans at 100 µs a pixel: 10 000 µs is 100 pixels, a block each.
        lane.blocks(0, 0.0, 10_000.0, 100.0, &mut out);
        assert_eq!(out.len(), 100);
        assert!(out.iter().all(|b| b.merged && b.end_us - b.start_us == 100));
        out.clear();
        // Zoomed in to 1 µs a pixel, only the spans in the window, each its own.
        lane.blocks(0, 995.0, 1_030.0, 1.0, &mut out);
        assert_eq!(
            out.iter().map(|b| b.start_us).collect::<Vec<_>>(),
            [990, 1000, 1010, 1020]
        );
        assert!(out.iter().all(|b| !b.merged));
    }
}
