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
//! Where each part lives: `group` holds one group's state and the choices made from it alone (the
//! protocol, who may join); `rebalance` the membership requests (JoinGroup, SyncGroup,
//! Heartbeat, LeaveGroup) and the rebalance between them; `offsets` OffsetCommit and
//! OffsetFetch; `admin` ListGroups, DescribeGroups and DeleteGroups; [`offsets_topic`]
//! stores commits and group metadata the way Kafka does. This file holds the shared state,
//! the deadlines every request checks, and the dispatch of the group APIs.

mod admin;
mod group;
mod offsets;
pub mod offsets_topic;
mod rebalance;

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
    Coordinator as CoordinatorEntry, ErrorCode, FindCoordinatorRequest, FindCoordinatorResponse,
    RequestBody, Response,
};
use group::{Group, GroupState};
use offsets_topic::StoredRecord;

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
