//! The group coordinator: how several consumers share a topic's partitions, and where a
//! group remembers how far it has read. `zc serve` is the coordinator of every group (it
//! is the only broker), speaking Kafka's *classic* group protocol.
//!
//! A group moves through Kafka's states (`ClassicGroupState`):
//!
//! ```text
//!            join                     every member joined          leader's SyncGroup
//!  Empty ─────────────► Preparing ───────────────────────► Completing ───────────────► Stable
//!    ▲                  Rebalance  (or rebalance timeout:   Rebalance                    │
//!    │                     ▲        the silent are removed)  (generation + 1)            │
//!    └── last member ──────┴──── a member joins, leaves, or misses its session timeout ──┘
//!        leaves
//! ```
//!
//! - A **generation** numbers each completed rebalance. Every SyncGroup, Heartbeat and
//!   OffsetCommit names the generation its sender belongs to; one from an older generation
//!   is answered ILLEGAL_GENERATION, so a member that missed a rebalance cannot act on an
//!   assignment that is no longer its own.
//! - The **leader** (the first member to join) receives every member's subscription in its
//!   JoinGroup answer, computes the assignment on the client side, and hands it back in its
//!   SyncGroup; the others' SyncGroup waits for that. The broker never reads inside the
//!   assignment: it moves opaque bytes.
//! - A member that sends nothing for its **session timeout** is removed, which starts a
//!   rebalance the others learn about from their next heartbeat (REBALANCE_IN_PROGRESS).
//!
//! Threads: the broker runs one thread per connection, so a JoinGroup (or a follower's
//! SyncGroup) simply blocks its connection's thread on a condition variable until the
//! rebalance completes, as Kafka parks the request in its purgatory. One mutex guards all
//! groups; nothing slow happens under it except the append of a commit to
//! `__consumer_offsets` (a `write`, no fsync unless `--flush always`). There is no timer
//! thread: session and rebalance deadlines are checked whenever any group request arrives
//! and every [`TICK`] by each blocked JoinGroup or SyncGroup.
//!
//! Limits (memory is bounded by them): at most [`MAX_GROUPS`] groups, [`MAX_GROUP_SIZE`]
//! members per group, [`MAX_MEMBER_METADATA`] bytes of protocol metadata per member and
//! [`MAX_MEMBER_ASSIGNMENT`] of assignment, so group state stays under about
//! `MAX_GROUPS × MAX_GROUP_SIZE × 128 KiB` in the worst case and a few hundred bytes per
//! member in practice (a consumer's subscription is its topic names). Committed offsets
//! take one map entry per (group, existing partition): commits for topics that do not
//! exist are refused. Static membership (`group.instance.id`) is not implemented: the
//! versions that carry it are not advertised (see `SUPPORTED_APIS`).
//!
//! [`offsets_topic`] stores commits and group metadata the way Kafka does.

pub mod offsets_topic;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Result;

use super::handlers::{Context, Log, NODE_ID};

use super::topics::Topics;
use crate::kafka::find_coordinator::{KEY_TYPE_GROUP, KEY_TYPE_TRANSACTION};
use crate::kafka::{
    Coordinator as CoordinatorEntry, DeleteGroupsResponse, DescribeGroupsResponse, DescribedGroup,
    DescribedMember, ErrorCode, FindCoordinatorRequest, FindCoordinatorResponse,
    GroupErrorResponse, HeartbeatRequest, JoinGroupMember, JoinGroupProtocol, JoinGroupRequest,
    JoinGroupResponse, LeaveGroupRequest, ListGroupsResponse, OffsetCommitRequest,
    OffsetCommitResponse, OffsetCommitTopicResponse, OffsetFetchPartition, OffsetFetchRequest,
    OffsetFetchResponse, RequestBody, Response, SyncGroupRequest, SyncGroupResponse,
};
use offsets_topic::{GroupValue, OffsetValue, StoredMember, StoredRecord};

/// Kafka's `group.min.session.timeout.ms` default.
pub const MIN_SESSION_TIMEOUT_MS: i32 = 6_000;
/// Kafka's `group.max.session.timeout.ms` default (30 minutes).
pub const MAX_SESSION_TIMEOUT_MS: i32 = 1_800_000;
/// Members per group (Kafka's `group.max.size` is unbounded by default; zc bounds memory).
pub const MAX_GROUP_SIZE: usize = 1_000;
/// Groups per broker.
pub const MAX_GROUPS: usize = 10_000;
/// Protocol metadata (subscriptions) one member may send, summed over its protocols.
pub const MAX_MEMBER_METADATA: usize = 64 * 1024;
/// Assignment bytes one member may be given.
pub const MAX_MEMBER_ASSIGNMENT: usize = 64 * 1024;
/// Kafka's `offset.metadata.max.bytes` default.
pub const MAX_OFFSET_METADATA: usize = 4096;
/// Kafka's `group.initial.rebalance.delay.ms` default: the first rebalance of an empty group
/// waits this long (again after each new member, up to the rebalance timeout), so that
/// consumers started together form one generation instead of one rebalance each.
pub const INITIAL_REBALANCE_DELAY: Duration = Duration::from_millis(3_000);
/// How often a blocked JoinGroup/SyncGroup wakes to check deadlines and shutdown.
pub const TICK: Duration = Duration::from_millis(100);

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

struct Member {
    client_id: String,
    client_host: String,
    session_timeout: Duration,
    rebalance_timeout: Duration,
    protocol_type: String,
    protocols: Vec<JoinGroupProtocol>,
    assignment: Vec<u8>,
    /// Last request from this member: the session timer restarts from here.
    last_seen: Instant,
    /// Has (re)joined during the current PreparingRebalance.
    joined: bool,
    /// The JoinGroup answer waiting for this member's blocked thread.
    join_result: Option<JoinGroupResponse>,
}

#[derive(Default)]
struct Group {
    state: Option<GroupState>,
    generation: i32,
    protocol_type: Option<String>,
    protocol: Option<String>,
    leader: Option<String>,
    /// In join order: the first is the leader when a new one must be chosen.
    members: Vec<(String, Member)>,
    /// Ids handed out with MEMBER_ID_REQUIRED, with the deadline to come back by.
    pending: Vec<(String, Instant)>,
    rebalance_deadline: Option<Instant>,
    /// Set while the first rebalance of an empty group waits for more members.
    initial_delay: Option<Instant>,
    rebalance_started: Option<Instant>,
    offsets: BTreeMap<(String, i32), OffsetValue>,
}

impl Group {
    fn state(&self) -> GroupState {
        self.state.unwrap_or(GroupState::Empty)
    }

    fn member(&self, id: &str) -> Option<&Member> {
        self.members.iter().find(|(m, _)| m == id).map(|(_, m)| m)
    }

    fn member_mut(&mut self, id: &str) -> Option<&mut Member> {
        self.members
            .iter_mut()
            .find(|(m, _)| m == id)
            .map(|(_, m)| m)
    }

    /// The protocols every member supports, best first by votes (each member votes for
    /// its most preferred one among them), as Kafka's `selectProtocol`.
    fn select_protocol(&self) -> Option<String> {
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
    fn compatible(&self, protocol_type: &str, protocols: &[JoinGroupProtocol]) -> bool {
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

    fn stored(&self, now_ms: i64) -> GroupValue {
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

fn metadata_for<'a>(m: &'a Member, protocol: Option<&str>) -> &'a [u8] {
    m.protocols
        .iter()
        .find(|p| Some(p.name.as_str()) == protocol)
        .map_or(&[], |p| p.metadata.as_slice())
}

/// Who is asking: the request header's client id and the peer's address.
pub struct Caller<'a> {
    pub client_id: &'a str,
    pub host: &'a str,
}

/// The coordinator of every group on this broker.
pub struct Coordinator {
    groups: Mutex<BTreeMap<String, Group>>,
    changed: Condvar,
    log: Log,
    next_member: std::sync::atomic::AtomicU64,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl Coordinator {
    /// Rebuilds the groups from `__consumer_offsets`: the last value of every key wins,
    /// tombstones delete. Groups come back Empty (their members must join again, as after
    /// any coordinator move in Kafka) but keep their generation and committed offsets.
    pub fn open(topics: &Topics, log: Log) -> Result<Coordinator> {
        let records = offsets_topic::replay(topics)?;
        let mut groups: BTreeMap<String, Group> = BTreeMap::new();
        let count = records.len();
        for record in records {
            match record {
                StoredRecord::Offset {
                    group,
                    topic,
                    partition,
                    value,
                } => {
                    let g = groups.entry(group).or_default();
                    match value {
                        Some(v) => {
                            g.offsets.insert((topic, partition), v);
                        }
                        None => {
                            g.offsets.remove(&(topic, partition));
                        }
                    }
                }
                StoredRecord::Group { group, value: None } => {
                    groups.remove(&group);
                }
                StoredRecord::Group {
                    group,
                    value: Some(v),
                } => {
                    let g = groups.entry(group).or_default();
                    g.generation = v.generation;
                    g.protocol_type = Some(v.protocol_type).filter(|t| !t.is_empty());
                }
            }
        }
        if count > 0 {
            let offsets: usize = groups.values().map(|g| g.offsets.len()).sum();
            log(format!(
                "{}: replayed {count} records: {} groups, {offsets} committed offsets",
                offsets_topic::OFFSETS_TOPIC,
                groups.len()
            ));
        }
        Ok(Coordinator {
            groups: Mutex::new(groups),
            changed: Condvar::new(),
            log,
            next_member: std::sync::atomic::AtomicU64::new(1),
        })
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Group>> {
        self.groups.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for a change (or a tick), then runs the deadlines again.
    fn wait<'a>(
        &'a self,
        guard: MutexGuard<'a, BTreeMap<String, Group>>,
        topics: &Topics,
    ) -> MutexGuard<'a, BTreeMap<String, Group>> {
        let (mut guard, _) = self
            .changed
            .wait_timeout(guard, TICK)
            .unwrap_or_else(|e| e.into_inner());
        self.tick(&mut guard, topics);
        guard
    }

    /// Removes members whose session expired and pending ids never claimed, and completes
    /// rebalances that are due.
    fn tick(&self, groups: &mut BTreeMap<String, Group>, topics: &Topics) {
        let now = Instant::now();
        let mut changed = false;
        for (name, g) in groups.iter_mut() {
            g.pending.retain(|(_, deadline)| *deadline > now);
            let expired: Vec<String> = g
                .members
                .iter()
                .filter(|(_, m)| !m.joined && now.duration_since(m.last_seen) > m.session_timeout)
                .map(|(id, _)| id.clone())
                .collect();
            for id in expired {
                let timeout = g.member(&id).map_or(0, |m| m.session_timeout.as_millis());
                (self.log)(format!(
                    "group {name}: member {id} sent nothing for its session timeout ({timeout} ms): removed"
                ));
                self.remove_member(name, g, &id, &format!("member {id} expired"), topics);
                changed = true;
            }
            if g.state() == GroupState::PreparingRebalance {
                let all_joined = g.members.iter().all(|(_, m)| m.joined)
                    && g.initial_delay.is_none_or(|d| now >= d);
                let due = g.rebalance_deadline.is_some_and(|d| now >= d);
                if all_joined || due {
                    self.complete_join(name, g, topics);
                    changed = true;
                }
            }
        }
        groups.retain(|_, g| {
            !(g.state() == GroupState::Empty
                && g.offsets.is_empty()
                && g.members.is_empty()
                && g.pending.is_empty()
                && g.generation == 0)
        });
        if changed {
            self.changed.notify_all();
        }
    }

    /// Takes a member out and starts (or re-checks) a rebalance.
    fn remove_member(&self, name: &str, g: &mut Group, id: &str, why: &str, topics: &Topics) {
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
    fn complete_join(&self, name: &str, g: &mut Group, topics: &Topics) {
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

    /// OffsetCommit: checks the member and generation, then stores every valid partition's
    /// offset in one append to `__consumer_offsets`.
    pub fn commit(&self, topics: &Topics, req: &OffsetCommitRequest) -> OffsetCommitResponse {
        let mut groups = self.lock();
        self.tick(&mut groups, topics);
        // Kafka's rules (`ClassicGroup.validateOffsetCommit`): a group without members
        // accepts commits from outside (generation -1), as tools resetting offsets and
        // consumers with manual assignment send; otherwise the member and generation must
        // be current, and not between JoinGroup and SyncGroup.
        let group_error = match groups.get_mut(&req.group_id) {
            _ if req.group_id.is_empty() => Some(ErrorCode::InvalidGroupId),
            Some(g) if !g.members.is_empty() => {
                let (state, generation) = (g.state(), g.generation);
                match g.member_mut(&req.member_id) {
                    None => Some(ErrorCode::UnknownMemberId),
                    Some(_) if req.generation_id != generation => {
                        Some(ErrorCode::IllegalGeneration)
                    }
                    Some(_) if state == GroupState::CompletingRebalance => {
                        Some(ErrorCode::RebalanceInProgress)
                    }
                    Some(m) => {
                        m.last_seen = Instant::now();
                        None
                    }
                }
            }
            _ if req.generation_id < 0 => None,
            None => Some(ErrorCode::IllegalGeneration),
            Some(_) => Some(ErrorCode::UnknownMemberId),
        };
        if groups.len() >= MAX_GROUPS && !groups.contains_key(&req.group_id) {
            return commit_response(req, |_, _| ErrorCode::GroupMaxSizeReached);
        }
        if let Some(code) = group_error {
            return commit_response(req, |_, _| code);
        }
        let ts = now_ms();
        let mut records = Vec::new();
        let mut codes: BTreeMap<(String, i32), ErrorCode> = BTreeMap::new();
        for t in &req.topics {
            let topic = topics.get(&t.name);
            for p in &t.partitions {
                let code = if topic.as_ref().is_none_or(|topic| {
                    p.partition_index < 0 || p.partition_index as usize >= topic.partitions.len()
                }) {
                    ErrorCode::UnknownTopicOrPartition
                } else if p
                    .committed_metadata
                    .as_ref()
                    .is_some_and(|m| m.len() > MAX_OFFSET_METADATA)
                {
                    ErrorCode::OffsetMetadataTooLarge
                } else {
                    records.push(StoredRecord::Offset {
                        group: req.group_id.clone(),
                        topic: t.name.clone(),
                        partition: p.partition_index,
                        value: Some(OffsetValue {
                            offset: p.committed_offset,
                            leader_epoch: p.committed_leader_epoch,
                            metadata: p.committed_metadata.clone().unwrap_or_default(),
                            commit_timestamp: ts,
                        }),
                    });
                    ErrorCode::None
                };
                codes.insert((t.name.clone(), p.partition_index), code);
            }
        }
        if let Err(e) = offsets_topic::append(topics, &req.group_id, &records, ts) {
            (self.log)(format!(
                "group {}: commit not stored: {e:#}; answered UNKNOWN_SERVER_ERROR",
                req.group_id
            ));
            return commit_response(req, |_, _| ErrorCode::UnknownServerError);
        }
        let g = groups.entry(req.group_id.clone()).or_default();
        for record in records {
            if let StoredRecord::Offset {
                topic,
                partition,
                value: Some(v),
                ..
            } = record
            {
                g.offsets.insert((topic, partition), v);
            }
        }
        commit_response(req, |t, p| codes[&(t.to_owned(), p)])
    }

    pub fn fetch_offsets(&self, req: &OffsetFetchRequest) -> OffsetFetchResponse {
        let groups = self.lock();
        let g = groups.get(&req.group_id);
        let committed = |t: &str, p: i32| g.and_then(|g| g.offsets.get(&(t.to_owned(), p)));
        let partition = |t: &str, p: i32| {
            let v = committed(t, p);
            OffsetFetchPartition {
                partition_index: p,
                committed_offset: v.map_or(-1, |v| v.offset),
                committed_leader_epoch: v.map_or(-1, |v| v.leader_epoch),
                metadata: Some(v.map_or(String::new(), |v| v.metadata.clone())),
                error_code: ErrorCode::None,
            }
        };
        let topics = match &req.topics {
            Some(topics) => topics
                .iter()
                .map(|(t, parts)| (t.clone(), parts.iter().map(|p| partition(t, *p)).collect()))
                .collect(),
            None => {
                let mut all: Vec<(String, Vec<OffsetFetchPartition>)> = Vec::new();
                for (t, p) in g
                    .map(|g| g.offsets.keys().cloned().collect::<Vec<_>>())
                    .unwrap_or_default()
                {
                    let entry = partition(&t, p);
                    match all.last_mut() {
                        Some((name, parts)) if *name == t => parts.push(entry),
                        _ => all.push((t, vec![entry])),
                    }
                }
                all
            }
        };
        OffsetFetchResponse {
            throttle_time_ms: 0,
            topics,
            error_code: ErrorCode::None,
        }
    }

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

fn commit_response(
    req: &OffsetCommitRequest,
    code: impl Fn(&str, i32) -> ErrorCode,
) -> OffsetCommitResponse {
    OffsetCommitResponse {
        throttle_time_ms: 0,
        topics: req
            .topics
            .iter()
            .map(|t| OffsetCommitTopicResponse {
                name: t.name.clone(),
                partitions: t
                    .partitions
                    .iter()
                    .map(|p| (p.partition_index, code(&t.name, p.partition_index)))
                    .collect(),
            })
            .collect(),
    }
}

/// Answers a group API request (the dispatcher in `handlers` sends them all here).
pub fn handle(
    ctx: &Context,
    body: RequestBody<'_>,
    version: i16,
    client_id: &str,
    peer: SocketAddr,
) -> Response {
    let topics = &ctx.topics;
    let groups = &ctx.groups;
    let shutdown = || ctx.shutdown.load(Relaxed);
    // Kafka shows a member's host as `/ip`, the way Java prints an InetAddress.
    let host = format!("/{}", peer.ip());
    let caller = Caller {
        client_id,
        host: &host,
    };
    match body {
        RequestBody::FindCoordinator(req) => Response::FindCoordinator(find_coordinator(ctx, &req)),
        RequestBody::JoinGroup(req) => {
            Response::JoinGroup(groups.join(topics, &req, version, &caller, &shutdown))
        }
        RequestBody::SyncGroup(req) => Response::SyncGroup(groups.sync(topics, &req, &shutdown)),
        RequestBody::Heartbeat(req) => Response::Heartbeat(groups.heartbeat(topics, &req)),
        RequestBody::LeaveGroup(req) => Response::LeaveGroup(groups.leave(topics, &req)),
        RequestBody::OffsetCommit(req) => Response::OffsetCommit(groups.commit(topics, &req)),
        RequestBody::OffsetFetch(req) => Response::OffsetFetch(groups.fetch_offsets(&req)),
        RequestBody::ListGroups(_) => Response::ListGroups(groups.list(topics)),
        RequestBody::DescribeGroups(req) => {
            Response::DescribeGroups(groups.describe(topics, &req.groups))
        }
        RequestBody::DeleteGroups(req) => {
            Response::DeleteGroups(groups.delete(topics, &req.groups_names))
        }
        other => unreachable!("{} is not a group API", other.api_key()),
    }
}

/// FindCoordinator: every group's coordinator is this broker. zc has no transaction
/// coordinator, and says so rather than letting a transactional producer retry until it
/// times out: librdkafka retries every error of this lookup but
/// TRANSACTIONAL_ID_AUTHORIZATION_FAILED, which it treats as fatal; that is also Kafka's
/// answer to a transactional id the client may not use. An unknown key type is Kafka's
/// INVALID_REQUEST.
fn find_coordinator(ctx: &Context, req: &FindCoordinatorRequest) -> FindCoordinatorResponse {
    let coordinators = req
        .keys
        .iter()
        .map(|key| {
            if req.key_type == KEY_TYPE_GROUP {
                CoordinatorEntry {
                    key: key.clone(),
                    node_id: NODE_ID,
                    host: ctx.advertised_host.clone(),
                    port: ctx.advertised_port,
                    error_code: ErrorCode::None,
                    error_message: None,
                }
            } else {
                let (code, what) = if req.key_type == KEY_TYPE_TRANSACTION {
                    let why = "zc serve has no transaction coordinator: transactions are not \
                               supported; drop transactional.id (idempotent producers work)";
                    (
                        ErrorCode::TransactionalIdAuthorizationFailed,
                        why.to_owned(),
                    )
                } else {
                    let why = format!("unknown coordinator key type {}", req.key_type);
                    (ErrorCode::InvalidRequest, why)
                };
                (ctx.log)(format!("FindCoordinator for {key:?}: {what}"));
                CoordinatorEntry {
                    key: key.clone(),
                    node_id: -1,
                    host: String::new(),
                    port: -1,
                    error_code: code,
                    error_message: Some(what),
                }
            }
        })
        .collect();
    FindCoordinatorResponse {
        throttle_time_ms: 0,
        coordinators,
    }
}
