//! OffsetFetch (key 9): "where did my group stop?" — v1 to v5.
//!
//! A consumer asks this for the partitions it was just assigned, and starts each at the
//! committed offset; -1 means "nothing committed", and the consumer falls back to its
//! `auto.offset.reset` policy (earliest or latest). v2 adds a group-level error code and
//! lets `topics` be null ("every partition the group has committed for"), v3
//! `throttle_time_ms`, v5 each partition's `committed_leader_epoch`.

use super::primitives::{FieldResult, Reader, Writer};
use super::{ApiKey, DecodeResponse, ErrorCode, read_error_code};

/// OffsetFetch request, v1–v5.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetFetchRequest {
    pub group_id: String,
    /// `(topic, partitions)`; `None` (v2+) asks for everything the group committed.
    pub topics: Option<Vec<(String, Vec<i32>)>>,
}

impl OffsetFetchRequest {
    pub(super) fn decode(r: &mut Reader<'_>, _version: i16) -> FieldResult<Self> {
        let group_id = r.string("offset_fetch.group_id")?;
        let topics = r.nullable_array("offset_fetch.topics", 6, |r| {
            Ok((
                r.string("offset_fetch.topics.name")?,
                r.array_of("offset_fetch.topics.partition_indexes", 4, |r| {
                    r.i32("offset_fetch.topics.partition_indexes")
                })?,
            ))
        })?;
        // A null array below v2 is a protocol error in Kafka; we accept it as "all", which
        // is what it would mean from v2 on.
        Ok(OffsetFetchRequest { group_id, topics })
    }

    pub(super) fn encode(&self, w: &mut Writer, _version: i16) {
        w.string(&self.group_id);
        w.nullable_array_of(self.topics.as_deref(), |w, (name, parts)| {
            w.string(name);
            w.array_of(parts, |w, p| w.i32(*p));
        });
    }
}

/// One partition's committed offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetFetchPartition {
    pub partition_index: i32,
    /// -1 when nothing is committed.
    pub committed_offset: i64,
    /// v5+; -1 when absent.
    pub committed_leader_epoch: i32,
    pub metadata: Option<String>,
    pub error_code: ErrorCode,
}

/// OffsetFetch response, v1–v5.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetFetchResponse {
    /// v3+.
    pub throttle_time_ms: i32,
    pub topics: Vec<(String, Vec<OffsetFetchPartition>)>,
    /// v2+: an error for the whole group (e.g. COORDINATOR_LOAD_IN_PROGRESS).
    pub error_code: ErrorCode,
}

impl OffsetFetchResponse {
    pub(super) fn encode(&self, w: &mut Writer, version: i16) {
        if version >= 3 {
            w.i32(self.throttle_time_ms);
        }
        w.array_of(&self.topics, |w, (name, parts)| {
            w.string(name);
            w.array_of(parts, |w, p| {
                w.i32(p.partition_index);
                w.i64(p.committed_offset);
                if version >= 5 {
                    w.i32(p.committed_leader_epoch);
                }
                w.nullable_string(p.metadata.as_deref());
                w.i16(p.error_code.code());
            });
        });
        if version >= 2 {
            w.i16(self.error_code.code());
        }
    }
}

impl DecodeResponse<'_> for OffsetFetchResponse {
    const API_KEY: ApiKey = ApiKey::OffsetFetch;

    fn decode(r: &mut Reader<'_>, version: i16) -> FieldResult<Self> {
        let throttle_time_ms = if version >= 3 {
            r.i32("offset_fetch.throttle_time_ms")?
        } else {
            0
        };
        let topics = r.array_of("offset_fetch.topics", 6, |r| {
            Ok((
                r.string("offset_fetch.topics.name")?,
                r.array_of("offset_fetch.topics.partitions", 16, |r| {
                    let partition_index =
                        r.i32("offset_fetch.topics.partitions.partition_index")?;
                    let committed_offset =
                        r.i64("offset_fetch.topics.partitions.committed_offset")?;
                    let committed_leader_epoch = if version >= 5 {
                        r.i32("offset_fetch.topics.partitions.committed_leader_epoch")?
                    } else {
                        -1
                    };
                    Ok(OffsetFetchPartition {
                        partition_index,
                        committed_offset,
                        committed_leader_epoch,
                        metadata: r.nullable_string("offset_fetch.topics.partitions.metadata")?,
                        error_code: read_error_code(
                            r,
                            "offset_fetch.topics.partitions.error_code",
                        )?,
                    })
                })?,
            ))
        })?;
        let error_code = if version >= 2 {
            read_error_code(r, "offset_fetch.error_code")?
        } else {
            ErrorCode::None
        };
        Ok(OffsetFetchResponse {
            throttle_time_ms,
            topics,
            error_code,
        })
    }
}
