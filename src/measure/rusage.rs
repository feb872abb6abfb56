//! What the scheduler charged to this thread: `getrusage(RUSAGE_THREAD)`.
//!
//! This needs no permission and works everywhere, so it is the fallback when
//! perf counters are refused: CPU time split into user and system (kernel) mode,
//! scheduler switches (voluntary: the thread blocked, e.g. on a full socket
//! buffer; involuntary: it was preempted), and page faults.
//!
//! Precision, which matters for short transfers: the *total* CPU time is exact
//! (nanoseconds of runtime), but Linux splits it into user and system in the
//! proportion of timer ticks that landed in each mode (one tick is 1-10 ms), so
//! for a bracket of a few milliseconds the user/system split is a coarse
//! estimate. [`ThreadCpu`] therefore also reads `CLOCK_THREAD_CPUTIME_ID`.
//!
//! What it can NOT see: CPU spent for this thread elsewhere — softirq network
//! processing on another CPU, kernel threads, the receiving thread — and
//! user<->kernel mode switches (see `syscalls.rs` for those).

use std::io;
use std::time::Duration;

use nix::sys::resource::{Usage, UsageWho, getrusage};
use nix::sys::time::TimeVal;
use serde::Serialize;

/// One `getrusage(RUSAGE_THREAD)` reading of the calling thread.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rusage {
    user: Duration,
    system: Duration,
    voluntary: u64,
    involuntary: u64,
    minor_faults: u64,
    major_faults: u64,
}

/// What the scheduler charged to the thread over one bracket.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RusageDelta {
    /// CPU time in user mode (tick-proportioned, see the module docs).
    #[serde(serialize_with = "super::serde_ns")]
    pub user_cpu: Duration,
    /// CPU time in kernel mode (tick-proportioned, see the module docs).
    #[serde(serialize_with = "super::serde_ns")]
    pub system_cpu: Duration,
    /// Scheduler switches because the thread blocked (`ru_nvcsw`).
    pub voluntary_sched_switches: u64,
    /// Scheduler switches because the thread was preempted (`ru_nivcsw`).
    pub involuntary_sched_switches: u64,
    pub minor_faults: u64,
    pub major_faults: u64,
}

impl RusageDelta {
    /// Field by field sum: what the scheduler charged two threads together.
    pub fn plus(&self, o: &RusageDelta) -> RusageDelta {
        RusageDelta {
            user_cpu: self.user_cpu + o.user_cpu,
            system_cpu: self.system_cpu + o.system_cpu,
            voluntary_sched_switches: self.voluntary_sched_switches + o.voluntary_sched_switches,
            involuntary_sched_switches: self.involuntary_sched_switches
                + o.involuntary_sched_switches,
            minor_faults: self.minor_faults + o.minor_faults,
            major_faults: self.major_faults + o.major_faults,
        }
    }
}

fn duration(tv: TimeVal) -> Duration {
    let secs = u64::try_from(tv.tv_sec()).unwrap_or(0);
    let micros = u64::try_from(tv.tv_usec()).unwrap_or(0);
    Duration::from_secs(secs) + Duration::from_micros(micros)
}

fn count(v: libc::c_long) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

impl Rusage {
    pub fn now() -> io::Result<Rusage> {
        let u: Usage = getrusage(UsageWho::RUSAGE_THREAD)?;
        Ok(Rusage {
            user: duration(u.user_time()),
            system: duration(u.system_time()),
            voluntary: count(u.voluntary_context_switches()),
            involuntary: count(u.involuntary_context_switches()),
            minor_faults: count(u.minor_page_faults()),
            major_faults: count(u.major_page_faults()),
        })
    }

    pub fn since(&self, earlier: &Rusage) -> RusageDelta {
        RusageDelta {
            user_cpu: self.user.saturating_sub(earlier.user),
            system_cpu: self.system.saturating_sub(earlier.system),
            voluntary_sched_switches: self.voluntary.saturating_sub(earlier.voluntary),
            involuntary_sched_switches: self.involuntary.saturating_sub(earlier.involuntary),
            minor_faults: self.minor_faults.saturating_sub(earlier.minor_faults),
            major_faults: self.major_faults.saturating_sub(earlier.major_faults),
        }
    }
}

/// CPU time of the calling thread, for threads that measure themselves (the
/// sink): take [`ThreadCpu::now`] at its start and end, then
/// [`ThreadCpu::since`]. Two syscalls each; no perf permission needed.
#[derive(Clone, Copy, Debug)]
pub struct ThreadCpu {
    total: Duration,
    rusage: Rusage,
}

/// CPU time a thread used between two [`ThreadCpu`] snapshots.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ThreadCpuDelta {
    /// Exact runtime (`CLOCK_THREAD_CPUTIME_ID`): user + system.
    #[serde(serialize_with = "super::serde_ns")]
    pub total: Duration,
    /// The same, split by mode at tick granularity (see the module docs).
    #[serde(serialize_with = "super::serde_ns")]
    pub user: Duration,
    #[serde(serialize_with = "super::serde_ns")]
    pub system: Duration,
}

impl ThreadCpu {
    pub fn now() -> io::Result<ThreadCpu> {
        Ok(ThreadCpu {
            total: thread_cpu_time()?,
            rusage: Rusage::now()?,
        })
    }

    pub fn since(&self, earlier: &ThreadCpu) -> ThreadCpuDelta {
        let r = self.rusage.since(&earlier.rusage);
        ThreadCpuDelta {
            total: self.total.saturating_sub(earlier.total),
            user: r.user_cpu,
            system: r.system_cpu,
        }
    }
}

/// Exact CPU time (user + system) the calling thread has used since it started.
pub fn thread_cpu_time() -> io::Result<Duration> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a live, writable timespec; the clock id is a constant the
    // kernel knows.
    if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let secs = u64::try_from(ts.tv_sec).unwrap_or(0);
    let nanos = u32::try_from(ts.tv_nsec).unwrap_or(0);
    Ok(Duration::new(secs, nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_cpu_grows_around_a_busy_loop() {
        let start = ThreadCpu::now().expect("snapshot");
        // A fixed amount of work, not a wall-clock span: on a loaded machine a thread
        // gets only part of a span, but this work costs tens of ms of CPU whatever the load.
        let mut x = 0u64;
        for _ in 0..30_000_000u64 {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
        }
        let delta = ThreadCpu::now().expect("snapshot").since(&start);
        assert!(delta.total >= Duration::from_millis(10), "{delta:?}");
    }
}
