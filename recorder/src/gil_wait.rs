//! Is a thread waiting for the GIL? A thread that wants the GIL sleeps in `take_gil` on
//! the GIL's own mutex or condition variable, so its current system call is a futex wait
//! on an address inside the GIL structure. Linux shows each thread's current system call
//! and its arguments in `/proc/self/task/TID/syscall`; reading it needs no permission
//! beyond the process's own.
//!
//! One read per thread, at most once per [`PROBE_EVERY_US`]: the GIL changes hands every
//! 5 ms (the switch interval), so a fresher answer would not say more and would cost a
//! system call per thread per tick at 10 kHz.

use std::collections::HashMap;
use std::fs::File;
use std::ops::Range;
use std::os::unix::fs::FileExt;

const PROBE_EVERY_US: u64 = 1_000;

struct Probe {
    file: File,
    at_us: u64,
    waiting: bool,
}

/// Open `/proc` files by native thread id, reused across ticks (`pread` at offset 0
/// produces the file anew).
#[derive(Default)]
pub struct GilWait {
    probes: HashMap<u64, Probe>,
    buf: Vec<u8>,
}

impl GilWait {
    /// Whether thread `tid` (not holding the GIL) sleeps on an address in `gil`.
    pub fn waiting(&mut self, tid: u64, gil: &Range<u64>, now_us: u64) -> bool {
        let probe = match self.probes.entry(tid) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                let Ok(file) = File::open(format!("/proc/self/task/{tid}/syscall")) else {
                    return false;
                };
                e.insert(Probe {
                    file,
                    at_us: 0,
                    waiting: false,
                })
            }
        };
        if probe.at_us != 0 && now_us.saturating_sub(probe.at_us) < PROBE_EVERY_US {
            return probe.waiting;
        }
        self.buf.resize(256, 0);
        probe.waiting = match probe.file.read_at(&mut self.buf, 0) {
            Ok(n) => first_argument(&self.buf[..n]).is_some_and(|a| gil.contains(&a)),
            Err(_) => {
                // The thread has ended.
                self.probes.remove(&tid);
                return false;
            }
        };
        probe.at_us = now_us;
        probe.waiting
    }

    /// Forgets threads that were not asked about since `before_us`.
    pub fn prune(&mut self, before_us: u64) {
        self.probes.retain(|_, p| p.at_us >= before_us);
    }
}

/// `NR arg1 arg2 ...` → arg1; `running` or `-1 sp pc` (not in a system call) → None.
fn first_argument(line: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(line).ok()?;
    let mut fields = text.split_ascii_whitespace();
    let nr: i64 = fields.next()?.parse().ok()?;
    if nr < 0 {
        return None;
    }
    u64::from_str_radix(fields.next()?.strip_prefix("0x")?, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Condvar, Mutex};

    #[test]
    fn parses_the_syscall_line() {
        assert_eq!(
            first_argument(b"202 0x7fd8e77ad108 0x89 0x0 0x0 0x7f 0x0 0x7ff 0x7f\n"),
            Some(0x7fd8e77ad108)
        );
        assert_eq!(first_argument(b"running\n"), None);
        assert_eq!(first_argument(b"-1 0x7ffd 0x55\n"), None);
    }

    #[test]
    fn a_thread_sleeping_on_a_condition_is_seen_waiting_on_its_address() {
        let pair = Arc::new((Mutex::new(false), Condvar::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let waiter = {
            let pair = pair.clone();
            std::thread::spawn(move || {
                // SAFETY: gettid has no preconditions.
                tx.send(unsafe { libc::gettid() } as u64).unwrap();
                let (lock, cond) = &*pair;
                let mut done = lock.lock().unwrap();
                while !*done {
                    done = cond.wait(done).unwrap();
                }
            })
        };
        let tid = rx.recv().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(100));
        let at = &pair.1 as *const Condvar as u64;
        let around = at.saturating_sub(64)..at + 64;
        let mut probe = GilWait::default();
        assert!(probe.waiting(tid, &around, 1));
        assert!(!probe.waiting(tid, &(0..4096), 1_000_000));
        *pair.0.lock().unwrap() = true;
        pair.1.notify_all();
        waiter.join().unwrap();
    }
}
