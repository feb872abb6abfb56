//! `zc groups` and `zc consume --group` as a user runs them against `zc serve`: live zc
//! members described exactly (members, assignments, committed offsets, lag), an empty
//! group's lag, deleting, unknown groups; and two zc members sharing a topic while a
//! producer writes, one joining mid-run: across the rebalances every record is printed
//! exactly once. (The same `zc groups` against Apache Kafka: tests/apache_kafka.rs.)

mod common;
#[path = "common/broker.rs"]
mod harness;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::{gen_log, zc, zc_command};
use harness::{Broker, Raw, batch};
use serde_json::Value;
use zc::kafka::{
    ErrorCode, ProducePartition, ProduceRequest, ProduceResponse, ProduceTopic, RequestBody,
};

/// A `zc consume --group` process: stdout collected whole, stderr line by line as it comes.
struct Member {
    child: Child,
    stderr: Arc<Mutex<String>>,
    stdout: Option<thread::JoinHandle<String>>,
}

impl Member {
    fn start(addr: &str, topic: &str, group: &str, timeout_s: u32) -> Member {
        let mut child = zc_command(&[
            "consume",
            "-b",
            addr,
            "-t",
            topic,
            "--group",
            group,
            "--follow",
            "--timeout",
            &timeout_s.to_string(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start zc consume --group");
        let mut out = child.stdout.take().unwrap();
        let stdout = thread::spawn(move || {
            let mut s = String::new();
            out.read_to_string(&mut s).unwrap();
            s
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let err = BufReader::new(child.stderr.take().unwrap());
        let sink = stderr.clone();
        thread::spawn(move || {
            for line in err.lines() {
                let mut s = sink.lock().unwrap();
                s.push_str(&line.unwrap());
                s.push('\n');
            }
        });
        Member {
            child,
            stderr,
            stdout: Some(stdout),
        }
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits until stderr contains `needle`.
    fn wait_for(&self, needle: &str, limit: Duration) {
        let started = Instant::now();
        while !self.stderr().contains(needle) {
            assert!(
                started.elapsed() < limit,
                "no {needle:?} within {limit:?}:\n{}",
                self.stderr()
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for the run to end (it must succeed); its stdout.
    fn finish(mut self) -> (String, String) {
        let status = self.child.wait().unwrap();
        let stdout = self.stdout.take().unwrap().join().unwrap();
        // The stderr reader ends with the process; give it a moment to take the last line.
        thread::sleep(Duration::from_millis(100));
        assert!(status.success(), "{status}\n{}", self.stderr());
        (stdout, self.stderr())
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

fn describe_json(addr: &str, group: &str) -> Value {
    let out = zc(&["groups", "describe", "-b", addr, group, "--format", "json"]).success();
    let all: Value = serde_json::from_str(&out.stdout).unwrap();
    all[0].clone()
}

/// `(partition, committed, log_end, lag, member)` of every row, by partition.
fn rows(g: &Value) -> BTreeMap<i64, (Value, Value, Value, Value)> {
    g["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["partition"].as_i64().unwrap(),
                (
                    p["committed"].clone(),
                    p["log_end"].clone(),
                    p["lag"].clone(),
                    p["member_id"].clone(),
                ),
            )
        })
        .collect()
}

fn produce_one(raw: &mut Raw, topic: &str, partition: i32, value: &str) {
    let records = batch(&[value]);
    let r: ProduceResponse = raw.call(
        8,
        &RequestBody::Produce(ProduceRequest {
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
        }),
    );
    assert_eq!(
        r.responses[0].partition_responses[0].error_code,
        ErrorCode::None
    );
}

#[test]
fn zc_groups_describes_live_members_assignments_offsets_and_lag() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    gen_log(&log, "t", &["--partitions", "4", "--records", "400"]);
    let broker = Broker::start(&log, &[]);
    let addr = broker.addr();

    // A reads all four partitions; B joins; A commits, rejoins, and they split 2 + 2.
    let a = Member::start(&addr, "t", "g", 25);
    a.wait_for("(generation 1)", Duration::from_secs(20));
    let b = Member::start(&addr, "t", "g", 20);
    b.wait_for("(generation 2)", Duration::from_secs(20));
    a.wait_for("(generation 2)", Duration::from_secs(20));

    let g = describe_json(&addr, "g");
    assert_eq!(g["state"], "Stable", "{g:#}");
    assert_eq!(g["protocol_type"], "consumer");
    assert_eq!(g["protocol"], "range");
    let members = g["members"].as_array().unwrap();
    assert_eq!(members.len(), 2, "{g:#}");
    let mut ids: Vec<&str> = members
        .iter()
        .map(|m| m["member_id"].as_str().unwrap())
        .collect();
    ids.sort();
    for m in members {
        assert_eq!(m["client_id"], "zc");
        assert_eq!(m["host"], "/127.0.0.1");
        // Kafka's RangeAssignor over the member ids sorted: the first gets 0 and 1.
        let first = m["member_id"] == ids[0];
        let expected = if first { [0, 1] } else { [2, 3] };
        assert_eq!(
            m["assignment"],
            serde_json::json!([["t", expected]]),
            "{g:#}"
        );
    }
    // A read everything in generation 1 and committed before rejoining.
    let expected: BTreeMap<i64, (Value, Value, Value, Value)> = (0..4)
        .map(|p| {
            let owner = ids[usize::from(p >= 2)];
            (p, (100.into(), 100.into(), 0.into(), owner.into()))
        })
        .collect();
    assert_eq!(rows(&g), expected, "{g:#}");

    // The table: kafka-consumer-groups' columns.
    let table = zc(&["groups", "describe", "-b", &addr, "g"])
        .success()
        .stdout;
    assert!(
        table.starts_with(&format!(
            "Group g at {addr}: state Stable, protocol consumer/range, 2 member(s)\n"
        )),
        "{table}"
    );
    let row: Vec<&str> = table
        .lines()
        .find(|l| l.starts_with("g ") && l.split_whitespace().nth(2) == Some("3"))
        .unwrap_or_else(|| panic!("{table}"))
        .split_whitespace()
        .collect();
    assert_eq!(
        row,
        ["g", "t", "3", "100", "100", "0", ids[1], "/127.0.0.1", "zc"]
    );
    assert!(
        table.contains(&format!(
            "{}  /127.0.0.1  zc         2            t(0,1)",
            ids[0]
        )),
        "{table}"
    );
    assert_eq!(zc(&["groups", "list", "-b", &addr]).success().stdout, "g\n");

    // A group with members cannot be deleted; nothing changes.
    let refused = zc(&["groups", "delete", "-b", &addr, "g"]).code(1);
    assert!(
        refused.stderr.contains("NON_EMPTY_GROUP"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("still has members"),
        "{}",
        refused.stderr
    );

    let (b_out, _) = b.finish();
    let (a_out, a_err) = a.finish();
    assert_eq!(a_out.lines().count(), 400, "{a_err}");
    assert_eq!(b_out, "", "B started where A committed: the end");

    // Empty now; 7 new records on partition 1 are its lag.
    let mut raw = Raw::connect(&addr);
    for i in 0..7 {
        produce_one(&mut raw, "t", 1, &format!("new-{i}"));
    }
    let g = describe_json(&addr, "g");
    assert_eq!(g["state"], "Empty", "{g:#}");
    assert_eq!(g["members"], serde_json::json!([]));
    let lag: Vec<Value> = rows(&g).values().map(|r| r.2.clone()).collect();
    assert_eq!(lag, [0, 7, 0, 0].map(Value::from), "{g:#}");
    let table = zc(&["groups", "describe", "-b", &addr, "g"])
        .success()
        .stdout;
    assert!(
        table.contains("g      t      1          100             107             7    -"),
        "{table}"
    );
    assert!(
        table.contains("Consumer group g has no active members."),
        "{table}"
    );

    // Delete, then the group is unknown: a clear error, exit 1.
    let deleted = zc(&["groups", "delete", "-b", &addr, "g"]).success();
    assert_eq!(
        deleted.stdout,
        "Deleted group g and its committed offsets.\n"
    );
    assert_eq!(zc(&["groups", "list", "-b", &addr]).success().stdout, "");
    for args in [
        &["describe", "g"][..],
        &["describe", "nope", "--format", "json"],
    ] {
        let mut all = vec!["groups", args[0], "-b", &addr];
        all.extend(&args[1..]);
        let unknown = zc(&all).code(1);
        assert_eq!(unknown.stdout, "");
        assert!(
            unknown
                .stderr
                .contains(&format!("no consumer group {} at {addr}", args[1])),
            "{}",
            unknown.stderr
        );
        assert!(
            unknown.stderr.contains("zc groups list"),
            "{}",
            unknown.stderr
        );
    }
    let unknown = zc(&["groups", "delete", "-b", &addr, "nope"]).code(1);
    assert!(
        unknown.stderr.contains("GROUP_ID_NOT_FOUND"),
        "{}",
        unknown.stderr
    );
    assert!(
        unknown.stderr.contains("no consumer group nope"),
        "{}",
        unknown.stderr
    );
    // A bad command line is exit 2.
    zc(&["groups", "describe", "-b", &addr, "--format", "yaml"]).code(2);
}

/// Two zc members and a producer: B joins while A reads and the producer writes; when B's
/// run ends it leaves and A takes everything back. Every record is printed once, by A or B.
#[test]
fn zc_consume_group_rejoins_across_rebalances_losing_and_repeating_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(dir.path(), &[]);
    let addr = broker.addr();
    zc(&["topics", "create", "-b", &addr, "r", "--partitions", "4"]).success();

    const RECORDS: usize = 600;
    let producer = {
        let addr = addr.clone();
        thread::spawn(move || {
            let mut raw = Raw::connect(&addr);
            for i in 0..RECORDS {
                produce_one(&mut raw, "r", (i % 4) as i32, &format!("r-{i}"));
                thread::sleep(Duration::from_millis(15));
            }
        })
    };
    let a = Member::start(&addr, "r", "rg", 30);
    a.wait_for("(generation 1)", Duration::from_secs(20));
    thread::sleep(Duration::from_secs(2));
    let b = Member::start(&addr, "r", "rg", 12);
    b.wait_for("(generation 2)", Duration::from_secs(20));
    producer.join().unwrap();
    let (b_out, b_err) = b.finish();
    let (a_out, a_err) = a.finish();

    // A was there in generations 1, 2 and 3 (after B left), B in 2.
    assert!(a_err.contains("(generation 3)"), "{a_err}");
    assert!(!b_out.is_empty(), "B read its partitions: {b_err}");
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for line in a_out.lines().chain(b_out.lines()) {
        *seen.entry(line.to_owned()).or_default() += 1;
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "read twice: {twice:?}\nA: {a_err}\nB: {b_err}"
    );
    let missing: Vec<String> = (0..RECORDS)
        .map(|i| format!("r-{i}"))
        .filter(|v| !seen.contains_key(v))
        .collect();
    assert!(
        missing.is_empty(),
        "never read: {missing:?}\nA: {a_err}\nB: {b_err}"
    );
    assert_eq!(seen.len(), RECORDS);

    let g = describe_json(&addr, "rg");
    let per_partition = (RECORDS / 4) as i64;
    for (p, (committed, end, lag, _)) in rows(&g) {
        assert_eq!(
            (committed, end, lag),
            (per_partition.into(), per_partition.into(), 0.into()),
            "partition {p}: {g:#}"
        );
    }
}
