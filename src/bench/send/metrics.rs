//! `zc bench`'s figures: every metric of a row, derived from its [`RunRecord`]s.
//!
//! Counts are normalised per GiB sent so that rows with different fixture sizes or chunk
//! sizes compare directly. Each metric names its source; where a preferred kernel counter
//! is unavailable and an honest fallback exists (getrusage, the program's own count), the
//! fallback is used, the source says so and the metric's typed `fallback` says which.
//! Where none exists, the metric stays unavailable with the reason.

use super::results::{RunRecord, keys};
use crate::bench::metrics::{
    SCHED_SWITCHES_FALLBACK, Spec, all_have, build, sched_switches, unless,
};
use crate::bench::results::{Fallback, Metric};
use crate::measure::{Reading, Sample, ThreadProfile};

const GIB: f64 = (1u64 << 30) as f64;

/// The metrics of one row, in the order reporters expect.
pub fn metrics(runs: &[RunRecord]) -> Vec<Metric> {
    build(runs, specs(runs))
}

fn gib(run: &RunRecord) -> f64 {
    run.bytes as f64 / GIB
}

/// The size of the log: a run delivers it once to each consumer.
fn log_bytes(run: &RunRecord) -> f64 {
    run.bytes as f64 / f64::from(run.consumers.max(1))
}

/// Sampled CPU seconds in the kernel's copy routines, per GiB sent.
fn copy_per_gib(profile: &Reading<ThreadProfile>, run: &RunRecord) -> Reading<f64> {
    profile.as_ref().map(|p| p.copy_s() / gib(run))
}

/// Share of the sampled thread's CPU spent in the kernel's copy routines.
fn copy_share(profile: &Reading<ThreadProfile>) -> Reading<f64> {
    match profile {
        Reading::Value(p) => p.copy_share().map_or_else(
            || Reading::unavailable("no CPU-clock sample landed in this thread (run too short)"),
            Reading::Value,
        ),
        Reading::Unavailable(why) => Reading::Unavailable(why.clone()),
    }
}

fn per_gib(value: Reading<u64>, run: &RunRecord) -> Reading<f64> {
    value.map(|v| v as f64 / gib(run))
}

fn specs(runs: &[RunRecord]) -> Vec<Spec<RunRecord>> {
    let kernel_syscalls = all_have(runs, |r| r.sample.transfer_syscalls());
    let perf_clock = all_have(runs, |r| r.sample.task_clock.clone());
    let perf_sched = all_have(runs, |r| r.sample.sched_switches.clone());
    let perf_faults = all_have(runs, |r| r.sample.minor_faults.clone());

    let syscalls_source = if kernel_syscalls {
        "tracepoint raw_syscalls:sys_enter (kernel-counted)"
    } else {
        "self-counted by zc (kernel tracepoints unavailable)"
    };
    let syscalls = move |r: &RunRecord| -> Reading<u64> {
        if kernel_syscalls {
            r.sample.transfer_syscalls()
        } else {
            Reading::Value(r.tally.syscalls.total())
        }
    };

    // With several consumers every per-thread figure is the sum over the sender threads.
    let consumers = runs.first().map_or(1, |r| r.consumers);
    let senders = if consumers > 1 {
        format!("the {consumers} sender threads, summed")
    } else {
        "the sender".to_owned()
    };

    vec![
        Spec {
            key: keys::THROUGHPUT,
            label: "GiB/s",
            unit: "GiB/s",
            fallback: None,
            source: if consumers > 1 {
                format!("bytes acknowledged by all {consumers} sinks / wall time from the first sender's first call to the last sink's trailer")
            } else {
                "bytes acknowledged by the sink / wall time from first call to sink's trailer".into()
            },
            per_run: Box::new(|r| Reading::Value(gib(r) / r.sample.wall.as_secs_f64())),
        },
        Spec {
            key: keys::SENDER_CPU_PER_GIB,
            label: "sender CPU s/GiB",
            unit: "s/GiB",
            fallback: unless(perf_clock, Fallback::Rusage),
            source: if perf_clock {
                format!("perf task-clock of {senders}, user + kernel")
            } else {
                format!("getrusage(RUSAGE_THREAD) user + system of {senders} (perf task-clock unavailable)")
            },
            per_run: Box::new(move |r| {
                let cpu = if perf_clock {
                    r.sample.task_clock.clone()
                } else {
                    Reading::Value(r.sample.rusage.user_cpu + r.sample.rusage.system_cpu)
                };
                cpu.map(|d| d.as_secs_f64() / gib(r))
            }),
        },
        Spec {
            key: keys::SINK_CPU_PER_GIB,
            label: "sink CPU s/GiB",
            unit: "s/GiB",
            fallback: None,
            source: if consumers > 1 {
                format!("CLOCK_THREAD_CPUTIME_ID of the {consumers} in-process sink threads, summed")
            } else {
                "CLOCK_THREAD_CPUTIME_ID of the in-process sink thread".into()
            },
            per_run: Box::new(|r| match r.sink_cpu_ns {
                Some(ns) => Reading::Value(ns as f64 / 1e9 / gib(r)),
                None => Reading::unavailable(
                    "the sink runs in another process (--connect): measure it on its side",
                ),
            }),
        },
        Spec {
            key: keys::SYSTEM_CPU_PER_GIB,
            label: "system CPU s/GiB",
            unit: "s/GiB",
            fallback: None,
            source: "busy time of all CPUs: cpuidle residency, else /proc/stat (includes softirq network work and anything else running)".into(),
            per_run: Box::new(|r| r.sample.system_cpu.clone().map(|d| d.as_secs_f64() / gib(r))),
        },
        Spec {
            key: keys::SYSCALLS_PER_GIB,
            label: "syscalls/GiB",
            unit: "1/GiB",
            fallback: None,
            source: "tracepoint raw_syscalls:sys_enter, minus the probe's own".into(),
            per_run: Box::new(|r| per_gib(r.sample.transfer_syscalls(), r)),
        },
        Spec {
            key: keys::SYSCALLS_SELF_PER_GIB,
            label: "syscalls/GiB (self-counted)",
            unit: "1/GiB",
            fallback: None,
            source: "self-counted by zc's transfer loop (excludes the end-of-transfer shutdown and trailer read)".into(),
            per_run: Box::new(|r| per_gib(Reading::Value(r.tally.syscalls.total()), r)),
        },
        Spec {
            key: keys::MODE_SWITCHES_PER_GIB,
            label: "mode switches/GiB",
            unit: "1/GiB",
            fallback: unless(kernel_syscalls, Fallback::OwnCount),
            source: format!("2 per syscall; syscalls {syscalls_source}"),
            per_run: Box::new(move |r| per_gib(syscalls(r).map(|n| 2 * n), r)),
        },
        Spec {
            key: keys::MODE_SWITCHES_PER_CHUNK,
            label: "mode switches/chunk",
            unit: "1/chunk",
            fallback: unless(kernel_syscalls, Fallback::OwnCount),
            source: format!(
                "2 per syscall made per chunk (syscalls {syscalls_source}, less the once-per-transfer \
                 calls: mmap/madvise/munmap/fstat, pipe set-up, the closing shutdown and trailer read) \
                 / chunks sent"
            ),
            per_run: Box::new(move |r| {
                let once = once_per_transfer(r, kernel_syscalls);
                syscalls(r).map(|n| 2.0 * n.saturating_sub(once) as f64 / r.chunks.max(1) as f64)
            }),
        },
        Spec {
            key: keys::USER_COPIED_PER_BYTE,
            label: "user-space copies/byte (zc's own accounting)",
            unit: "bytes/byte",
            fallback: None,
            source: "zc's own accounting: the return values of its calls that touched user buffers (not observed in the kernel: see the sampled copy time)".into(),
            per_run: Box::new(|r| Reading::Value(r.tally.user_copied_bytes as f64 / r.bytes as f64)),
        },
        Spec {
            key: keys::SENDER_COPY_CPU_PER_GIB,
            label: "sender kernel copy CPU s/GiB (sampled)",
            unit: "s/GiB",
            fallback: None,
            source: format!("cpu-clock samples of {senders} whose kernel call chain is in a copy routine, x the sampling period"),
            per_run: Box::new(|r| copy_per_gib(&r.sample.kernel_profile, r)),
        },
        Spec {
            key: keys::SENDER_COPY_SHARE,
            label: "sender CPU spent in kernel copies (sampled)",
            unit: "share",
            fallback: None,
            source: format!("cpu-clock samples of {senders} in a copy routine / all its samples"),
            per_run: Box::new(|r| copy_share(&r.sample.kernel_profile)),
        },
        Spec {
            key: keys::SINK_COPY_CPU_PER_GIB,
            label: "sink kernel copy CPU s/GiB (sampled)",
            unit: "s/GiB",
            fallback: None,
            source: "cpu-clock samples of the in-process sink thread(s) in a copy routine, x the sampling period".into(),
            per_run: Box::new(|r| copy_per_gib(&r.sink_profile, r)),
        },
        Spec {
            key: keys::SINK_COPY_SHARE,
            label: "sink CPU spent in kernel copies (sampled)",
            unit: "share",
            fallback: None,
            source: "cpu-clock samples of the in-process sink thread(s) in a copy routine / all their samples".into(),
            per_run: Box::new(|r| copy_share(&r.sink_profile)),
        },
        Spec {
            key: keys::ZEROCOPY_COPIED_PER_BYTE,
            label: "copied after all (MSG_ZEROCOPY)/byte",
            unit: "bytes/byte",
            fallback: None,
            source: "the kernel's MSG_ZEROCOPY completions flagged SO_EE_CODE_ZEROCOPY_COPIED, in \
                     bytes, / bytes sent"
                .into(),
            per_run: Box::new(|r| match r.tally.zerocopy {
                Some(z) => Reading::Value(z.copied_bytes as f64 / r.bytes as f64),
                None => Reading::unavailable(
                    "only msg-zerocopy's completions say whether the kernel copied",
                ),
            }),
        },
        Spec {
            key: keys::SCHED_SWITCHES_PER_GIB,
            label: "scheduler switches/GiB",
            unit: "1/GiB",
            fallback: unless(perf_sched, Fallback::Rusage),
            source: if perf_sched {
                "perf context-switches (scheduler, not mode switches), kernel included".into()
            } else {
                SCHED_SWITCHES_FALLBACK.into()
            },
            per_run: Box::new(move |r| per_gib(sched_switches(&r.sample, perf_sched), r)),
        },
        Spec {
            key: keys::CPU_MIGRATIONS,
            label: "CPU migrations",
            unit: "per run",
            fallback: None,
            source: "perf cpu-migrations".into(),
            per_run: Box::new(|r| r.sample.cpu_migrations.clone().map(|n| n as f64)),
        },
        faults(
            keys::MINOR_FAULTS_PER_GIB,
            "minor faults/GiB",
            perf_faults,
            |s| (s.minor_faults.clone(), s.rusage.minor_faults),
        ),
        faults(
            keys::MAJOR_FAULTS_PER_GIB,
            "major faults/GiB",
            perf_faults,
            |s| (s.major_faults.clone(), s.rusage.major_faults),
        ),
        Spec {
            key: keys::STORAGE_READ_BYTES,
            label: "read from storage",
            unit: "bytes",
            fallback: None,
            source: format!("/proc/thread-self/io read_bytes of {senders}"),
            per_run: Box::new(|r| r.sample.io.clone().map(|io| io.read_bytes as f64)),
        },
        Spec {
            key: keys::STORAGE_READ_LOGS,
            label: "read from storage, in log sizes",
            unit: "logs",
            fallback: None,
            source: format!(
                "/proc/thread-self/io read_bytes of {senders} / the log's size: about 1 with \
                 a cold cache however many consumers share the page cache, about 0 warm"
            ),
            per_run: Box::new(|r| {
                r.sample
                    .io
                    .clone()
                    .map(|io| io.read_bytes as f64 / log_bytes(r))
            }),
        },
        Spec {
            key: keys::USER_COPIED_LOGS,
            label: "copied through user space, in log sizes",
            unit: "logs",
            fallback: None,
            source: format!(
                "self-counted from the return values of calls that touched user buffers, \
                 {senders}, / the log's size"
            ),
            per_run: Box::new(|r| Reading::Value(r.tally.user_copied_bytes as f64 / log_bytes(r))),
        },
        Spec {
            key: keys::CYCLES_PER_GIB,
            label: "cycles/GiB",
            unit: "1/GiB",
            fallback: None,
            source: "perf cycles, user + kernel".into(),
            per_run: Box::new(|r| per_gib(r.sample.cycles.clone(), r)),
        },
        Spec {
            key: keys::INSTRUCTIONS_PER_GIB,
            label: "instructions/GiB",
            unit: "1/GiB",
            fallback: None,
            source: "perf instructions, user + kernel".into(),
            per_run: Box::new(|r| per_gib(r.sample.instructions.clone(), r)),
        },
        Spec {
            key: keys::CACHE_MISSES_PER_GIB,
            label: "cache misses/GiB",
            unit: "1/GiB",
            fallback: None,
            source: "perf cache-misses, user + kernel".into(),
            per_run: Box::new(|r| per_gib(r.sample.cache_misses.clone(), r)),
        },
        Spec {
            key: keys::RESIDENCY_BEFORE,
            label: "page-cache residency before",
            unit: "fraction",
            fallback: None,
            source: "mincore over every segment right before the run".into(),
            per_run: Box::new(|r| r.residency_before.clone()),
        },
    ]
}

/// Calls a run makes once rather than per chunk, in the count `kernel` says is used: the
/// set-up calls zc counts itself, plus (kernel count only) the `shutdown` and the trailer
/// `read` that end every transfer.
fn once_per_transfer(r: &RunRecord, kernel: bool) -> u64 {
    let s = &r.tally.syscalls;
    let setup = s.mmap + s.madvise + s.munmap + s.fstat + s.pipe2 + s.fcntl;
    if kernel { setup + 2 } else { setup }
}

fn faults_source(perf: bool) -> String {
    if perf {
        "perf page-faults (minor/major), kernel included".into()
    } else {
        "getrusage minflt/majflt (perf page-faults unavailable)".into()
    }
}

/// Minor or major faults per GiB: perf's count when the row has it (`perf`), else
/// getrusage's. `pick` gives a run's (perf, getrusage) count.
fn faults(
    key: &'static str,
    label: &'static str,
    perf: bool,
    pick: fn(&Sample) -> (Reading<u64>, u64),
) -> Spec<RunRecord> {
    Spec {
        key,
        label,
        unit: "1/GiB",
        fallback: unless(perf, Fallback::Rusage),
        source: faults_source(perf),
        per_run: Box::new(move |r| {
            let (counted, rusage) = pick(&r.sample);
            per_gib(
                if perf {
                    counted
                } else {
                    Reading::Value(rusage)
                },
                r,
            )
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::results::Fallback;
    use crate::measure::{Probe, ProbeOptions};
    use crate::transfer::Tally;

    /// A run measured by a real probe with its counters off (`--no-counters`), as on a
    /// machine that refuses perf: every perf figure must come from its stand-in and say
    /// so in its typed `fallback`, which the reports mark; none other may.
    #[test]
    fn a_probe_without_counters_marks_exactly_the_stand_ins() {
        let mut probe = Probe::open(&ProbeOptions {
            counters: false,
            profile: false,
        });
        probe.start().expect("start");
        let sample = probe.stop().expect("stop");
        let run = RunRecord {
            run: 0,
            consumers: 1,
            bytes: 1 << 20,
            chunks: 16,
            sample,
            tally: Tally::default(),
            sink_cpu_ns: Some(1_000),
            sink_profile: Reading::unavailable("sampling turned off (--no-profile)"),
            residency_before: Reading::Value(1.0),
            sender_cpu: None,
            sink_cpu_id: None,
        };
        let metrics = metrics(&[run]);
        let fallback = |key: &str| {
            metrics
                .iter()
                .find(|m| m.key == key)
                .unwrap_or_else(|| panic!("no {key}"))
                .fallback
        };
        for key in [
            keys::SENDER_CPU_PER_GIB,
            keys::SCHED_SWITCHES_PER_GIB,
            keys::MINOR_FAULTS_PER_GIB,
            keys::MAJOR_FAULTS_PER_GIB,
        ] {
            assert_eq!(fallback(key), Some(Fallback::Rusage), "{key}");
        }
        for key in [keys::MODE_SWITCHES_PER_GIB, keys::MODE_SWITCHES_PER_CHUNK] {
            assert_eq!(fallback(key), Some(Fallback::OwnCount), "{key}");
        }
        // Self-counted by design (no kernel counter exists for them): no fallback.
        for key in [
            keys::SYSCALLS_SELF_PER_GIB,
            keys::USER_COPIED_PER_BYTE,
            keys::USER_COPIED_LOGS,
            keys::THROUGHPUT,
        ] {
            assert_eq!(fallback(key), None, "{key}");
        }
        // Only the stand-ins: no other metric claims to be one.
        assert_eq!(metrics.iter().filter(|m| m.fallback.is_some()).count(), 6);
        assert_eq!(Fallback::Rusage.mark(), "(rusage)");
        assert_eq!(Fallback::OwnCount.mark(), "(own count)");
    }
}
