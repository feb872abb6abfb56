//! zc's client against Apache Kafka where Kafka behaves differently from `zc serve`: a topic
//! created on first use in the background, and a consumer group whose offsets Kafka's group
//! coordinator keeps.

use super::common::zc;
use super::kafka::Kafka;

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
