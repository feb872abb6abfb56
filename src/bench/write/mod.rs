//! `zc bench write`: the other half of Kafka's speed, the write path, measured.
//!
//! The claim (Kafka's design documentation and the articles zc teaches from): a broker
//! writes fast because it only *appends*, lets the *page cache* absorb the writes and
//! flushes asynchronously, and *batches* many records per write. Each way below writes
//! the same records (the fixture's generator) as a Kafka-format log. `append-fsync` and
//! `per-record` differ from `append` in exactly one thing; `random` in two (see below):
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
//!   difference it shows is the least random writing costs. Its second difference: it
//!   does not go through `PartitionLog` (a log appends in offset order; random writes
//!   have none), so its loop is only validate + `pwrite`. It skips what the log does per
//!   append besides the write: assigning offsets (its batches get theirs before the loop),
//!   the in-memory index and time-index entries, and writing those files at close (its
//!   file has no index). That bookkeeping is small next to a write, but it is not zero,
//!   and it favours `random`.
//!
//! Every way also validates each batch (CRC-32C and records) the way a broker does before
//! appending, so the CPU figures compare like with like.
//!
//! This module holds the settings, the textbook model and the result types; `runner`
//! does the writing and measuring, `metrics` turns runs into figures, and
//! `crate::report::write` renders them. Nothing here prints.

pub mod analysis;
mod metrics;
pub mod runner;

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

use super::results::{Metric, distinct, find};
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
/// Largest log of one run, at every `--batch`: one segment (Kafka's default
/// `segment.bytes`, 1 GiB), so the log never rolls inside the timed loop.
pub const MAX_SIZE: u64 = 1 << 30;
/// Largest total of the batches built before the timed region (one log's worth per batch
/// size, kept for every run).
pub const MAX_MEMORY: u64 = 4 << 30;
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
        let largest = self.largest();
        (self.size / self.spec(largest).batch_bytes()) * u64::from(largest)
    }

    fn largest(&self) -> u32 {
        self.batches.iter().copied().max().unwrap_or(1)
    }

    /// Bytes of the log that `records` records make in batches of `batch`: smaller batches
    /// make a longer log, since every batch carries its own 61-byte header. Exact, because
    /// records differ only in content (see [`GenSpec::batch_bytes`]).
    fn log_bytes_for(&self, records: u64, batch: u32) -> u64 {
        let b = u64::from(batch);
        let (full, rest) = (records / b, records % b);
        let mut bytes = full * self.spec(batch).batch_bytes();
        if rest > 0 {
            // `rest` < `batch` <= MAX_BATCH, so it fits in u32.
            bytes += self.spec(rest as u32).batch_bytes();
        }
        bytes
    }

    /// Bytes of the log one run writes at `batch` records per batch.
    pub fn log_bytes(&self, batch: u32) -> u64 {
        self.log_bytes_for(self.records(), batch)
    }

    /// The largest `--size` whose log fits one segment at every `--batch` (whole batches of
    /// the largest batch size, like [`WriteConfig::records`]).
    fn largest_fitting_size(&self) -> u64 {
        let (largest, unit) = (self.largest(), self.spec(self.largest()).batch_bytes());
        let fits = |n: u64| {
            self.batches
                .iter()
                .all(|&b| self.log_bytes_for(n * u64::from(largest), b) <= MAX_SIZE)
        };
        // Binary search on the number of largest batches: the log grows with it.
        let (mut lo, mut hi) = (0, MAX_SIZE / unit);
        while lo < hi {
            let mid = (lo + hi).div_ceil(2);
            if fits(mid) { lo = mid } else { hi = mid - 1 }
        }
        lo * unit
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
        let largest = self.largest();
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
        // Every batch size writes the same records, and smaller batches carry more headers:
        // each log must still fit the one segment, or the log would roll mid-run.
        let mut seen = Vec::new();
        for &b in &self.batches {
            let bytes = self.log_bytes(b);
            if bytes > MAX_SIZE {
                return fail(format!(
                    "--size {} at --batch {b} makes a log of {} ({} records in batches of {b}, \
                     61 bytes of header each), above one segment ({}); use --size {}M or less, \
                     or drop --batch {b}",
                    format_size(self.size),
                    format_size(bytes),
                    self.records(),
                    format_size(MAX_SIZE),
                    // Whole MiB, rounded down (a smaller --size still fits), typed as given.
                    self.largest_fitting_size() >> 20
                ));
            }
            if !seen.contains(&b) {
                seen.push(b);
            }
        }
        // The batches of every batch size are built before the first run and kept.
        let memory: u64 = seen.iter().map(|&b| self.log_bytes(b)).sum();
        if memory > MAX_MEMORY {
            return fail(format!(
                "--size {} with --batch {} needs {} of memory: the batches of every batch \
                 size are built before the runs and kept, at most {} in all; lower --size or \
                 give fewer batch sizes",
                format_size(self.size),
                seen.iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(","),
                format_size(memory),
                format_size(MAX_MEMORY)
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
/// [`crate::bench::results::keys`].
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

#[cfg(test)]
mod tests {
    use super::*;

    fn config(size: u64, batches: &[u32]) -> WriteConfig {
        WriteConfig {
            ways: vec![Way::Append],
            batches: batches.to_vec(),
            size,
            record_size: 1000,
            runs: 1,
            warmup: 0,
            dir: None,
            keep: false,
            max_seconds: 5.0,
            counters: false,
        }
    }

    #[test]
    fn every_batch_size_must_fit_one_segment_not_just_the_largest() {
        // 1 GiB in batches of 256 fits; the same records one per batch carry 61 more
        // bytes each and would not.
        let ok = config(MAX_SIZE, &[256]);
        ok.validate().expect("1 GiB at batch 256 fits one segment");
        assert!(ok.log_bytes(256) <= MAX_SIZE);
        let both = config(MAX_SIZE, &[1, 256]);
        assert!(both.log_bytes(1) > MAX_SIZE);
        let err = both.validate().unwrap_err().0;
        assert!(err.contains("at --batch 1 makes a log of"), "{err}");
        // The size it proposes is accepted, and is not needlessly small.
        let proposed = err
            .split("use --size ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .expect("a proposed size");
        let size = crate::units::parse_size(proposed).expect("typeable");
        config(size, &[1, 256])
            .validate()
            .expect("the proposed --size fits");
        assert!(config(size + (2 << 20), &[1, 256]).validate().is_err());
    }

    #[test]
    fn log_bytes_is_exact_for_a_partial_last_batch() {
        // One batch of 32 records, written in batches of 5: six of 5 and one of 2.
        let cfg = config(config(0, &[32]).spec(32).batch_bytes(), &[5, 32]);
        assert_eq!(cfg.records(), 32);
        assert_eq!(
            cfg.log_bytes(5),
            6 * cfg.spec(5).batch_bytes() + cfg.spec(2).batch_bytes()
        );
    }

    #[test]
    fn the_batches_built_up_front_are_bounded_in_memory() {
        let mut cfg = config(900 << 20, &[256, 512, 1024, 2048, 4096]);
        cfg.record_size = 100;
        let err = cfg.validate().unwrap_err().0;
        assert!(err.contains("of memory"), "{err}");
        assert!(err.contains("--batch 256,512,1024,2048,4096"), "{err}");
        cfg.batches.truncate(3);
        cfg.validate().expect("three logs of 900 MiB fit");
    }
}
