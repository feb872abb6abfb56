//! SyncGroup (key 14): "here is the assignment" / "what is mine?" — v0 to v2.
//!
//! The second step of a rebalance. After JoinGroup every member sends SyncGroup; the
//! leader's request carries one assignment per member (opaque bytes the leader computed),
//! the others' carry none. The coordinator answers each member with its own assignment once
//! the leader's has arrived. v1 adds `throttle_time_ms` to the response; v2 changes nothing
//! on the wire.

use super::primitives::{FieldResult, Reader, Writer};
use super::{ApiKey, DecodeResponse, ErrorCode, read_error_code};

/// One member's assignment, as sent by the leader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncGroupAssignment {
    pub member_id: String,
    pub assignment: Vec<u8>,
}

/// SyncGroup request, v0–v2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncGroupRequest {
    pub group_id: String,
    pub generation_id: i32,
    pub member_id: String,
    /// The leader's assignments; empty from the other members.
    pub assignments: Vec<SyncGroupAssignment>,
}

impl SyncGroupRequest {
    pub(super) fn decode(r: &mut Reader<'_>, _version: i16) -> FieldResult<Self> {
        Ok(SyncGroupRequest {
            group_id: r.string("sync_group.group_id")?,
            generation_id: r.i32("sync_group.generation_id")?,
            member_id: r.string("sync_group.member_id")?,
            assignments: r.array_of("sync_group.assignments", 6, |r| {
                Ok(SyncGroupAssignment {
                    member_id: r.string("sync_group.assignments.member_id")?,
                    assignment: r.bytes("sync_group.assignments.assignment")?.to_vec(),
                })
            })?,
        })
    }

    pub(super) fn encode(&self, w: &mut Writer, _version: i16) {
        w.string(&self.group_id);
        w.i32(self.generation_id);
        w.string(&self.member_id);
        w.array_of(&self.assignments, |w, a| {
            w.string(&a.member_id);
            w.bytes(&a.assignment);
        });
    }
}

/// SyncGroup response, v0–v2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncGroupResponse {
    /// v1+.
    pub throttle_time_ms: i32,
    pub error_code: ErrorCode,
    /// This member's assignment; empty on error.
    pub assignment: Vec<u8>,
}

impl SyncGroupResponse {
    pub(super) fn encode(&self, w: &mut Writer, version: i16) {
        if version >= 1 {
            w.i32(self.throttle_time_ms);
        }
        w.i16(self.error_code.code());
        w.bytes(&self.assignment);
    }
}

impl DecodeResponse<'_> for SyncGroupResponse {
    const API_KEY: ApiKey = ApiKey::SyncGroup;

    fn decode(r: &mut Reader<'_>, version: i16) -> FieldResult<Self> {
        let throttle_time_ms = if version >= 1 {
            r.i32("sync_group.throttle_time_ms")?
        } else {
            0
        };
        Ok(SyncGroupResponse {
            throttle_time_ms,
            error_code: read_error_code(r, "sync_group.error_code")?,
            assignment: r.bytes("sync_group.assignment")?.to_vec(),
        })
    }
}
