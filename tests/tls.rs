//! `zc serve --tls` with real clients: kcat and confluent-kafka (librdkafka over OpenSSL)
//! with `security.protocol=SSL`, trusting the throwaway certificate the broker writes into
//! its log directory. The records must come back identical, the bytes must have gone the
//! TLS path (the broker's stats line says so), and bad peers — a plaintext Kafka client,
//! garbage, a client that does not trust the certificate — are each logged with their
//! reason while the broker keeps serving the others.
//!
//! A missing kcat or confluent-kafka skips its test with a `SKIPPED:` line, except under
//! `CI=true`, where it fails (`.ci/run` installs them).

mod common;
#[path = "common/broker.rs"]
mod harness;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use harness::{Broker, kcat, python, run_bounded, run_ok};

/// A broker with a plaintext and a TLS listener, both on free ports.
fn start(dir: &Path) -> (Broker, String, PathBuf) {
    let broker = Broker::start(dir, &["--tls", "--tls-addr", "127.0.0.1:0"]);
    assert!(
        broker.wait_for_log("TLS listening on", Duration::from_secs(10)),
        "{}",
        broker.log()
    );
    let log = broker.log();
    let port = log
        .split("TLS listening on 127.0.0.1:")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .expect("the TLS start-up line")
        .to_owned();
    let ca = dir.join("zc-serve-ca.pem");
    assert!(
        log.contains(&format!("written to {}", ca.display())),
        "{log}"
    );
    assert!(ca.exists(), "the broker wrote no certificate");
    (broker, format!("127.0.0.1:{port}"), ca)
}

fn ssl(cmd: &mut Command, tls_addr: &str, ca: &Path) {
    cmd.args(["-b", tls_addr, "-X", "security.protocol=SSL", "-X"])
        .arg(format!("ssl.ca.location={}", ca.display()));
}

fn lines(n: usize) -> String {
    (0..n)
        .map(|i| format!("tls-record-{i:05}-{}\n", "x".repeat(i % 300)))
        .collect()
}

#[test]
fn kcat_produces_and_consumes_over_ssl_and_the_bytes_go_the_tls_path() {
    let dir = tempfile::tempdir().unwrap();
    let (mut broker, tls, ca) = start(dir.path());
    let Some(mut produce) = kcat() else { return };
    ssl(&mut produce, &tls, &ca);
    produce.args(["-P", "-t", "secret", "-p", "0"]);
    let sent = lines(5000);
    run_ok(produce, sent.as_bytes());

    let mut consume = kcat().unwrap();
    ssl(&mut consume, &tls, &ca);
    consume.args([
        "-C",
        "-t",
        "secret",
        "-p",
        "0",
        "-o",
        "beginning",
        "-e",
        "-q",
    ]);
    let got = run_ok(consume, b"");
    assert!(
        String::from_utf8_lossy(&got.stdout) == sent,
        "the records read back over TLS differ from those produced"
    );

    // Metadata over TLS advertises the TLS listener, so the client stays on it.
    let mut list = kcat().unwrap();
    ssl(&mut list, &tls, &ca);
    list.arg("-L");
    let listed = String::from_utf8_lossy(&run_ok(list, b"").stdout).into_owned();
    assert!(listed.contains(&format!("at {tls}")), "{listed}");

    assert!(
        broker.wait_for_log("| TLS fetch ", Duration::from_secs(5)),
        "no TLS fetch in the stats: {}",
        broker.log()
    );
    let (status, log) = broker.stop();
    assert!(status.success(), "{log}");
    assert!(log.contains("read → encrypt → write"), "{log}");
    assert!(
        !ca.exists(),
        "the throwaway certificate outlived the broker"
    );
}

/// Bad peers on the TLS port each get a log line with the reason; a good TLS client and a
/// plaintext client keep being served meanwhile.
#[test]
fn plaintext_clients_garbage_and_untrusting_clients_are_logged_and_others_served() {
    let dir = tempfile::tempdir().unwrap();
    let (mut broker, tls, ca) = start(dir.path());
    let Some(mut good) = kcat() else { return };
    ssl(&mut good, &tls, &ca);
    good.args(["-P", "-t", "ok", "-p", "0"]);
    run_ok(good, b"before\n");

    // 1. A plaintext Kafka client on the TLS port.
    let mut plain = kcat().unwrap();
    plain.args(["-b", &tls, "-L", "-m", "3"]);
    let out = run_bounded(plain, b"", harness::RUN_LIMIT);
    assert!(
        !out.status.success(),
        "a plaintext client got metadata over TLS"
    );
    // 2. Garbage bytes.
    let mut junk = TcpStream::connect(&tls).unwrap();
    junk.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    junk.write_all(b"\x00\x01garbage that is no TLS record\r\n")
        .unwrap();
    let mut rest = Vec::new();
    let _ = junk.read_to_end(&mut rest); // the broker closes (after an alert)
    // 3. A TLS client that trusts another CA.
    let other = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let wrong = dir.path().join("other-ca.pem");
    std::fs::write(&wrong, other.cert.pem()).unwrap();
    let mut untrusting = kcat().unwrap();
    ssl(&mut untrusting, &tls, &wrong);
    untrusting.args(["-L", "-m", "3"]);
    let out = run_bounded(untrusting, b"", harness::RUN_LIMIT);
    assert!(
        !out.status.success(),
        "a client trusting another CA connected"
    );

    let log = broker.log();
    assert!(
        log.matches("does not speak TLS").count() >= 2,
        "plaintext client and garbage: {log}"
    );
    assert!(
        log.contains("refused the handshake with an alert")
            && log.contains("does it trust the server's certificate"),
        "untrusting client: {log}"
    );

    // The others are still served: TLS and plaintext.
    let mut again = kcat().unwrap();
    ssl(&mut again, &tls, &ca);
    again.args(["-C", "-t", "ok", "-p", "0", "-o", "beginning", "-e", "-q"]);
    assert_eq!(run_ok(again, b"").stdout, b"before\n");
    let mut plain_ok = kcat().unwrap();
    plain_ok.args([
        "-b",
        &broker.addr(),
        "-C",
        "-t",
        "ok",
        "-p",
        "0",
        "-o",
        "beginning",
    ]);
    plain_ok.args(["-e", "-q"]);
    assert_eq!(run_ok(plain_ok, b"").stdout, b"before\n");
    let (status, log) = broker.stop();
    assert!(status.success(), "{log}");
}

/// confluent-kafka over SSL: produce with delivery reports, consume from the beginning.
const CONFLUENT_KAFKA_SSL: &str = r#"
import sys, time
try:
    import confluent_kafka
    from confluent_kafka import Producer, Consumer, TopicPartition, OFFSET_BEGINNING, KafkaError
except ImportError as e:
    print(f"confluent-kafka is not installed: {e}", file=sys.stderr); sys.exit(3)
bs, ca, topic = sys.argv[1], sys.argv[2], sys.argv[3]
ssl = {"bootstrap.servers": bs, "security.protocol": "SSL", "ssl.ca.location": ca}
values = [b"ssl-%d-" % i + bytes(range(256)) * (i % 7) for i in range(2000)]
p = Producer({**ssl, "acks": 1, "message.timeout.ms": 20000})
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
c = Consumer({**ssl, "group.id": "zc-tls", "enable.auto.commit": False,
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
    got.append(m.value() or b"")
c.close()
assert got == values, (len(got), len(values))
print(len(acked), len(got))
"#;

#[test]
fn confluent_kafka_produces_and_consumes_over_ssl() {
    let dir = tempfile::tempdir().unwrap();
    let (mut broker, tls, ca) = start(dir.path());
    let ca = ca.to_str().unwrap().to_owned();
    let Some(out) = python("confluent-kafka", CONFLUENT_KAFKA_SSL, &[&tls, &ca, "ck"]) else {
        return;
    };
    assert_eq!(out.trim(), "2000 2000");
    let (status, log) = broker.stop();
    assert!(status.success(), "{log}");
    assert!(!log.contains("closed: TLS"), "{log}");
}

/// zc's own client: `zc produce --tls` and `zc consume --tls` round-trip through the TLS
/// listener; `--tls` to the plaintext port fails the handshake with a message that says
/// what to check.
#[test]
fn zc_produce_and_consume_speak_tls_with_tls_ca() {
    let dir = tempfile::tempdir().unwrap();
    let (mut broker, tls, ca) = start(dir.path());
    let ca = ca.to_str().unwrap();
    let sent = lines(3000);
    let tls_args = ["--tls", "--tls-ca", ca];
    let mut produce = common::zc_command(&["produce", "-b", &tls, "-t", "zc"]);
    produce.args(tls_args);
    run_ok(produce, sent.as_bytes());
    let mut consume = common::zc_command(&["consume", "-b", &tls, "-t", "zc"]);
    consume.args(tls_args);
    let got = run_ok(consume, b"");
    assert!(
        String::from_utf8_lossy(&got.stdout) == sent,
        "records differ"
    );

    let mut wrong_port = common::zc_command(&["consume", "-b", &broker.addr(), "-t", "zc"]);
    wrong_port.args(tls_args);
    let out = run_bounded(wrong_port, b"", harness::RUN_LIMIT);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("TLS handshake failed"), "{stderr}");
    assert!(stderr.contains("a TLS listener"), "{stderr}");
    let (status, log) = broker.stop();
    assert!(status.success(), "{log}");
}
