//! Asking a broker again while it answers "not yet": a topic it is still creating, a
//! partition with no leader yet, a group coordinator whose `__consumer_offsets` partition is
//! still being created or loaded. Kafka's clients pause `retry.backoff.ms` (100 ms) before
//! the first retry and double the pause up to `retry.backoff.max.ms` (1 s), for as long as
//! the caller may block (`max.block.ms`, [`ClientConfig::metadata_wait`]).
//!
//! [`ClientConfig::metadata_wait`]: super::ClientConfig::metadata_wait

use std::thread;
use std::time::{Duration, Instant};

const FIRST_PAUSE: Duration = Duration::from_millis(100);
const MAX_PAUSE: Duration = Duration::from_secs(1);

/// The clock and pause of one wait for a broker to be ready.
pub(super) struct Retry {
    started: Instant,
    limit: Duration,
    pause: Duration,
    /// Requests made so far (counted by [`Retry::again`]).
    pub requests: u32,
}

impl Retry {
    pub fn new(limit: Duration) -> Retry {
        Retry {
            started: Instant::now(),
            limit,
            pause: FIRST_PAUSE,
            requests: 1,
        }
    }

    /// After a "not yet": sleeps the next pause and returns true, or returns false when
    /// that pause would end past the limit.
    pub fn again(&mut self) -> bool {
        if self.limit.is_zero() || self.started.elapsed() + self.pause > self.limit {
            return false;
        }
        thread::sleep(self.pause);
        self.pause = (self.pause * 2).min(MAX_PAUSE);
        self.requests += 1;
        true
    }

    pub fn waited(&self) -> Duration {
        self.started.elapsed()
    }
}
