//! CreateTopics (key 19): "create these topics" — v0 to v4.
//!
//! Each topic names its partition count and replication factor, or -1 for the broker's
//! defaults (v4+), or gives a manual replica assignment per partition. zc is one broker, so a
//! replication factor other than 1 (or -1, "the default") cannot be honoured: the topic
//! gets INVALID_REPLICATION_FACTOR and a message saying so. `validate_only` (v1+) asks for
//! the checks without the creation. Versions 2-4 only add response fields (throttle time
//! from v2) and the -1 defaults (v4); v5 is the first flexible version.

use super::primitives::{FieldResult, Reader, Writer};
use super::{ApiKey, DecodeResponse, ErrorCode, read_error_code};

/// CreateTopics request, v0–v4.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateTopicsRequest {
    pub topics: Vec<CreatableTopic>,
    pub timeout_ms: i32,
    /// v1+; false before.
    pub validate_only: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatableTopic {
    pub name: String,
    /// -1: the broker's default (or the assignments decide).
    pub num_partitions: i32,
    /// -1: the broker's default.
    pub replication_factor: i16,
    /// Manual placement: (partition, broker ids). Empty for automatic placement.
    pub assignments: Vec<(i32, Vec<i32>)>,
    /// Topic configs to set: (name, value).
    pub configs: Vec<(String, Option<String>)>,
}

impl CreateTopicsRequest {
    pub(super) fn decode(r: &mut Reader<'_>, version: i16) -> FieldResult<Self> {
        let topics = r.array_of("create_topics.topics", 18, |r| {
            Ok(CreatableTopic {
                name: r.string("create_topics.name")?,
                num_partitions: r.i32("create_topics.num_partitions")?,
                replication_factor: r.i16("create_topics.replication_factor")?,
                assignments: r.array_of("create_topics.assignments", 8, |r| {
                    Ok((
                        r.i32("create_topics.assignments.partition_index")?,
                        r.array_of("create_topics.assignments.broker_ids", 4, |r| {
                            r.i32("create_topics.assignments.broker_id")
                        })?,
                    ))
                })?,
                configs: r.array_of("create_topics.configs", 4, |r| {
                    Ok((
                        r.string("create_topics.configs.name")?,
                        r.nullable_string("create_topics.configs.value")?,
                    ))
                })?,
            })
        })?;
        let timeout_ms = r.i32("create_topics.timeout_ms")?;
        let validate_only = version >= 1 && r.bool("create_topics.validate_only")?;
        Ok(CreateTopicsRequest {
            topics,
            timeout_ms,
            validate_only,
        })
    }

    pub(super) fn encode(&self, w: &mut Writer, version: i16) {
        w.array_of(&self.topics, |w, t| {
            w.string(&t.name);
            w.i32(t.num_partitions);
            w.i16(t.replication_factor);
            w.array_of(&t.assignments, |w, (p, brokers)| {
                w.i32(*p);
                w.array_of(brokers, |w, b| w.i32(*b));
            });
            w.array_of(&t.configs, |w, (name, value)| {
                w.string(name);
                w.nullable_string(value.as_deref());
            });
        });
        w.i32(self.timeout_ms);
        if version >= 1 {
            w.bool(self.validate_only);
        }
    }
}

/// CreateTopics response, v0–v4.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateTopicsResponse {
    /// v2+.
    pub throttle_time_ms: i32,
    pub topics: Vec<CreatableTopicResult>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatableTopicResult {
    pub name: String,
    pub error_code: ErrorCode,
    /// v1+.
    pub error_message: Option<String>,
}

impl CreateTopicsResponse {
    pub(super) fn encode(&self, w: &mut Writer, version: i16) {
        if version >= 2 {
            w.i32(self.throttle_time_ms);
        }
        w.array_of(&self.topics, |w, t| {
            w.string(&t.name);
            w.i16(t.error_code.code());
            if version >= 1 {
                w.nullable_string(t.error_message.as_deref());
            }
        });
    }
}

impl DecodeResponse<'_> for CreateTopicsResponse {
    const API_KEY: ApiKey = ApiKey::CreateTopics;

    fn decode(r: &mut Reader<'_>, version: i16) -> FieldResult<Self> {
        let throttle_time_ms = if version >= 2 {
            r.i32("create_topics.throttle_time_ms")?
        } else {
            0
        };
        let topics = r.array_of("create_topics.topics", 4, |r| {
            Ok(CreatableTopicResult {
                name: r.string("create_topics.name")?,
                error_code: read_error_code(r, "create_topics.error_code")?,
                error_message: if version >= 1 {
                    r.nullable_string("create_topics.error_message")?
                } else {
                    None
                },
            })
        })?;
        Ok(CreateTopicsResponse {
            throttle_time_ms,
            topics,
        })
    }
}
