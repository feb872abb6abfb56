//! A small blocking Kafka client: what `zc produce` and `zc consume` speak, to `zc serve`
//! or to a real Kafka broker.
//!
//! It is the other side of [`crate::broker`], built on the same codec
//! ([`crate::kafka`]), and it does what every Kafka client does, in the order
//! it does it:
//!
//! ```text
//!  1. connect to the bootstrap address            connection.rs
//!  2. ApiVersions handshake: agree on versions    connection.rs
//!  3. Metadata: who leads topic-partition?        partition.rs
//!  4. connect to the leader's advertised address  partition.rs
//!  5. ListOffsets: where does the partition       partition.rs
//!     start / end?
//!  6. Fetch in a loop, or Produce batches         consumer.rs, producer.rs
//!     (or administer topics, groups               admin.rs, group_admin.rs)
//! ```
//!
//! **The handshake.** A Kafka frame carries no field names, only bytes whose meaning
//! depends on the API *version*, and brokers of different ages speak different versions.
//! So the first request on every connection is ApiVersions: the broker lists, per API,
//! the versions it speaks, and the client then uses, per API, the highest version both
//! sides know. ApiVersions itself has the chicken-and-egg problem; Kafka's answer is that
//! a broker answers an ApiVersions version it does not know in the oldest layout (v0) with
//! UNSUPPORTED_VERSION, and the client retries lower ([`Connection::open`]).
//!
//! **The advertised address.** The bootstrap address only gets the client in. The
//! broker's Metadata says which broker leads each partition and at which `host:port` to
//! reach it, and the client goes there, because in a cluster it is usually another
//! machine. A broker advertising an address the client cannot reach breaks every client,
//! which is why [`connect_to_leader`] says so explicitly when it happens.
//!
//! **Partial batches.** The broker answers a Fetch with a byte range of its segment file,
//! sent with sendfile without looking inside, so the range usually ends in the middle of a
//! batch. The client skips that incomplete batch and asks for it again in the next Fetch
//! ([`consumer`] shows it).
//!
//! The client is deliberately simple: one partition, one connection, blocking sockets with
//! timeouts on every read, write and connect, no retries beyond waiting for a leader, no
//! transactions; compressed batches are read (and written by `zc produce --compression`)
//! with the codecs of [`crate::log::compression`]. Every error names the broker address and the API
//! ([`ClientError`]).

pub mod admin;
pub mod batcher;
mod connection;
pub mod consumer;
mod error;
pub mod group;
pub mod group_admin;
mod partition;
pub mod producer;
mod retry;
pub mod source;

#[cfg(test)]
mod tests;

pub use admin::PartitionInfo;
pub use connection::{ClientConfig, Connection, Pending};
pub use consumer::{ConsumedRecord, Consumer, Polled, StartOffset};
pub use error::{ClientError, DataProblem};
pub use group::{GroupMember, Membership};
pub use group_admin::{GroupDescription, GroupListing, connect_to_coordinator};
pub use partition::{OffsetSpec, connect_to_leader};
pub use producer::{Acks, ProduceSummary, Producer};
