//! zc's client against Apache Kafka where Kafka behaves differently from `zc serve`: a topic
//! created on first use in the background, and a consumer group whose offsets Kafka's group
//! coordinator keeps.

use super::common::zc;
use super::kafka::Kafka;
use super::kafka_tool;

/// Kafka creates a topic on first use in the background: the first Metadata answers
/// UNKNOWN_TOPIC_OR_PARTITION while the controller creates it. `zc produce` asks again
/// (bounded by `--max-block`) and succeeds; with `--max-block 0` it fails at that first
/// answer; a consumer does not ask to create a topic, so it fails at once.
#[test]
fn zc_produce_waits_while_apache_kafka_creates_the_topic() {
    let Some(kafka) = Kafka::shared() else {
        return;
    };
    let addr = kafka.addr();
    let impatient = zc(&[
        "produce",
        "-q",
        "-b",
        &addr,
        "-t",
        "impatient",
        "--records",
        "10",
        "--max-block",
        "0",
    ])
    .code(1);
    assert!(
        impatient
            .stderr
            .contains("UNKNOWN_TOPIC_OR_PARTITION (3) for topic impatient"),
        "{}",
        impatient.stderr
    );
    let sent = zc(&["produce", "-b", &addr, "-t", "created", "--records", "100"]).success();
    assert!(sent.stderr.contains("offsets 0..=99"), "{}", sent.stderr);
    let log = kafka.log();
    assert!(
        log.contains("Sent auto-creation request for [created]"),
        "Kafka created the topic on first use:\n{log}"
    );
    let read = zc(&["consume", "-q", "-b", &addr, "-t", "created"]).success();
    assert_eq!(read.stdout.lines().count(), 100);

    let unknown = zc(&["consume", "-b", &addr, "-t", "never-created"]).code(1);
    assert!(
        unknown
            .stderr
            .contains("UNKNOWN_TOPIC_OR_PARTITION (3) for topic never-created"),
        "{}",
        unknown.stderr
    );
    assert!(
        !kafka
            .log()
            .contains("auto-creation request for [never-created]"),
        "a consumer does not ask Kafka to create a topic"
    );
}

/// `zc consume --group` against Apache Kafka's group coordinator: the first run reads both
/// partitions to their end and commits; after more records arrive, the next run (a new
/// member of the same group) starts at the commits and reads only the new records; a third
/// reads nothing. Nothing is read twice or skipped, and Kafka's own `kafka-consumer-groups
/// --describe` shows the offsets zc committed, with no lag.
#[test]
fn zc_consume_group_resumes_from_its_commits_on_apache_kafka() {
    let Some(kafka) = Kafka::shared() else {
        return;
    };
    let addr = kafka.addr();
    zc(&[
        "topics",
        "create",
        "-b",
        &addr,
        "resume",
        "--partitions",
        "2",
    ])
    .success();
    let produce = |partition: &str, records: &str| {
        zc(&[
            "produce",
            "-q",
            "-b",
            &addr,
            "-t",
            "resume",
            "-p",
            partition,
            "--records",
            records,
        ])
        .success();
    };
    let group_read = || -> Vec<String> {
        let run = zc(&[
            "consume", "-q", "-b", &addr, "-t", "resume", "--group", "resumers",
        ]);
        run.success().stdout.lines().map(str::to_owned).collect()
    };
    produce("0", "1000");
    produce("1", "700");
    let first = group_read();
    assert_eq!(first.len(), 1700);
    produce("0", "300");
    produce("1", "100");
    let second = group_read();
    assert_eq!(second.len(), 400, "the second run starts at the commits");
    assert!(group_read().is_empty(), "nothing left after the second run");

    // Every record of both partitions, read without a group, is what the two runs read.
    let mut everything: Vec<String> = ["0", "1"]
        .iter()
        .flat_map(|p| {
            let run = zc(&["consume", "-q", "-b", &addr, "-t", "resume", "-p", p]).success();
            run.stdout.lines().map(str::to_owned).collect::<Vec<_>>()
        })
        .collect();
    let mut read: Vec<String> = first.into_iter().chain(second).collect();
    everything.sort();
    read.sort();
    assert_eq!(read.len(), everything.len());
    assert!(read == everything, "the group runs read other records");

    let (described, _) = kafka_tool(
        "kafka-consumer-groups",
        &[
            "--bootstrap-server",
            &addr,
            "--describe",
            "--group",
            "resumers",
        ],
        b"",
    );
    // GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG ...
    let rows: Vec<Vec<&str>> = described
        .lines()
        .filter(|l| l.starts_with("resumers "))
        .map(|l| l.split_whitespace().take(6).collect())
        .collect();
    assert_eq!(
        rows,
        [
            ["resumers", "resume", "0", "1300", "1300", "0"],
            ["resumers", "resume", "1", "800", "800", "0"],
        ],
        "{described}"
    );
}
