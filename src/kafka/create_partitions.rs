//! CreatePartitions (key 37): "grow these topics to N partitions" — v0 and v1.
//!
//! `count` is the new *total*, which may only grow: Kafka never removes a partition, as that
//! would drop its records and re-map keys (a smaller or equal count is INVALID_PARTITIONS).
//! v1 has the same layout as v0 (it changed quota semantics); v2 is flexible.

use super::primitives::{FieldResult, Reader, Writer};
use super::{ApiKey, DecodeResponse, ErrorCode, read_error_code};

/// CreatePartitions request, v0–v1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatePartitionsRequest {
    pub topics: Vec<CreatePartitionsTopic>,
    pub timeout_ms: i32,
    pub validate_only: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatePartitionsTopic {
    pub name: String,
    /// The new total number of partitions.
    pub count: i32,
    /// Broker ids per new partition; null for automatic placement.
    pub assignments: Option<Vec<Vec<i32>>>,
}

impl CreatePartitionsRequest {
    pub(super) fn decode(r: &mut Reader<'_>, _version: i16) -> FieldResult<Self> {
        let topics = r.array_of("create_partitions.topics", 10, |r| {
            Ok(CreatePartitionsTopic {
                name: r.string("create_partitions.name")?,
                count: r.i32("create_partitions.count")?,
                assignments: r.nullable_array("create_partitions.assignments", 4, |r| {
                    r.array_of("create_partitions.assignments.broker_ids", 4, |r| {
                        r.i32("create_partitions.assignments.broker_id")
                    })
                })?,
            })
        })?;
        Ok(CreatePartitionsRequest {
            topics,
            timeout_ms: r.i32("create_partitions.timeout_ms")?,
            validate_only: r.bool("create_partitions.validate_only")?,
        })
    }

    pub(super) fn encode(&self, w: &mut Writer, _version: i16) {
        w.array_of(&self.topics, |w, t| {
            w.string(&t.name);
            w.i32(t.count);
            w.nullable_array_of(t.assignments.as_deref(), |w, brokers| {
                w.array_of(brokers, |w, b| w.i32(*b));
            });
        });
        w.i32(self.timeout_ms);
        w.bool(self.validate_only);
    }
}

/// CreatePartitions response, v0–v1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatePartitionsResponse {
    pub throttle_time_ms: i32,
    /// (topic, error, message).
    pub results: Vec<(String, ErrorCode, Option<String>)>,
}

impl CreatePartitionsResponse {
    pub(super) fn encode(&self, w: &mut Writer, _version: i16) {
        w.i32(self.throttle_time_ms);
        w.array_of(&self.results, |w, (name, code, message)| {
            w.string(name);
            w.i16(code.code());
            w.nullable_string(message.as_deref());
        });
    }
}

impl DecodeResponse<'_> for CreatePartitionsResponse {
    const API_KEY: ApiKey = ApiKey::CreatePartitions;

    fn decode(r: &mut Reader<'_>, _version: i16) -> FieldResult<Self> {
        Ok(CreatePartitionsResponse {
            throttle_time_ms: r.i32("create_partitions.throttle_time_ms")?,
            results: r.array_of("create_partitions.results", 6, |r| {
                Ok((
                    r.string("create_partitions.name")?,
                    read_error_code(r, "create_partitions.error_code")?,
                    r.nullable_string("create_partitions.error_message")?,
                ))
            })?,
        })
    }
}
