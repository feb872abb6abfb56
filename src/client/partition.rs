//! Finding a partition: which broker leads it (Metadata), and which offsets it holds
//! (ListOffsets).
//!
//! The bootstrap address is only a way in. A client asks it for Metadata, reads there
//! which broker leads the partition and under which `host:port` that broker wants to be
//! reached (its *advertised* address), and talks to that address from then on. With one
//! broker the leader is the bootstrap broker itself, so we keep the socket when the
//! advertised address resolves to the one we are connected to; but the address still
//! matters, because a broker that advertises an address the client cannot reach (say
//! `0.0.0.0`, or a container-internal name) breaks every client after the first request:
//! docs/kafka-protocol.md §4.

use std::net::ToSocketAddrs;

use crate::kafka::list_offsets::{EARLIEST_TIMESTAMP, LATEST_TIMESTAMP};
use crate::kafka::{
    ApiKey, ErrorCode, ListOffsetsPartition, ListOffsetsRequest, ListOffsetsResponse,
    ListOffsetsTopic, MetadataRequest, MetadataResponse, RequestBody,
};

use super::connection::{ClientConfig, Connection};
use super::error::ClientError;
use super::retry::Retry;

/// One end of a partition, for ListOffsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetSpec {
    /// The first offset still in the log (the log start offset).
    Earliest,
    /// The offset the next record will get (the high watermark).
    Latest,
}

/// Connects to `bootstrap`, finds the leader of `topic`-`partition` with Metadata, and
/// returns a connection to the leader's advertised address (the bootstrap connection
/// itself when that is where the leader is). `allow_auto_create` asks the broker to
/// create a missing topic: producers do, consumers do not (librdkafka's defaults).
///
/// A partition may not be ready yet, and then the client asks again ([`Retry`]), for up
/// to `config.metadata_wait`: while it has no leader (LEADER_NOT_AVAILABLE),
/// and, when asked to create the topic, while the topic is unknown. Apache Kafka (KRaft)
/// creates a topic on first use *in the background*: the broker forwards a CreateTopics to
/// the controller ("Sent auto-creation request for [t] to the active controller" in its
/// log) and answers this Metadata, and the next ones until the topic is in its metadata,
/// UNKNOWN_TOPIC_OR_PARTITION. (`zc serve` creates it before answering.) A broker that
/// never creates it leaves the topic unknown until the wait runs out.
pub fn connect_to_leader(
    bootstrap: &str,
    topic: &str,
    partition: i32,
    allow_auto_create: bool,
    config: &ClientConfig,
) -> Result<Connection, ClientError> {
    let mut conn = Connection::open(bootstrap, config)?;
    let mut retry = Retry::new(config.metadata_wait);
    let (node_id, address) = loop {
        let metadata = conn.call::<MetadataResponse>(&RequestBody::Metadata(MetadataRequest {
            topics: Some(vec![topic.to_owned()]),
            allow_auto_topic_creation: allow_auto_create,
            include_cluster_authorized_operations: false,
            include_topic_authorized_operations: false,
        }))?;
        let e = match leader_address(&metadata, conn.broker(), topic, partition) {
            Ok(found) => break found,
            Err(e) => e,
        };
        let not_ready = match e.code() {
            Some(ErrorCode::LeaderNotAvailable) => true,
            Some(ErrorCode::UnknownTopicOrPartition) => allow_auto_create,
            _ => false,
        };
        if !not_ready || config.metadata_wait.is_zero() {
            return Err(e);
        }
        if !retry.again() {
            return Err(ClientError::NotReady {
                broker: conn.broker().to_owned(),
                topic: topic.to_owned(),
                partition,
                code: e.code().unwrap_or(ErrorCode::LeaderNotAvailable),
                waited: retry.waited(),
                requests: retry.requests,
            });
        }
    };
    if resolves_to_peer(&address, &conn) {
        return Ok(conn);
    }
    Connection::open(&address, config).map_err(|e| match e {
        ClientError::Connect { .. } => ClientError::Advertised {
            bootstrap: bootstrap.to_owned(),
            node_id,
            source: Box::new(e),
        },
        other => other,
    })
}

/// The leader's node id and advertised `host:port`, or the error the Metadata carries.
fn leader_address(
    metadata: &MetadataResponse,
    broker: &str,
    topic: &str,
    partition: i32,
) -> Result<(i32, String), ClientError> {
    let broker_error = |code, partition| ClientError::Broker {
        broker: broker.to_owned(),
        api: ApiKey::Metadata,
        code,
        topic: Some(topic.to_owned()),
        partition,
        message: None,
    };
    let protocol = |detail: String| ClientError::Protocol {
        broker: broker.to_owned(),
        api: ApiKey::Metadata,
        detail,
    };
    let t = metadata
        .topics
        .iter()
        .find(|t| t.name == topic)
        .ok_or_else(|| protocol(format!("the response does not mention topic {topic}")))?;
    if t.error_code != ErrorCode::None {
        return Err(broker_error(t.error_code, None));
    }
    let p = t
        .partitions
        .iter()
        .find(|p| p.partition_index == partition)
        .ok_or_else(|| ClientError::NoSuchPartition {
            broker: broker.to_owned(),
            topic: topic.to_owned(),
            partition,
            partitions: t.partitions.len(),
        })?;
    if p.error_code != ErrorCode::None {
        return Err(broker_error(p.error_code, Some(partition)));
    }
    if p.leader_id < 0 {
        return Err(broker_error(ErrorCode::LeaderNotAvailable, Some(partition)));
    }
    let leader = metadata
        .brokers
        .iter()
        .find(|b| b.node_id == p.leader_id)
        .ok_or_else(|| {
            protocol(format!(
                "the leader of {topic}-{partition} is node {}, which is not in its broker list",
                p.leader_id
            ))
        })?;
    // An IPv6 literal needs brackets to be followed by a port.
    let address = if leader.host.contains(':') {
        format!("[{}]:{}", leader.host, leader.port)
    } else {
        format!("{}:{}", leader.host, leader.port)
    };
    Ok((leader.node_id, address))
}

/// True when `address` resolves to the address `conn` is connected to.
fn resolves_to_peer(address: &str, conn: &Connection) -> bool {
    let (Some(peer), Ok(mut resolved)) = (conn.peer_addr(), address.to_socket_addrs()) else {
        return false;
    };
    resolved.any(|a| a == peer)
}

impl Connection {
    /// The first (`Earliest`) or next (`Latest`) offset of a partition.
    pub fn list_offset(
        &mut self,
        topic: &str,
        partition: i32,
        spec: OffsetSpec,
    ) -> Result<i64, ClientError> {
        let timestamp = match spec {
            OffsetSpec::Earliest => EARLIEST_TIMESTAMP,
            OffsetSpec::Latest => LATEST_TIMESTAMP,
        };
        let response =
            self.call::<ListOffsetsResponse>(&RequestBody::ListOffsets(ListOffsetsRequest {
                replica_id: -1,
                isolation_level: 0,
                topics: vec![ListOffsetsTopic {
                    name: topic.to_owned(),
                    partitions: vec![ListOffsetsPartition {
                        partition_index: partition,
                        current_leader_epoch: -1,
                        timestamp,
                        max_num_offsets: 1,
                    }],
                }],
            }))?;
        let p = response
            .topics
            .iter()
            .filter(|t| t.name == topic)
            .flat_map(|t| &t.partitions)
            .find(|p| p.partition_index == partition)
            .ok_or_else(|| ClientError::Protocol {
                broker: self.broker().to_owned(),
                api: ApiKey::ListOffsets,
                detail: format!("the response does not mention {topic}-{partition}"),
            })?;
        if p.error_code != ErrorCode::None {
            return Err(ClientError::Broker {
                broker: self.broker().to_owned(),
                api: ApiKey::ListOffsets,
                code: p.error_code,
                topic: Some(topic.to_owned()),
                partition: Some(partition),
                message: None,
            });
        }
        if p.offset < 0 {
            return Err(ClientError::Protocol {
                broker: self.broker().to_owned(),
                api: ApiKey::ListOffsets,
                detail: format!("offset {} for {topic}-{partition}", p.offset),
            });
        }
        Ok(p.offset)
    }
}
