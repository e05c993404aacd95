//! The timer thread's scheduling policy.
//!
//! Below 1 ms the timer's wake-ups themselves are the cost: each preempts one of the
//! program's threads. `SCHED_BATCH` keeps the timer's share of the CPU but lets it
//! preempt no one, so it runs at once only where a core is free; with three threads
//! contending for the GIL on two cores that took the cost at 0.1 ms from 1.08-1.22x to
//! about 1.02x, for fewer ticks served (docs/recorder.md, "Cost", has the figures).
//!
//! When no core is ever free (free-threaded CPython running more threads than cores), a
//! batch timer starves. So a batch timer that serves less than half of a window's ticks
//! turns normal, and tries batch again later, in case the program has moved on. At 1 ms
//! and above the timer is always normal: there it costs no more than the noise, and
//! serves more ticks than as batch.

use std::time::{Duration, Instant};

/// Intervals below which the timer may run as `SCHED_BATCH`.
const BATCH_BELOW_US: u64 = 1_000;
/// Ticks are counted over windows this long.
const WINDOW: Duration = Duration::from_millis(100);
/// A batch timer that served a smaller share of a window's ticks turns normal...
const STARVED_BELOW: f64 = 0.5;
/// ...and tries batch again after this long.
const RETRY_AFTER: Duration = Duration::from_secs(2);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    Normal,
    Batch,
}

/// Chooses the policy from the interval and from the ticks served lately.
pub struct Scheduler {
    policy: Policy,
    since: Instant,
    window_start: Instant,
    passes: u64,
    missed: u64,
    starved: bool,
}

impl Scheduler {
    pub fn new(now: Instant) -> Self {
        Scheduler {
            policy: Policy::Normal,
            since: now,
            window_start: now,
            passes: 0,
            missed: 0,
            starved: false,
        }
    }

    /// Counts one wake-up (a pass, and the ticks it found missed before it); returns the
    /// policy the timer should move to, if it should change.
    pub fn wake(&mut self, now: Instant, interval_us: u64, missed: u64) -> Option<Policy> {
        self.passes += 1;
        self.missed += missed;
        if now.duration_since(self.window_start) >= WINDOW {
            let served = self.passes as f64 / (self.passes + self.missed) as f64;
            if self.policy == Policy::Batch && served < STARVED_BELOW {
                self.starved = true;
                self.since = now;
            } else if self.starved && now.duration_since(self.since) >= RETRY_AFTER {
                self.starved = false;
            }
            self.window_start = now;
            self.passes = 0;
            self.missed = 0;
        }
        let policy = if interval_us < BATCH_BELOW_US && !self.starved {
            Policy::Batch
        } else {
            Policy::Normal
        };
        if policy == self.policy {
            return None;
        }
        self.policy = policy;
        // A new policy starts a new window: the old one's ticks were served under the other.
        self.window_start = now;
        self.passes = 0;
        self.missed = 0;
        Some(policy)
    }
}

/// Puts the calling thread under `policy`. An unprivileged thread may move between
/// `SCHED_OTHER` and `SCHED_BATCH` at its own nice value; a refusal (a seccomp sandbox)
/// leaves the policy as it was, which costs only what the module's header describes.
pub fn apply(policy: Policy) {
    let policy = match policy {
        Policy::Normal => libc::SCHED_OTHER,
        Policy::Batch => libc::SCHED_BATCH,
    };
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: changes only the calling thread's scheduling policy.
    unsafe {
        libc::pthread_setschedparam(libc::pthread_self(), policy, &param);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAST: u64 = 100;

    /// The policy after a wake-up.
    fn wake(s: &mut Scheduler, now: Instant, interval_us: u64, missed: u64) -> Policy {
        s.wake(now, interval_us, missed);
        s.policy
    }

    /// Wakes every `every` for `length`, finding `missed` ticks missed at each wake-up;
    /// returns the last policy.
    fn run(s: &mut Scheduler, at: &mut Instant, length: Duration, missed: u64) -> Policy {
        let end = *at + length;
        let mut policy = Policy::Normal;
        while *at < end {
            *at += Duration::from_micros(FAST);
            policy = wake(s, *at, FAST, missed);
        }
        policy
    }

    #[test]
    fn a_fast_timer_runs_as_batch_and_a_slow_one_as_normal() {
        let mut at = Instant::now();
        let mut s = Scheduler::new(at);
        at += Duration::from_millis(1);
        assert_eq!(wake(&mut s, at, FAST, 0), Policy::Batch);
        at += Duration::from_millis(1);
        assert_eq!(wake(&mut s, at, 1_000, 0), Policy::Normal);
        at += Duration::from_millis(1);
        assert_eq!(wake(&mut s, at, FAST, 0), Policy::Batch);
    }

    #[test]
    fn a_batch_timer_that_serves_most_ticks_stays_batch() {
        let mut at = Instant::now();
        let mut s = Scheduler::new(at);
        // One tick in three missed, as on a GIL-bound program.
        for i in 0..10_000 {
            at += Duration::from_micros(150);
            assert_eq!(wake(&mut s, at, FAST, i % 2), Policy::Batch);
        }
    }

    #[test]
    fn a_starved_batch_timer_turns_normal_and_tries_batch_again_later() {
        let mut at = Instant::now();
        let mut s = Scheduler::new(at);
        // Nine ticks in ten missed: no core is free.
        assert_eq!(run(&mut s, &mut at, WINDOW * 2, 9), Policy::Normal);
        // Served again under the normal policy, it stays normal until the retry...
        assert_eq!(
            run(&mut s, &mut at, RETRY_AFTER - WINDOW * 2, 0),
            Policy::Normal
        );
        // ...then tries batch.
        assert_eq!(run(&mut s, &mut at, WINDOW * 2, 0), Policy::Batch);
        // Starved again: normal again.
        assert_eq!(run(&mut s, &mut at, WINDOW * 3, 9), Policy::Normal);
    }
}
