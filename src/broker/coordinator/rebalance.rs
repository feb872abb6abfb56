//! Membership: JoinGroup, SyncGroup, Heartbeat and LeaveGroup, and the rebalance between
//! them (the state machine drawn in the coordinator's opening comment). A JoinGroup or a
//! follower's SyncGroup blocks its connection's thread until the rebalance it belongs to
//! completes; the deadlines that end a rebalance early are checked by `tick` in the
//! coordinator's root.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::group::{Group, GroupState, Member, metadata_for};
use super::offsets_topic::{self, StoredRecord};
use super::{
    Caller, Coordinator, INITIAL_REBALANCE_DELAY, MAX_GROUP_SIZE, MAX_GROUPS,
    MAX_MEMBER_ASSIGNMENT, MAX_MEMBER_METADATA, MAX_SESSION_TIMEOUT_MS, MIN_SESSION_TIMEOUT_MS,
    now_ms,
};
use crate::broker::topics::Topics;
use crate::kafka::{
    ErrorCode, GroupErrorResponse, HeartbeatRequest, JoinGroupMember, JoinGroupRequest,
    JoinGroupResponse, LeaveGroupRequest, SyncGroupRequest, SyncGroupResponse,
};

impl Coordinator {
    /// Takes a member out and starts (or re-checks) a rebalance.
    pub(super) fn remove_member(
        &self,
        name: &str,
        g: &mut Group,
        id: &str,
        why: &str,
        topics: &Topics,
    ) {
        g.members.retain(|(m, _)| m != id);
        if g.leader.as_deref() == Some(id) {
            g.leader = None;
        }
        match g.state() {
            GroupState::Stable | GroupState::CompletingRebalance => {
                self.prepare_rebalance(name, g, why);
            }
            GroupState::PreparingRebalance => {}
            GroupState::Empty => {}
        }
        if g.members.is_empty() && g.state() == GroupState::PreparingRebalance {
            self.complete_join(name, g, topics);
        }
    }

    fn prepare_rebalance(&self, name: &str, g: &mut Group, why: &str) {
        let now = Instant::now();
        let timeout = g
            .members
            .iter()
            .map(|(_, m)| m.rebalance_timeout)
            .max()
            .unwrap_or_default();
        for (_, m) in g.members.iter_mut() {
            m.joined = false;
        }
        g.state = Some(GroupState::PreparingRebalance);
        g.rebalance_deadline = Some(now + timeout);
        g.rebalance_started = Some(now);
        (self.log)(format!(
            "group {name}: rebalance started in generation {} ({why}); waiting up to {} ms for {} member(s) to rejoin",
            g.generation,
            timeout.as_millis(),
            g.members.len()
        ));
    }

    /// The end of the join phase: drop who did not rejoin, bump the generation, choose the
    /// protocol and the leader, and hand every joined member its answer.
    pub(super) fn complete_join(&self, name: &str, g: &mut Group, topics: &Topics) {
        let gone: Vec<String> = g
            .members
            .iter()
            .filter(|(_, m)| !m.joined)
            .map(|(id, _)| id.clone())
            .collect();
        for id in &gone {
            (self.log)(format!(
                "group {name}: member {id} did not rejoin within the rebalance timeout: removed"
            ));
        }
        g.members.retain(|(_, m)| m.joined);
        g.generation += 1;
        g.rebalance_deadline = None;
        g.initial_delay = None;
        let took = g
            .rebalance_started
            .take()
            .map_or(0, |t| t.elapsed().as_millis());
        for (_, m) in g.members.iter_mut() {
            m.assignment.clear();
        }
        if g.members.is_empty() {
            g.state = Some(GroupState::Empty);
            g.protocol = None;
            g.leader = None;
            (self.log)(format!(
                "group {name}: generation {} is empty",
                g.generation
            ));
            self.store_group(name, g, topics);
            return;
        }
        g.protocol = g.select_protocol();
        if g.leader.as_ref().is_none_or(|l| g.member(l).is_none()) {
            g.leader = Some(g.members[0].0.clone());
        }
        g.protocol_type = Some(g.members[0].1.protocol_type.clone());
        g.state = Some(GroupState::CompletingRebalance);
        let leader = g.leader.clone().unwrap_or_default();
        let protocol = g.protocol.clone().unwrap_or_default();
        let everyone: Vec<JoinGroupMember> = g
            .members
            .iter()
            .map(|(id, m)| JoinGroupMember {
                member_id: id.clone(),
                metadata: metadata_for(m, Some(&protocol)).to_vec(),
            })
            .collect();
        let generation = g.generation;
        let now = Instant::now();
        for (id, m) in g.members.iter_mut() {
            m.joined = false;
            m.last_seen = now;
            m.join_result = Some(JoinGroupResponse {
                throttle_time_ms: 0,
                error_code: ErrorCode::None,
                generation_id: generation,
                protocol_name: protocol.clone(),
                leader: leader.clone(),
                member_id: id.clone(),
                members: if *id == leader {
                    everyone.clone()
                } else {
                    Vec::new()
                },
            });
        }
        let ids: Vec<&str> = g.members.iter().map(|(id, _)| id.as_str()).collect();
        (self.log)(format!(
            "group {name}: generation {generation} formed after {took} ms: protocol {protocol}, leader {leader}, members [{}]; waiting for the leader's SyncGroup",
            ids.join(", ")
        ));
    }

    /// Appends the group's metadata record; a failure is logged, not fatal: the offsets,
    /// not the membership, are what a restart needs.
    fn store_group(&self, name: &str, g: &Group, topics: &Topics) {
        let record = StoredRecord::Group {
            group: name.to_owned(),
            value: Some(g.stored(now_ms())),
        };
        if let Err(e) = offsets_topic::append(topics, name, &[record], now_ms()) {
            (self.log)(format!("group {name}: cannot store its metadata: {e:#}"));
        }
    }

    fn new_member_id(&self, client_id: &str) -> String {
        let n = self
            .next_member
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        format!("{client_id}-{nanos:x}-{n}")
    }

    /// JoinGroup: blocks until the rebalance this join belongs to completes.
    pub fn join(
        &self,
        topics: &Topics,
        req: &JoinGroupRequest,
        version: i16,
        caller: &Caller<'_>,
        shutdown: &dyn Fn() -> bool,
    ) -> JoinGroupResponse {
        let fail = |code| JoinGroupResponse::error(code, &req.member_id);
        if req.group_id.is_empty() {
            return fail(ErrorCode::InvalidGroupId);
        }
        if !(MIN_SESSION_TIMEOUT_MS..=MAX_SESSION_TIMEOUT_MS).contains(&req.session_timeout_ms) {
            return fail(ErrorCode::InvalidSessionTimeout);
        }
        if req.protocol_type.is_empty() || req.protocols.is_empty() {
            return fail(ErrorCode::InconsistentGroupProtocol);
        }
        if req
            .protocols
            .iter()
            .map(|p| p.metadata.len())
            .sum::<usize>()
            > MAX_MEMBER_METADATA
        {
            return fail(ErrorCode::InvalidRequest);
        }
        let session = Duration::from_millis(req.session_timeout_ms as u64);
        // Kafka: a rebalance timeout of -1 (JoinGroup v0) means the session timeout.
        let rebalance = if req.rebalance_timeout_ms < 0 {
            session
        } else {
            Duration::from_millis(req.rebalance_timeout_ms as u64)
        };
        let mut groups = self.lock();
        self.tick(&mut groups, topics);
        if !groups.contains_key(&req.group_id) && groups.len() >= MAX_GROUPS {
            (self.log)(format!(
                "group {}: refused, the broker already has {MAX_GROUPS} groups",
                req.group_id
            ));
            return fail(ErrorCode::GroupMaxSizeReached);
        }
        let name = req.group_id.clone();
        let g = groups.entry(name.clone()).or_default();
        if !g.compatible(&req.protocol_type, &req.protocols) {
            return fail(ErrorCode::InconsistentGroupProtocol);
        }
        let member_id = if req.member_id.is_empty() {
            if g.members.len() + g.pending.len() >= MAX_GROUP_SIZE {
                return fail(ErrorCode::GroupMaxSizeReached);
            }
            let id = self.new_member_id(caller.client_id);
            if version >= 4 {
                // KIP-394: the member must come back with this id, so that a client that
                // times out and retries does not leave a ghost member behind.
                g.pending.push((id.clone(), Instant::now() + session));
                return JoinGroupResponse::error(ErrorCode::MemberIdRequired, &id);
            }
            id
        } else if let Some(i) = g.pending.iter().position(|(id, _)| *id == req.member_id) {
            g.pending.remove(i);
            req.member_id.clone()
        } else if g.member(&req.member_id).is_none() {
            return fail(ErrorCode::UnknownMemberId);
        } else {
            req.member_id.clone()
        };
        let now = Instant::now();
        let existing = g.member(&member_id).map(|m| m.protocols == req.protocols);
        let member = Member {
            client_id: caller.client_id.to_owned(),
            client_host: caller.host.to_owned(),
            session_timeout: session,
            rebalance_timeout: rebalance,
            protocol_type: req.protocol_type.clone(),
            protocols: req.protocols.clone(),
            assignment: Vec::new(),
            last_seen: now,
            joined: true,
            join_result: None,
        };
        let is_leader = g.leader.as_deref() == Some(member_id.as_str());
        match (g.state(), existing) {
            // A follower rejoining a stable group with unchanged metadata gets the current
            // generation back without a rebalance (Kafka does the same).
            (GroupState::Stable, Some(true)) if !is_leader => {
                let m = g.member_mut(&member_id).expect("checked above");
                m.last_seen = now;
                m.joined = false;
                return JoinGroupResponse {
                    throttle_time_ms: 0,
                    error_code: ErrorCode::None,
                    generation_id: g.generation,
                    protocol_name: g.protocol.clone().unwrap_or_default(),
                    leader: g.leader.clone().unwrap_or_default(),
                    member_id,
                    members: Vec::new(),
                };
            }
            (state, existing) => {
                let assignment = g.member(&member_id).map(|m| m.assignment.clone());
                match g.member_mut(&member_id) {
                    Some(m) => {
                        *m = Member {
                            assignment: assignment.unwrap_or_default(),
                            ..member
                        }
                    }
                    None => g.members.push((member_id.clone(), member)),
                }
                if state != GroupState::PreparingRebalance {
                    let why = match existing {
                        None => format!("member {member_id} joined"),
                        Some(_) => format!("member {member_id} rejoined"),
                    };
                    self.prepare_rebalance(&name, g, &why);
                    if state == GroupState::Empty {
                        g.initial_delay = Some(now + INITIAL_REBALANCE_DELAY);
                    }
                }
                // A new member during the initial delay pushes it back (within the
                // rebalance timeout), as Kafka's InitialDelayedJoin does.
                if existing.is_none()
                    && let (Some(_), Some(deadline)) = (g.initial_delay, g.rebalance_deadline)
                {
                    g.initial_delay = Some((now + INITIAL_REBALANCE_DELAY).min(deadline));
                }
                // Preparing a rebalance clears every member's flag; this one has joined.
                if let Some(m) = g.member_mut(&member_id) {
                    m.joined = true;
                }
            }
        }
        // Completes at once if this was the last member the rebalance waited for.
        self.tick(&mut groups, topics);
        loop {
            let Some(g) = groups.get_mut(&name) else {
                return fail(ErrorCode::UnknownMemberId);
            };
            let Some(m) = g.member_mut(&member_id) else {
                return JoinGroupResponse::error(ErrorCode::UnknownMemberId, &member_id);
            };
            if let Some(result) = m.join_result.take() {
                return result;
            }
            if shutdown() {
                return JoinGroupResponse::error(ErrorCode::CoordinatorNotAvailable, &member_id);
            }
            groups = self.wait(groups, topics);
        }
    }

    /// SyncGroup: the leader's request installs the assignment; the others wait for it.
    pub fn sync(
        &self,
        topics: &Topics,
        req: &SyncGroupRequest,
        shutdown: &dyn Fn() -> bool,
    ) -> SyncGroupResponse {
        let answer = |error_code, assignment| SyncGroupResponse {
            throttle_time_ms: 0,
            error_code,
            assignment,
        };
        let mut groups = self.lock();
        self.tick(&mut groups, topics);
        {
            let Some(g) = groups.get_mut(&req.group_id) else {
                return answer(ErrorCode::UnknownMemberId, Vec::new());
            };
            let Some(m) = g.member_mut(&req.member_id) else {
                return answer(ErrorCode::UnknownMemberId, Vec::new());
            };
            m.last_seen = Instant::now();
            if req.generation_id != g.generation {
                return answer(ErrorCode::IllegalGeneration, Vec::new());
            }
            if g.state() == GroupState::CompletingRebalance
                && g.leader.as_deref() == Some(req.member_id.as_str())
            {
                if req
                    .assignments
                    .iter()
                    .any(|a| a.assignment.len() > MAX_MEMBER_ASSIGNMENT)
                {
                    return answer(ErrorCode::InvalidRequest, Vec::new());
                }
                for (id, m) in g.members.iter_mut() {
                    m.assignment = req
                        .assignments
                        .iter()
                        .find(|a| a.member_id == *id)
                        .map(|a| a.assignment.clone())
                        .unwrap_or_default();
                }
                g.state = Some(GroupState::Stable);
                (self.log)(format!(
                    "group {}: generation {} stable: the leader's SyncGroup assigned {} member(s)",
                    req.group_id,
                    g.generation,
                    req.assignments.len()
                ));
                self.store_group(&req.group_id, g, topics);
                self.changed.notify_all();
            }
        }
        loop {
            let Some(g) = groups.get_mut(&req.group_id) else {
                return answer(ErrorCode::UnknownMemberId, Vec::new());
            };
            let (state, generation) = (g.state(), g.generation);
            let Some(m) = g.member_mut(&req.member_id) else {
                return answer(ErrorCode::UnknownMemberId, Vec::new());
            };
            if generation != req.generation_id {
                return answer(ErrorCode::IllegalGeneration, Vec::new());
            }
            match state {
                GroupState::Stable => return answer(ErrorCode::None, m.assignment.clone()),
                GroupState::PreparingRebalance => {
                    return answer(ErrorCode::RebalanceInProgress, Vec::new());
                }
                GroupState::Empty => return answer(ErrorCode::UnknownMemberId, Vec::new()),
                GroupState::CompletingRebalance => {}
            }
            if shutdown() {
                return answer(ErrorCode::CoordinatorNotAvailable, Vec::new());
            }
            groups = self.wait(groups, topics);
        }
    }

    pub fn heartbeat(&self, topics: &Topics, req: &HeartbeatRequest) -> GroupErrorResponse {
        let mut groups = self.lock();
        self.tick(&mut groups, topics);
        let code = match groups.get_mut(&req.group_id) {
            None => ErrorCode::UnknownMemberId,
            Some(g) => {
                let (state, generation) = (g.state(), g.generation);
                match g.member_mut(&req.member_id) {
                    None => ErrorCode::UnknownMemberId,
                    Some(m) => {
                        m.last_seen = Instant::now();
                        match state {
                            GroupState::PreparingRebalance => ErrorCode::RebalanceInProgress,
                            _ if req.generation_id != generation => ErrorCode::IllegalGeneration,
                            GroupState::Empty => ErrorCode::UnknownMemberId,
                            _ => ErrorCode::None,
                        }
                    }
                }
            }
        };
        GroupErrorResponse::of(code)
    }

    pub fn leave(&self, topics: &Topics, req: &LeaveGroupRequest) -> GroupErrorResponse {
        let mut groups = self.lock();
        self.tick(&mut groups, topics);
        let Some(g) = groups.get_mut(&req.group_id) else {
            return GroupErrorResponse::of(ErrorCode::UnknownMemberId);
        };
        if let Some(i) = g.pending.iter().position(|(id, _)| *id == req.member_id) {
            g.pending.remove(i);
            return GroupErrorResponse::of(ErrorCode::None);
        }
        if g.member(&req.member_id).is_none() {
            return GroupErrorResponse::of(ErrorCode::UnknownMemberId);
        }
        (self.log)(format!(
            "group {}: member {} left (LeaveGroup)",
            req.group_id, req.member_id
        ));
        let why = format!("member {} left", req.member_id);
        self.remove_member(&req.group_id, g, &req.member_id, &why, topics);
        self.tick(&mut groups, topics);
        self.changed.notify_all();
        GroupErrorResponse::of(ErrorCode::None)
    }
}
