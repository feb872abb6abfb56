//! `zc serve`: a mini Kafka broker that real Kafka clients (kcat, kafka-python,
//! confluent-kafka) can produce to and consume from.
//!
//! Kafka's speed story has two halves: producers append record batches to segment files
//! that live in the page cache, and consumers are answered by handing byte ranges of those
//! files to the socket with `sendfile`, without the bytes ever entering the broker's memory.
//! This module reuses the crate's log ([`crate::log`]) and transfer modes
//! ([`crate::transfer`]) to show exactly that, with a real protocol in front of it.
//!
//! ```text
//! socket ─► frame (int32 size + bytes) ─► kafka::decode_request ─► handler ─► log
//!                                                                        │
//! socket ◄─ transfer mode (file regions) ◄─ Part::File ◄┐                │
//! socket ◄─ write/writev (header bytes)  ◄─ Part::Bytes ◄┴ kafka::encode_fetch_response
//! ```
//!
//! - [`crate::kafka`]: the wire format, as pure functions over bytes (no I/O; unit-tested and
//!   fuzzable), shared with the client, the fuzzers and the tests. Start reading there.
//! - [`config`]: `zc serve`'s settings and limits, checked before the broker starts.
//! - [`fds`]: the descriptor limit raised at start, and the budget checked before opening.
//! - [`topics`]: topics and partitions over the log, and who may lock what when.
//! - [`handlers`]: one function per API, from request to reply; `admin` holds the topic
//!   administration ones (CreateTopics, CreatePartitions, DeleteTopics, DescribeConfigs).
//! - [`handlers`]: one function per API, from request to reply.
//! - [`coordinator`]: consumer groups (membership, rebalances) and their committed offsets,
//!   stored in `__consumer_offsets`.
//! - [`server`]: the listeners (plaintext, and TLS with `--tls`), one thread per connection,
//!   limits, graceful shutdown.
//! - [`wire`]: a connection, plain or TLS, and how its Fetch records move (no sendfile
//!   under TLS).
//! - [`memory`]: the broker-wide budget for request bytes, and giving memory back.
//! - [`stats`]: the live line printed once a second.
//! - [`inspect`]: `--inspect`, the broker reading the batches it sends (mmap, read-write).

mod admin;
pub mod config;
pub mod coordinator;
pub mod fds;
#[cfg(test)]
mod handler_tests;
pub mod handlers;
pub mod inspect;
pub mod memory;
pub mod server;
pub mod stats;
pub mod topics;
pub mod wire;
