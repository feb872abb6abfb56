//! The write-path runner: build the batches once, then write them as a log, each way at
//! each batch size, bracketing every run with the probe. Returns data; never prints.
//!
//! One *run* writes every record once into a fresh partition directory. Outside the timed
//! region: building the batches (as a producer would, before the broker sees them),
//! resetting their offsets, creating the segment files (and, for `random`, preallocating
//! the file), reading the device counter, and afterwards the flush and the clean-up. The
//! timed region is the loop of appends and nothing else:
//!
//! ```text
//! device counter ─ probe.start ─ for each batch: validate, write (, fdatasync) ─ probe.stop ─ device counter
//!                  └──────────────────── timed: MiB/s, records/s, syscalls ───┘
//! then: fdatasync the .log (timed on its own: the work the page cache deferred), close,
//!       check the file holds every byte, delete it (unless --keep)
//! ```
//!
//! The flush after every run also keeps the runs independent: no run starts with the
//! previous run's dirty pages still waiting for writeback.
//!
//! Runs are interleaved as in `zc bench`: each round runs every way x batch once, in an
//! order rotated from round to round, so drift on a shared machine hits all of them alike.

use std::fs::{self, File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::config::WriteConfig;
use super::results::{WRITE_SCHEMA, WriteReport, WriteRow, WriteRun, WriteSetup};
use super::{Way, metrics};
use crate::bench::rounds;
use crate::error::UsageError;
use crate::log::batch;
use crate::log::fixture::{RecordGen, SplitMix64};
use crate::log::partition::{FlushPolicy, LogConfig, PartitionLog};
use crate::log::segment::SegmentFiles;
use crate::measure::{self, BlockDevice, Probe, ProbeOptions, Reading};

/// The partition every run writes: topic `bench`, partition 0.
const PARTITION: &str = "bench-0";

/// What the runner tells its caller between runs (never inside one).
pub type Event<'a> = rounds::Event<'a, WriteReport>;

/// One batch inside [`Prepared::bytes`].
struct Slot {
    start: usize,
    end: usize,
    /// Offset of its first record once appended.
    first_offset: i64,
    records: u64,
    /// Its records' end positions, relative to `start`: `Prepared::ends[ends]`.
    ends: std::ops::Range<usize>,
}

/// Every batch of one batch size, built once before any run, reused by every run.
struct Prepared {
    bytes: Vec<u8>,
    slots: Vec<Slot>,
    ends: Vec<usize>,
}

impl Prepared {
    fn build(cfg: &WriteConfig, batch: u32) -> Prepared {
        let records = cfg.records();
        let mut generator = RecordGen::new(&cfg.spec(batch), 0);
        let per_batch = u64::from(batch);
        let mut bytes = Vec::with_capacity(cfg.log_bytes(batch) as usize);
        let (mut slots, mut ends) = (Vec::new(), Vec::new());
        let mut next = 0u64;
        while next < records {
            let count = per_batch.min(records - next);
            let start = bytes.len();
            let first_end = ends.len();
            generator.batch(&mut bytes, next as i64, count, Some(&mut ends));
            slots.push(Slot {
                start,
                end: bytes.len(),
                first_offset: next as i64,
                records: count,
                ends: first_end..ends.len(),
            });
            next += count;
        }
        // `validate` bounded the log (and the memory) by this very figure.
        debug_assert_eq!(bytes.len() as u64, cfg.log_bytes(batch));
        Prepared { bytes, slots, ends }
    }

    /// Sets every batch's baseOffset: 0 as a producer sends it (the log assigns offsets),
    /// or the offset it will have, for `random`, which writes the file without a log.
    fn stamp(&mut self, final_offsets: bool) {
        for slot in &self.slots {
            let offset = if final_offsets { slot.first_offset } else { 0 };
            self.bytes[slot.start..slot.start + 8].copy_from_slice(&offset.to_be_bytes());
        }
    }
}

/// Runs the whole benchmark in the calling thread, which the probe counts.
pub fn run(cfg: &WriteConfig, on: &mut dyn FnMut(Event)) -> Result<WriteReport> {
    cfg.validate()?;
    let parent = cfg.dir.clone().unwrap_or_else(std::env::temp_dir);
    let work = tempfile::Builder::new()
        .prefix("zc-bench-write-")
        .tempdir_in(&parent)
        .map_err(|e| {
            UsageError(format!(
                "--dir {}: cannot create a directory there ({e}); choose a writable directory",
                parent.display()
            ))
        })?;

    let combos = rounds::combinations(&cfg.ways, &cfg.batches);
    let mut batch_sizes: Vec<u32> = combos.iter().map(|&(_, b)| b).collect();
    batch_sizes.sort_unstable();
    batch_sizes.dedup();
    let mut prepared: Vec<(u32, Prepared)> = batch_sizes
        .iter()
        .map(|&b| (b, Prepared::build(cfg, b)))
        .collect();

    let device = BlockDevice::of(work.path());
    let mut probe = Probe::open(&ProbeOptions {
        counters: cfg.counters,
        profile: false,
    });
    let setup = WriteSetup {
        zc_version: env!("CARGO_PKG_VERSION"),
        environment: measure::environment(),
        counters: crate::bench::results::counters(probe.availability()),
        dir: work.path().to_owned(),
        filesystem: measure::filesystem_type(work.path()),
        device: device.clone(),
        records: cfg.records(),
        record_size: cfg.record_size,
        key_size: super::config::KEY_SIZE,
        batches: batch_sizes.clone(),
        runs: cfg.runs,
        warmup: cfg.warmup,
        max_seconds: cfg.max_seconds,
        dirty_settings: measure::writeback_settings(),
    };
    let report = |runs: &[Vec<WriteRun>]| WriteReport {
        schema: WRITE_SCHEMA,
        kind: "write",
        setup: setup.clone(),
        rows: combos
            .iter()
            .zip(runs)
            .map(|(&(way, batch), runs)| WriteRow {
                way,
                batch,
                model: way.model(batch),
                metrics: metrics::metrics(runs, setup.no_storage().as_deref()),
                runs: runs.clone(),
            })
            .collect(),
    };

    let finished = rounds::interleaved(
        &combos,
        (cfg.warmup, cfg.runs),
        |_, (way, batch)| {
            let dir = work.path().join(format!("{way}-b{batch}"));
            let batches = &mut prepared
                .iter_mut()
                .find(|(b, _)| *b == batch)
                .expect("prepared every batch size")
                .1;
            let record = Once {
                way,
                cfg,
                device: &device,
            }
            .run(&mut probe, batches, &dir)
            .with_context(|| format!("{way} run with --batch {batch} failed"))?;
            if !cfg.keep {
                fs::remove_dir_all(&dir)
                    .with_context(|| format!("cannot remove {}", dir.display()))?;
            }
            Ok(record)
        },
        report,
        on,
    )?;
    if cfg.keep {
        // The caller prints where; the directory outlives us on purpose.
        let _ = work.keep();
    }
    Ok(finished)
}

/// The fixed ingredients of one run.
struct Once<'a> {
    way: Way,
    cfg: &'a WriteConfig,
    device: &'a Reading<BlockDevice>,
}

/// What the timed loop counted.
#[derive(Default)]
struct Counts {
    bytes: u64,
    records: u64,
    batches: u64,
    writes: u64,
    fsyncs: u64,
    stopped_early: bool,
}

impl Once<'_> {
    /// One run into `dir`, replacing what an earlier run left there. Returns the record
    /// with `run` still 0.
    fn run(&self, probe: &mut Probe, prepared: &mut Prepared, dir: &Path) -> Result<WriteRun> {
        if dir.exists() {
            fs::remove_dir_all(dir).with_context(|| format!("cannot remove {}", dir.display()))?;
        }
        let partition_dir = dir.join(PARTITION);
        let log_path = SegmentFiles::new(&partition_dir, 0).log;
        let deadline = Duration::from_secs_f64(self.cfg.max_seconds);
        let (counts, sample, device_loop, flush, device_flush) = match self.way {
            Way::Random => {
                prepared.stamp(true);
                fs::create_dir_all(&partition_dir)
                    .with_context(|| format!("cannot create {}", partition_dir.display()))?;
                let file = OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create_new(true)
                    .open(&log_path)
                    .with_context(|| format!("cannot create {}", log_path.display()))?;
                preallocate(&file, prepared.bytes.len() as u64)
                    .with_context(|| format!("cannot preallocate {}", log_path.display()))?;
                let order = shuffled(prepared.slots.len());
                let before = self.device_writes();
                probe.start().context("cannot start the probe")?;
                let counts = write_random(&file, prepared, &order, deadline);
                let sample = probe.stop().context("cannot stop the probe")?;
                let device_loop = self.device_writes_since(&before);
                let counts = counts?;
                let flushing = Instant::now();
                let after_loop = self.device_writes();
                file.sync_data().context("cannot fdatasync the file")?;
                let flush = flushing.elapsed();
                (
                    counts,
                    sample,
                    device_loop,
                    flush,
                    self.device_writes_since(&after_loop),
                )
            }
            Way::Append | Way::AppendFsync | Way::PerRecord => {
                prepared.stamp(false);
                let config = LogConfig {
                    segment_bytes: super::config::MAX_SIZE,
                    flush: if self.way == Way::AppendFsync {
                        FlushPolicy::Always
                    } else {
                        FlushPolicy::Os
                    },
                    ..LogConfig::default()
                };
                let mut log = PartitionLog::create(&partition_dir, config)
                    .with_context(|| format!("cannot create {}", partition_dir.display()))?;
                let before = self.device_writes();
                probe.start().context("cannot start the probe")?;
                let counts = append_all(&mut log, prepared, self.way, deadline);
                let sample = probe.stop().context("cannot stop the probe")?;
                let device_loop = self.device_writes_since(&before);
                let counts = counts?;
                let flushing = Instant::now();
                let after_loop = self.device_writes();
                log.flush().context("cannot flush the log")?;
                let flush = flushing.elapsed();
                let device_flush = self.device_writes_since(&after_loop);
                log.close().context("cannot close the log")?;
                (counts, sample, device_loop, flush, device_flush)
            }
        };
        // The file must hold what the loop says it wrote (a preallocated file is as long
        // as the whole log from the start).
        let len = fs::metadata(&log_path)
            .with_context(|| format!("cannot stat {}", log_path.display()))?
            .len();
        let expected = if self.way == Way::Random {
            prepared.bytes.len() as u64
        } else {
            counts.bytes
        };
        if len != expected {
            bail!(
                "{} is {len} bytes after the run, expected {expected}",
                log_path.display()
            );
        }
        Ok(WriteRun {
            run: 0,
            bytes: counts.bytes,
            records: counts.records,
            batches: counts.batches,
            stopped_early: counts.stopped_early,
            writes_self: counts.writes,
            fsyncs_self: counts.fsyncs,
            sample,
            device_bytes_loop: device_loop,
            flush_after_ns: u64::try_from(flush.as_nanos()).unwrap_or(u64::MAX),
            device_bytes_flush: device_flush,
        })
    }

    fn device_writes(&self) -> Reading<measure::DeviceWrites> {
        match self.device {
            Reading::Value(d) => d.writes().map_or_else(
                |e| Reading::Unavailable(format!("cannot read the device counters: {e}")),
                Reading::Value,
            ),
            Reading::Unavailable(why) => Reading::Unavailable(why.clone()),
        }
    }

    fn device_writes_since(&self, start: &Reading<measure::DeviceWrites>) -> Reading<u64> {
        match (self.device_writes(), start) {
            (Reading::Value(end), Reading::Value(start)) => Reading::Value(end.since(start)),
            (Reading::Unavailable(why), _) => Reading::Unavailable(why),
            (_, Reading::Unavailable(why)) => Reading::Unavailable(why.clone()),
        }
    }
}

/// The timed loop of the append ways: one append per batch through the partition log
/// (validation, offsets, one write or one per record, fdatasync under `append-fsync`).
fn append_all(
    log: &mut PartitionLog,
    prepared: &mut Prepared,
    way: Way,
    limit: Duration,
) -> Result<Counts> {
    let started = Instant::now();
    let mut c = Counts::default();
    let total = prepared.slots.len();
    for (n, slot) in prepared.slots.iter().enumerate() {
        let bytes = &mut prepared.bytes[slot.start..slot.end];
        let appended = if way == Way::PerRecord {
            c.writes += slot.records;
            log.append_batches_in_writes(bytes, &prepared.ends[slot.ends.clone()])
        } else {
            c.writes += 1;
            log.append_batches(bytes)
        };
        appended.with_context(|| format!("append of batch {n} failed"))?;
        if way == Way::AppendFsync {
            c.fsyncs += 1;
        }
        c.bytes += (slot.end - slot.start) as u64;
        c.records += slot.records;
        c.batches += 1;
        // `Instant::now` is answered by the vDSO: no system call in the counts.
        if n + 1 < total && started.elapsed() >= limit {
            c.stopped_early = true;
            break;
        }
    }
    Ok(c)
}

/// The timed loop of `random`: each batch validated as the append path does, then written
/// at its own position, in the shuffled `order`. Nothing else: unlike the append loop,
/// no offsets are assigned here (`Prepared::stamp` did it) and no index entries are kept.
fn write_random(
    file: &File,
    prepared: &Prepared,
    order: &[usize],
    limit: Duration,
) -> Result<Counts> {
    let started = Instant::now();
    let mut c = Counts::default();
    for (n, &i) in order.iter().enumerate() {
        let slot = &prepared.slots[i];
        let bytes = &prepared.bytes[slot.start..slot.end];
        batch::validate(bytes).with_context(|| format!("batch {i} is invalid"))?;
        file.write_all_at(bytes, slot.start as u64)
            .with_context(|| format!("cannot write batch {i}"))?;
        c.writes += 1;
        c.bytes += bytes.len() as u64;
        c.records += slot.records;
        c.batches += 1;
        if n + 1 < order.len() && started.elapsed() >= limit {
            c.stopped_early = true;
            break;
        }
    }
    Ok(c)
}

/// Reserves `len` bytes of disk for `file` and sets its size (fallocate mode 0), so the
/// random writes fill allocated blocks instead of growing the file.
fn preallocate(file: &File, len: u64) -> std::io::Result<()> {
    let len = libc::off_t::try_from(len).map_err(std::io::Error::other)?;
    // SAFETY: a valid open descriptor, plain integers.
    let rc = unsafe { libc::fallocate(file.as_raw_fd(), 0, 0, len) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// `0..n` in a pseudo-random order (Fisher-Yates with the fixture's SplitMix64, fixed
/// seed): every run of `random` writes the batches in the same shuffled order.
fn shuffled(n: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = SplitMix64::new(0x007a_6377_7269_7465);
    for i in (1..n).rev() {
        let j = (rng.next() % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shuffled_is_a_permutation_and_not_the_identity() {
        let order = shuffled(1000);
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..1000).collect::<Vec<_>>());
        assert_ne!(order, sorted);
    }
}
