//! OffsetCommit (key 8): "my group has consumed up to here" — v2 to v6.
//!
//! A consumer commits, per partition, the offset of the *next* record it will read. The
//! coordinator stores it (as a record in `__consumer_offsets`) and hands it back through
//! OffsetFetch, which is how a restarted consumer, or the member that takes a partition
//! over after a rebalance, resumes where the group stopped. A commit names the member and
//! its generation, so a member that missed a rebalance cannot overwrite offsets of
//! partitions that are no longer its own (ILLEGAL_GENERATION); a group without members
//! (`generation_id` -1, empty `member_id`) may commit freely, as tools that reset offsets do.
//!
//! v2–v4 carry `retention_time_ms` (ignored since Kafka 2.1, and by zc), v3 adds
//! `throttle_time_ms`, v6 each partition's `committed_leader_epoch`. v0/v1 (offsets in
//! ZooKeeper, per-partition timestamps) are gone from Kafka 4 and from zc.

use super::primitives::{FieldResult, Reader, Writer};
use super::{ApiKey, DecodeResponse, ErrorCode, read_error_code};

/// OffsetCommit request, v2–v6.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetCommitRequest {
    pub group_id: String,
    /// -1 for a commit from outside the group's membership.
    pub generation_id: i32,
    pub member_id: String,
    /// v2–v4; -1 (the broker's default) when absent.
    pub retention_time_ms: i64,
    pub topics: Vec<OffsetCommitTopic>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetCommitTopic {
    pub name: String,
    pub partitions: Vec<OffsetCommitPartition>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetCommitPartition {
    pub partition_index: i32,
    pub committed_offset: i64,
    /// v6+; -1 when absent.
    pub committed_leader_epoch: i32,
    /// Free text the consumer stores with the offset (Kafka caps it at 4096 bytes).
    pub committed_metadata: Option<String>,
}

impl OffsetCommitRequest {
    pub(super) fn decode(r: &mut Reader<'_>, version: i16) -> FieldResult<Self> {
        let group_id = r.string("offset_commit.group_id")?;
        let generation_id = r.i32("offset_commit.generation_id")?;
        let member_id = r.string("offset_commit.member_id")?;
        let retention_time_ms = if version <= 4 {
            r.i64("offset_commit.retention_time_ms")?
        } else {
            -1
        };
        let topics = r.array_of("offset_commit.topics", 6, |r| {
            Ok(OffsetCommitTopic {
                name: r.string("offset_commit.topics.name")?,
                partitions: r.array_of("offset_commit.topics.partitions", 14, |r| {
                    let partition_index =
                        r.i32("offset_commit.topics.partitions.partition_index")?;
                    let committed_offset =
                        r.i64("offset_commit.topics.partitions.committed_offset")?;
                    let committed_leader_epoch = if version >= 6 {
                        r.i32("offset_commit.topics.partitions.committed_leader_epoch")?
                    } else {
                        -1
                    };
                    Ok(OffsetCommitPartition {
                        partition_index,
                        committed_offset,
                        committed_leader_epoch,
                        committed_metadata: r.nullable_string(
                            "offset_commit.topics.partitions.committed_metadata",
                        )?,
                    })
                })?,
            })
        })?;
        Ok(OffsetCommitRequest {
            group_id,
            generation_id,
            member_id,
            retention_time_ms,
            topics,
        })
    }

    pub(super) fn encode(&self, w: &mut Writer, version: i16) {
        w.string(&self.group_id);
        w.i32(self.generation_id);
        w.string(&self.member_id);
        if version <= 4 {
            w.i64(self.retention_time_ms);
        }
        w.array_of(&self.topics, |w, t| {
            w.string(&t.name);
            w.array_of(&t.partitions, |w, p| {
                w.i32(p.partition_index);
                w.i64(p.committed_offset);
                if version >= 6 {
                    w.i32(p.committed_leader_epoch);
                }
                w.nullable_string(p.committed_metadata.as_deref());
            });
        });
    }
}

/// OffsetCommit response, v2–v6: an error code per partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetCommitResponse {
    /// v3+.
    pub throttle_time_ms: i32,
    pub topics: Vec<OffsetCommitTopicResponse>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetCommitTopicResponse {
    pub name: String,
    /// `(partition_index, error_code)`.
    pub partitions: Vec<(i32, ErrorCode)>,
}

impl OffsetCommitResponse {
    pub(super) fn encode(&self, w: &mut Writer, version: i16) {
        if version >= 3 {
            w.i32(self.throttle_time_ms);
        }
        w.array_of(&self.topics, |w, t| {
            w.string(&t.name);
            w.array_of(&t.partitions, |w, (p, e)| {
                w.i32(*p);
                w.i16(e.code());
            });
        });
    }
}

impl DecodeResponse<'_> for OffsetCommitResponse {
    const API_KEY: ApiKey = ApiKey::OffsetCommit;

    fn decode(r: &mut Reader<'_>, version: i16) -> FieldResult<Self> {
        let throttle_time_ms = if version >= 3 {
            r.i32("offset_commit.throttle_time_ms")?
        } else {
            0
        };
        Ok(OffsetCommitResponse {
            throttle_time_ms,
            topics: r.array_of("offset_commit.topics", 6, |r| {
                Ok(OffsetCommitTopicResponse {
                    name: r.string("offset_commit.topics.name")?,
                    partitions: r.array_of("offset_commit.topics.partitions", 6, |r| {
                        Ok((
                            r.i32("offset_commit.topics.partitions.partition_index")?,
                            read_error_code(r, "offset_commit.topics.partitions.error_code")?,
                        ))
                    })?,
                })
            })?,
        })
    }
}
