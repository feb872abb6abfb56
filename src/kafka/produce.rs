//! Produce (key 0): "append these record batches" — v3 to v8.
//!
//! The request carries, per partition, a `records` blob: record batches exactly as they
//! will sit on disk (docs/kafka-protocol.md §9). The codec does not look inside: it hands the
//! handler a slice *borrowed from the request frame*, and the handler validates the batch
//! (`crate::log::batch`), stamps the base offset and appends it. Decoding therefore costs
//! no copy of the records, however large they are.
//!
//! v3 is our minimum because it is the first version whose records are in format v2, the
//! only one our log stores. Versions 4–8 have the same request layout; they differ in
//! what the client may expect of the response (and in which compression codecs it may use:
//! zstd from v7, which is the handler's check).
//!
//! Two things the handler must know:
//! - `acks = 0` means the client expects **no response at all**; sending one would be read
//!   as the answer to its next request.
//! - The response's `throttle_time_ms` is the **last** field, unlike in most APIs.

use super::primitives::{FieldResult, Reader, Writer};
use super::{ApiKey, DecodeResponse, ErrorCode, read_error_code};

/// Produce request, v3–v8.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProduceRequest<'a> {
    /// Null unless the producer is transactional.
    pub transactional_id: Option<String>,
    /// 0: no response; 1: after the leader wrote; -1: after all in-sync replicas (= 1 here).
    pub acks: i16,
    pub timeout_ms: i32,
    pub topic_data: Vec<ProduceTopic<'a>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProduceTopic<'a> {
    pub name: String,
    pub partition_data: Vec<ProducePartition<'a>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducePartition<'a> {
    pub index: i32,
    /// The record batches, borrowed from the frame; unvalidated. Null is legal on the wire
    /// (and is an INVALID_RECORD for the handler to report).
    pub records: Option<&'a [u8]>,
}

impl<'a> ProduceRequest<'a> {
    pub(super) fn decode(r: &mut Reader<'a>, version: i16) -> FieldResult<Self> {
        let transactional_id = if version >= 3 {
            r.nullable_string("produce.transactional_id")?
        } else {
            None
        };
        let acks = r.i16("produce.acks")?;
        let timeout_ms = r.i32("produce.timeout_ms")?;
        let topic_data = r.array_of("produce.topic_data", 6, |r| {
            Ok(ProduceTopic {
                name: r.string("produce.topic_data.name")?,
                partition_data: r.array_of("produce.topic_data.partition_data", 8, |r| {
                    Ok(ProducePartition {
                        index: r.i32("produce.topic_data.partition_data.index")?,
                        records: r.nullable_bytes("produce.topic_data.partition_data.records")?,
                    })
                })?,
            })
        })?;
        Ok(ProduceRequest {
            transactional_id,
            acks,
            timeout_ms,
            topic_data,
        })
    }

    pub(super) fn encode(&self, w: &mut Writer, version: i16) {
        if version >= 3 {
            w.nullable_string(self.transactional_id.as_deref());
        }
        w.i16(self.acks);
        w.i32(self.timeout_ms);
        w.array_of(&self.topic_data, |w, t| {
            w.string(&t.name);
            w.array_of(&t.partition_data, |w, p| {
                w.i32(p.index);
                w.nullable_bytes(p.records);
            });
        });
    }
}

/// Produce response, v3–v8.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProduceResponse {
    pub responses: Vec<ProduceTopicResponse>,
    /// v1+; written *after* the responses.
    pub throttle_time_ms: i32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProduceTopicResponse {
    pub name: String,
    pub partition_responses: Vec<ProducePartitionResponse>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducePartitionResponse {
    pub index: i32,
    pub error_code: ErrorCode,
    /// Offset given to the first record; -1 on error.
    pub base_offset: i64,
    /// v2+; -1 for CreateTime topics (ours).
    pub log_append_time_ms: i64,
    /// v5+; the partition's log start offset.
    pub log_start_offset: i64,
    /// v8+; which batches failed and why (empty is fine).
    pub record_errors: Vec<BatchIndexAndErrorMessage>,
    /// v8+; a human-readable message, or null.
    pub error_message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchIndexAndErrorMessage {
    pub batch_index: i32,
    pub batch_index_error_message: Option<String>,
}

impl ProducePartitionResponse {
    /// A successful append at `base_offset`.
    pub fn appended(index: i32, base_offset: i64, log_start_offset: i64) -> Self {
        ProducePartitionResponse {
            index,
            error_code: ErrorCode::None,
            base_offset,
            log_append_time_ms: -1,
            log_start_offset,
            record_errors: Vec::new(),
            error_message: None,
        }
    }

    /// A rejected partition: nothing appended, offsets -1.
    pub fn error(index: i32, error_code: ErrorCode, message: Option<String>) -> Self {
        ProducePartitionResponse {
            index,
            error_code,
            base_offset: -1,
            log_append_time_ms: -1,
            log_start_offset: -1,
            record_errors: Vec::new(),
            error_message: message,
        }
    }
}

impl ProduceResponse {
    pub(super) fn encode(&self, w: &mut Writer, version: i16) {
        w.array_of(&self.responses, |w, t| {
            w.string(&t.name);
            w.array_of(&t.partition_responses, |w, p| {
                w.i32(p.index);
                w.i16(p.error_code.code());
                w.i64(p.base_offset);
                if version >= 2 {
                    w.i64(p.log_append_time_ms);
                }
                if version >= 5 {
                    w.i64(p.log_start_offset);
                }
                if version >= 8 {
                    w.array_of(&p.record_errors, |w, e| {
                        w.i32(e.batch_index);
                        w.nullable_string(e.batch_index_error_message.as_deref());
                    });
                    w.nullable_string(p.error_message.as_deref());
                }
            });
        });
        if version >= 1 {
            w.i32(self.throttle_time_ms);
        }
    }
}

impl DecodeResponse<'_> for ProduceResponse {
    const API_KEY: ApiKey = ApiKey::Produce;

    /// Fields the version lacks: `log_append_time_ms` and `log_start_offset` -1,
    /// `record_errors` empty, `error_message` null, `throttle_time_ms` 0.
    fn decode(r: &mut Reader<'_>, version: i16) -> FieldResult<Self> {
        let responses = r.array_of("produce.responses", 6, |r| {
            Ok(ProduceTopicResponse {
                name: r.string("produce.responses.name")?,
                // Smallest partition: index + error + base_offset.
                partition_responses: r.array_of("produce.responses.partitions", 14, |r| {
                    let index = r.i32("produce.responses.partitions.index")?;
                    let error_code = read_error_code(r, "produce.responses.partitions.error_code")?;
                    let base_offset = r.i64("produce.responses.partitions.base_offset")?;
                    let log_append_time_ms = if version >= 2 {
                        r.i64("produce.responses.partitions.log_append_time_ms")?
                    } else {
                        -1
                    };
                    let log_start_offset = if version >= 5 {
                        r.i64("produce.responses.partitions.log_start_offset")?
                    } else {
                        -1
                    };
                    let (record_errors, error_message) = if version >= 8 {
                        (
                            r.array_of("produce.responses.partitions.record_errors", 6, |r| {
                                Ok(BatchIndexAndErrorMessage {
                                    batch_index: r.i32(
                                        "produce.responses.partitions.record_errors.batch_index",
                                    )?,
                                    batch_index_error_message: r.nullable_string(
                                        "produce.responses.partitions.record_errors.message",
                                    )?,
                                })
                            })?,
                            r.nullable_string("produce.responses.partitions.error_message")?,
                        )
                    } else {
                        (Vec::new(), None)
                    };
                    Ok(ProducePartitionResponse {
                        index,
                        error_code,
                        base_offset,
                        log_append_time_ms,
                        log_start_offset,
                        record_errors,
                        error_message,
                    })
                })?,
            })
        })?;
        let throttle_time_ms = if version >= 1 {
            r.i32("produce.throttle_time_ms")?
        } else {
            0
        };
        Ok(ProduceResponse {
            responses,
            throttle_time_ms,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::{Response, encode_response};

    #[test]
    fn v8_response_hand_computed() {
        let resp = Response::Produce(ProduceResponse {
            responses: vec![ProduceTopicResponse {
                name: "t".into(),
                partition_responses: vec![ProducePartitionResponse::appended(0, 5, 0)],
            }],
            throttle_time_ms: 0,
        });
        let expected = [
            0, 0, 0, 55, 0, 0, 0, 4, // size, correlation id
            0, 0, 0, 1, 0, 1, b't', // responses: 1, "t"
            0, 0, 0, 1, 0, 0, 0, 0, 0, 0, // partitions: 1, index 0, error 0
            0, 0, 0, 0, 0, 0, 0, 5, // base offset
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // log append time -1
            0, 0, 0, 0, 0, 0, 0, 0, // log start offset
            0, 0, 0, 0, // record_errors: []
            0xff, 0xff, // error_message: null
            0, 0, 0, 0, // throttle, last
        ];
        assert_eq!(encode_response(4, 8, &resp), expected);
    }

    #[test]
    fn v3_response_has_no_log_start_offset() {
        let resp = Response::Produce(ProduceResponse {
            responses: vec![ProduceTopicResponse {
                name: "t".into(),
                partition_responses: vec![ProducePartitionResponse::error(
                    0,
                    ErrorCode::CorruptMessage,
                    None,
                )],
            }],
            throttle_time_ms: 7,
        });
        let expected = [
            0, 0, 0, 41, 0, 0, 0, 4, // size, correlation id
            0, 0, 0, 1, 0, 1, b't', // responses: 1, "t"
            0, 0, 0, 1, 0, 0, 0, 0, 0, 2, // partitions: 1, index 0, CORRUPT_MESSAGE
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // base offset -1
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // log append time -1
            0, 0, 0, 7, // throttle
        ];
        assert_eq!(encode_response(4, 3, &resp), expected);
    }
}
