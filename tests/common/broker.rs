//! Helpers for `tests/broker.rs` and `tests/faults.rs`: a `zc serve` child process, client processes run under a
//! deadline, the skip-or-fail rule for third-party clients, and a raw protocol client built
//! on the crate's own codec (`encode_request` / `decode_response`).
//!
//! Included by those tests with `#[path]` rather than from `common/mod.rs`, so the
//! other test binaries do not compile it.

#![allow(dead_code)] // tests/broker.rs and tests/faults.rs each use a different subset

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use zc::kafka::list_offsets::LATEST_TIMESTAMP;
use zc::kafka::{
    DecodeResponse, ErrorCode, FetchPartition, FetchRequest, FetchTopic, FetchedResponse,
    ListOffsetsPartition, ListOffsetsRequest, ListOffsetsResponse, ListOffsetsTopic,
    MetadataRequest, ProducePartition, ProducePartitionResponse, ProduceRequest, ProduceResponse,
    ProduceTopic, RequestBody, decode_response, encode_request,
};
use zc::log::batch::{self, BatchBuilder, BatchHeader};

use crate::common::zc_command;

/// Longest any client process (kcat, python, zc) may run before the test kills it and fails.
pub const RUN_LIMIT: Duration = Duration::from_secs(60);
/// Read and write timeout of every raw test socket.
pub const SOCKET_TIMEOUT: Duration = Duration::from_secs(10);

pub fn under_ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

/// A running `zc serve`, its port, and everything it printed on stderr. Dropping it kills
/// the process, so a failing test never leaves a server behind.
pub struct Broker {
    child: Child,
    pub port: u16,
    log: Arc<Mutex<String>>,
}

impl Broker {
    pub fn start(log_dir: &Path, extra: &[&str]) -> Broker {
        Broker::start_command(zc_command(&serve_args(log_dir, "127.0.0.1:0", extra)))
    }

    /// Starts `cmd`, a `zc serve` (perhaps behind a wrapper such as `prlimit`), and waits
    /// for its listening line.
    pub fn start_command(mut cmd: Command) -> Broker {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
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
            .unwrap_or_else(|_| {
                thread::sleep(Duration::from_millis(100)); // let the reader finish
                panic!("zc serve did not start: {}", log.lock().unwrap())
            });
        Broker { child, port, log }
    }

    /// The server's process id, for /proc/PID/{fd,status}.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// What the server has printed so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits until the server's stderr contains `needle`; false after `limit`.
    pub fn wait_for_log(&self, needle: &str, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if self.log().contains(needle) {
                return true;
            }
            thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Ctrl-C, then the exit status and the log.
    pub fn stop(&mut self) -> (ExitStatus, String) {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGINT,
        )
        .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                thread::sleep(Duration::from_millis(50)); // let the reader finish
                return (status, self.log());
            }
            assert!(
                Instant::now() < deadline,
                "zc serve did not stop on SIGINT: {}",
                self.log()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn kill9(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The arguments of `zc serve` on `addr` with `log_dir`, then `extra`.
pub fn serve_args<'a>(log_dir: &'a Path, addr: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "serve",
        "--addr",
        addr,
        "--log-dir",
        log_dir.to_str().unwrap(),
    ];
    args.extend(extra);
    args
}

/// Runs `cmd` with `input` on stdin and collects its output; kills it and fails the test
/// after `limit`.
pub fn run_bounded(mut cmd: Command, input: &[u8], limit: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    // A child that exits without reading all of stdin is not our problem: ignore EPIPE.
    let writer = thread::spawn(move || drop(stdin.write_all(&input)));
    let out = run_bounded_child(child, limit);
    let _ = writer.join();
    out
}

/// Collects the output of `child` (spawned with piped stdout and stderr); kills it and
/// fails the test after `limit`.
pub fn run_bounded_child(mut child: Child, limit: Duration) -> Output {
    let drain = |mut r: Box<dyn Read + Send>| {
        thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            buf
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            let err = stderr.join().unwrap();
            panic!(
                "process {} still running after {limit:?}, killed; stderr:\n{}",
                child.id(),
                String::from_utf8_lossy(&err)
            );
        }
        thread::sleep(Duration::from_millis(10));
    };
    Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

/// [`run_bounded`] with [`RUN_LIMIT`], asserting that the command succeeded.
pub fn run_ok(cmd: Command, input: &[u8]) -> Output {
    let shown = format!("{cmd:?}");
    let out = run_bounded(cmd, input, RUN_LIMIT);
    assert!(
        out.status.success(),
        "{shown}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// kcat, or `None` (after saying so) outside CI when it is not installed.
pub fn kcat() -> Option<Command> {
    if Command::new("kcat").arg("-V").output().is_ok() {
        return Some(Command::new("kcat"));
    }
    assert!(!under_ci(), "CI must install kcat (.ci/run)");
    eprintln!("SKIPPED: kcat not installed (apt-get install kcat, as .ci/run does)");
    None
}

/// Runs a Python client script (`python3 -c script args...`) under [`RUN_LIMIT`] and
/// returns its stdout. The script exits 3 when its package is missing: outside CI that
/// skips the test (`None`, after saying so); under `CI=true` it fails, as does a missing
/// python3.
pub fn python(package: &str, script: &str, args: &[&str]) -> Option<String> {
    if let Err(e) = Command::new("python3").arg("--version").output() {
        assert!(!under_ci(), "python3 not runnable under CI: {e}");
        eprintln!("SKIPPED: python3 not runnable ({e}); .ci/run installs the clients");
        return None;
    }
    let mut cmd = Command::new("python3");
    cmd.arg("-c").arg(script).args(args);
    let out = run_bounded(cmd, b"", RUN_LIMIT);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.code() == Some(3) {
        assert!(!under_ci(), "CI must install {package} (.ci/run): {stderr}");
        eprintln!("SKIPPED: {package} not installed (pip install {package}, as .ci/run does)");
        return None;
    }
    assert!(out.status.success(), "{package} script failed: {stderr}");
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A client that speaks raw protocol frames, encoded and decoded with the crate's codec.
/// Every read and write times out after [`SOCKET_TIMEOUT`].
pub struct Raw {
    pub stream: TcpStream,
    next_id: i32,
}

impl Raw {
    pub fn connect(addr: &str) -> Raw {
        Raw::over(TcpStream::connect(addr).unwrap())
    }

    /// A client over a connected stream.
    pub fn over(stream: TcpStream) -> Raw {
        stream.set_read_timeout(Some(SOCKET_TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(SOCKET_TIMEOUT)).unwrap();
        Raw { stream, next_id: 1 }
    }

    /// Sends one request; returns its correlation id.
    pub fn send(&mut self, version: i16, body: &RequestBody<'_>) -> i32 {
        self.try_send(version, body)
            .expect("the server closed before the request was sent")
    }

    /// Sends one request; its correlation id, or `None` if the server has closed.
    pub fn try_send(&mut self, version: i16, body: &RequestBody<'_>) -> Option<i32> {
        let id = self.next_id;
        self.next_id += 1;
        let frame = encode_request(id, Some("zc-broker-test"), version, body);
        self.stream.write_all(&frame).ok().map(|()| id)
    }

    /// The next response frame (after its size prefix), `None` if the server closed.
    pub fn receive(&mut self) -> Option<Vec<u8>> {
        read_frame(&mut self.stream)
    }

    /// One request, one response frame.
    pub fn frame(&mut self, version: i16, body: &RequestBody<'_>) -> Vec<u8> {
        let id = self.send(version, body);
        let frame = self
            .receive()
            .expect("the server closed instead of answering");
        assert_eq!(frame[..4], id.to_be_bytes(), "correlation id");
        frame
    }

    /// One request, its decoded response.
    pub fn call<T>(&mut self, version: i16, body: &RequestBody<'_>) -> T
    where
        T: for<'a> DecodeResponse<'a>,
    {
        let frame = self.frame(version, body);
        decode_response::<T>(&frame, version).unwrap().1
    }

    /// Produce v8 (acks=1) of `records` (whole batches) to partition 0 of `topic`.
    pub fn produce(&mut self, topic: &str, records: &[u8]) -> ProducePartitionResponse {
        let r: ProduceResponse = self.call(8, &produce(topic, records, 1));
        r.responses[0].partition_responses[0].clone()
    }

    /// ListOffsets v1 latest (the high watermark) of partition 0 of `topic`.
    pub fn latest(&mut self, topic: &str) -> (ErrorCode, i64) {
        let r: ListOffsetsResponse = self.call(1, &list_latest(topic));
        let p = &r.topics[0].partitions[0];
        (p.error_code, p.offset)
    }

    /// Fetch v11 of partition 0 from `offset`: error code, high watermark, and the
    /// (offset, value) of every record in the whole batches received.
    pub fn fetch(&mut self, topic: &str, offset: i64) -> (ErrorCode, i64, Vec<(i64, Vec<u8>)>) {
        let frame = self.frame(11, &fetch(topic, offset, 64 << 20));
        let (_, r) = decode_response::<FetchedResponse<'_>>(&frame, 11).unwrap();
        let p = &r.responses[0].partitions[0];
        let records = decode_records(p.records.unwrap_or_default());
        (p.error_code, p.high_watermark, records)
    }
}

/// Reads one frame (int32 size, then that many bytes); `None` on EOF, reset or timeout.
pub fn read_frame(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut size = [0u8; 4];
    stream.read_exact(&mut size).ok()?;
    let mut body = vec![0u8; i32::from_be_bytes(size) as usize];
    stream.read_exact(&mut body).ok()?;
    Some(body)
}

/// True once the server has closed `stream`: a read returns EOF or a reset (not a timeout).
pub fn closed_by_server(stream: &mut TcpStream) -> bool {
    let mut buf = [0u8; 64];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {} // a late reply: keep reading until the close
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}

/// One uncompressed RecordBatch v2 holding `values` (null keys), as a producer builds it.
pub fn batch<V: AsRef<[u8]>>(values: &[V]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut b = BatchBuilder::new(&mut out, 0);
    for v in values {
        b.append(1_700_000_000_000, None, Some(v.as_ref()), &[]);
    }
    b.finish();
    out
}

/// The records of the whole batches in `bytes`, as (offset, value); a partial batch at the
/// end (KIP-74) is skipped, as clients do.
pub fn decode_records(mut bytes: &[u8]) -> Vec<(i64, Vec<u8>)> {
    let mut out = Vec::new();
    while let Ok(h) = BatchHeader::parse(bytes) {
        if bytes.len() < h.size() {
            break;
        }
        let whole = &bytes[..h.size()];
        batch::validate(whole).expect("a batch from the broker validates");
        for r in batch::records(whole) {
            let r = r.unwrap();
            let value = r.value.unwrap_or_default().to_vec();
            out.push((h.base_offset + i64::from(r.offset_delta), value));
        }
        bytes = &bytes[h.size()..];
    }
    out
}

pub fn metadata(topics: &[&str], allow_auto_topic_creation: bool) -> RequestBody<'static> {
    RequestBody::Metadata(MetadataRequest {
        topics: Some(topics.iter().map(|t| t.to_string()).collect()),
        allow_auto_topic_creation,
        include_cluster_authorized_operations: false,
        include_topic_authorized_operations: false,
    })
}

pub fn produce<'a>(topic: &str, records: &'a [u8], acks: i16) -> RequestBody<'a> {
    RequestBody::Produce(ProduceRequest {
        transactional_id: None,
        acks,
        timeout_ms: 10_000,
        topic_data: vec![ProduceTopic {
            name: topic.into(),
            partition_data: vec![ProducePartition {
                index: 0,
                records: Some(records),
            }],
        }],
    })
}

pub fn list_latest(topic: &str) -> RequestBody<'static> {
    RequestBody::ListOffsets(ListOffsetsRequest {
        replica_id: -1,
        isolation_level: 0,
        topics: vec![ListOffsetsTopic {
            name: topic.into(),
            partitions: vec![ListOffsetsPartition {
                partition_index: 0,
                current_leader_epoch: -1,
                timestamp: LATEST_TIMESTAMP,
                max_num_offsets: 1,
            }],
        }],
    })
}

/// A consumer's Fetch of partition 0 from `offset`, answered at once (`max_wait_ms` 0).
pub fn fetch(topic: &str, offset: i64, max_bytes: i32) -> RequestBody<'static> {
    RequestBody::Fetch(FetchRequest {
        replica_id: -1,
        max_wait_ms: 0,
        min_bytes: 1,
        max_bytes,
        isolation_level: 0,
        session_id: 0,
        session_epoch: -1,
        topics: vec![FetchTopic {
            topic: topic.into(),
            partitions: vec![FetchPartition {
                partition: 0,
                current_leader_epoch: -1,
                fetch_offset: offset,
                log_start_offset: -1,
                partition_max_bytes: max_bytes,
            }],
        }],
        forgotten_topics_data: Vec::new(),
        rack_id: String::new(),
    })
}

/// Every file and directory under `dir`, relative, sorted: to show that nothing was
/// created. The broker's own lock file (`.lock`, there while it runs) is left out.
pub fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.file_name().is_some_and(|n| n == ".lock") {
                continue;
            }
            out.push(p.strip_prefix(dir).unwrap().display().to_string());
            if p.is_dir() {
                stack.push(p);
            }
        }
    }
    out.sort();
    out
}
