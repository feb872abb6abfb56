//! Consumer groups seen from outside, what `zc groups` (like Kafka's
//! `kafka-consumer-groups`) is built on: list the groups, describe one (state, members and
//! what each reads), its committed offsets and how far behind they are, delete it.
//!
//! Four requests make a description, each to the broker that knows the answer:
//!
//! ```text
//!  FindCoordinator(group)   -> which broker coordinates the group
//!  DescribeGroups           -> state, protocol, members, each member's assignment bytes
//!  OffsetFetch(all topics)  -> the committed offset of every partition the group touched
//!  ListOffsets(latest)      -> each partition's log-end offset; lag = end - committed
//! ```
//!
//! The assignment bytes are opaque to the coordinator; they are decoded here with the
//! consumer protocol's schema ([`crate::kafka::consumer_protocol`]), which is why a group
//! of another protocol type (Kafka Connect's `connect`) shows members but no partitions.
//! ListOffsets goes to the bootstrap broker, which leads every partition of a one-broker
//! cluster such as `zc serve` or a single Kafka node.

use std::collections::BTreeMap;

use serde::Serialize;

use super::connection::{ClientConfig, Connection};
use super::error::ClientError;
use super::partition::OffsetSpec;
use super::retry::Retry;
use crate::kafka::consumer_protocol::decode_assignment;
use crate::kafka::find_coordinator::KEY_TYPE_GROUP;
use crate::kafka::{
    ApiKey, DeleteGroupsRequest, DeleteGroupsResponse, DescribeGroupsRequest,
    DescribeGroupsResponse, ErrorCode, FindCoordinatorRequest, FindCoordinatorResponse,
    ListGroupsRequest, ListGroupsResponse, OffsetFetchRequest, OffsetFetchResponse, RequestBody,
};

/// One group as `kafka-consumer-groups --list` knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupListing {
    pub group: String,
    /// `consumer` for consumer groups; empty for a group that only has committed offsets.
    pub protocol_type: String,
}

/// A group member and the partitions the group's leader gave it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberInfo {
    pub member_id: String,
    pub client_id: String,
    pub host: String,
    /// Decoded with the consumer protocol; empty before SyncGroup or for other protocols.
    pub assignment: Vec<(String, Vec<i32>)>,
}

/// One partition's progress in a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartitionProgress {
    pub topic: String,
    pub partition: i32,
    /// The next offset the group will read; `None`: nothing committed.
    pub committed: Option<i64>,
    /// The partition's log-end offset (high watermark); `None` when the topic is gone.
    pub log_end: Option<i64>,
    /// `log_end - committed`, when both are known.
    pub lag: Option<i64>,
    /// The member reading the partition now, if any.
    pub member_id: Option<String>,
}

/// What `kafka-consumer-groups --describe` shows of one group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupDescription {
    pub group: String,
    /// The coordinator's address.
    pub coordinator: String,
    /// Kafka's state names: `Empty`, `PreparingRebalance`, `CompletingRebalance`, `Stable`.
    pub state: String,
    pub protocol_type: String,
    /// The assignor the members agreed on (`range`, `cooperative-sticky`, ...).
    pub protocol: String,
    pub members: Vec<MemberInfo>,
    /// Every partition that is assigned or has a committed offset, by topic and partition.
    pub partitions: Vec<PartitionProgress>,
}

/// Connects to the coordinator of `group`, found through `bootstrap` (the bootstrap
/// connection itself when it is the coordinator).
pub fn connect_to_coordinator(
    bootstrap: &str,
    config: &ClientConfig,
    group: &str,
) -> Result<Connection, ClientError> {
    let conn = Connection::open(bootstrap, config)?;
    conn_to_coordinator(conn, config, group)
}

/// The entry of `topic`-`partition`, added empty if new.
fn progress<'a>(
    partitions: &'a mut BTreeMap<(String, i32), PartitionProgress>,
    topic: &str,
    partition: i32,
) -> &'a mut PartitionProgress {
    partitions
        .entry((topic.to_owned(), partition))
        .or_insert_with(|| PartitionProgress {
            topic: topic.to_owned(),
            partition,
            committed: None,
            log_end: None,
            lag: None,
            member_id: None,
        })
}

fn conn_to_coordinator(
    mut conn: Connection,
    config: &ClientConfig,
    group: &str,
) -> Result<Connection, ClientError> {
    // Apache Kafka answers COORDINATOR_NOT_AVAILABLE while the group's partition of
    // `__consumer_offsets` is not ready, first of all while the first FindCoordinator
    // has it create the topic; its clients ask again, and so does zc.
    let mut retry = Retry::new(config.metadata_wait);
    let c = loop {
        let found: FindCoordinatorResponse =
            conn.call(&RequestBody::FindCoordinator(FindCoordinatorRequest {
                key_type: KEY_TYPE_GROUP,
                keys: vec![group.to_owned()],
            }))?;
        let Some(c) = found.coordinators.into_iter().next() else {
            return Err(conn.protocol(
                ApiKey::FindCoordinator,
                "no coordinator in the answer".into(),
            ));
        };
        if c.error_code != ErrorCode::CoordinatorNotAvailable || !retry.again() {
            break c;
        }
    };
    if c.error_code != ErrorCode::None {
        return Err(conn.broker_error(
            ApiKey::FindCoordinator,
            c.error_code,
            None,
            c.error_message,
        ));
    }
    let address = format!("{}:{}", c.host, c.port);
    if conn.peer_addr().map(|a| a.to_string()) == Some(address.clone()) {
        Ok(conn)
    } else {
        Connection::open(&address, config)
    }
}

impl Connection {
    /// Every group this broker coordinates, sorted by name.
    pub fn list_groups(&mut self) -> Result<Vec<GroupListing>, ClientError> {
        let r: ListGroupsResponse = self.call(&RequestBody::ListGroups(ListGroupsRequest))?;
        if r.error_code != ErrorCode::None {
            return Err(self.broker_error(ApiKey::ListGroups, r.error_code, None, None));
        }
        let mut groups: Vec<GroupListing> = r
            .groups
            .into_iter()
            .map(|(group, protocol_type)| GroupListing {
                group,
                protocol_type,
            })
            .collect();
        groups.sort_by(|a, b| a.group.cmp(&b.group));
        Ok(groups)
    }

    /// Describes `group`, on a connection to its coordinator ([`connect_to_coordinator`]).
    /// `Ok(None)`: the coordinator does not know the group (state `Dead`, or
    /// GROUP_ID_NOT_FOUND).
    pub fn describe_group(&mut self, group: &str) -> Result<Option<GroupDescription>, ClientError> {
        let r: DescribeGroupsResponse =
            self.call(&RequestBody::DescribeGroups(DescribeGroupsRequest {
                groups: vec![group.to_owned()],
                include_authorized_operations: false,
            }))?;
        let Some(g) = r.groups.into_iter().find(|g| g.group_id == group) else {
            return Err(self.protocol(
                ApiKey::DescribeGroups,
                format!("the answer does not mention group {group}"),
            ));
        };
        match g.error_code {
            ErrorCode::None if g.group_state == "Dead" => return Ok(None),
            ErrorCode::None => {}
            ErrorCode::GroupIdNotFound => return Ok(None),
            code => return Err(self.broker_error(ApiKey::DescribeGroups, code, None, None)),
        }
        let members: Vec<MemberInfo> = g
            .members
            .into_iter()
            .map(|m| MemberInfo {
                assignment: if g.protocol_type == "consumer" {
                    decode_assignment(&m.member_assignment).unwrap_or_default()
                } else {
                    Vec::new()
                },
                member_id: m.member_id,
                client_id: m.client_id,
                host: m.client_host,
            })
            .collect();
        let mut partitions: BTreeMap<(String, i32), PartitionProgress> = BTreeMap::new();
        for m in &members {
            for (topic, parts) in &m.assignment {
                for &p in parts {
                    progress(&mut partitions, topic, p).member_id = Some(m.member_id.clone());
                }
            }
        }
        for (topic, p, offset) in self.committed_offsets(group)? {
            progress(&mut partitions, &topic, p).committed = Some(offset);
        }
        for entry in partitions.values_mut() {
            entry.log_end =
                match self.list_offset(&entry.topic, entry.partition, OffsetSpec::Latest) {
                    Ok(end) => Some(end),
                    // A committed offset can outlive its topic.
                    Err(ClientError::Broker {
                        code: ErrorCode::UnknownTopicOrPartition,
                        ..
                    }) => None,
                    Err(e) => return Err(e),
                };
            entry.lag = entry
                .committed
                .zip(entry.log_end)
                .map(|(c, e)| (e - c).max(0));
        }
        Ok(Some(GroupDescription {
            group: group.to_owned(),
            coordinator: self.broker().to_owned(),
            state: g.group_state,
            protocol_type: g.protocol_type,
            protocol: g.protocol_data,
            members,
            partitions: partitions.into_values().collect(),
        }))
    }

    /// `(topic, partition, offset)` of every partition `group` has committed (OffsetFetch
    /// with null topics: "everything", from v2 on).
    pub fn committed_offsets(
        &mut self,
        group: &str,
    ) -> Result<Vec<(String, i32, i64)>, ClientError> {
        let r: OffsetFetchResponse = self.call(&RequestBody::OffsetFetch(OffsetFetchRequest {
            group_id: group.to_owned(),
            topics: None,
        }))?;
        if r.error_code != ErrorCode::None {
            return Err(self.broker_error(ApiKey::OffsetFetch, r.error_code, None, None));
        }
        let mut out = Vec::new();
        for (topic, parts) in r.topics {
            for p in parts {
                if p.error_code != ErrorCode::None {
                    return Err(self.broker_error(ApiKey::OffsetFetch, p.error_code, None, None));
                }
                if p.committed_offset >= 0 {
                    out.push((topic.clone(), p.partition_index, p.committed_offset));
                }
            }
        }
        Ok(out)
    }

    /// Deletes `group` and its committed offsets (DeleteGroups), on a connection to its
    /// coordinator. Only a group without members can go (NON_EMPTY_GROUP).
    pub fn delete_group(&mut self, group: &str) -> Result<(), ClientError> {
        let r: DeleteGroupsResponse =
            self.call(&RequestBody::DeleteGroups(DeleteGroupsRequest {
                groups_names: vec![group.to_owned()],
            }))?;
        let code = r
            .results
            .into_iter()
            .find(|(g, _)| g == group)
            .map_or(ErrorCode::UnknownServerError, |(_, code)| code);
        match code {
            ErrorCode::None => Ok(()),
            code => Err(self.broker_error(ApiKey::DeleteGroups, code, None, None)),
        }
    }
}
