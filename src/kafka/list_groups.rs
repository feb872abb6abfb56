//! ListGroups (key 16): "which groups does this coordinator run?" — v0 to v2.
//!
//! What `kafka-consumer-groups --list` asks every broker. The request has no fields below
//! v4 (v4 filters by state); v1 adds `throttle_time_ms` to the response, v2 nothing.

use super::primitives::{FieldResult, Reader, Writer};
use super::{ApiKey, DecodeResponse, ErrorCode, read_error_code};

/// ListGroups request, v0–v2: no fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListGroupsRequest;

impl ListGroupsRequest {
    pub(super) fn decode(_r: &mut Reader<'_>, _version: i16) -> FieldResult<Self> {
        Ok(ListGroupsRequest)
    }

    pub(super) fn encode(&self, _w: &mut Writer, _version: i16) {}
}

/// ListGroups response, v0–v2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListGroupsResponse {
    /// v1+.
    pub throttle_time_ms: i32,
    pub error_code: ErrorCode,
    /// `(group_id, protocol_type)`.
    pub groups: Vec<(String, String)>,
}

impl ListGroupsResponse {
    pub(super) fn encode(&self, w: &mut Writer, version: i16) {
        if version >= 1 {
            w.i32(self.throttle_time_ms);
        }
        w.i16(self.error_code.code());
        w.array_of(&self.groups, |w, (id, kind)| {
            w.string(id);
            w.string(kind);
        });
    }
}

impl DecodeResponse<'_> for ListGroupsResponse {
    const API_KEY: ApiKey = ApiKey::ListGroups;

    fn decode(r: &mut Reader<'_>, version: i16) -> FieldResult<Self> {
        let throttle_time_ms = if version >= 1 {
            r.i32("list_groups.throttle_time_ms")?
        } else {
            0
        };
        Ok(ListGroupsResponse {
            throttle_time_ms,
            error_code: read_error_code(r, "list_groups.error_code")?,
            groups: r.array_of("list_groups.groups", 4, |r| {
                Ok((
                    r.string("list_groups.groups.group_id")?,
                    r.string("list_groups.groups.protocol_type")?,
                ))
            })?,
        })
    }
}
