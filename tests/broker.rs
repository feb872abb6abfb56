//! Black-box tests of `zc serve`: the real binary on 127.0.0.1, real Kafka clients (kcat,
//! kafka-python, confluent-kafka) and raw protocol bytes. Each server runs on its own port
//! in its own temp log directory and is stopped (SIGINT or SIGKILL) by the test; every
//! client process and socket has a deadline.
//!
//! A missing kcat or Python package skips its test with a `SKIPPED:` line, except under
//! `CI=true`, where it fails (`.ci/run` installs them).

mod common;
#[path = "common/broker.rs"]
mod harness;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use harness::{Broker, Raw, batch, closed_by_server, kcat, python, read_frame, run_ok, tree};
use zc::kafka::{
    ApiVersionsRequest, ApiVersionsResponse, ErrorCode, FetchTopic, FetchedResponse,
    MetadataResponse, ProduceResponse, RequestBody, decode_response, encode_request,
};

const MODES: [&str; 4] = ["sendfile", "splice", "mmap", "read-write"];

fn lines(n: usize) -> String {
    (0..n)
        .map(|i| format!("record number {i} {}\n", "x".repeat(i % 300)))
        .collect()
}

fn api_versions() -> RequestBody<'static> {
    RequestBody::ApiVersions(ApiVersionsRequest {
        client_software_name: "test".into(),
        client_software_version: "1".into(),
        tagged_fields: Vec::new(),
    })
}

/// True if the connection still answers an ApiVersions request.
fn answers(raw: &mut Raw) -> bool {
    let Some(id) = raw.try_send(2, &api_versions()) else {
        return false;
    };
    match raw.receive() {
        Some(frame) => {
            let (got, r) = decode_response::<ApiVersionsResponse>(&frame, 2).unwrap();
            got == id && r.error_code == ErrorCode::None
        }
        None => false,
    }
}

fn verify_log_dir(dir: &std::path::Path) {
    common::zc(&["fixture", "verify", dir.to_str().unwrap()]).success();
}

// ---------------------------------------------------------------------------------------
// Real clients: the proof that it is Kafka.
// ---------------------------------------------------------------------------------------

#[test]
fn kcat_produces_and_consumes_in_every_transfer_mode() {
    let Some(_) = kcat() else { return };
    for mode in MODES {
        let dir = tempfile::tempdir().unwrap();
        let mut broker = Broker::start(dir.path(), &["--transfer", mode, "--segment-bytes", "64K"]);
        let input = lines(2000);
        let mut produce = kcat().unwrap();
        produce.args(["-b", &broker.addr(), "-P", "-t", "words", "-z", "none"]);
        run_ok(produce, input.as_bytes());

        let mut consume = kcat().unwrap();
        consume.args([
            "-b",
            &broker.addr(),
            "-C",
            "-t",
            "words",
            "-o",
            "beginning",
            "-e",
            "-q",
        ]);
        let out = run_ok(consume, b"");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            input,
            "{mode}: consumed != produced"
        );
        let (status, log) = broker.stop();
        assert!(status.success(), "{mode}: {log}");
        assert!(log.contains("closed cleanly"), "{log}");
        // The log on disk is Kafka's format and intact.
        verify_log_dir(dir.path());
    }
}

#[test]
fn kcat_metadata_lists_the_broker_and_the_topics() {
    let Some(mut list) = kcat() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut broker = Broker::start(dir.path(), &[]);
    let mut raw = Raw::connect(&broker.addr());
    for topic in ["listed", "also.listed"] {
        let p = raw.produce(topic, &batch(&["v"]));
        assert_eq!(p.error_code, ErrorCode::None);
    }
    list.args(["-b", &broker.addr(), "-L"]);
    let out = String::from_utf8(run_ok(list, b"").stdout).unwrap();
    for expected in [
        format!("broker 1 at 127.0.0.1:{} (controller)", broker.port),
        "2 topics:".into(),
        "topic \"listed\" with 1 partitions:".into(),
        "topic \"also.listed\" with 1 partitions:".into(),
        "partition 0, leader 1, replicas: 1, isrs: 1".into(),
    ] {
        assert!(out.contains(&expected), "no {expected:?} in:\n{out}");
    }
    assert!(broker.stop().0.success());
}

#[test]
fn kafka_python_consumes_the_default_demo_topic_from_a_copy_of_the_demo_log() {
    let dir = tempfile::tempdir().unwrap();
    common::copy_dir(&common::demo_fixture(), dir.path());
    let mut broker = Broker::start(dir.path(), &[]);
    let script = r#"
import sys
try:
    from kafka import KafkaConsumer, TopicPartition
except ImportError as e:
    print(f"kafka-python is not installed: {e}", file=sys.stderr); sys.exit(3)
c = KafkaConsumer(bootstrap_servers=sys.argv[1], enable_auto_commit=False,
                  consumer_timeout_ms=5000)
tp = TopicPartition("demo", 0)
c.assign([tp]); c.seek_to_beginning(tp)
n = 0; last = -1
for m in c:
    assert m.offset == last + 1, (m.offset, last)
    last = m.offset; n += 1
    if n == 19060: break
print(n, last)
"#;
    let Some(out) = python("kafka-python", script, &[&broker.addr()]) else {
        return;
    };
    assert_eq!(out.trim(), "19060 19059");
    assert!(broker.stop().0.success());
}

/// Produces with acks=1 to each broker given, then consumes with assign() from earliest;
/// asserts the offsets and values. Values: binary, empty, and up to 2 KiB, so fetches end
/// in partial batches.
const KAFKA_PYTHON_ROUND_TRIP: &str = r#"
import sys
try:
    from kafka import KafkaProducer, KafkaConsumer, TopicPartition
except ImportError as e:
    print(f"kafka-python is not installed: {e}", file=sys.stderr); sys.exit(3)
import kafka
topic = sys.argv[1]
values = [b"kp-%d-" % i + bytes(range(256)) * (i % 9) for i in range(2000)] + [b""]
for bs in sys.argv[2:]:
    p = KafkaProducer(bootstrap_servers=bs, acks=1, request_timeout_ms=10000, max_block_ms=10000)
    futures = [p.send(topic, v, partition=0) for v in values]
    p.flush(timeout=20)
    offsets = [f.get(timeout=10).offset for f in futures]
    assert offsets == list(range(len(values))), offsets[:10]
    p.close(timeout=5)
    c = KafkaConsumer(bootstrap_servers=bs, group_id=None, enable_auto_commit=False,
                      consumer_timeout_ms=5000)
    tp = TopicPartition(topic, 0)
    c.assign([tp]); c.seek_to_beginning(tp)
    got = []
    for m in c:
        got.append((m.offset, m.value))
        if len(got) == len(values): break
    c.close()
    assert [o for o, _ in got] == list(range(len(values))), (bs, len(got))
    assert [v for _, v in got] == values, bs
    print(bs, len(got), "kafka-python", kafka.__version__)
"#;

#[test]
fn kafka_python_produces_with_acks_1_and_consumes_from_earliest_in_every_transfer_mode() {
    let dirs: Vec<_> = MODES.iter().map(|_| tempfile::tempdir().unwrap()).collect();
    let mut brokers: Vec<Broker> = MODES
        .iter()
        .zip(&dirs)
        .map(|(mode, dir)| Broker::start(dir.path(), &["--transfer", mode]))
        .collect();
    let mut args = vec!["kp".to_owned()];
    args.extend(brokers.iter().map(Broker::addr));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let Some(out) = python("kafka-python", KAFKA_PYTHON_ROUND_TRIP, &args) else {
        return;
    };
    eprint!("{out}");
    for (broker, mode) in brokers.iter().zip(MODES) {
        assert!(
            out.contains(&format!("{} 2001 ", broker.addr())),
            "{mode}: {out}"
        );
    }
    for (broker, dir) in brokers.iter_mut().zip(&dirs) {
        let (status, log) = broker.stop();
        assert!(status.success(), "{log}");
        verify_log_dir(dir.path());
    }
}

/// confluent-kafka (librdkafka): produce with acks=1 and delivery reports, then consume
/// with assign() from OFFSET_BEGINNING to the partition EOF. A Consumer needs a group.id;
/// auto-commit stays off because there is no group coordinator (close() would hang,
/// docs/kafka-protocol.md §13).
const CONFLUENT_KAFKA_ROUND_TRIP: &str = r#"
import sys, time
try:
    import confluent_kafka
    from confluent_kafka import Producer, Consumer, TopicPartition, OFFSET_BEGINNING, KafkaError
except ImportError as e:
    print(f"confluent-kafka is not installed: {e}", file=sys.stderr); sys.exit(3)
bs, topic = sys.argv[1], sys.argv[2]
values = [b"ck-%d-" % i + bytes(range(256)) * (i % 9) for i in range(3000)] + [b""]
p = Producer({"bootstrap.servers": bs, "acks": 1, "message.timeout.ms": 20000})
acked = []
def report(err, msg):
    if err is not None:
        raise SystemExit(f"delivery failed: {err}")
    acked.append(msg.offset())
for v in values:
    while True:
        try:
            p.produce(topic, v, partition=0, on_delivery=report); break
        except BufferError:
            p.poll(0.05)
    p.poll(0)
assert p.flush(20) == 0, "unacknowledged messages left"
assert acked == list(range(len(values))), acked[:10]
c = Consumer({"bootstrap.servers": bs, "group.id": "zc-test", "enable.auto.commit": False,
              "enable.partition.eof": True})
c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
got = []
deadline = time.time() + 30
while time.time() < deadline:
    m = c.poll(1.0)
    if m is None:
        continue
    if m.error():
        if m.error().code() == KafkaError._PARTITION_EOF:
            break
        raise SystemExit(f"consume error: {m.error()}")
    got.append((m.offset(), m.value() or b""))
c.close()
assert [o for o, _ in got] == list(range(len(values))), len(got)
assert [v for _, v in got] == values
print(len(acked), len(got), "confluent-kafka", confluent_kafka.version()[0],
      "librdkafka", confluent_kafka.libversion()[0])
"#;

#[test]
fn confluent_kafka_produces_with_acks_1_and_consumes_with_assign_from_the_beginning() {
    let dir = tempfile::tempdir().unwrap();
    let mut broker = Broker::start(dir.path(), &["--segment-bytes", "256K"]);
    let Some(out) = python(
        "confluent-kafka",
        CONFLUENT_KAFKA_ROUND_TRIP,
        &[&broker.addr(), "ck"],
    ) else {
        return;
    };
    eprint!("{out}");
    assert!(out.starts_with("3001 3001 "), "{out}");
    let (status, log) = broker.stop();
    assert!(status.success(), "{log}");
    verify_log_dir(dir.path());
}

// ---------------------------------------------------------------------------------------
// Bad input: each has a test.
// ---------------------------------------------------------------------------------------

#[test]
fn raw_protocol_errors_are_answered_or_closed_and_others_keep_being_served() {
    let dir = tempfile::tempdir().unwrap();
    let mut broker = Broker::start(dir.path(), &["--max-request-bytes", "1K"]);
    let api_versions = |v| encode_request(7, Some("test"), v, &api_versions());
    let roundtrip = |s: &mut TcpStream, frame: &[u8]| {
        s.write_all(frame).unwrap();
        read_frame(s)
    };
    let mut healthy = Raw::connect(&broker.addr());
    assert!(answers(&mut healthy));

    // ApiVersions v4 (unsupported): the v0-shaped error 35 reply, and the connection lives.
    let mut s = Raw::connect(&broker.addr()).stream;
    let mut v4 = api_versions(3);
    v4[7] = 4; // api_version field of the header (after size and api_key)
    let reply = roundtrip(&mut s, &v4).expect("a reply to an unsupported ApiVersions");
    assert_eq!(
        &reply[..6],
        &[0, 0, 0, 7, 0, 35],
        "correlation id 7, error 35"
    );
    assert!(
        roundtrip(&mut s, &api_versions(0)).is_some(),
        "still open after the error"
    );

    // An unknown API key: closed without a reply.
    let mut s = Raw::connect(&broker.addr()).stream;
    let mut unknown = api_versions(0);
    unknown[4..6].copy_from_slice(&999i16.to_be_bytes());
    assert!(roundtrip(&mut s, &unknown).is_none());

    // A frame over --max-request-bytes: closed without reading it.
    let mut s = Raw::connect(&broker.addr()).stream;
    let mut huge = (1_000_000i32).to_be_bytes().to_vec();
    huge.extend([0u8; 16]);
    assert!(roundtrip(&mut s, &huge).is_none());

    // Garbage of a plausible size: closed.
    let mut s = Raw::connect(&broker.addr()).stream;
    assert!(roundtrip(&mut s, &[0, 0, 0, 3, 1, 2, 3]).is_none());

    // The first client never noticed.
    assert!(answers(&mut healthy));
    let (status, log) = broker.stop();
    assert!(status.success());
    assert!(log.contains("--max-request-bytes"), "{log}");
}

#[test]
fn a_truncated_frame_then_close_is_logged_and_others_are_unaffected() {
    let dir = tempfile::tempdir().unwrap();
    let mut broker = Broker::start(dir.path(), &[]);
    let mut healthy = Raw::connect(&broker.addr());
    assert!(answers(&mut healthy));

    // A frame announcing 100 bytes, 10 of them sent, then the client goes away.
    let mut s = Raw::connect(&broker.addr()).stream;
    let mut partial = 100i32.to_be_bytes().to_vec();
    partial.extend(&encode_request(1, Some("x"), 2, &api_versions())[4..14]);
    s.write_all(&partial).unwrap();
    drop(s);
    assert!(
        broker.wait_for_log("closed in the middle of a request", Duration::from_secs(10)),
        "{}",
        broker.log()
    );

    assert!(answers(&mut healthy));
    assert!(answers(&mut Raw::connect(&broker.addr())));
    assert!(broker.stop().0.success());
}

/// Regression: a negative size was logged as "exceeds --max-request-bytes", which sent the
/// reader looking at the wrong limit.
#[test]
fn a_negative_length_prefix_is_closed_and_logged_as_negative() {
    let dir = tempfile::tempdir().unwrap();
    let mut broker = Broker::start(dir.path(), &[]);
    let mut healthy = Raw::connect(&broker.addr());
    for size in [-1i32, i32::MIN] {
        let mut s = Raw::connect(&broker.addr()).stream;
        let mut frame = size.to_be_bytes().to_vec();
        frame.extend([0u8; 16]);
        s.write_all(&frame).unwrap();
        assert!(closed_by_server(&mut s), "size {size}: not closed");
        assert!(
            broker.wait_for_log(
                &format!("negative request size {size}"),
                Duration::from_secs(10)
            ),
            "{}",
            broker.log()
        );
    }
    assert!(answers(&mut healthy));
    let (status, log) = broker.stop();
    assert!(status.success());
    assert!(!log.contains("exceeds --max-request-bytes"), "{log}");
}

#[test]
fn fetch_at_an_offset_out_of_range_is_offset_out_of_range() {
    let dir = tempfile::tempdir().unwrap();
    let mut broker = Broker::start(dir.path(), &[]);
    let mut raw = Raw::connect(&broker.addr());
    let values: Vec<String> = (0..10).map(|i| format!("v{i}")).collect();
    assert_eq!(raw.produce("t", &batch(&values)).base_offset, 0);

    for offset in [11, 1000, i64::MAX, -1, i64::MIN] {
        let (error, hw, records) = raw.fetch("t", offset);
        assert_eq!(error, ErrorCode::OffsetOutOfRange, "offset {offset}");
        assert_eq!(
            hw, 10,
            "offset {offset}: the high watermark comes with the error"
        );
        assert!(records.is_empty());
    }
    // At the high watermark: nothing yet, no error (a consumer waiting for new records).
    assert_eq!(raw.fetch("t", 10), (ErrorCode::None, 10, Vec::new()));
    // Inside: the whole batch that holds the offset.
    let (error, _, records) = raw.fetch("t", 5);
    assert_eq!(error, ErrorCode::None);
    assert_eq!(records.len(), 10);
    assert_eq!(records[9], (9, b"v9".to_vec()));
    assert!(
        answers(&mut raw),
        "the connection stays open after the errors"
    );
    assert!(broker.stop().0.success());
}

#[test]
fn unknown_topics_with_auto_create_off_are_unknown_topic_or_partition() {
    let dir = tempfile::tempdir().unwrap();
    let log_dir = dir.path().join("log");
    common::gen_log(&log_dir, "known", &["--records", "5"]);
    let before = tree(dir.path());
    let mut broker = Broker::start(&log_dir, &["--no-auto-create"]);
    let mut raw = Raw::connect(&broker.addr());

    // Metadata: below v4 a request always allows auto-creation; from v4 it says so.
    for version in [1, 4, 8] {
        let r: MetadataResponse = raw.call(version, &harness::metadata(&["nope", "known"], true));
        assert_eq!(r.topics[0].name, "nope");
        assert_eq!(
            r.topics[0].error_code,
            ErrorCode::UnknownTopicOrPartition,
            "Metadata v{version}"
        );
        assert_eq!(
            r.topics[1].error_code,
            ErrorCode::None,
            "Metadata v{version}"
        );
    }
    let records = batch(&["x"]);
    for version in [3, 8] {
        let r: ProduceResponse = raw.call(version, &harness::produce("nope", &records, 1));
        let p = &r.responses[0].partition_responses[0];
        assert_eq!(
            p.error_code,
            ErrorCode::UnknownTopicOrPartition,
            "Produce v{version}"
        );
    }
    assert_eq!(raw.latest("nope").0, ErrorCode::UnknownTopicOrPartition);
    assert_eq!(raw.fetch("nope", 0).0, ErrorCode::UnknownTopicOrPartition);
    // The known topic is still served.
    assert_eq!(raw.latest("known"), (ErrorCode::None, 5));
    let (status, log) = broker.stop();
    assert!(status.success(), "{log}");
    let mut after = tree(dir.path());
    after.retain(|p| !p.ends_with(".zc-clean-shutdown")); // written by a clean stop
    assert_eq!(after, before, "nothing created for the unknown topic");
}

#[test]
fn invalid_topic_names_are_invalid_topic_exception_and_never_touch_the_disk() {
    let dir = tempfile::tempdir().unwrap();
    let log_dir = dir.path().join("log");
    std::fs::create_dir(&log_dir).unwrap();
    let mut broker = Broker::start(&log_dir, &[]);
    let mut raw = Raw::connect(&broker.addr());
    let long = "a".repeat(250);
    let names = [
        "../etc",
        "..",
        ".",
        long.as_str(),
        "bad/name",
        "with space",
        "",
        "ünïcode",
        "nul\0",
    ];
    let records = batch(&["x"]);
    for name in names {
        for version in [1, 8] {
            let r: MetadataResponse = raw.call(version, &harness::metadata(&[name], true));
            assert_eq!(
                r.topics[0].error_code,
                ErrorCode::InvalidTopicException,
                "Metadata v{version} {name:?}"
            );
        }
        let p = raw.produce(name, &records);
        assert_eq!(
            p.error_code,
            ErrorCode::InvalidTopicException,
            "Produce {name:?}"
        );
        assert_eq!(p.base_offset, -1);
    }
    assert_eq!(tree(dir.path()), ["log"], "nothing created on disk");

    // The longest legal name is fine (and fits a directory name with its "-0").
    let longest = "b".repeat(249);
    assert_eq!(raw.produce(&longest, &records).error_code, ErrorCode::None);
    assert!(log_dir.join(format!("{longest}-0")).is_dir());
    assert!(answers(&mut raw));
    assert!(broker.stop().0.success());
}

#[test]
fn produce_with_a_bad_crc_is_corrupt_message_and_appends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut broker = Broker::start(dir.path(), &[]);
    let mut raw = Raw::connect(&broker.addr());
    assert_eq!(raw.produce("t", &batch(&["a", "b", "c"])).base_offset, 0);
    assert_eq!(raw.latest("t"), (ErrorCode::None, 3));

    // A flipped bit in a value; a wrong stored CRC; a good batch followed by a bad one.
    let mut bad_value = batch(&["d", "e"]);
    *bad_value.last_mut().unwrap() ^= 1;
    let mut bad_crc = batch(&["d", "e"]);
    bad_crc[17] ^= 0x80; // the CRC field (after baseOffset, length, epoch, magic)
    let mut good_then_bad = batch(&["d"]);
    good_then_bad.extend(&bad_value);
    for (what, records) in [
        ("a flipped value bit", &bad_value),
        ("a wrong stored CRC", &bad_crc),
        ("a good batch, then a bad one", &good_then_bad),
    ] {
        let p = raw.produce("t", records);
        assert_eq!(p.error_code, ErrorCode::CorruptMessage, "{what}");
        assert_eq!(p.base_offset, -1, "{what}");
        assert_eq!(raw.latest("t"), (ErrorCode::None, 3), "{what}: appended");
    }
    // The failures used no offsets.
    assert_eq!(raw.produce("t", &batch(&["d"])).base_offset, 3);
    let (_, _, records) = raw.fetch("t", 0);
    let values: Vec<_> = records.into_iter().map(|(_, v)| v).collect();
    assert_eq!(values, [b"a", b"b", b"c", b"d"]);
    let (status, log) = broker.stop();
    assert!(status.success(), "{log}");
    verify_log_dir(dir.path());
}

#[test]
fn a_client_that_disconnects_mid_fetch_is_logged_and_others_keep_being_served_in_every_mode() {
    let dir = tempfile::tempdir().unwrap();
    let log_dir = dir.path().join("log");
    common::gen_log(
        &log_dir,
        "big",
        &["--size", "16MiB", "--segment-bytes", "32MiB"],
    );
    let segment = std::fs::read(log_dir.join("big-0/00000000000000000000.log")).unwrap();
    for mode in MODES {
        let mut broker = Broker::start(&log_dir, &["--transfer", mode]);
        let mut healthy = Raw::connect(&broker.addr());
        assert!(answers(&mut healthy));

        // Asks for all 16 MiB, reads 4 KiB, hangs up. A small receive buffer keeps the
        // server in the middle of its transfer when the reset arrives.
        let mut quitter = Raw::connect(&broker.addr());
        nix::sys::socket::setsockopt(&quitter.stream, nix::sys::socket::sockopt::RcvBuf, &4096)
            .unwrap();
        quitter.send(11, &harness::fetch("big", 0, 64 << 20));
        let mut first = [0u8; 4096];
        quitter.stream.read_exact(&mut first).unwrap();
        let size = i32::from_be_bytes(first[..4].try_into().unwrap()) as usize;
        assert!(size > segment.len(), "{mode}: a {size}-byte response");
        drop(quitter);
        assert!(
            broker.wait_for_log("closed: cannot send the response", Duration::from_secs(10)),
            "{mode}: {}",
            broker.log()
        );

        // The other client gets every byte of the segment, as it is on disk.
        let frame = healthy.frame(11, &harness::fetch("big", 0, 64 << 20));
        let (_, r) = decode_response::<FetchedResponse<'_>>(&frame, 11).unwrap();
        let p = &r.responses[0].partitions[0];
        assert_eq!(p.error_code, ErrorCode::None, "{mode}");
        assert!(p.records == Some(&segment[..]), "{mode}: bytes differ");
        assert!(answers(&mut Raw::connect(&broker.addr())), "{mode}");
        let (status, log) = broker.stop();
        assert!(status.success(), "{mode}: {log}");
        for line in log.lines().filter(|l| l.contains("cannot send")) {
            eprintln!("{mode}: {line}");
        }
    }
    verify_log_dir(&log_dir);
}

/// Regression: the write timeout (`--idle-timeout`) was set on the socket, but the
/// transfer modes met its EAGAIN by waiting in poll(2) without a timeout, so a consumer
/// that stopped reading in the middle of a fetch held its connection thread forever, and
/// Ctrl-C then gave up with "connections still hold the logs".
#[test]
fn a_consumer_that_stops_reading_mid_fetch_is_closed_after_the_idle_timeout_in_every_mode() {
    let dir = tempfile::tempdir().unwrap();
    let log_dir = dir.path().join("log");
    common::gen_log(&log_dir, "big", &["--size", "8MiB"]);
    for mode in MODES {
        let mut broker = Broker::start(&log_dir, &["--transfer", mode, "--idle-timeout", "1"]);
        let mut stalled = Raw::connect(&broker.addr());
        nix::sys::socket::setsockopt(&stalled.stream, nix::sys::socket::sockopt::RcvBuf, &4096)
            .unwrap();
        stalled.send(11, &harness::fetch("big", 0, 64 << 20));
        let mut first = [0u8; 4096];
        stalled.stream.read_exact(&mut first).unwrap();
        // ...and reads no more, but keeps the connection open.
        assert!(
            broker.wait_for_log("closed: cannot send the response", Duration::from_secs(6)),
            "{mode}: {}",
            broker.log()
        );
        assert!(answers(&mut Raw::connect(&broker.addr())), "{mode}");
        let started = Instant::now();
        let (status, log) = broker.stop();
        assert!(status.success(), "{mode}: {log}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{mode}: slow stop"
        );
        for line in log.lines().filter(|l| l.contains("cannot send")) {
            eprintln!("{mode}: {line}");
        }
        drop(stalled);
    }
}

#[test]
fn an_idle_connection_is_closed_after_the_idle_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let mut broker = Broker::start(dir.path(), &["--idle-timeout", "1"]);
    let mut raw = Raw::connect(&broker.addr());
    assert!(answers(&mut raw));
    let idle_from = Instant::now();
    assert!(closed_by_server(&mut raw.stream), "not closed");
    let after = idle_from.elapsed();
    assert!(
        after >= Duration::from_millis(900) && after < Duration::from_secs(5),
        "closed after {after:?}"
    );
    // A busy client is not idle: requests 0.5 s apart over 2 s keep the connection.
    let mut busy = Raw::connect(&broker.addr());
    for _ in 0..4 {
        thread::sleep(Duration::from_millis(500));
        assert!(answers(&mut busy));
    }
    assert!(broker.stop().0.success());
}

/// Regression: `--idle-timeout 0` started a broker whose every connection failed its
/// socket set-up ("cannot set a 0 duration timeout").
#[test]
fn idle_timeout_0_is_a_usage_error_not_a_broker_that_drops_every_connection() {
    let dir = tempfile::tempdir().unwrap();
    let serve = common::zc_command(&[
        "serve",
        "--addr",
        "127.0.0.1:0",
        "--log-dir",
        dir.path().to_str().unwrap(),
        "--idle-timeout",
        "0",
    ]);
    let out = harness::run_bounded(serve, b"", Duration::from_secs(20));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--idle-timeout"), "{stderr}");
}

#[test]
fn a_slow_loris_sending_half_a_frame_is_closed_after_the_idle_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let mut broker = Broker::start(dir.path(), &["--idle-timeout", "1"]);
    let mut loris = Raw::connect(&broker.addr()).stream;
    let frame = encode_request(1, Some("loris"), 2, &api_versions());
    loris.write_all(&frame[..frame.len() / 2]).unwrap();
    let started = Instant::now();
    assert!(closed_by_server(&mut loris), "not closed");
    let after = started.elapsed();
    assert!(after < Duration::from_secs(5), "closed after {after:?}");
    assert!(
        broker.wait_for_log("in the middle of a request", Duration::from_secs(5)),
        "{}",
        broker.log()
    );
    assert!(answers(&mut Raw::connect(&broker.addr())));
    assert!(broker.stop().0.success());
}

#[test]
fn at_max_connections_the_idlest_is_closed_to_make_room_and_busy_ones_never_are() {
    let dir = tempfile::tempdir().unwrap();
    let mut broker = Broker::start(dir.path(), &["--max-connections", "2"]);
    // Two connections in the middle of a request: busy, so neither may be closed.
    let frame = encode_request(1, Some("busy"), 2, &api_versions());
    let mut first = Raw::connect(&broker.addr());
    let mut second = Raw::connect(&broker.addr());
    first.stream.write_all(&frame[..6]).unwrap();
    second.stream.write_all(&frame[..6]).unwrap();
    thread::sleep(Duration::from_millis(300));

    let mut third = Raw::connect(&broker.addr());
    assert!(!answers(&mut third), "a third connection was served");
    assert!(
        broker.wait_for_log("none idle (--max-connections)", Duration::from_secs(5)),
        "{}",
        broker.log()
    );
    // Both finish their requests and are answered; the first then idles the longest.
    first.stream.write_all(&frame[6..]).unwrap();
    assert!(harness::read_frame(&mut first.stream).is_some());
    thread::sleep(Duration::from_millis(300));
    second.stream.write_all(&frame[6..]).unwrap();
    assert!(harness::read_frame(&mut second.stream).is_some());

    // A newcomer now takes the first one's place.
    assert!(answers(&mut Raw::connect(&broker.addr())));
    assert!(closed_by_server(&mut first.stream), "the idlest was kept");
    assert!(
        broker.wait_for_log("idle, to make room for", Duration::from_secs(5)),
        "{}",
        broker.log()
    );
    assert!(answers(&mut second));
    assert!(broker.stop().0.success());
}

#[test]
fn every_acknowledged_record_survives_kill_9_during_sustained_produce() {
    let Some(mut produce) = kcat() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut broker = Broker::start(dir.path(), &["--segment-bytes", "64K"]);
    produce
        .args(["-b", &broker.addr(), "-P", "-t", "durable", "-z", "none"])
        // Per-message delivery reports on stderr ("Message delivered ... (offset N)").
        .args(["-X", "acks=all", "-vv"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut producer = produce.spawn().unwrap();
    let mut stdin = producer.stdin.take().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let chunk: String = (n..n + 200).map(|i| format!("rec-{i}\n")).collect();
                n += 200;
                if stdin.write_all(chunk.as_bytes()).is_err() {
                    break;
                }
                thread::sleep(Duration::from_millis(2));
            }
        })
    };
    let acked = Arc::new(Mutex::new(Vec::<i64>::new()));
    let reader = {
        let acked = acked.clone();
        let stderr = producer.stderr.take().unwrap();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("delivered to partition 0 (offset ").nth(1) {
                    let offset = rest.split(')').next().unwrap().parse().unwrap();
                    acked.lock().unwrap().push(offset);
                }
            }
        })
    };

    let deadline = Instant::now() + Duration::from_secs(20);
    while acked.lock().unwrap().len() < 20_000 {
        assert!(
            Instant::now() < deadline,
            "kcat got too few acknowledgements"
        );
        thread::sleep(Duration::from_millis(10));
    }
    broker.kill9();
    thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    producer.kill().unwrap();
    producer.wait().unwrap();
    writer.join().unwrap();
    reader.join().unwrap();
    let acked = acked.lock().unwrap().clone();

    let mut broker = Broker::start(dir.path(), &["--segment-bytes", "64K"]);
    let Some(mut consume) = kcat() else { return };
    consume.args(["-b", &broker.addr(), "-C", "-t", "durable"]);
    consume.args(["-o", "beginning", "-e", "-q", "-f", "%o %s\\n"]);
    let out = String::from_utf8(run_ok(consume, b"").stdout).unwrap();
    let mut stored = 0i64;
    for line in out.lines() {
        assert_eq!(line, format!("{stored} rec-{stored}"), "record {stored}");
        stored += 1;
    }
    let mut sorted = acked.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), acked.len(), "an offset acknowledged twice");
    let highest = *sorted.last().unwrap();
    assert!(
        highest < stored,
        "offset {highest} was acknowledged, but the log ends at {stored}"
    );
    eprintln!(
        "{} records acknowledged before kill -9, {stored} in the log after restart",
        acked.len()
    );
    let (status, log) = broker.stop();
    assert!(status.success());
    assert!(log.contains("unclean shutdown"), "{log}");
    verify_log_dir(dir.path());
}

#[test]
fn acknowledged_records_survive_kill_9_and_a_torn_tail_is_recovered() {
    let Some(_) = kcat() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut broker = Broker::start(dir.path(), &["--segment-bytes", "32K"]);
    let input = lines(1500);
    let mut produce = kcat().unwrap();
    // acks=all: kcat exits 0 only when every record was acknowledged.
    produce.args([
        "-b",
        &broker.addr(),
        "-P",
        "-t",
        "durable",
        "-X",
        "acks=all",
    ]);
    run_ok(produce, input.as_bytes());
    broker.kill9();

    // A crash mid-write: half a batch at the end of the active segment.
    let part = dir.path().join("durable-0");
    let mut logs: Vec<_> = std::fs::read_dir(&part)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    logs.sort();
    let last = logs.last().unwrap();
    let mut f = std::fs::OpenOptions::new().append(true).open(last).unwrap();
    f.write_all(&[0, 0, 0, 0, 0, 0, 9, 9, 0, 0, 1, 0, 0, 0])
        .unwrap();
    drop(f);

    let mut broker = Broker::start(dir.path(), &["--segment-bytes", "32K"]);
    let mut consume = kcat().unwrap();
    consume.args([
        "-b",
        &broker.addr(),
        "-C",
        "-t",
        "durable",
        "-o",
        "beginning",
        "-e",
        "-q",
    ]);
    let out = run_ok(consume, b"");
    assert_eq!(String::from_utf8_lossy(&out.stdout), input);
    let (status, log) = broker.stop();
    assert!(status.success());
    assert!(log.contains("unclean shutdown"), "{log}");
    assert!(log.contains("truncated 14 bytes"), "{log}");
    verify_log_dir(dir.path());
}

/// The congestion control of the broker's end of the connections on `port`, read back
/// from the kernel with `ss -ti` (one name per connection).
fn broker_side_congestion(port: &str) -> Vec<String> {
    let out = std::process::Command::new("ss")
        .args([
            "-tinH",
            "state",
            "established",
            &format!("( sport = :{port} )"),
        ])
        .output()
        .expect("ss (iproute2) runs");
    let text = String::from_utf8_lossy(&out.stdout);
    // Each socket is a line of addresses, then an indented line that starts with the algorithm.
    text.lines()
        .filter(|l| l.starts_with([' ', '\t']))
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

#[test]
fn cc_sets_the_congestion_control_of_every_accepted_connection() {
    let dir = tempfile::tempdir().unwrap();
    // reno: available in every kernel, and neither the usual default (bbr/cubic) nor auto's pick.
    let mut broker = Broker::start(dir.path(), &["--cc", "reno"]);
    let mut raw = Raw::connect(&broker.addr());
    assert!(answers(&mut raw), "{}", broker.log());
    let port = broker.addr().rsplit(':').next().unwrap().to_owned();
    assert_eq!(broker_side_congestion(&port), ["reno"], "{}", broker.log());
    assert!(
        broker.log().contains("TCP congestion control reno"),
        "{}",
        broker.log()
    );
    drop(raw);
    broker.stop();

    let serve = common::zc_command(&[
        "serve",
        "--addr",
        "127.0.0.1:0",
        "--log-dir",
        dir.path().to_str().unwrap(),
        "--cc",
        "no-such-cc",
    ]);
    let out = harness::run_bounded(serve, b"", Duration::from_secs(20));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("\"no-such-cc\" is not available"),
        "{stderr}"
    );
}

/// Regression: the idle timeout counted from the start of a request, not from its last
/// byte, so a slow but steady client sending a request in pieces was cut off mid-request.
#[test]
fn a_slow_but_steady_request_is_answered_however_long_it_takes_in_total() {
    let dir = tempfile::tempdir().unwrap();
    let mut broker = Broker::start(dir.path(), &["--idle-timeout", "1"]);
    let mut slow = Raw::connect(&broker.addr());
    let frame = encode_request(1, Some("slow"), 2, &api_versions());
    // 6 pieces 400 ms apart: 2.4 s in all, more than twice the idle timeout, but never
    // more than 0.4 s without a byte.
    let pieces = frame.chunks(frame.len().div_ceil(6));
    for piece in pieces {
        slow.stream.write_all(piece).unwrap();
        thread::sleep(Duration::from_millis(400));
    }
    let answer = slow.receive().expect("answered, not closed");
    let (id, response) = decode_response::<ApiVersionsResponse>(&answer, 2).unwrap();
    assert_eq!((id, response.error_code), (1, ErrorCode::None));
    assert!(broker.stop().0.success());
}

// --- --inspect: the broker reads what it sends (mmap, read-write), or refuses ---------------

/// `zc consume` reads the whole demo log through a broker that inspects every batch it
/// sends: the broker's totals are the demo log's real counts (fixtures/README.md).
#[test]
fn inspect_counts_every_batch_and_record_of_the_demo_log_in_mmap_and_read_write() {
    for mode in ["mmap", "read-write"] {
        let dir = tempfile::tempdir().unwrap();
        common::copy_dir(&common::demo_fixture(), dir.path());
        let mut broker = Broker::start(dir.path(), &["--transfer", mode, "--inspect"]);
        let consume =
            common::zc_command(&["consume", "-b", &broker.addr(), "-t", "demo", "--bench"]);
        let out = run_ok(consume, b"");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("19060 records"),
            "{mode}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let (status, log) = broker.stop();
        assert!(status.success(), "{mode}: {log}");
        assert!(
            log.contains(
                "zc serve: inspected 953 batches, 19060 records, 0 corrupt in all the fetches served"
            ),
            "{mode}: {log}"
        );
    }
}

/// A batch damaged on disk (one flipped byte in a record) is served as it is, and the
/// inspecting broker reports it: which batch, what is wrong, and one corrupt in its totals.
#[test]
fn inspect_reports_a_corrupt_batch_it_serves() {
    let dir = tempfile::tempdir().unwrap();
    common::copy_dir(&common::demo_fixture(), dir.path());
    let segment = dir.path().join("demo-0/00000000000000000000.log");
    let mut bytes = std::fs::read(&segment).unwrap();
    bytes[500] ^= 0x01; // inside the first batch's records
    std::fs::write(&segment, bytes).unwrap();
    let mut broker = Broker::start(dir.path(), &["--transfer", "mmap", "--inspect"]);
    let mut raw = Raw::connect(&broker.addr());
    raw.frame(11, &harness::fetch("demo", 0, 64 << 20));
    let (status, log) = broker.stop();
    assert!(status.success(), "{log}");
    assert!(
        log.contains("inspect: batch at offset 0: CRC-32C mismatch"),
        "{log}"
    );
    // One fetch answers from one segment: the first holds 238 batches of 20 records.
    assert!(
        log.contains("inspected 237 batches, 4740 records, 1 corrupt"),
        "{log}"
    );
}

/// `--inspect-header KEY=VALUE` counts the records carrying that header.
#[test]
fn inspect_header_counts_the_records_with_that_header() {
    let dir = tempfile::tempdir().unwrap();
    let mut broker = Broker::start(
        dir.path(),
        &[
            "--transfer",
            "read-write",
            "--inspect",
            "--inspect-header",
            "route=dlq",
        ],
    );
    let mut records = Vec::new();
    let mut builder = zc::log::batch::BatchBuilder::new(&mut records, 0);
    for route in ["dlq", "main", "dlq", "dlq", "main"] {
        builder.append(
            1_700_000_000_000,
            None,
            Some(b"v"),
            &[(b"route", Some(route.as_bytes()))],
        );
    }
    builder.append(1_700_000_000_000, None, Some(b"no headers"), &[]);
    builder.finish();
    let mut raw = Raw::connect(&broker.addr());
    assert_eq!(raw.produce("routed", &records).error_code, ErrorCode::None);
    let (_, _, fetched) = raw.fetch("routed", 0);
    assert_eq!(fetched.len(), 6);
    let (status, log) = broker.stop();
    assert!(status.success(), "{log}");
    assert!(
        log.contains("inspected 1 batches, 6 records, 0 corrupt, 3 records with header route=dlq"),
        "{log}"
    );
}

/// With sendfile and splice the bytes never reach the broker's memory: `--inspect` is a
/// usage error that says so, before anything is opened.
#[test]
fn inspect_is_refused_with_sendfile_and_splice_and_explains_why() {
    for mode in ["sendfile", "splice"] {
        let dir = tempfile::tempdir().unwrap();
        let serve = common::zc_command(&[
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--log-dir",
            dir.path().to_str().unwrap(),
            "--transfer",
            mode,
            "--inspect",
        ]);
        let out = harness::run_bounded(serve, b"", Duration::from_secs(20));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{mode}: {stderr}");
        assert!(
            stderr.contains(&format!("--inspect cannot work with --transfer {mode}"))
                && stderr.contains("never reach the broker's memory")
                && stderr.contains("--transfer mmap"),
            "{mode}: {stderr}"
        );
        assert!(!stderr.contains("listening"), "{mode}: {stderr}");
    }
    // A header filter alone would filter nothing: it needs --inspect.
    let out = harness::run_bounded(
        common::zc_command(&["serve", "--inspect-header", "route=dlq"]),
        b"",
        Duration::from_secs(20),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--inspect"), "{stderr}");
}

/// The Fetch of `topics` (partition 0 of each, from `offset`) that waits up to 10 s for a
/// first byte: a consumer long-polling at the end of the log.
fn long_poll(topics: &[&str], offset: i64) -> RequestBody<'static> {
    let RequestBody::Fetch(mut request) = harness::fetch(topics[0], offset, 1 << 20) else {
        unreachable!("harness::fetch builds a Fetch")
    };
    request.max_wait_ms = 10_000;
    let partitions = request.topics[0].partitions.clone();
    request.topics = topics
        .iter()
        .map(|t| FetchTopic {
            topic: (*t).into(),
            partitions: partitions.clone(),
        })
        .collect();
    RequestBody::Fetch(request)
}

/// Long polling: a Fetch waiting at the end of a topic is answered as soon as records are
/// appended there, whether it waits on that topic alone (the topic's own wake-up) or on
/// several (the broker-wide one); an append to another topic does not answer it.
#[test]
fn a_waiting_fetch_is_answered_by_an_append_to_its_topic_and_not_by_one_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let mut broker = Broker::start(dir.path(), &[]);
    let mut producer = Raw::connect(&broker.addr());
    for topic in ["a", "b", "c", "d", "e"] {
        assert_eq!(producer.produce(topic, &batch(&["first"])).base_offset, 0);
    }
    for (waits_on, other, appended) in [(&["a"][..], "b", "a"), (&["c", "d"][..], "e", "d")] {
        let mut waiter = Raw::connect(&broker.addr());
        let id = waiter.send(11, &long_poll(waits_on, 1));
        thread::sleep(Duration::from_millis(300)); // the broker is now waiting
        producer.produce(other, &batch(&["elsewhere"]));
        waiter
            .stream
            .set_read_timeout(Some(Duration::from_millis(700)))
            .unwrap();
        let mut first = [0u8; 1];
        assert!(
            waiter.stream.peek(&mut first).is_err(),
            "{waits_on:?} answered after an append to {other}"
        );
        waiter
            .stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let appended_at = Instant::now();
        producer.produce(appended, &batch(&["wake up"]));
        let frame = waiter.receive().expect("an answer");
        let waited = appended_at.elapsed();
        // Well before the 10 s long poll ran out (a generous bound for a busy machine).
        assert!(waited < Duration::from_secs(5), "answered after {waited:?}");
        let (got, r) = decode_response::<FetchedResponse<'_>>(&frame, 11).unwrap();
        assert_eq!(got, id);
        let records: Vec<_> = r
            .responses
            .iter()
            .filter(|t| t.topic == appended)
            .flat_map(|t| harness::decode_records(t.partitions[0].records.unwrap_or_default()))
            .collect();
        assert_eq!(records, [(1, b"wake up".to_vec())], "{waits_on:?}");
    }
    assert!(broker.stop().0.success());
}
