//! A consumer group member from the client side, what `zc consume --group` is built on:
//! find the coordinator, join, (as the leader) assign, sync, heartbeat, commit, rejoin when
//! the group rebalances, leave.
//!
//! The assignment is computed *by a member*, never by the broker: the leader's JoinGroup
//! answer lists every member, and its SyncGroup hands each one its partitions. zc's
//! member speaks Kafka's consumer protocol (`consumer` / `range`, subscription and
//! assignment in version 0 of `ConsumerProtocolSubscription`/`Assignment`), so it can share
//! a group with librdkafka, kafka-python or Java consumers of the same topic; as leader it
//! deals the topic's partitions out in ranges over the members sorted by id, as Kafka's
//! RangeAssignor does for a single topic. One topic per member.
//!
//! **Rebalances.** When a member joins or leaves, the coordinator answers the others'
//! heartbeats REBALANCE_IN_PROGRESS and waits (up to the rebalance timeout) for each to
//! send JoinGroup again. Until they do, their generation is still current, so a member
//! that hears of a rebalance first commits how far it read, then rejoins: whoever gets its
//! partitions next starts exactly there (Kafka's eager protocol, as the Java consumer's
//! `onPartitionsRevoked`). A member that heard too late (ILLEGAL_GENERATION,
//! UNKNOWN_MEMBER_ID: its session expired) can no longer commit; it rejoins, and the
//! records it read since its last commit will be read again by the partitions' next owner.

use std::time::{Duration, Instant};

use super::connection::{ClientConfig, Connection};
use super::error::ClientError;
use super::group_admin::connect_to_coordinator;
use crate::kafka::consumer_protocol::{decode_assignment, encode_assignment, encode_subscription};
use crate::kafka::{
    ApiKey, ErrorCode, HeartbeatRequest, HeartbeatResponse, JoinGroupProtocol, JoinGroupRequest,
    JoinGroupResponse, LeaveGroupRequest, LeaveGroupResponse, OffsetCommitPartition,
    OffsetCommitRequest, OffsetCommitResponse, OffsetCommitTopic, OffsetFetchRequest,
    OffsetFetchResponse, RequestBody, SyncGroupAssignment, SyncGroupRequest, SyncGroupResponse,
};

/// librdkafka's and the Java client's defaults.
const SESSION_TIMEOUT_MS: i32 = 45_000;
const REBALANCE_TIMEOUT_MS: i32 = 300_000;
const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(3);
/// Rejoins in a row before giving up: each answer that sends a member back to JoinGroup
/// means the group changed again meanwhile.
const MAX_REJOINS: usize = 20;
/// The pause before joining again while the coordinator loads the group; with
/// [`MAX_REJOINS`] it bounds that wait at 6 s.
const LOAD_PAUSE: Duration = Duration::from_millis(300);

/// A joined member of one group, reading one topic.
pub struct GroupMember {
    conn: Connection,
    group: String,
    topic: String,
    partition_count: i32,
    member_id: String,
    generation: i32,
    last_heartbeat: Instant,
    /// The partitions of the topic this member was given.
    pub partitions: Vec<i32>,
    /// How long the last (re)join took: JoinGroup until SyncGroup's answer.
    pub join_time: Duration,
}

/// Whether this member still holds its partitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Membership {
    /// The generation is current: keep reading.
    Current,
    /// The group is rebalancing and our generation is still valid: commit, then rejoin.
    Rebalancing,
    /// Our generation or membership is gone: rejoin without committing.
    Lost,
}

impl Membership {
    /// How the coordinator's `code` for a heartbeat or commit leaves this member; other
    /// codes are errors.
    fn of(code: ErrorCode) -> Option<Membership> {
        match code {
            ErrorCode::None => Some(Membership::Current),
            ErrorCode::RebalanceInProgress => Some(Membership::Rebalancing),
            ErrorCode::IllegalGeneration | ErrorCode::UnknownMemberId => Some(Membership::Lost),
            _ => None,
        }
    }
}

/// The partitions of `topic` in an assignment (an unreadable one assigns nothing).
fn assigned_partitions(bytes: &[u8], topic: &str) -> Vec<i32> {
    decode_assignment(bytes)
        .unwrap_or_default()
        .into_iter()
        .filter(|(name, _)| name == topic)
        .flat_map(|(_, parts)| parts)
        .collect()
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
        let mut member = GroupMember {
            conn: connect_to_coordinator(bootstrap, config, group)?,
            group: group.to_owned(),
            topic: topic.to_owned(),
            partition_count,
            member_id: String::new(),
            generation: -1,
            last_heartbeat: Instant::now(),
            partitions: Vec::new(),
            join_time: Duration::ZERO,
        };
        member.rejoin()?;
        Ok(member)
    }

    /// JoinGroup then SyncGroup, again while the coordinator sends us back (a new member id
    /// to use, a membership it no longer knows, a rebalance that started meanwhile).
    pub fn rejoin(&mut self) -> Result<(), ClientError> {
        let started = Instant::now();
        for _ in 0..MAX_REJOINS {
            if self.try_join()? {
                self.join_time = started.elapsed();
                self.last_heartbeat = Instant::now();
                return Ok(());
            }
        }
        Err(self.conn.protocol(
            ApiKey::JoinGroup,
            format!(
                "group {} kept rebalancing: {MAX_REJOINS} rejoins in a row",
                self.group
            ),
        ))
    }

    /// One JoinGroup + SyncGroup; `false`: the coordinator asks to join again.
    fn try_join(&mut self) -> Result<bool, ClientError> {
        let joined: JoinGroupResponse =
            self.conn.call(&RequestBody::JoinGroup(JoinGroupRequest {
                group_id: self.group.clone(),
                session_timeout_ms: SESSION_TIMEOUT_MS,
                rebalance_timeout_ms: REBALANCE_TIMEOUT_MS,
                member_id: self.member_id.clone(),
                protocol_type: "consumer".into(),
                protocols: vec![JoinGroupProtocol {
                    name: "range".into(),
                    metadata: encode_subscription(&[&self.topic]),
                }],
            }))?;
        match joined.error_code {
            ErrorCode::None => {}
            ErrorCode::MemberIdRequired => {
                self.member_id = joined.member_id;
                return Ok(false);
            }
            // Apache Kafka is still loading the group's partition of __consumer_offsets
            // (just after creating it, or after a restart): ask again in a moment.
            ErrorCode::CoordinatorLoadInProgress => {
                std::thread::sleep(LOAD_PAUSE);
                return Ok(false);
            }
            // This broker does not coordinate the group (yet, or any more): find the
            // coordinator again and join there, as Kafka's clients do.
            ErrorCode::NotCoordinator | ErrorCode::CoordinatorNotAvailable => {
                std::thread::sleep(LOAD_PAUSE);
                let broker = self.conn.broker().to_owned();
                let config = self.conn.config().clone();
                self.conn = connect_to_coordinator(&broker, &config, &self.group)?;
                return Ok(false);
            }
            ErrorCode::UnknownMemberId => {
                self.member_id.clear();
                return Ok(false);
            }
            code => return Err(self.conn.broker_error(ApiKey::JoinGroup, code, None, None)),
        }
        self.member_id = joined.member_id.clone();
        self.generation = joined.generation_id;
        let assignments = if joined.leader == joined.member_id {
            let ids: Vec<String> = joined.members.iter().map(|m| m.member_id.clone()).collect();
            range_assign(&ids, self.partition_count)
                .into_iter()
                .map(|(member_id, parts)| SyncGroupAssignment {
                    member_id,
                    assignment: encode_assignment(&[(&self.topic, &parts)]),
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
        match Membership::of(synced.error_code) {
            Some(Membership::Current) => {}
            Some(Membership::Lost) if synced.error_code == ErrorCode::UnknownMemberId => {
                self.member_id.clear();
                return Ok(false);
            }
            Some(_) => return Ok(false),
            None => {
                let code = synced.error_code;
                return Err(self.conn.broker_error(ApiKey::SyncGroup, code, None, None));
            }
        }
        self.partitions = assigned_partitions(&synced.assignment, &self.topic);
        Ok(true)
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
            return Err(self
                .conn
                .broker_error(ApiKey::OffsetFetch, r.error_code, None, None));
        }
        Ok(r.topics
            .into_iter()
            .flat_map(|(_, parts)| parts)
            .map(|p| (p.partition_index, p.committed_offset))
            .collect())
    }

    /// Whether the last heartbeat (or commit) was [`HEARTBEAT_INTERVAL`] ago.
    pub fn heartbeat_due(&self) -> bool {
        self.last_heartbeat.elapsed() >= HEARTBEAT_INTERVAL
    }

    /// Heartbeat: keeps the membership alive, and is how a member hears of a rebalance.
    pub fn heartbeat(&mut self) -> Result<Membership, ClientError> {
        let r: HeartbeatResponse = self.conn.call(&RequestBody::Heartbeat(HeartbeatRequest {
            group_id: self.group.clone(),
            generation_id: self.generation,
            member_id: self.member_id.clone(),
        }))?;
        self.last_heartbeat = Instant::now();
        let code = r.0.error_code;
        Membership::of(code)
            .ok_or_else(|| self.conn.broker_error(ApiKey::Heartbeat, code, None, None))
    }

    /// Commits, for each `(partition, offset)`, `offset` (the next record to read), in one
    /// OffsetCommit. `Current`: stored; otherwise the group moved on and nothing was stored.
    pub fn commit(&mut self, offsets: &[(i32, i64)]) -> Result<Membership, ClientError> {
        if offsets.is_empty() {
            return Ok(Membership::Current);
        }
        let r: OffsetCommitResponse =
            self.conn
                .call(&RequestBody::OffsetCommit(OffsetCommitRequest {
                    group_id: self.group.clone(),
                    generation_id: self.generation,
                    member_id: self.member_id.clone(),
                    retention_time_ms: -1,
                    topics: vec![OffsetCommitTopic {
                        name: self.topic.clone(),
                        partitions: offsets
                            .iter()
                            .map(
                                |&(partition_index, committed_offset)| OffsetCommitPartition {
                                    partition_index,
                                    committed_offset,
                                    committed_leader_epoch: -1,
                                    committed_metadata: None,
                                },
                            )
                            .collect(),
                    }],
                }))?;
        let code = r
            .topics
            .iter()
            .flat_map(|t| &t.partitions)
            .map(|(_, e)| *e)
            .find(|e| *e != ErrorCode::None)
            .unwrap_or(ErrorCode::None);
        Membership::of(code).ok_or_else(|| {
            self.conn
                .broker_error(ApiKey::OffsetCommit, code, Some(&self.topic), None)
        })
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
            code => Err(self.conn.broker_error(ApiKey::LeaveGroup, code, None, None)),
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
        let bytes = encode_assignment(&[("t", &[1, 3])]);
        assert_eq!(assigned_partitions(&bytes, "t"), [1, 3]);
        assert!(assigned_partitions(&bytes, "other").is_empty());
        assert!(assigned_partitions(&[], "t").is_empty());
    }
}
