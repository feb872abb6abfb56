//! `zc`: move the same bytes from a file to a TCP socket four ways and measure, with the
//! kernel's own counters, what each way costs.
//!
//! The library holds everything; `main.rs` only parses arguments and dispatches. The
//! pipeline reads top to bottom: [`cli`] → [`cmd`] → [`bench`] / [`broker`] / [`client`] /
//! [`explain`] → [`report`], with [`transfer`], [`measure`], [`log`], [`kafka`] and [`net`]
//! beneath. Map of the crate:
//! - [`cli`]: the command line, declared once with clap; parses, runs nothing.
//! - [`cmd`]: one function per subcommand: build a config, validate it, call the library,
//!   print the result.
//! - [`log`]: Kafka's on-disk format (record batches v2, segments, indexes) and fixtures.
//! - [`transfer`]: the four transfer modes, side by side behind one trait.
//! - [`measure`]: the probe that brackets a transfer and reads the kernel's counters.
//! - [`net`]: socket set-up that is part of the experiment (congestion control, buffers, CPUs).
//! - [`bench`]: the runners that repeat transfers (and writes, `bench::write`) and return
//!   plain data, what those figures show, and the sink.
//! - [`kafka`]: the Kafka wire protocol as pure functions over bytes, shared by broker,
//!   client, fuzzers and tests.
//! - [`broker`]: `zc serve`, a mini Kafka broker serving the log with the same modes.
//! - [`client`]: the Kafka client behind `zc produce` and `zc consume`.
//! - [`explain`]: `zc explain`, the classroom diagrams of each mode beside measured figures.
//! - [`report`]: the results as terminal tables, JSON, CSV, Markdown and an SVG chart.
//! - [`text`]: wrapping, plurals and numbers as people read them, for every printed word.
//! - [`tls`]: TLS certificates and configurations, shared by the `tls` mode, `zc serve --tls`
//!   and the client.
//! - [`units`]: byte sizes as people type and read them (`64K`, `1.5 MiB`).
//! - [`progress`]: progress bars on stderr, kept out of the timed regions.
//! - [`error`]: [`error::UsageError`], the error that makes zc exit 2.

pub mod bench;
pub mod broker;
pub mod cli;
pub mod client;
pub mod cmd;
pub mod error;
pub mod explain;
pub mod kafka;
pub mod log;
pub mod measure;
pub mod net;
pub mod progress;
pub mod report;
pub mod text;
pub mod tls;
pub mod transfer;
pub mod units;
