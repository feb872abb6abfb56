//! Memory for requests being received: a broker-wide budget, and giving memory back.
//!
//! A request frame announces its size in its first four bytes, and a client may announce
//! 100 MiB and then send nothing. So a connection allocates as the bytes arrive, never as
//! announced. Past a small free allowance, a request reserves the rest of its announced size
//! from one budget shared by all connections (`--max-queued-request-bytes`, Kafka's
//! `queued.max.request.bytes`); when the budget is spent, the connection stops reading its
//! socket (TCP then pushes back on the client) until other requests are answered and their
//! reservations come back. The allowance lets small requests (Metadata, ApiVersions, a usual
//! Produce) through even while large ones wait, so a well-behaved client is served whatever
//! the others hold.
//!
//! Freed buffers must also leave the process: glibc keeps freed heap memory for reuse, and
//! raises its mmap threshold after freeing a large mapped block, so a burst of large
//! requests can stay resident long after it ended. [`tune_allocator`] pins the threshold,
//! so request buffers above it are always their own mappings, unmapped on free.

use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// Bytes of each request received without asking the budget (`max-connections` of these
/// at most): small requests never wait behind large ones.
pub const FREE_ALLOWANCE: usize = 64 << 10;

/// Buffers larger than this are mmapped by glibc and given back to the kernel when freed.
const MMAP_THRESHOLD: i32 = 256 << 10;

/// Makes large allocations separate mappings for the whole run (see the module docs).
pub fn tune_allocator() {
    #[cfg(target_env = "gnu")]
    // SAFETY: mallopt only changes allocator parameters; called before connection threads.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
    }
}

/// The broker-wide budget of bytes held by requests being received or handled.
pub struct RequestMemory {
    max: u64,
    held: Mutex<u64>,
    freed: Condvar,
}

/// Why [`RequestMemory::take`] gave up.
#[derive(Debug, PartialEq, Eq)]
pub enum Wait {
    /// The caller asked to stop (shutdown).
    Stopped,
    /// No memory came free within the time limit.
    TimedOut,
}

impl RequestMemory {
    pub fn new(max: u64) -> RequestMemory {
        RequestMemory {
            max,
            held: Mutex::new(0),
            freed: Condvar::new(),
        }
    }

    /// Bytes currently charged.
    pub fn held(&self) -> u64 {
        *self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Charges `n` bytes, waiting while the budget cannot hold them; gives up after `limit`
    /// or as soon as `stop()` says so (checked every `tick`). A request larger than the
    /// whole budget may still run when nothing else is held, so it is never stuck forever.
    pub fn take(
        &self,
        n: u64,
        limit: Duration,
        tick: Duration,
        stop: &dyn Fn() -> bool,
    ) -> Result<(), Wait> {
        let deadline = Instant::now() + limit;
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        while *held > 0 && *held + n > self.max {
            if stop() {
                return Err(Wait::Stopped);
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(Wait::TimedOut);
            }
            held = self
                .freed
                .wait_timeout(held, tick.min(deadline - now))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        *held += n;
        Ok(())
    }

    /// Returns `n` bytes charged earlier, waking the connections waiting for memory.
    pub fn give_back(&self, n: u64) {
        if n == 0 {
            return;
        }
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        *held = held.saturating_sub(n);
        self.freed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::thread;

    use super::*;

    const TICK: Duration = Duration::from_millis(10);

    #[test]
    fn a_charge_past_the_budget_waits_until_memory_is_given_back() {
        let memory = Arc::new(RequestMemory::new(100));
        memory.take(80, Duration::ZERO, TICK, &|| false).unwrap();
        assert_eq!(
            memory.take(30, Duration::from_millis(50), TICK, &|| false),
            Err(Wait::TimedOut)
        );
        let giver = {
            let memory = memory.clone();
            thread::spawn(move || {
                thread::sleep(Duration::from_millis(50));
                memory.give_back(80);
            })
        };
        memory
            .take(30, Duration::from_secs(10), TICK, &|| false)
            .unwrap();
        giver.join().unwrap();
        assert_eq!(memory.held(), 30);
    }

    #[test]
    fn one_request_larger_than_the_budget_runs_alone_and_a_stop_ends_a_wait() {
        let memory = RequestMemory::new(100);
        memory.take(500, Duration::ZERO, TICK, &|| false).unwrap();
        assert_eq!(
            memory.take(1, Duration::from_secs(10), TICK, &|| true),
            Err(Wait::Stopped)
        );
    }
}
