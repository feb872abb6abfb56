//! Recovery against real damaged files: torn tails, corrupt bytes, lost indexes, clean shutdowns.

use std::collections::BTreeMap;
use std::fs::OpenOptions;

use super::*;
use crate::log::partition::tests::{assert_inspects_clean, fill, produced, slice_bytes, small};
use crate::log::partition::{LogConfig, PartitionLog};

fn contents(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, fs::read(&p).unwrap())
        })
        .collect()
}

fn copy(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for (name, bytes) in contents(from) {
        fs::write(to.join(name), bytes).unwrap();
    }
}

/// A closed (not cleanly shut down) log of several segments, and its segment files.
fn written(dir: &Path, batches: usize) -> Vec<SegmentFiles> {
    let mut log = PartitionLog::create(dir, small()).unwrap();
    fill(&mut log, batches);
    log.close().unwrap();
    segment::list_segments(dir).unwrap()
}

/// (position, end, last offset) of every batch in a `.log`.
fn frames(log: &Path) -> Vec<(u64, u64, i64)> {
    let mut scanner = BatchScanner::open(log).unwrap();
    let mut out = Vec::new();
    while let Some((position, bytes)) = scanner.next_batch().unwrap() {
        let h = batch::BatchHeader::parse(bytes).unwrap();
        out.push((position, position + bytes.len() as u64, h.last_offset()));
    }
    out
}

/// Appending after recovery works and reads back.
fn append_and_read(log: &mut PartitionLog) {
    let mut more = produced(2, 50, 99_000);
    let info = log.append_batches(&mut more).unwrap();
    let slice = log.read(info.base_offset, 1).unwrap().unwrap();
    assert_eq!(slice_bytes(&slice), more);
}

#[test]
fn a_tail_torn_anywhere_is_cut_back_to_the_last_whole_batch() {
    let original = tempfile::tempdir().unwrap();
    let segments = written(original.path(), 60);
    let last = segments.last().unwrap();
    let batches = frames(&last.log);
    let len = batches.last().unwrap().1;
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    for case in 0..50 {
        // xorshift64: the same 50 cut points on every run.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let cut = seed % len;
        let dir = tempfile::tempdir().unwrap();
        copy(original.path(), dir.path());
        let log_path = dir.path().join(last.log.file_name().unwrap());
        OpenOptions::new()
            .write(true)
            .open(&log_path)
            .unwrap()
            .set_len(cut)
            .unwrap();

        let (mut log, report) = PartitionLog::open(dir.path(), small()).unwrap();
        let whole = batches.iter().rfind(|b| b.1 <= cut);
        let expected_end = whole.map_or(last.base_offset, |b| b.2 + 1);
        let valid = whole.map_or(0, |b| b.1);
        assert_eq!(
            log.log_end_offset(),
            expected_end,
            "case {case}: cut at {cut}"
        );
        assert!(!report.clean_shutdown);
        let seg = &report.segments[0];
        assert_eq!(
            (seg.valid_bytes, seg.truncated_bytes),
            (valid, cut - valid),
            "case {case}"
        );
        assert_eq!(seg.stopped.is_some(), cut > valid);
        assert_eq!(fs::metadata(&log_path).unwrap().len(), valid);
        assert_inspects_clean(dir.path());
        append_and_read(&mut log);
        log.close().unwrap();
        assert_inspects_clean(dir.path());
    }
}

#[test]
fn a_corrupt_byte_in_the_last_segment_truncates_at_its_batch() {
    let dir = tempfile::tempdir().unwrap();
    let segments = written(dir.path(), 60);
    let last = segments.last().unwrap();
    let batches = frames(&last.log);
    let (position, end, _) = batches[batches.len() / 2];
    let mut bytes = fs::read(&last.log).unwrap();
    bytes[((position + end) / 2) as usize] ^= 0x10;
    fs::write(&last.log, bytes).unwrap();

    let (mut log, report) = PartitionLog::open(dir.path(), small()).unwrap();
    assert_eq!(fs::metadata(&last.log).unwrap().len(), position);
    assert_eq!(log.log_end_offset(), batches[batches.len() / 2 - 1].2 + 1);
    let stopped = report.segments[0].stopped.as_deref().unwrap();
    assert!(stopped.contains("CRC"), "{stopped}");
    assert!(report.lost_data());
    assert_inspects_clean(dir.path());
    append_and_read(&mut log);
}

#[test]
fn a_truncated_earlier_segment_takes_every_later_segment_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let segments = written(dir.path(), 80);
    assert!(segments.len() >= 4);
    // Corrupt the second segment, and lose its index so that recovery looks at it.
    let victim = &segments[1];
    let batches = frames(&victim.log);
    let (position, _, _) = batches[2];
    let mut bytes = fs::read(&victim.log).unwrap();
    bytes[position as usize + 30] ^= 0x01;
    fs::write(&victim.log, bytes).unwrap();
    fs::remove_file(&victim.index).unwrap();

    let (mut log, report) = PartitionLog::open(dir.path(), small()).unwrap();
    assert_eq!(log.log_end_offset(), batches[1].2 + 1);
    let text = report.to_string();
    assert!(
        text.contains("index is missing") && text.contains("CRC-32C"),
        "{text}"
    );
    let deleted: Vec<_> = segments[2..].iter().map(|s| s.log.clone()).collect();
    assert_eq!(report.deleted, deleted);
    assert!(matches!(report.segments[0].reason, Reason::BadIndex(_)));
    assert_eq!(segment::list_segments(dir.path()).unwrap(), segments[..2]);
    for s in &segments[2..] {
        assert!(!s.index.exists() && !s.time_index.exists());
    }
    assert_inspects_clean(dir.path());
    append_and_read(&mut log);
    log.close().unwrap();
    assert_inspects_clean(dir.path());
}

/// A name and a way to damage an index file.
type Damage = (&'static str, fn(&Path));

#[test]
fn lost_or_damaged_indexes_are_rebuilt_as_the_writer_wrote_them() {
    let original = tempfile::tempdir().unwrap();
    let segments = written(original.path(), 80);
    let before = contents(original.path());
    let damage: [Damage; 3] = [
        ("deleted", |p| fs::remove_file(p).unwrap()),
        ("ragged", |p| {
            let mut b = fs::read(p).unwrap();
            b.push(0);
            fs::write(p, b).unwrap();
        }),
        ("zeroed", |p| {
            let len = fs::metadata(p).unwrap().len().max(24);
            fs::write(p, vec![0; len as usize]).unwrap();
        }),
    ];
    for files in [&segments[0], &segments[2], segments.last().unwrap()] {
        for path in [&files.index, &files.time_index] {
            for (what, hurt) in damage {
                let dir = tempfile::tempdir().unwrap();
                copy(original.path(), dir.path());
                hurt(&dir.path().join(path.file_name().unwrap()));
                let (log, report) = PartitionLog::open(dir.path(), small()).unwrap();
                log.close().unwrap();
                let name = path.display();
                assert!(!report.lost_data(), "{what} {name}");
                assert!(
                    report.segments.iter().any(|s| s.indexes_rebuilt),
                    "{what} {name}"
                );
                assert_eq!(contents(dir.path()), before, "{what} {name}");
            }
        }
    }
}

#[test]
fn opening_an_intact_log_changes_no_file() {
    let dir = tempfile::tempdir().unwrap();
    written(dir.path(), 80);
    let before = contents(dir.path());
    let (log, report) = PartitionLog::open(dir.path(), small()).unwrap();
    assert_eq!(report.segments.len(), 1, "only the last segment is scanned");
    assert!(!report.segments[0].indexes_rebuilt && !report.lost_data());
    log.close().unwrap();
    assert_eq!(contents(dir.path()), before);
}

#[test]
fn a_clean_shutdown_skips_the_scan_and_appends_continue_as_if_never_stopped() {
    // One log written in one go, one in three sessions with clean restarts between.
    let straight = tempfile::tempdir().unwrap();
    let mut log = PartitionLog::create(straight.path(), small()).unwrap();
    let all = fill(&mut log, 90);
    log.close().unwrap();

    let restarted = tempfile::tempdir().unwrap();
    let mut log = PartitionLog::create(restarted.path(), small()).unwrap();
    for (i, stored) in all.iter().enumerate() {
        if i == 30 || i == 61 {
            log.shutdown().unwrap();
            assert!(is_marked_clean(restarted.path()));
            let (reopened, report) = PartitionLog::open(restarted.path(), small()).unwrap();
            assert!(
                report.clean_shutdown && report.segments.is_empty(),
                "{report}"
            );
            assert!(
                !is_marked_clean(restarted.path()),
                "open must take the marker"
            );
            log = reopened;
        }
        let mut b = stored.clone();
        b[0..8].fill(0);
        log.append_batches(&mut b).unwrap();
        assert_eq!(&b, stored);
    }
    log.close().unwrap();

    // Same batches, same offset indexes; the time indexes may keep the entry that each
    // clean shutdown added, as Kafka's do.
    let (a, b) = (contents(straight.path()), contents(restarted.path()));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (name, bytes) in &a {
        if !name.ends_with(".timeindex") {
            assert_eq!(bytes, &b[name], "{name}");
        }
    }
    assert_inspects_clean(restarted.path());
}

#[test]
fn a_clean_marker_does_not_hide_a_damaged_tail() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = PartitionLog::create(dir.path(), small()).unwrap();
    fill(&mut log, 40);
    let end = log.log_end_offset();
    log.shutdown().unwrap();
    let last = segment::list_segments(dir.path()).unwrap().pop().unwrap();
    let mut f = OpenOptions::new().append(true).open(&last.log).unwrap();
    io::Write::write_all(&mut f, &[1, 2, 3]).unwrap();

    let (log, report) = PartitionLog::open(dir.path(), small()).unwrap();
    assert!(report.clean_shutdown);
    assert!(
        matches!(report.segments[0].reason, Reason::TailCheckFailed(_)),
        "{report}"
    );
    assert_eq!(report.segments[0].truncated_bytes, 3);
    assert_eq!(log.log_end_offset(), end);
    log.close().unwrap();
    assert_inspects_clean(dir.path());
}

#[test]
fn an_empty_directory_becomes_an_empty_log() {
    let dir = tempfile::tempdir().unwrap();
    let part = dir.path().join("t-0");
    let (mut log, report) = PartitionLog::open(&part, LogConfig::default()).unwrap();
    assert!(report.created);
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (0, 0));
    append_and_read(&mut log);
    log.shutdown().unwrap();
    let (log, report) = PartitionLog::open(&part, LogConfig::default()).unwrap();
    assert!(report.clean_shutdown && !report.created);
    assert_eq!(log.log_end_offset(), 2);
    assert_inspects_clean(&part);
}
