//! Time-ordered spans per thread: what a stack chart draws.
//!
//! A sample stands for the wall time since its thread's previous sample, so sample `i`
//! covers `[time - weight, time]`. Consecutive samples that share a function at the same
//! depth (and everything above it) extend one span.

use crate::ids::FuncId;
use crate::session::Session;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub func: FuncId,
    pub depth: u32,
    pub start_us: u64,
    pub end_us: u64,
    pub samples: u32,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ThreadTimeline {
    pub thread: usize,
    /// Spans in the order they close; sort by `start_us` for drawing left to right.
    pub spans: Vec<Span>,
    pub max_depth: u32,
    pub start_us: u64,
    pub end_us: u64,
}

/// The spans of one thread.
pub fn thread_timeline(session: &Session, thread: usize) -> ThreadTimeline {
    let s = &session.threads[thread].samples;
    let mut out = ThreadTimeline {
        thread,
        ..Default::default()
    };
    let mut open: Vec<Span> = Vec::new();
    let mut chain: Vec<FuncId> = Vec::new();
    let mut prev_end = 0u64;
    for i in 0..s.len() {
        let end = s.time_us[i];
        let start = end.saturating_sub(s.weight_us[i]).max(prev_end);
        if i == 0 {
            out.start_us = start;
        }
        chain.clear();
        let mut cursor = Some(s.stack[i]);
        while let Some(id) = cursor {
            let st = session.stack(id);
            chain.push(session.frame(st.frame).func);
            cursor = st.parent;
        }
        chain.reverse();
        let keep = open
            .iter()
            .zip(&chain)
            .take_while(|(span, &f)| span.func == f)
            .count();
        while open.len() > keep {
            let span = open.pop().expect("non-empty");
            out.spans.push(span);
        }
        for (depth, &func) in chain.iter().enumerate().skip(keep) {
            open.push(Span {
                func,
                depth: depth as u32,
                start_us: start,
                end_us: end,
                samples: 0,
            });
        }
        for span in &mut open {
            span.end_us = end;
            span.samples += 1;
        }
        out.max_depth = out.max_depth.max(chain.len() as u32);
        prev_end = end;
    }
    while let Some(span) = open.pop() {
        out.spans.push(span);
    }
    out.end_us = prev_end;
    out
}
