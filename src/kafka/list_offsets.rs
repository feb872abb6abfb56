//! ListOffsets (key 2): "which offset corresponds to this time?" — v0 to v5.
//!
//! A consumer that starts "from the beginning" or "from the end" does not know those
//! offsets; it asks with a special timestamp: `-2` = earliest (log start), `-1` = latest
//! (log end), or a real timestamp in ms = the first record at or after it.
//!
//! v0 is the odd one out (docs/kafka-protocol.md §5): it asks for up to `max_num_offsets` offsets
//! and the answer is an *array* of offsets (`old_style_offsets`), with no timestamp.
//! v1 replaced that by exactly one `(timestamp, offset)` pair per partition. Later versions
//! add `isolation_level` (v2), `throttle_time_ms` (v2) and leader epochs (v4).

use super::primitives::{FieldResult, Reader, Writer};
use super::{ApiKey, DecodeResponse, ErrorCode, read_error_code};

/// `timestamp` value asking for the log start offset.
pub const EARLIEST_TIMESTAMP: i64 = -2;
/// `timestamp` value asking for the log end offset.
pub const LATEST_TIMESTAMP: i64 = -1;

/// ListOffsets request, v0–v5.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListOffsetsRequest {
    /// -1 for consumers.
    pub replica_id: i32,
    /// v2+: 0 read_uncommitted, 1 read_committed; 0 when absent.
    pub isolation_level: i8,
    pub topics: Vec<ListOffsetsTopic>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListOffsetsTopic {
    pub name: String,
    pub partitions: Vec<ListOffsetsPartition>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListOffsetsPartition {
    pub partition_index: i32,
    /// v4+; -1 when absent.
    pub current_leader_epoch: i32,
    /// [`EARLIEST_TIMESTAMP`], [`LATEST_TIMESTAMP`] or a time in ms.
    pub timestamp: i64,
    /// v0 only; 1 when absent.
    pub max_num_offsets: i32,
}

impl ListOffsetsRequest {
    pub(super) fn decode(r: &mut Reader<'_>, version: i16) -> FieldResult<Self> {
        let replica_id = r.i32("list_offsets.replica_id")?;
        let isolation_level = if version >= 2 {
            r.i8("list_offsets.isolation_level")?
        } else {
            0
        };
        let topics = r.array_of("list_offsets.topics", 6, |r| {
            Ok(ListOffsetsTopic {
                name: r.string("list_offsets.topics.name")?,
                partitions: r.array_of("list_offsets.topics.partitions", 12, |r| {
                    let partition_index =
                        r.i32("list_offsets.topics.partitions.partition_index")?;
                    let current_leader_epoch = if version >= 4 {
                        r.i32("list_offsets.topics.partitions.current_leader_epoch")?
                    } else {
                        -1
                    };
                    let timestamp = r.i64("list_offsets.topics.partitions.timestamp")?;
                    let max_num_offsets = if version == 0 {
                        r.i32("list_offsets.topics.partitions.max_num_offsets")?
                    } else {
                        1
                    };
                    Ok(ListOffsetsPartition {
                        partition_index,
                        current_leader_epoch,
                        timestamp,
                        max_num_offsets,
                    })
                })?,
            })
        })?;
        Ok(ListOffsetsRequest {
            replica_id,
            isolation_level,
            topics,
        })
    }

    pub(super) fn encode(&self, w: &mut Writer, version: i16) {
        w.i32(self.replica_id);
        if version >= 2 {
            w.i8(self.isolation_level);
        }
        w.array_of(&self.topics, |w, t| {
            w.string(&t.name);
            w.array_of(&t.partitions, |w, p| {
                w.i32(p.partition_index);
                if version >= 4 {
                    w.i32(p.current_leader_epoch);
                }
                w.i64(p.timestamp);
                if version == 0 {
                    w.i32(p.max_num_offsets);
                }
            });
        });
    }
}

/// ListOffsets response, v0–v5.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListOffsetsResponse {
    /// v2+.
    pub throttle_time_ms: i32,
    pub topics: Vec<ListOffsetsTopicResponse>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListOffsetsTopicResponse {
    pub name: String,
    pub partitions: Vec<ListOffsetsPartitionResponse>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListOffsetsPartitionResponse {
    pub partition_index: i32,
    pub error_code: ErrorCode,
    /// v0 only: the offsets found (librdkafka reads the last element).
    pub old_style_offsets: Vec<i64>,
    /// v1+: timestamp of the record found, -1 for earliest/latest or none.
    pub timestamp: i64,
    /// v1+: the offset found, -1 if none.
    pub offset: i64,
    /// v4+: -1 if unknown.
    pub leader_epoch: i32,
}

impl ListOffsetsPartitionResponse {
    /// A successful answer, filled in for every version: v0 gets `[offset]`, v1+ the pair.
    pub fn found(partition_index: i32, timestamp: i64, offset: i64, leader_epoch: i32) -> Self {
        ListOffsetsPartitionResponse {
            partition_index,
            error_code: ErrorCode::None,
            old_style_offsets: vec![offset],
            timestamp,
            offset,
            leader_epoch,
        }
    }

    /// An error answer (e.g. UNKNOWN_TOPIC_OR_PARTITION): no offsets, -1 everywhere.
    pub fn error(partition_index: i32, error_code: ErrorCode) -> Self {
        ListOffsetsPartitionResponse {
            partition_index,
            error_code,
            old_style_offsets: Vec::new(),
            timestamp: -1,
            offset: -1,
            leader_epoch: -1,
        }
    }
}

impl ListOffsetsResponse {
    pub(super) fn encode(&self, w: &mut Writer, version: i16) {
        if version >= 2 {
            w.i32(self.throttle_time_ms);
        }
        w.array_of(&self.topics, |w, t| {
            w.string(&t.name);
            w.array_of(&t.partitions, |w, p| {
                w.i32(p.partition_index);
                w.i16(p.error_code.code());
                if version == 0 {
                    w.array_of(&p.old_style_offsets, |w, o| w.i64(*o));
                } else {
                    w.i64(p.timestamp);
                    w.i64(p.offset);
                }
                if version >= 4 {
                    w.i32(p.leader_epoch);
                }
            });
        });
    }
}

impl DecodeResponse<'_> for ListOffsetsResponse {
    const API_KEY: ApiKey = ApiKey::ListOffsets;

    /// So that a caller can read `offset` whatever the version: at v0, `offset` is the
    /// *last* element of `old_style_offsets` (librdkafka's rule) or -1 if there is none, and
    /// `timestamp` is -1; from v1 on, `old_style_offsets` is empty. `throttle_time_ms` is 0
    /// before v2, `leader_epoch` -1 before v4.
    fn decode(r: &mut Reader<'_>, version: i16) -> FieldResult<Self> {
        let throttle_time_ms = if version >= 2 {
            r.i32("list_offsets.throttle_time_ms")?
        } else {
            0
        };
        let topics = r.array_of("list_offsets.topics", 6, |r| {
            Ok(ListOffsetsTopicResponse {
                name: r.string("list_offsets.topics.name")?,
                // Smallest partition: index + error + (v0) empty array or (v1+) two int64.
                partitions: r.array_of("list_offsets.topics.partitions", 10, |r| {
                    let partition_index =
                        r.i32("list_offsets.topics.partitions.partition_index")?;
                    let error_code =
                        read_error_code(r, "list_offsets.topics.partitions.error_code")?;
                    let (old_style_offsets, timestamp, offset) = if version == 0 {
                        let offsets = r.array_of(
                            "list_offsets.topics.partitions.old_style_offsets",
                            8,
                            |r| r.i64("list_offsets.topics.partitions.old_style_offsets"),
                        )?;
                        let last = offsets.last().copied().unwrap_or(-1);
                        (offsets, -1, last)
                    } else {
                        (
                            Vec::new(),
                            r.i64("list_offsets.topics.partitions.timestamp")?,
                            r.i64("list_offsets.topics.partitions.offset")?,
                        )
                    };
                    let leader_epoch = if version >= 4 {
                        r.i32("list_offsets.topics.partitions.leader_epoch")?
                    } else {
                        -1
                    };
                    Ok(ListOffsetsPartitionResponse {
                        partition_index,
                        error_code,
                        old_style_offsets,
                        timestamp,
                        offset,
                        leader_epoch,
                    })
                })?,
            })
        })?;
        Ok(ListOffsetsResponse {
            throttle_time_ms,
            topics,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::{Response, encode_response};

    fn response() -> Response {
        Response::ListOffsets(ListOffsetsResponse {
            throttle_time_ms: 0,
            topics: vec![ListOffsetsTopicResponse {
                name: "t".into(),
                partitions: vec![ListOffsetsPartitionResponse::found(0, -1, 42, 0)],
            }],
        })
    }

    #[test]
    fn v0_response_has_an_offset_array() {
        let expected = [
            0, 0, 0, 33, 0, 0, 0, 9, // size, correlation id
            0, 0, 0, 1, 0, 1, b't', // topics: 1, "t"
            0, 0, 0, 1, 0, 0, 0, 0, 0, 0, // partitions: 1, index 0, error 0
            0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 42, // [42]
        ];
        assert_eq!(encode_response(9, 0, &response()), expected);
    }

    #[test]
    fn v5_response_hand_computed() {
        let expected = [
            0, 0, 0, 45, 0, 0, 0, 9, // size, correlation id
            0, 0, 0, 0, // throttle
            0, 0, 0, 1, 0, 1, b't', // topics: 1, "t"
            0, 0, 0, 1, 0, 0, 0, 0, 0, 0, // partitions: 1, index 0, error 0
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // timestamp -1
            0, 0, 0, 0, 0, 0, 0, 42, // offset
            0, 0, 0, 0, // leader epoch
        ];
        assert_eq!(encode_response(9, 5, &response()), expected);
    }
}
