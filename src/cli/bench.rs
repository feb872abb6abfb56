//! The arguments of `zc bench` (the send path), `zc bench write` (the write path) and
//! `zc sink` (the receiving end of `zc bench --connect`).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use super::parse_chunk;
use crate::bench::send::results::CacheState;
use crate::bench::send::sink::SinkKind;
use crate::net::{CcChoice, Pin};
use crate::transfer::Mode;
use crate::units::parse_size;

pub(super) const BENCH_EXAMPLES: &str = "Examples:
  zc bench                                         # all modes, default 256 MiB log, 64 KiB chunks
  zc bench --mode sendfile --chunk 4K,64K,1M       # one mode, three chunk sizes
  zc bench --mode read-write,sendfile --sink read  # a receiver that copies, like a real consumer
  zc bench --cache cold --runs 3                   # every run reads the log from storage
  zc bench --fixture fixtures/demo-log --verify    # check every byte arrived intact
  zc bench --export results.json --export results.md
  zc bench --chunk 4K,64K,1M --export chart.svg    # throughput and CPU/GiB per mode and chunk
  zc bench --export report.html                    # one page to open anywhere, no root needed
  sudo zc bench --sink read --export profile.svg   # flame graph: where sender and receiver copy
  zc bench --connect 10.0.0.2:9000                 # to a `zc sink --listen` elsewhere
  zc bench --consumers 10 --cache cold             # 10 consumers at once: storage read once?
  zc bench write                                   # the write path, four ways of appending

Figures are medians over --runs (min-max shown); the textbook model is printed apart,
labelled as not measured. Run as root for kernel-mode counters and syscall tracepoints.";

/// A transfer mode on the command line, or all of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ModeChoice {
    All,
    ReadWrite,
    Mmap,
    Sendfile,
    Splice,
    MsgZerocopy,
    IoUring,
    Tls,
    Ktls,
}

impl ModeChoice {
    pub fn modes(self) -> Vec<Mode> {
        match self {
            ModeChoice::All => Mode::ALL.to_vec(),
            ModeChoice::ReadWrite => vec![Mode::ReadWrite],
            ModeChoice::Mmap => vec![Mode::Mmap],
            ModeChoice::Sendfile => vec![Mode::Sendfile],
            ModeChoice::Splice => vec![Mode::Splice],
            ModeChoice::MsgZerocopy => vec![Mode::MsgZerocopy],
            ModeChoice::IoUring => vec![Mode::IoUring],
            ModeChoice::Tls => vec![Mode::Tls],
            ModeChoice::Ktls => vec![Mode::Ktls],
        }
    }
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// `zc bench write`; without it, `zc bench` measures the send path as always.
    #[command(subcommand)]
    pub command: Option<BenchCommand>,

    /// Transfer modes to measure (comma-separated).
    #[arg(long, value_enum, value_delimiter = ',', default_value = "all")]
    pub mode: Vec<ModeChoice>,

    /// The log to send (a `zc fixture gen` directory); default: the embedded default log,
    /// generated once into the cache directory ($ZC_CACHE_DIR, else ~/.cache/zc).
    #[arg(long, value_name = "DIR")]
    pub fixture: Option<PathBuf>,

    /// Bytes per system call (comma-separated list to sweep). Units: K, M (x1024).
    #[arg(long, value_parser = parse_chunk, value_delimiter = ',', default_value = "64K")]
    pub chunk: Vec<usize>,

    /// Measured runs per mode and chunk.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub runs: u32,

    /// Unrecorded runs first, per mode and chunk.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(0..=100))]
    pub warmup: u32,

    /// warm: the log is read once first, so runs find it in the page cache; cold: it is
    /// dropped from the page cache before every run.
    #[arg(long, value_enum, default_value = "warm")]
    pub cache: CacheState,

    /// The receiving end: splice (socket -> pipe -> /dev/null, no copy) or read (recv into
    /// a buffer, like a real consumer).
    #[arg(long, value_enum, default_value = "splice")]
    pub sink: SinkKind,

    /// Send to a `zc sink --listen` at this address instead of an in-process sink.
    #[arg(long, value_name = "ADDR")]
    pub connect: Option<SocketAddr>,

    /// The sink checksums every byte (a copy: not for timing) and the run fails on a mismatch.
    #[arg(long)]
    pub verify: bool,

    /// TCP congestion control on both ends: auto (cubic on loopback when allowed, else the
    /// system default) or a name from net.ipv4.tcp_available_congestion_control.
    #[arg(long, default_value = "auto", value_name = "auto|NAME")]
    pub cc: CcChoice,

    /// Pin the sender and the in-process sink threads to these CPUs, e.g. 0,1. With
    /// --consumers N, all N senders share SENDER_CPU and all N sinks SINK_CPU.
    #[arg(long, value_name = "SENDER_CPU,SINK_CPU")]
    pub pin: Option<Pin>,

    /// Open no perf counters or tracepoints (to measure the measurement's own cost).
    #[arg(long)]
    pub no_counters: bool,

    /// Do not sample the sender's and the sink's call chains (the CPU-clock profile that
    /// shows how much time the kernel spent copying).
    #[arg(long)]
    pub no_profile: bool,

    /// Send the log to this many consumers at once (N connections, N sender threads, N
    /// in-process sinks): one page cache, many readers. Counts are summed over the senders.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub consumers: u32,

    /// Write the results to FILE; the format comes from the extension: .json, .csv, .md,
    /// .svg (a chart of throughput and CPU per GiB), .html (one self-contained page: chart,
    /// tables, model, each mode's diagram, setup); an .svg whose name ends in `profile` or
    /// `flame` (profile.svg) is a flame graph of the sampled call chains, sender and receiver
    /// of every mode. Repeatable. Rewritten after every round of runs, so a crash loses nothing.
    #[arg(long, value_name = "FILE")]
    pub export: Vec<PathBuf>,
}

/// What `zc bench` can measure besides sending (the default).
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Write the same records as a Kafka log four ways (append through the page cache,
    /// append + fdatasync per batch, one write per record, random offsets) and measure
    /// what each costs.
    #[command(after_help = BENCH_WRITE_EXAMPLES)]
    Write(BenchWriteArgs),
}

const BENCH_WRITE_EXAMPLES: &str = "Examples:
  zc bench write                                   # all four ways, batches of 1, 16, 256 records
  zc bench write --way append,per-record --batch 256 --size 64M
  zc bench write --way append-fsync --batch 1,256 --max-seconds 2
  zc bench write --dir /mnt/ssd --keep             # write there and leave the logs to inspect
  zc bench write --export write.json --export write.md

Each run writes the same records (the fixture's generator) into a fresh log in a temporary
directory inside --dir, removed afterwards. The timed region is the loop of appends; the
fdatasync right after it is timed on its own (`flush after`): the device work the page
cache had deferred. Figures are medians over --runs (min-max shown); the textbook model is
printed apart, labelled as not measured. Run as root for kernel-counted system calls.";

#[derive(Debug, Args)]
pub struct BenchWriteArgs {
    /// Ways of writing to measure (comma-separated): append (Kafka's default: page cache,
    /// no fsync), append-fsync (fdatasync after every batch), per-record (one write per
    /// record, same bytes as append), random (the same batches at shuffled offsets of a
    /// preallocated file).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "append,append-fsync,per-record,random"
    )]
    pub way: Vec<crate::bench::write::Way>,

    /// Records per batch (comma-separated list to sweep), 1 to 100000.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "1,16,256",
        value_name = "N"
    )]
    pub batch: Vec<u32>,

    /// Bytes of log per run at the largest --batch (whole batches of it). Every --batch
    /// writes the same records, so smaller batches make a longer log (61 bytes of header
    /// per batch); the log at every --batch must fit one segment of 1 GiB, and all of them
    /// 4 GiB of memory. Units: K, M, G (x1024).
    #[arg(long, value_parser = parse_size, default_value = "16MiB")]
    pub size: u64,

    /// Bytes in each record value (keys are 16 bytes, like the default fixture's); at
    /// least 16.
    #[arg(long, value_parser = parse_size, default_value = "1000", value_name = "BYTES")]
    pub record_size: u64,

    /// Measured runs per way and batch size.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub runs: u32,

    /// Unrecorded runs first, per way and batch size.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(0..=100))]
    pub warmup: u32,

    /// Directory to write in (a fresh directory is made inside it and removed after);
    /// default: the system's temporary directory ($TMPDIR, else /tmp).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,

    /// Leave the last run's log of each way and batch size in place (the path is printed).
    #[arg(long)]
    pub keep: bool,

    /// A run stops after the batch that crosses this many seconds; its figures are then
    /// per record written. Bounds fsync-per-record runs, which can take minutes.
    #[arg(long, default_value_t = 5.0, value_name = "SECONDS")]
    pub max_seconds: f64,

    /// Open no perf counters or tracepoints (to measure the measurement's own cost).
    #[arg(long)]
    pub no_counters: bool,

    /// Write the results to FILE; the format comes from the extension: .json, .csv, .md.
    /// Repeatable. Rewritten after every round of runs, so a crash loses nothing.
    #[arg(long, value_name = "FILE")]
    pub export: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SinkArgs {
    /// Address to listen on, e.g. 127.0.0.1:9000.
    #[arg(long, value_name = "ADDR")]
    pub listen: SocketAddr,

    /// How to receive: splice (no copy) or read (recv into a buffer).
    #[arg(long, value_enum, default_value = "splice")]
    pub sink: SinkKind,

    /// Checksum every byte received and report it to the sender (a copy: not for timing).
    #[arg(long)]
    pub verify: bool,

    /// Bytes per receive call.
    #[arg(long, value_parser = parse_chunk, default_value = "64K")]
    pub chunk: usize,

    /// Stop after this many connections (default: serve until interrupted).
    #[arg(long, value_name = "N")]
    pub connections: Option<u64>,

    /// TCP congestion control of accepted connections, set on the listening socket: auto
    /// (cubic when listening on loopback, else the system default) or an algorithm name.
    #[arg(long, default_value = "auto", value_name = "auto|NAME")]
    pub cc: CcChoice,
}
