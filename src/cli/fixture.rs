//! The arguments of `zc fixture`: generate, verify and describe Kafka-format logs.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::units::parse_size;

#[derive(Debug, Subcommand)]
pub enum FixtureCommand {
    /// Write a deterministic segmented log: same arguments, same bytes, on any machine.
    #[command(after_help = "Examples:
  zc fixture gen --out /tmp/log                       # the default: 256 MiB in 64 MiB segments
  zc fixture gen --out /tmp/small --size 4MiB --segment-bytes 1MiB
  zc fixture gen --out /tmp/keys --records 1000 --key-size 0 --value-size 100")]
    Gen(GenArgs),

    /// Check every batch (CRC, magic, lengths), offsets and index entries; changes nothing.
    #[command(
        after_help = "Exits 0 when the log is sound, 1 with one line per problem (file, byte position, \
expected vs found) when it is not.

Example:
  zc fixture verify fixtures/demo-log"
    )]
    Verify(DirArgs),

    /// Show the segments of a log (and, with --batches, every batch) in a table.
    #[command(after_help = "Examples:
  zc fixture info fixtures/demo-log
  zc fixture info fixtures/demo-log/demo-0 --batches")]
    Info(InfoArgs),
}

#[derive(Debug, Args)]
pub struct GenArgs {
    /// Directory to create; it holds one `<topic>-<partition>/` directory per partition.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,

    /// Replace DIR if it exists (only once the new log is complete).
    #[arg(long)]
    pub force: bool,

    /// Topic name: 1-249 characters from [a-zA-Z0-9._-].
    #[arg(long, default_value = "demo")]
    pub topic: String,

    /// Number of partitions; the records are spread evenly over them.
    #[arg(long, default_value_t = 1)]
    pub partitions: u32,

    /// Total size of the .log files (an upper bound: whole batches only). Units: K, M, G (x1024).
    #[arg(long, value_parser = parse_size, conflicts_with = "records", default_value = "256MiB")]
    pub size: u64,

    /// Total number of records, instead of --size.
    #[arg(long)]
    pub records: Option<u64>,

    /// Bytes in each record value.
    #[arg(long, value_parser = parse_size, default_value = "1000")]
    pub value_size: u64,

    /// Bytes in each record key (the offset, zero-padded); 0 writes null keys.
    #[arg(long, value_parser = parse_size, default_value = "16")]
    pub key_size: u64,

    /// Records per RecordBatch.
    #[arg(long, default_value_t = 16)]
    pub records_per_batch: u32,

    /// Roll to a new segment before one would exceed this size (Kafka's segment.bytes).
    #[arg(long, value_parser = parse_size, default_value = "64MiB")]
    pub segment_bytes: u64,

    /// Seed of the pseudo-random value contents.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

#[derive(Debug, Args)]
pub struct DirArgs {
    /// A log directory (holding <topic>-<partition>/ directories) or one partition directory.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct InfoArgs {
    #[command(flatten)]
    pub target: DirArgs,

    /// List every batch, like a dump tool.
    #[arg(long)]
    pub batches: bool,
}
