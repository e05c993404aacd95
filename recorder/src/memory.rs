//! Fault-safe reads of the interpreter's memory.
//!
//! The sampler reads structures that other threads change and free under it. A direct
//! load from a stale pointer could fault, so every read is a copy through the kernel:
//! `process_vm_readv` on this process answers `EFAULT` for an unmapped address instead of
//! crashing, and needs no ptrace permission for the process itself. A call costs about
//! 1.4 µs on these machines, so callers copy whole structures (a frame, a thread state, a
//! chunk of the data stack) per call rather than field by field.
//!
//! Everything goes through [`Memory`], so that reading another process by its pid (to
//! attach to a running program) is one more implementation.

use std::sync::atomic::{AtomicI32, Ordering::Relaxed};

use thiserror::Error;

#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
pub enum ReadError {
    #[error("address {0:#x} is not readable")]
    Unmapped(u64),
    #[error("read of {len} bytes at {addr:#x} came back short")]
    Short { addr: u64, len: usize },
    #[error("null pointer")]
    Null,
}

/// A source of memory to copy from.
pub trait Memory {
    /// Copies `buf.len()` bytes from `addr`, or fails without touching the process.
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), ReadError>;

    /// Copies several ranges at once; returns how many of them, from the first, were
    /// copied whole: a range that cannot be read ends the copy. Implementations make this
    /// one call where they can (the sampler's cost is mostly per call).
    fn read_many(&self, parts: &mut [(u64, &mut [u8])]) -> usize {
        let mut whole = 0;
        for (addr, buf) in parts.iter_mut() {
            if self.read(*addr, buf).is_err() {
                break;
            }
            whole += 1;
        }
        whole
    }

    fn read_u64(&self, addr: u64) -> Result<u64, ReadError> {
        let mut b = [0u8; 8];
        self.read(addr, &mut b)?;
        Ok(u64::from_ne_bytes(b))
    }
}

/// This process: `process_vm_readv` with our own pid.
pub struct OwnProcess;

/// The pid to read; set again in a forked child.
static PID: AtomicI32 = AtomicI32::new(0);

impl OwnProcess {
    /// Notes the current pid: at start and after `fork`.
    pub fn refresh_pid() {
        // SAFETY: getpid has no preconditions.
        PID.store(unsafe { libc::getpid() }, Relaxed);
    }
}

fn pid() -> i32 {
    let pid = PID.load(Relaxed);
    if pid != 0 {
        return pid;
    }
    OwnProcess::refresh_pid();
    PID.load(Relaxed)
}

impl Memory for OwnProcess {
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), ReadError> {
        if addr == 0 {
            return Err(ReadError::Null);
        }
        if buf.is_empty() {
            return Ok(());
        }
        let pid = pid();
        let local = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        let remote = libc::iovec {
            iov_base: addr as *mut libc::c_void,
            iov_len: buf.len(),
        };
        // SAFETY: `local` describes `buf`, which we own; the kernel validates `remote` and
        // reports an unmapped range as an error instead of faulting.
        let n = unsafe { libc::process_vm_readv(pid, &local, 1, &remote, 1, 0) };
        if n < 0 {
            Err(ReadError::Unmapped(addr))
        } else if n as usize != buf.len() {
            Err(ReadError::Short {
                addr,
                len: buf.len(),
            })
        } else {
            Ok(())
        }
    }

    fn read_many(&self, parts: &mut [(u64, &mut [u8])]) -> usize {
        // Up to the first null address, and never more than the kernel takes in one call.
        let n = parts
            .iter()
            .take(1024)
            .take_while(|(addr, _)| *addr != 0)
            .count();
        let (mut local, mut remote) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for (addr, buf) in parts[..n].iter_mut() {
            local.push(libc::iovec {
                iov_base: buf.as_mut_ptr().cast(),
                iov_len: buf.len(),
            });
            remote.push(libc::iovec {
                iov_base: *addr as *mut libc::c_void,
                iov_len: buf.len(),
            });
        }
        // SAFETY: as in `read`: each local iovec is one of our own buffers, and the kernel
        // checks the remote ones, stopping at the first that is not mapped.
        let copied = unsafe {
            libc::process_vm_readv(pid(), local.as_ptr(), n as _, remote.as_ptr(), n as _, 0)
        };
        let mut left = usize::try_from(copied).unwrap_or(0);
        parts[..n]
            .iter()
            .take_while(|(_, buf)| {
                let whole = left >= buf.len();
                left = left.saturating_sub(buf.len());
                whole
            })
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_many_ranges_in_one_call_up_to_the_first_that_fails() {
        let values: [u64; 3] = [11, 22, 33];
        let addr = |i: usize| &values[i] as *const u64 as u64;
        let mut bufs = [[0u8; 8]; 4];
        let [a, b, c, d] = &mut bufs;
        let mut parts = [
            (addr(0), &mut a[..]),
            (addr(1), &mut b[..]),
            (8, &mut c[..]),
            (addr(2), &mut d[..]),
        ];
        assert_eq!(OwnProcess.read_many(&mut parts), 2);
        assert_eq!(u64::from_ne_bytes(bufs[0]), 11);
        assert_eq!(u64::from_ne_bytes(bufs[1]), 22);
        let [a, b, ..] = &mut bufs;
        let mut parts = [(addr(2), &mut a[..]), (0, &mut b[..])];
        assert_eq!(OwnProcess.read_many(&mut parts), 1);
        assert_eq!(u64::from_ne_bytes(bufs[0]), 33);
        assert_eq!(OwnProcess.read_many(&mut []), 0);
    }

    #[test]
    fn reads_live_memory_and_refuses_bad_addresses() {
        let value: u64 = 0x1234_5678_9abc_def0;
        let addr = &value as *const u64 as u64;
        assert_eq!(OwnProcess.read_u64(addr), Ok(value));
        assert_eq!(OwnProcess.read_u64(0), Err(ReadError::Null));
        // The first page is never mapped.
        assert_eq!(OwnProcess.read_u64(8), Err(ReadError::Unmapped(8)));
        // Freed memory that was unmapped reads as an error, not a crash.
        // SAFETY: a fresh anonymous mapping, unmapped before the read.
        unsafe {
            let page = libc::mmap(
                std::ptr::null_mut(),
                4096,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            assert_ne!(page, libc::MAP_FAILED);
            libc::munmap(page, 4096);
            assert!(OwnProcess.read_u64(page as u64).is_err());
        }
    }
}
