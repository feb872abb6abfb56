//! FindCoordinator (key 10): "which broker runs my group?" — v0 to v4.
//!
//! Every group (and every transactional id) belongs to one *coordinator*: the broker that
//! leads the partition of `__consumer_offsets` the group's id hashes to. A consumer asks
//! any broker this question first and sends all its group requests to the answer. zc is a
//! single broker, so the answer is always zc itself; the API still matters, because no
//! client will join a group before it has an answer.
//!
//! v1 adds `key_type` (0 = group, 1 = transaction) and an error message, v3 is the first
//! flexible version (compact strings, tagged fields, response header v1), and v4 (KIP-699)
//! asks for several keys at once: `coordinator_keys` replaces `key`, and the answer becomes
//! one entry per key, each with its own error.

use super::primitives::{FieldResult, Reader, Writer};
use super::{ApiKey, DecodeResponse, ErrorCode, read_error_code};

/// `key_type` of a consumer group.
pub const KEY_TYPE_GROUP: i8 = 0;
/// `key_type` of a transactional id.
pub const KEY_TYPE_TRANSACTION: i8 = 1;

/// FindCoordinator request, v0–v4.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindCoordinatorRequest {
    /// v1+; 0 (group) when absent.
    pub key_type: i8,
    /// The group ids (or transactional ids) asked about: the single `key` below v4.
    pub keys: Vec<String>,
}

impl FindCoordinatorRequest {
    pub(super) fn decode(r: &mut Reader<'_>, version: i16) -> FieldResult<Self> {
        let (keys, key_type) = match version {
            0 => (vec![r.string("find_coordinator.key")?], KEY_TYPE_GROUP),
            1 | 2 => {
                let key = r.string("find_coordinator.key")?;
                (vec![key], r.i8("find_coordinator.key_type")?)
            }
            3 => {
                let key = r.compact_string("find_coordinator.key")?;
                (vec![key], r.i8("find_coordinator.key_type")?)
            }
            _ => {
                let key_type = r.i8("find_coordinator.key_type")?;
                let keys = r.compact_array_of("find_coordinator.coordinator_keys", 1, |r| {
                    r.compact_string("find_coordinator.coordinator_keys")
                })?;
                (keys, key_type)
            }
        };
        if version >= 3 {
            r.tagged_fields("find_coordinator.tagged_fields")?;
        }
        Ok(FindCoordinatorRequest { key_type, keys })
    }

    /// Below v4 exactly one key is sent (the first; an empty list sends "").
    pub(super) fn encode(&self, w: &mut Writer, version: i16) {
        let first = self.keys.first().map_or("", String::as_str);
        match version {
            0 => w.string(first),
            1 | 2 => {
                w.string(first);
                w.i8(self.key_type);
            }
            3 => {
                w.compact_string(first);
                w.i8(self.key_type);
            }
            _ => {
                w.i8(self.key_type);
                w.compact_array_len(self.keys.len());
                for k in &self.keys {
                    w.compact_string(k);
                }
            }
        }
        if version >= 3 {
            w.tagged_fields(&[]);
        }
    }
}

/// The answer for one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coordinator {
    /// v4 only (below v4 the request had a single key); empty when absent.
    pub key: String,
    pub node_id: i32,
    pub host: String,
    pub port: i32,
    pub error_code: ErrorCode,
    /// v1+; null when absent.
    pub error_message: Option<String>,
}

/// FindCoordinator response, v0–v4. Below v4 it carries exactly one [`Coordinator`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindCoordinatorResponse {
    /// v1+.
    pub throttle_time_ms: i32,
    pub coordinators: Vec<Coordinator>,
}

impl FindCoordinatorResponse {
    pub(super) fn encode(&self, w: &mut Writer, version: i16) {
        if version >= 1 {
            w.i32(self.throttle_time_ms);
        }
        if version >= 4 {
            w.compact_array_len(self.coordinators.len());
            for c in &self.coordinators {
                w.compact_string(&c.key);
                w.i32(c.node_id);
                w.compact_string(&c.host);
                w.i32(c.port);
                w.i16(c.error_code.code());
                w.compact_nullable_string(c.error_message.as_deref());
                w.tagged_fields(&[]);
            }
        } else {
            let none = Coordinator {
                key: String::new(),
                node_id: -1,
                host: String::new(),
                port: -1,
                error_code: ErrorCode::UnknownServerError,
                error_message: None,
            };
            let c = self.coordinators.first().unwrap_or(&none);
            w.i16(c.error_code.code());
            if version >= 3 {
                w.compact_nullable_string(c.error_message.as_deref());
            } else if version >= 1 {
                w.nullable_string(c.error_message.as_deref());
            }
            w.i32(c.node_id);
            if version >= 3 {
                w.compact_string(&c.host);
            } else {
                w.string(&c.host);
            }
            w.i32(c.port);
        }
        if version >= 3 {
            w.tagged_fields(&[]);
        }
    }
}

impl DecodeResponse<'_> for FindCoordinatorResponse {
    const API_KEY: ApiKey = ApiKey::FindCoordinator;

    fn decode(r: &mut Reader<'_>, version: i16) -> FieldResult<Self> {
        let throttle_time_ms = if version >= 1 {
            r.i32("find_coordinator.throttle_time_ms")?
        } else {
            0
        };
        let coordinators = if version >= 4 {
            r.compact_array_of("find_coordinator.coordinators", 1, |r| {
                let c = Coordinator {
                    key: r.compact_string("find_coordinator.coordinators.key")?,
                    node_id: r.i32("find_coordinator.coordinators.node_id")?,
                    host: r.compact_string("find_coordinator.coordinators.host")?,
                    port: r.i32("find_coordinator.coordinators.port")?,
                    error_code: read_error_code(r, "find_coordinator.coordinators.error_code")?,
                    error_message: r
                        .compact_nullable_string("find_coordinator.coordinators.error_message")?,
                };
                r.tagged_fields("find_coordinator.coordinators.tagged_fields")?;
                Ok(c)
            })?
        } else {
            let error_code = read_error_code(r, "find_coordinator.error_code")?;
            let error_message = match version {
                0 => None,
                1 | 2 => r.nullable_string("find_coordinator.error_message")?,
                _ => r.compact_nullable_string("find_coordinator.error_message")?,
            };
            let node_id = r.i32("find_coordinator.node_id")?;
            let host = if version >= 3 {
                r.compact_string("find_coordinator.host")?
            } else {
                r.string("find_coordinator.host")?
            };
            vec![Coordinator {
                key: String::new(),
                node_id,
                host,
                port: r.i32("find_coordinator.port")?,
                error_code,
                error_message,
            }]
        };
        if version >= 3 {
            r.tagged_fields("find_coordinator.tagged_fields")?;
        }
        Ok(FindCoordinatorResponse {
            throttle_time_ms,
            coordinators,
        })
    }
}
