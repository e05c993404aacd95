//! The function table: self and total time per function, with callers and callees.
//!
//! Computed from the stack table rather than from a tree, so recursion is counted right:
//! a sample adds to a function's total once, however many times the function is on the
//! stack. The profiler's own launcher frames are left out, as the tree's processors leave
//! them out.

use std::collections::HashMap;
use std::ops::Range;

use crate::ids::FuncId;
use crate::session::Session;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FunctionStats {
    pub func: FuncId,
    pub self_us: u64,
    pub total_us: u64,
    pub self_samples: u64,
    pub total_samples: u64,
}

/// Time that flowed over one caller → callee edge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edge {
    pub caller: FuncId,
    pub callee: FuncId,
    pub total_us: u64,
    /// The part of it the callee ran itself (it was the innermost frame).
    pub self_us: u64,
    pub samples: u64,
}

#[derive(Default)]
struct EdgeSums {
    total_us: u64,
    self_us: u64,
    samples: u64,
}

#[derive(Clone, Debug, Default)]
pub struct FunctionTable {
    /// Every function that appears in a sample, heaviest total first.
    pub rows: Vec<FunctionStats>,
    pub edges: Vec<Edge>,
    pub total_us: u64,
}

impl FunctionTable {
    /// Builds the table for the given threads (all when empty) and time range.
    pub fn build(session: &Session, threads: &[usize], range: Option<Range<u64>>) -> Self {
        let n = session.stacks.len();
        let (weight, count) = session.stack_weights(threads, range.as_ref());
        let launcher = crate::processors::launcher_prefix(session);
        let mut rows: HashMap<FuncId, FunctionStats> = HashMap::new();
        let mut edges: HashMap<(FuncId, FuncId), EdgeSums> = HashMap::new();
        let mut seen_funcs: Vec<FuncId> = Vec::new();
        let mut seen_edges: Vec<(FuncId, FuncId)> = Vec::new();
        let mut total_us = 0;
        for st in 0..n {
            let (w, c) = (weight[st], count[st]);
            if c == 0 {
                continue;
            }
            // A sample spent in the launcher itself (its imports, say) is not the program's.
            if launcher[st] == Some(true) {
                continue;
            }
            total_us += w;
            seen_funcs.clear();
            seen_edges.clear();
            let mut cursor = Some(crate::ids::StackId::from_index(st));
            let mut callee: Option<FuncId> = None;
            let mut leaf = true;
            while let Some(id) = cursor {
                // Launcher frames form a prefix from the root: the first met from the leaf
                // says whether the chain went through the entry point.
                if launcher[id.index()] == Some(true) {
                    break;
                }
                let stack = session.stack(id);
                let func = session.frame(stack.frame).func;
                let row = rows.entry(func).or_insert_with(|| FunctionStats {
                    func,
                    ..Default::default()
                });
                if leaf {
                    row.self_us += w;
                    row.self_samples += c;
                    leaf = false;
                }
                if !seen_funcs.contains(&func) {
                    seen_funcs.push(func);
                    row.total_us += w;
                    row.total_samples += c;
                }
                if let Some(callee) = callee {
                    let edge = (func, callee);
                    let sums = edges.entry(edge).or_default();
                    if seen_edges.is_empty() {
                        // The first edge up from the leaf: the callee was running.
                        sums.self_us += w;
                    }
                    if !seen_edges.contains(&edge) {
                        seen_edges.push(edge);
                        sums.total_us += w;
                        sums.samples += c;
                    }
                }
                callee = Some(func);
                cursor = stack.parent;
            }
        }
        let mut rows: Vec<FunctionStats> = rows.into_values().collect();
        rows.sort_by(|a, b| {
            b.total_us
                .cmp(&a.total_us)
                .then(b.self_us.cmp(&a.self_us))
                .then(a.func.cmp(&b.func))
        });
        let mut edges: Vec<Edge> = edges
            .into_iter()
            .map(|((caller, callee), sums)| Edge {
                caller,
                callee,
                total_us: sums.total_us,
                self_us: sums.self_us,
                samples: sums.samples,
            })
            .collect();
        edges.sort_by(|a, b| {
            b.total_us
                .cmp(&a.total_us)
                .then(a.caller.cmp(&b.caller))
                .then(a.callee.cmp(&b.callee))
        });
        FunctionTable {
            rows,
            edges,
            total_us,
        }
    }

    pub fn get(&self, func: FuncId) -> Option<&FunctionStats> {
        self.rows.iter().find(|r| r.func == func)
    }

    /// Who called `func`, heaviest first.
    pub fn callers(&self, func: FuncId) -> impl Iterator<Item = &Edge> {
        self.edges.iter().filter(move |e| e.callee == func)
    }

    /// What `func` called, heaviest first.
    pub fn callees(&self, func: FuncId) -> impl Iterator<Item = &Edge> {
        self.edges.iter().filter(move |e| e.caller == func)
    }
}
