//! The arguments of `zc serve`, the mini Kafka broker: where it listens, which log it
//! serves and how, and the limits that keep it up under abuse.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::parse_chunk;
use crate::log::partition::FlushPolicy;
use crate::net::CcChoice;
use crate::transfer::Mode;
use crate::units::parse_size;

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
