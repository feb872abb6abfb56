//! Topic administration and limits against a real `zc serve`: `zc topics`, the admin
//! clients of kafka-python and confluent-kafka (CreateTopics, CreatePartitions,
//! DeleteTopics, DescribeConfigs), deleting a topic while a consumer is fetching it,
//! `--partitions` for auto-created topics, and `max.message.bytes`; Kafka's own Java
//! `kafka-topics` when Apache Kafka is installed (`kafka/kafka.sh install`).
//!
//! A missing client skips its test with a `SKIPPED:` line, except under `CI=true`, where it
//! fails (`.ci/run` installs them).

#[path = "common/broker.rs"]
mod broker;
mod common;
#[path = "common/kafka.rs"]
mod kafka;

use std::process::Stdio;
use std::thread;
use std::time::{Duration, Instant};

use broker::{Broker, RUN_LIMIT, Raw, batch, python, run_bounded, run_ok};
use zc::kafka::{
    ErrorCode, InitProducerIdRequest, InitProducerIdResponse, ProduceResponse, RequestBody,
};

fn zc_topics(broker: &Broker, args: &[&str]) -> std::process::Output {
    let addr = broker.addr();
    let mut all = vec!["topics", args[0], "-b", &addr];
    all.extend(&args[1..]);
    run_bounded(common::zc_command(&all), b"", RUN_LIMIT)
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The log directory's entries, but the broker's `.lock`.
fn partition_dirs(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    names
}

#[test]
fn zc_topics_creates_grows_describes_and_deletes_with_kafkas_errors() {
    let dir = tempfile::tempdir().unwrap();
    let mut broker = Broker::start(dir.path(), &["--partitions", "3"]);

    let out = zc_topics(&broker, &["create", "orders", "--partitions", "4"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "Created topic orders.\n");

    let again = zc_topics(&broker, &["create", "orders"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        stderr(&again).contains("TOPIC_ALREADY_EXISTS (36)"),
        "{}",
        stderr(&again)
    );

    let rf = zc_topics(
        &broker,
        &["create", "replicated", "--replication-factor", "3"],
    );
    assert_eq!(rf.status.code(), Some(1));
    assert!(
        stderr(&rf).contains("INVALID_REPLICATION_FACTOR (38)")
            && stderr(&rf).contains("single broker"),
        "{}",
        stderr(&rf)
    );

    let check = zc_topics(&broker, &["create", "checked", "--validate-only"]);
    assert!(check.status.success(), "{}", stderr(&check));
    assert!(
        !partition_dirs(dir.path())
            .iter()
            .any(|d| d.starts_with("checked"))
    );

    // Auto-created topics get --partitions.
    let produce = common::zc_command(&["produce", "-q", "-b", &broker.addr(), "-t", "auto"]);
    run_ok(produce, b"a\nb\n");

    let out = zc_topics(&broker, &["alter", "orders", "--partitions", "6"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let shrink = zc_topics(&broker, &["alter", "orders", "--partitions", "2"]);
    assert_eq!(shrink.status.code(), Some(1));
    assert!(
        stderr(&shrink).contains("INVALID_PARTITIONS (37)"),
        "{}",
        stderr(&shrink)
    );

    let out = zc_topics(&broker, &["describe", "orders", "auto"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("Topic: orders\tPartitionCount: 6\tReplicationFactor: 1"),
        "{text}"
    );
    assert!(text.contains("Topic: auto\tPartitionCount: 3"), "{text}");
    assert!(
        text.contains("Partition: 0\tLeader: 1\tReplicas: 1\tIsr: 1\tOffsets: 0..2 (2 records)"),
        "{text}"
    );
    assert!(text.contains("max.message.bytes=1048588"), "{text}");
    assert!(text.contains("segment.bytes=67108864"), "{text}");
    assert_eq!(
        partition_dirs(dir.path())
            .iter()
            .filter(|d| d.starts_with("orders-"))
            .count(),
        6
    );

    let out = zc_topics(&broker, &["delete", "orders"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&zc_topics(&broker, &["list"])), "auto\n");
    assert!(
        !partition_dirs(dir.path())
            .iter()
            .any(|d| d.starts_with("orders") || d.starts_with('~')),
        "{:?}",
        partition_dirs(dir.path())
    );
    let gone = zc_topics(&broker, &["delete", "orders"]);
    assert!(
        stderr(&gone).contains("UNKNOWN_TOPIC_OR_PARTITION (3)"),
        "{}",
        stderr(&gone)
    );

    // The topic can be created again, empty.
    assert!(
        zc_topics(&broker, &["create", "orders", "--partitions", "1"])
            .status
            .success()
    );
    let (status, log) = broker.stop();
    assert!(status.success(), "{log}");
    assert!(log.contains("DeleteTopics: deleted orders"), "{log}");
}

/// kafka-python's and confluent-kafka's admin clients: argv = client, broker.
const PY_ADMIN: &str = r#"
import sys
client, bs = sys.argv[1], sys.argv[2]
try:
    if client == "kp":
        from kafka.admin import (KafkaAdminClient, NewTopic, NewPartitions, ConfigResource,
                                 ConfigResourceType)
        from kafka.errors import (TopicAlreadyExistsError, InvalidReplicationFactorError,
                                  InvalidPartitionsError)
    else:
        from confluent_kafka.admin import AdminClient, NewTopic, NewPartitions, ConfigResource
        from confluent_kafka import KafkaException
except ImportError as e:
    print(f"{client} is not installed: {e}", file=sys.stderr); sys.exit(3)

def refused(call, name):
    try:
        call()
    except Exception as e:
        return name in repr(e) or name in str(e)
    return False

t = f"{client}-admin"
if client == "kp":
    a = KafkaAdminClient(bootstrap_servers=bs)
    a.create_topics([NewTopic(t, 4, 1)])
    print("exists", refused(lambda: a.create_topics([NewTopic(t, 4, 1)]), "TopicAlreadyExists"))
    print("rf", refused(lambda: a.create_topics([NewTopic(t + "-rf", 1, 3)]), "single broker"))
    a.create_partitions({t: NewPartitions(6)})
    print("shrink", refused(lambda: a.create_partitions({t: NewPartitions(2)}), "InvalidPartitions"))
    print("partitions", len(a.describe_topics([t])[0]["partitions"]))
    configs = a.describe_configs([ConfigResource(ConfigResourceType.TOPIC, t)], config_filter="all")
    print("max.message.bytes", configs["topic"][t]["max.message.bytes"]["value"])
    a.delete_topics([t])
    print("listed", t in a.list_topics())
else:
    a = AdminClient({"bootstrap.servers": bs})
    def wait(fs):
        for f in fs.values():
            f.result()
    wait(a.create_topics([NewTopic(t, 4, 1)]))
    print("exists", refused(lambda: wait(a.create_topics([NewTopic(t, 4, 1)])), "TOPIC_ALREADY_EXISTS"))
    print("rf", refused(lambda: wait(a.create_topics([NewTopic(t + "-rf", 1, 3)])), "single broker"))
    wait(a.create_partitions([NewPartitions(t, 6)]))
    print("shrink", refused(lambda: wait(a.create_partitions([NewPartitions(t, 2)])), "INVALID_PARTITIONS"))
    print("partitions", len(a.list_topics(t).topics[t].partitions))
    res = a.describe_configs([ConfigResource("topic", t)])
    configs = list(res.values())[0].result()
    print("max.message.bytes", configs["max.message.bytes"].value)
    wait(a.delete_topics([t]))
    print("listed", t in a.list_topics().topics)
"#;

#[test]
fn kafka_python_and_confluent_admin_clients_manage_topics() {
    let dir = tempfile::tempdir().unwrap();
    let mut broker = Broker::start(dir.path(), &[]);
    for (client, package) in [("kp", "kafka-python"), ("cfk", "confluent-kafka")] {
        let Some(out) = python(package, PY_ADMIN, &[client, &broker.addr()]) else {
            continue;
        };
        assert_eq!(
            out,
            "exists True\nrf True\nshrink True\npartitions 6\nmax.message.bytes 1048588\nlisted False\n",
            "{package}"
        );
    }
    assert!(broker.stop().0.success());
}

#[test]
fn deleting_a_topic_while_a_consumer_follows_it_keeps_the_broker_serving() {
    let dir = tempfile::tempdir().unwrap();
    let mut broker = Broker::start(dir.path(), &[]);
    let addr = broker.addr();
    let lines: String = (0..20_000).map(|i| format!("record-{i:08}\n")).collect();
    run_ok(
        common::zc_command(&["produce", "-q", "-b", &addr, "-t", "doomed"]),
        lines.as_bytes(),
    );
    // A follower that is mid-stream when the topic goes away.
    let mut follower =
        common::zc_command(&["consume", "-q", "-b", &addr, "-t", "doomed", "--follow"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
    thread::sleep(Duration::from_millis(300));
    let out = zc_topics(&broker, &["delete", "doomed"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // The follower gets an error (the topic is gone), not a hang.
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = follower.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the follower still runs 30 s after the delete"
        );
        thread::sleep(Duration::from_millis(20));
    };
    assert!(!status.success());
    assert!(
        partition_dirs(dir.path()).is_empty(),
        "{:?}",
        partition_dirs(dir.path())
    );
    // The broker still serves: a new topic of the same name works end to end.
    run_ok(
        common::zc_command(&["produce", "-q", "-b", &addr, "-t", "doomed"]),
        b"again\n",
    );
    let out = run_ok(
        common::zc_command(&["consume", "-q", "-b", &addr, "-t", "doomed"]),
        b"",
    );
    assert_eq!(stdout(&out), "again\n");
    let (status, log) = broker.stop();
    assert!(status.success(), "{log}");
}

#[test]
fn a_batch_over_max_message_bytes_is_refused_with_message_too_large() {
    let dir = tempfile::tempdir().unwrap();
    let mut broker = Broker::start(dir.path(), &["--max-message-bytes", "64KiB"]);
    let addr = broker.addr();
    let big = format!("{}\n", "x".repeat(100_000));
    let out = run_bounded(
        common::zc_command(&["produce", "-q", "-b", &addr, "-t", "big"]),
        big.as_bytes(),
        RUN_LIMIT,
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("MESSAGE_TOO_LARGE (10)"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("max.message.bytes"),
        "{}",
        stderr(&out)
    );
    // Compressed, the same record fits: the limit applies to the batch as sent.
    run_ok(
        common::zc_command(&[
            "produce",
            "-q",
            "-b",
            &addr,
            "-t",
            "big",
            "--compression",
            "zstd",
        ]),
        big.as_bytes(),
    );
    let out = run_ok(
        common::zc_command(&["consume", "-q", "-b", &addr, "-t", "big"]),
        b"",
    );
    assert_eq!(stdout(&out), big);
    assert!(broker.stop().0.success());
}

#[test]
fn consume_from_past_the_end_says_so_or_waits_with_follow() {
    let dir = tempfile::tempdir().unwrap();
    let mut broker = Broker::start(dir.path(), &[]);
    let addr = broker.addr();
    let lines: String = (0..100).map(|i| format!("{i}\n")).collect();
    run_ok(
        common::zc_command(&["produce", "-q", "-b", &addr, "-t", "hundred"]),
        lines.as_bytes(),
    );
    let past = run_bounded(
        common::zc_command(&[
            "consume", "-q", "-b", &addr, "-t", "hundred", "--from", "101",
        ]),
        b"",
        RUN_LIMIT,
    );
    assert_eq!(past.status.code(), Some(1), "{}", stderr(&past));
    assert!(
        stderr(&past).contains(
            "offset 101 is past the end of hundred-0: the next record will get offset 100"
        ),
        "{}",
        stderr(&past)
    );
    // At the end exactly: nothing to read, and that is not an error.
    let at_end = run_ok(
        common::zc_command(&[
            "consume", "-q", "-b", &addr, "-t", "hundred", "--from", "100",
        ]),
        b"",
    );
    assert_eq!(stdout(&at_end), "");
    // --follow waits for offset 101 to exist, then reads it.
    let follower = common::zc_command(&[
        "consume", "-b", &addr, "-t", "hundred", "--from", "101", "--follow", "--count", "1",
    ]);
    let waiting = thread::spawn(move || run_bounded(follower, b"", RUN_LIMIT));
    thread::sleep(Duration::from_millis(500));
    run_ok(
        common::zc_command(&["produce", "-q", "-b", &addr, "-t", "hundred"]),
        b"r100\nr101\n",
    );
    let out = waiting.join().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "r101\n");
    assert!(
        stderr(&out).contains("waiting until it reaches offset 101"),
        "{}",
        stderr(&out)
    );
    assert!(broker.stop().0.success());
}

/// `--max-partitions` caps CreateTopics and CreatePartitions as it caps auto-creation:
/// POLICY_VIOLATION with the numbers, nothing created, the topics within the cap intact.
#[test]
fn create_topics_and_create_partitions_respect_max_partitions() {
    let dir = tempfile::tempdir().unwrap();
    let mut broker = Broker::start(dir.path(), &["--max-partitions", "5"]);
    let out = zc_topics(&broker, &["create", "four", "--partitions", "4"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let before = partition_dirs(dir.path());

    let out = zc_topics(&broker, &["create", "two", "--partitions", "2"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("POLICY_VIOLATION"), "{err}");
    assert!(
        err.contains("2 more partition(s) would make 6 on this broker, over its limit of 5"),
        "{err}"
    );
    let out = zc_topics(
        &broker,
        &["create", "two", "--partitions", "2", "--validate-only"],
    );
    assert!(
        stderr(&out).contains("POLICY_VIOLATION"),
        "{}",
        stderr(&out)
    );
    let out = zc_topics(&broker, &["alter", "four", "--partitions", "6"]);
    assert!(
        stderr(&out).contains("POLICY_VIOLATION"),
        "{}",
        stderr(&out)
    );
    assert_eq!(partition_dirs(dir.path()), before, "nothing created");

    // Up to the cap is fine, and the server kept serving.
    let out = zc_topics(&broker, &["create", "one", "--partitions", "1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = zc_topics(&broker, &["list"]);
    assert_eq!(stdout(&out), "four\none\n");
    assert!(broker.stop().0.success());
}

/// A transactional producer: argv = client, broker. Prints what the client reported.
const PY_TRANSACTIONAL: &str = r#"
import sys
client, bs = sys.argv[1], sys.argv[2]
try:
    from kafka import KafkaProducer
except ImportError as e:
    print(f"kafka-python is not installed: {e}", file=sys.stderr); sys.exit(3)
try:
    p = KafkaProducer(bootstrap_servers=bs, transactional_id="tx1", max_block_ms=10000)
    p.init_transactions()
    print("initialised")
except Exception as e:
    print("refused", type(e).__name__)
"#;

#[test]
fn transactions_are_refused_and_the_log_says_transactions() {
    let dir = tempfile::tempdir().unwrap();
    let mut broker = Broker::start(dir.path(), &[]);
    let Some(out) = python("kafka-python", PY_TRANSACTIONAL, &["kp", &broker.addr()]) else {
        return;
    };
    assert!(out.starts_with("refused"), "{out}");
    let (status, log) = broker.stop();
    assert!(status.success());
    assert!(log.contains("transactions are not supported"), "{log}");

    // Straight to InitProducerId and Produce with a transactional id: refused too.
    let mut broker = Broker::start(dir.path(), &[]);
    let mut raw = Raw::connect(&broker.addr());
    let init: InitProducerIdResponse = raw.call(
        1,
        &RequestBody::InitProducerId(InitProducerIdRequest {
            transactional_id: Some("tx1".into()),
            transaction_timeout_ms: 60_000,
        }),
    );
    assert_eq!(
        init.error_code,
        ErrorCode::TransactionalIdAuthorizationFailed
    );
    let records = batch(&["v"]);
    let RequestBody::Produce(mut produce) = broker::produce("t", &records, 1) else {
        unreachable!()
    };
    produce.transactional_id = Some("tx1".into());
    let resp: ProduceResponse = raw.call(8, &RequestBody::Produce(produce));
    let p = &resp.responses[0].partition_responses[0];
    assert_eq!(p.error_code, ErrorCode::TransactionalIdAuthorizationFailed);
    assert!(
        p.error_message
            .as_deref()
            .unwrap_or("")
            .contains("does not support transactions")
    );
    let (_, log) = broker.stop();
    assert!(
        log.contains("InitProducerId with transactional.id \"tx1\""),
        "{log}"
    );
}

/// A librdkafka (confluent-kafka) transactional producer: argv = broker. Prints the error
/// init_transactions() raised: its code name, whether fatal, its text.
const PY_RDKAFKA_TRANSACTIONAL: &str = r#"
import sys
try:
    from confluent_kafka import Producer, KafkaException
except ImportError as e:
    print(f"confluent-kafka is not installed: {e}", file=sys.stderr); sys.exit(3)
p = Producer({"bootstrap.servers": sys.argv[1], "transactional.id": "tx1"})
try:
    p.init_transactions(60)
    print("initialised")
except KafkaException as e:
    err = e.args[0]
    print(err.name(), "fatal" if err.fatal() else "not-fatal", err.str())
"#;

/// librdkafka looks the transaction coordinator up first (FindCoordinator key type 1) and
/// retries every error but TRANSACTIONAL_ID_AUTHORIZATION_FAILED until init_transactions
/// times out; zc answers that code, so the producer fails at once, saying why.
#[test]
fn a_librdkafka_transactional_producer_fails_fast_saying_transactions() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(dir.path(), &[]);
    let Some(out) = python(
        "confluent-kafka",
        PY_RDKAFKA_TRANSACTIONAL,
        &[&broker.addr()],
    ) else {
        return;
    };
    // Not _TIMED_OUT after 60 s: the fatal error from the first answer.
    assert!(
        out.starts_with("TRANSACTIONAL_ID_AUTHORIZATION_FAILED fatal "),
        "{out}"
    );
    assert!(
        out.contains("Failed to find transaction coordinator"),
        "{out}"
    );
    assert!(out.contains("transactions are not supported"), "{out}");
}

/// Apache Kafka's `kafka-topics` (Java AdminClient) against `zc serve`.
#[test]
fn kafka_topics_from_apache_kafka_manages_zc_serve_topics() {
    if !kafka::installed() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut served = Broker::start(dir.path(), &[]);
    let addr = served.addr();
    let topics = |args: &[&str]| {
        let mut all = vec!["--bootstrap-server", addr.as_str()];
        all.extend(args);
        let out = kafka::run_tool("kafka-topics", &all, b"", Duration::from_secs(180));
        (out.status.success(), stdout(&out) + &stderr(&out))
    };
    let (ok, text) = topics(&["--create", "--topic", "made", "--partitions", "3"]);
    assert!(ok && text.contains("Created topic made."), "{text}");
    let (ok, text) = topics(&["--create", "--topic", "rf", "--replication-factor", "3"]);
    assert!(
        !ok && text.contains("InvalidReplicationFactorException") && text.contains("single broker"),
        "{text}"
    );
    let (ok, text) = topics(&["--alter", "--topic", "made", "--partitions", "5"]);
    assert!(ok, "{text}");
    let (ok, text) = topics(&["--describe", "--topic", "made"]);
    assert!(
        ok && text.contains("Topic: made\tPartitionCount: 5\tReplicationFactor: 1"),
        "{text}"
    );
    assert!(text.contains("segment.bytes=67108864"), "{text}");
    let (ok, text) = topics(&["--delete", "--topic", "made"]);
    assert!(ok, "{text}");
    let (ok, text) = topics(&["--list"]);
    assert!(ok && !text.contains("made"), "{text}");
    assert!(served.stop().0.success());
}

#[test]
fn kafkajs_admin_client_manages_topics() {
    let tests = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    if !tests.join("node_modules/kafkajs").exists()
        || std::process::Command::new("node")
            .arg("--version")
            .output()
            .is_err()
    {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI must install kafkajs (.ci/run)"
        );
        eprintln!("SKIPPED: kafkajs not installed (npm install --prefix tests, as .ci/run does)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut served = Broker::start(dir.path(), &[]);
    let mut cmd = std::process::Command::new("node");
    cmd.current_dir(&tests)
        .arg("thirdparty/kafkajs_admin.js")
        .arg(served.addr());
    let out = run_ok(cmd, b"");
    assert_eq!(
        stdout(&out),
        "created true\npartitions 6\nmax.message.bytes 1048588\nrf INVALID_REPLICATION_FACTOR\nlisted false\n"
    );
    assert!(served.stop().0.success());
}
