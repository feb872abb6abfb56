//! From write runs to figures, the same way `zc bench` does it (`bench::metrics`): each
//! metric names its source, a fallback says it is one, and a figure that cannot be had
//! stays unavailable with the reason.
//!
//! Rates are per byte or per record *actually written*, so a run that stopped at
//! `--max-seconds` compares with one that wrote everything. Counts are per 1,000 records:
//! the claim is about records per write, and 1,000 records make the per-batch model easy
//! to read (batch 256: 3.9 writes; one write per record: 1,000).

use super::results::{WriteRun, keys};
use crate::bench::metrics::{
    SCHED_SWITCHES_FALLBACK, Spec, all_have, build, sched_switches, unless,
};
use crate::bench::results::{Fallback, Metric};
use crate::measure::Reading;

const MIB: f64 = (1u64 << 20) as f64;
const GIB: f64 = (1u64 << 30) as f64;

/// The metrics of one row, in the order the reporters show them. `no_storage` is why
/// nothing under `--dir` can be charged for writes ([`super::WriteSetup::no_storage`]).
pub(super) fn metrics(runs: &[WriteRun], no_storage: Option<&str>) -> Vec<Metric> {
    build(runs, specs(runs, no_storage))
}

fn per_krec(n: Reading<u64>, r: &WriteRun) -> Reading<f64> {
    n.map(|n| n as f64 * 1000.0 / r.records.max(1) as f64)
}

fn per_byte(n: Reading<u64>, r: &WriteRun) -> Reading<f64> {
    n.map(|n| n as f64 / r.bytes.max(1) as f64)
}

/// The kernel's count of one traced syscall in a run.
fn traced(r: &WriteRun, name: &str) -> Reading<u64> {
    r.sample
        .syscalls_by_name
        .iter()
        .find(|(n, _)| *n == name)
        .map_or_else(
            || Reading::unavailable(format!("{name} is not traced")),
            |(_, reading)| reading.clone(),
        )
}

fn kernel_fsyncs(r: &WriteRun) -> Reading<u64> {
    match (traced(r, "fdatasync"), traced(r, "fsync")) {
        (Reading::Value(a), Reading::Value(b)) => Reading::Value(a + b),
        (Reading::Unavailable(why), _) | (_, Reading::Unavailable(why)) => {
            Reading::Unavailable(why)
        }
    }
}

fn specs(runs: &[WriteRun], no_storage: Option<&str>) -> Vec<Spec<WriteRun>> {
    let no_storage = no_storage.map(str::to_owned);
    let perf_clock = all_have(runs, |r: &WriteRun| r.sample.task_clock.clone());
    let perf_sched = all_have(runs, |r: &WriteRun| r.sample.sched_switches.clone());
    let kernel_fsync = all_have(runs, kernel_fsyncs);
    vec![
        Spec {
            key: keys::MIB_PER_S,
            label: "MiB/s",
            unit: "MiB/s",
            fallback: None,
            source: "log bytes written / wall time of the loop of appends".into(),
            per_run: Box::new(|r| {
                Reading::Value(r.bytes as f64 / MIB / r.sample.wall.as_secs_f64())
            }),
        },
        Spec {
            key: keys::RECORDS_PER_S,
            label: "records/s",
            unit: "1/s",
            fallback: None,
            source: "records written / wall time of the loop of appends".into(),
            per_run: Box::new(|r| Reading::Value(r.records as f64 / r.sample.wall.as_secs_f64())),
        },
        Spec {
            key: keys::DURABLE_MIB_PER_S,
            label: "MiB/s incl. final flush",
            unit: "MiB/s",
            fallback: None,
            source: "log bytes / (loop + the fdatasync right after it): the rate at which \
                     the bytes became durable"
                .into(),
            per_run: Box::new(|r| {
                let secs = r.sample.wall.as_secs_f64() + r.flush_after_ns as f64 / 1e9;
                Reading::Value(r.bytes as f64 / MIB / secs)
            }),
        },
        Spec {
            key: keys::CPU_PER_GIB,
            label: "CPU s/GiB",
            unit: "s/GiB",
            fallback: unless(perf_clock, Fallback::Rusage),
            source: if perf_clock {
                "perf task-clock of the writing thread, user + kernel".into()
            } else {
                "getrusage(RUSAGE_THREAD) user + system (perf task-clock unavailable)".into()
            },
            per_run: Box::new(move |r| {
                let cpu = if perf_clock {
                    r.sample.task_clock.clone()
                } else {
                    Reading::Value(r.sample.rusage.user_cpu + r.sample.rusage.system_cpu)
                };
                cpu.map(|d| d.as_secs_f64() / (r.bytes as f64 / GIB))
            }),
        },
        Spec {
            key: keys::SYSTEM_CPU_PER_GIB,
            label: "system CPU s/GiB",
            unit: "s/GiB",
            fallback: None,
            source: "busy time of all CPUs over the loop (includes kernel writeback and \
                     journal threads, and anything else running)"
                .into(),
            per_run: Box::new(|r| {
                r.sample
                    .system_cpu
                    .clone()
                    .map(|d| d.as_secs_f64() / (r.bytes as f64 / GIB))
            }),
        },
        Spec {
            key: keys::SYSCALLS_PER_KREC,
            label: "syscalls/1k records",
            unit: "1/1000 records",
            fallback: None,
            source: "tracepoint raw_syscalls:sys_enter over the loop, minus the probe's own".into(),
            per_run: Box::new(|r| per_krec(r.sample.transfer_syscalls(), r)),
        },
        Spec {
            key: keys::SYSCALLS_SELF_PER_KREC,
            label: "syscalls/1k records (self-counted)",
            unit: "1/1000 records",
            fallback: None,
            source: "self-counted by zc: positional writes + fdatasyncs it issued".into(),
            per_run: Box::new(|r| per_krec(Reading::Value(r.writes_self + r.fsyncs_self), r)),
        },
        Spec {
            key: keys::WRITES_PER_KREC,
            label: "pwrite64/1k records",
            unit: "1/1000 records",
            fallback: None,
            source: "tracepoint syscalls:sys_enter_pwrite64".into(),
            per_run: Box::new(|r| per_krec(traced(r, "pwrite64"), r)),
        },
        Spec {
            key: keys::FSYNCS_PER_KREC,
            label: "fsyncs/1k records",
            unit: "1/1000 records",
            fallback: unless(kernel_fsync, Fallback::OwnCount),
            source: if kernel_fsync {
                "tracepoints sys_enter_fdatasync + sys_enter_fsync".into()
            } else {
                "self-counted by zc (kernel tracepoints unavailable)".into()
            },
            per_run: Box::new(move |r| {
                let n = if kernel_fsync {
                    kernel_fsyncs(r)
                } else {
                    Reading::Value(r.fsyncs_self)
                };
                per_krec(n, r)
            }),
        },
        Spec {
            key: keys::SCHED_SWITCHES_PER_KREC,
            label: "sched switches/1k records",
            unit: "1/1000 records",
            fallback: unless(perf_sched, Fallback::Rusage),
            source: if perf_sched {
                "perf context-switches (the thread gave up the CPU, e.g. to wait for the \
                 device)"
                    .into()
            } else {
                SCHED_SWITCHES_FALLBACK.into()
            },
            per_run: Box::new(move |r| per_krec(sched_switches(&r.sample, perf_sched), r)),
        },
        Spec {
            key: keys::DIRTIED_PER_BYTE,
            label: "write_bytes / byte",
            unit: "B/B",
            fallback: None,
            source: "/proc/thread-self/io write_bytes of the writing thread / log bytes: \
                     charged when a page is dirtied, in whole pages (folios), not when it \
                     reaches the disk"
                .into(),
            // On tmpfs the counter stays at 0 however much is written: a 0 there would read
            // as measured, so it is n/a with the reason instead.
            per_run: Box::new(move |r| match &no_storage {
                Some(why) => Reading::Unavailable(why.clone()),
                None => per_byte(r.sample.io.clone().map(|io| io.write_bytes), r),
            }),
        },
        Spec {
            key: keys::DEVICE_LOOP_PER_BYTE,
            label: "device writes in loop / byte",
            unit: "B/B",
            fallback: None,
            source: "/sys/dev/block/*/stat sectors written x 512 over the loop / log bytes \
                     (the whole device: journal, kernel writeback, other processes too)"
                .into(),
            per_run: Box::new(|r| per_byte(r.device_bytes_loop.clone(), r)),
        },
        Spec {
            key: keys::FLUSH_AFTER_MS,
            label: "flush after, ms",
            unit: "ms",
            fallback: None,
            source: "wall time of the fdatasync right after the loop (outside it)".into(),
            per_run: Box::new(|r| Reading::Value(r.flush_after_ns as f64 / 1e6)),
        },
        Spec {
            key: keys::DEVICE_FLUSH_PER_BYTE,
            label: "device writes in flush / byte",
            unit: "B/B",
            fallback: None,
            source: "/sys/dev/block/*/stat sectors written x 512 during that fdatasync / log \
                     bytes (the whole device)"
                .into(),
            per_run: Box::new(|r| per_byte(r.device_bytes_flush.clone(), r)),
        },
        Spec {
            key: keys::WRITTEN_MIB,
            label: "MiB written per run",
            unit: "MiB",
            fallback: None,
            source: "log bytes the loop wrote (less than the whole log when it stopped at \
                     --max-seconds)"
                .into(),
            per_run: Box::new(|r| Reading::Value(r.bytes as f64 / MIB)),
        },
    ]
}
