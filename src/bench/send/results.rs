//! What `zc bench` returns: plain data, no formatting.
//!
//! The runner fills these structs and the reporters (`crate::report`) render them; nothing
//! here prints. Every figure is a [`Metric`]: a named value measured on this machine, with
//! its unit and where it came from (`source`). The textbook *model* of each mode is kept
//! apart, in [`Row::model`], so the two can never be mixed up. Values that could not be
//! measured stay [`Reading::Unavailable`] with the reason, all the way to the output.
//!
//! These types are also what `zc explain --results` reads back from a JSON export: one
//! set of types, written and read. Every figure and fact round-trips; only the raw
//! [`RunRecord`]s are written and not read back (zc shows the summaries, scripts read the
//! runs). Facts a reporter decides on are typed, never recovered from prose: a figure's
//! [`Fallback`](crate::bench::results::Fallback), the [`SinkPlace`], the metric [`keys`].

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::de::{Deserializer, Error as _};
use serde::{Deserialize, Serialize};

use super::sink::SinkKind;
use super::warnings::Warning;
use crate::bench::results::{Metric, distinct, find};
use crate::measure::{Environment, Reading, Sample, ThreadProfile, sum_profiles};
use crate::net::Pin;
use crate::transfer::{Mode, Model, Tally};

/// The stable names of `zc bench`'s metrics ([`Metric::key`]): the column names of every
/// export, and what reporters look figures up by.
pub mod keys {
    pub const THROUGHPUT: &str = "throughput";
    pub const SENDER_CPU_PER_GIB: &str = "sender_cpu_per_gib";
    pub const SINK_CPU_PER_GIB: &str = "sink_cpu_per_gib";
    pub const SYSTEM_CPU_PER_GIB: &str = "system_cpu_per_gib";
    pub const SYSCALLS_PER_GIB: &str = "syscalls_per_gib";
    pub const SYSCALLS_SELF_PER_GIB: &str = "syscalls_self_per_gib";
    pub const MODE_SWITCHES_PER_GIB: &str = "mode_switches_per_gib";
    pub const MODE_SWITCHES_PER_CHUNK: &str = "mode_switches_per_chunk";
    pub const USER_COPIED_PER_BYTE: &str = "user_copied_per_byte";
    pub const ZEROCOPY_COPIED_PER_BYTE: &str = "zerocopy_copied_per_byte";
    pub const SCHED_SWITCHES_PER_GIB: &str = "sched_switches_per_gib";
    pub const CPU_MIGRATIONS: &str = "cpu_migrations";
    pub const MINOR_FAULTS_PER_GIB: &str = "minor_faults_per_gib";
    pub const MAJOR_FAULTS_PER_GIB: &str = "major_faults_per_gib";
    pub const STORAGE_READ_BYTES: &str = "storage_read_bytes";
    pub const STORAGE_READ_LOGS: &str = "storage_read_logs";
    pub const USER_COPIED_LOGS: &str = "user_copied_logs";
    pub const CYCLES_PER_GIB: &str = "cycles_per_gib";
    pub const INSTRUCTIONS_PER_GIB: &str = "instructions_per_gib";
    pub const CACHE_MISSES_PER_GIB: &str = "cache_misses_per_gib";
    pub const RESIDENCY_BEFORE: &str = "residency_before";
    pub const SENDER_COPY_CPU_PER_GIB: &str = "sender_copy_cpu_per_gib";
    pub const SENDER_COPY_SHARE: &str = "sender_copy_share";
    pub const SINK_COPY_CPU_PER_GIB: &str = "sink_copy_cpu_per_gib";
    pub const SINK_COPY_SHARE: &str = "sink_copy_share";
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

impl crate::bench::rounds::Numbered for RunRecord {
    fn number(&mut self, run: u32) {
        self.run = run;
    }
}

/// All runs of one mode at one chunk size, summarised.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Row {
    pub mode: Mode,
    pub chunk: usize,
    /// The textbook prediction for this mode (per chunk sent), kept apart from `metrics`.
    #[serde(deserialize_with = "known_model")]
    pub model: Model,
    pub metrics: Vec<Metric>,
    /// The sampled profiles of the runs added up: where this mode's sender and receiver
    /// spent their CPU (samples, copy samples, the top kernel functions). Not read back.
    #[serde(skip_deserializing)]
    pub profile: RowProfile,
    /// The raw runs, for scripts; not read back (an empty list in a file read back).
    #[serde(skip_deserializing)]
    pub runs: Vec<RunRecord>,
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

/// A row's runs' profiles added up, sender and in-process sink apart.
#[derive(Clone, Debug, Serialize)]
pub struct RowProfile {
    pub sender: Reading<ThreadProfile>,
    pub sink: Reading<ThreadProfile>,
}

impl RowProfile {
    pub fn of(runs: &[RunRecord]) -> RowProfile {
        const NO_RUNS: &str = "no run was measured";
        RowProfile {
            sender: sum_profiles(runs.iter().map(|r| &r.sample.kernel_profile), NO_RUNS),
            sink: sum_profiles(runs.iter().map(|r| &r.sink_profile), NO_RUNS),
        }
    }
}

impl Default for RowProfile {
    /// What a report read back from JSON has: the runs are not read back.
    fn default() -> RowProfile {
        RowProfile::of(&[])
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum CacheState {
    /// The fixture is read once before the runs, so every run reads from the page cache.
    Warm,
    /// Each segment is dropped from the page cache (posix_fadvise DONTNEED) before every run.
    Cold,
}

/// The fixture that was sent.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FixtureInfo {
    pub path: PathBuf,
    /// BLAKE3 of the log files, from `zc fixture gen`'s manifest hash function.
    pub blake3: String,
    pub bytes: u64,
    pub segments: usize,
    /// True for the embedded default fixture in the cache directory.
    pub default: bool,
}

/// Where the sink ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "place", rename_all = "snake_case")]
pub enum SinkPlace {
    /// A thread of this process: its kind, CPU and CPU time are measured here.
    InProcess,
    /// A `zc sink` at `address` (`--connect`): its side is measured there.
    Remote { address: SocketAddr },
}

impl std::fmt::Display for SinkPlace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SinkPlace::InProcess => f.write_str("in-process thread"),
            SinkPlace::Remote { address } => write!(f, "{address}"),
        }
    }
}

/// Everything needed to understand, trust and reproduce the figures: the provenance.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Setup {
    pub zc_version: String,
    #[serde(deserialize_with = "EnvironmentRead::deserialize")]
    pub environment: Environment,
    /// Which probe counters worked on this machine, or why not.
    pub counters: Vec<(String, Reading<()>)>,
    pub fixture: FixtureInfo,
    pub cache: CacheState,
    pub sink: SinkKind,
    pub sink_location: SinkPlace,
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
    #[serde(deserialize_with = "pin_of")]
    pub pin: Option<Pin>,
}

/// The whole result of `zc bench`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BenchReport {
    /// Format version of this JSON, bumped on incompatible changes (zc explain checks it).
    pub schema: u32,
    pub setup: Setup,
    pub rows: Vec<Row>,
    pub warnings: Vec<Warning>,
}

/// Current [`BenchReport::schema`]. 2: `--consumers` (`setup.consumers`,
/// `runs[].consumers`; a run's `bytes`, counters and tally cover every consumer).
/// 3: typed facts instead of prose: `metrics[].fallback` (`"rusage"`, `"own_count"` or
/// null) and `setup.sink_location` as `{"place": "in_process"}` or
/// `{"place": "remote", "address": "10.0.0.2:9000"}` (see docs/reading-results.md).
pub const SCHEMA: u32 = 3;

// --- reading results back ---------------------------------------------------------------
//
// The types of other modules that a result holds are read back here, next to the only
// place that reads them: `measure`'s Reading and `transfer`'s Mode get the other half of
// the serde form their modules write, and the structs of `measure`, `transfer` and `net`
// are read through serde's remote definitions, which the compiler checks field by field
// against the real structs (a field added there and not here fails the build).

/// A mode by the name it is written with (`read-write`, `sendfile`, ...).
impl<'de> Deserialize<'de> for Mode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Mode::ALL
            .into_iter()
            .find(|m| m.name() == name)
            .ok_or_else(|| D::Error::custom(format!("unknown mode {name:?}")))
    }
}

/// The textbook model as written: it must be one this zc knows (a file from a zc with
/// another model is refused rather than shown with this zc's numbers).
fn known_model<'de, D: Deserializer<'de>>(d: D) -> Result<Model, D::Error> {
    let written = serde_json::Value::deserialize(d)?;
    Mode::ALL
        .into_iter()
        .map(Mode::model)
        .find(|m| serde_json::to_value(m).ok().as_ref() == Some(&written))
        .ok_or_else(|| D::Error::custom("a textbook model this zc does not know"))
}

#[derive(Deserialize)]
#[serde(remote = "Environment")]
struct EnvironmentRead {
    kernel_release: Reading<String>,
    cpu_model: Reading<String>,
    cpus_online: Reading<usize>,
    perf_event_paranoid: Reading<i32>,
    root: bool,
    tracefs: Reading<PathBuf>,
    notes: Vec<String>,
}

#[derive(Deserialize)]
#[serde(remote = "Pin")]
struct PinRead {
    sender: usize,
    sink: usize,
}

fn pin_of<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Pin>, D::Error> {
    #[derive(Deserialize)]
    struct Wrapped(#[serde(with = "PinRead")] Pin);
    Ok(Option::<Wrapped>::deserialize(d)?.map(|Wrapped(pin)| pin))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::results::Fallback;
    use crate::bench::send::sample::{remote, sample_report};
    use crate::report::json;

    /// One set of types, written and read: a report read back from its JSON writes the
    /// same JSON again (the sample has no raw runs, the one part not read back).
    #[test]
    fn a_report_reads_back_as_it_was_written() {
        let mut report = sample_report();
        report.rows[1].metrics[1].fallback = Some(Fallback::Rusage);
        for (place, pin) in [
            (SinkPlace::InProcess, None),
            (
                remote("[2001:db8::1]:9000"),
                Some(Pin { sender: 0, sink: 1 }),
            ),
        ] {
            report.setup.sink_location = place;
            report.setup.pin = pin;
            let written = json::render(&report);
            let read: BenchReport = serde_json::from_slice(&written).expect("reads back");
            let (again, written) = (
                String::from_utf8(json::render(&read)).unwrap(),
                String::from_utf8(written).unwrap(),
            );
            // Line by line, so that a failure names the field that did not come back.
            for (n, (a, w)) in again.lines().zip(written.lines()).enumerate() {
                assert_eq!(a, w, "line {} of the JSON", n + 1);
            }
            assert_eq!(again.lines().count(), written.lines().count());
            assert_eq!(read.setup.sink_location, place);
        }
    }

    #[test]
    fn typed_facts_are_written_as_documented() {
        let mut report = sample_report();
        report.rows[0].metrics[1].fallback = Some(Fallback::OwnCount);
        report.setup.sink_location = remote("10.0.0.2:9000");
        let value: serde_json::Value = serde_json::from_slice(&json::render(&report)).unwrap();
        assert_eq!(
            value["setup"]["sink_location"],
            serde_json::json!({"place": "remote", "address": "10.0.0.2:9000"})
        );
        assert_eq!(value["rows"][0]["metrics"][1]["fallback"], "own_count");
        assert_eq!(
            value["rows"][0]["metrics"][0]["fallback"],
            serde_json::Value::Null
        );
        report.setup.sink_location = SinkPlace::InProcess;
        let value: serde_json::Value = serde_json::from_slice(&json::render(&report)).unwrap();
        assert_eq!(
            value["setup"]["sink_location"],
            serde_json::json!({"place": "in_process"})
        );
    }

    #[test]
    fn a_model_this_zc_does_not_know_is_refused() {
        let written = String::from_utf8(json::render(&sample_report())).unwrap();
        let changed = written.replacen("\"dma_copies\": 2", "\"dma_copies\": 7", 1);
        assert_ne!(
            changed, written,
            "the sample's read-write model has 2 DMA copies"
        );
        let err = serde_json::from_str::<BenchReport>(&changed).unwrap_err();
        assert!(err.to_string().contains("textbook model"), "{err}");
    }
}
