//! Black-box tests of `zc bench write`: the real binary writing real files, tiny sizes.
//! Invariants (the logs are sound, the counts match the model), never timings.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::zc;
use serde_json::Value;

/// Ways and batch sizes every test run uses: small enough for fsync per record to take
/// about a second on a slow virtual disk.
const BATCHES: &str = "1,16";

/// Runs `zc bench write` once per way and batch into `dir` with `extra` arguments and
/// returns its JSON export.
fn write_json(dir: &Path, extra: &[&str]) -> Value {
    let out = tempfile::tempdir().unwrap();
    let json = out.path().join("write.json");
    let mut args = vec![
        "bench",
        "write",
        "--size",
        "32K",
        "--record-size",
        "100",
        "--batch",
        BATCHES,
        "--runs",
        "1",
        "--warmup",
        "0",
        // Never stop early: the counts below must cover every record.
        "--max-seconds",
        "120",
        "--quiet",
        "--dir",
        dir.to_str().unwrap(),
        "--export",
        json.to_str().unwrap(),
    ];
    args.extend(extra);
    let run = zc(&args).success();
    assert!(run.stdout.contains("TEXTBOOK MODEL"), "{}", run.stdout);
    assert!(run.stdout.contains("what was measured"), "{}", run.stdout);
    serde_json::from_str(&fs::read_to_string(&json).unwrap()).unwrap()
}

fn rows(report: &Value) -> &Vec<Value> {
    report["rows"].as_array().unwrap()
}

fn row<'a>(report: &'a Value, way: &str, batch: u64) -> &'a Value {
    rows(report)
        .iter()
        .find(|r| r["way"] == way && r["batch"] == batch)
        .unwrap_or_else(|| panic!("no row for {way} at batch {batch}"))
}

fn only_run(row: &Value) -> &Value {
    let runs = row["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1, "{row}");
    &runs[0]
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

/// The kernel's count of `name` in a run, when tracepoints work (root); `None` otherwise.
fn traced(run: &Value, name: &str) -> Option<u64> {
    run["sample"]["syscalls_by_name"][name].as_u64()
}

fn segment(kept: &Path, way: &str, batch: u64) -> PathBuf {
    kept.join(format!("{way}-b{batch}"))
        .join("bench-0")
        .join("00000000000000000000.log")
}

#[test]
fn every_way_writes_a_sound_log_and_random_writes_the_same_bytes_as_append() {
    let dir = tempfile::tempdir().unwrap();
    let report = write_json(dir.path(), &["--keep"]);
    let kept = PathBuf::from(report["setup"]["dir"].as_str().unwrap());
    assert!(kept.starts_with(dir.path()), "{}", kept.display());
    let records = u(&report["setup"]["records"]);
    assert!(records > 0);
    for batch in [1, 16] {
        for way in ["append", "append-fsync", "per-record"] {
            // Kafka's format, every CRC, offset and index entry: what `zc fixture verify`
            // accepts, Kafka's tools read.
            let log = kept.join(format!("{way}-b{batch}"));
            zc(&["fixture", "verify", log.to_str().unwrap()]).success();
            let run = only_run(row(&report, way, batch));
            assert_eq!(u(&run["records"]), records, "{way} {batch}");
            assert_eq!(
                u(&run["bytes"]),
                fs::metadata(segment(&kept, way, batch)).unwrap().len(),
                "{way} {batch}"
            );
        }
        // `random` has no index (it writes a preallocated file, not through the log), so
        // the right check is stronger than verify: its file is byte for byte the log
        // `append` wrote, which verify accepted above; so every batch landed intact at its
        // own offset, and the preallocated file is exactly the log's size.
        let append = fs::read(segment(&kept, "append", batch)).unwrap();
        let random = fs::read(segment(&kept, "random", batch)).unwrap();
        assert_eq!(random.len(), append.len(), "batch {batch}");
        assert!(
            random == append,
            "random's file differs from append's at batch {batch}"
        );
        let run = only_run(row(&report, "random", batch));
        assert_eq!(u(&run["bytes"]), append.len() as u64);
        assert_eq!(u(&run["writes_self"]), u(&run["batches"]));
        if let Some(pwrites) = traced(run, "pwrite64") {
            assert_eq!(pwrites, u(&run["batches"]), "random at batch {batch}");
            // fallocate happens before the timed loop, not in it.
            assert_eq!(traced(run, "fallocate"), Some(0));
        }
        // On a block device, every page of the file was dirtied once: /proc's write_bytes
        // covers the log, in whole pages (a folio's worth of slack). On tmpfs nothing is
        // accounted (there is no writeback), so there is nothing to check.
        if report["setup"]["device"]["name"].is_string()
            && let Some(dirtied) = run["sample"]["io"]["write_bytes"].as_u64()
        {
            let bytes = append.len() as u64;
            assert!(
                dirtied >= bytes && dirtied <= bytes + (64 << 10),
                "random at batch {batch}: write_bytes {dirtied} for a {bytes}-byte log"
            );
        }
    }
}

#[test]
fn syscall_and_fsync_counts_match_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let report = write_json(dir.path(), &[]);
    for batch in [1u64, 16] {
        for (way, writes_per_batch_is_records, fsyncs) in [
            ("append", false, false),
            ("append-fsync", false, true),
            ("per-record", true, false),
            ("random", false, false),
        ] {
            let r = row(&report, way, batch);
            let run = only_run(r);
            let (batches, records) = (u(&run["batches"]), u(&run["records"]));
            assert_eq!(batches, records.div_ceil(batch), "{way} {batch}");
            let writes = if writes_per_batch_is_records {
                records
            } else {
                batches
            };
            let expected_fsyncs = if fsyncs { batches } else { 0 };
            assert_eq!(u(&run["writes_self"]), writes, "{way} {batch}");
            assert_eq!(u(&run["fsyncs_self"]), expected_fsyncs, "{way} {batch}");
            assert_eq!(u(&r["model"]["fsyncs_per_batch"]), u64::from(fsyncs));
            // The kernel's own counts, where the tracepoints work (root).
            if let Some(pwrites) = traced(run, "pwrite64") {
                assert_eq!(pwrites, writes, "{way} {batch}: pwrite64");
                let kernel_fsyncs =
                    traced(run, "fdatasync").unwrap() + traced(run, "fsync").unwrap();
                assert_eq!(kernel_fsyncs, expected_fsyncs, "{way} {batch}: fsyncs");
                // Everything else the loop did: the probe's own ioctls are subtracted;
                // a few stray calls (an allocation growing the heap) are allowed.
                let all =
                    u(&run["sample"]["syscalls"]) - u(&run["sample"]["probe_overhead_syscalls"]);
                assert!(
                    all >= writes + expected_fsyncs && all <= writes + expected_fsyncs + 8,
                    "{way} {batch}: {all} syscalls for {writes} writes + {expected_fsyncs} fsyncs"
                );
            }
        }
    }
    // fdatasync after every one-record batch cleans the half-written last page, and the
    // next record dirties it again: /proc charges the page again each time (block devices
    // only: tmpfs accounts nothing).
    let run = only_run(row(&report, "append-fsync", 1));
    if report["setup"]["device"]["name"].is_string()
        && let Some(dirtied) = run["sample"]["io"]["write_bytes"].as_u64()
    {
        let bytes = u(&run["bytes"]);
        assert!(
            dirtied > 2 * bytes,
            "write_bytes {dirtied} for {bytes} bytes"
        );
    }
    // Same records everywhere; bytes differ only with the batch size (61-byte headers).
    for batch in [1u64, 16] {
        let bytes: Vec<u64> = ["append", "append-fsync", "per-record", "random"]
            .iter()
            .map(|way| u(&only_run(row(&report, way, batch))["bytes"]))
            .collect();
        assert!(bytes.windows(2).all(|w| w[0] == w[1]), "{bytes:?}");
    }
    // Without --keep nothing is left in --dir.
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn exports_csv_and_markdown_with_model_apart() {
    let dir = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let csv = out.path().join("w.csv");
    let md = out.path().join("w.md");
    zc(&[
        "bench",
        "write",
        "--way",
        "append,per-record",
        "--batch",
        "4",
        "--size",
        "16K",
        "--record-size",
        "100",
        "--runs",
        "2",
        "--warmup",
        "0",
        "--quiet",
        "--dir",
        dir.path().to_str().unwrap(),
        "--export",
        csv.to_str().unwrap(),
        "--export",
        md.to_str().unwrap(),
    ])
    .success();
    let csv = fs::read_to_string(csv).unwrap();
    assert!(csv.starts_with("way,batch,metric,"), "{csv}");
    assert!(csv.contains("append,4,mib_per_s,"), "{csv}");
    assert!(
        csv.contains("per-record,4,model_writes_per_batch,"),
        "{csv}"
    );
    assert!(csv.contains(",model,\"textbook model:"), "{csv}");
    let md = fs::read_to_string(md).unwrap();
    assert!(
        md.contains("| metric | unit | append | per-record | source |"),
        "{md}"
    );
    assert!(
        md.contains("TEXTBOOK MODEL: predicted, NOT MEASURED"),
        "{md}"
    );
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn bad_input_is_refused_with_a_clear_error_and_nothing_left_behind() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let chart = dir.path().join("w.svg");
    let chart = chart.to_str().unwrap();
    let cases: [(&[&str], i32, &str); 8] = [
        (&["--batch", "0"], 2, "--batch 0 is out of range"),
        (&["--record-size", "8"], 2, "--record-size 8 is too small"),
        (&["--size", "2G"], 2, "--size must be at most"),
        (
            &["--size", "1G", "--batch", "1,256"],
            2,
            "--size 1 GiB at --batch 1 makes a log of",
        ),
        (&["--max-seconds", "0"], 2, "--max-seconds"),
        (&["--way", "sideways"], 2, "invalid value 'sideways'"),
        (
            &["--export", "/nonexistent-zc-dir/w.json"],
            2,
            "directory /nonexistent-zc-dir does not exist",
        ),
        (&["--export", chart], 2, "zc bench write draws no chart"),
    ];
    for (extra, code, message) in cases {
        let mut args = vec!["bench", "write", "--dir", d, "--runs", "1"];
        args.extend(extra);
        for (option, value) in [("--size", "16K"), ("--batch", "4")] {
            if !extra.contains(&option) {
                args.extend([option, value]);
            }
        }
        let run = zc(&args).code(code);
        assert!(run.stderr.contains(message), "{extra:?}: {}", run.stderr);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0, "{extra:?}");
    }
    // A --dir that is not there, and one nobody can create a directory in.
    let run = zc(&["bench", "write", "--dir", "/nonexistent-zc-dir"]).code(2);
    assert!(
        run.stderr
            .contains("--dir /nonexistent-zc-dir: no such directory"),
        "{}",
        run.stderr
    );
    let run = zc(&[
        "bench", "write", "--dir", "/proc", "--size", "16K", "--batch", "1",
    ])
    .code(2);
    assert!(
        run.stderr
            .contains("--dir /proc: cannot create a directory there"),
        "{}",
        run.stderr
    );
}

#[test]
fn plain_bench_keeps_its_options_and_write_is_a_subcommand() {
    let help = zc(&["bench", "--help"]).success().stdout;
    assert!(help.contains("zc bench <COMMAND>"), "{help}");
    assert!(help.contains("--chunk"), "{help}");
    assert!(help.contains("zc bench write"), "{help}");
    let help = zc(&["bench", "write", "--help"]).success().stdout;
    for option in [
        "--way",
        "--batch",
        "--size",
        "--record-size",
        "--dir",
        "Examples:",
    ] {
        assert!(help.contains(option), "{option}: {help}");
    }
    // Send-path options belong to plain `zc bench`, not to `write`.
    let run = zc(&["bench", "--chunk", "4K", "write"]).code(2);
    assert!(run.stderr.contains("cannot be used with"), "{}", run.stderr);
}

/// On tmpfs there is no storage: /proc's write_bytes stays 0 however much is written, so
/// the report must say n/a with the reason, not print 0 as if measured, and must not claim
/// a device the page cache hides.
#[test]
fn on_tmpfs_write_bytes_is_unavailable_and_no_device_is_claimed() {
    let shm = Path::new("/dev/shm");
    if !shm.is_dir() {
        eprintln!("skipped: no /dev/shm");
        return;
    }
    let dir = tempfile::tempdir_in(shm).unwrap();
    let out = tempfile::tempdir().unwrap();
    let json = out.path().join("w.json");
    let run = zc(&[
        "bench",
        "write",
        "--way",
        "append",
        "--batch",
        "4",
        "--size",
        "16K",
        "--record-size",
        "100",
        "--runs",
        "1",
        "--warmup",
        "0",
        "--quiet",
        "--dir",
        dir.path().to_str().unwrap(),
        "--export",
        json.to_str().unwrap(),
    ])
    .success();
    let report: Value = serde_json::from_str(&fs::read_to_string(&json).unwrap()).unwrap();
    if !report["setup"]["filesystem"]
        .as_str()
        .is_some_and(|fs| fs.starts_with("tmpfs"))
    {
        eprintln!("skipped: /dev/shm is not tmpfs here");
        return;
    }
    let dirtied = row(&report, "append", 4)["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["key"] == "dirtied_per_byte")
        .unwrap()
        .clone();
    assert!(
        dirtied["value"]["unavailable"]
            .as_str()
            .is_some_and(|why| why.contains("tmpfs: no storage to charge")),
        "{dirtied}"
    );
    assert!(
        !run.stdout.contains("the page cache hides the device"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("no device counter under --dir"),
        "{}",
        run.stdout
    );
}
