//! Kafka's on-disk log, reproduced byte for byte.
//!
//! This is the file every transfer mode sends and the broker serves, in the format Kafka
//! itself writes, so Kafka's own tools and clients can read it:
//! - [`varint`]: the zigzag varints inside records;
//! - [`batch`]: RecordBatch v2, the 61-byte header, the records and the CRC-32C;
//! - [`compression`]: the gzip, snappy, lz4 and zstd codecs a batch's records may use;
//! - [`index`]: the sparse `.index` and `.timeindex` and the rule for when they get entries;
//! - [`segment`]: one `.log` file and its indexes, appending, scanning, finding batches;
//! - [`partition`]: the `<topic>-<partition>/` directory of segments and [`partition::PartitionLog`],
//!   the one append path (validation, offsets, rolling) and the read path for Fetch;
//! - [`lock`]: one broker per log directory (an exclusive `flock` on `.lock`);
//! - [`producer`]: idempotent producers' state, so a retried batch is stored once;
//! - [`recovery`]: after a crash, truncating a torn tail and rebuilding indexes;
//! - [`check`]: reading everything back and checking it (`zc fixture verify`/`info`);
//! - [`fixture`]: deterministic generation and the cached default fixture.

pub mod batch;
pub mod check;
pub mod compression;
pub mod fixture;
pub mod index;
pub mod lock;
pub mod partition;
pub mod producer;
pub mod recovery;
pub mod segment;
pub mod varint;
