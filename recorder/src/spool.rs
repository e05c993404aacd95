//! The stream of a recording as it happens, so that the profile survives its program.
//!
//! Under the `callscope` command the program runs in a child process whose recording
//! writes every new code object, thread, raw stack node and sample to a pipe as soon as a
//! tick has read it; the launcher (the parent) reads the pipe and rebuilds the recording
//! with [`Replay`]. Whatever ends the child (`os._exit`, a signal, a segfault), every
//! sample written before it is the parent's. At a normal end the child adds what only it
//! can know (C call names, 3.9/3.10 qualified names, final thread names and counts).
//!
//! Events are little-endian binary records, one tag byte each; a record cut short by the
//! child's death is dropped.

use std::collections::HashMap;

use callscope_model::{Counts, Metadata, Session};
use thiserror::Error;

use crate::code::{CodeEntry, LineTable};
use crate::recorder::{CodeNames, Gil, RawFrame, RawSample, Recorder, ThreadInfo, Threads};

const META: u8 = b'M';
const CODE: u8 = b'C';
const THREAD: u8 = b'T';
const NODE: u8 = b'N';
const SAMPLE: u8 = b'S';
const CALLEE: u8 = b'X';
const NAME: u8 = b'Q';
const END: u8 = b'E';

#[derive(Debug, Error)]
pub enum SpoolError {
    #[error("the recording stream is damaged (unknown record {0:#04x})")]
    Unknown(u8),
    #[error("the recording stream is damaged ({0})")]
    Invalid(String),
}

/// Appends events to a buffer, which the sampler writes to the pipe after each tick.
pub struct SpoolWriter {
    buf: Vec<u8>,
    fd: i32,
}

fn put_u32(b: &mut Vec<u8>, v: u32) {
    b.extend_from_slice(&v.to_le_bytes());
}

fn put_u64(b: &mut Vec<u8>, v: u64) {
    b.extend_from_slice(&v.to_le_bytes());
}

fn put_bytes(b: &mut Vec<u8>, v: &[u8]) {
    put_u32(b, v.len() as u32);
    b.extend_from_slice(v);
}

fn gil_code(g: Gil) -> u8 {
    match g {
        Gil::Held => 1,
        Gil::Waiting => 2,
        Gil::NotHeld => 3,
        Gil::None => 0,
    }
}

fn gil_of(c: u8) -> Gil {
    match c {
        1 => Gil::Held,
        2 => Gil::Waiting,
        3 => Gil::NotHeld,
        _ => Gil::None,
    }
}

impl SpoolWriter {
    /// A writer to `fd` (the write end of the launcher's pipe), made non-blocking: a
    /// launcher slow to read must not stall the sampler; what does not fit waits for the
    /// next tick.
    pub fn new(fd: i32) -> Self {
        // SAFETY: fcntl on a descriptor the caller gave us; a bad one reports an error.
        unsafe {
            let flags = libc::fcntl(fd, libc::F_GETFL);
            if flags >= 0 {
                libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK);
            }
        }
        SpoolWriter {
            buf: Vec::new(),
            fd,
        }
    }

    /// Writes what the pipe takes now.
    pub fn flush(&mut self) {
        while !self.buf.is_empty() {
            // SAFETY: writes from our own buffer to the descriptor we were given.
            let n = unsafe { libc::write(self.fd, self.buf.as_ptr().cast(), self.buf.len()) };
            if n > 0 {
                self.buf.drain(..n as usize);
                continue;
            }
            let err = std::io::Error::last_os_error().raw_os_error();
            if n < 0 && err == Some(libc::EINTR) {
                continue;
            }
            if n < 0 && err != Some(libc::EAGAIN) {
                // The launcher is gone: nobody will read this.
                self.buf.clear();
            }
            return;
        }
    }

    /// Writes everything, waiting for the pipe: at the end of the recording.
    pub fn flush_all(&mut self) {
        while !self.buf.is_empty() {
            let before = self.buf.len();
            self.flush();
            if self.buf.len() == before {
                let mut pfd = libc::pollfd {
                    fd: self.fd,
                    events: libc::POLLOUT,
                    revents: 0,
                };
                // SAFETY: one valid pollfd.
                if unsafe { libc::poll(&mut pfd, 1, 1_000) } < 0 {
                    return;
                }
            }
        }
    }

    pub fn meta(&mut self, meta: &Metadata) {
        self.buf.push(META);
        put_bytes(&mut self.buf, &serde_json::to_vec(meta).unwrap_or_default());
    }

    pub fn code(&mut self, index: u32, e: &CodeEntry) {
        let b = &mut self.buf;
        b.push(CODE);
        put_u32(b, index);
        put_bytes(b, e.name.as_bytes());
        put_bytes(b, e.file.as_bytes());
        put_u32(b, e.first_line);
        b.push(e.tracebackhide as u8);
        let (kind, table): (u8, &[u8]) = match &e.lines {
            LineTable::Lnotab(t) => (1, t),
            LineTable::Ranges(t) => (2, t),
            LineTable::Locations(t) => (3, t),
            LineTable::Missing => (0, &[]),
        };
        b.push(kind);
        put_bytes(b, table);
    }

    pub fn thread(&mut self, key: u32, t: &ThreadInfo) {
        let b = &mut self.buf;
        b.push(THREAD);
        put_u32(b, key);
        put_u64(b, t.ident);
        put_u64(b, t.native_id.map_or(u64::MAX, |n| n));
        b.push(t.is_main as u8);
        put_bytes(b, t.name.as_bytes());
    }

    pub fn node(&mut self, parent: u32, f: RawFrame) {
        let b = &mut self.buf;
        b.push(NODE);
        put_u32(b, parent);
        put_u32(b, f.code);
        put_u32(b, f.offset as u32);
        b.push(f.in_call as u8);
    }

    pub fn sample(&mut self, r: &RawSample) {
        let b = &mut self.buf;
        b.push(SAMPLE);
        put_u32(b, r.key);
        put_u32(b, r.node);
        put_u64(b, r.time_us);
        put_u64(b, r.weight_us);
        put_u64(b, r.cpu_us.unwrap_or(u64::MAX));
        b.push(r.on_cpu as u8 | gil_code(r.gil) << 1);
    }

    pub fn callee(&mut self, code: u32, offset: i32, name: &str) {
        self.buf.push(CALLEE);
        put_u32(&mut self.buf, code);
        put_u32(&mut self.buf, offset as u32);
        put_bytes(&mut self.buf, name.as_bytes());
    }

    pub fn name(&mut self, code: u32, name: &str) {
        self.buf.push(NAME);
        put_u32(&mut self.buf, code);
        put_bytes(&mut self.buf, name.as_bytes());
    }

    pub fn end(&mut self, end_us: u64) {
        self.buf.push(END);
        put_u64(&mut self.buf, end_us);
    }
}

/// Rebuilds a recording from its stream.
#[derive(Default)]
pub struct Replay {
    pending: Vec<u8>,
    recorder: Option<Recorder>,
    codes: Vec<CodeEntry>,
    threads: Vec<ThreadInfo>,
    callees: HashMap<(u32, i32), String>,
    last_time_us: u64,
    end_us: Option<u64>,
}

struct Cursor<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.b.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(s)
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }
    fn string(&mut self) -> Option<String> {
        Some(String::from_utf8_lossy(self.bytes()?).into_owned())
    }
}

impl Replay {
    /// Whether the child ended its recording itself.
    pub fn ended(&self) -> bool {
        self.end_us.is_some()
    }

    /// Takes the next bytes of the stream; records may be split across calls.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<(), SpoolError> {
        self.pending.extend_from_slice(bytes);
        let pending = std::mem::take(&mut self.pending);
        let mut c = Cursor { b: &pending, at: 0 };
        loop {
            let start = c.at;
            match self.event(&mut c) {
                Ok(true) => {}
                Ok(false) => {
                    // A record not complete yet: keep it for the next bytes.
                    self.pending = pending[start..].to_vec();
                    return Ok(());
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// One event; `Ok(false)` when the bytes end before it does.
    fn event(&mut self, c: &mut Cursor) -> Result<bool, SpoolError> {
        let Some(tag) = c.u8() else {
            return Ok(false);
        };
        let bad = |what: &str| SpoolError::Invalid(what.to_owned());
        macro_rules! need {
            ($e:expr) => {
                match $e {
                    Some(v) => v,
                    None => return Ok(false),
                }
            };
        }
        match tag {
            META => {
                let json = need!(c.bytes());
                let meta: Metadata =
                    serde_json::from_slice(json).map_err(|e| bad(&format!("metadata: {e}")))?;
                match &mut self.recorder {
                    None => self.recorder = Some(Recorder::new(meta, 0, Threads::All)),
                    Some(r) => r.set_meta(meta),
                }
            }
            CODE => {
                let index = need!(c.u32()) as usize;
                let name = need!(c.string());
                let file = need!(c.string());
                let first_line = need!(c.u32());
                let tracebackhide = need!(c.u8()) != 0;
                let kind = need!(c.u8());
                let table = need!(c.bytes()).to_vec();
                if index != self.codes.len() {
                    return Err(bad("code objects out of order"));
                }
                let lines = match kind {
                    1 => LineTable::Lnotab(table),
                    2 => LineTable::Ranges(table),
                    3 => LineTable::Locations(table),
                    _ => LineTable::Missing,
                };
                self.codes.push(CodeEntry {
                    name,
                    file,
                    first_line,
                    tracebackhide,
                    lines,
                    code_len: 0,
                });
            }
            THREAD => {
                let key = need!(c.u32()) as usize;
                let ident = need!(c.u64());
                let native = need!(c.u64());
                let is_main = need!(c.u8()) != 0;
                let name = need!(c.string());
                if key > self.threads.len() {
                    return Err(bad("threads out of order"));
                }
                let info = ThreadInfo {
                    ident,
                    native_id: (native != u64::MAX).then_some(native),
                    name,
                    is_main,
                };
                if key == self.threads.len() {
                    self.threads.push(info);
                } else {
                    self.threads[key] = info;
                }
            }
            NODE => {
                let parent = need!(c.u32());
                let code = need!(c.u32());
                let offset = need!(c.u32()) as i32;
                let in_call = need!(c.u8()) != 0;
                if code as usize >= self.codes.len() && !crate::recorder::is_pseudo(code) {
                    return Err(bad("a frame of an unknown code object"));
                }
                let r = self
                    .recorder
                    .as_mut()
                    .ok_or_else(|| bad("frames before start"))?;
                r.replay_node(
                    parent,
                    RawFrame {
                        code,
                        offset,
                        in_call,
                    },
                )
                .map_err(bad)?;
            }
            SAMPLE => {
                let key = need!(c.u32());
                let node = need!(c.u32());
                let time_us = need!(c.u64());
                let weight_us = need!(c.u64());
                let cpu = need!(c.u64());
                let flags = need!(c.u8());
                if key as usize >= self.threads.len() {
                    return Err(bad("a sample of an unknown thread"));
                }
                let r = self
                    .recorder
                    .as_mut()
                    .ok_or_else(|| bad("samples before start"))?;
                r.replay_sample(&RawSample {
                    key,
                    node,
                    time_us,
                    weight_us,
                    cpu_us: (cpu != u64::MAX).then_some(cpu),
                    on_cpu: flags & 1 != 0,
                    gil: gil_of(flags >> 1),
                })
                .map_err(bad)?;
                self.last_time_us = self.last_time_us.max(time_us);
            }
            CALLEE => {
                let code = need!(c.u32());
                let offset = need!(c.u32()) as i32;
                let name = need!(c.string());
                self.callees.insert((code, offset), name);
            }
            NAME => {
                let code = need!(c.u32()) as usize;
                let name = need!(c.string());
                let entry = self
                    .codes
                    .get_mut(code)
                    .ok_or_else(|| bad("a name for an unknown code object"))?;
                entry.name = name;
            }
            END => self.end_us = Some(need!(c.u64())),
            other => return Err(SpoolError::Unknown(other)),
        }
        Ok(true)
    }

    /// The session: everything the stream carried. Without the child's own end, it ends at
    /// the last sample, and names that only the child could resolve are left as read.
    pub fn finish(self) -> Option<Session> {
        let mut recorder = self.recorder?;
        let end = self.end_us.unwrap_or(self.last_time_us);
        let counts = recorder.meta().counts.clone();
        let counts = Counts {
            samples: counts.samples.max(recorder.passes_seen()),
            ..counts
        };
        recorder.set_start(0);
        let mut describe = CodeNames {
            codes: &self.codes,
            callees: self.callees,
        };
        Some(recorder.finish(end, counts, &self.threads, &mut describe))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recorder::{Capture, CapturedThread, Describe};

    struct Codes(Vec<CodeEntry>);

    impl Describe for Codes {
        fn code(&self, code: u32) -> &CodeEntry {
            &self.0[code as usize]
        }
        fn callee(&mut self, _: u32, _: i32) -> Option<String> {
            None
        }
    }

    fn capture(time_us: u64, frames: &[(u32, i32)]) -> Capture {
        Capture {
            time_us,
            threads: vec![CapturedThread {
                thread: 0,
                cpu_us: Some(time_us / 2),
                gil: Gil::Held,
                frames: 0..frames.len(),
            }],
            frames: frames
                .iter()
                .map(|&(code, offset)| RawFrame {
                    code,
                    offset,
                    in_call: false,
                })
                .collect(),
        }
    }

    /// Records three passes both directly and through a stream; returns (direct session,
    /// stream bytes).
    fn record() -> (Session, Vec<u8>) {
        let codes: Vec<CodeEntry> = ["<module>", "work"]
            .iter()
            .map(|n| CodeEntry {
                name: n.to_string(),
                file: "app.py".into(),
                first_line: 1,
                ..CodeEntry::default()
            })
            .collect();
        let threads = vec![ThreadInfo {
            ident: 7,
            native_id: Some(70),
            name: "MainThread".into(),
            is_main: true,
        }];
        let meta = Metadata {
            program: "app.py".into(),
            interval_us: 1_000,
            ..Metadata::default()
        };
        let mut w = SpoolWriter {
            buf: Vec::new(),
            fd: -1,
        };
        w.meta(&meta);
        for (i, c) in codes.iter().enumerate() {
            w.code(i as u32, c);
        }
        w.thread(0, &threads[0]);
        let mut r = Recorder::new(meta, 1_000, Threads::All);
        r.spool = Some(w);
        r.record(&capture(2_000, &[(1, 4), (0, 2)]), &threads, None);
        r.record(&capture(3_000, &[(1, 6), (0, 2)]), &threads, None);
        r.record(&capture(4_000, &[(0, 2)]), &threads, None);
        let mut w = r.spool.take().unwrap();
        w.end(3_000);
        let session = r.finish(4_000, Counts::default(), &threads, &mut Codes(codes));
        (session, w.buf)
    }

    #[test]
    fn a_replayed_stream_gives_the_recorded_session() {
        let (direct, bytes) = record();
        let mut replay = Replay::default();
        // Fed in pieces that cut records in half.
        for piece in bytes.chunks(7) {
            replay.feed(piece).unwrap();
        }
        assert!(replay.ended());
        let replayed = replay.finish().unwrap();
        assert_eq!(replayed.threads, direct.threads);
        assert_eq!(replayed.stacks, direct.stacks);
        assert_eq!(replayed.meta.duration_us, direct.meta.duration_us);
        assert_eq!(replayed.meta.counts.samples, 3);
    }

    #[test]
    fn a_stream_cut_short_keeps_every_complete_sample() {
        let (_, bytes) = record();
        // The child died in the middle of the last sample record.
        let cut = bytes.len() - 9 - 10;
        let mut replay = Replay::default();
        replay.feed(&bytes[..cut]).unwrap();
        assert!(!replay.ended());
        let s = replay.finish().unwrap();
        assert_eq!(s.threads[0].samples.len(), 2);
        assert_eq!(s.meta.duration_us, 2_000);
        s.validate().unwrap();
    }

    #[test]
    fn damage_is_an_error_not_a_panic() {
        let mut replay = Replay::default();
        assert!(replay.feed(b"Z").is_err());
        let mut replay = Replay::default();
        // A sample before anything else.
        let mut w = SpoolWriter {
            buf: Vec::new(),
            fd: -1,
        };
        w.sample(&RawSample {
            key: 0,
            node: 0,
            time_us: 1,
            weight_us: 1,
            cpu_us: None,
            on_cpu: false,
            gil: Gil::None,
        });
        assert!(replay.feed(&w.buf).is_err());
        assert!(Replay::default().finish().is_none());
    }
}
