//! ApiVersions (key 18): "which versions of which APIs do you speak?"
//!
//! It is the first request on every connection of a modern client, and the only one that
//! must work before client and broker agree on anything. Hence its special rules
//! (docs/kafka-protocol.md §3):
//!
//! - Request v0–v2 has an **empty body**; v3 adds the client's software name and version in
//!   flexible (compact) encoding, with request header v2.
//! - The response always uses response header v0, even at v3 where the body is flexible.
//! - A version we do not speak is **not** a reason to hang up: we answer with a **v0 body**,
//!   error UNSUPPORTED_VERSION (35) and an `api_keys` list holding only ApiVersions' own
//!   range. The client reads that, and retries with a version from the range:
//!
//! ```text
//! client: ApiVersions v4 ─────────────►
//!         ◄───── v0 body: error 35, [{18, 0, 3}]
//! client: ApiVersions v3 ─────────────►
//!         ◄───── v3 body: error 0, [{0,3,8}, {1,4,11}, {2,0,5}, {3,0,8}, {18,0,3}, {22,0,1}]
//! ```
//!
//! The error reply must carry a non-zero error code *and* be in v0 shape: librdkafka reads
//! the error code first and only downgrades when it is UNSUPPORTED_VERSION (a wrong shape
//! with error 0 kills the connection, redpanda-data/redpanda#296).

use super::header;
use super::primitives::{FieldResult, Reader, TaggedField, Writer};
use super::{ApiKey, DecodeResponse, ErrorCode, SUPPORTED_APIS, VersionRange, read_error_code};

/// ApiVersions request. Fields exist from v3; for v0–v2 they are empty strings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ApiVersionsRequest<'a> {
    /// v3+, e.g. `apache-kafka-java`, `librdkafka`.
    pub client_software_name: String,
    /// v3+.
    pub client_software_version: String,
    /// v3+ tagged fields of the body.
    pub tagged_fields: Vec<TaggedField<'a>>,
}

impl<'a> ApiVersionsRequest<'a> {
    pub(super) fn decode(r: &mut Reader<'a>, version: i16) -> FieldResult<Self> {
        if version < 3 {
            return Ok(Self::default());
        }
        Ok(ApiVersionsRequest {
            client_software_name: r.compact_string("api_versions.client_software_name")?,
            client_software_version: r.compact_string("api_versions.client_software_version")?,
            tagged_fields: r.tagged_fields("api_versions.tagged_fields")?,
        })
    }

    pub(super) fn encode(&self, w: &mut Writer, version: i16) {
        if version >= 3 {
            w.compact_string(&self.client_software_name);
            w.compact_string(&self.client_software_version);
            w.tagged_fields(&self.tagged_fields);
        }
    }

    /// Kafka answers INVALID_REQUEST (42) to a v3+ request whose software name or version
    /// is not `[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?` (`ApiVersionsRequest.isValid`).
    /// Always true below v3, where the fields do not exist.
    pub fn is_valid(&self, version: i16) -> bool {
        fn ok(s: &str) -> bool {
            let b = s.as_bytes();
            let edge = |c: &u8| c.is_ascii_alphanumeric();
            match (b.first(), b.last()) {
                (Some(first), Some(last)) => {
                    edge(first)
                        && edge(last)
                        && b.iter()
                            .all(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'.')
                }
                _ => false,
            }
        }
        version < 3 || (ok(&self.client_software_name) && ok(&self.client_software_version))
    }
}

/// One entry of the response's `api_keys` list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiVersion {
    pub api_key: i16,
    pub min_version: i16,
    pub max_version: i16,
}

impl ApiVersion {
    fn of(key: ApiKey, range: VersionRange) -> Self {
        ApiVersion {
            api_key: key.code(),
            min_version: range.min,
            max_version: range.max,
        }
    }
}

/// ApiVersions response, v0–v3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiVersionsResponse {
    pub error_code: ErrorCode,
    pub api_keys: Vec<ApiVersion>,
    /// v1+.
    pub throttle_time_ms: i32,
}

impl ApiVersionsResponse {
    /// The normal answer: no error, and every API in [`SUPPORTED_APIS`] with its
    /// [advertised](ApiKey::advertised) range.
    pub fn supported() -> Self {
        ApiVersionsResponse {
            error_code: ErrorCode::None,
            api_keys: SUPPORTED_APIS
                .iter()
                .map(|&(key, _)| ApiVersion::of(key, key.advertised()))
                .collect(),
            throttle_time_ms: 0,
        }
    }

    pub(super) fn encode(&self, w: &mut Writer, version: i16) {
        w.i16(self.error_code.code());
        if version >= 3 {
            // Flexible body: compact array, a tag section per entry and one at the end.
            w.compact_array_len(self.api_keys.len());
            for k in &self.api_keys {
                w.i16(k.api_key);
                w.i16(k.min_version);
                w.i16(k.max_version);
                w.tagged_fields(&[]);
            }
            w.i32(self.throttle_time_ms);
            w.tagged_fields(&[]);
        } else {
            w.array_of(&self.api_keys, |w, k| {
                w.i16(k.api_key);
                w.i16(k.min_version);
                w.i16(k.max_version);
            });
            if version >= 1 {
                w.i32(self.throttle_time_ms);
            }
        }
    }
}

impl DecodeResponse<'_> for ApiVersionsResponse {
    const API_KEY: ApiKey = ApiKey::ApiVersions;

    /// The client's side of the special rule: an UNSUPPORTED_VERSION answer is a **v0
    /// body** whatever version was asked (KIP-511), so the error code is read first and
    /// decides the layout of the rest. Any other answer has the layout of `version`;
    /// `throttle_time_ms` is 0 where absent, and v3's tagged fields (Kafka's optional
    /// feature flags) are read and dropped.
    fn decode(r: &mut Reader<'_>, version: i16) -> FieldResult<Self> {
        let error_code = read_error_code(r, "api_versions.error_code")?;
        let entry = |r: &mut Reader<'_>| {
            Ok(ApiVersion {
                api_key: r.i16("api_versions.api_keys.api_key")?,
                min_version: r.i16("api_versions.api_keys.min_version")?,
                max_version: r.i16("api_versions.api_keys.max_version")?,
            })
        };
        let body_version = if error_code == ErrorCode::UnsupportedVersion {
            0
        } else {
            version
        };
        let (api_keys, throttle_time_ms) = if body_version >= 3 {
            let api_keys = r.compact_array_of("api_versions.api_keys", 7, |r| {
                let key = entry(r)?;
                r.tagged_fields("api_versions.api_keys.tagged_fields")?;
                Ok(key)
            })?;
            let throttle_time_ms = r.i32("api_versions.throttle_time_ms")?;
            r.tagged_fields("api_versions.tagged_fields")?;
            (api_keys, throttle_time_ms)
        } else {
            let api_keys = r.array_of("api_versions.api_keys", 6, entry)?;
            let throttle_time_ms = if body_version >= 1 {
                r.i32("api_versions.throttle_time_ms")?
            } else {
                0
            };
            (api_keys, throttle_time_ms)
        };
        Ok(ApiVersionsResponse {
            error_code,
            api_keys,
            throttle_time_ms,
        })
    }
}

/// The complete frame answering an ApiVersions request whose version we do not speak:
/// response header v0, then a **v0 body** with UNSUPPORTED_VERSION and only our own
/// ApiVersions range, so the client knows what to retry with.
pub fn unsupported_api_versions_response(correlation_id: i32) -> Vec<u8> {
    error_frame(correlation_id, ApiKey::ApiVersions.versions())
}

fn error_frame(correlation_id: i32, own: VersionRange) -> Vec<u8> {
    let body = ApiVersionsResponse {
        error_code: ErrorCode::UnsupportedVersion,
        api_keys: vec![ApiVersion::of(ApiKey::ApiVersions, own)],
        throttle_time_ms: 0,
    };
    let mut w = header::begin_response(correlation_id, 0);
    body.encode(&mut w, 0);
    header::finish_frame(w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::{Response, encode_response};

    /// The exact bytes from docs/kafka-protocol.md §3 (a broker speaking ApiVersions 0..=2).
    #[test]
    fn error_frame_matches_the_spec_bytes() {
        let expected = [
            0x00, 0x00, 0x00, 0x10, // size = 16
            0x00, 0x00, 0x00, 0x01, // correlation_id
            0x00, 0x23, // error_code = 35
            0x00, 0x00, 0x00, 0x01, // api_keys count = 1 (int32, v0 style)
            0x00, 0x12, 0x00, 0x00, 0x00, 0x02, // {18, 0, 2}
        ];
        assert_eq!(error_frame(1, VersionRange { min: 0, max: 2 }), expected);
    }

    #[test]
    fn our_error_frame_advertises_our_apiversions_range() {
        let frame = unsupported_api_versions_response(7);
        let range = ApiKey::ApiVersions.versions();
        let mut expected = vec![0, 0, 0, 0x10, 0, 0, 0, 7, 0, 0x23, 0, 0, 0, 1, 0, 0x12];
        expected.extend_from_slice(&range.min.to_be_bytes());
        expected.extend_from_slice(&range.max.to_be_bytes());
        assert_eq!(frame, expected);
    }

    #[test]
    fn v3_response_is_compact_with_a_v0_header() {
        let resp = ApiVersionsResponse {
            error_code: ErrorCode::None,
            api_keys: vec![ApiVersion {
                api_key: 18,
                min_version: 0,
                max_version: 3,
            }],
            throttle_time_ms: 0,
        };
        let frame = encode_response(5, 3, &Response::ApiVersions(resp));
        let expected = [
            0, 0, 0, 19, // size
            0, 0, 0, 5, // correlation id, and no tag byte after it (header v0)
            0, 0, // error_code
            2, // compact array: 1 entry + 1
            0, 18, 0, 0, 0, 3, 0, // entry + its empty tag section
            0, 0, 0, 0, // throttle_time_ms
            0, // body tag section
        ];
        assert_eq!(frame, expected);
    }

    #[test]
    fn v1_response_hand_computed() {
        let resp = ApiVersionsResponse {
            error_code: ErrorCode::None,
            api_keys: vec![ApiVersion {
                api_key: 1,
                min_version: 4,
                max_version: 11,
            }],
            throttle_time_ms: 9,
        };
        let frame = encode_response(2, 1, &Response::ApiVersions(resp));
        let expected = [
            0, 0, 0, 20, 0, 0, 0, 2, // size, correlation id
            0, 0, 0, 0, 0, 1, // error, count
            0, 1, 0, 4, 0, 11, // {1, 4, 11}
            0, 0, 0, 9, // throttle
        ];
        assert_eq!(frame, expected);
    }

    #[test]
    fn supported_lists_every_api_of_the_table() {
        let resp = ApiVersionsResponse::supported();
        assert_eq!(resp.api_keys.len(), SUPPORTED_APIS.len());
        assert!(resp.api_keys.contains(&ApiVersion {
            api_key: 1,
            min_version: 4,
            max_version: 11
        }));
    }

    #[test]
    fn software_name_validation_follows_kafka() {
        let mut req = ApiVersionsRequest {
            client_software_name: "librdkafka".into(),
            client_software_version: "2.0.2".into(),
            tagged_fields: vec![],
        };
        assert!(req.is_valid(3));
        req.client_software_version = "2.0.2-".into();
        assert!(!req.is_valid(3));
        req.client_software_version = String::new();
        assert!(!req.is_valid(3));
        assert!(req.is_valid(2));
    }
}
