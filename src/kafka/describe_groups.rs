//! DescribeGroups (key 15): "who is in this group, and who reads what?" — v0 to v3.
//!
//! What `kafka-consumer-groups --describe` shows: the group's state (`Stable`,
//! `PreparingRebalance`, ...), its protocol (the assignor), and every member with the
//! metadata it joined with and the assignment the leader gave it, both as the opaque bytes
//! the members exchanged (a tool decodes them with the consumer protocol's schema). v1 adds
//! `throttle_time_ms`, v3 authorized operations (zc sends "not computed").

use super::primitives::{FieldResult, Reader, Writer};
use super::{ApiKey, DecodeResponse, ErrorCode, read_error_code};

/// DescribeGroups request, v0–v3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeGroupsRequest {
    pub groups: Vec<String>,
    /// v3+; false when absent.
    pub include_authorized_operations: bool,
}

impl DescribeGroupsRequest {
    pub(super) fn decode(r: &mut Reader<'_>, version: i16) -> FieldResult<Self> {
        let groups = r.array_of("describe_groups.groups", 2, |r| {
            r.string("describe_groups.groups")
        })?;
        let include_authorized_operations =
            version >= 3 && r.bool("describe_groups.include_authorized_operations")?;
        Ok(DescribeGroupsRequest {
            groups,
            include_authorized_operations,
        })
    }

    pub(super) fn encode(&self, w: &mut Writer, version: i16) {
        w.array_of(&self.groups, |w, g| w.string(g));
        if version >= 3 {
            w.bool(self.include_authorized_operations);
        }
    }
}

/// One member as DescribeGroups shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribedMember {
    pub member_id: String,
    pub client_id: String,
    pub client_host: String,
    pub member_metadata: Vec<u8>,
    pub member_assignment: Vec<u8>,
}

/// One group as DescribeGroups shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribedGroup {
    pub error_code: ErrorCode,
    pub group_id: String,
    /// Kafka's state names: `Empty`, `PreparingRebalance`, `CompletingRebalance`, `Stable`,
    /// `Dead` (a group the coordinator does not know).
    pub group_state: String,
    pub protocol_type: String,
    /// The chosen protocol (assignor) name.
    pub protocol_data: String,
    pub members: Vec<DescribedMember>,
    /// v3+; `i32::MIN` = not computed.
    pub authorized_operations: i32,
}

/// DescribeGroups response, v0–v3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeGroupsResponse {
    /// v1+.
    pub throttle_time_ms: i32,
    pub groups: Vec<DescribedGroup>,
}

impl DescribeGroupsResponse {
    pub(super) fn encode(&self, w: &mut Writer, version: i16) {
        if version >= 1 {
            w.i32(self.throttle_time_ms);
        }
        w.array_of(&self.groups, |w, g| {
            w.i16(g.error_code.code());
            w.string(&g.group_id);
            w.string(&g.group_state);
            w.string(&g.protocol_type);
            w.string(&g.protocol_data);
            w.array_of(&g.members, |w, m| {
                w.string(&m.member_id);
                w.string(&m.client_id);
                w.string(&m.client_host);
                w.bytes(&m.member_metadata);
                w.bytes(&m.member_assignment);
            });
            if version >= 3 {
                w.i32(g.authorized_operations);
            }
        });
    }
}

impl DecodeResponse<'_> for DescribeGroupsResponse {
    const API_KEY: ApiKey = ApiKey::DescribeGroups;

    fn decode(r: &mut Reader<'_>, version: i16) -> FieldResult<Self> {
        let throttle_time_ms = if version >= 1 {
            r.i32("describe_groups.throttle_time_ms")?
        } else {
            0
        };
        let groups = r.array_of("describe_groups.groups", 14, |r| {
            Ok(DescribedGroup {
                error_code: read_error_code(r, "describe_groups.groups.error_code")?,
                group_id: r.string("describe_groups.groups.group_id")?,
                group_state: r.string("describe_groups.groups.group_state")?,
                protocol_type: r.string("describe_groups.groups.protocol_type")?,
                protocol_data: r.string("describe_groups.groups.protocol_data")?,
                members: r.array_of("describe_groups.groups.members", 14, |r| {
                    Ok(DescribedMember {
                        member_id: r.string("describe_groups.members.member_id")?,
                        client_id: r.string("describe_groups.members.client_id")?,
                        client_host: r.string("describe_groups.members.client_host")?,
                        member_metadata: r
                            .bytes("describe_groups.members.member_metadata")?
                            .to_vec(),
                        member_assignment: r
                            .bytes("describe_groups.members.member_assignment")?
                            .to_vec(),
                    })
                })?,
                authorized_operations: if version >= 3 {
                    r.i32("describe_groups.groups.authorized_operations")?
                } else {
                    i32::MIN
                },
            })
        })?;
        Ok(DescribeGroupsResponse {
            throttle_time_ms,
            groups,
        })
    }
}
