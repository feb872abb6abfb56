//! The probe: what one transfer cost, in the kernel's own counters.
//!
//! A [`Probe`] brackets exactly one transfer in the sending thread:
//!
//! ```text
//! Probe::open   (before the timed region: opens counters, finds tracefs,
//!                measures the probe's own syscall overhead)
//!   start()     right before the first byte
//!     ...transfer...
//!   stop()      right after the last byte  -> Sample
//!   start() / stop() again for the next run (each Sample starts from zero)
//! ```
//!
//! Sources, one file each, each explaining what it can and cannot see:
//! - `perf.rs`: perf software counters (task-clock, scheduler switches, CPU
//!   migrations, page faults) and hardware counters (cycles, instructions,
//!   cache misses), kernel mode included;
//! - `syscalls.rs`: syscall counts from kernel tracepoints;
//! - `rusage.rs`: `getrusage(RUSAGE_THREAD)`, which always works (the fallback);
//! - `procfs.rs`: bytes moved (`/proc/thread-self/io`), machine-wide busy CPU
//!   (`/proc/stat`), provenance facts;
//! - `residency.rs`: page-cache residency (`mincore`) and cache dropping;
//! - `block.rs`: bytes the block layer wrote to a device (whole device, everyone's);
//! - `environment.rs`: the machine, for provenance;
//! - `profile.rs`: where the thread's CPU time went, sampled with kernel call chains, and
//!   how much of it the kernel spent copying.
//!
//! **Counters never lie.** Every value that may be missing is a [`Reading`]:
//! either a value or the reason it is unavailable, with what to change. Nothing
//! is ever reported as a fake zero, and a counter refused in kernel mode is *not*
//! silently re-opened user-only: a user-only scheduler-switch count is always
//! ~0 (switches happen in the kernel) and would look like a result. The honest
//! fallback is [`RusageDelta`], which every [`Sample`] carries.
//!
//! **"Context switch" means two things.** `sched_switches` (perf's
//! `context-switches`) and the rusage voluntary/involuntary counts are scheduler
//! switches: the CPU given to another task. The zero-copy articles mean
//! user<->kernel *mode* switches, two per syscall: [`Sample::syscall_mode_switches`].
//!
//! What the probe can NOT see, whatever the permissions: work done for the
//! transfer outside the sending thread — the sink thread, softirq network
//! processing on another CPU, kernel threads (writeback, readahead workers).
//! [`Sample::system_cpu`] (machine-wide busy time, from cpuidle residency or
//! /proc/stat) is the only place that work
//! shows, mixed with anything else the machine was doing.
//!
//! Nothing in this module prints.

mod block;
mod environment;
mod perf;
mod procfs;
mod profile;
mod residency;
mod rusage;
mod syscalls;

use std::io;
use std::marker::PhantomData;
use std::time::{Duration, Instant};

use serde::{Serialize, Serializer};

pub use block::{BlockDevice, DeviceWrites, filesystem_type, writeback_settings};
pub use environment::{Environment, environment};
pub use procfs::{IoDelta, SystemCpu, cpu_model, cpus_online, kernel_release, perf_event_paranoid};
pub use profile::{COPY_ROUTINES, PERIOD_NS, ThreadProfile, ThreadSampler, sum as sum_profiles};
pub use residency::{Residency, drop_from_cache, residency};
pub use rusage::{RusageDelta, ThreadCpu, ThreadCpuDelta, thread_cpu_time};
pub use syscalls::{TRACED_SYSCALLS, Tracefs, tracefs};

use perf::{PerfCounters, PerfDelta, PerfSnapshot};
use procfs::{IoReader, IoSnapshot};
use rusage::Rusage;
use syscalls::{SyscallCounters, SyscallDelta};

// --- Reading ----------------------------------------------------------------

/// A measured value, or why there is none. Serializes as the bare value, or as
/// `{"unavailable": "reason"}`; reporters show the latter as `n/a (reason)`.
#[derive(Clone, Debug, PartialEq)]
pub enum Reading<T> {
    Value(T),
    /// Why the value is missing, and what to change to get it.
    Unavailable(String),
}

impl<T> Reading<T> {
    pub fn unavailable(reason: impl Into<String>) -> Reading<T> {
        Reading::Unavailable(reason.into())
    }

    pub fn value(&self) -> Option<&T> {
        match self {
            Reading::Value(v) => Some(v),
            Reading::Unavailable(_) => None,
        }
    }

    pub fn into_value(self) -> Option<T> {
        match self {
            Reading::Value(v) => Some(v),
            Reading::Unavailable(_) => None,
        }
    }

    /// The reason, when unavailable.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Reading::Value(_) => None,
            Reading::Unavailable(why) => Some(why),
        }
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Reading<U> {
        match self {
            Reading::Value(v) => Reading::Value(f(v)),
            Reading::Unavailable(why) => Reading::Unavailable(why),
        }
    }

    pub fn as_ref(&self) -> Reading<&T> {
        match self {
            Reading::Value(v) => Reading::Value(v),
            Reading::Unavailable(why) => Reading::Unavailable(why.clone()),
        }
    }
}

impl<T: Serialize> Serialize for Reading<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            Reading::Value(v) => v.serialize(s),
            Reading::Unavailable(why) => {
                let mut map = s.serialize_map(Some(1))?;
                map.serialize_entry("unavailable", why)?;
                map.end()
            }
        }
    }
}

/// Durations serialize as integer nanoseconds (fields are suffixed `_ns`).
fn serde_ns<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

fn serde_reading_ns<S: Serializer>(r: &Reading<Duration>, s: S) -> Result<S::Ok, S::Error> {
    r.as_ref()
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .serialize(s)
}

fn serde_named<S: Serializer>(v: &[(&'static str, Reading<u64>)], s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(v.iter().map(|(k, r)| (k, r)))
}

// --- Probe ------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProbeOptions {
    /// `false` (`--no-counters`): no perf counters or tracepoints, only wall
    /// time, rusage, `/proc` io and `/proc/stat`, which are all read outside
    /// the timed region and so cannot disturb it.
    pub counters: bool,
    /// `false` (`--no-profile`): no CPU-clock sampling of the thread's call chains.
    pub profile: bool,
}

impl Default for ProbeOptions {
    fn default() -> Self {
        ProbeOptions {
            counters: true,
            profile: true,
        }
    }
}

/// What one bracket cost. See the module docs for what each source sees.
#[derive(Clone, Debug, Serialize)]
pub struct Sample {
    #[serde(rename = "wall_ns", serialize_with = "serde_ns")]
    pub wall: Duration,
    /// CPU time of the sending thread, user + kernel (perf `task-clock`).
    #[serde(rename = "task_clock_ns", serialize_with = "serde_reading_ns")]
    pub task_clock: Reading<Duration>,
    /// Scheduler switches of the sending thread (perf `context-switches`).
    /// Not user<->kernel mode switches: see [`Sample::syscall_mode_switches`].
    pub sched_switches: Reading<u64>,
    pub cpu_migrations: Reading<u64>,
    pub minor_faults: Reading<u64>,
    pub major_faults: Reading<u64>,
    pub cycles: Reading<u64>,
    pub instructions: Reading<u64>,
    pub cache_misses: Reading<u64>,
    /// Share of the bracket the hardware counters were really counting. Below
    /// 1.0 the PMU was time-shared and the hardware values are scaled estimates.
    pub hardware_running_fraction: Reading<f64>,
    /// Every syscall the sending thread entered during the bracket, counted at
    /// `raw_syscalls:sys_enter`. **Raw**: includes the probe's own calls, see
    /// [`Sample::probe_overhead_syscalls`] and [`Sample::transfer_syscalls`].
    pub syscalls: Reading<u64>,
    /// Per-syscall counts for [`TRACED_SYSCALLS`]. The probe's own calls
    /// (`ioctl`, and `clock_gettime` where there is no vDSO) are none of these,
    /// so these need no correction.
    #[serde(serialize_with = "serde_named")]
    pub syscalls_by_name: Vec<(&'static str, Reading<u64>)>,
    /// Syscalls the probe itself makes inside an *empty* bracket (the counter
    /// `ioctl`s), measured when the probe was opened: the floor of `syscalls`.
    pub probe_overhead_syscalls: Reading<u64>,
    /// Always available; the fallback for the perf software counters.
    pub rusage: RusageDelta,
    /// Bytes moved by the sending thread (`/proc/thread-self/io`), with the
    /// probe's own read of that file subtracted.
    pub io: Reading<IoDelta>,
    /// Busy CPU time of the whole machine (all CPUs) over the bracket: the only
    /// place softirq and kernel-thread work shows. 10 ms resolution.
    #[serde(rename = "system_cpu_ns", serialize_with = "serde_reading_ns")]
    pub system_cpu: Reading<Duration>,
    /// Where the sending thread's CPU time went, sampled (see `profile.rs`): how many
    /// samples landed in the kernel's copy routines, and the top functions.
    pub kernel_profile: Reading<ThreadProfile>,
}

impl Sample {
    /// Syscalls of the transfer itself: `syscalls - probe_overhead_syscalls`.
    pub fn transfer_syscalls(&self) -> Reading<u64> {
        match (&self.syscalls, &self.probe_overhead_syscalls) {
            (Reading::Value(all), Reading::Value(probe)) => {
                Reading::Value(all.saturating_sub(*probe))
            }
            (Reading::Unavailable(why), _) => Reading::Unavailable(why.clone()),
            (_, Reading::Unavailable(why)) => Reading::Unavailable(format!(
                "the probe's own syscall overhead is unknown: {why}"
            )),
        }
    }

    /// User<->kernel mode switches caused by syscalls: two per syscall (in and
    /// out) of [`Sample::transfer_syscalls`]. A lower bound: page faults and
    /// interrupts also enter the kernel and are not counted here.
    pub fn syscall_mode_switches(&self) -> Reading<u64> {
        self.transfer_syscalls().map(|n| n.saturating_mul(2))
    }
}

impl Sample {
    /// The samples of several sending threads that ran at once, as one: every per-thread
    /// count (CPU time, syscalls, faults, bytes read from storage, ...) is **summed**, so
    /// a figure per GiB stays honest for the work of all of them. Two things are not
    /// per thread and come from the caller: `wall`, the span from the first thread's
    /// start to the last one's end, and `system_cpu`, the machine's busy time over that
    /// span (summing each thread's machine-wide figure would count the machine N times).
    /// `first` alone comes back unchanged.
    pub fn sum_of_threads(
        first: Sample,
        others: Vec<Sample>,
        wall: Duration,
        system_cpu: Reading<Duration>,
    ) -> Sample {
        let mut total = first;
        let many = !others.is_empty();
        for p in others {
            total.task_clock = add(total.task_clock, p.task_clock);
            total.sched_switches = add(total.sched_switches, p.sched_switches);
            total.cpu_migrations = add(total.cpu_migrations, p.cpu_migrations);
            total.minor_faults = add(total.minor_faults, p.minor_faults);
            total.major_faults = add(total.major_faults, p.major_faults);
            total.cycles = add(total.cycles, p.cycles);
            total.instructions = add(total.instructions, p.instructions);
            total.cache_misses = add(total.cache_misses, p.cache_misses);
            // The least-counted thread bounds how much of the total is an estimate.
            total.hardware_running_fraction =
                match (total.hardware_running_fraction, p.hardware_running_fraction) {
                    (Reading::Value(a), Reading::Value(b)) => Reading::Value(a.min(b)),
                    (Reading::Unavailable(why), _) | (_, Reading::Unavailable(why)) => {
                        Reading::Unavailable(why)
                    }
                };
            total.syscalls = add(total.syscalls, p.syscalls);
            for (slot, (name, n)) in total.syscalls_by_name.iter_mut().zip(p.syscalls_by_name) {
                debug_assert_eq!(slot.0, name, "every probe traces the same syscalls");
                slot.1 = add(slot.1.clone(), n);
            }
            // Each thread's raw count includes its own probe's calls: subtract them all.
            total.probe_overhead_syscalls =
                add(total.probe_overhead_syscalls, p.probe_overhead_syscalls);
            total.rusage = total.rusage.plus(&p.rusage);
            total.kernel_profile = match (total.kernel_profile, p.kernel_profile) {
                (Reading::Value(mut a), Reading::Value(b)) => {
                    a.merge(&b);
                    Reading::Value(a)
                }
                (Reading::Unavailable(why), _) | (_, Reading::Unavailable(why)) => {
                    Reading::Unavailable(why)
                }
            };
            total.io = match (total.io, p.io) {
                (Reading::Value(a), Reading::Value(b)) => Reading::Value(a.plus(&b)),
                (Reading::Unavailable(why), _) | (_, Reading::Unavailable(why)) => {
                    Reading::Unavailable(why)
                }
            };
        }
        if many {
            total.wall = wall;
            total.system_cpu = system_cpu;
        }
        total
    }
}

/// The sum of two readings; unavailable if either is (a partial sum would look whole).
fn add<T: std::ops::Add<Output = T>>(a: Reading<T>, b: Reading<T>) -> Reading<T> {
    match (a, b) {
        (Reading::Value(a), Reading::Value(b)) => Reading::Value(a + b),
        (Reading::Unavailable(why), _) | (_, Reading::Unavailable(why)) => {
            Reading::Unavailable(why)
        }
    }
}

/// Counters opened for the thread that called [`Probe::open`].
///
/// The probe is `!Send` on purpose: perf counters (`pid = 0`) and
/// `/proc/thread-self/io` are bound to the thread that opened them, so a probe
/// moved to another thread would silently measure the wrong one. Open it in the
/// thread that sends.
pub struct Probe {
    perf: Reading<PerfCounters>,
    syscalls: Reading<SyscallCounters>,
    sampler: Reading<ThreadSampler>,
    io: Reading<IoReader>,
    system_cpu: Reading<()>,
    overhead: Reading<u64>,
    running: Option<Running>,
    _bound_to_this_thread: PhantomData<*const ()>,
}

struct Running {
    started: Instant,
    rusage: Rusage,
    io: Reading<IoSnapshot>,
    system: Reading<SystemCpu>,
    perf: Option<PerfSnapshot>,
    syscalls: Option<perf::GroupSnapshot>,
}

const OFF: &str = "counters turned off (--no-counters)";
const NO_PROFILE: &str = "sampling turned off (--no-profile)";

/// How many empty brackets measure the probe's overhead (the minimum is kept:
/// the probe's own calls are fixed, anything above is noise such as a signal).
const OVERHEAD_BRACKETS: usize = 3;

impl Probe {
    /// Opens every source for the calling thread. Never fails as a whole: each
    /// part that cannot work becomes a [`Reading::Unavailable`] with its reason.
    pub fn open(opts: &ProbeOptions) -> Probe {
        let paranoid = perf_event_paranoid().into_value();
        let (perf, syscalls) = if opts.counters {
            (
                Reading::Value(PerfCounters::open(paranoid)),
                Reading::Value(SyscallCounters::open(paranoid)),
            )
        } else {
            (Reading::unavailable(OFF), Reading::unavailable(OFF))
        };
        let sampler = if opts.profile {
            ThreadSampler::open(paranoid)
        } else {
            Reading::unavailable(NO_PROFILE)
        };
        let system_cpu = match SystemCpu::now() {
            Ok(_) => Reading::Value(()),
            Err(e) => Reading::Unavailable(format!("cannot read the CPU idle counters: {e}")),
        };
        let mut probe = Probe {
            perf,
            syscalls,
            sampler,
            io: IoReader::open(),
            system_cpu,
            overhead: Reading::unavailable("not measured yet"),
            running: None,
            _bound_to_this_thread: PhantomData,
        };
        probe.overhead = probe.measure_overhead();
        probe
    }

    fn measure_overhead(&mut self) -> Reading<u64> {
        let mut least: Option<u64> = None;
        for _ in 0..OVERHEAD_BRACKETS {
            let sample = match self.start().and_then(|()| self.stop()) {
                Ok(sample) => sample,
                Err(e) => return Reading::Unavailable(format!("empty bracket failed: {e}")),
            };
            match sample.syscalls {
                Reading::Value(n) => least = Some(least.map_or(n, |l| l.min(n))),
                Reading::Unavailable(why) => return Reading::Unavailable(why),
            }
        }
        least.map_or_else(
            || Reading::unavailable("no empty bracket ran"),
            Reading::Value,
        )
    }

    /// Which sources work, by name, and why the others do not: for warnings and
    /// provenance. (`Reading<()>` serializes as `null` when available.)
    pub fn availability(&self) -> Vec<(&'static str, Reading<()>)> {
        let mut all = match &self.perf {
            Reading::Value(p) => p.availability(),
            Reading::Unavailable(why) => perf::counter_names()
                .map(|n| (n, Reading::Unavailable(why.clone())))
                .collect(),
        };
        match &self.syscalls {
            Reading::Value(s) => all.extend(s.availability()),
            Reading::Unavailable(why) => all
                .extend(syscalls::counter_names().map(|n| (n, Reading::Unavailable(why.clone())))),
        }
        all.push(("cpu_clock_sampling", self.sampler.as_ref().map(|_| ())));
        all.push(("proc_io", self.io.as_ref().map(|_| ())));
        all.push(("system_cpu", self.system_cpu.clone()));
        all
    }

    /// Syscalls the probe itself makes in an empty bracket (see [`Sample`]).
    pub fn overhead_syscalls(&self) -> &Reading<u64> {
        &self.overhead
    }

    /// Starts a bracket. The order is deliberate: files under `/proc` are read
    /// and counter baselines taken *before* the counters are enabled, and the
    /// syscall tracepoints are enabled last, so the probe's own work stays
    /// outside what is counted, except the `ioctl`s that switch counting on and off.
    pub fn start(&mut self) -> io::Result<()> {
        if self.running.is_some() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "Probe::start called twice without stop",
            ));
        }
        let system = self.read_system_cpu();
        let perf = match &mut self.perf {
            Reading::Value(p) => Some(p.snapshot()?),
            Reading::Unavailable(_) => None,
        };
        let syscalls = match &mut self.syscalls {
            Reading::Value(s) => Some(s.snapshot()?),
            Reading::Unavailable(_) => None,
        };
        // rusage right next to the bracket: it is the fallback CPU figure, so it must
        // not include the reads above.
        let rusage = Rusage::now()?;
        // Last file read before the bracket: its own read is subtracted exactly.
        let io = self.read_io();
        if let Reading::Value(p) = &mut self.perf {
            p.enable()?;
        }
        if let Reading::Value(s) = &mut self.sampler {
            s.enable()?;
        }
        if let Reading::Value(s) = &mut self.syscalls {
            s.enable()?;
        }
        self.running = Some(Running {
            started: Instant::now(),
            rusage,
            io,
            system,
            perf,
            syscalls,
        });
        Ok(())
    }

    /// Ends the bracket and returns what it cost. The mirror image of
    /// [`Probe::start`]: counters off first, then the `/proc` reads.
    pub fn stop(&mut self) -> io::Result<Sample> {
        let wall_end = Instant::now();
        let run = self.running.take().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "Probe::stop called without start",
            )
        })?;
        if let Reading::Value(s) = &mut self.syscalls {
            s.disable()?;
        }
        if let Reading::Value(s) = &mut self.sampler {
            s.disable()?;
        }
        if let Reading::Value(p) = &mut self.perf {
            p.disable()?;
        }
        let wall = wall_end.duration_since(run.started);
        let rusage = Rusage::now()?.since(&run.rusage);
        let io_end = self.read_io();
        let system_end = self.read_system_cpu();

        let perf = match (&mut self.perf, &run.perf) {
            (Reading::Value(p), Some(start)) => {
                let end = p.snapshot()?;
                p.delta(start, &end)
            }
            (Reading::Unavailable(why), _) => PerfDelta::unavailable(why),
            (Reading::Value(_), None) => PerfDelta::unavailable("no baseline"),
        };
        let sys = match (&mut self.syscalls, &run.syscalls) {
            (Reading::Value(s), Some(start)) => {
                let end = s.snapshot()?;
                s.delta(start, &end)
            }
            (Reading::Unavailable(why), _) => SyscallDelta::unavailable(why),
            (Reading::Value(_), None) => SyscallDelta::unavailable("no baseline"),
        };
        let io = match (io_end, run.io) {
            (Reading::Value(end), Reading::Value(start)) => Reading::Value(end.since(&start)),
            (Reading::Unavailable(why), _) | (_, Reading::Unavailable(why)) => {
                Reading::Unavailable(why)
            }
        };
        let system_cpu = match (system_end, run.system) {
            (Reading::Value(end), Reading::Value(start)) => end
                .since(&start)
                .map_or_else(Reading::Unavailable, Reading::Value),
            (Reading::Unavailable(why), _) | (_, Reading::Unavailable(why)) => {
                Reading::Unavailable(why)
            }
        };
        let kernel_profile = match &mut self.sampler {
            Reading::Value(s) => Reading::Value(s.drain()),
            Reading::Unavailable(why) => Reading::Unavailable(why.clone()),
        };
        Ok(Sample {
            wall,
            task_clock: perf.task_clock,
            sched_switches: perf.sched_switches,
            cpu_migrations: perf.cpu_migrations,
            minor_faults: perf.minor_faults,
            major_faults: perf.major_faults,
            cycles: perf.cycles,
            instructions: perf.instructions,
            cache_misses: perf.cache_misses,
            hardware_running_fraction: perf.hardware_running_fraction,
            syscalls: sys.total,
            syscalls_by_name: sys.by_name,
            probe_overhead_syscalls: self.overhead.clone(),
            rusage,
            io,
            system_cpu,
            kernel_profile,
        })
    }

    fn read_io(&self) -> Reading<IoSnapshot> {
        match &self.io {
            Reading::Value(reader) => reader.snapshot().map_or_else(
                |e| Reading::Unavailable(format!("cannot read /proc/thread-self/io: {e}")),
                Reading::Value,
            ),
            Reading::Unavailable(why) => Reading::Unavailable(why.clone()),
        }
    }

    fn read_system_cpu(&self) -> Reading<SystemCpu> {
        match &self.system_cpu {
            Reading::Value(()) => SystemCpu::now().map_or_else(
                |e| Reading::Unavailable(format!("cannot read the CPU idle counters: {e}")),
                Reading::Value,
            ),
            Reading::Unavailable(why) => Reading::Unavailable(why.clone()),
        }
    }
}

#[cfg(test)]
mod tests;
