//! CPU clocks of the process and of single threads.

/// CPU time used by the whole process, in microseconds.
pub fn process_cpu_us() -> Option<u64> {
    read(libc::CLOCK_PROCESS_CPUTIME_ID)
}

/// CPU time used so far by the thread with OS id `native_id` (in this process), in
/// microseconds; `None` once the thread has exited.
///
/// Linux encodes a thread's CPU clock id from its TID (`MAKE_THREAD_CPUCLOCK` in the
/// kernel: `(~tid << 3) | CPUCLOCK_PERTHREAD | CPUCLOCK_SCHED`). Going through the TID
/// rather than `pthread_getcpuclockid` stays safe when the thread has already exited: the
/// kernel answers `EINVAL` instead of libc reading a freed `pthread_t`. The kernel only
/// accepts TIDs of this process for thread clocks.
pub fn thread_cpu_us(native_id: u64) -> Option<u64> {
    let tid = libc::pid_t::try_from(native_id).ok()?;
    let clock: libc::clockid_t = ((!tid) << 3) | 6;
    read(clock)
}

fn read(clock: libc::clockid_t) -> Option<u64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out-pointer; an unknown clock id is reported as an error.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    (rc == 0).then(|| ts.tv_sec as u64 * 1_000_000 + ts.tv_nsec as u64 / 1_000)
}

/// The calling thread's OS id.
pub fn current_tid() -> u64 {
    // SAFETY: gettid has no preconditions.
    unsafe { libc::gettid() as u64 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_thread_accumulates_cpu_time() {
        let tid = current_tid();
        let before = thread_cpu_us(tid).unwrap();
        let start = std::time::Instant::now();
        let mut x = 0u64;
        while start.elapsed().as_millis() < 30 {
            x = x.wrapping_mul(31).wrapping_add(7);
        }
        std::hint::black_box(x);
        let after = thread_cpu_us(tid).unwrap();
        assert!(after - before >= 10_000, "{before} -> {after}");
        assert!(process_cpu_us().unwrap() >= after - before);
    }

    #[test]
    fn an_exited_thread_has_no_clock() {
        let tid = std::thread::spawn(current_tid).join().unwrap();
        assert_eq!(thread_cpu_us(tid), None);
    }
}
