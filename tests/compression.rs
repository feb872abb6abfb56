//! Compression end to end: every codec (gzip, snappy, lz4, zstd) produced by every client
//! (kcat's librdkafka, confluent-kafka's bundled librdkafka, kafka-python, kafkajs,
//! `zc produce`) is stored compressed by `zc serve` (the attributes of every batch on disk
//! say so) and read back value for value by `zc consume`, kcat, kafka-python and kafkajs.
//! kafkajs has no zstd codec that installs on current Node, so it neither writes nor reads
//! zstd here.
//!
//! A missing client skips its part with a `SKIPPED:` line, except under `CI=true`, where it
//! fails (`.ci/run` installs them).

mod common;
#[path = "common/broker.rs"]
mod harness;

use std::path::{Path, PathBuf};
use std::process::Command;

use harness::{Broker, Raw, batch, kcat, python, run_ok};
use zc::kafka::{ApiKey, ApiVersionsResponse, ErrorCode, ProduceResponse, RequestBody};
use zc::log::batch::BatchHeader;
use zc::log::compression::Codec;

const CODECS: [Codec; 4] = [Codec::Gzip, Codec::Snappy, Codec::Lz4, Codec::Zstd];
const RECORDS: usize = 200;
/// Kafka's API key of FindCoordinator.
const FIND_COORDINATOR: i16 = 10;

/// Compressible values, so that no client decides a batch is better sent uncompressed
/// (librdkafka and kafka-python both fall back when compression does not pay).
fn values(producer: &str) -> Vec<String> {
    (0..RECORDS)
        .map(|i| format!("{producer}-{i}-{}", "abcdefgh".repeat(20)))
        .collect()
}

/// Produces with confluent-kafka (`cfk`) or kafka-python (`kp`): argv = broker, topic,
/// codec, then the values.
const PY_PRODUCE: &str = r#"
import sys
client, bs, topic, codec, values = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
try:
    if client == "cfk":
        from confluent_kafka import Producer
    else:
        from kafka import KafkaProducer
        import snappy, lz4.frame, zstandard
except ImportError as e:
    print(f"{client} or a codec library is not installed: {e}", file=sys.stderr); sys.exit(3)
if client == "cfk":
    p = Producer({"bootstrap.servers": bs, "compression.type": codec, "linger.ms": 50})
    for v in values:
        p.produce(topic, v.encode(), partition=0)
    assert p.flush(20) == 0
else:
    p = KafkaProducer(bootstrap_servers=bs, compression_type=codec, linger_ms=50)
    for v in values:
        p.send(topic, v.encode(), partition=0)
    p.flush(timeout=20)
    p.close(timeout=5)
"#;

/// Reads each topic given from the beginning with kafka-python, prints `topic value` lines.
const KP_CONSUME: &str = r#"
import sys
try:
    from kafka import KafkaConsumer, TopicPartition
    import snappy, lz4.frame, zstandard
except ImportError as e:
    print(f"kafka-python or a codec library is not installed: {e}", file=sys.stderr); sys.exit(3)
bs, count, topics = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
for topic in topics:
    c = KafkaConsumer(bootstrap_servers=bs, enable_auto_commit=False, consumer_timeout_ms=5000)
    tp = TopicPartition(topic, 0)
    c.assign([tp]); c.seek_to_beginning(tp)
    n = 0
    for m in c:
        print(topic, m.value.decode()); n += 1
        if n == count: break
    c.close()
"#;

/// `node tests/thirdparty/kafkajs_compression.js ARGS`, or `None` (after saying so)
/// outside CI when node or kafkajs is missing.
fn kafkajs(args: &[&str]) -> Option<Command> {
    let tests = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests");
    let installed = tests.join("node_modules/kafkajs-lz4").exists()
        && Command::new("node").arg("--version").output().is_ok();
    if !installed {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI must install kafkajs (.ci/run)"
        );
        eprintln!(
            "SKIPPED: kafkajs and its codecs not installed (npm install --prefix tests, as .ci/run does)"
        );
        return None;
    }
    let mut cmd = Command::new("node");
    cmd.current_dir(&tests)
        .arg("thirdparty/kafkajs_compression.js")
        .args(args);
    Some(cmd)
}

/// The codec of every batch in the partition's segment files.
fn codecs_on_disk(dir: &Path, topic: &str) -> Vec<Codec> {
    let part = dir.join(format!("{topic}-0"));
    let mut found = Vec::new();
    let mut logs: Vec<_> = std::fs::read_dir(&part)
        .unwrap_or_else(|e| panic!("{}: {e}", part.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    logs.sort();
    for log in logs {
        let bytes = std::fs::read(&log).unwrap();
        let mut at = 0;
        while at < bytes.len() {
            let header = BatchHeader::parse(&bytes[at..]).unwrap();
            found.push(Codec::from_attributes(header.attributes).unwrap());
            at += header.size();
        }
    }
    found
}

#[test]
fn every_codec_from_every_client_is_stored_compressed_and_read_back_by_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let mut broker = Broker::start(dir.path(), &[]);
    let bs = broker.addr();
    let mut topics: Vec<(String, Vec<String>)> = Vec::new();
    for codec in CODECS {
        // zc produce
        let topic = format!("zc-{codec}");
        let vals = values(&topic);
        let cmd = common::zc_command(&[
            "produce",
            "-q",
            "-b",
            &bs,
            "-t",
            &topic,
            "--compression",
            codec.name(),
        ]);
        run_ok(cmd, (vals.join("\n") + "\n").as_bytes());
        topics.push((topic, vals));
        // kcat (the system librdkafka)
        if let Some(mut cmd) = kcat() {
            let topic = format!("kcat-{codec}");
            let vals = values(&topic);
            cmd.args(["-b", &bs, "-P", "-t", &topic, "-p", "0", "-z", codec.name()]);
            cmd.args(["-X", "linger.ms=50"]);
            run_ok(cmd, (vals.join("\n") + "\n").as_bytes());
            topics.push((topic, vals));
        }
        // kafkajs, for the codecs it has
        if codec != Codec::Zstd
            && let Some(cmd) = kafkajs(&["produce", &bs, &format!("js-{codec}"), codec.name()])
        {
            let topic = format!("js-{codec}");
            let vals = values(&topic);
            run_ok(cmd, (vals.join("\n") + "\n").as_bytes());
            topics.push((topic, vals));
        }
        // confluent-kafka (bundled librdkafka) and kafka-python
        for (client, package) in [("cfk", "confluent-kafka"), ("kp", "kafka-python")] {
            let topic = format!("{client}-{codec}");
            let vals = values(&topic);
            let mut args = vec![client, bs.as_str(), topic.as_str(), codec.name()];
            args.extend(vals.iter().map(String::as_str));
            if python(package, PY_PRODUCE, &args).is_some() {
                topics.push((topic, vals));
            }
        }
    }

    // librdkafka's LZ4 feature is keyed on FindCoordinator (LZ4 came with Kafka 0.8.2, the
    // release that added it): without it, librdkafka sends lz4 batches uncompressed.
    let librdkafka_lz4 = ApiKey::from_code(FIND_COORDINATOR).is_some();
    for (topic, vals) in &topics {
        let codec: Codec = topic.rsplit('-').next().unwrap().parse().unwrap();
        let librdkafka = topic.starts_with("kcat-") || topic.starts_with("cfk-");
        let expected = if codec == Codec::Lz4 && librdkafka && !librdkafka_lz4 {
            Codec::None
        } else {
            codec
        };
        let stored = codecs_on_disk(dir.path(), topic);
        assert!(!stored.is_empty(), "{topic}: no batch on disk");
        assert!(
            stored.iter().all(|c| *c == expected),
            "{topic}: batches stored with codecs {stored:?}, expected all {expected}"
        );

        let out = run_ok(
            common::zc_command(&["consume", "-q", "-b", &bs, "-t", topic]),
            b"",
        );
        let got: Vec<&str> = std::str::from_utf8(&out.stdout).unwrap().lines().collect();
        assert_eq!(&got, vals, "zc consume of {topic}");

        if let Some(mut cmd) = kcat() {
            cmd.args([
                "-b",
                &bs,
                "-C",
                "-t",
                topic,
                "-p",
                "0",
                "-o",
                "beginning",
                "-e",
                "-q",
            ]);
            let out = run_ok(cmd, b"");
            let got: Vec<&str> = std::str::from_utf8(&out.stdout).unwrap().lines().collect();
            assert_eq!(&got, vals, "kcat reading {topic}");
        }
    }

    let mut args = vec![bs.clone(), RECORDS.to_string()];
    args.extend(topics.iter().map(|(t, _)| t.clone()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    if let Some(out) = python("kafka-python", KP_CONSUME, &args) {
        for (topic, vals) in &topics {
            let got: Vec<&str> = out
                .lines()
                .filter_map(|l| l.strip_prefix(&format!("{topic} ")))
                .collect();
            assert_eq!(&got, vals, "kafka-python reading {topic}");
        }
    }
    // kafkajs reads every topic it has the codec for.
    let readable: Vec<&(String, Vec<String>)> = topics
        .iter()
        .filter(|(t, _)| !t.ends_with("-zstd"))
        .collect();
    let mut args = vec!["consume".to_owned(), bs.clone(), RECORDS.to_string()];
    args.extend(readable.iter().map(|(t, _)| t.clone()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    if let Some(cmd) = kafkajs(&args) {
        let out = run_ok(cmd, b"");
        let out = String::from_utf8(out.stdout).unwrap();
        for (topic, vals) in readable {
            let got: Vec<&str> = out
                .lines()
                .filter_map(|l| l.strip_prefix(&format!("{topic} ")))
                .collect();
            assert_eq!(&got, vals, "kafkajs reading {topic}");
        }
    }
    assert!(broker.stop().0.success());
}

#[test]
fn produce_v0_to_v2_is_advertised_for_librdkafka_and_answered_unsupported_version() {
    let dir = tempfile::tempdir().unwrap();
    let mut broker = Broker::start(dir.path(), &[]);
    let mut raw = Raw::connect(&broker.addr());
    let versions: ApiVersionsResponse = raw.call(0, &RequestBody::ApiVersions(Default::default()));
    let produce = versions.api_keys.iter().find(|k| k.api_key == 0).unwrap();
    assert_eq!((produce.min_version, produce.max_version), (0, 8));
    let records = batch(&["old"]);
    for v in 0..3 {
        let resp: ProduceResponse = raw.call(v, &harness::produce("old", &records, 1));
        let p = &resp.responses[0].partition_responses[0];
        assert_eq!(p.error_code, ErrorCode::UnsupportedVersion, "v{v}");
    }
    // The connection is still usable, and nothing was created.
    assert_eq!(raw.latest("old").0, ErrorCode::UnknownTopicOrPartition);
    assert!(broker.stop().0.success());
}
