//! `zc bench write`: the other half of Kafka's speed, the write path, measured.
//!
//! The claim (Kafka's design documentation and the articles zc teaches from): a broker
//! writes fast because it only *appends*, lets the *page cache* absorb the writes and
//! flushes asynchronously, and *batches* many records per write. Each way below writes
//! the same records (the fixture's generator) as a Kafka-format log, and differs from
//! `append` in exactly one thing:
//!
//! ```text
//! way          write() per         fsync           where the bytes go in the loop
//! append       batch               never (OS)      page cache; the kernel writes back later
//! append-fsync batch               every batch     page cache, then the device, every batch
//! per-record   record              never (OS)      page cache, one syscall per record
//! random       batch, random slot  never (OS)      page cache of a preallocated file
//! ```
//!
//! - `append` is Kafka's default (`log.flush.interval.messages` = Long.MAX_VALUE): an
//!   append returns once the bytes are in the page cache. A crashed *process* loses
//!   nothing (the kernel has the pages); a power cut or kernel crash loses what was not
//!   written back yet (Kafka relies on replication for that, which zc does not have).
//! - `append-fsync` calls `fdatasync` after every batch (`zc serve --flush always`).
//!   `fdatasync`, not `fsync`: it skips only timestamps, and on a file that grows with
//!   every append it must still write the new size, so it is nearly the same work; it is
//!   what zc's broker uses. (Kafka's own flush is `FileChannel.force(true)`, an `fsync`.)
//! - `per-record` writes exactly the bytes of `append` at the same `--batch` (same
//!   batches, same headers, same CRCs), but one `pwrite` per record: the first carries
//!   the 61-byte batch header with its record. So it isolates the cost of the system
//!   calls; the other meaning of "no batching", every record in a batch of its own, is
//!   `append` at `--batch 1`, which also pays 61 bytes of header per record.
//! - `random` writes the same batches into a file preallocated to the final size
//!   (`fallocate`), each at its own position but in a shuffled order: the same sizes at
//!   random offsets, and in the end the same bytes as `append`. It is the kindest random
//!   pattern there is (no overlap, no read-modify-write of an uncached page), so any
//!   difference it shows is the least random writing costs.
//!
//! Every way also validates each batch (CRC-32C and records) the way a broker does before
//! appending, so the CPU figures compare like with like.
//!
//! This module holds the settings, the textbook model and the result types; `runner`
//! does the writing and measuring, `metrics` turns runs into figures, and
//! `crate::report::write_table` renders them. Nothing here prints.

mod metrics;
pub mod runner;

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

use super::results::Metric;
use crate::error::UsageError;
use crate::log::fixture::{Amount, GenSpec, MAX_BATCH_BYTES};
use crate::measure::{BlockDevice, Environment, Reading, Sample};
use crate::units::format_size;

/// How the records reach the file. See the module docs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Way {
    /// One write per batch into the page cache, no fsync: Kafka's default.
    Append,
    /// One write per batch, then fdatasync: every batch durable before the next.
    AppendFsync,
    /// The same bytes as append, one write per record.
    PerRecord,
    /// The same batches at shuffled positions in a preallocated file.
    Random,
}

impl Way {
    pub const ALL: [Way; 4] = [Way::Append, Way::AppendFsync, Way::PerRecord, Way::Random];

    pub fn name(self) -> &'static str {
        match self {
            Way::Append => "append",
            Way::AppendFsync => "append-fsync",
            Way::PerRecord => "per-record",
            Way::Random => "random",
        }
    }

    /// What the textbook predicts for this way, per batch of `batch` records.
    pub fn model(self, batch: u32) -> WriteModel {
        let b = u64::from(batch);
        match self {
            Way::Append => WriteModel {
                writes_per_batch: 1,
                fsyncs_per_batch: 0,
                device_in_loop: "none: written back later by the kernel",
                note: "one write() per batch; the page cache absorbs it and the kernel's \
                       flusher threads write it back later (after 30 s, or when dirty pages \
                       pile up). Syscalls per record fall as 1/batch.",
            },
            Way::AppendFsync => WriteModel {
                writes_per_batch: 1,
                fsyncs_per_batch: 1,
                device_in_loop: "every batch, before the next",
                note: "each fdatasync waits for the device (and the filesystem journal): \
                       ~0.05-0.5 ms on an SSD, 5-10 ms on a disk that must rotate. \
                       Throughput becomes batch size / device latency.",
            },
            Way::PerRecord => WriteModel {
                writes_per_batch: b,
                fsyncs_per_batch: 0,
                device_in_loop: "none: written back later by the kernel",
                note: "the same bytes as append, one write() per record: the cost of a \
                       system call (two mode switches, ~0.1-1 µs) paid per record.",
            },
            Way::Random => WriteModel {
                writes_per_batch: 1,
                fsyncs_per_batch: 0,
                device_in_loop: "none: written back later by the kernel",
                note: "on a spinning disk each random write costs a seek (~5-10 ms) where \
                       an append costs none; through the page cache the write() itself costs \
                       the same, and writeback sorts the pages by position anyway.",
            },
        }
    }
}

impl fmt::Display for Way {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The textbook figures for one way, per batch: kept apart from what is measured.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct WriteModel {
    pub writes_per_batch: u64,
    pub fsyncs_per_batch: u64,
    /// When the bytes reach the storage device inside the timed loop.
    pub device_in_loop: &'static str,
    pub note: &'static str,
}

/// Bytes in each record key: the offset, zero-padded, like the default fixture.
pub const KEY_SIZE: usize = 16;
/// Smallest `--record-size`: the value's `0:000000000042 ` label must fit, so a
/// consumer of the log still sees which record it is.
pub const MIN_RECORD_SIZE: u64 = 16;
/// Largest `--size`: one segment (Kafka's default `segment.bytes`, 1 GiB), and memory:
/// the batches are built before the timed region and kept for every run.
pub const MAX_SIZE: u64 = 1 << 30;
/// Largest `--batch`, as for `zc fixture gen --records-per-batch`.
pub const MAX_BATCH: u32 = 100_000;

/// The settings of `zc bench write`, checked by [`WriteConfig::validate`].
#[derive(Clone, Debug)]
pub struct WriteConfig {
    pub ways: Vec<Way>,
    /// Records per batch, swept.
    pub batches: Vec<u32>,
    /// About this many bytes of log per run (at the largest batch size).
    pub size: u64,
    /// Bytes in each record value.
    pub record_size: u64,
    pub runs: u32,
    pub warmup: u32,
    /// Where to write: a fresh directory is made inside it and removed afterwards.
    pub dir: Option<PathBuf>,
    /// Leave the last run's log of each way and batch size in place.
    pub keep: bool,
    /// A run stops after the batch that crosses this many seconds (figures are then per
    /// byte actually written): fsync per record can take minutes otherwise.
    pub max_seconds: f64,
    pub counters: bool,
}

impl WriteConfig {
    /// The record generator's spec for batches of `batch` records.
    pub fn spec(&self, batch: u32) -> GenSpec {
        GenSpec {
            topic: "bench".into(),
            partitions: 1,
            amount: Amount::Bytes(self.size),
            value_size: self.record_size as usize,
            key_size: KEY_SIZE,
            records_per_batch: batch,
            segment_bytes: MAX_SIZE,
            seed: 42,
        }
    }

    /// Records per run: whole batches of the largest `--batch` that fit `--size`, so that
    /// every way and batch size writes the same records.
    pub fn records(&self) -> u64 {
        let largest = self.batches.iter().copied().max().unwrap_or(1);
        let batch_bytes = self.spec(largest).batch_bytes();
        (self.size / batch_bytes) * u64::from(largest)
    }

    /// Checks every argument before anything is written; each error names the argument,
    /// what is allowed and what to change.
    pub fn validate(&self) -> Result<(), UsageError> {
        let fail = |msg: String| Err(UsageError(msg));
        if self.ways.is_empty() || self.batches.is_empty() {
            return fail("give at least one --way and one --batch".into());
        }
        if let Some(&b) = self.batches.iter().find(|&&b| b == 0 || b > MAX_BATCH) {
            return fail(format!(
                "--batch {b} is out of range: records per batch must be 1 to {MAX_BATCH} \
                 (e.g. --batch 1,16,256)"
            ));
        }
        if self.record_size < MIN_RECORD_SIZE {
            return fail(format!(
                "--record-size {} is too small: use at least {MIN_RECORD_SIZE} bytes, so each \
                 value holds its `partition:offset` label",
                self.record_size
            ));
        }
        let largest = self.batches.iter().copied().max().unwrap_or(1);
        let batch_bytes = self.spec(largest).batch_bytes();
        if self.record_size > MAX_BATCH_BYTES || batch_bytes > MAX_BATCH_BYTES {
            return fail(format!(
                "a batch of {largest} records of {} is {} bytes, above Kafka's \
                 max.message.bytes ({MAX_BATCH_BYTES}); lower --batch or --record-size",
                format_size(self.record_size),
                batch_bytes
            ));
        }
        if self.size > MAX_SIZE {
            return fail(format!(
                "--size must be at most {} (one segment), found {}",
                format_size(MAX_SIZE),
                format_size(self.size)
            ));
        }
        if self.size < batch_bytes {
            return fail(format!(
                "--size {} is smaller than one batch of {largest} records ({}); raise --size \
                 or lower --batch",
                format_size(self.size),
                format_size(batch_bytes)
            ));
        }
        if self.runs == 0 {
            return fail("--runs must be at least 1".into());
        }
        if !(self.max_seconds > 0.0 && self.max_seconds <= 3600.0) {
            return fail(format!(
                "--max-seconds must be above 0 and at most 3600, found {}",
                self.max_seconds
            ));
        }
        if let Some(dir) = &self.dir
            && !dir.is_dir()
        {
            return fail(format!(
                "--dir {}: no such directory; create it first or choose another",
                dir.display()
            ));
        }
        Ok(())
    }
}

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
        self.metrics.iter().find(|m| m.key == key)
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
    pub counters: Vec<(&'static str, Reading<()>)>,
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

/// The whole result of `zc bench write`.
#[derive(Clone, Debug, Serialize)]
pub struct WriteReport {
    /// Format version of this JSON.
    pub schema: u32,
    pub kind: &'static str,
    pub setup: WriteSetup,
    pub rows: Vec<WriteRow>,
}

/// Current [`WriteReport::schema`].
pub const WRITE_SCHEMA: u32 = 1;
