//! Heartbeat (key 12) and LeaveGroup (key 13): "I am still here" and "I am leaving" —
//! v0 to v2 each.
//!
//! A member that sends no heartbeat for its session timeout is presumed dead and removed,
//! which starts a rebalance. The heartbeat's answer is also how a member learns that a
//! rebalance has begun (REBALANCE_IN_PROGRESS: rejoin) or that it was removed
//! (UNKNOWN_MEMBER_ID: join again from scratch). LeaveGroup is the polite version: the
//! member goes at once instead of making the others wait for its session to expire.
//! The two share a file because their v0–v2 layouts are the same three or two strings and
//! an error code; v1 adds `throttle_time_ms` to both responses.

use super::primitives::{FieldResult, Reader, Writer};
use super::{ApiKey, DecodeResponse, ErrorCode, read_error_code};

/// Heartbeat request, v0–v2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeartbeatRequest {
    pub group_id: String,
    pub generation_id: i32,
    pub member_id: String,
}

impl HeartbeatRequest {
    pub(super) fn decode(r: &mut Reader<'_>, _version: i16) -> FieldResult<Self> {
        Ok(HeartbeatRequest {
            group_id: r.string("heartbeat.group_id")?,
            generation_id: r.i32("heartbeat.generation_id")?,
            member_id: r.string("heartbeat.member_id")?,
        })
    }

    pub(super) fn encode(&self, w: &mut Writer, _version: i16) {
        w.string(&self.group_id);
        w.i32(self.generation_id);
        w.string(&self.member_id);
    }
}

/// LeaveGroup request, v0–v2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaveGroupRequest {
    pub group_id: String,
    pub member_id: String,
}

impl LeaveGroupRequest {
    pub(super) fn decode(r: &mut Reader<'_>, _version: i16) -> FieldResult<Self> {
        Ok(LeaveGroupRequest {
            group_id: r.string("leave_group.group_id")?,
            member_id: r.string("leave_group.member_id")?,
        })
    }

    pub(super) fn encode(&self, w: &mut Writer, _version: i16) {
        w.string(&self.group_id);
        w.string(&self.member_id);
    }
}

/// The response of both Heartbeat and LeaveGroup, v0–v2: an error code (and, v1+, the
/// throttle time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupErrorResponse {
    /// v1+.
    pub throttle_time_ms: i32,
    pub error_code: ErrorCode,
}

impl GroupErrorResponse {
    pub fn of(error_code: ErrorCode) -> Self {
        GroupErrorResponse {
            throttle_time_ms: 0,
            error_code,
        }
    }

    pub(super) fn encode(&self, w: &mut Writer, version: i16) {
        if version >= 1 {
            w.i32(self.throttle_time_ms);
        }
        w.i16(self.error_code.code());
    }

    fn decode(r: &mut Reader<'_>, version: i16, what: &'static str) -> FieldResult<Self> {
        let throttle_time_ms = if version >= 1 { r.i32(what)? } else { 0 };
        Ok(GroupErrorResponse {
            throttle_time_ms,
            error_code: read_error_code(r, what)?,
        })
    }
}

/// A Heartbeat response (the client side needs the API key to pick the decoder).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeartbeatResponse(pub GroupErrorResponse);

/// A LeaveGroup response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaveGroupResponse(pub GroupErrorResponse);

impl DecodeResponse<'_> for HeartbeatResponse {
    const API_KEY: ApiKey = ApiKey::Heartbeat;

    fn decode(r: &mut Reader<'_>, version: i16) -> FieldResult<Self> {
        GroupErrorResponse::decode(r, version, "heartbeat.response").map(HeartbeatResponse)
    }
}

impl DecodeResponse<'_> for LeaveGroupResponse {
    const API_KEY: ApiKey = ApiKey::LeaveGroup;

    fn decode(r: &mut Reader<'_>, version: i16) -> FieldResult<Self> {
        GroupErrorResponse::decode(r, version, "leave_group.response").map(LeaveGroupResponse)
    }
}
