//! One group as the coordinator holds it: its state in Kafka's state machine, its members
//! in join order with what each asked for, and its committed offsets. The choices that
//! depend on the group alone live here too: which protocol every member can speak
//! (Kafka's `selectProtocol`), whether a newcomer fits, and the record that stores the
//! group's metadata in `__consumer_offsets`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::offsets_topic::{GroupValue, OffsetValue, StoredMember};
use crate::kafka::{JoinGroupProtocol, JoinGroupResponse};

/// Kafka's state names, as DescribeGroups reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupState {
    Empty,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
}

impl GroupState {
    pub fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
        }
    }
}

pub(super) struct Member {
    pub(super) client_id: String,
    pub(super) client_host: String,
    pub(super) session_timeout: Duration,
    pub(super) rebalance_timeout: Duration,
    pub(super) protocol_type: String,
    pub(super) protocols: Vec<JoinGroupProtocol>,
    pub(super) assignment: Vec<u8>,
    /// Last request from this member: the session timer restarts from here.
    pub(super) last_seen: Instant,
    /// Has (re)joined during the current PreparingRebalance.
    pub(super) joined: bool,
    /// The JoinGroup answer waiting for this member's blocked thread.
    pub(super) join_result: Option<JoinGroupResponse>,
}

#[derive(Default)]
pub(super) struct Group {
    pub(super) state: Option<GroupState>,
    pub(super) generation: i32,
    pub(super) protocol_type: Option<String>,
    pub(super) protocol: Option<String>,
    pub(super) leader: Option<String>,
    /// In join order: the first is the leader when a new one must be chosen.
    pub(super) members: Vec<(String, Member)>,
    /// Ids handed out with MEMBER_ID_REQUIRED, with the deadline to come back by.
    pub(super) pending: Vec<(String, Instant)>,
    pub(super) rebalance_deadline: Option<Instant>,
    /// Set while the first rebalance of an empty group waits for more members.
    pub(super) initial_delay: Option<Instant>,
    pub(super) rebalance_started: Option<Instant>,
    pub(super) offsets: BTreeMap<(String, i32), OffsetValue>,
}

impl Group {
    pub(super) fn state(&self) -> GroupState {
        self.state.unwrap_or(GroupState::Empty)
    }

    pub(super) fn member(&self, id: &str) -> Option<&Member> {
        self.members.iter().find(|(m, _)| m == id).map(|(_, m)| m)
    }

    pub(super) fn member_mut(&mut self, id: &str) -> Option<&mut Member> {
        self.members
            .iter_mut()
            .find(|(m, _)| m == id)
            .map(|(_, m)| m)
    }

    /// The protocols every member supports, best first by votes (each member votes for
    /// its most preferred one among them), as Kafka's `selectProtocol`.
    pub(super) fn select_protocol(&self) -> Option<String> {
        let mut candidates: Vec<&str> = self
            .members
            .first()?
            .1
            .protocols
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        candidates.retain(|c| {
            self.members
                .iter()
                .all(|(_, m)| m.protocols.iter().any(|p| p.name == *c))
        });
        let votes = |c: &str| {
            self.members
                .iter()
                .filter(|(_, m)| {
                    m.protocols
                        .iter()
                        .find(|p| candidates.contains(&p.name.as_str()))
                        .is_some_and(|p| p.name == c)
                })
                .count()
        };
        // max_by_key keeps the last maximum; iterate reversed so ties go to the leader's
        // preference order.
        candidates
            .iter()
            .rev()
            .max_by_key(|c| votes(c))
            .map(|c| (*c).to_owned())
    }

    /// Whether a joining member's protocols fit the group's.
    pub(super) fn compatible(&self, protocol_type: &str, protocols: &[JoinGroupProtocol]) -> bool {
        let Some((_, first)) = self.members.first() else {
            return true;
        };
        first.protocol_type == protocol_type
            && protocols.iter().any(|p| {
                self.members
                    .iter()
                    .all(|(_, m)| m.protocols.iter().any(|q| q.name == p.name))
            })
    }

    pub(super) fn stored(&self, now_ms: i64) -> GroupValue {
        let protocol = self.protocol.clone();
        GroupValue {
            protocol_type: self.protocol_type.clone().unwrap_or_default(),
            generation: self.generation,
            protocol: protocol.clone(),
            leader: self.leader.clone(),
            current_state_timestamp: now_ms,
            members: self
                .members
                .iter()
                .map(|(id, m)| StoredMember {
                    member_id: id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    rebalance_timeout_ms: m.rebalance_timeout.as_millis() as i32,
                    session_timeout_ms: m.session_timeout.as_millis() as i32,
                    subscription: metadata_for(m, protocol.as_deref()).to_vec(),
                    assignment: m.assignment.clone(),
                })
                .collect(),
        }
    }
}

pub(super) fn metadata_for<'a>(m: &'a Member, protocol: Option<&str>) -> &'a [u8] {
    m.protocols
        .iter()
        .find(|p| Some(p.name.as_str()) == protocol)
        .map_or(&[], |p| p.metadata.as_slice())
}
