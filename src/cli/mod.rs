//! The command line, declared once with clap's derive API. Nothing here runs anything:
//! `main.rs` parses these structs and hands them to `cmd`.
//!
//! This file holds the top level (`zc <command>`) and the value parsers several commands
//! share; each family of commands declares its arguments in its own file: `bench` (zc bench,
//! zc bench write, zc sink), `serve`, `fixture`, and `client` (zc produce, consume, topics).

pub mod bench;
pub mod client;
pub mod fixture;
pub mod serve;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::bench::send::config::MAX_CHUNK;
use crate::units::{format_size, parse_size};
use bench::{BENCH_EXAMPLES, BenchArgs, ModeChoice, SinkArgs};
use client::{
    CONSUME_EXAMPLES, ConsumeArgs, GROUPS_EXAMPLES, GroupsCommand, PRODUCE_EXAMPLES, ProduceArgs,
    TOPICS_EXAMPLES, TopicsCommand,
};
use fixture::FixtureCommand;
use serve::ServeArgs;

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

    /// List, describe and delete the consumer groups of `zc serve` or a Kafka broker:
    /// state, members, assignments, committed offsets and lag (like kafka-consumer-groups).
    #[command(subcommand, after_help = GROUPS_EXAMPLES)]
    Groups(GroupsCommand),

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

/// A chunk size: 1 byte to 64 MiB, with units.
pub(crate) fn parse_chunk(text: &str) -> Result<usize, String> {
    let size = parse_size(text)?;
    if size == 0 || size > MAX_CHUNK as u64 {
        return Err(format!(
            "chunk must be 1 byte to {}, found {text}",
            format_size(MAX_CHUNK as u64)
        ));
    }
    Ok(size as usize)
}

pub(crate) fn bounded_size(text: &str, what: &str, min: u64, max: u64) -> Result<usize, String> {
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
pub(crate) fn parse_seconds(text: &str) -> Result<std::time::Duration, String> {
    text.parse::<f64>()
        .ok()
        .filter(|s| *s > 0.0)
        .and_then(|s| std::time::Duration::try_from_secs_f64(s).ok())
        .ok_or_else(|| format!("expected a number of seconds above 0, found {text:?}"))
}
