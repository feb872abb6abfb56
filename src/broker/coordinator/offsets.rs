//! Committed offsets: OffsetCommit, which checks the member and generation as Kafka does
//! and stores the offsets in `__consumer_offsets` before answering, and OffsetFetch, which
//! reads them back from memory.

use std::collections::BTreeMap;
use std::time::Instant;

use super::group::GroupState;
use super::offsets_topic::{self, OffsetValue, StoredRecord};
use super::{Coordinator, MAX_GROUPS, MAX_OFFSET_METADATA, now_ms};
use crate::broker::topics::Topics;
use crate::kafka::{
    ErrorCode, OffsetCommitRequest, OffsetCommitResponse, OffsetCommitTopicResponse,
    OffsetFetchPartition, OffsetFetchRequest, OffsetFetchResponse,
};

impl Coordinator {
    /// OffsetCommit: checks the member and generation, then stores every valid partition's
    /// offset in one append to `__consumer_offsets`.
    pub fn commit(&self, topics: &Topics, req: &OffsetCommitRequest) -> OffsetCommitResponse {
        let mut groups = self.lock();
        self.tick(&mut groups, topics);
        // Kafka's rules (`ClassicGroup.validateOffsetCommit`): a group without members
        // accepts commits from outside (generation -1), as tools resetting offsets and
        // consumers with manual assignment send; otherwise the member and generation must
        // be current, and not between JoinGroup and SyncGroup.
        let group_error = match groups.get_mut(&req.group_id) {
            _ if req.group_id.is_empty() => Some(ErrorCode::InvalidGroupId),
            Some(g) if !g.members.is_empty() => {
                let (state, generation) = (g.state(), g.generation);
                match g.member_mut(&req.member_id) {
                    None => Some(ErrorCode::UnknownMemberId),
                    Some(_) if req.generation_id != generation => {
                        Some(ErrorCode::IllegalGeneration)
                    }
                    Some(_) if state == GroupState::CompletingRebalance => {
                        Some(ErrorCode::RebalanceInProgress)
                    }
                    Some(m) => {
                        m.last_seen = Instant::now();
                        None
                    }
                }
            }
            _ if req.generation_id < 0 => None,
            None => Some(ErrorCode::IllegalGeneration),
            Some(_) => Some(ErrorCode::UnknownMemberId),
        };
        if groups.len() >= MAX_GROUPS && !groups.contains_key(&req.group_id) {
            return commit_response(req, |_, _| ErrorCode::GroupMaxSizeReached);
        }
        if let Some(code) = group_error {
            return commit_response(req, |_, _| code);
        }
        let ts = now_ms();
        let mut records = Vec::new();
        let mut codes: BTreeMap<(String, i32), ErrorCode> = BTreeMap::new();
        for t in &req.topics {
            let topic = topics.get(&t.name);
            for p in &t.partitions {
                let code = if topic.as_ref().is_none_or(|topic| {
                    p.partition_index < 0 || p.partition_index as usize >= topic.partitions.len()
                }) {
                    ErrorCode::UnknownTopicOrPartition
                } else if p
                    .committed_metadata
                    .as_ref()
                    .is_some_and(|m| m.len() > MAX_OFFSET_METADATA)
                {
                    ErrorCode::OffsetMetadataTooLarge
                } else {
                    records.push(StoredRecord::Offset {
                        group: req.group_id.clone(),
                        topic: t.name.clone(),
                        partition: p.partition_index,
                        value: Some(OffsetValue {
                            offset: p.committed_offset,
                            leader_epoch: p.committed_leader_epoch,
                            metadata: p.committed_metadata.clone().unwrap_or_default(),
                            commit_timestamp: ts,
                        }),
                    });
                    ErrorCode::None
                };
                codes.insert((t.name.clone(), p.partition_index), code);
            }
        }
        if let Err(e) = offsets_topic::append(topics, &req.group_id, &records, ts) {
            (self.log)(format!(
                "group {}: commit not stored: {e:#}; answered UNKNOWN_SERVER_ERROR",
                req.group_id
            ));
            return commit_response(req, |_, _| ErrorCode::UnknownServerError);
        }
        let g = groups.entry(req.group_id.clone()).or_default();
        for record in records {
            if let StoredRecord::Offset {
                topic,
                partition,
                value: Some(v),
                ..
            } = record
            {
                g.offsets.insert((topic, partition), v);
            }
        }
        commit_response(req, |t, p| codes[&(t.to_owned(), p)])
    }

    pub fn fetch_offsets(&self, req: &OffsetFetchRequest) -> OffsetFetchResponse {
        let groups = self.lock();
        let g = groups.get(&req.group_id);
        let committed = |t: &str, p: i32| g.and_then(|g| g.offsets.get(&(t.to_owned(), p)));
        let partition = |t: &str, p: i32| {
            let v = committed(t, p);
            OffsetFetchPartition {
                partition_index: p,
                committed_offset: v.map_or(-1, |v| v.offset),
                committed_leader_epoch: v.map_or(-1, |v| v.leader_epoch),
                metadata: Some(v.map_or(String::new(), |v| v.metadata.clone())),
                error_code: ErrorCode::None,
            }
        };
        let topics = match &req.topics {
            Some(topics) => topics
                .iter()
                .map(|(t, parts)| (t.clone(), parts.iter().map(|p| partition(t, *p)).collect()))
                .collect(),
            None => {
                let mut all: Vec<(String, Vec<OffsetFetchPartition>)> = Vec::new();
                for (t, p) in g
                    .map(|g| g.offsets.keys().cloned().collect::<Vec<_>>())
                    .unwrap_or_default()
                {
                    let entry = partition(&t, p);
                    match all.last_mut() {
                        Some((name, parts)) if *name == t => parts.push(entry),
                        _ => all.push((t, vec![entry])),
                    }
                }
                all
            }
        };
        OffsetFetchResponse {
            throttle_time_ms: 0,
            topics,
            error_code: ErrorCode::None,
        }
    }
}

fn commit_response(
    req: &OffsetCommitRequest,
    code: impl Fn(&str, i32) -> ErrorCode,
) -> OffsetCommitResponse {
    OffsetCommitResponse {
        throttle_time_ms: 0,
        topics: req
            .topics
            .iter()
            .map(|t| OffsetCommitTopicResponse {
                name: t.name.clone(),
                partitions: t
                    .partitions
                    .iter()
                    .map(|p| (p.partition_index, code(&t.name, p.partition_index)))
                    .collect(),
            })
            .collect(),
    }
}
