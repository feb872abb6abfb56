//! DeleteGroups (key 42): "forget this group and its committed offsets" — v0 and v1.
//!
//! Only a group without members can be deleted (NON_EMPTY_GROUP otherwise); an unknown
//! one answers GROUP_ID_NOT_FOUND. The coordinator writes tombstones (a key with a null
//! value) into `__consumer_offsets` so that the deletion survives a restart. v1 changes
//! nothing on the wire.

use super::primitives::{FieldResult, Reader, Writer};
use super::{ApiKey, DecodeResponse, ErrorCode, read_error_code};

/// DeleteGroups request, v0–v1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteGroupsRequest {
    pub groups_names: Vec<String>,
}

impl DeleteGroupsRequest {
    pub(super) fn decode(r: &mut Reader<'_>, _version: i16) -> FieldResult<Self> {
        Ok(DeleteGroupsRequest {
            groups_names: r.array_of("delete_groups.groups_names", 2, |r| {
                r.string("delete_groups.groups_names")
            })?,
        })
    }

    pub(super) fn encode(&self, w: &mut Writer, _version: i16) {
        w.array_of(&self.groups_names, |w, g| w.string(g));
    }
}

/// DeleteGroups response, v0–v1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteGroupsResponse {
    pub throttle_time_ms: i32,
    /// `(group_id, error_code)`.
    pub results: Vec<(String, ErrorCode)>,
}

impl DeleteGroupsResponse {
    pub(super) fn encode(&self, w: &mut Writer, _version: i16) {
        w.i32(self.throttle_time_ms);
        w.array_of(&self.results, |w, (g, e)| {
            w.string(g);
            w.i16(e.code());
        });
    }
}

impl DecodeResponse<'_> for DeleteGroupsResponse {
    const API_KEY: ApiKey = ApiKey::DeleteGroups;

    fn decode(r: &mut Reader<'_>, _version: i16) -> FieldResult<Self> {
        Ok(DeleteGroupsResponse {
            throttle_time_ms: r.i32("delete_groups.throttle_time_ms")?,
            results: r.array_of("delete_groups.results", 4, |r| {
                Ok((
                    r.string("delete_groups.results.group_id")?,
                    read_error_code(r, "delete_groups.results.error_code")?,
                ))
            })?,
        })
    }
}
