//! `zc serve` at its limits, probed from outside as an attacker or an unlucky operator would:
//! OS limits set with `prlimit` (and `setpriv` for the thread limit, which root ignores),
//! hostile clients on loopback sockets. Each test shows the broker refusing what it must,
//! serving a well-behaved client throughout, stopping cleanly and restarting with every
//! record exactly once.
//!
//! - topic auto-creation: capped per request and in total, partition directories appear
//!   whole, and a broker full of partitions restarts under the same descriptor limit;
//! - descriptors exhausted: accept refuses that one connection, without spinning;
//! - the thread limit: a connection whose thread cannot start is refused, nothing more;
//! - request memory: a size prefix reserves nothing, and the bytes held by half-received
//!   requests stay within `--max-queued-request-bytes`;
//! - a second broker on the same log directory is refused, naming the first one's pid;
//! - a symlinked segment file is refused at recovery and its target left untouched;
//! - idempotent producers: a batch sent twice is stored once, across restarts too, and
//!   kafka-python's idempotent producer survives a `kill -9` of the broker mid-produce;
//! - `--max-connections-per-ip`, and idle connections reclaimed at `--max-connections`.

mod common;
#[path = "common/broker.rs"]
mod harness;

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use harness::{Broker, Raw, batch, serve_args};
use zc::kafka::{
    ApiVersionsRequest, ErrorCode, InitProducerIdRequest, InitProducerIdResponse, MetadataResponse,
    RequestBody,
};

/// `zc serve` on `addr` with `log_dir`, behind `wrapper` (e.g. `prlimit --nofile=...`).
fn wrapped(wrapper: &[&str], zc: &Path, log_dir: &Path, addr: &str, extra: &[&str]) -> Command {
    let mut cmd = Command::new(wrapper[0]);
    cmd.args(&wrapper[1..])
        .arg(zc)
        .args(serve_args(log_dir, addr, extra));
    cmd
}

fn zc_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_zc"))
}

fn answers(raw: &mut Raw) -> bool {
    let body = RequestBody::ApiVersions(ApiVersionsRequest::default());
    raw.try_send(2, &body).is_some() && raw.receive().is_some()
}

/// A new connection is served (retrying for a few seconds while slots free up).
fn a_newcomer_is_served(addr: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(stream) = TcpStream::connect(addr) {
            let mut raw = Raw::over(stream);
            if answers(&mut raw) {
                return true;
            }
        }
        thread::sleep(Duration::from_millis(100));
    }
    false
}

/// Resident and peak memory of a process, in MiB, from /proc/PID/status.
fn rss_mib(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .unwrap()
            / 1024.0
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// CPU seconds (user + system) a process has used, from /proc/PID/stat.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0 // USER_HZ
}

fn metadata(raw: &mut Raw, names: &[String]) -> MetadataResponse {
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    raw.call(8, &harness::metadata(&names, true))
}

/// Every partition directory holds its three files, and no creation was left half-done.
fn partitions_are_whole(log_dir: &Path) -> usize {
    let mut partitions = 0;
    for entry in std::fs::read_dir(log_dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(!name.starts_with("~creating"), "left behind: {name}");
        if !path.is_dir() {
            continue;
        }
        for ext in ["log", "index", "timeindex"] {
            let file = path.join(format!("00000000000000000000.{ext}"));
            assert!(file.is_file(), "{} is missing", file.display());
        }
        partitions += 1;
    }
    partitions
}

#[test]
fn auto_creation_is_capped_partitions_appear_whole_and_the_broker_restarts_at_its_fd_limit() {
    let dir = tempfile::tempdir().unwrap();
    let nofile = ["prlimit", "--nofile=400:400", "--"];
    let extra = [
        "--max-connections",
        "20",
        "--max-creations-per-request",
        "50",
    ];
    let start = |wrapper: &[&str]| {
        Broker::start_command(wrapped(
            wrapper,
            zc_bin(),
            dir.path(),
            "127.0.0.1:0",
            &extra,
        ))
    };
    let mut broker = start(&nofile);
    let mut good = Raw::connect(&broker.addr());
    assert_eq!(
        good.produce("good", &batch(&["1", "2", "3"])).base_offset,
        0
    );

    // 7,000 names in one request took 20,000 descriptors before; now each request creates
    // at most 50, and the descriptor budget stops creation well before the limit.
    let names: Vec<String> = (0..2000).map(|i| format!("flood-{i}")).collect();
    let mut hostile = Raw::connect(&broker.addr());
    let first = metadata(&mut hostile, &names);
    let made = |r: &MetadataResponse| {
        r.topics
            .iter()
            .filter(|t| t.error_code == ErrorCode::None)
            .count()
    };
    assert_eq!(made(&first), 50, "one request creates at most 50");
    assert!(
        first.topics[50..]
            .iter()
            .all(|t| t.error_code == ErrorCode::ThrottlingQuotaExceeded)
    );
    let mut created = 50;
    let mut policy = false;
    for _ in 0..40 {
        let r = metadata(&mut hostile, &names);
        let now = made(&r);
        policy |= r
            .topics
            .iter()
            .any(|t| t.error_code == ErrorCode::PolicyViolation);
        if now == created {
            break;
        }
        created = now;
        assert!(answers(&mut good), "the good client was not served");
    }
    assert!(
        policy,
        "the descriptor budget never refused: {created} created"
    );
    assert!(
        created < 400 / 3,
        "{created} partitions under 400 descriptors"
    );
    eprintln!("created {created} topics under a 400-descriptor limit before POLICY_VIOLATION");
    // The reserve is intact: the good client, and a new one, are served.
    assert_eq!(good.latest("good"), (ErrorCode::None, 3));
    assert!(a_newcomer_is_served(&broker.addr()));
    assert!(
        broker.log().contains("topic creation(s) refused"),
        "{}",
        broker.log()
    );
    let (status, log) = broker.stop();
    assert!(status.success(), "{log}");
    assert_eq!(partitions_are_whole(dir.path()), created + 1);

    // The same limit holds them all again.
    let mut broker = start(&nofile);
    let mut raw = Raw::connect(&broker.addr());
    assert_eq!(made(&metadata(&mut raw, &names[..created])), created);
    assert_eq!(raw.latest("good"), (ErrorCode::None, 3));
    assert!(broker.stop().0.success());

    // Far below what they need: a refusal that names the figures and the fix.
    let out = harness::run_bounded(
        wrapped(
            &["prlimit", "--nofile=100:100", "--"],
            zc_bin(),
            dir.path(),
            "127.0.0.1:0",
            &extra,
        ),
        b"",
        Duration::from_secs(20),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("file descriptors") && stderr.contains("Raise the limit"),
        "{stderr}"
    );
}

#[test]
fn out_of_descriptors_accept_refuses_that_connection_without_spinning() {
    let dir = tempfile::tempdir().unwrap();
    let mut broker = Broker::start_command(wrapped(
        &["prlimit", "--nofile=100:100", "--"],
        zc_bin(),
        dir.path(),
        "127.0.0.1:0",
        &["--max-connections", "200"],
    ));
    assert!(broker.log().contains("will be refused"), "{}", broker.log());
    let mut good = Raw::connect(&broker.addr());
    assert!(answers(&mut good));

    let flood: Vec<TcpStream> = (0..150)
        .filter_map(|_| TcpStream::connect(broker.addr()).ok())
        .collect();
    thread::sleep(Duration::from_millis(500));
    let cpu_before = cpu_seconds(broker.pid());
    thread::sleep(Duration::from_secs(2));
    let cpu = cpu_seconds(broker.pid()) - cpu_before;
    eprintln!(
        "{} flood connections; broker CPU over 2 s: {cpu:.2} s",
        flood.len()
    );
    // A busy accept loop takes a whole core: 2 s of CPU in 2 s.
    assert!(cpu < 1.0, "the accept loop spins: {cpu:.2} s of CPU in 2 s");
    let log = broker.log();
    let refusals = log.matches("Too many open files").count();
    assert!(refusals >= 1, "{log}");
    assert!(refusals <= 5, "logged {refusals} times in ~2.5 s: {log}");
    assert!(answers(&mut good), "the good client was not served");

    drop(flood);
    assert!(a_newcomer_is_served(&broker.addr()));
    assert!(answers(&mut good));
    assert!(broker.stop().0.success());
}

#[test]
fn a_connection_whose_thread_cannot_start_is_refused_and_the_broker_keeps_serving() {
    if !nix::unistd::Uid::effective().is_root() {
        eprintln!("SKIPPED: needs root to run the broker as another user under a thread limit");
        return;
    }
    // Root ignores RLIMIT_NPROC, so the broker runs as nobody, from a copy of the binary
    // that nobody may run, in a directory nobody may write.
    let dir = tempfile::tempdir().unwrap();
    let zc = dir.path().join("zc");
    std::fs::copy(zc_bin(), &zc).unwrap();
    let log_dir = dir.path().join("log");
    std::fs::create_dir(&log_dir).unwrap();
    for p in [dir.path(), log_dir.as_path()] {
        std::os::unix::fs::PermissionsExt::set_mode(
            &mut std::fs::metadata(p).unwrap().permissions(),
            0o777,
        );
        std::fs::set_permissions(p, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    }
    let wrapper = [
        "prlimit",
        "--nproc=12:12",
        "--",
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--",
    ];
    let mut broker = Broker::start_command(wrapped(
        &wrapper,
        &zc,
        &log_dir,
        "127.0.0.1:0",
        &["--max-connections", "100"],
    ));
    let mut good = Raw::connect(&broker.addr());
    assert!(answers(&mut good));
    let crowd: Vec<TcpStream> = (0..30)
        .filter_map(|_| TcpStream::connect(broker.addr()).ok())
        .collect();
    assert!(
        broker.wait_for_log("cannot start a connection thread", Duration::from_secs(10)),
        "{}",
        broker.log()
    );
    assert!(answers(&mut good), "the good client was not served");
    drop(crowd);
    assert!(a_newcomer_is_served(&broker.addr()));
    let (status, log) = broker.stop();
    assert!(status.success(), "{log}");
}

/// Sends a size prefix announcing `announced` bytes, then `send` bytes of it.
fn half_request(addr: &str, announced: usize, send: usize) -> thread::JoinHandle<TcpStream> {
    let addr = addr.to_owned();
    thread::spawn(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_write_timeout(Some(Duration::from_secs(3))).unwrap();
        s.write_all(&(announced as i32).to_be_bytes()).unwrap();
        let chunk = vec![0x5a; 1 << 20];
        let mut sent = 0;
        while sent < send {
            let n = chunk.len().min(send - sent);
            // A blocked write times out: the broker stopped reading, as it should.
            if s.write_all(&chunk[..n]).is_err() {
                break;
            }
            sent += n;
        }
        s
    })
}

#[test]
fn a_size_prefix_reserves_nothing_and_half_received_requests_stay_within_the_budget() {
    let dir = tempfile::tempdir().unwrap();
    let mut broker = Broker::start_command(wrapped(
        &["prlimit", "--as=2147483648", "--"],
        zc_bin(),
        dir.path(),
        "127.0.0.1:0",
        &["--max-queued-request-bytes", "64MiB"],
    ));
    let addr = broker.addr();
    let mut good = Raw::connect(&addr);
    let (rss_start, _) = rss_mib(broker.pid());

    // 30 announcements of 100 MiB under a 2 GiB address space aborted the broker before.
    let prefixes: Vec<TcpStream> = (0..30)
        .map(|_| half_request(&addr, 100 << 20, 0).join().unwrap())
        .collect();
    thread::sleep(Duration::from_millis(500));
    let (rss_prefixes, _) = rss_mib(broker.pid());
    assert!(answers(&mut good), "the good client was not served");

    // 6 x 48 MiB of real bytes against a 64 MiB budget.
    let senders: Vec<_> = (0..6)
        .map(|_| half_request(&addr, 60 << 20, 48 << 20))
        .collect();
    let mut peak: f64 = 0.0;
    for _ in 0..20 {
        thread::sleep(Duration::from_millis(100));
        peak = peak.max(rss_mib(broker.pid()).0);
        assert!(answers(&mut good), "the good client was not served");
    }
    let held: Vec<TcpStream> = senders.into_iter().map(|s| s.join().unwrap()).collect();
    peak = peak.max(rss_mib(broker.pid()).0);
    drop(held);
    drop(prefixes);
    thread::sleep(Duration::from_secs(1));
    let (rss_after, hwm) = rss_mib(broker.pid());
    eprintln!(
        "RSS: {rss_start:.0} MiB at start, {rss_prefixes:.0} MiB with 30 x 100 MiB \
         announced, {peak:.0} MiB peak with 6 x 48 MiB sent against a 64 MiB budget \
         (high-water {hwm:.0} MiB), {rss_after:.0} MiB after they closed"
    );
    assert!(
        rss_prefixes < rss_start + 16.0,
        "announcements took memory: {rss_start:.0} -> {rss_prefixes:.0} MiB"
    );
    // 288 MiB was sent; the budget, the 64 KiB allowances and the broker's own memory
    // are what may be resident.
    assert!(
        peak < rss_start + 64.0 + 48.0,
        "held {peak:.0} MiB against a 64 MiB budget"
    );
    assert!(
        rss_after < rss_start + 16.0,
        "memory not given back: {rss_start:.0} -> {rss_after:.0} MiB"
    );
    assert!(a_newcomer_is_served(&addr));
    let (status, log) = broker.stop();
    assert!(status.success(), "{log}");
}

#[test]
fn a_second_broker_on_the_same_log_dir_is_refused_naming_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = Broker::start(dir.path(), &[]);
    let mut raw = Raw::connect(&first.addr());
    let values: Vec<String> = (0..100).map(|i| format!("v{i}")).collect();
    assert_eq!(
        raw.produce("t", &batch(&values)).error_code,
        ErrorCode::None
    );

    let second = harness::run_bounded(
        common::zc_command(&serve_args(dir.path(), "127.0.0.1:0", &[])),
        b"",
        Duration::from_secs(20),
    );
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("locked by process {}", first.pid())),
        "{stderr}"
    );
    assert_eq!(
        raw.latest("t"),
        (ErrorCode::None, 100),
        "the first still serves"
    );

    // The kernel drops the lock with the process, however it ends.
    first.kill9();
    let mut again = Broker::start(dir.path(), &[]);
    let (_, _, records) = Raw::connect(&again.addr()).fetch("t", 0);
    let got: Vec<Vec<u8>> = records.into_iter().map(|(_, v)| v).collect();
    let want: Vec<Vec<u8>> = values.iter().map(|v| v.clone().into_bytes()).collect();
    assert_eq!(got, want, "every acknowledged record, once");
    assert!(again.stop().0.success());
}

#[test]
fn a_symlinked_segment_file_is_refused_and_its_target_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let log_dir = dir.path().join("log");
    let mut broker = Broker::start(&log_dir, &[]);
    let mut raw = Raw::connect(&broker.addr());
    assert_eq!(
        raw.produce("t", &batch(&["a", "b"])).error_code,
        ErrorCode::None
    );
    assert!(broker.stop().0.success());

    let segment = log_dir.join("t-0/00000000000000000000.log");
    let victim = dir.path().join("precious");
    std::fs::write(&victim, b"not a segment; must not be truncated").unwrap();
    std::fs::remove_file(&segment).unwrap();
    std::os::unix::fs::symlink(&victim, &segment).unwrap();

    let out = harness::run_bounded(
        common::zc_command(&serve_args(&log_dir, "127.0.0.1:0", &[])),
        b"",
        Duration::from_secs(20),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("is a symbolic link") && stderr.contains("00000000000000000000.log"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(&victim).unwrap(),
        b"not a segment; must not be truncated"
    );
}

/// A batch of `values` from idempotent producer `id` at `epoch`, first sequence `seq`.
fn idempotent(values: &[&str], id: i64, epoch: i16, seq: i32) -> Vec<u8> {
    let mut b = batch(values);
    b[43..51].copy_from_slice(&id.to_be_bytes());
    b[51..53].copy_from_slice(&epoch.to_be_bytes());
    b[53..57].copy_from_slice(&seq.to_be_bytes());
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    b
}

fn producer_id(raw: &mut Raw) -> i64 {
    let body = RequestBody::InitProducerId(InitProducerIdRequest {
        transactional_id: None,
        transaction_timeout_ms: 60_000,
    });
    let r: InitProducerIdResponse = raw.call(1, &body);
    assert_eq!(r.error_code, ErrorCode::None);
    r.producer_id
}

#[test]
fn an_idempotent_batch_sent_twice_is_stored_once_even_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut broker = Broker::start(dir.path(), &[]);
    let mut raw = Raw::connect(&broker.addr());
    let id = producer_id(&mut raw);
    let first = idempotent(&["a", "b", "c"], id, 0, 0);
    assert_eq!(raw.produce("t", &first).base_offset, 0);
    // The same batch again (a retry after a lost acknowledgement): the original offset.
    let again = raw.produce("t", &first);
    assert_eq!((again.error_code, again.base_offset), (ErrorCode::None, 0));
    assert_eq!(raw.latest("t").1, 3, "the duplicate was appended");
    assert_eq!(
        raw.produce("t", &idempotent(&["d"], id, 0, 3)).base_offset,
        3
    );
    let gap = raw.produce("t", &idempotent(&["x"], id, 0, 9));
    assert_eq!(gap.error_code, ErrorCode::OutOfOrderSequenceNumber);
    let bumped = idempotent(&["e"], id, 1, 0);
    assert_eq!(raw.produce("t", &bumped).base_offset, 4);
    let fenced = raw.produce("t", &idempotent(&["y"], id, 0, 4));
    assert_eq!(fenced.error_code, ErrorCode::InvalidProducerEpoch);
    assert_eq!(raw.latest("t").1, 5);

    // kill -9: the state comes back from the log.
    broker.kill9();
    let mut broker = Broker::start(dir.path(), &[]);
    let mut raw = Raw::connect(&broker.addr());
    let after = raw.produce("t", &bumped);
    assert_eq!((after.error_code, after.base_offset), (ErrorCode::None, 4));
    assert_eq!(
        raw.latest("t").1,
        5,
        "the duplicate was appended after a restart"
    );
    assert!(
        producer_id(&mut raw) > id,
        "a new producer reuses an id in the log"
    );
    let (_, _, records) = raw.fetch("t", 0);
    let values: Vec<Vec<u8>> = records.into_iter().map(|(_, v)| v).collect();
    assert_eq!(values, [b"a", b"b", b"c", b"d", b"e"]);
    assert!(broker.stop().0.success());
}

const IDEMPOTENT_PRODUCER: &str = r#"
import sys
try:
    from kafka import KafkaProducer
except ImportError:
    sys.exit(3)
bootstrap, topic, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
p = KafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all",
                  retries=1000, linger_ms=2, batch_size=4096, request_timeout_ms=4000,
                  reconnect_backoff_ms=50, reconnect_backoff_max_ms=200,
                  retry_backoff_ms=50, max_in_flight_requests_per_connection=5)
futures = [p.send(topic, ("v%06d" % i).encode()) for i in range(n)]
p.flush(timeout=60)
acked = failed = 0
for f in futures:
    try:
        f.get(timeout=1)
        acked += 1
    except Exception as e:
        failed += 1
print("acked", acked, "failed", failed)
"#;

#[test]
fn kafka_python_idempotent_producer_loses_and_duplicates_nothing_across_a_broker_kill9() {
    let probe = Command::new("python3")
        .args(["-c", "import kafka"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        assert!(
            !harness::under_ci(),
            "CI must install kafka-python (.ci/run)"
        );
        eprintln!(
            "SKIPPED: kafka-python not installed (pip install kafka-python, as .ci/run does)"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // A fixed port, so that the producer finds the restarted broker where it was.
    let addr: SocketAddr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let addr = addr.to_string();
    let start = || Broker::start_command(common::zc_command(&serve_args(dir.path(), &addr, &[])));
    let mut broker = start();
    const N: i64 = 20_000;
    let producer = Command::new("python3")
        .args(["-c", IDEMPOTENT_PRODUCER, &addr, "idem", &N.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Kill the broker mid-produce, then bring it back on the same port.
    let mut watcher = None;
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let raw = watcher.get_or_insert_with(|| Raw::connect(&addr));
        let latest = raw.latest("idem");
        if latest.0 == ErrorCode::None && latest.1 > N / 4 {
            break;
        }
        thread::sleep(Duration::from_millis(20));
    }
    broker.kill9();
    drop(watcher);
    thread::sleep(Duration::from_millis(300));
    let mut broker = start();
    let out = harness::run_bounded_child(producer, harness::RUN_LIMIT);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("kafka-python: {stdout}");

    let mut raw = Raw::connect(&broker.addr());
    let mut values = Vec::new();
    while (values.len() as i64) < raw.latest("idem").1 {
        let (code, _, records) = raw.fetch("idem", values.len() as i64);
        assert_eq!(code, ErrorCode::None);
        values.extend(
            records
                .into_iter()
                .map(|(_, v)| String::from_utf8(v).unwrap()),
        );
    }
    let mut seen = std::collections::BTreeSet::new();
    let duplicates = values.iter().filter(|v| !seen.insert(*v)).count();
    let out_of_order = values.windows(2).filter(|w| w[0] >= w[1]).count();
    eprintln!(
        "{} records stored, {duplicates} duplicates, {out_of_order} out of order",
        values.len()
    );
    assert_eq!((duplicates, out_of_order), (0, 0));
    let acked: usize = stdout
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no acked count: {stdout}"));
    assert!(
        values.len() >= acked,
        "{acked} acknowledged, {} stored",
        values.len()
    );
    assert!(broker.stop().0.success());
}

/// A connection from `source` (any 127.0.0.0/8 address) to `addr`.
fn connect_from(source: &str, addr: &str) -> Raw {
    use nix::sys::socket::{AddressFamily, SockFlag, SockType, SockaddrIn, bind, connect, socket};
    use std::os::fd::AsRawFd;
    let fd = socket(
        AddressFamily::Inet,
        SockType::Stream,
        SockFlag::empty(),
        None,
    )
    .unwrap();
    let source: std::net::SocketAddrV4 = format!("{source}:0").parse().unwrap();
    bind(fd.as_raw_fd(), &SockaddrIn::from(source)).unwrap();
    let addr: std::net::SocketAddrV4 = addr.parse().unwrap();
    connect(fd.as_raw_fd(), &SockaddrIn::from(addr)).unwrap();
    Raw::over(TcpStream::from(fd))
}

#[test]
fn one_address_cannot_lock_the_others_out() {
    let dir = tempfile::tempdir().unwrap();
    let mut broker = Broker::start(
        dir.path(),
        &["--max-connections", "16", "--max-connections-per-ip", "12"],
    );
    let addr = broker.addr();
    let mut crowd: Vec<Raw> = (0..12).map(|_| connect_from("127.0.0.1", &addr)).collect();
    for raw in &mut crowd {
        assert!(answers(raw));
    }
    let mut extra = connect_from("127.0.0.1", &addr);
    assert!(!answers(&mut extra), "a 13th connection from one address");
    assert!(
        broker.wait_for_log("(--max-connections-per-ip)", Duration::from_secs(5)),
        "{}",
        broker.log()
    );
    // Other addresses fill the broker up to --max-connections, then a newcomer takes the
    // place of the connection idle the longest.
    let mut others: Vec<Raw> = (0..4).map(|_| connect_from("127.0.0.2", &addr)).collect();
    for raw in &mut others {
        assert!(answers(raw));
    }
    let mut newcomer = connect_from("127.0.0.3", &addr);
    assert!(answers(&mut newcomer), "locked out at --max-connections");
    assert!(
        harness::closed_by_server(&mut crowd[0].stream),
        "not the idlest"
    );
    assert!(answers(&mut others[3]));
    let (status, log) = broker.stop();
    assert!(status.success(), "{log}");
}
