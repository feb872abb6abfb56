//! The kernel's copies, observed on the real kernel: `zc bench` samples the sender and
//! the sink thread with the perf CPU clock and counts the samples that land in the
//! kernel's copy routines. These tests assert the robust part of the pattern, never a
//! timing: the modes that copy through user space show copy time in their sender, the
//! zero-copy modes (almost) none, and a receiver that recv()s copies in every mode.
//!
//! Sampling kernel call chains needs root (or perf_event_paranoid <= 1 and readable
//! kallsyms): elsewhere the tests say `SKIPPED:`; under `CI=true` as root they must run.

mod common;

use common::{gen_log, zc};
use serde_json::Value;

/// Sums one profile field over the runs of a row.
fn total(row: &Value, profile: &str, field: &str) -> Option<u64> {
    row["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|run| {
            let p = if profile == "sender" {
                &run["sample"]["kernel_profile"]
            } else {
                &run["sink_profile"]
            };
            p[field].as_u64()
        })
        .sum()
}

#[test]
fn copy_time_lands_where_each_mode_copies() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("log");
    // Large enough for a few hundred samples per thread at 4 kHz in the zero-copy modes.
    gen_log(&log, "demo", &["--size", "512M"]);
    let json = tmp.path().join("out.json");
    zc(&[
        "bench",
        "--quiet",
        "--fixture",
        log.to_str().unwrap(),
        "--sink",
        "read",
        "--runs",
        "2",
        "--warmup",
        "0",
        "--export",
        json.to_str().unwrap(),
    ])
    .success();
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let rows = report["rows"].as_array().unwrap();
    let first = &rows[0]["runs"][0]["sample"]["kernel_profile"];
    if let Some(why) = first["unavailable"].as_str() {
        let root = nix::unistd::Uid::effective().is_root();
        assert!(
            !(root && std::env::var("CI").as_deref() == Ok("true")),
            "CI=true as root, but sampling was refused: {why}"
        );
        eprintln!("SKIPPED: the kernel refused CPU-clock sampling ({why}); run as root");
        return;
    }
    for row in rows {
        let mode = row["mode"].as_str().unwrap();
        // The four classic modes; io-uring and ktls have their own tests.
        if !["read-write", "mmap", "sendfile", "splice"].contains(&mode) {
            continue;
        }
        let samples = total(row, "sender", "samples").expect("sender samples");
        let copies = total(row, "sender", "copy_samples").expect("sender copy samples");
        let share = copies as f64 / samples as f64;
        match mode {
            // pread/read copies the page cache out, write copies it into the socket.
            "read-write" | "mmap" => assert!(
                share > 0.15,
                "{mode}: the sender copies every byte, but only {copies} of {samples} \
                 samples were in copy routines"
            ),
            // Pages travel by reference: the sender copies nothing.
            _ => assert!(
                share < 0.02,
                "{mode}: {copies} of {samples} sender samples in copy routines (>= 2%)"
            ),
        }
        let sink = total(row, "sink", "copy_samples").expect("sink copy samples");
        assert!(
            sink > 0,
            "{mode}: a recv() receiver copies every byte, yet no sink sample was a copy"
        );
    }
}
