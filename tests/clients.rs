//! Black-box tests of `zc produce` and `zc consume` against a real `zc serve`: the three
//! binaries as separate processes on 127.0.0.1, the bytes checked end to end. Each test
//! starts its own server on port 0 in its own temp directory; the server is killed when
//! the test ends, pass or fail, and every client run is killed after a deadline.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use common::{zc, zc_command};

/// Longest any one client run may take before the test kills it and fails.
const RUN_LIMIT: Duration = Duration::from_secs(60);

/// A `zc serve` child process, killed on drop.
struct Server {
    child: Child,
    addr: String,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let mut child = zc_command(&[
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--log-dir",
            dir.path().to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start zc serve");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        // Reads the server's stderr to the end (so it never blocks on a full pipe) and
        // reports the port from its "listening on 127.0.0.1:PORT" line.
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on 127.0.0.1:").nth(1) {
                    let port: String = rest.chars().take_while(char::is_ascii_digit).collect();
                    let _ = tx.send(port);
                }
            }
        });
        let port = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("zc serve did not say where it listens within 20 s");
        Server {
            child,
            addr: format!("127.0.0.1:{port}"),
            _dir: dir,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `zc args` with `input` on stdin; kills it after [`RUN_LIMIT`].
fn run(args: &[&str], input: &[u8]) -> Output {
    let mut child = zc_command(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start zc");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let output = wait_with_deadline(child, args);
    writer.join().unwrap();
    output
}

fn wait_with_deadline(mut child: Child, args: &[&str]) -> Output {
    let (mut stdout, mut stderr) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let out = thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout.read_to_end(&mut buf);
        buf
    });
    let err = thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stderr.read_to_end(&mut buf);
        buf
    });
    let deadline = Instant::now() + RUN_LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("zc {args:?} ran longer than {RUN_LIMIT:?}");
        }
        thread::sleep(Duration::from_millis(10));
    };
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

fn ok(output: Output, args: &[&str]) -> Output {
    assert!(
        output.status.success(),
        "zc {args:?} failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn produce(server: &Server, topic: &str, extra: &[&str], input: &[u8]) -> Output {
    let mut args = vec!["produce", "-b", &server.addr, "-t", topic];
    args.extend(extra);
    ok(run(&args, input), &args)
}

fn consume(server: &Server, topic: &str, extra: &[&str]) -> Output {
    let mut args = vec!["consume", "-b", &server.addr, "-t", topic];
    args.extend(extra);
    ok(run(&args, b""), &args)
}

/// Lines with bytes that trip up text handling: not UTF-8, CR, NUL, tabs, empty lines.
fn awkward_lines(n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..n {
        match i % 5 {
            0 => out.extend_from_slice(format!("line {i}").as_bytes()),
            1 => out.extend_from_slice(&[0xff, 0xfe, 0x00, b'\t', 0x80, b'\r', b'.']),
            2 => {}
            3 => out.extend_from_slice(format!("crlf {i}\r").as_bytes()),
            _ => out.extend(std::iter::repeat_n(b'x', i % 3000)),
        }
        out.push(b'\n');
    }
    out
}

#[test]
fn produced_lines_come_back_byte_identical() {
    let server = Server::start();
    let input = awkward_lines(3000);
    let produced = produce(&server, "lines", &[], &input);
    let summary = String::from_utf8_lossy(&produced.stderr);
    assert!(summary.contains("3000 records"), "{summary}");
    assert!(summary.contains("offsets 0..=2999 (acks=-1)"), "{summary}");

    let consumed = consume(&server, "lines", &["--count", "3000"]);
    assert!(
        consumed.stdout == input,
        "the values differ from the lines sent"
    );
    // Without --count: up to the end the partition had at start, same bytes.
    assert!(consume(&server, "lines", &[]).stdout == input);
}

#[test]
fn generated_records_round_trip_with_every_acks_setting() {
    let server = Server::start();
    for acks in ["0", "1", "-1"] {
        let topic = format!("gen{}", acks.replace('-', "m"));
        let produced = produce(
            &server,
            &topic,
            &["--records", "20000", "--record-size", "100", "--acks", acks],
            b"",
        );
        let summary = String::from_utf8_lossy(&produced.stderr);
        assert!(summary.contains("20000 records"), "{summary}");
        if acks == "0" {
            assert!(
                summary.contains("the partition now ends at 20000"),
                "{summary}"
            );
        } else {
            assert!(summary.contains("offsets 0..=19999"), "{summary}");
        }
        let out = consume(&server, &topic, &[]).stdout;
        let lines: Vec<&[u8]> = out
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        assert_eq!(lines.len(), 20000, "acks {acks}");
        for (i, line) in lines.iter().enumerate() {
            assert_eq!(line.len(), 100);
            assert!(
                line.starts_with(format!("0:{i:012} ").as_bytes()),
                "record {i}"
            );
        }
    }
}

#[test]
fn consume_starts_where_asked() {
    let server = Server::start();
    produce(
        &server,
        "t",
        &["--records", "50", "--record-size", "20"],
        b"",
    );
    let out = consume(&server, "t", &["--from", "10", "--count", "3"]).stdout;
    let text = String::from_utf8(out).unwrap();
    let prefixes: Vec<&str> = text.lines().map(|l| &l[..14]).collect();
    assert_eq!(
        prefixes,
        ["0:000000000010", "0:000000000011", "0:000000000012"]
    );
    // From the end, without --count or --follow: nothing to read, a clean exit.
    let latest = consume(&server, "t", &["--from", "latest"]);
    assert!(latest.stdout.is_empty());
}

#[test]
fn consume_waits_for_records_produced_later() {
    let server = Server::start();
    produce(&server, "later", &["--records", "1"], b"");
    let args = [
        "consume",
        "-b",
        &server.addr,
        "-t",
        "later",
        "--from",
        "latest",
        "--count",
        "2",
    ];
    let child = zc_command(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    thread::sleep(Duration::from_millis(300));
    produce(&server, "later", &[], b"first\nsecond\n");
    let out = ok(wait_with_deadline(child, &args), &args);
    assert_eq!(out.stdout, b"first\nsecond\n");
}

#[test]
fn bench_prints_throughput_instead_of_values() {
    let server = Server::start();
    produce(&server, "b", &["--records", "10000"], b"");
    let out = consume(&server, "b", &["--bench"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("zc consume --bench: 10000 records"),
        "{text}"
    );
    assert!(
        text.contains("MiB/s") && text.contains("records/s"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 1, "{text}");
}

#[test]
fn a_closed_stdout_ends_consume_quietly() {
    let server = Server::start();
    produce(
        &server,
        "many",
        &["--records", "50000", "--record-size", "200"],
        b"",
    );
    let args = ["consume", "-b", &server.addr, "-t", "many"];
    let mut child = zc_command(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap(); // the reader is dropped here: like `| head -1`
    assert!(first.starts_with("0:000000000000 "), "{first}");
    let deadline = Instant::now() + RUN_LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "consume kept running");
        thread::sleep(Duration::from_millis(10));
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(status.success(), "{status}: {stderr}");
    assert!(!stderr.contains("error"), "{stderr}");
}

#[test]
fn unknown_topic_fails_with_the_reason_and_a_remedy() {
    let server = Server::start();
    let args = ["consume", "-b", &server.addr, "-t", "nosuchtopic"];
    let out = run(&args, b"");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("UNKNOWN_TOPIC_OR_PARTITION"), "{stderr}");
    assert!(
        stderr.contains("topic nosuchtopic does not exist"),
        "{stderr}"
    );
    assert!(stderr.contains(&server.addr), "{stderr}");
}

#[test]
fn timeout_ends_a_wait_for_records_that_never_come() {
    let server = Server::start();
    produce(&server, "few", &["--records", "5"], b"");
    let args = [
        "consume",
        "-b",
        &server.addr,
        "-t",
        "few",
        "--count",
        "10",
        "--timeout",
        "1",
    ];
    let started = Instant::now();
    let out = run(&args, b"");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("gave up after 1.0 s with 5 records read, at offset 5"),
        "{stderr}"
    );
    assert_eq!(
        out.stdout
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .count(),
        5
    );
}

#[test]
fn nothing_listening_is_a_clear_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let out = run(&["produce", "-b", &addr, "-t", "t"], b"x\n");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("cannot connect to {addr}")),
        "{stderr}"
    );
}

#[test]
fn help_shows_examples() {
    for cmd in ["produce", "consume"] {
        let help = zc(&[cmd, "--help"]).success().stdout;
        assert!(help.contains("Examples:"), "{help}");
        assert!(
            help.contains(&format!("zc {cmd} -b 127.0.0.1:9092")),
            "{help}"
        );
    }
    let acks = zc(&["produce", "--help"]).stdout;
    assert!(acks.contains("-1 is the default"), "{acks}");
    let consume = zc(&["consume", "--help"]).stdout;
    assert!(consume.contains("high watermark"), "{consume}");
}

#[test]
fn bad_arguments_exit_2() {
    zc(&["produce", "-b", "x:1", "-t", "t", "--acks", "2"]).code(2);
    zc(&["consume", "-b", "x:1", "-t", "t", "--from", "soon"]).code(2);
    zc(&["produce", "-b", "x:1", "-t", "t", "--record-size", "10"]).code(2);
}
