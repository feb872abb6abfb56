//! InitProducerId (key 22): "give me a producer id" — v0 and v1.
//!
//! An *idempotent* producer stamps every batch with `(producerId, producerEpoch,
//! baseSequence)` so a broker can drop a batch it already appended when the producer
//! retries after a lost acknowledgement. It gets its id from this API before the first
//! Produce. kafka-python ≥ 3 is idempotent by default and gives up without it
//! (docs/kafka-protocol.md §8), so even a broker that does not check sequences should hand out
//! ids. v1 has the same layout as v0 (it only changed throttling semantics); v2 is flexible.

use super::primitives::{FieldResult, Reader, Writer};
use super::{ApiKey, DecodeResponse, ErrorCode, read_error_code};

/// InitProducerId request, v0–v1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitProducerIdRequest {
    /// Null for an idempotent (non-transactional) producer.
    pub transactional_id: Option<String>,
    pub transaction_timeout_ms: i32,
}

impl InitProducerIdRequest {
    pub(super) fn decode(r: &mut Reader<'_>, _version: i16) -> FieldResult<Self> {
        Ok(InitProducerIdRequest {
            transactional_id: r.nullable_string("init_producer_id.transactional_id")?,
            transaction_timeout_ms: r.i32("init_producer_id.transaction_timeout_ms")?,
        })
    }

    pub(super) fn encode(&self, w: &mut Writer, _version: i16) {
        w.nullable_string(self.transactional_id.as_deref());
        w.i32(self.transaction_timeout_ms);
    }
}

/// InitProducerId response, v0–v1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitProducerIdResponse {
    pub throttle_time_ms: i32,
    pub error_code: ErrorCode,
    /// -1 on error.
    pub producer_id: i64,
    /// -1 on error.
    pub producer_epoch: i16,
}

impl InitProducerIdResponse {
    pub(super) fn encode(&self, w: &mut Writer, _version: i16) {
        w.i32(self.throttle_time_ms);
        w.i16(self.error_code.code());
        w.i64(self.producer_id);
        w.i16(self.producer_epoch);
    }
}

impl DecodeResponse<'_> for InitProducerIdResponse {
    const API_KEY: ApiKey = ApiKey::InitProducerId;

    fn decode(r: &mut Reader<'_>, _version: i16) -> FieldResult<Self> {
        Ok(InitProducerIdResponse {
            throttle_time_ms: r.i32("init_producer_id.throttle_time_ms")?,
            error_code: read_error_code(r, "init_producer_id.error_code")?,
            producer_id: r.i64("init_producer_id.producer_id")?,
            producer_epoch: r.i16("init_producer_id.producer_epoch")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::{Response, encode_response};

    #[test]
    fn v1_response_hand_computed() {
        let resp = Response::InitProducerId(InitProducerIdResponse {
            throttle_time_ms: 0,
            error_code: ErrorCode::None,
            producer_id: 1000,
            producer_epoch: 0,
        });
        let expected = [
            0, 0, 0, 20, 0, 0, 0, 6, // size, correlation id
            0, 0, 0, 0, 0, 0, // throttle, error
            0, 0, 0, 0, 0, 0, 0x03, 0xe8, // producer id 1000
            0, 0, // epoch
        ];
        assert_eq!(encode_response(6, 1, &resp), expected);
    }
}
