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
//! Laid out as `zc bench`'s [`crate::bench::send`], file for file: this module holds the
//! ways and their textbook model; `config` the settings, `runner` the writing and
//! measuring (in [`crate::bench::rounds`]' interleaved rounds), `metrics` turns runs into
//! figures, `results` holds them, `analysis` says what they show, and
//! `crate::report::write` renders them. Nothing here prints.

pub mod analysis;
pub mod config;
mod metrics;
pub mod results;
pub mod runner;

use std::fmt;

use serde::Serialize;

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
