//! The results every report test draws: three modes at 64 KiB with figures chosen so the
//! ratios are obvious, hardware counters unavailable, two warnings; and the small edits the
//! tests make to it. Test-only.

use crate::bench::results::{Fallback, Metric, Stat};
use crate::bench::send::results::{
    BenchReport, CacheState, FixtureInfo, Row, RowProfile, SCHEMA, Setup, SinkPlace,
};
use crate::bench::send::sink::SinkKind;
use crate::bench::send::warnings::Warning;
use crate::measure::{Environment, Reading};
use crate::transfer::Mode;

/// A metric as the runner would produce it.
pub(crate) fn metric(key: &'static str, unit: &'static str, value: Reading<Stat>) -> Metric {
    Metric {
        key: key.to_owned(),
        label: key.to_owned(),
        unit: unit.to_owned(),
        source: format!("test source of {key}"),
        fallback: None,
        value,
    }
}

pub(crate) fn stat(median: f64, min: f64, max: f64) -> Reading<Stat> {
    Reading::Value(Stat {
        median,
        min,
        max,
        runs: 5,
    })
}

pub(crate) const NO_PMU: &str = "no PMU on this VM";
pub(crate) const NO_SINK_CPU: &str = "remote sink, its CPU time is not ours";
/// Bytes a warm run read from storage in the sample (4.2 MiB).
pub(crate) const STORAGE_READ: f64 = 4_404_019.0;

/// Figures chosen so the ratios are obvious: sendfile makes half read-write's syscalls
/// (32768 vs 16384 per GiB: 2.0x) and uses 0.62 vs 0.20 CPU s/GiB (3.1x).
pub(crate) fn row(mode: Mode, syscalls: f64, cpu: f64, copies: f64, switches: f64) -> Row {
    let unavailable = |why: &str| Reading::Unavailable(why.to_owned());
    Row {
        mode,
        chunk: 64 << 10,
        model: mode.model(),
        metrics: vec![
            metric("throughput", "GiB/s", stat(3.21, 3.1, 3.3)),
            metric(
                "sender_cpu_per_gib",
                "s/GiB",
                stat(cpu, cpu * 0.9, cpu * 1.1),
            ),
            metric("sink_cpu_per_gib", "s/GiB", unavailable(NO_SINK_CPU)),
            metric("system_cpu_per_gib", "s/GiB", stat(1.5, 1.4, 1.6)),
            metric(
                "syscalls_per_gib",
                "1/GiB",
                stat(syscalls, syscalls, syscalls),
            ),
            metric(
                "syscalls_self_per_gib",
                "1/GiB",
                stat(syscalls, syscalls, syscalls),
            ),
            metric(
                "mode_switches_per_gib",
                "1/GiB",
                stat(2.0 * syscalls, 2.0 * syscalls, 2.0 * syscalls),
            ),
            metric(
                "mode_switches_per_chunk",
                "1/chunk",
                stat(switches, switches, switches),
            ),
            metric("user_copied_per_byte", "B/B", stat(copies, copies, copies)),
            metric("sched_switches_per_gib", "1/GiB", stat(12.0, 9.0, 20.0)),
            metric("cpu_migrations", "count", stat(0.0, 0.0, 1.0)),
            metric("minor_faults_per_gib", "1/GiB", stat(3.0, 2.0, 4.0)),
            metric("major_faults_per_gib", "1/GiB", stat(0.0, 0.0, 0.0)),
            metric(
                "storage_read_bytes",
                "bytes",
                stat(STORAGE_READ, 0.0, STORAGE_READ),
            ),
            metric("cycles_per_gib", "1/GiB", unavailable(NO_PMU)),
            metric("instructions_per_gib", "1/GiB", unavailable(NO_PMU)),
            metric("cache_misses_per_gib", "1/GiB", unavailable(NO_PMU)),
            metric("residency_before", "fraction", stat(1.0, 0.000201, 1.0)),
        ],
        profile: RowProfile::default(),
        runs: Vec::new(),
    }
}

/// Three modes at 64 KiB, two warnings (one only repeating a counter's reason),
/// hardware counters unavailable.
pub(crate) fn sample_report() -> BenchReport {
    BenchReport {
        schema: SCHEMA,
        setup: Setup {
            zc_version: "0.1.0".into(),
            environment: Environment {
                kernel_release: Reading::Value("6.8.0-test".into()),
                cpu_model: Reading::Value("Test CPU, 8 cores".into()),
                cpus_online: Reading::Value(8),
                perf_event_paranoid: Reading::Value(2),
                root: false,
                tracefs: Reading::unavailable("not mounted"),
                notes: vec![],
            },
            counters: vec![
                ("task_clock".into(), Reading::Value(())),
                ("syscalls".into(), Reading::Value(())),
                ("cycles".into(), Reading::unavailable(NO_PMU)),
                ("instructions".into(), Reading::unavailable(NO_PMU)),
            ],
            fixture: FixtureInfo {
                path: "/tmp/zc/fixture".into(),
                blake3: "0123456789abcdef0123456789abcdef".into(),
                bytes: 256 << 20,
                segments: 4,
                default: true,
            },
            cache: CacheState::Warm,
            sink: SinkKind::Splice,
            sink_location: SinkPlace::InProcess,
            verify: false,
            chunks: vec![64 << 10],
            runs: 5,
            warmup: 1,
            consumers: 1,
            congestion: "cubic".into(),
            send_buffer: 4 << 20,
            receive_buffer: Some(6 << 20),
            pin: None,
        },
        rows: vec![
            row(Mode::ReadWrite, 32768.0, 0.62, 2.0, 4.0),
            row(Mode::Mmap, 16384.0, 0.45, 1.0, 2.0),
            row(Mode::Sendfile, 16384.0, 0.20, 0.0, 2.0),
        ],
        warnings: vec![
            Warning::CounterUnavailable {
                counter: "cycles, instructions".into(),
                reason: NO_PMU.into(),
            },
            Warning::StorageReads {
                mode: Mode::ReadWrite,
                chunk: 64 << 10,
                bytes: STORAGE_READ as u64,
            },
        ],
    }
}

/// A remote sink at `address`.
pub(crate) fn remote(address: &str) -> SinkPlace {
    SinkPlace::Remote {
        address: address.parse().expect("a socket address"),
    }
}

pub(crate) fn set(report: &mut BenchReport, mode: Mode, key: &str, value: Reading<Stat>) {
    for row in report.rows.iter_mut().filter(|r| r.mode == mode) {
        row.metrics.iter_mut().find(|m| m.key == key).unwrap().value = value.clone();
    }
}

/// Marks `key` of every row as taken from `fallback`, as the runner does when the
/// preferred counter is refused.
pub(crate) fn set_fallback(report: &mut BenchReport, key: &str, fallback: Fallback) {
    for row in &mut report.rows {
        row.metrics
            .iter_mut()
            .find(|m| m.key == key)
            .unwrap()
            .fallback = Some(fallback);
    }
}

/// The same rows again at `chunk`, after those already there.
pub(crate) fn add_chunk(report: &mut BenchReport, chunk: usize) {
    let more: Vec<Row> = report
        .rows
        .iter()
        .filter(|r| r.chunk == 64 << 10)
        .cloned()
        .map(|mut r| {
            r.chunk = chunk;
            r
        })
        .collect();
    report.rows.extend(more);
}
