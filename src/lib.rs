//! `zc`: move the same bytes from a file to a TCP socket four ways and measure, with the
//! kernel's own counters, what each way costs.
//!
//! The library holds everything; `main.rs` only parses arguments and dispatches.
//! Map of the crate:
//! - [`log`]: Kafka's on-disk format (record batches v2, segments, indexes) and fixtures.
//! - [`transfer`]: the four transfer modes, side by side behind one trait.
//! - [`measure`]: the probe that brackets a transfer and reads the kernel's counters.
//! - [`net`]: socket set-up that is part of the experiment (congestion control, buffers, CPUs).
//! - [`bench`]: the runner that repeats transfers and returns plain data, and the sink.
//! - [`kafka`]: the Kafka wire protocol as pure functions over bytes, shared by broker,
//!   client, fuzzers and tests.
//! - [`broker`]: `zc serve`, a mini Kafka broker serving the log with the same modes.
//! - [`client`]: the Kafka client behind `zc produce` and `zc consume`.
//! - [`explain`]: `zc explain`, the classroom diagrams of each mode beside measured figures.

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
pub mod transfer;
pub mod units;
