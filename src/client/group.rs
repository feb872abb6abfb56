//! A consumer group member from the client side, what `zc consume --group` is built on:
//! find the coordinator, join, (as the leader) assign, sync, heartbeat, commit, leave.
//!
//! The assignment is computed *by a member*, never by the broker: the leader's JoinGroup
//! answer lists every member, and its SyncGroup hands each one its partitions. zc's
//! member speaks Kafka's consumer protocol (`consumer` / `range`, subscription and
//! assignment in version 0 of `ConsumerProtocolSubscription`/`Assignment`), so it can share
//! a group with librdkafka, kafka-python or Java consumers of the same topic; as leader it
//! deals the topic's partitions out in ranges over the members sorted by id, as Kafka's
//! RangeAssignor does for a single topic. One topic per member.

use std::time::{Duration, Instant};

use super::connection::{ClientConfig, Connection};
use super::error::ClientError;
use crate::kafka::primitives::{Reader, Writer};
use crate::kafka::{
    ApiKey, ErrorCode, FindCoordinatorRequest, FindCoordinatorResponse, HeartbeatRequest,
    HeartbeatResponse, JoinGroupProtocol, JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest,
    LeaveGroupResponse, OffsetCommitPartition, OffsetCommitRequest, OffsetCommitResponse,
    OffsetCommitTopic, OffsetFetchRequest, OffsetFetchResponse, RequestBody, SyncGroupAssignment,
    SyncGroupRequest, SyncGroupResponse,
};

/// librdkafka's and the Java client's defaults.
const SESSION_TIMEOUT_MS: i32 = 45_000;
const REBALANCE_TIMEOUT_MS: i32 = 300_000;
const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(3);

/// A joined member of one group, reading one topic.
pub struct GroupMember {
    conn: Connection,
    group: String,
    topic: String,
    member_id: String,
    generation: i32,
    last_heartbeat: Instant,
    /// The partitions of the topic this member was given.
    pub partitions: Vec<i32>,
    /// How long finding the coordinator, joining and syncing took.
    pub join_time: Duration,
}

fn broker_error(
    conn: &Connection,
    api: ApiKey,
    code: ErrorCode,
    topic: Option<&str>,
) -> ClientError {
    ClientError::Broker {
        broker: conn.broker().to_owned(),
        api,
        code,
        topic: topic.map(str::to_owned),
        partition: None,
        message: None,
    }
}

/// Consumer protocol subscription v0: version, topics, user data (null).
fn subscription(topic: &str) -> Vec<u8> {
    let mut w = Writer::new();
    w.i16(0);
    w.array_of(&[topic], |w, t| w.string(t));
    w.nullable_bytes(None);
    w.into_inner()
}

/// Consumer protocol assignment v0: version, [topic, partitions], user data (null).
fn assignment(topic: &str, partitions: &[i32]) -> Vec<u8> {
    let mut w = Writer::new();
    w.i16(0);
    w.array_len(1);
    w.string(topic);
    w.array_of(partitions, |w, p| w.i32(*p));
    w.nullable_bytes(None);
    w.into_inner()
}

/// The partitions of `topic` in an assignment of any version (later versions only append
/// fields, which are ignored here).
fn assigned_partitions(bytes: &[u8], topic: &str) -> Vec<i32> {
    let mut r = Reader::new(bytes);
    let parse = |r: &mut Reader<'_>| -> Result<Vec<i32>, crate::kafka::FieldError> {
        r.i16("assignment.version")?;
        let topics = r.array_of("assignment.topics", 6, |r| {
            let name = r.string("assignment.topic")?;
            let parts = r.array_of("assignment.partitions", 4, |r| {
                r.i32("assignment.partition")
            })?;
            Ok((name, parts))
        })?;
        Ok(topics
            .into_iter()
            .filter(|(name, _)| name == topic)
            .flat_map(|(_, parts)| parts)
            .collect())
    };
    if bytes.is_empty() {
        return Vec::new();
    }
    parse(&mut r).unwrap_or_default()
}

/// Kafka's RangeAssignor for one topic: member `i` of `n` (sorted by id) gets a contiguous
/// range, the first `partitions % n` members one partition more.
fn range_assign(members: &[String], partitions: i32) -> Vec<(String, Vec<i32>)> {
    let mut sorted = members.to_vec();
    sorted.sort();
    let n = sorted.len().max(1) as i32;
    let (each, extra) = (partitions / n, partitions % n);
    let mut next = 0;
    sorted
        .into_iter()
        .enumerate()
        .map(|(i, m)| {
            let count = each + i32::from((i as i32) < extra);
            let range = (next..next + count).collect();
            next += count;
            (m, range)
        })
        .collect()
}

impl GroupMember {
    /// Finds the coordinator of `group` through `bootstrap`, joins, and syncs; the topic
    /// has `partition_count` partitions (for the assignment, if this member leads).
    pub fn join(
        bootstrap: &str,
        config: &ClientConfig,
        group: &str,
        topic: &str,
        partition_count: i32,
    ) -> Result<GroupMember, ClientError> {
        let started = Instant::now();
        let mut conn = Connection::open(bootstrap, config)?;
        let found: FindCoordinatorResponse =
            conn.call(&RequestBody::FindCoordinator(FindCoordinatorRequest {
                key_type: 0,
                keys: vec![group.to_owned()],
            }))?;
        let coordinator = found.coordinators.first().cloned();
        let Some(c) = coordinator.filter(|c| c.error_code == ErrorCode::None) else {
            let code = found
                .coordinators
                .first()
                .map_or(ErrorCode::UnknownServerError, |c| c.error_code);
            return Err(broker_error(&conn, ApiKey::FindCoordinator, code, None));
        };
        let address = format!("{}:{}", c.host, c.port);
        if conn.peer_addr().map(|a| a.to_string()) != Some(address.clone()) {
            conn = Connection::open(&address, config)?;
        }
        let mut member = GroupMember {
            conn,
            group: group.to_owned(),
            topic: topic.to_owned(),
            member_id: String::new(),
            generation: -1,
            last_heartbeat: Instant::now(),
            partitions: Vec::new(),
            join_time: Duration::ZERO,
        };
        member.rejoin(partition_count)?;
        member.join_time = started.elapsed();
        Ok(member)
    }

    /// JoinGroup (again after MEMBER_ID_REQUIRED), then SyncGroup.
    fn rejoin(&mut self, partition_count: i32) -> Result<(), ClientError> {
        let joined = loop {
            let r: JoinGroupResponse =
                self.conn.call(&RequestBody::JoinGroup(JoinGroupRequest {
                    group_id: self.group.clone(),
                    session_timeout_ms: SESSION_TIMEOUT_MS,
                    rebalance_timeout_ms: REBALANCE_TIMEOUT_MS,
                    member_id: self.member_id.clone(),
                    protocol_type: "consumer".into(),
                    protocols: vec![JoinGroupProtocol {
                        name: "range".into(),
                        metadata: subscription(&self.topic),
                    }],
                }))?;
            match r.error_code {
                ErrorCode::None => break r,
                ErrorCode::MemberIdRequired => self.member_id = r.member_id,
                code => return Err(broker_error(&self.conn, ApiKey::JoinGroup, code, None)),
            }
        };
        self.member_id = joined.member_id.clone();
        self.generation = joined.generation_id;
        let assignments = if joined.leader == joined.member_id {
            let ids: Vec<String> = joined.members.iter().map(|m| m.member_id.clone()).collect();
            range_assign(&ids, partition_count)
                .into_iter()
                .map(|(member_id, parts)| SyncGroupAssignment {
                    member_id,
                    assignment: assignment(&self.topic, &parts),
                })
                .collect()
        } else {
            Vec::new()
        };
        let synced: SyncGroupResponse =
            self.conn.call(&RequestBody::SyncGroup(SyncGroupRequest {
                group_id: self.group.clone(),
                generation_id: self.generation,
                member_id: self.member_id.clone(),
                assignments,
            }))?;
        if synced.error_code != ErrorCode::None {
            return Err(broker_error(
                &self.conn,
                ApiKey::SyncGroup,
                synced.error_code,
                None,
            ));
        }
        self.partitions = assigned_partitions(&synced.assignment, &self.topic);
        self.last_heartbeat = Instant::now();
        Ok(())
    }

    pub fn member_id(&self) -> &str {
        &self.member_id
    }

    pub fn generation(&self) -> i32 {
        self.generation
    }

    /// The group's committed offset of each of `partitions` (-1: none).
    pub fn committed(&mut self, partitions: &[i32]) -> Result<Vec<(i32, i64)>, ClientError> {
        let r: OffsetFetchResponse =
            self.conn
                .call(&RequestBody::OffsetFetch(OffsetFetchRequest {
                    group_id: self.group.clone(),
                    topics: Some(vec![(self.topic.clone(), partitions.to_vec())]),
                }))?;
        if r.error_code != ErrorCode::None {
            return Err(broker_error(
                &self.conn,
                ApiKey::OffsetFetch,
                r.error_code,
                None,
            ));
        }
        Ok(r.topics
            .into_iter()
            .flat_map(|(_, parts)| parts)
            .map(|p| (p.partition_index, p.committed_offset))
            .collect())
    }

    /// Sends a heartbeat if the last was [`HEARTBEAT_INTERVAL`] ago. A rebalance (another
    /// member joined or left) is an error here: `zc consume --group` reads its assignment
    /// once and does not take part in later rebalances.
    pub fn heartbeat_if_due(&mut self) -> Result<(), ClientError> {
        if self.last_heartbeat.elapsed() < HEARTBEAT_INTERVAL {
            return Ok(());
        }
        let r: HeartbeatResponse = self.conn.call(&RequestBody::Heartbeat(HeartbeatRequest {
            group_id: self.group.clone(),
            generation_id: self.generation,
            member_id: self.member_id.clone(),
        }))?;
        self.last_heartbeat = Instant::now();
        match r.0.error_code {
            ErrorCode::None => Ok(()),
            code => Err(broker_error(&self.conn, ApiKey::Heartbeat, code, None)),
        }
    }

    /// Commits `offset` (the next record to read) for `partition`.
    pub fn commit(&mut self, partition: i32, offset: i64) -> Result<(), ClientError> {
        let r: OffsetCommitResponse =
            self.conn
                .call(&RequestBody::OffsetCommit(OffsetCommitRequest {
                    group_id: self.group.clone(),
                    generation_id: self.generation,
                    member_id: self.member_id.clone(),
                    retention_time_ms: -1,
                    topics: vec![OffsetCommitTopic {
                        name: self.topic.clone(),
                        partitions: vec![OffsetCommitPartition {
                            partition_index: partition,
                            committed_offset: offset,
                            committed_leader_epoch: -1,
                            committed_metadata: None,
                        }],
                    }],
                }))?;
        self.last_heartbeat = Instant::now();
        match r
            .topics
            .iter()
            .flat_map(|t| &t.partitions)
            .find(|(_, e)| *e != ErrorCode::None)
        {
            None => Ok(()),
            Some((_, code)) => Err(broker_error(
                &self.conn,
                ApiKey::OffsetCommit,
                *code,
                Some(&self.topic),
            )),
        }
    }

    /// LeaveGroup: the others rebalance at once instead of waiting for our session.
    pub fn leave(mut self) -> Result<(), ClientError> {
        let r: LeaveGroupResponse =
            self.conn.call(&RequestBody::LeaveGroup(LeaveGroupRequest {
                group_id: self.group.clone(),
                member_id: self.member_id.clone(),
            }))?;
        match r.0.error_code {
            ErrorCode::None => Ok(()),
            code => Err(broker_error(&self.conn, ApiKey::LeaveGroup, code, None)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_assignment_matches_kafkas_range_assignor() {
        let members = vec!["b".to_owned(), "a".to_owned(), "c".to_owned()];
        assert_eq!(
            range_assign(&members, 7),
            vec![
                ("a".to_owned(), vec![0, 1, 2]),
                ("b".to_owned(), vec![3, 4]),
                ("c".to_owned(), vec![5, 6]),
            ]
        );
    }

    #[test]
    fn assignment_round_trips_and_other_topics_are_ignored() {
        let bytes = assignment("t", &[1, 3]);
        assert_eq!(assigned_partitions(&bytes, "t"), [1, 3]);
        assert!(assigned_partitions(&bytes, "other").is_empty());
        assert!(assigned_partitions(&[], "t").is_empty());
    }
}
