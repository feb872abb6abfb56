//! Black-box tests of `zc fixture`: the real binary, real files in temporary directories.

mod common;

use std::fs;
use std::path::Path;

use common::{DEMO_GEN_ARGS, copy_dir, demo_fixture, file_hashes, zc};

#[test]
fn committed_demo_fixture_is_byte_identical_to_a_fresh_generation() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("demo-log");
    let mut args = vec!["fixture", "gen", "--out", out.to_str().unwrap()];
    args.extend(DEMO_GEN_ARGS);
    zc(&args).success();
    assert_eq!(file_hashes(&out), file_hashes(&demo_fixture()));
}

#[test]
fn gen_without_options_matches_the_embedded_default_spec() {
    use clap::Parser;
    let cli = zc::cli::Cli::parse_from(["zc", "fixture", "gen", "--out", "x"]);
    let zc::cli::Command::Fixture(zc::cli::fixture::FixtureCommand::Gen(args)) = cli.command else {
        panic!("parsed something else");
    };
    let d = zc::log::fixture::default_spec();
    assert_eq!(args.topic, d.topic);
    assert_eq!(args.partitions, d.partitions);
    assert_eq!(zc::log::fixture::Amount::Bytes(args.size), d.amount);
    assert_eq!(args.value_size as usize, d.value_size);
    assert_eq!(args.key_size as usize, d.key_size);
    assert_eq!(args.records_per_batch, d.records_per_batch);
    assert_eq!(args.segment_bytes, d.segment_bytes);
    assert_eq!(args.seed, d.seed);
}

#[test]
fn verify_and_info_accept_the_demo_fixture() {
    let out = zc(&["fixture", "verify", demo_fixture().to_str().unwrap()]).success();
    assert!(out.stdout.starts_with("ok: "), "{}", out.stdout);
    let out = zc(&["fixture", "info", demo_fixture().to_str().unwrap()]).success();
    assert!(out.stdout.contains("00000000000000000000") || out.stdout.contains("total"));
    assert!(out.stdout.contains("5 segments"), "{}", out.stdout);
    let part = demo_fixture().join("demo-0");
    let out = zc(&["fixture", "info", part.to_str().unwrap(), "--batches"]).success();
    assert!(out.stdout.contains("position"), "{}", out.stdout);
}

#[test]
fn gen_with_impossible_arguments_exits_2_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("log");
    let o = out.to_str().unwrap();
    let cases: [(&[&str], &str); 6] = [
        (&["--size", "0"], "--size"),
        (&["--size", "12Q"], "unknown unit"),
        (
            &[
                "--value-size",
                "100K",
                "--records-per-batch",
                "1",
                "--segment-bytes",
                "64K",
            ],
            "--segment-bytes",
        ),
        (&["--records-per-batch", "0"], "--records-per-batch"),
        (&["--topic", "a/b"], "--topic"),
        (
            &["--value-size", "900K", "--records-per-batch", "2"],
            "max.message.bytes",
        ),
    ];
    for (extra, expected) in cases {
        let mut args = vec!["fixture", "gen", "--out", o];
        args.extend(extra);
        let r = zc(&args).code(2);
        assert!(r.stderr.contains(expected), "{extra:?}: {}", r.stderr);
        assert_eq!(
            fs::read_dir(tmp.path()).unwrap().count(),
            0,
            "{extra:?} wrote something"
        );
    }
}

#[test]
fn gen_refuses_to_overwrite_without_force() {
    let tmp = tempfile::tempdir().unwrap();
    let o = tmp.path().join("log");
    let small = ["--size", "64K", "--segment-bytes", "32K"];
    let gen_args = |force: bool| {
        let mut a = vec!["fixture", "gen", "--out", o.to_str().unwrap()];
        a.extend(small);
        if force {
            a.push("--force");
        }
        a
    };
    zc(&gen_args(false)).success();
    let r = zc(&gen_args(false)).code(2);
    assert!(r.stderr.contains("--force"), "{}", r.stderr);
    zc(&gen_args(true)).success();
    zc(&["fixture", "verify", o.to_str().unwrap()]).success();
}

#[test]
fn verify_names_a_missing_or_empty_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nope");
    let r = zc(&["fixture", "verify", missing.to_str().unwrap()]).code(1);
    assert!(r.stderr.contains("zc fixture gen"), "{}", r.stderr);
    let r = zc(&["fixture", "info", tmp.path().to_str().unwrap()]).code(1);
    assert!(
        r.stderr.contains("no partition directories"),
        "{}",
        r.stderr
    );
}

/// Copies the demo fixture, breaks it with `damage`, and checks that `verify` and `info`
/// both fail with `expected` in the message and leave the files exactly as they were.
fn assert_detected(damage: impl FnOnce(&Path), expected: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("log");
    copy_dir(&demo_fixture(), &log);
    damage(&log.join("demo-0"));
    let before = file_hashes(&log);
    for cmd in ["verify", "info"] {
        let r = zc(&["fixture", cmd, log.to_str().unwrap()]).code(1);
        for e in expected {
            assert!(r.stderr.contains(e), "{cmd}: {e:?} not in {}", r.stderr);
        }
    }
    assert_eq!(file_hashes(&log), before, "verify modified the log");
}

const LAST_SEGMENT: &str = "00000000000000019040.log";

#[test]
fn verify_reports_a_truncated_last_batch() {
    assert_detected(
        |dir| {
            let f = fs::OpenOptions::new()
                .write(true)
                .open(dir.join(LAST_SEGMENT))
                .unwrap();
            let len = f.metadata().unwrap().len();
            f.set_len(len - 100).unwrap();
        },
        &[
            LAST_SEGMENT,
            "byte 0",
            "truncated batch: expected 4401 bytes, found 4301",
        ],
    );
}

#[test]
fn verify_reports_a_flipped_byte_with_its_batch_position() {
    assert_detected(
        |dir| {
            let path = dir.join("00000000000000000000.log");
            let mut bytes = fs::read(&path).unwrap();
            // Inside the third batch's records (batches are 4401 bytes here).
            bytes[2 * 4401 + 500] ^= 0x01;
            fs::write(&path, bytes).unwrap();
        },
        &["00000000000000000000.log", "byte 8802", "CRC-32C mismatch"],
    );
}

#[test]
fn verify_reports_an_index_entry_that_misses_a_batch_start() {
    assert_detected(
        |dir| {
            let path = dir.join("00000000000000000000.index");
            let mut bytes = fs::read(&path).unwrap();
            // Entry 1's position, moved 3 bytes into its batch.
            let pos = i32::from_be_bytes(bytes[12..16].try_into().unwrap()) + 3;
            bytes[12..16].copy_from_slice(&pos.to_be_bytes());
            fs::write(&path, bytes).unwrap();
        },
        &[
            "00000000000000000000.index",
            "byte 8",
            "not the start of a batch",
        ],
    );
}

#[test]
fn verify_reports_a_segment_named_after_the_wrong_offset() {
    assert_detected(
        |dir| {
            for ext in ["log", "index", "timeindex"] {
                fs::rename(
                    dir.join(format!("00000000000000004760.{ext}")),
                    dir.join(format!("00000000000000004761.{ext}")),
                )
                .unwrap();
            }
        },
        &[
            "segment name says base offset 4761",
            "first batch starts at offset 4760",
        ],
    );
}

#[test]
fn verify_reports_a_missing_segment_as_an_offset_gap() {
    assert_detected(
        |dir| {
            for ext in ["log", "index", "timeindex"] {
                fs::remove_file(dir.join(format!("00000000000000009520.{ext}"))).unwrap();
            }
        },
        &["offsets not contiguous: expected base offset 9520, found 14280"],
    );
}

#[test]
fn a_flipped_magic_byte_is_one_problem_not_a_cascade() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("log");
    copy_dir(&demo_fixture(), &log);
    let path = log.join("demo-0").join("00000000000000000000.log");
    let mut bytes = fs::read(&path).unwrap();
    bytes[3 * 4401 + 16] = 7; // the magic byte of the fourth batch
    fs::write(&path, bytes).unwrap();
    let r = zc(&["fixture", "verify", log.to_str().unwrap()]).code(1);
    assert!(
        r.stderr
            .contains("byte 13203: wrong magic byte: expected 2, found 7"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("could no longer be read"), "{}", r.stderr);
    let problems = r.stderr.lines().filter(|l| l.starts_with("  ")).count();
    assert!(
        problems <= 3,
        "{problems} problems for one byte:\n{}",
        r.stderr
    );
}

#[test]
fn verify_reports_a_time_index_entry_with_the_wrong_timestamp() {
    assert_detected(
        |dir| {
            let path = dir.join("00000000000000000000.timeindex");
            let mut bytes = fs::read(&path).unwrap();
            bytes[12 + 7] ^= 0x01; // entry 1's timestamp, lowest byte
            fs::write(&path, bytes).unwrap();
        },
        &[
            "00000000000000000000.timeindex",
            "byte 12",
            "entry 1 says timestamp",
        ],
    );
}

#[test]
fn verify_names_a_missing_index_without_a_byte_position() {
    assert_detected(
        |dir| fs::remove_file(dir.join("00000000000000004760.index")).unwrap(),
        &["00000000000000004760.index: cannot read index"],
    );
}
