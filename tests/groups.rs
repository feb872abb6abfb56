//! Consumer groups end to end: real group consumers (kcat, confluent-kafka, kafka-python,
//! aiokafka, kafkajs) read a topic, commit, and resume after a broker restart; two members
//! share four partitions and one takes over when the other leaves or dies; and the
//! coordinator's answers to bad input, byte for byte through the crate's own codec.
//!
//! A missing client skips its part with a `SKIPPED:` line, except under `CI=true`, where it
//! fails (`.ci/run` installs them all; kafkajs under `tests/node_modules`).

mod common;
#[path = "common/broker.rs"]
mod harness;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::gen_log;
use harness::{Broker, RUN_LIMIT, Raw, batch, kcat, run_bounded};
use zc::kafka::{
    DeleteGroupsRequest, DeleteGroupsResponse, ErrorCode, FindCoordinatorRequest,
    FindCoordinatorResponse, HeartbeatRequest, HeartbeatResponse, JoinGroupProtocol,
    JoinGroupRequest, JoinGroupResponse, OffsetCommitPartition, OffsetCommitRequest,
    OffsetCommitResponse, OffsetCommitTopic, OffsetFetchRequest, OffsetFetchResponse,
    ProducePartition, ProduceRequest, ProduceResponse, ProduceTopic, RequestBody,
    SyncGroupAssignment, SyncGroupRequest, SyncGroupResponse,
};

fn under_ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/thirdparty")
        .join(name)
}

/// The command running one group consumer of `client`, or `None` (after saying why)
/// when the client is not installed outside CI.
fn client_command(
    client: &str,
    addr: &str,
    group: &str,
    topic: &str,
    expect: usize,
) -> Option<Command> {
    let expect = expect.to_string();
    match client {
        "kcat" => {
            let mut cmd = kcat()?;
            cmd.args(["-b", addr, "-G", group, "-e", "-f", "record %p %o\n"])
                .args([
                    "-X",
                    "auto.offset.reset=earliest",
                    "-X",
                    "session.timeout.ms=6000",
                ])
                .arg(topic);
            Some(cmd)
        }
        "kafkajs" => {
            let installed =
                Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/node_modules/kafkajs");
            if !installed.exists() || Command::new("node").arg("--version").output().is_err() {
                assert!(!under_ci(), "CI must install node and kafkajs (.ci/run)");
                eprintln!(
                    "SKIPPED: kafkajs not installed (npm install --prefix tests kafkajs@2.2.4, as .ci/run does)"
                );
                return None;
            }
            let mut cmd = Command::new("node");
            cmd.current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests"))
                .arg(script("group_consumer.js"))
                .args([addr, group, topic, &expect]);
            Some(cmd)
        }
        python_client => {
            if let Err(e) = Command::new("python3").arg("--version").output() {
                assert!(!under_ci(), "python3 not runnable under CI: {e}");
                eprintln!("SKIPPED: python3 not runnable ({e}); .ci/run installs the clients");
                return None;
            }
            let mut cmd = Command::new("python3");
            cmd.arg(script("group_consumer.py")).args([
                python_client,
                addr,
                group,
                topic,
                &expect,
                "drain",
            ]);
            Some(cmd)
        }
    }
}

/// Runs one consumer to its end; the `(partition, offset)` pairs it printed, in order.
/// `None` when the client library is missing outside CI (the script exits 3).
fn drain(
    client: &str,
    addr: &str,
    group: &str,
    topic: &str,
    expect: usize,
) -> Option<Vec<(i32, i64)>> {
    let cmd = client_command(client, addr, group, topic, expect)?;
    let out = run_bounded(cmd, b"", RUN_LIMIT);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.code() == Some(3) {
        assert!(!under_ci(), "CI must install {client} (.ci/run): {stderr}");
        eprintln!("SKIPPED: {client} not installed ({stderr})");
        return None;
    }
    assert!(out.status.success(), "{client} failed: {stderr}");
    Some(records(&String::from_utf8_lossy(&out.stdout)))
}

fn records(out: &str) -> Vec<(i32, i64)> {
    out.lines()
        .filter_map(|l| l.strip_prefix("record "))
        .map(|l| {
            let (p, o) = l.trim().split_once(' ').expect("record P OFFSET");
            (p.parse().unwrap(), o.parse().unwrap())
        })
        .collect()
}

/// Produce v8 (acks=1) of `count` records to `partition` of `topic`.
fn produce(raw: &mut Raw, topic: &str, partition: i32, count: usize) {
    let values: Vec<String> = (0..count).map(|i| format!("later-{i}")).collect();
    let records = batch(&values);
    let body = RequestBody::Produce(ProduceRequest {
        transactional_id: None,
        acks: 1,
        timeout_ms: 10_000,
        topic_data: vec![ProduceTopic {
            name: topic.into(),
            partition_data: vec![ProducePartition {
                index: partition,
                records: Some(&records),
            }],
        }],
    });
    let r: ProduceResponse = raw.call(8, &body);
    assert_eq!(
        r.responses[0].partition_responses[0].error_code,
        ErrorCode::None
    );
}

/// The offsets `from..to` of one partition.
fn span(partition: i32, from: i64, to: i64) -> Vec<(i32, i64)> {
    (from..to).map(|o| (partition, o)).collect()
}

#[test]
fn every_client_reads_commits_and_resumes_after_a_restart() {
    for client in ["kcat", "confluent", "kafka-python", "aiokafka", "kafkajs"] {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        gen_log(&log, "t", &["--records", "50"]);
        let group = format!("resume-{client}");
        let mut broker = Broker::start(&log, &[]);
        let Some(first) = drain(client, &broker.addr(), &group, "t", 50) else {
            continue;
        };
        assert_eq!(
            first,
            span(0, 0, 50),
            "{client}: the first run reads 0..50 once"
        );
        broker.stop();

        // A new broker process on the same log dir: the group's offset comes back from
        // __consumer_offsets.
        let broker = Broker::start(&log, &[]);
        assert!(
            broker.log().contains("__consumer_offsets: replayed"),
            "{}",
            broker.log()
        );
        produce(&mut Raw::connect(&broker.addr()), "t", 0, 20);
        let second = drain(client, &broker.addr(), &group, "t", 20).unwrap();
        assert_eq!(
            second,
            span(0, 50, 70),
            "{client}: after the restart exactly the 20 new records, none twice, none skipped"
        );
        eprintln!("{client}: read 50, committed, restarted, resumed at 50 and read 20");
    }
}

#[test]
fn zc_consume_group_resumes_from_the_committed_offset() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    gen_log(&log, "t", &["--partitions", "2", "--records", "40"]);
    let broker = Broker::start(&log, &[]);
    let consume =
        || common::zc(&["consume", "-b", &broker.addr(), "-t", "t", "--group", "zg"]).success();
    let first = consume();
    assert_eq!(first.stdout.lines().count(), 40, "{}", first.stderr);
    assert!(
        first.stderr.contains("committed and left group zg"),
        "{}",
        first.stderr
    );
    produce(&mut Raw::connect(&broker.addr()), "t", 1, 5);
    let second = consume();
    let lines: Vec<&str> = second.stdout.lines().collect();
    assert_eq!(
        lines,
        (0..5).map(|i| format!("later-{i}")).collect::<Vec<_>>(),
        "{}",
        second.stderr
    );
    assert!(
        second.stderr.contains("t-1 from committed offset 20"),
        "{}",
        second.stderr
    );
    // --group decides the partitions: naming one is refused.
    let both = common::zc(&[
        "consume",
        "-b",
        &broker.addr(),
        "-t",
        "t",
        "--group",
        "zg",
        "-p",
        "1",
    ]);
    assert_eq!(both.code, Some(2), "{}", both.stderr);
}

/// One member of a group: a confluent-kafka consumer in member mode, its stdout lines
/// collected as they come. Dropping it kills the process.
struct Member {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Member {
    fn start(addr: &str, group: &str, topic: &str) -> Option<Member> {
        let mut cmd = Command::new("python3");
        cmd.arg(script("group_consumer.py"))
            .args(["confluent", addr, group, topic, "0", "member"]);
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start a group member");
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let mut member = Member {
            child,
            stdin,
            lines,
        };
        // A missing confluent-kafka makes the script exit 3 at once.
        thread::sleep(Duration::from_millis(300));
        if let Some(status) = member.child.try_wait().unwrap() {
            assert!(!under_ci(), "CI must install confluent-kafka (.ci/run)");
            assert_eq!(status.code(), Some(3), "the member exited: {status}");
            eprintln!("SKIPPED: confluent-kafka not installed");
            return None;
        }
        Some(member)
    }

    /// The partitions of the last assignment, if any yet.
    fn assignment(&self) -> Option<Vec<i32>> {
        let lines = self.lines.lock().unwrap();
        let last = lines
            .iter()
            .rev()
            .find_map(|l| l.strip_prefix("assigned"))?;
        Some(
            last.trim()
                .split(',')
                .filter(|s| !s.is_empty())
                .map(|p| p.parse().unwrap())
                .collect(),
        )
    }

    fn records(&self) -> Vec<(i32, i64)> {
        records(&self.lines.lock().unwrap().join("\n"))
    }

    /// Closes stdin: the member closes its consumer (commit, LeaveGroup) and exits.
    fn leave(&mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + RUN_LIMIT;
        while self.child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "the member did not leave");
            thread::sleep(Duration::from_millis(50));
        }
    }

    fn kill9(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until `ok` holds, failing with `what` and the broker's log after `limit`.
fn wait_until(broker: &Broker, limit: Duration, what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !ok() {
        assert!(
            Instant::now() < deadline,
            "{what} within {limit:?}; broker log:\n{}",
            broker.log()
        );
        thread::sleep(Duration::from_millis(50));
    }
}

/// Two members split a 4-partition topic; then `end_b` ends member B (leave or kill -9)
/// and A must take all four; records produced after that reach A, and across the run
/// every record is consumed. Returns how long A waited for the takeover.
fn two_members_then(end_b: fn(&mut Member), limit: Duration) -> Option<Duration> {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    gen_log(&log, "four", &["--partitions", "4", "--records", "400"]);
    let broker = Broker::start(&log, &[]);
    let addr = broker.addr();
    let mut a = Member::start(&addr, "pair", "four")?;
    let mut b = Member::start(&addr, "pair", "four")?;
    wait_until(
        &broker,
        RUN_LIMIT,
        "two members with two partitions each",
        || match (a.assignment(), b.assignment()) {
            (Some(x), Some(y)) => x.len() == 2 && y.len() == 2 && x.iter().all(|p| !y.contains(p)),
            _ => false,
        },
    );
    let all = |per_partition: i64| -> BTreeSet<(i32, i64)> {
        (0..4).flat_map(|p| span(p, 0, per_partition)).collect()
    };
    let seen = |a: &Member, b: &Member| -> BTreeSet<(i32, i64)> {
        a.records().into_iter().chain(b.records()).collect()
    };
    wait_until(
        &broker,
        RUN_LIMIT,
        "the 400 records read by the pair",
        || seen(&a, &b) == all(100),
    );
    let ended = Instant::now();
    end_b(&mut b);
    wait_until(
        &broker,
        limit,
        "member A assigned all four partitions",
        || a.assignment() == Some(vec![0, 1, 2, 3]),
    );
    let takeover = ended.elapsed();
    let mut raw = Raw::connect(&addr);
    for p in 0..4 {
        produce(&mut raw, "four", p, 10);
    }
    wait_until(&broker, RUN_LIMIT, "every record read, none lost", || {
        seen(&a, &b) == all(110)
    });
    a.leave();
    Some(takeover)
}

#[test]
fn two_members_split_four_partitions_and_one_takes_all_when_the_other_leaves() {
    if let Some(took) = two_members_then(Member::leave, RUN_LIMIT) {
        eprintln!("after B's LeaveGroup, A held all four partitions in {took:?}");
    }
}

#[test]
fn a_member_killed_with_sigkill_is_evicted_after_its_session_timeout() {
    // session.timeout.ms is 6 s (the script's); eviction, the rebalance and A's rejoin
    // must follow. The bound here only says it happens; scripts/group-bench measures it.
    if let Some(took) = two_members_then(Member::kill9, Duration::from_secs(30)) {
        assert!(
            took >= Duration::from_secs(5),
            "A took over in {took:?}: before B's 6 s session could have expired"
        );
        eprintln!("after B's kill -9, A held all four partitions in {took:?}");
    }
}

// ---- the coordinator's answers, through the crate's own codec ----

fn join(group: &str, member_id: &str, session_timeout_ms: i32) -> RequestBody<'static> {
    RequestBody::JoinGroup(JoinGroupRequest {
        group_id: group.into(),
        session_timeout_ms,
        rebalance_timeout_ms: 10_000,
        member_id: member_id.into(),
        protocol_type: "consumer".into(),
        protocols: vec![JoinGroupProtocol {
            name: "range".into(),
            metadata: vec![0, 1, 2],
        }],
    })
}

fn heartbeat(group: &str, generation_id: i32, member_id: &str) -> RequestBody<'static> {
    RequestBody::Heartbeat(HeartbeatRequest {
        group_id: group.into(),
        generation_id,
        member_id: member_id.into(),
    })
}

fn commit(
    group: &str,
    generation_id: i32,
    member_id: &str,
    parts: &[(&str, i32, i64)],
    metadata: &str,
) -> RequestBody<'static> {
    RequestBody::OffsetCommit(OffsetCommitRequest {
        group_id: group.into(),
        generation_id,
        member_id: member_id.into(),
        retention_time_ms: -1,
        topics: parts
            .iter()
            .map(|(t, p, o)| OffsetCommitTopic {
                name: (*t).into(),
                partitions: vec![OffsetCommitPartition {
                    partition_index: *p,
                    committed_offset: *o,
                    committed_leader_epoch: -1,
                    committed_metadata: Some(metadata.into()),
                }],
            })
            .collect(),
    })
}

fn commit_codes(r: &OffsetCommitResponse) -> Vec<ErrorCode> {
    r.topics
        .iter()
        .flat_map(|t| t.partitions.iter().map(|(_, e)| *e))
        .collect()
}

fn committed(raw: &mut Raw, group: &str, topic: &str, partition: i32) -> i64 {
    let r: OffsetFetchResponse = raw.call(
        5,
        &RequestBody::OffsetFetch(OffsetFetchRequest {
            group_id: group.into(),
            topics: Some(vec![(topic.into(), vec![partition])]),
        }),
    );
    assert_eq!(r.error_code, ErrorCode::None);
    r.topics[0].1[0].committed_offset
}

/// Joins `group` alone with JoinGroup v4 (MEMBER_ID_REQUIRED first), syncs as its leader;
/// returns (member id, generation).
fn join_alone(raw: &mut Raw, group: &str) -> (String, i32) {
    let r: JoinGroupResponse = raw.call(4, &join(group, "", 6_000));
    assert_eq!(r.error_code, ErrorCode::MemberIdRequired);
    assert!(
        !r.member_id.is_empty(),
        "MEMBER_ID_REQUIRED hands out the id"
    );
    let id = r.member_id;
    let r: JoinGroupResponse = raw.call(4, &join(group, &id, 6_000));
    assert_eq!(r.error_code, ErrorCode::None);
    assert_eq!(
        (r.leader.as_str(), r.member_id.as_str()),
        (id.as_str(), id.as_str())
    );
    assert_eq!(
        r.members.len(),
        1,
        "the leader gets every member's metadata"
    );
    assert_eq!(r.members[0].metadata, [0, 1, 2]);
    let s: SyncGroupResponse = raw.call(
        2,
        &RequestBody::SyncGroup(SyncGroupRequest {
            group_id: group.into(),
            generation_id: r.generation_id,
            member_id: id.clone(),
            assignments: vec![SyncGroupAssignment {
                member_id: id.clone(),
                assignment: b"mine".to_vec(),
            }],
        }),
    );
    assert_eq!(
        (s.error_code, s.assignment.as_slice()),
        (ErrorCode::None, &b"mine"[..])
    );
    (id, r.generation_id)
}

#[test]
fn bad_group_requests_get_kafkas_error_codes_and_nothing_else_breaks() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    gen_log(&log, "t", &["--records", "10"]);
    let broker = Broker::start(&log, &[]);
    let mut raw = Raw::connect(&broker.addr());

    // Session timeouts outside Kafka's group.min/max.session.timeout.ms (6 s .. 30 min).
    for absurd in [0, 1, 5_999, 1_800_001, i32::MAX, -1] {
        let r: JoinGroupResponse = raw.call(4, &join("g", "", absurd));
        assert_eq!(
            r.error_code,
            ErrorCode::InvalidSessionTimeout,
            "{absurd} ms"
        );
    }
    // A member id the coordinator never handed out.
    let r: JoinGroupResponse = raw.call(4, &join("g", "made-up", 6_000));
    assert_eq!(r.error_code, ErrorCode::UnknownMemberId);
    let r: HeartbeatResponse = raw.call(2, &heartbeat("nobody", 1, "made-up"));
    assert_eq!(r.0.error_code, ErrorCode::UnknownMemberId);

    let (id, generation) = join_alone(&mut raw, "g");
    let r: HeartbeatResponse = raw.call(2, &heartbeat("g", generation, &id));
    assert_eq!(r.0.error_code, ErrorCode::None);
    // A stale generation, in every request that carries one.
    let r: HeartbeatResponse = raw.call(2, &heartbeat("g", generation - 1, &id));
    assert_eq!(r.0.error_code, ErrorCode::IllegalGeneration);
    let r: OffsetCommitResponse =
        raw.call(6, &commit("g", generation - 1, &id, &[("t", 0, 3)], ""));
    assert_eq!(commit_codes(&r), [ErrorCode::IllegalGeneration]);
    let r: SyncGroupResponse = raw.call(
        2,
        &RequestBody::SyncGroup(SyncGroupRequest {
            group_id: "g".into(),
            generation_id: generation + 1,
            member_id: id.clone(),
            assignments: vec![],
        }),
    );
    assert_eq!(r.error_code, ErrorCode::IllegalGeneration);
    // A commit from outside a group that has members.
    let r: OffsetCommitResponse = raw.call(6, &commit("g", -1, "", &[("t", 0, 3)], ""));
    assert_eq!(commit_codes(&r), [ErrorCode::UnknownMemberId]);
    // Unknown topics and partitions fail alone; the rest of the request is stored.
    let r: OffsetCommitResponse = raw.call(
        6,
        &commit(
            "g",
            generation,
            &id,
            &[("t", 0, 7), ("nope", 0, 1), ("t", 9, 1)],
            "",
        ),
    );
    assert_eq!(
        commit_codes(&r),
        [
            ErrorCode::None,
            ErrorCode::UnknownTopicOrPartition,
            ErrorCode::UnknownTopicOrPartition
        ]
    );
    assert_eq!(committed(&mut raw, "g", "t", 0), 7);
    assert_eq!(committed(&mut raw, "g", "nope", 0), -1);
    let r: OffsetCommitResponse = raw.call(
        6,
        &commit("g", generation, &id, &[("t", 0, 8)], &"m".repeat(4097)),
    );
    assert_eq!(commit_codes(&r), [ErrorCode::OffsetMetadataTooLarge]);
    // A group with a member cannot be deleted; an unknown one is not found.
    let r: DeleteGroupsResponse = raw.call(
        1,
        &RequestBody::DeleteGroups(DeleteGroupsRequest {
            groups_names: vec!["g".into(), "never".into()],
        }),
    );
    assert_eq!(
        r.results,
        [
            ("g".to_owned(), ErrorCode::NonEmptyGroup),
            ("never".to_owned(), ErrorCode::GroupIdNotFound)
        ]
    );
    // FindCoordinator v4, batched: groups are ours; transactions are refused by name.
    let r: FindCoordinatorResponse = raw.call(
        4,
        &RequestBody::FindCoordinator(FindCoordinatorRequest {
            key_type: 0,
            keys: vec!["a".into(), "b".into()],
        }),
    );
    assert_eq!(r.coordinators.len(), 2);
    assert!(
        r.coordinators
            .iter()
            .all(|c| c.error_code == ErrorCode::None && c.port == i32::from(broker.port))
    );
    let r: FindCoordinatorResponse = raw.call(
        4,
        &RequestBody::FindCoordinator(FindCoordinatorRequest {
            key_type: 1,
            keys: vec!["tx".into()],
        }),
    );
    assert_eq!(
        r.coordinators[0].error_code,
        ErrorCode::TransactionalIdAuthorizationFailed
    );
    assert!(
        r.coordinators[0]
            .error_message
            .as_deref()
            .unwrap()
            .contains("transactions")
    );
    // The member stops heartbeating: after its 6 s session it is gone.
    thread::sleep(Duration::from_millis(6_500));
    let r: HeartbeatResponse = raw.call(2, &heartbeat("g", generation, &id));
    assert_eq!(r.0.error_code, ErrorCode::UnknownMemberId);
    assert!(
        broker.wait_for_log("session timeout", Duration::from_secs(5)),
        "{}",
        broker.log()
    );
    // And the broker still serves everything else on the same connection.
    assert_eq!(raw.latest("t"), (ErrorCode::None, 10));
    assert_eq!(raw.fetch("t", 0).2.len(), 10);
}

#[test]
fn a_group_is_bounded_at_1000_members() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let broker = Broker::start(&log, &[]);
    let mut raw = Raw::connect(&broker.addr());
    // Ids handed out with MEMBER_ID_REQUIRED count until they expire: 1000 fit, not 1001.
    for i in 0..1000 {
        let r: JoinGroupResponse = raw.call(4, &join("big", "", 6_000));
        assert_eq!(r.error_code, ErrorCode::MemberIdRequired, "member {i}");
    }
    let r: JoinGroupResponse = raw.call(4, &join("big", "", 6_000));
    assert_eq!(r.error_code, ErrorCode::GroupMaxSizeReached);
}

/// Resident memory of a process, from /proc/PID/status.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap()
}

#[test]
fn five_hundred_members_form_one_generation_and_each_gets_its_assignment() {
    const N: usize = 500;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let broker = Broker::start(&log, &["--max-connections", "600"]);
    let before = rss_kib(broker.pid());
    let mut members: Vec<Raw> = (0..N).map(|_| Raw::connect(&broker.addr())).collect();
    // JoinGroup v3 (no MEMBER_ID_REQUIRED round): all sent before any answer is read. The
    // first join of an empty group waits 3 s for more (Kafka's initial rebalance delay), so
    // all 500 land in one generation.
    for m in &mut members {
        m.send(3, &join("crowd", "", 30_000));
    }
    let joined: Vec<JoinGroupResponse> = members
        .iter_mut()
        .map(|m| {
            let frame = m.receive().expect("a JoinGroup answer");
            zc::kafka::decode_response::<JoinGroupResponse>(&frame, 3)
                .unwrap()
                .1
        })
        .collect();
    let failed: Vec<_> = joined
        .iter()
        .filter(|r| r.error_code != ErrorCode::None)
        .map(|r| r.error_code)
        .collect();
    assert!(
        failed.is_empty(),
        "{} joins failed: {:?}",
        failed.len(),
        &failed[..failed.len().min(5)]
    );
    let generation = joined[0].generation_id;
    assert!(joined.iter().all(|r| r.generation_id == generation));
    let leader = joined.iter().position(|r| r.member_id == r.leader).unwrap();
    assert_eq!(joined[leader].members.len(), N);
    // Followers first (they wait for the leader), then the leader's assignments.
    for (i, m) in members.iter_mut().enumerate().filter(|(i, _)| *i != leader) {
        m.send(
            2,
            &RequestBody::SyncGroup(SyncGroupRequest {
                group_id: "crowd".into(),
                generation_id: generation,
                member_id: joined[i].member_id.clone(),
                assignments: vec![],
            }),
        );
    }
    let assignments = joined
        .iter()
        .map(|r| SyncGroupAssignment {
            member_id: r.member_id.clone(),
            assignment: r.member_id.as_bytes().to_vec(),
        })
        .collect();
    members[leader].send(
        2,
        &RequestBody::SyncGroup(SyncGroupRequest {
            group_id: "crowd".into(),
            generation_id: generation,
            member_id: joined[leader].member_id.clone(),
            assignments,
        }),
    );
    for (i, m) in members.iter_mut().enumerate() {
        let frame = m.receive().expect("a SyncGroup answer");
        let r = zc::kafka::decode_response::<SyncGroupResponse>(&frame, 2)
            .unwrap()
            .1;
        assert_eq!(r.error_code, ErrorCode::None);
        assert_eq!(r.assignment, joined[i].member_id.as_bytes(), "member {i}");
    }
    let after = rss_kib(broker.pid());
    // 500 connection threads (stacks touched a little) and the group's state: a few MiB.
    assert!(
        after.saturating_sub(before) < 64 * 1024,
        "RSS grew from {before} KiB to {after} KiB"
    );
    eprintln!("500 members in generation {generation}: RSS {before} -> {after} KiB");
}

#[test]
fn a_torn_consumer_offsets_tail_is_recovered_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    gen_log(&log, "t", &["--records", "10"]);
    let mut broker = Broker::start(&log, &[]);
    let mut raw = Raw::connect(&broker.addr());
    for offset in [3, 9, 12] {
        let r: OffsetCommitResponse = raw.call(6, &commit("torn", -1, "", &[("t", 0, offset)], ""));
        assert_eq!(commit_codes(&r), [ErrorCode::None]);
    }
    broker.kill9();
    // Three batches of one record each, all the same size (same key, same value layout):
    // cut the last one in half, as a crash in the middle of its write leaves it.
    let segment = log.join("__consumer_offsets-0/00000000000000000000.log");
    let len = std::fs::metadata(&segment).unwrap().len();
    assert_eq!(len % 3, 0, "three equal batches");
    std::fs::OpenOptions::new()
        .write(true)
        .open(&segment)
        .unwrap()
        .set_len(len - len / 6)
        .unwrap();

    let broker = Broker::start(&log, &[]);
    let printed = broker.log();
    assert!(printed.contains("__consumer_offsets-0"), "{printed}");
    let mut raw = Raw::connect(&broker.addr());
    assert_eq!(committed(&mut raw, "torn", "t", 0), 9, "{printed}");
    let r: OffsetCommitResponse = raw.call(6, &commit("torn", -1, "", &[("t", 0, 10)], ""));
    assert_eq!(commit_codes(&r), [ErrorCode::None]);
    assert_eq!(committed(&mut raw, "torn", "t", 0), 10);
}

#[test]
fn concurrent_commits_from_many_clients_all_land() {
    const CLIENTS: usize = 16;
    const COMMITS: i64 = 200;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    gen_log(&log, "t", &["--partitions", "4", "--records", "40"]);
    let mut broker = Broker::start(&log, &[]);
    let addr = broker.addr();
    let workers: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let addr = addr.clone();
            thread::spawn(move || {
                let mut raw = Raw::connect(&addr);
                let group = format!("many-{}", c % 4);
                let partition = (c / 4) as i32;
                for offset in 1..=COMMITS {
                    let r: OffsetCommitResponse =
                        raw.call(6, &commit(&group, -1, "", &[("t", partition, offset)], ""));
                    assert_eq!(commit_codes(&r), [ErrorCode::None]);
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let check = |addr: &str| {
        let mut raw = Raw::connect(addr);
        for c in 0..CLIENTS {
            let group = format!("many-{}", c % 4);
            assert_eq!(committed(&mut raw, &group, "t", (c / 4) as i32), COMMITS);
        }
    };
    check(&addr);
    broker.stop();
    let broker = Broker::start(&log, &[]);
    check(&broker.addr());
}
