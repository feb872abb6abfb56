//! What a benchmark returns: plain data, no formatting.
//!
//! The runner fills these structs and the reporters (`crate::report`) render them; nothing
//! here prints. Every figure is a [`Metric`]: a named value measured on this machine, with
//! its unit and where it came from (`source`). The textbook *model* of each mode is kept
//! apart, in [`Row::model`], so the two can never be mixed up. Values that could not be
//! measured stay [`Reading::Unavailable`] with the reason, all the way to the output.

use std::path::PathBuf;

use serde::Serialize;

use super::sink::SinkKind;
use super::warnings::Warning;
use crate::measure::{Environment, Reading, Sample, ThreadProfile};
use crate::net::Pin;
use crate::transfer::{Mode, Model, Tally};

/// Median, minimum and maximum of one figure over the measured runs.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Stat {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub runs: usize,
}

impl Stat {
    /// Summarises `values`; `None` when there are none.
    pub fn of(values: &[f64]) -> Option<Stat> {
        if values.is_empty() {
            return None;
        }
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        Some(Stat {
            median,
            min: v[0],
            max: v[n - 1],
            runs: n,
        })
    }

    /// (max - min) / median: how much the runs disagreed.
    pub fn spread(&self) -> f64 {
        if self.median == 0.0 {
            0.0
        } else {
            (self.max - self.min) / self.median
        }
    }
}

/// One figure of one row.
#[derive(Clone, Debug, Serialize)]
pub struct Metric {
    /// Stable machine name, e.g. `syscalls_per_gib`; exports use it as the column name.
    pub key: &'static str,
    /// Short human name, e.g. `syscalls / GiB`.
    pub label: &'static str,
    pub unit: &'static str,
    /// Where the numbers come from, e.g. `tracepoint raw_syscalls:sys_enter`.
    pub source: String,
    pub value: Reading<Stat>,
}

/// One transfer, as measured.
#[derive(Clone, Debug, Serialize)]
pub struct RunRecord {
    /// 0-based index among the measured runs (warm-up runs are not recorded).
    pub run: u32,
    /// Consumers served at once in this run (`--consumers`), each sent the whole log.
    pub consumers: u32,
    /// Bytes delivered: the log's size times `consumers`.
    pub bytes: u64,
    /// Calls of at most one chunk the log needs (each segment is sent on its own).
    pub chunks: u64,
    /// The sender's probe: counters, rusage, /proc io, system CPU, wall time. With several
    /// consumers, the sum over their sender threads, `wall` from the first start to the
    /// last end (`Sample::sum_of_threads`).
    pub sample: Sample,
    /// The sender's own count of its calls and of the bytes it copied through user space
    /// (summed over the sender threads).
    pub tally: Tally,
    /// CPU time of the in-process sink thread(s) in nanoseconds (None for a remote sink).
    pub sink_cpu_ns: Option<u64>,
    /// Where the in-process sink thread(s) spent their CPU, sampled like the sender's
    /// (`Sample::kernel_profile`); unavailable for a remote sink.
    pub sink_profile: Reading<ThreadProfile>,
    /// Share of the fixture in the page cache right before the run (mincore), or why
    /// it cannot be seen.
    pub residency_before: Reading<f64>,
    /// CPUs the sender and the sink ran on at the end of the run (the first consumer's).
    pub sender_cpu: Option<usize>,
    pub sink_cpu_id: Option<usize>,
}

/// All runs of one mode at one chunk size, summarised.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub mode: Mode,
    pub chunk: usize,
    /// The textbook prediction for this mode (per chunk sent), kept apart from `metrics`.
    pub model: Model,
    pub metrics: Vec<Metric>,
    pub runs: Vec<RunRecord>,
}

/// The metric `key` among `metrics`.
pub fn find<'a>(metrics: &'a [Metric], key: &str) -> Option<&'a Metric> {
    metrics.iter().find(|m| m.key == key)
}

/// `a / b` when both are measured, positive and finite; otherwise no ratio is stated.
pub fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    let (a, b) = (a?, b?);
    (a > 0.0 && b > 0.0 && a.is_finite() && b.is_finite()).then_some(a / b)
}

/// Ratios this close to 1 are stated as "about the same": runs vary by more than that,
/// and "1.0x fewer" would read as a finding when it is a tie.
pub const SAME_WITHIN: f64 = 0.05;

/// Each distinct item once, in the order first seen: the modes or chunk sizes (or, for
/// `zc bench write`, the ways) present in a report, in report order.
pub fn distinct<T: PartialEq>(items: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut seen = Vec::new();
    for item in items {
        if !seen.contains(&item) {
            seen.push(item);
        }
    }
    seen
}

/// The modes present in the report, once each, in report order.
pub fn modes(rows: &[Row]) -> Vec<Mode> {
    distinct(rows.iter().map(|r| r.mode))
}

/// The chunk sizes present in the report, once each, in report order.
pub fn chunks(rows: &[Row]) -> Vec<usize> {
    distinct(rows.iter().map(|r| r.chunk))
}

impl Row {
    pub fn metric(&self, key: &str) -> Option<&Metric> {
        find(&self.metrics, key)
    }

    /// The median of a metric, when it was measured.
    pub fn median(&self, key: &str) -> Option<f64> {
        self.metric(key)?.value.value().map(|s| s.median)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum CacheState {
    /// The fixture is read once before the runs, so every run reads from the page cache.
    Warm,
    /// Each segment is dropped from the page cache (posix_fadvise DONTNEED) before every run.
    Cold,
}

/// The fixture that was sent.
#[derive(Clone, Debug, Serialize)]
pub struct FixtureInfo {
    pub path: PathBuf,
    /// BLAKE3 of the log files, from `zc fixture gen`'s manifest hash function.
    pub blake3: String,
    pub bytes: u64,
    pub segments: usize,
    /// True for the embedded default fixture in the cache directory.
    pub default: bool,
}

/// Everything needed to understand, trust and reproduce the figures: the provenance.
#[derive(Clone, Debug, Serialize)]
pub struct Setup {
    pub zc_version: &'static str,
    pub environment: Environment,
    /// Which probe counters worked on this machine, or why not.
    pub counters: Vec<(&'static str, Reading<()>)>,
    pub fixture: FixtureInfo,
    pub cache: CacheState,
    pub sink: SinkKind,
    /// `in-process` or the address of a remote `zc sink`.
    pub sink_location: String,
    pub verify: bool,
    pub chunks: Vec<usize>,
    pub runs: u32,
    pub warmup: u32,
    /// Consumers served at once in every run (`--consumers`).
    pub consumers: u32,
    /// The TCP congestion control in force, read back from the socket.
    pub congestion: String,
    /// SO_SNDBUF of the sender and SO_RCVBUF of the sink, as the kernel reported them
    /// after the transfer.
    pub send_buffer: usize,
    pub receive_buffer: Option<usize>,
    pub pin: Option<Pin>,
}

/// The whole result of `zc bench`.
#[derive(Clone, Debug, Serialize)]
pub struct BenchReport {
    /// Format version of this JSON, bumped on incompatible changes (zc explain checks it).
    pub schema: u32,
    pub setup: Setup,
    pub rows: Vec<Row>,
    pub warnings: Vec<Warning>,
}

/// Current [`BenchReport::schema`]. 2: `--consumers` (`setup.consumers`,
/// `runs[].consumers`; a run's `bytes`, counters and tally cover every consumer).
pub const SCHEMA: u32 = 2;
