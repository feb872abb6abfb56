//! Looking at groups from outside: ListGroups, DescribeGroups and DeleteGroups, what
//! `kafka-consumer-groups.sh --list/--describe/--delete` sends. Deleting a group writes
//! tombstones for its offsets and metadata so that a restart does not bring it back.

use super::group::metadata_for;
use super::offsets_topic::{self, StoredRecord};
use super::{Coordinator, now_ms};
use crate::broker::topics::Topics;
use crate::kafka::{
    DeleteGroupsResponse, DescribeGroupsResponse, DescribedGroup, DescribedMember, ErrorCode,
    ListGroupsResponse,
};

impl Coordinator {
    pub fn list(&self, topics: &Topics) -> ListGroupsResponse {
        let mut groups = self.lock();
        self.tick(&mut groups, topics);
        ListGroupsResponse {
            throttle_time_ms: 0,
            error_code: ErrorCode::None,
            groups: groups
                .iter()
                .map(|(name, g)| (name.clone(), g.protocol_type.clone().unwrap_or_default()))
                .collect(),
        }
    }

    pub fn describe(&self, topics: &Topics, names: &[String]) -> DescribeGroupsResponse {
        let mut groups = self.lock();
        self.tick(&mut groups, topics);
        let described = names
            .iter()
            .map(|name| match groups.get(name) {
                None => DescribedGroup {
                    error_code: if name.is_empty() {
                        ErrorCode::InvalidGroupId
                    } else {
                        ErrorCode::None
                    },
                    group_id: name.clone(),
                    group_state: "Dead".into(),
                    protocol_type: String::new(),
                    protocol_data: String::new(),
                    members: Vec::new(),
                    authorized_operations: i32::MIN,
                },
                Some(g) => DescribedGroup {
                    error_code: ErrorCode::None,
                    group_id: name.clone(),
                    group_state: g.state().name().into(),
                    protocol_type: g.protocol_type.clone().unwrap_or_default(),
                    // Kafka shows the protocol only once the group has one (Stable etc.).
                    protocol_data: g.protocol.clone().unwrap_or_default(),
                    members: g
                        .members
                        .iter()
                        .map(|(id, m)| DescribedMember {
                            member_id: id.clone(),
                            client_id: m.client_id.clone(),
                            client_host: m.client_host.clone(),
                            member_metadata: metadata_for(m, g.protocol.as_deref()).to_vec(),
                            member_assignment: m.assignment.clone(),
                        })
                        .collect(),
                    authorized_operations: i32::MIN,
                },
            })
            .collect();
        DescribeGroupsResponse {
            throttle_time_ms: 0,
            groups: described,
        }
    }

    /// DeleteGroups: only groups without members; tombstones make it stick.
    pub fn delete(&self, topics: &Topics, names: &[String]) -> DeleteGroupsResponse {
        let mut groups = self.lock();
        self.tick(&mut groups, topics);
        let results = names
            .iter()
            .map(|name| {
                let code = match groups.get(name) {
                    _ if name.is_empty() => ErrorCode::InvalidGroupId,
                    None => ErrorCode::GroupIdNotFound,
                    Some(g) if !g.members.is_empty() => ErrorCode::NonEmptyGroup,
                    Some(g) => {
                        let mut records: Vec<StoredRecord> = g
                            .offsets
                            .keys()
                            .map(|(topic, partition)| StoredRecord::Offset {
                                group: name.clone(),
                                topic: topic.clone(),
                                partition: *partition,
                                value: None,
                            })
                            .collect();
                        records.push(StoredRecord::Group {
                            group: name.clone(),
                            value: None,
                        });
                        match offsets_topic::append(topics, name, &records, now_ms()) {
                            Ok(()) => {
                                groups.remove(name);
                                (self.log)(format!("group {name}: deleted"));
                                ErrorCode::None
                            }
                            Err(e) => {
                                (self.log)(format!("group {name}: cannot delete: {e:#}"));
                                ErrorCode::UnknownServerError
                            }
                        }
                    }
                };
                (name.clone(), code)
            })
            .collect();
        DeleteGroupsResponse {
            throttle_time_ms: 0,
            results,
        }
    }
}
