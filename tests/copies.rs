//! The kernel's copies, observed on the real kernel: `zc bench` samples the sender and
//! the sink thread with the perf CPU clock and counts the samples that land in the
//! kernel's copy routines. These tests assert the robust part of the pattern, never a
//! timing: the modes that copy through user space show copy time in their sender, the
//! zero-copy modes (almost) none, and a receiver that recv()s copies in every mode.
//!
//! Sampling kernel call chains needs root (or perf_event_paranoid <= 1 and readable
//! kallsyms): elsewhere the tests say `SKIPPED:`; under `CI=true` as root they must run.

mod common;

use std::path::Path;

use common::{gen_log, zc};
use serde_json::Value;
use zc::measure::COPY_ROUTINES;

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
    let report = read_json(&json);
    if sampling_refused(&report) {
        return;
    }
    let rows = report["rows"].as_array().unwrap();
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

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// True (after a `SKIPPED:` line) where the kernel refused to sample; fails under CI as root.
fn sampling_refused(report: &Value) -> bool {
    let first = &report["rows"][0]["runs"][0]["sample"]["kernel_profile"];
    let Some(why) = first["unavailable"].as_str() else {
        return false;
    };
    let root = nix::unistd::Uid::effective().is_root();
    assert!(
        !(root && std::env::var("CI").as_deref() == Ok("true")),
        "CI=true as root, but sampling was refused: {why}"
    );
    eprintln!("SKIPPED: the kernel refused CPU-clock sampling ({why}); run as root");
    true
}

/// A bar of an inferno flame graph: its function, first sample and width in samples, and
/// its height on the page (`y` grows downwards, so callees have a smaller `y`).
struct Bar {
    name: String,
    x: u64,
    w: u64,
    y: f64,
}

/// inferno's namespace for the sample counts it writes beside each bar (`fg:x`, `fg:w`).
const FG: &str = "http://github.com/jonhoo/inferno";

fn bars(svg: &str) -> Vec<Bar> {
    let opts = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..Default::default()
    };
    let doc = roxmltree::Document::parse_with_options(svg, opts).expect("the SVG is valid XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    doc.descendants()
        .filter(|n| n.has_tag_name("rect") && n.attribute((FG, "w")).is_some())
        .map(|rect| {
            let g = rect.parent().unwrap();
            let title = g.children().find(|c| c.has_tag_name("title")).unwrap();
            let title = title.text().unwrap();
            let samples = |a: &str| rect.attribute((FG, a)).unwrap().parse::<u64>().unwrap();
            Bar {
                name: title[..title.rfind(" (").unwrap()].to_owned(),
                x: samples("x"),
                w: samples("w"),
                y: rect.attribute("y").unwrap().parse().unwrap(),
            }
        })
        .collect()
}

#[test]
fn flame_graph_shows_read_writes_sender_copying() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("log");
    gen_log(&log, "demo", &["--size", "128M"]);
    let (json, svg) = (tmp.path().join("out.json"), tmp.path().join("profile.svg"));
    zc(&[
        "bench",
        "--quiet",
        "--fixture",
        log.to_str().unwrap(),
        "--mode",
        "read-write,sendfile",
        "--sink",
        "read",
        "--runs",
        "1",
        "--warmup",
        "0",
        "--export",
        json.to_str().unwrap(),
        "--export",
        svg.to_str().unwrap(),
    ])
    .success();
    let report = read_json(&json);
    if sampling_refused(&report) {
        return;
    }
    // The JSON keeps each mode's top kernel functions, sender and receiver apart.
    for row in report["rows"].as_array().unwrap() {
        for side in ["sender", "sink"] {
            let top = row["profile"][side]["top"].as_array().unwrap();
            assert!(
                !top.is_empty(),
                "{}: no top functions for the {side}",
                row["mode"]
            );
        }
    }
    let bars = bars(&std::fs::read_to_string(&svg).unwrap());
    for label in [
        "read-write sender",
        "read-write receiver",
        "sendfile sender",
        "sendfile receiver",
    ] {
        assert!(bars.iter().any(|b| b.name == label), "no bar {label}");
    }
    let sender = bars.iter().find(|b| b.name == "read-write sender").unwrap();
    let copies: Vec<&Bar> = bars
        .iter()
        .filter(|b| COPY_ROUTINES.contains(&b.name.as_str()))
        .filter(|b| b.x >= sender.x && b.x + b.w <= sender.x + sender.w && b.y < sender.y)
        .collect();
    assert!(
        !copies.is_empty(),
        "no copy routine drawn above read-write's sender (pread copies every byte out)"
    );
}
