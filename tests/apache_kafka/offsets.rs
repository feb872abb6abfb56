//! Kafka's dumper as the judge of the `__consumer_offsets` log that `zc serve`'s group
//! coordinator writes: with `--offsets-decoder` it decodes every key and value with Kafka's
//! own schemas (offset commits, group metadata with the consumer protocol's subscription and
//! assignment inside, tombstones), and what it decodes must be what zc's decoder reads and
//! what the group members committed.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{Value, json};
use zc::broker::coordinator::offsets_topic::{OFFSETS_TOPIC, StoredRecord};
use zc::log::batch::{self, BatchHeader};
use zc::log::check;

use super::broker::Broker;
use super::common::zc;
use super::kafka::installed;
use super::{kafka_dump_with, kafka_reads_like_zc, kafka_tool, zc_dump};

/// One record of the offsets topic as Kafka's `--offsets-decoder` prints it: the key and
/// the payload as JSON (`None` for a tombstone, printed `<DELETE>`).
fn decoded_records(stdout: &str) -> Vec<(i64, Value, Option<Value>)> {
    stdout
        .lines()
        .filter(|l| l.starts_with("| offset:"))
        .map(|line| {
            let offset = line["| offset: ".len()..]
                .split_whitespace()
                .next()
                .unwrap()
                .parse()
                .unwrap();
            let (_, rest) = line
                .split_once(" key: ")
                .unwrap_or_else(|| panic!("Kafka decoded no key: {line}"));
            let (key, payload) = rest
                .split_once(" payload: ")
                .unwrap_or_else(|| panic!("Kafka could not decode the record: {line}"));
            let key: Value = serde_json::from_str(key)
                .unwrap_or_else(|e| panic!("{e}: Kafka's key is not JSON: {line}"));
            let payload = (payload != "<DELETE>").then(|| {
                serde_json::from_str(payload)
                    .unwrap_or_else(|e| panic!("{e}: Kafka's payload is not JSON: {line}"))
            });
            (offset, key, payload)
        })
        .collect()
}

/// Kafka's JSON of one record, built from zc's decoding of the same bytes: key type 1 is
/// an offset commit (OffsetCommitKey v1, OffsetCommitValue v3), type 2 group metadata
/// (GroupMetadataKey v2, GroupMetadataValue v3, the consumer protocol's subscription v0 and
/// assignment v0 decoded inside).
fn as_kafka_prints(record: &StoredRecord) -> (Value, Option<Value>) {
    match record {
        StoredRecord::Offset {
            group,
            topic,
            partition,
            value,
        } => (
            json!({"type": "1", "data": {"group": group, "topic": topic, "partition": partition}}),
            value.as_ref().map(|v| {
                json!({"version": "3", "data": {
                    "offset": v.offset,
                    "leaderEpoch": v.leader_epoch,
                    "metadata": v.metadata,
                    "commitTimestamp": v.commit_timestamp,
                }})
            }),
        ),
        StoredRecord::Group { group, value } => (
            json!({"type": "2", "data": {"group": group}}),
            value.as_ref().map(|v| {
                let members: Vec<Value> = v
                    .members
                    .iter()
                    .map(|m| {
                        json!({
                            "memberId": m.member_id,
                            "groupInstanceId": null,
                            "clientId": m.client_id,
                            "clientHost": m.client_host,
                            "rebalanceTimeout": m.rebalance_timeout_ms,
                            "sessionTimeout": m.session_timeout_ms,
                            "subscription": subscription(&m.subscription),
                            "assignment": assignment(&m.assignment),
                        })
                    })
                    .collect();
                json!({"version": "3", "data": {
                    "protocolType": v.protocol_type,
                    "generation": v.generation,
                    "protocol": v.protocol,
                    "leader": v.leader,
                    "currentStateTimestamp": v.current_state_timestamp,
                    "members": members,
                }})
            }),
        ),
    }
}

/// A big-endian reader over the consumer protocol's bytes, for the two helpers below.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn take(&mut self, n: usize) -> &[u8] {
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        head
    }
    fn i16(&mut self) -> i16 {
        i16::from_be_bytes(self.take(2).try_into().unwrap())
    }
    fn i32(&mut self) -> i32 {
        i32::from_be_bytes(self.take(4).try_into().unwrap())
    }
    fn string(&mut self) -> String {
        let n = self.i16() as usize;
        String::from_utf8(self.take(n).to_vec()).unwrap()
    }
    /// Null user data (length -1) is all zc and the Java console consumer send.
    fn null_bytes(&mut self) -> Value {
        assert_eq!(self.i32(), -1, "user data");
        Value::Null
    }
}

/// ConsumerProtocolSubscription v0 (topics, user data) as Kafka's JSON converter writes it.
fn subscription(bytes: &[u8]) -> Value {
    let mut r = Bytes(bytes);
    assert_eq!(r.i16(), 0, "subscription version");
    let topics: Vec<String> = (0..r.i32()).map(|_| r.string()).collect();
    let user_data = r.null_bytes();
    json!({"topics": topics, "userData": user_data})
}

/// ConsumerProtocolAssignment v0 ([topic, partitions], user data).
fn assignment(bytes: &[u8]) -> Value {
    let mut r = Bytes(bytes);
    assert_eq!(r.i16(), 0, "assignment version");
    let assigned: Vec<Value> = (0..r.i32())
        .map(|_| {
            let topic = r.string();
            let partitions: Vec<i32> = (0..r.i32()).map(|_| r.i32()).collect();
            json!({"topic": topic, "partitions": partitions})
        })
        .collect();
    let user_data = r.null_bytes();
    json!({"assignedPartitions": assigned, "userData": user_data})
}

/// Every record of one partition log file, decoded by zc, by offset.
fn zc_decoded(log: &PathBuf) -> Vec<(i64, StoredRecord)> {
    let bytes = std::fs::read(log).unwrap();
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let h = BatchHeader::parse(&bytes[at..]).unwrap();
        for r in batch::records(&bytes[at..at + h.size()]) {
            let r = r.unwrap();
            let record = StoredRecord::decode(r.key.unwrap(), r.value).unwrap();
            out.push((h.base_offset + i64::from(r.offset_delta), record));
        }
        at += h.size();
    }
    out
}

/// `zc consume --group` commits through `zc serve`; Kafka's dumper reads the
/// `__consumer_offsets` partitions zc serve wrote (deep iteration, indexes, and
/// `--offsets-decoder`): the same batches and records as zc's reader, every key and value
/// decoded by Kafka's schemas as zc decodes them, and the last commit of each partition the
/// offset the consumer reached. A group deleted with `kafka-consumer-groups --delete`
/// leaves tombstones that Kafka reads as deletions.
#[test]
fn kafka_dump_log_decodes_the_consumer_offsets_zc_serve_wrote() {
    if !installed() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // Three partitions for every auto-created topic, __consumer_offsets included: groups
    // land in different partitions of it, as Kafka places them.
    let mut served = Broker::start(dir.path(), &["--partitions", "3"]);
    let addr = served.addr();
    let produce = |partition: &str, records: &str| {
        zc(&[
            "produce",
            "-q",
            "-b",
            &addr,
            "-t",
            "orders",
            "-p",
            partition,
            "--records",
            records,
        ])
        .success();
    };
    let consume = |group: &str| {
        zc(&[
            "consume", "-q", "-b", &addr, "-t", "orders", "--group", group,
        ])
        .success()
        .stdout
        .lines()
        .count()
    };
    produce("0", "100");
    produce("1", "200");
    produce("2", "300");
    assert_eq!(consume("readers"), 600);
    produce("1", "50");
    assert_eq!(
        consume("readers"),
        50,
        "the second run starts at the commits"
    );
    assert_eq!(consume("auditors"), 650);
    assert_eq!(consume("gone"), 650);
    kafka_tool(
        "kafka-consumer-groups",
        &["--bootstrap-server", &addr, "--delete", "--group", "gone"],
        b"",
    );
    let (status, log) = served.stop();
    assert!(status.success(), "{log}");

    // Batches, records, CRCs and indexes of every partition, the offsets topic included.
    kafka_reads_like_zc(dir.path());

    let logs: Vec<PathBuf> = check::check_log(dir.path(), false)
        .unwrap()
        .segments
        .into_iter()
        .map(|s| s.files.log)
        .filter(|l| {
            l.parent()
                .unwrap()
                .file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with(&format!("{OFFSETS_TOPIC}-"))
        })
        .collect();
    assert_eq!(logs.len(), 3, "{logs:?}");
    let (batches, stdout) = kafka_dump_with(&logs, &["--offsets-decoder"]);
    assert_eq!(batches, zc_dump(&logs), "Kafka's dump and zc's differ");
    for noise in ["Error at offset", "Unknown record type", "skipping"] {
        assert!(!stdout.contains(noise), "{stdout}");
    }

    // Kafka's decoding of each record, file by file, equals zc's.
    let mut kafka_records = Vec::new();
    for chunk in stdout.split("Dumping ").skip(1) {
        let file = PathBuf::from(chunk.lines().next().unwrap());
        let theirs = decoded_records(chunk);
        let ours = zc_decoded(&file);
        assert_eq!(theirs.len(), ours.len(), "{}", file.display());
        for ((offset, key, payload), (our_offset, record)) in theirs.into_iter().zip(&ours) {
            assert_eq!(offset, *our_offset);
            let (our_key, our_payload) = as_kafka_prints(record);
            assert_eq!(key, our_key, "key at offset {offset} of {}", file.display());
            assert_eq!(
                payload,
                our_payload,
                "value at offset {offset} of {}",
                file.display()
            );
            kafka_records.push((key, payload));
        }
    }

    // Replayed as a coordinator does (last value per key wins), Kafka's decoding gives the
    // offsets the consumers reached, and nothing of the deleted group.
    let mut committed = BTreeMap::new();
    let mut generations: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for (key, payload) in &kafka_records {
        let data = &key["data"];
        let group = data["group"].as_str().unwrap().to_owned();
        if key["type"] == "1" {
            let at = (group, data["partition"].as_i64().unwrap());
            assert_eq!(data["topic"], "orders");
            match payload {
                Some(p) => committed.insert(at, p["data"]["offset"].as_i64().unwrap()),
                None => committed.remove(&at),
            };
        } else if let Some(p) = payload {
            generations
                .entry(group)
                .or_default()
                .push(p["data"]["generation"].as_i64().unwrap());
        }
    }
    let expected: BTreeMap<(String, i64), i64> = ["readers", "auditors"]
        .into_iter()
        .flat_map(|g| [(0, 100), (1, 250), (2, 300)].map(|(p, o)| ((g.to_owned(), p), o)))
        .collect();
    assert_eq!(committed, expected);
    // Every group's metadata was written at each rebalance: the member's join (with its
    // subscription and the partitions it was assigned, decoded by Kafka above) and the
    // empty group after it left, generations counting up.
    for (group, runs) in [("readers", 2), ("auditors", 1), ("gone", 1)] {
        let seen = &generations[group];
        assert_eq!(seen.len(), 2 * runs, "{group}: {seen:?}");
        assert!(seen.windows(2).all(|w| w[0] < w[1]), "{group}: {seen:?}");
    }
    let joined = kafka_records
        .iter()
        .find_map(|(k, p)| {
            let p = p.as_ref()?;
            (k["type"] == "2" && p["data"]["members"].as_array()?.len() == 1).then_some(p)
        })
        .unwrap();
    let member = &joined["data"]["members"][0];
    assert_eq!(member["subscription"]["topics"], json!(["orders"]));
    assert_eq!(
        member["assignment"]["assignedPartitions"],
        json!([{"topic": "orders", "partitions": [0, 1, 2]}])
    );
    let tombstones = kafka_records
        .iter()
        .filter(|(k, p)| p.is_none() && k["data"]["group"] == "gone")
        .count();
    assert_eq!(
        tombstones, 4,
        "three offsets and the group: {kafka_records:?}"
    );
}
