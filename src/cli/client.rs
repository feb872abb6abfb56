//! The arguments of zc's Kafka client commands: `zc produce`, `zc consume`, `zc topics`
//! and `zc groups`. They talk to `zc serve` or to any Kafka broker.

use clap::{Args, Subcommand, ValueEnum};

use super::{bounded_size, parse_seconds};
use crate::units::parse_size;

pub(super) const PRODUCE_EXAMPLES: &str = "Examples:
  printf 'hello\\nworld\\n' | zc produce -b 127.0.0.1:9092 -t greetings
  zc produce -b 127.0.0.1:9092 -t load --records 1000000 --record-size 100
  zc produce -b 127.0.0.1:9092 -t load --records 100000 --acks 0 --batch-size 1M
  zc produce -b kafka.example:9092 -t logs --acks 1 < app.log      # a real Kafka works too

Each stdin line (without its newline) becomes one record value with a null key. Generated
values look like the fixture's: `0:000000000042 ` then letters. Records travel in batches
of at most --batch-size bytes; a batch that is not full leaves after --linger-ms. Up to
--max-in-flight requests are on the wire at once. The summary (records, batches, MiB/s,
records/s, offsets) goes to stderr.";

pub(super) const TOPICS_EXAMPLES: &str = "Examples:
  zc topics list -b 127.0.0.1:9092
  zc topics create -b 127.0.0.1:9092 orders --partitions 4
  zc topics alter -b 127.0.0.1:9092 orders --partitions 8     # grow only, like Kafka
  zc topics describe -b 127.0.0.1:9092 orders                 # partitions, offsets, settings
  zc topics delete -b 127.0.0.1:9092 orders

zc serve is a single broker: a replication factor other than 1 is refused with
INVALID_REPLICATION_FACTOR.";

pub(super) const CONSUME_EXAMPLES: &str = "Examples:
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

    /// Seconds to keep asking for the partition while it is not ready: a topic Apache
    /// Kafka is still creating on first use (it answers UNKNOWN_TOPIC_OR_PARTITION
    /// meanwhile), or a partition with no leader yet (the Java producer's max.block.ms);
    /// 0 fails at the first answer
    #[arg(long, default_value_t = 60, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub max_block: u64,
}

pub(super) const GROUPS_EXAMPLES: &str = "Examples:
  zc groups list -b 127.0.0.1:9092
  zc groups describe -b 127.0.0.1:9092 readers     # members, assignments, offsets, lag
  zc groups describe -b 127.0.0.1:9092 --format json
  zc groups delete -b 127.0.0.1:9092 readers       # only a group without members

The requests are Kafka's own (ListGroups, FindCoordinator, DescribeGroups, OffsetFetch,
ListOffsets, DeleteGroups), so a Kafka broker answers them too. LAG is the log-end offset
minus the committed offset; `-` where the group has committed nothing.";

#[derive(Debug, Subcommand)]
pub enum GroupsCommand {
    /// Every group's name, one per line (sorted).
    #[command(after_help = "Examples:
  zc groups list -b 127.0.0.1:9092
  zc groups list -b 127.0.0.1:9092 --format json   # with each group's protocol type")]
    List {
        /// Broker to ask (zc serve, or any Kafka broker).
        #[arg(short, long, value_name = "HOST:PORT")]
        bootstrap: String,
        /// `table`: names one per line; `json`: an array of objects.
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
    },
    /// A group's state, its committed offset, log-end offset and lag per partition, and
    /// its members with their assignments; all groups if none named. An unknown group
    /// is an error (exit 1).
    #[command(after_help = "Examples:
  zc groups describe -b 127.0.0.1:9092             # every group
  zc groups describe -b 127.0.0.1:9092 readers audit
  zc groups describe -b 127.0.0.1:9092 readers --format json")]
    Describe {
        /// Broker to ask (zc serve, or any Kafka broker).
        #[arg(short, long, value_name = "HOST:PORT")]
        bootstrap: String,
        /// Groups to describe; all when none given.
        groups: Vec<String>,
        /// `table`: kafka-consumer-groups' columns; `json`: the same fields, for scripts.
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
    },
    /// Delete groups and their committed offsets (DeleteGroups); a group with members is
    /// refused (NON_EMPTY_GROUP).
    #[command(after_help = "Examples:
  zc groups delete -b 127.0.0.1:9092 readers")]
    Delete {
        /// Broker to ask (zc serve, or any Kafka broker).
        #[arg(short, long, value_name = "HOST:PORT")]
        bootstrap: String,
        /// Groups to delete.
        #[arg(required = true)]
        groups: Vec<String>,
    },
}

/// How `zc groups` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Table,
    Json,
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
    /// where there is none) up to its end at start (or on, with --follow), committing every
    /// 3 s and before rejoining when the group rebalances; commit and leave at the end.
    #[arg(long, value_name = "G", conflicts_with_all = ["partition", "count"])]
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
