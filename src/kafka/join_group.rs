//! JoinGroup (key 11): "I want to be a member of this group" — v0 to v4.
//!
//! The first step of every rebalance. Each member sends the protocols it can use (for a
//! consumer: assignors such as `range` or `roundrobin`, each with the member's subscription
//! as opaque `metadata`). The coordinator waits until every known member has (re)joined,
//! bumps the group's *generation*, picks one protocol all members support, and answers
//! everyone; the *leader*'s answer alone carries every member's metadata, because the leader
//! computes the assignment (the broker never looks inside it).
//!
//! v1 adds `rebalance_timeout_ms` (how long the coordinator waits for members to rejoin),
//! v2 `throttle_time_ms`, v3 nothing new on the wire, and v4 (KIP-394) the two-step join: a
//! member without an id is answered MEMBER_ID_REQUIRED with an id, and joins again with it.

use super::primitives::{FieldResult, Reader, Writer};
use super::{ApiKey, DecodeResponse, ErrorCode, read_error_code};

/// One protocol a member can use: its name and the member's metadata for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinGroupProtocol {
    pub name: String,
    pub metadata: Vec<u8>,
}

/// JoinGroup request, v0–v4.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinGroupRequest {
    pub group_id: String,
    pub session_timeout_ms: i32,
    /// v1+; -1 when absent (the coordinator then uses the session timeout, as Kafka does).
    pub rebalance_timeout_ms: i32,
    /// Empty on the first join.
    pub member_id: String,
    /// `consumer` for consumers; members of one group must agree.
    pub protocol_type: String,
    pub protocols: Vec<JoinGroupProtocol>,
}

impl JoinGroupRequest {
    pub(super) fn decode(r: &mut Reader<'_>, version: i16) -> FieldResult<Self> {
        let group_id = r.string("join_group.group_id")?;
        let session_timeout_ms = r.i32("join_group.session_timeout_ms")?;
        let rebalance_timeout_ms = if version >= 1 {
            r.i32("join_group.rebalance_timeout_ms")?
        } else {
            -1
        };
        Ok(JoinGroupRequest {
            group_id,
            session_timeout_ms,
            rebalance_timeout_ms,
            member_id: r.string("join_group.member_id")?,
            protocol_type: r.string("join_group.protocol_type")?,
            protocols: r.array_of("join_group.protocols", 6, |r| {
                Ok(JoinGroupProtocol {
                    name: r.string("join_group.protocols.name")?,
                    metadata: r.bytes("join_group.protocols.metadata")?.to_vec(),
                })
            })?,
        })
    }

    pub(super) fn encode(&self, w: &mut Writer, version: i16) {
        w.string(&self.group_id);
        w.i32(self.session_timeout_ms);
        if version >= 1 {
            w.i32(self.rebalance_timeout_ms);
        }
        w.string(&self.member_id);
        w.string(&self.protocol_type);
        w.array_of(&self.protocols, |w, p| {
            w.string(&p.name);
            w.bytes(&p.metadata);
        });
    }
}

/// A member as the leader sees it: its id and its metadata for the chosen protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinGroupMember {
    pub member_id: String,
    pub metadata: Vec<u8>,
}

/// JoinGroup response, v0–v4.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinGroupResponse {
    /// v2+.
    pub throttle_time_ms: i32,
    pub error_code: ErrorCode,
    /// -1 on error.
    pub generation_id: i32,
    /// The chosen protocol; empty on error.
    pub protocol_name: String,
    pub leader: String,
    /// The member's id (assigned by the coordinator on a first join).
    pub member_id: String,
    /// Every member with its metadata, for the leader only; empty for the others.
    pub members: Vec<JoinGroupMember>,
}

impl JoinGroupResponse {
    /// An error answer that still hands back the member id (MEMBER_ID_REQUIRED needs it).
    pub fn error(error_code: ErrorCode, member_id: &str) -> Self {
        JoinGroupResponse {
            throttle_time_ms: 0,
            error_code,
            generation_id: -1,
            protocol_name: String::new(),
            leader: String::new(),
            member_id: member_id.to_owned(),
            members: Vec::new(),
        }
    }

    pub(super) fn encode(&self, w: &mut Writer, version: i16) {
        if version >= 2 {
            w.i32(self.throttle_time_ms);
        }
        w.i16(self.error_code.code());
        w.i32(self.generation_id);
        w.string(&self.protocol_name);
        w.string(&self.leader);
        w.string(&self.member_id);
        w.array_of(&self.members, |w, m| {
            w.string(&m.member_id);
            w.bytes(&m.metadata);
        });
    }
}

impl DecodeResponse<'_> for JoinGroupResponse {
    const API_KEY: ApiKey = ApiKey::JoinGroup;

    fn decode(r: &mut Reader<'_>, version: i16) -> FieldResult<Self> {
        let throttle_time_ms = if version >= 2 {
            r.i32("join_group.throttle_time_ms")?
        } else {
            0
        };
        Ok(JoinGroupResponse {
            throttle_time_ms,
            error_code: read_error_code(r, "join_group.error_code")?,
            generation_id: r.i32("join_group.generation_id")?,
            protocol_name: r.string("join_group.protocol_name")?,
            leader: r.string("join_group.leader")?,
            member_id: r.string("join_group.member_id")?,
            members: r.array_of("join_group.members", 6, |r| {
                Ok(JoinGroupMember {
                    member_id: r.string("join_group.members.member_id")?,
                    metadata: r.bytes("join_group.members.metadata")?.to_vec(),
                })
            })?,
        })
    }
}
