//! Black-box tests of `zc serve`: the real binary on 127.0.0.1, real Kafka clients (kcat,
//! kafka-python) and raw protocol bytes. Each server runs on its own port in its own temp
//! log directory and is stopped (SIGINT or SIGKILL) by the test.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::zc_command;

/// A running `zc serve`, its port, and everything it printed on stderr.
struct Broker {
    child: Child,
    port: u16,
    log: Arc<Mutex<String>>,
}

impl Broker {
    fn start(log_dir: &Path, extra: &[&str]) -> Broker {
        let mut args = vec![
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--log-dir",
            log_dir.to_str().unwrap(),
        ];
        args.extend(extra);
        let mut child = zc_command(&args)
            .stderr(Stdio::piped())
            .spawn()
            .expect("start zc serve");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = log.clone();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on 127.0.0.1:").nth(1) {
                    let port: u16 = rest.split(' ').next().unwrap().parse().unwrap();
                    let _ = tx.send(port);
                }
                sink.lock().unwrap().push_str(&(line + "\n"));
            }
        });
        let port = rx
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("zc serve did not start: {}", log.lock().unwrap()));
        Broker { child, port, log }
    }

    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Ctrl-C, then the exit status and the log.
    fn stop(&mut self) -> (std::process::ExitStatus, String) {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGINT,
        )
        .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                thread::sleep(Duration::from_millis(50)); // let the reader finish
                return (status, self.log.lock().unwrap().clone());
            }
            assert!(Instant::now() < deadline, "zc serve did not stop on SIGINT");
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn kill9(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Broker {
    /// A failing test must not leave a server behind (it would also hold the test
    /// harness's output pipe open).
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// kcat, or `None` (after saying so) outside CI when it is not installed.
fn kcat() -> Option<Command> {
    if Command::new("kcat").arg("-V").output().is_ok() {
        return Some(Command::new("kcat"));
    }
    assert_ne!(
        std::env::var("CI").as_deref(),
        Ok("true"),
        "CI must install kcat (.ci/run)"
    );
    eprintln!("SKIPPED: kcat not installed (apt-get install kcat, as .ci/run does)");
    None
}

fn run_with_input(mut cmd: Command, input: &[u8]) -> std::process::Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn lines(n: usize) -> String {
    (0..n)
        .map(|i| format!("record number {i} {}\n", "x".repeat(i % 300)))
        .collect()
}

#[test]
fn kcat_produces_and_consumes_in_every_transfer_mode() {
    let Some(_) = kcat() else { return };
    for mode in ["sendfile", "splice", "mmap", "read-write"] {
        let dir = tempfile::tempdir().unwrap();
        let mut broker = Broker::start(dir.path(), &["--transfer", mode, "--segment-bytes", "64K"]);
        let input = lines(2000);
        let mut produce = kcat().unwrap();
        produce.args(["-b", &broker.addr(), "-P", "-t", "words", "-z", "none"]);
        run_with_input(produce, input.as_bytes());

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
        let out = run_with_input(consume, b"");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            input,
            "{mode}: consumed != produced"
        );
        let (status, log) = broker.stop();
        assert!(status.success(), "{mode}: {log}");
        assert!(log.contains("closed cleanly"), "{log}");
        // The log on disk is Kafka's format and intact.
        common::zc(&["fixture", "verify", dir.path().to_str().unwrap()]).success();
    }
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
    let out = Command::new("python3")
        .args(["-c", script, &broker.addr()])
        .output()
        .unwrap();
    if out.status.code() == Some(3) {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "CI must install kafka-python"
        );
        eprintln!("SKIPPED: kafka-python not installed");
        return;
    }
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "19060 19059");
    broker.stop();
}

/// Sends one request frame and reads one response frame.
fn roundtrip(stream: &mut TcpStream, frame: &[u8]) -> Option<Vec<u8>> {
    stream.write_all(frame).unwrap();
    let mut size = [0u8; 4];
    stream.read_exact(&mut size).ok()?;
    let mut body = vec![0u8; i32::from_be_bytes(size) as usize];
    stream.read_exact(&mut body).ok()?;
    Some(body)
}

#[test]
fn raw_protocol_errors_are_answered_or_closed_and_others_keep_being_served() {
    use zc::broker::protocol::{ApiVersionsRequest, RequestBody, encode_request};
    let dir = tempfile::tempdir().unwrap();
    let mut broker = Broker::start(dir.path(), &["--max-request-bytes", "1K"]);
    let connect = || {
        let s = TcpStream::connect(broker.addr()).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s
    };
    let api_versions = |v| {
        encode_request(
            7,
            Some("test"),
            v,
            &RequestBody::ApiVersions(ApiVersionsRequest {
                client_software_name: "test".into(),
                client_software_version: "1".into(),
                tagged_fields: Vec::new(),
            }),
        )
    };
    let mut healthy = connect();
    assert!(roundtrip(&mut healthy, &api_versions(2)).is_some());

    // ApiVersions v4 (unsupported): the v0-shaped error 35 reply, and the connection lives.
    let mut s = connect();
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
    let mut s = connect();
    let mut unknown = api_versions(0);
    unknown[4..6].copy_from_slice(&999i16.to_be_bytes());
    assert!(roundtrip(&mut s, &unknown).is_none());

    // A frame over --max-request-bytes: closed without reading it.
    let mut s = connect();
    let mut huge = (1_000_000i32).to_be_bytes().to_vec();
    huge.extend([0u8; 16]);
    assert!(roundtrip(&mut s, &huge).is_none());

    // Garbage of a plausible size: closed.
    let mut s = connect();
    assert!(roundtrip(&mut s, &[0, 0, 0, 3, 1, 2, 3]).is_none());

    // The first client never noticed.
    assert!(roundtrip(&mut healthy, &api_versions(2)).is_some());
    let (status, log) = broker.stop();
    assert!(status.success());
    assert!(log.contains("--max-request-bytes"), "{log}");
}

#[test]
fn invalid_topic_names_are_refused_and_never_touch_the_disk() {
    let Some(_) = kcat() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut broker = Broker::start(dir.path(), &[]);
    let mut produce = kcat().unwrap();
    produce.args([
        "-b",
        &broker.addr(),
        "-P",
        "-t",
        "bad/name",
        "-X",
        "message.timeout.ms=3000",
    ]);
    let _ = produce
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(|mut c| {
            c.stdin.take().unwrap().write_all(b"x\n").unwrap();
            c.wait()
        });
    let (status, _) = broker.stop();
    assert!(status.success());
    let entries: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(
        entries.iter().all(|n| !n.to_string_lossy().contains("bad")),
        "{entries:?}"
    );
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
    run_with_input(produce, input.as_bytes());
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
    let out = run_with_input(consume, b"");
    assert_eq!(String::from_utf8_lossy(&out.stdout), input);
    let (status, log) = broker.stop();
    assert!(status.success());
    assert!(log.contains("unclean shutdown"), "{log}");
    assert!(log.contains("truncated 14 bytes"), "{log}");
    common::zc(&["fixture", "verify", dir.path().to_str().unwrap()]).success();
}
