//! The settings of `zc bench write`, checked before anything is written: every bad value
//! is refused with the option, the allowed range and the fix.

use std::path::PathBuf;

use super::Way;
use crate::error::UsageError;
use crate::log::fixture::{Amount, GenSpec, MAX_BATCH_BYTES};
use crate::units::format_size;

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
