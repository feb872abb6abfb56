//! The command line, declared once with clap's derive API. Nothing here runs anything:
//! `main.rs` parses these structs and hands them to `cmd`.

use std::path::PathBuf;

use std::net::SocketAddr;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::bench::send::config::MAX_CHUNK;
use crate::bench::send::results::CacheState;
use crate::bench::send::sink::SinkKind;
use crate::log::partition::FlushPolicy;
use crate::net::{CcChoice, Pin};
use crate::transfer::Mode;
use crate::units::{format_size, parse_size};

#[derive(Debug, Parser)]
#[command(
    name = "zc",
    version,
    about = "See, measure and teach zero-copy I/O",
    long_about = "zc moves the same bytes from a file to a TCP socket four ways (read-write, mmap, \
                  sendfile, splice) and shows, with the kernel's own counters, what each way costs. \
                  The file is a segmented log in Apache Kafka's on-disk format.",
    propagate_version = true,
    after_help = "Examples:
  zc explain sendfile                              # where the bytes go, drawn for a terminal
  zc bench                                         # measure all four modes on the default log
  zc bench --export results.json --export chart.svg && zc explain all --results results.json
  zc serve                                         # a mini Kafka broker serving the same log
  zc fixture info fixtures/demo-log                # the segments of a Kafka-format log

Every subcommand has its own --help with examples. Shell completions: `zc completions
bash`; man pages: `zc man`, or `zc man --out-dir DIR` for one page per subcommand. The
docs/ directory has a page per mode and a 45-minute lesson plan."
)]
pub struct Cli {
    /// Hide progress bars and informational lines on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Send a log to a TCP socket with each transfer mode and measure what each costs;
    /// `zc bench write` measures the write path instead.
    #[command(after_help = BENCH_EXAMPLES, args_conflicts_with_subcommands = true)]
    Bench(BenchArgs),

    /// A mini Kafka broker: real clients (kcat, kafka-python) produce and consume, and
    /// fetches are served from the segment files with the chosen transfer mode.
    #[command(after_help = "Examples:
  zc serve                                        # a copy of the default log as topic `demo`
  kcat -b 127.0.0.1:9092 -C -t demo -o beginning -e | head
  zc serve --log-dir /tmp/broker --transfer read-write --segment-bytes 1MiB
  zc serve --addr 0.0.0.0:9092 --advertise myhost:9092
  zc serve --transfer mmap --inspect              # the broker reads (CRC, counts) what it sends
  zc serve --transfer mmap --inspect --inspect-header route=dlq

Fetch responses are written as header bytes followed by the record bytes straight from the
segment file (sendfile by default), as Kafka does. Ctrl-C stops it cleanly.")]
    Serve(ServeArgs),

    /// Receive bench transfers from another process, namespace or host (`zc bench --connect`).
    #[command(after_help = "Examples:
  zc sink --listen 127.0.0.1:9000                   # then: zc bench --connect 127.0.0.1:9000
  zc sink --listen 0.0.0.0:9000 --sink read --verify --connections 8")]
    Sink(SinkArgs),

    /// Generate, verify and describe Kafka-format segmented logs.
    #[command(
        subcommand,
        after_help = "Examples:
  zc fixture gen --out /tmp/log                      # 256 MiB in 64 MiB segments, deterministic
  zc fixture verify /tmp/log                         # every CRC, offset and index entry
  zc fixture info fixtures/demo-log                  # a table of segments"
    )]
    Fixture(FixtureCommand),

    /// Send records to a topic of `zc serve` or a real Kafka broker: stdin lines, or generated.
    #[command(after_help = PRODUCE_EXAMPLES)]
    Produce(ProduceArgs),

    /// Print the record values of a topic partition, one per line, or measure the throughput.
    #[command(after_help = CONSUME_EXAMPLES)]
    Consume(ConsumeArgs),

    /// List, create, grow, delete and describe the topics of `zc serve` or a Kafka broker
    /// (like kafka-topics).
    #[command(subcommand, after_help = TOPICS_EXAMPLES)]
    Topics(TopicsCommand),

    /// Draw where the bytes go in each transfer mode: DMA and CPU copies, user<->kernel
    /// mode switches, the textbook totals, the caveats; measured figures beside them.
    #[command(after_help = EXPLAIN_EXAMPLES)]
    Explain(ExplainArgs),

    /// Print a shell completion script for zc.
    #[command(after_help = "Examples:
  zc completions bash > /etc/bash_completion.d/zc        # or ~/.local/share/bash-completion/completions/zc
  zc completions zsh > \"${fpath[1]}/_zc\"
  zc completions fish > ~/.config/fish/completions/zc.fish
  source <(zc completions bash)                          # this shell only")]
    Completions(CompletionsArgs),

    /// Print zc's man page (roff), made from the same definition as --help.
    #[command(after_help = "Examples:
  zc man | man -l -                                      # read it now
  zc man > /usr/local/share/man/man1/zc.1
  zc man --out-dir /tmp/man && man -l /tmp/man/zc-bench.1   # one page per subcommand too")]
    Man(ManArgs),
}

const EXPLAIN_EXAMPLES: &str = "Examples:
  zc explain                                       # every mode (eight), then their totals side by side
  zc explain sendfile                              # one mode
  zc bench --export results.json && zc explain all --results results.json
  NO_COLOR=1 zc explain mmap | less                # colour only on a terminal, never with NO_COLOR

The diagram needs 78 columns; a narrower terminal gets the same steps as a list. Nothing is
measured here: the figures under MEASURED come from the --results file.";

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The mode to explain, or all of them.
    #[arg(value_enum, default_value = "all")]
    pub mode: ModeChoice,

    /// A `zc bench --export FILE.json` result: its measured figures are shown beside the model.
    #[arg(long, value_name = "FILE.json")]
    pub results: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to write the script for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write zc.1 and one page per subcommand (zc-bench.1, ...) into DIR instead of
    /// printing zc.1.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

const BENCH_EXAMPLES: &str = "Examples:
  zc bench                                         # all modes, default 256 MiB log, 64 KiB chunks
  zc bench --mode sendfile --chunk 4K,64K,1M       # one mode, three chunk sizes
  zc bench --mode read-write,sendfile --sink read  # a receiver that copies, like a real consumer
  zc bench --cache cold --runs 3                   # every run reads the log from storage
  zc bench --fixture fixtures/demo-log --verify    # check every byte arrived intact
  zc bench --export results.json --export results.md
  zc bench --chunk 4K,64K,1M --export chart.svg    # throughput and CPU/GiB per mode and chunk
  zc bench --export report.html                    # one page to open anywhere, no root needed
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

/// The transfer modes that write plain bytes: a fetch response's header is written in the
/// clear before the records, so a mode that speaks TLS itself cannot carry the records.
fn plaintext_mode() -> impl clap::builder::TypedValueParser<Value = Mode> {
    use clap::builder::{PossibleValuesParser, TypedValueParser};
    let names = Mode::ALL
        .into_iter()
        .filter(|m| !m.encrypts())
        .filter_map(|m| m.to_possible_value());
    PossibleValuesParser::new(names)
        .map(|name| Mode::from_str(&name, false).expect("a listed mode name"))
}

/// A chunk size: 1 byte to 64 MiB, with units.
fn parse_chunk(text: &str) -> Result<usize, String> {
    let size = parse_size(text)?;
    if size == 0 || size > MAX_CHUNK as u64 {
        return Err(format!(
            "chunk must be 1 byte to {}, found {text}",
            format_size(MAX_CHUNK as u64)
        ));
    }
    Ok(size as usize)
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
    /// tables, model, each mode's diagram, setup). Repeatable. Rewritten after every round of runs, so a crash loses nothing.
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
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9092", value_name = "ADDR")]
    pub addr: SocketAddr,

    /// host:port clients are told to connect to (Metadata); default: the listening address.
    #[arg(long, value_name = "HOST:PORT")]
    pub advertise: Option<String>,

    /// Log directory (one <topic>-<partition>/ per partition); default: a temporary copy of
    /// the embedded default log, served as topic `demo`.
    #[arg(long, value_name = "DIR")]
    pub log_dir: Option<PathBuf>,

    /// How fetch responses move record bytes from the segment files to the socket.
    #[arg(long, default_value = "sendfile", value_parser = plaintext_mode())]
    pub transfer: Mode,

    /// Bytes per transfer call on the fetch path.
    #[arg(long, value_parser = parse_chunk, default_value = "256K")]
    pub chunk: usize,

    /// TCP congestion control of each client connection (the direction fetches flow):
    /// auto (cubic for loopback clients when allowed, since bbr paces loopback several-fold;
    /// the system default for the others) or a name from
    /// net.ipv4.tcp_available_congestion_control.
    #[arg(long, default_value = "auto", value_name = "auto|NAME")]
    pub cc: CcChoice,

    /// Roll to a new segment before one would exceed this size (Kafka's segment.bytes).
    #[arg(long, value_parser = parse_size, default_value = "64MiB")]
    pub segment_bytes: u64,

    /// Connections served at once. At the limit, the connection idle the longest is closed
    /// to make room; if none is idle, the newcomer is closed with a log line.
    #[arg(long, default_value_t = 256)]
    pub max_connections: usize,

    /// Connections served at once from one IP address (Kafka's max.connections.per.ip);
    /// default: no limit of its own.
    #[arg(long, value_name = "N")]
    pub max_connections_per_ip: Option<usize>,

    /// Largest request frame accepted (Kafka's socket.request.max.bytes).
    #[arg(long, value_parser = parse_size, default_value = "100MiB")]
    pub max_request_bytes: u64,

    /// Bytes that requests being received may reserve together, beyond the first 64 KiB of
    /// each (Kafka's queued.max.request.bytes); past it, a connection stops reading until
    /// other requests are answered. Memory is allocated only as the bytes arrive.
    #[arg(long, value_parser = parse_size, default_value = "512MiB")]
    pub max_queued_request_bytes: u64,

    /// Close a connection idle for this many seconds (Kafka's connections.max.idle.ms).
    #[arg(long, default_value_t = 600, value_name = "SECONDS")]
    pub idle_timeout: u64,

    /// Answer UNKNOWN_TOPIC_OR_PARTITION instead of creating unknown topics.
    #[arg(long)]
    pub no_auto_create: bool,

    /// Partitions of all topics together; creating more is answered POLICY_VIOLATION.
    #[arg(long, default_value_t = 10_000, value_name = "N")]
    pub max_partitions: usize,

    /// Partitions of a topic created on first use (Kafka's num.partitions); CreateTopics
    /// may ask for any count.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub partitions: u32,

    /// Largest record batch a producer may append, compressed size and 12 bytes of log
    /// overhead included (Kafka's max.message.bytes, default 1 MiB + 12); larger batches
    /// are answered MESSAGE_TOO_LARGE.
    #[arg(long, value_parser = parse_size, default_value = "1048588", value_name = "SIZE")]
    pub max_message_bytes: u64,

    /// Topics one Metadata or Produce request may create; the rest of its unknown topics
    /// are answered THROTTLING_QUOTA_EXCEEDED (the client may ask again).
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub max_creations_per_request: usize,

    /// os: leave write-back to the page cache (Kafka's default); always: fdatasync before acking.
    #[arg(long, value_enum, default_value = "os")]
    pub flush: FlushPolicy,

    /// Read every batch a fetch sends (CRC-32C, record count) and report the totals in the
    /// live stats, RocketMQ-style. Needs --transfer mmap or read-write: with sendfile and
    /// splice the bytes never reach the broker's memory.
    #[arg(long)]
    pub inspect: bool,

    /// With --inspect, also count the records carrying this header (KEY, or KEY=VALUE).
    #[arg(long, value_name = "KEY[=VALUE]", requires = "inspect")]
    pub inspect_header: Option<String>,
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

const PRODUCE_EXAMPLES: &str = "Examples:
  printf 'hello\\nworld\\n' | zc produce -b 127.0.0.1:9092 -t greetings
  zc produce -b 127.0.0.1:9092 -t load --records 1000000 --record-size 100
  zc produce -b 127.0.0.1:9092 -t load --records 100000 --acks 0 --batch-size 1M
  zc produce -b kafka.example:9092 -t logs --acks 1 < app.log      # a real Kafka works too

Each stdin line (without its newline) becomes one record value with a null key. Generated
values look like the fixture's: `0:000000000042 ` then letters. Records travel in batches
of at most --batch-size bytes; a batch that is not full leaves after --linger-ms. Up to
--max-in-flight requests are on the wire at once. The summary (records, batches, MiB/s,
records/s, offsets) goes to stderr.";

const TOPICS_EXAMPLES: &str = "Examples:
  zc topics list -b 127.0.0.1:9092
  zc topics create -b 127.0.0.1:9092 orders --partitions 4
  zc topics alter -b 127.0.0.1:9092 orders --partitions 8     # grow only, like Kafka
  zc topics describe -b 127.0.0.1:9092 orders                 # partitions, offsets, settings
  zc topics delete -b 127.0.0.1:9092 orders

zc serve is a single broker: a replication factor other than 1 is refused with
INVALID_REPLICATION_FACTOR.";

const CONSUME_EXAMPLES: &str = "Examples:
  zc consume -b 127.0.0.1:9092 -t demo | head       # the log `zc serve` serves by default
  zc consume -b 127.0.0.1:9092 -t demo --bench      # throughput instead of values
  zc consume -b 127.0.0.1:9092 -t load --from 1000 --count 10
  zc consume -b 127.0.0.1:9092 -t greetings --from latest --follow
  zc consume -b 127.0.0.1:9092 -t demo --group readers  # again: only what is new since

Values are written as they are, each followed by a newline (a null value is an empty line).
Without --count, zc stops at the end the partition had when it started (its high
watermark); --follow keeps waiting for new records instead. Offsets must be contiguous and
every batch's CRC-32C valid, or zc stops with an error. A summary goes to stderr; with
--bench it goes to stdout instead of the values.";

#[derive(Debug, Args)]
pub struct ProduceArgs {
    /// A broker to start from; zc then asks it for the partition leader's advertised
    /// address and produces there.
    #[arg(short, long, value_name = "HOST:PORT")]
    pub bootstrap: String,

    /// Topic to write to; `zc serve` creates it unless started with --no-auto-create.
    #[arg(short, long)]
    pub topic: String,

    /// Partition to write to.
    #[arg(short, long, default_value_t = 0, value_parser = clap::value_parser!(i32).range(0..))]
    pub partition: i32,

    /// When the broker answers: 0 never (no offsets, no errors), 1 once the leader has the
    /// batch, -1 (or all) once every in-sync replica has it. -1 is the default of Kafka's
    /// producer and of kcat.
    #[arg(long, default_value = "-1", value_parser = parse_acks, allow_hyphen_values = true,
          value_name = "0|1|-1")]
    pub acks: crate::client::Acks,

    /// Largest batch (Kafka's batch.size); a single larger record travels alone.
    #[arg(long, value_parser = parse_batch_size, default_value = "16K", value_name = "SIZE")]
    pub batch_size: usize,

    /// Send a batch that is not full this many milliseconds after its first record
    /// (Kafka's linger.ms); 0 sends as soon as stdin has nothing more ready.
    #[arg(long, default_value_t = 5, value_name = "MS")]
    pub linger_ms: u64,

    /// Generate this many records instead of reading stdin.
    #[arg(long, value_name = "N")]
    pub records: Option<u64>,

    /// Bytes in each generated value (with --records).
    #[arg(long, value_parser = parse_size, default_value = "100", requires = "records",
          value_name = "BYTES")]
    pub record_size: u64,

    /// Requests sent before the oldest one is answered (Kafka's
    /// max.in.flight.requests.per.connection).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100),
          value_name = "N")]
    pub max_in_flight: u32,

    /// Compress each batch's records: none, gzip, snappy, lz4 or zstd (Kafka's
    /// compression.type); the broker stores the batch compressed, as sent
    #[arg(long, default_value = "none", value_name = "CODEC")]
    pub compression: crate::log::compression::Codec,

    /// Seconds the broker may take to answer a request (Kafka's request.timeout.ms).
    #[arg(long, default_value_t = 30, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub request_timeout: u64,
}

#[derive(Debug, Subcommand)]
pub enum TopicsCommand {
    /// Every topic's name, one per line (sorted).
    #[command(after_help = "Examples:
  zc topics list -b 127.0.0.1:9092")]
    List {
        /// Broker to ask (zc serve, or any Kafka broker).
        #[arg(short, long, value_name = "HOST:PORT")]
        bootstrap: String,
    },
    /// Create a topic (CreateTopics).
    #[command(after_help = "Examples:
  zc topics create -b 127.0.0.1:9092 orders --partitions 4
  zc topics create -b 127.0.0.1:9092 orders --validate-only   # check, create nothing")]
    Create {
        /// Broker to ask (zc serve, or any Kafka broker).
        #[arg(short, long, value_name = "HOST:PORT")]
        bootstrap: String,
        /// Topic name.
        topic: String,
        /// Partitions; default: the broker's (zc serve --partitions, Kafka's num.partitions).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(i32).range(1..))]
        partitions: Option<i32>,
        /// Replicas per partition; default: the broker's (1 for zc serve).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(i16).range(1..))]
        replication_factor: Option<i16>,
        /// Ask the broker to check the request without creating anything.
        #[arg(long)]
        validate_only: bool,
    },
    /// Grow a topic to more partitions (CreatePartitions); partitions are never removed.
    #[command(after_help = "Examples:
  zc topics alter -b 127.0.0.1:9092 orders --partitions 8")]
    Alter {
        /// Broker to ask (zc serve, or any Kafka broker).
        #[arg(short, long, value_name = "HOST:PORT")]
        bootstrap: String,
        /// Topic name.
        topic: String,
        /// The new total number of partitions.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(i32).range(1..))]
        partitions: i32,
    },
    /// Delete topics and their records (DeleteTopics).
    #[command(after_help = "Examples:
  zc topics delete -b 127.0.0.1:9092 orders old-orders")]
    Delete {
        /// Broker to ask (zc serve, or any Kafka broker).
        #[arg(short, long, value_name = "HOST:PORT")]
        bootstrap: String,
        /// Topics to delete.
        #[arg(required = true)]
        topics: Vec<String>,
    },
    /// Partitions with leader, replicas and offsets, and the settings the broker applies
    /// (DescribeConfigs) with where each comes from; all topics if none named.
    #[command(after_help = "Examples:
  zc topics describe -b 127.0.0.1:9092            # every topic
  zc topics describe -b 127.0.0.1:9092 orders")]
    Describe {
        /// Broker to ask (zc serve, or any Kafka broker).
        #[arg(short, long, value_name = "HOST:PORT")]
        bootstrap: String,
        /// Topics to describe; all when none given.
        topics: Vec<String>,
    },
}

#[derive(Debug, Args)]
pub struct ConsumeArgs {
    /// A broker to start from; zc then asks it for the partition leader's advertised
    /// address and fetches there.
    #[arg(short, long, value_name = "HOST:PORT")]
    pub bootstrap: String,

    /// Topic to read.
    #[arg(short, long)]
    pub topic: String,

    /// Partition to read.
    #[arg(short, long, default_value_t = 0, value_parser = clap::value_parser!(i32).range(0..))]
    pub partition: i32,

    /// Where to start: earliest (the oldest record kept), latest (only records produced
    /// from now on) or an offset. An offset past the partition's end is an error (exit 1),
    /// or, with --follow, waited for.
    #[arg(long, default_value = "earliest", value_parser = parse_start,
          value_name = "earliest|latest|OFFSET")]
    pub from: crate::client::StartOffset,

    /// Stop after this many records, waiting for them if needed. Without it, stop at the
    /// partition's end as it was at start (its high watermark), unless --follow.
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,

    /// Read as a member of consumer group G: join it, read the partitions of the topic
    /// the group assigns to this member, each from the group's committed offset (--from
    /// where there is none) up to its end at start, commit, and leave the group.
    #[arg(long, value_name = "G", conflicts_with_all = ["partition", "count", "follow"])]
    pub group: Option<String>,

    /// Keep waiting for new records at the end of the partition.
    #[arg(long)]
    pub follow: bool,

    /// How long the broker may hold a Fetch while there is nothing new (long poll;
    /// Kafka's fetch.max.wait.ms).
    #[arg(long, default_value_t = 500, value_name = "MS",
          value_parser = clap::value_parser!(u64).range(0..=60_000))]
    pub max_wait_ms: u64,

    /// Bytes per Fetch (Kafka's max.partition.fetch.bytes).
    #[arg(long, value_parser = parse_fetch_size, default_value = "1MiB", value_name = "SIZE")]
    pub fetch_max_bytes: usize,

    /// Bytes the broker gathers before answering a Fetch, waiting up to --max-wait-ms for
    /// them (Kafka's fetch.min.bytes). Trades latency for CPU: a follower with a larger
    /// value wakes for fewer, fuller responses, but each record may wait longer.
    #[arg(long, default_value = "1", value_name = "SIZE",
          value_parser = |t: &str| bounded_size(t, "fetch min bytes", 1, 64 << 20))]
    pub fetch_min_bytes: usize,

    /// Print MiB/s and records/s instead of the values.
    #[arg(long)]
    pub bench: bool,

    /// Give up after this many seconds. It is an error if the stop condition (--count, or
    /// the end of the partition) was not reached; with --follow and no --count it simply
    /// ends the run.
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    pub timeout: Option<std::time::Duration>,
}

/// `0`, `1`, `-1` or `all`.
fn parse_acks(text: &str) -> Result<crate::client::Acks, String> {
    use crate::client::Acks;
    match text {
        "0" => Ok(Acks::None),
        "1" => Ok(Acks::Leader),
        "-1" | "all" => Ok(Acks::All),
        _ => Err(format!("acks must be 0, 1, -1 or all, found {text:?}")),
    }
}

/// `earliest`, `latest` or a non-negative offset.
fn parse_start(text: &str) -> Result<crate::client::StartOffset, String> {
    use crate::client::StartOffset;
    match text {
        "earliest" | "beginning" => Ok(StartOffset::Earliest),
        "latest" | "end" => Ok(StartOffset::Latest),
        _ => match text.parse::<i64>() {
            Ok(offset) if offset >= 0 => Ok(StartOffset::At(offset)),
            _ => Err(format!(
                "expected earliest, latest or an offset (0 or more), found {text:?}"
            )),
        },
    }
}

/// A produce batch: 1 byte (one record per batch) to 64 MiB.
fn parse_batch_size(text: &str) -> Result<usize, String> {
    bounded_size(text, "batch size", 1, 64 << 20)
}

/// A fetch budget: 1 KiB to 64 MiB (below the client's 100 MiB response limit).
fn parse_fetch_size(text: &str) -> Result<usize, String> {
    bounded_size(text, "fetch size", 1 << 10, 64 << 20)
}

fn bounded_size(text: &str, what: &str, min: u64, max: u64) -> Result<usize, String> {
    let size = parse_size(text)?;
    if size < min || size > max {
        return Err(format!(
            "{what} must be {} to {}, found {text}",
            format_size(min),
            format_size(max)
        ));
    }
    Ok(size as usize)
}

/// Seconds, fractions allowed: `10`, `0.5`.
fn parse_seconds(text: &str) -> Result<std::time::Duration, String> {
    text.parse::<f64>()
        .ok()
        .filter(|s| *s > 0.0)
        .and_then(|s| std::time::Duration::try_from_secs_f64(s).ok())
        .ok_or_else(|| format!("expected a number of seconds above 0, found {text:?}"))
}
