//! What `zc bench write` returns: plain data, no formatting, in the shape of `zc bench`'s
//! ([`crate::bench::send::results`]): a row per way x batch with its metrics and raw runs,
//! the setup, a schema number.

use std::path::PathBuf;

use serde::Serialize;

use super::{Way, WriteModel};
use crate::bench::results::{Metric, distinct, find};
use crate::measure::{BlockDevice, Environment, Reading, Sample};

/// One run of one way at one batch size, as measured.
#[derive(Clone, Debug, Serialize)]
pub struct WriteRun {
    /// 0-based index among the measured runs.
    pub run: u32,
    /// Log bytes written in the timed loop.
    pub bytes: u64,
    pub records: u64,
    pub batches: u64,
    /// The loop stopped at `--max-seconds` before writing every record.
    pub stopped_early: bool,
    /// zc's own count of the positional writes it issued (one `pwrite64` each, unless the
    /// kernel wrote short, which regular files do not) and of its fdatasyncs.
    pub writes_self: u64,
    pub fsyncs_self: u64,
    /// The probe over the timed loop: counters, rusage, /proc io, system CPU, wall time.
    pub sample: Sample,
    /// Bytes the block layer wrote to the device during the loop (the whole device).
    pub device_bytes_loop: Reading<u64>,
    /// The `fdatasync` right after the loop that makes the run durable: how long it took
    /// and what the device wrote meanwhile. This is the work the page cache deferred.
    pub flush_after_ns: u64,
    pub device_bytes_flush: Reading<u64>,
}

impl crate::bench::rounds::Numbered for WriteRun {
    fn number(&mut self, run: u32) {
        self.run = run;
    }
}

/// All runs of one way at one batch size, summarised.
#[derive(Clone, Debug, Serialize)]
pub struct WriteRow {
    pub way: Way,
    pub batch: u32,
    pub model: WriteModel,
    pub metrics: Vec<Metric>,
    pub runs: Vec<WriteRun>,
}

impl WriteRow {
    pub fn metric(&self, key: &str) -> Option<&Metric> {
        find(&self.metrics, key)
    }

    /// System calls per 1,000 records the model predicts: (writes + fsyncs) per batch,
    /// over the records of a batch.
    pub fn model_syscalls_per_krec(&self) -> f64 {
        let m = &self.model;
        (m.writes_per_batch + m.fsyncs_per_batch) as f64 * 1000.0 / f64::from(self.batch)
    }

    pub fn median(&self, key: &str) -> Option<f64> {
        self.metric(key)?.value.value().map(|s| s.median)
    }
}

/// Provenance: everything needed to trust and reproduce the figures.
#[derive(Clone, Debug, Serialize)]
pub struct WriteSetup {
    pub zc_version: &'static str,
    pub environment: Environment,
    pub counters: Vec<(String, Reading<()>)>,
    /// The directory the logs were written in, and the device under it.
    pub dir: PathBuf,
    pub filesystem: Reading<String>,
    pub device: Reading<BlockDevice>,
    pub records: u64,
    pub record_size: u64,
    pub key_size: usize,
    pub batches: Vec<u32>,
    pub runs: u32,
    pub warmup: u32,
    pub max_seconds: f64,
    /// The kernel's writeback settings, which decide when `append`'s bytes reach the disk.
    pub dirty_settings: Vec<(String, Reading<String>)>,
}

impl WriteSetup {
    /// Why there is no storage under `--dir` to charge writes to, if there is none. tmpfs
    /// (and ramfs) pages live in RAM and are never charged to `write_bytes`, so its 0
    /// would look measured. A missing device counter alone is not such a reason: btrfs,
    /// NFS or device-mapper have no counter zc reads, but do charge `write_bytes`.
    pub fn no_storage(&self) -> Option<String> {
        let fs = self.filesystem.value()?;
        let name = ["tmpfs", "ramfs"].into_iter().find(|n| fs.starts_with(n))?;
        Some(format!(
            "{name}: no storage to charge (its pages live in RAM and are never charged to \
             write_bytes)"
        ))
    }
}

/// The whole result of `zc bench write`.
#[derive(Clone, Debug, Serialize)]
pub struct WriteReport {
    /// Format version of this JSON.
    pub schema: u32,
    pub kind: &'static str,
    pub setup: WriteSetup,
    pub rows: Vec<WriteRow>,
}

impl WriteReport {
    /// The row of `way` at `batch`, if it ran.
    pub fn row(&self, way: Way, batch: u32) -> Option<&WriteRow> {
        self.rows.iter().find(|r| r.way == way && r.batch == batch)
    }
}

/// The ways in the report, once each, in report order.
pub fn ways(rows: &[WriteRow]) -> Vec<Way> {
    distinct(rows.iter().map(|r| r.way))
}

/// The batch sizes in the report, smallest first.
pub fn batches(rows: &[WriteRow]) -> Vec<u32> {
    let mut seen: Vec<u32> = rows.iter().map(|r| r.batch).collect();
    seen.sort_unstable();
    seen.dedup();
    seen
}

/// The stable names of `zc bench write`'s metrics, as in `zc bench`'s
/// [`crate::bench::send::results::keys`].
pub mod keys {
    pub const MIB_PER_S: &str = "mib_per_s";
    pub const RECORDS_PER_S: &str = "records_per_s";
    pub const DURABLE_MIB_PER_S: &str = "durable_mib_per_s";
    pub const CPU_PER_GIB: &str = "cpu_per_gib";
    pub const SYSTEM_CPU_PER_GIB: &str = "system_cpu_per_gib";
    pub const SYSCALLS_PER_KREC: &str = "syscalls_per_krec";
    pub const SYSCALLS_SELF_PER_KREC: &str = "syscalls_self_per_krec";
    pub const WRITES_PER_KREC: &str = "writes_per_krec";
    pub const FSYNCS_PER_KREC: &str = "fsyncs_per_krec";
    pub const SCHED_SWITCHES_PER_KREC: &str = "sched_switches_per_krec";
    pub const DIRTIED_PER_BYTE: &str = "dirtied_per_byte";
    pub const DEVICE_LOOP_PER_BYTE: &str = "device_loop_per_byte";
    pub const FLUSH_AFTER_MS: &str = "flush_after_ms";
    pub const DEVICE_FLUSH_PER_BYTE: &str = "device_flush_per_byte";
    pub const WRITTEN_MIB: &str = "written_mib";
}

/// Current [`WriteReport::schema`]. 2: `rows[].metrics[].fallback`, as in `zc bench`'s
/// schema 3.
pub const WRITE_SCHEMA: u32 = 2;
