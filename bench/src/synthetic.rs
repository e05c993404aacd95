//! A realistic synthetic session, generated deterministically.
//!
//! Real profiles are not random stacks: a program has a fixed set of call paths, spends
//! most of its time in a few of them, calls the same library functions from many places,
//! and consecutive samples of a thread share most of their stack. The generator models
//! that: each thread gets a "program" (a call tree of call sites, built with a bias towards
//! a few hot ones), and the sampler wanders over it, mostly staying close to where it was.

use callscope_model::{FrameId, FunctionKind, Metadata, Session, SessionBuilder, StackId};

/// xorshift64*: deterministic and dependency-free.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Skewed towards small values: index `i` is about twice as likely as `2i`.
    pub fn skewed(&mut self, n: u64) -> u64 {
        let u = self.unit();
        ((n as f64).powf(u) - 1.0) as u64 % n.max(1)
    }
}

pub struct Spec {
    pub samples: usize,
    pub threads: usize,
    pub functions: usize,
    pub min_depth: usize,
    pub max_depth: usize,
    pub seed: u64,
}

impl Default for Spec {
    fn default() -> Self {
        Spec {
            samples: 1_000_000,
            threads: 4,
            functions: 3000,
            min_depth: 20,
            max_depth: 60,
            seed: 7,
        }
    }
}

const PROJECT: &str = "/home/dev/shop";
const STDLIB: &str = "/usr/lib/python3.12";
const SITE: &str = "/home/dev/shop/.venv/lib/python3.12/site-packages";
const PACKAGES: [&str; 8] = [
    "requests",
    "urllib3",
    "sqlalchemy",
    "jinja2",
    "pydantic",
    "numpy",
    "attr",
    "click",
];
const STDLIB_MODULES: [&str; 8] = [
    "json",
    "re",
    "asyncio",
    "threading",
    "socket",
    "ssl",
    "logging",
    "collections",
];
const VERBS: [&str; 10] = [
    "load", "parse", "render", "fetch", "validate", "compute", "encode", "decode", "update",
    "resolve",
];
const NOUNS: [&str; 10] = [
    "order", "user", "cart", "item", "token", "page", "row", "config", "price", "session",
];

pub fn generate(spec: &Spec) -> Session {
    let mut rng = Rng::new(spec.seed);
    let meta = Metadata {
        program: "shop/server.py --workers 4".into(),
        argv: vec!["shop/server.py".into(), "--workers".into(), "4".into()],
        start_time: 1_795_600_000.0,
        interval_us: 1000,
        python_version: "3.12.1".into(),
        platform: "Linux-x86_64".into(),
        sys_path: vec![PROJECT.into(), STDLIB.into(), SITE.into()],
        sys_prefixes: vec!["/usr".into(), format!("{PROJECT}/.venv")],
        recorder: "callscope-bench synthetic".into(),
        sampling_mode: "synthetic".into(),
        ..Metadata::default()
    };
    let mut b = SessionBuilder::new(meta);
    // A pool of functions: a third project code, the rest stdlib and third-party.
    let funcs: Vec<_> = (0..spec.functions)
        .map(|i| {
            let name = format!("{}_{}_{i}", VERBS[i % 10], NOUNS[(i / 10) % 10]);
            let file = match i % 3 {
                0 => format!(
                    "{PROJECT}/shop/{}/{}.py",
                    NOUNS[i % 10],
                    VERBS[(i / 7) % 10]
                ),
                1 => format!(
                    "{STDLIB}/{}/{}.py",
                    STDLIB_MODULES[i % 8],
                    NOUNS[(i / 3) % 10]
                ),
                _ => format!("{SITE}/{}/{}.py", PACKAGES[i % 8], VERBS[(i / 5) % 10]),
            };
            let name = if i % 4 == 0 {
                format!("{}.{name}", NOUNS[(i / 4) % 10].to_uppercase())
            } else {
                name
            };
            b.function(&name, &file, 10 + (i as u32 % 900), FunctionKind::Python)
        })
        .collect();
    let per_thread = spec.samples / spec.threads;
    for t in 0..spec.threads {
        let name = if t == 0 {
            "MainThread".to_owned()
        } else {
            format!("worker-{t}")
        };
        let ti = b.add_thread(1000 + t as u64, Some(4000 + t as u64), &name, t == 0);
        let program = Program::build(&mut b, &mut rng, &funcs, spec, t);
        let mut cur = program.settle(0);
        let mut now = 0u64;
        for _ in 0..per_thread {
            let u = rng.unit();
            let node = &program.nodes[cur];
            cur = if u < 0.7 {
                cur // still on the same line
            } else if u < 0.85 && !node.children.is_empty() {
                node.children[rng.below(node.children.len() as u64) as usize]
            } else if u < 0.95 {
                node.parent.unwrap_or(cur)
            } else {
                rng.skewed(program.nodes.len() as u64) as usize
            };
            cur = program.settle(cur);
            // Exponential gaps around the 1 ms interval, as the recorder's timer makes them.
            let gap = (-(1.0 - rng.unit()).ln() * 1000.0).clamp(50.0, 20_000.0) as u64;
            now += gap;
            let cpu = gap * (50 + rng.below(50)) / 100;
            b.push_sample(ti, program.nodes[cur].stack, now, gap, Some(cpu));
        }
    }
    let mut session = b.finish();
    session.meta.counts.samples = per_thread as u64;
    session.meta.cpu_time_us = Some(
        session
            .threads
            .iter()
            .filter_map(|t| t.samples.total_cpu_us())
            .sum(),
    );
    session
}

/// Call sites per thread: the distinct stacks a thread can be sampled in.
const CALL_SITES: usize = 15_000;

struct Node {
    stack: StackId,
    depth: usize,
    parent: Option<usize>,
    children: Vec<usize>,
}

struct Program {
    nodes: Vec<Node>,
    min_depth: usize,
}

impl Program {
    fn build(
        b: &mut SessionBuilder,
        rng: &mut Rng,
        funcs: &[callscope_model::FuncId],
        spec: &Spec,
        thread: usize,
    ) -> Self {
        let mut p = Program {
            nodes: Vec::new(),
            min_depth: spec.min_depth,
        };
        let entry = p.add(b, rng, funcs, None, thread);
        p.deepen(b, rng, funcs, entry);
        while p.nodes.len() < CALL_SITES {
            // Call paths are long chains (a request goes through many layers), early nodes
            // are hot and get more callees, and any node may call something new.
            let n = p.nodes.len() as u64;
            let u = rng.unit();
            let at = if u < 0.9 {
                n - 1
            } else if u < 0.95 {
                rng.skewed(n)
            } else {
                rng.below(n)
            } as usize;
            if p.nodes[at].depth >= spec.max_depth {
                continue;
            }
            let child = p.add(b, rng, funcs, Some(at), thread);
            p.deepen(b, rng, funcs, child);
        }
        p
    }

    fn add(
        &mut self,
        b: &mut SessionBuilder,
        rng: &mut Rng,
        funcs: &[callscope_model::FuncId],
        parent: Option<usize>,
        thread: usize,
    ) -> usize {
        let (parent_stack, depth) = parent.map_or((None, 0), |p| {
            (Some(self.nodes[p].stack), self.nodes[p].depth)
        });
        // Library functions are called from many places: draw callees with a skew.
        let f = (rng.skewed(funcs.len() as u64) as usize * 7 + thread) % funcs.len();
        let first = b.session().function(funcs[f]).first_line;
        let frame: FrameId = b.frame(funcs[f], first + 1 + rng.below(3) as u32);
        let stack = b.stack(parent_stack, frame);
        self.nodes.push(Node {
            stack,
            depth: depth + 1,
            parent,
            children: Vec::new(),
        });
        let id = self.nodes.len() - 1;
        if let Some(p) = parent {
            self.nodes[p].children.push(id);
        }
        id
    }

    /// Every call site shallower than the minimum depth calls on down to it.
    fn deepen(
        &mut self,
        b: &mut SessionBuilder,
        rng: &mut Rng,
        funcs: &[callscope_model::FuncId],
        mut at: usize,
    ) {
        while self.nodes[at].depth < self.min_depth {
            at = self.add(b, rng, funcs, Some(at), 0);
        }
    }

    /// A node deep enough to be sampled: shallow ones stand for their first callee.
    fn settle(&self, mut at: usize) -> usize {
        while self.nodes[at].depth < self.min_depth {
            at = self.nodes[at].children[0];
        }
        at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_a_valid_session_of_the_requested_shape() {
        let spec = Spec {
            samples: 40_000,
            ..Spec::default()
        };
        let s = generate(&spec);
        s.validate().unwrap();
        assert_eq!(s.sample_count(), 40_000);
        assert_eq!(s.threads.len(), 4);
        let depths = s.stack_depths();
        for t in &s.threads {
            for st in &t.samples.stack {
                let d = depths[st.index()] as usize;
                assert!((spec.min_depth..=spec.max_depth).contains(&d), "depth {d}");
            }
        }
        // Realistic: samples repeat stacks, as a real program's do.
        let sampled: std::collections::HashSet<_> = s
            .threads
            .iter()
            .flat_map(|t| t.samples.stack.iter())
            .collect();
        assert!(
            sampled.len() * 2 < s.sample_count(),
            "{} distinct stacks",
            sampled.len()
        );
        assert_eq!(generate(&spec), s, "deterministic");
    }
}
