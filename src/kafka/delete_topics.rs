//! DeleteTopics (key 20): "delete these topics" — v0 to v3.
//!
//! The request is a list of names and a timeout; the answer an error code per name
//! (UNKNOWN_TOPIC_OR_PARTITION for a topic that does not exist). v1 adds the throttle time
//! to the response; v2 and v3 have the same layout (they changed quota and error semantics);
//! v4 is the first flexible version, v6 names topics by id.

use super::primitives::{FieldResult, Reader, Writer};
use super::{ApiKey, DecodeResponse, ErrorCode, read_error_code};

/// DeleteTopics request, v0–v3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteTopicsRequest {
    pub topic_names: Vec<String>,
    pub timeout_ms: i32,
}

impl DeleteTopicsRequest {
    pub(super) fn decode(r: &mut Reader<'_>, _version: i16) -> FieldResult<Self> {
        Ok(DeleteTopicsRequest {
            topic_names: r.array_of("delete_topics.topic_names", 2, |r| {
                r.string("delete_topics.topic_name")
            })?,
            timeout_ms: r.i32("delete_topics.timeout_ms")?,
        })
    }

    pub(super) fn encode(&self, w: &mut Writer, _version: i16) {
        w.array_of(&self.topic_names, |w, n| w.string(n));
        w.i32(self.timeout_ms);
    }
}

/// DeleteTopics response, v0–v3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteTopicsResponse {
    /// v1+.
    pub throttle_time_ms: i32,
    /// (topic, error).
    pub responses: Vec<(String, ErrorCode)>,
}

impl DeleteTopicsResponse {
    pub(super) fn encode(&self, w: &mut Writer, version: i16) {
        if version >= 1 {
            w.i32(self.throttle_time_ms);
        }
        w.array_of(&self.responses, |w, (name, code)| {
            w.string(name);
            w.i16(code.code());
        });
    }
}

impl DecodeResponse<'_> for DeleteTopicsResponse {
    const API_KEY: ApiKey = ApiKey::DeleteTopics;

    fn decode(r: &mut Reader<'_>, version: i16) -> FieldResult<Self> {
        let throttle_time_ms = if version >= 1 {
            r.i32("delete_topics.throttle_time_ms")?
        } else {
            0
        };
        let responses = r.array_of("delete_topics.responses", 4, |r| {
            Ok((
                r.string("delete_topics.name")?,
                read_error_code(r, "delete_topics.error_code")?,
            ))
        })?;
        Ok(DeleteTopicsResponse {
            throttle_time_ms,
            responses,
        })
    }
}
