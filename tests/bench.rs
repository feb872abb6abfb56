//! Black-box tests of `zc bench` and `zc sink`: the real binary, real sockets on
//! 127.0.0.1, the committed demo log. Invariants, never timings.

mod common;

use std::net::TcpListener;
use std::process::Stdio;
use std::thread;

use common::{zc, zc_command};
use serde_json::Value;

fn demo() -> &'static str {
    "fixtures/demo-log"
}

/// Runs a quick bench on the demo log with `extra` arguments and returns its JSON export.
fn bench_json(extra: &[&str]) -> Value {
    let tmp = tempfile::tempdir().unwrap();
    let json = tmp.path().join("out.json");
    let mut args = vec![
        "bench",
        "--fixture",
        demo(),
        "--runs",
        "2",
        "--warmup",
        "0",
        "--quiet",
    ];
    let json_arg = json.to_str().unwrap().to_owned();
    args.extend(["--export", &json_arg]);
    args.extend(extra);
    let run = zc(&args).success();
    assert!(run.stdout.contains("GiB/s"), "{}", run.stdout);
    serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap()
}

fn row<'a>(report: &'a Value, mode: &str) -> &'a Value {
    report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["mode"] == mode)
        .unwrap_or_else(|| panic!("no row for {mode}"))
}

fn median(row: &Value, key: &str) -> Option<f64> {
    let m = row["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["key"] == key)?;
    m["value"]["median"].as_f64()
}

#[test]
fn every_mode_delivers_the_log_intact_with_verify() {
    let report = bench_json(&["--verify", "--sink", "read"]);
    assert_eq!(report["schema"], 3);
    assert_eq!(report["setup"]["verify"], true);
    for mode in ["read-write", "mmap", "sendfile", "splice"] {
        let r = row(&report, mode);
        assert_eq!(r["runs"].as_array().unwrap().len(), 2, "{mode}");
        for run in r["runs"].as_array().unwrap() {
            assert_eq!(run["bytes"], report["setup"]["fixture"]["bytes"], "{mode}");
        }
    }
}

#[test]
fn user_space_copies_and_syscall_counts_match_each_modes_data_path() {
    let report = bench_json(&["--chunk", "64K"]);
    let bytes = report["setup"]["fixture"]["bytes"].as_f64().unwrap();
    let chunks = bytes / 65536.0;
    for (mode, copies, syscalls_per_chunk) in [
        ("read-write", 2.0, 2.0),
        ("mmap", 1.0, 1.0),
        ("sendfile", 0.0, 1.0),
        ("splice", 0.0, 2.0),
    ] {
        let r = row(&report, mode);
        assert_eq!(median(r, "user_copied_per_byte"), Some(copies), "{mode}");
        for run in r["runs"].as_array().unwrap() {
            let own = run["tally"]["syscalls"]
                .as_object()
                .unwrap()
                .values()
                .map(|v| v.as_f64().unwrap())
                .sum::<f64>();
            let expected = syscalls_per_chunk * chunks;
            // Per-segment set-up (mmap/munmap/madvise, five segments) and partial last
            // chunks add a little; short writes would add more, never less.
            assert!(
                own >= expected * 0.99 && own <= expected * 1.10 + 20.0,
                "{mode}: {own} self-counted syscalls, expected about {expected}"
            );
            // Where the kernel counted too, the two agree: the kernel also sees the
            // end-of-transfer shutdown and trailer read and little else.
            if let Some(kernel) = run["sample"]["syscalls"].as_f64() {
                let overhead = run["sample"]["probe_overhead_syscalls"]
                    .as_f64()
                    .unwrap_or(0.0);
                let kernel = kernel - overhead;
                assert!(
                    (kernel - own).abs() <= own * 0.02 + 10.0,
                    "{mode}: kernel counted {kernel}, zc counted {own}"
                );
            }
        }
    }
}

#[test]
fn table_labels_model_and_measured_and_names_the_congestion_control() {
    let run = zc(&[
        "bench",
        "--fixture",
        demo(),
        "--runs",
        "1",
        "--warmup",
        "0",
        "--mode",
        "read-write,sendfile",
    ])
    .success();
    let out = run.stdout.to_lowercase();
    assert!(out.contains("model"), "{}", run.stdout);
    assert!(out.contains("measured"), "{}", run.stdout);
    assert!(out.contains("sendfile") && out.contains("read-write"));
    assert!(
        !out.contains("splice |") && !out.contains("│ splice"),
        "only the asked modes"
    );
    assert!(out.contains("congestion"), "{}", run.stdout);
}

#[test]
fn missing_fixture_names_the_command_that_creates_one() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nope");
    let run = zc(&["bench", "--fixture", missing.to_str().unwrap()]).code(1);
    assert!(run.stderr.contains("zc fixture gen"), "{}", run.stderr);
}

#[test]
fn bad_arguments_are_usage_errors_listing_what_is_valid() {
    for (args, expected) in [
        (&["--chunk", "0"][..], "chunk must be 1 byte"),
        (&["--chunk", "1G"][..], "chunk must be 1 byte"),
        (&["--mode", "carrier-pigeon"][..], "read-write"),
        (&["--sink", "nowhere"][..], "splice"),
        (&["--export", "out.xlsx"][..], ".json"),
        (&["--runs", "0"][..], "runs"),
        (&["--consumers", "0"][..], "--consumers 0 is out of range"),
        (&["--consumers", "65"][..], "use 1 to 64"),
    ] {
        let mut a = vec!["bench", "--fixture", "fixtures/demo-log"];
        a.extend(args);
        let run = zc(&a).code(2);
        assert!(run.stderr.contains(expected), "{args:?}: {}", run.stderr);
    }
}

#[test]
fn a_sink_that_vanishes_mid_transfer_is_an_error_naming_mode_and_progress() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    // Accept, read a little, then reset the connection, for every connection.
    thread::spawn(move || {
        for stream in listener.incoming().take(2) {
            let mut s = stream.unwrap();
            let mut buf = [0u8; 1000];
            let _ = std::io::Read::read(&mut s, &mut buf);
            drop(s);
        }
    });
    let run = zc(&[
        "bench",
        "--fixture",
        demo(),
        "--connect",
        &addr,
        "--mode",
        "sendfile",
        "--runs",
        "1",
        "--warmup",
        "0",
    ])
    .code(1);
    assert!(run.stderr.contains("sendfile"), "{}", run.stderr);
    assert!(run.stderr.contains("sent"), "{}", run.stderr);
    assert!(
        run.stderr.contains("EPIPE")
            || run.stderr.contains("ECONNRESET")
            || run.stderr.contains("reset"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
}

#[test]
fn bench_sends_to_a_separate_zc_sink_process() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let sink = zc_command(&["sink", "--listen", &addr, "--verify", "--connections", "2"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until it listens.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::net::TcpStream::connect(&addr).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "zc sink did not start"
        );
        thread::sleep(std::time::Duration::from_millis(20));
    }
    // That probe connection counted as one of the two.
    let run = zc(&[
        "bench",
        "--fixture",
        demo(),
        "--connect",
        &addr,
        "--mode",
        "splice",
        "--runs",
        "1",
        "--warmup",
        "0",
        "--verify",
    ])
    .success();
    assert!(run.stdout.contains("splice"), "{}", run.stdout);
    assert!(
        run.stdout.contains("n/a"),
        "sink CPU is not measurable remotely: {}",
        run.stdout
    );
    let out = sink.wait_with_output().unwrap();
    assert!(out.status.success());
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("crc32c"), "{log}");
}

#[test]
fn counters_off_still_measures_time_and_says_why_the_rest_is_missing() {
    let report = bench_json(&["--no-counters", "--mode", "sendfile"]);
    let r = row(&report, "sendfile");
    assert!(median(r, "throughput").unwrap() > 0.0);
    assert!(
        median(r, "sender_cpu_per_gib").is_some(),
        "falls back to getrusage"
    );
    let metric = |key: &str| {
        r["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["key"] == key)
            .unwrap()
    };
    let cpu = metric("sender_cpu_per_gib");
    assert_eq!(cpu["fallback"], "rusage", "{cpu}");
    let sys = metric("syscalls_per_gib");
    assert!(
        sys["value"]["unavailable"]
            .as_str()
            .unwrap()
            .contains("--no-counters"),
        "{sys}"
    );
}

#[test]
fn clap_definition_is_consistent() {
    use clap::CommandFactory;
    zc::cli::Cli::command().debug_assert();
}

/// The fallback path: a user whom perf_event_paranoid denies kernel-mode counters still gets
/// a table, with `n/a` and the reason where counters were refused. As root the test drops
/// to `nobody` with setpriv; otherwise it runs as the current user.
#[test]
fn refused_perf_counters_fall_back_and_say_why() {
    let paranoid: i32 = std::fs::read_to_string("/proc/sys/kernel/perf_event_paranoid")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let root = nix::unistd::geteuid().is_root();
    let dir = tmp.path().join("log");
    common::copy_dir(std::path::Path::new(demo()), &dir);
    let args = [
        "bench",
        "--fixture",
        dir.to_str().unwrap(),
        "--runs",
        "1",
        "--warmup",
        "0",
        "--mode",
        "sendfile",
    ];
    let out: common::Run = if root {
        use std::os::unix::fs::PermissionsExt;
        for p in [tmp.path(), dir.as_path(), &dir.join("demo-0")] {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        std::process::Command::new("setpriv")
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                env!("CARGO_BIN_EXE_zc"),
            ])
            .args(args)
            .env("HOME", tmp.path())
            .output()
            .expect("setpriv")
            .into()
    } else {
        zc(&args)
    };
    let out = out.success();
    assert!(out.stdout.contains("GiB/s"), "{}", out.stdout);
    if paranoid >= 2 {
        assert!(out.stdout.contains("n/a"), "{}", out.stdout);
        assert!(
            out.stdout.contains("perf_event_paranoid=2"),
            "{}",
            out.stdout
        );
        assert!(
            out.stdout.contains("sysctl kernel.perf_event_paranoid=1"),
            "{}",
            out.stdout
        );
    } else {
        eprintln!(
            "perf_event_paranoid={paranoid}: kernel counters allowed, only the run is checked"
        );
    }
}

/// `--consumers 3`: every consumer gets the whole log intact, the counts cover all three
/// senders, and the page cache is shared: with a cold cache the log is read from storage
/// about once, not three times.
#[test]
fn many_consumers_share_one_page_cache_and_every_count_covers_them_all() {
    let report = bench_json(&[
        "--consumers",
        "3",
        "--cache",
        "cold",
        "--verify",
        "--mode",
        "read-write,mmap,sendfile",
    ]);
    assert_eq!(report["setup"]["consumers"], 3);
    let log = report["setup"]["fixture"]["bytes"].as_u64().unwrap();
    for (mode, copies_per_consumer) in [("read-write", 2.0), ("mmap", 1.0), ("sendfile", 0.0)] {
        let r = row(&report, mode);
        for run in r["runs"].as_array().unwrap() {
            assert_eq!(run["consumers"], 3, "{mode}");
            assert_eq!(run["bytes"].as_u64().unwrap(), 3 * log, "{mode}");
            assert_eq!(
                run["tally"]["bytes_sent"].as_u64().unwrap(),
                3 * log,
                "{mode}"
            );
        }
        // Regression: the run's wall time once ended at each sender's start + its probe's
        // wall, which missed time a thread spent off the CPU before its probe started; the
        // span then held more sender CPU time than the machine's CPUs could give it.
        let cpus = report["setup"]["environment"]["cpus_online"].as_u64();
        for run in r["runs"].as_array().unwrap() {
            let wall = run["sample"]["wall_ns"].as_u64().unwrap();
            if let (Some(cpus), Some(cpu)) = (cpus, run["sample"]["task_clock_ns"].as_u64()) {
                assert!(
                    cpu <= cpus * wall + 1_000_000,
                    "{mode}: {cpu} ns of sender CPU in {wall} ns on {cpus} CPUs"
                );
            }
        }
        let copied = median(r, "user_copied_logs").unwrap();
        assert_eq!(copied, 3.0 * copies_per_consumer, "{mode}");
        if let Some(read) = median(r, "storage_read_logs") {
            assert!(read <= 1.5, "{mode}: read {read} log sizes from storage");
        }
    }
}

#[test]
fn many_consumers_to_a_remote_sink_are_refused() {
    let run = zc(&[
        "bench",
        "--consumers",
        "2",
        "--connect",
        "127.0.0.1:9",
        "--fixture",
        demo(),
    ])
    .code(2);
    assert!(
        run.stderr.contains("one connection at a time"),
        "{}",
        run.stderr
    );
}

/// io-uring's lesson, kernel-counted: at 64 KiB one `io_uring_enter` carries a batch of
/// chunks, so the tracepoint sees well under one syscall per chunk, and the log arrives
/// intact.
#[test]
fn io_uring_makes_fewer_than_one_syscall_per_chunk_by_the_kernels_count() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("SKIPPED: the syscall tracepoints need root");
        return;
    }
    let report = bench_json(&["--mode", "io-uring", "--chunk", "64K", "--verify"]);
    let row = row(&report, "io-uring");
    let metric = row["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["key"] == "mode_switches_per_chunk")
        .unwrap();
    assert!(
        metric["source"]
            .as_str()
            .unwrap()
            .contains("kernel-counted"),
        "{metric}"
    );
    let per_chunk = metric["value"]["median"].as_f64().unwrap() / 2.0;
    assert!(per_chunk < 1.0, "{per_chunk} syscalls per chunk");
    assert!(per_chunk > 0.0, "the enters themselves are counted");
}

/// msg-zerocopy delivers the log intact, and every run's completions cover exactly the
/// bytes sent; on loopback all of them are flagged COPIED.
#[test]
fn msg_zerocopy_completions_cover_every_byte_and_loopback_copies_them() {
    let report = bench_json(&["--mode", "msg-zerocopy", "--verify"]);
    let row = row(&report, "msg-zerocopy");
    for run in row["runs"].as_array().unwrap() {
        let tally = &run["tally"];
        let zc = &tally["zerocopy"];
        assert_eq!(zc["completed_bytes"], tally["bytes_sent"], "{tally}");
        assert_eq!(zc["copied_bytes"], zc["completed_bytes"], "{tally}");
        assert!(zc["notifications"].as_u64().unwrap() > 0, "{tally}");
    }
}

/// `--mode all` runs every mode this kernel supports, the log intact in each (tls through a
/// rustls client that decrypts it), and gives the others a row of n/a with the reason
/// instead of stopping: ktls here, where the kernel has no `tls` ULP.
#[test]
fn mode_all_runs_the_modes_beyond_sendfile_and_gives_unsupported_ones_a_reason() {
    let report = bench_json(&["--mode", "all", "--verify"]);
    for mode in zc::transfer::Mode::ALL {
        let row = row(&report, mode.name());
        match mode.supported() {
            Ok(()) => {
                assert!(median(row, "throughput").unwrap() > 0.0, "{mode}");
                assert_eq!(row["runs"].as_array().unwrap().len(), 2, "{mode}");
            }
            Err(why) => {
                let throughput = row["metrics"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|m| m["key"] == "throughput")
                    .unwrap();
                let said = throughput["value"]["unavailable"].as_str().unwrap();
                assert!(said.contains(&why), "{mode}: {said}");
            }
        }
    }
    // pread copies every byte up, writev every byte of the records down: a little over 2
    // per byte, for the records' framing and tags.
    let copies = median(row(&report, "tls"), "user_copied_per_byte").unwrap();
    assert!((2.0..2.01).contains(&copies), "{copies}");
}
