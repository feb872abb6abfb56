//! The partition log against real files: appends, rolls, reads, indexes, reopening.

use std::os::unix::fs::FileExt;

use super::*;
use crate::log::batch::BatchBuilder;
use crate::log::check;
use crate::log::segment::BatchScanner;

/// A batch as a producer sends it (base offset 0): `records` records with values of
/// `value_len` bytes, timestamps from `timestamp` on.
pub(crate) fn produced(records: usize, value_len: usize, timestamp: i64) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut b = BatchBuilder::new(&mut buf, 0);
    for i in 0..records {
        let value = vec![b'a' + (i % 26) as u8; value_len];
        b.append(timestamp + i as i64, Some(b"key"), Some(&value), &[]);
    }
    b.finish();
    buf
}

/// Small segments and a dense index, so that a few hundred batches exercise rolling
/// and index lookups.
pub(crate) fn small() -> LogConfig {
    LogConfig {
        segment_bytes: 8 << 10,
        index_interval_bytes: 512,
        flush: FlushPolicy::Os,
        max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
    }
}

/// Appends `n` batches of varying shape, one per call; returns each batch as stored.
pub(crate) fn fill(log: &mut PartitionLog, n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let mut b = produced(1 + i % 4, 40 + (i * 37) % 300, 1_000 + 10 * i as i64);
            log.append_batches(&mut b).unwrap();
            b
        })
        .collect()
}

pub(crate) fn slice_bytes(slice: &FileSlice) -> Vec<u8> {
    let mut buf = vec![0; slice.len as usize];
    slice.file.read_exact_at(&mut buf, slice.position).unwrap();
    buf
}

pub(crate) fn assert_inspects_clean(dir: &Path) {
    let report = check::check_log(dir, false).unwrap();
    assert!(report.problems.is_empty(), "{:#?}", report.problems);
}

/// (base offset, last offset) of a stored batch.
fn span(b: &[u8]) -> (i64, i64) {
    let h = BatchHeader::parse(b).unwrap();
    (h.base_offset, h.last_offset())
}

#[test]
fn appends_read_back_across_segment_rolls() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = PartitionLog::create(dir.path(), small()).unwrap();
    let stored = fill(&mut log, 200);
    assert!(log.sealed.len() >= 5, "only {} rolls", log.sealed.len());
    assert_eq!(log.log_end_offset(), span(stored.last().unwrap()).1 + 1);

    // Reading from 0 with no limit, slice after slice, gives back every batch, and
    // each slice ends exactly at the end of its segment.
    let mut offset = 0;
    let mut got = Vec::new();
    while let Some(slice) = log.read(offset, u64::MAX).unwrap() {
        let segment = log
            .segments()
            .filter(|s| s.base_offset() <= slice.base_offset)
            .last()
            .unwrap();
        assert_eq!(slice.position + slice.len, segment.size());
        let bytes = slice_bytes(&slice);
        let mut at = 0;
        while at < bytes.len() {
            let size = BatchHeader::parse(&bytes[at..]).unwrap().size();
            batch::validate(&bytes[at..at + size]).unwrap();
            got.push(bytes[at..at + size].to_vec());
            at += size;
        }
        offset = span(got.last().unwrap()).1 + 1;
    }
    assert_eq!(got, stored);
    log.close().unwrap();
    assert_inspects_clean(dir.path());
}

#[test]
fn a_read_at_any_offset_starts_at_the_batch_containing_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = PartitionLog::create(dir.path(), small()).unwrap();
    let stored = fill(&mut log, 120);
    for (i, b) in stored.iter().enumerate() {
        let (base, last) = span(b);
        for offset in base..=last {
            // One byte of budget: exactly the containing batch (KIP-74).
            let slice = log.read(offset, 1).unwrap().unwrap();
            assert_eq!(slice.base_offset, base);
            assert_eq!(slice_bytes(&slice), *b, "offset {offset}");
            // A budget of two batches and a bit: whole batches only, never more.
            let budget = (b.len() + stored.get(i + 1).map_or(0, Vec::len) + 10) as u64;
            let slice = log.read(offset, budget).unwrap().unwrap();
            assert!(slice.len <= budget);
            let bytes = slice_bytes(&slice);
            assert!(bytes.starts_with(b));
            let next_fits = stored
                .get(i + 1)
                .is_some_and(|n| bytes.len() > b.len() && bytes.ends_with(n));
            assert!(
                bytes.len() == b.len() || next_fits,
                "offset {offset}: partial batch"
            );
        }
    }
}

#[test]
fn a_first_batch_larger_than_max_bytes_is_still_returned_whole() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = PartitionLog::create(dir.path(), LogConfig::default()).unwrap();
    let mut big = produced(3, 5000, 7);
    log.append_batches(&mut big).unwrap();
    for max in [0, 1, 100, big.len() as u64 - 1] {
        let slice = log.read(1, max).unwrap().unwrap();
        assert_eq!((slice.position, slice.len), (0, big.len() as u64));
    }
}

#[test]
fn offsets_outside_the_log_are_out_of_range_and_the_end_is_empty() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = PartitionLog::create(dir.path(), small()).unwrap();
    assert!(log.read(0, 100).unwrap().is_none(), "empty log, offset 0");
    fill(&mut log, 3);
    let end = log.log_end_offset();
    assert!(log.read(end, 100).unwrap().is_none());
    for offset in [-1, end + 1, i64::MAX] {
        match log.read(offset, 100) {
            Err(ReadError::OffsetOutOfRange {
                offset: o,
                log_start: 0,
                log_end,
            }) => assert_eq!((o, log_end), (offset, end)),
            other => panic!("offset {offset}: {other:?}"),
        }
    }
    assert_eq!((log.log_start_offset(), log.high_watermark()), (0, end));
}

#[test]
fn offsets_are_assigned_contiguously_and_crcs_still_validate() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = PartitionLog::create(dir.path(), small()).unwrap();
    fill(&mut log, 2);
    let first_free = log.log_end_offset();
    let mut request = [produced(3, 10, 1), produced(1, 10, 2), produced(5, 10, 3)].concat();
    request[12..16].copy_from_slice(&(-1i32).to_be_bytes()); // "no epoch" from the client
    let info = log.append_batches(&mut request).unwrap();
    assert_eq!(
        (info.base_offset, info.last_offset, info.records, info.bytes),
        (first_free, first_free + 8, 9, request.len() as u64)
    );
    log.close().unwrap();

    let mut scanner = BatchScanner::open(&dir.path().join(segment::file_name(0, "log"))).unwrap();
    let mut next = 0;
    while let Some((_, bytes)) = scanner.next_batch().unwrap() {
        let h = batch::validate(bytes).unwrap();
        assert_eq!((h.base_offset, h.partition_leader_epoch), (next, 0));
        next = h.last_offset() + 1;
    }
    assert_eq!(next, first_free + 9);
    assert_inspects_clean(dir.path());
}

/// One way to spoil a batch.
type Edit = fn(&mut Vec<u8>);

/// Recomputes a batch's CRC-32C after an edit, so that only the edit is wrong.
fn recrc(b: &mut [u8]) {
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
}

#[test]
fn one_bad_batch_and_nothing_is_appended() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = PartitionLog::create(dir.path(), small()).unwrap();
    fill(&mut log, 3);
    let (end, size) = (log.log_end_offset(), log.active.size());
    let good = produced(2, 20, 5);
    let with_second = |edit: Edit| {
        let mut second = good.clone();
        edit(&mut second);
        [good.clone(), second, good.clone()].concat()
    };
    let corrupt: [Edit; 3] = [
        |b| b[70] ^= 1,                                       // CRC mismatch
        |b| b[8..12].copy_from_slice(&3i32.to_be_bytes()),    // impossible length
        |b| b[8..12].copy_from_slice(&9999i32.to_be_bytes()), // runs past the end
    ];
    let invalid: [Edit; 4] = [
        |b| b[16] = 1,                                    // old record format
        |b| b[0..8].copy_from_slice(&5i64.to_be_bytes()), // client-chosen offset
        |b| {
            b[21..23].copy_from_slice(&0x20i16.to_be_bytes()); // control batch
            recrc(b);
        },
        |b| {
            b[57..61].copy_from_slice(&3i32.to_be_bytes()); // recordsCount lies
            recrc(b);
        },
    ];
    for edit in corrupt {
        let mut request = with_second(edit);
        let err = log.append_batches(&mut request).unwrap_err();
        assert!(
            matches!(err, AppendError::Corrupt { batch: 1, .. }),
            "{err}"
        );
    }
    for edit in invalid {
        let mut request = with_second(edit);
        let err = log.append_batches(&mut request).unwrap_err();
        assert!(
            matches!(err, AppendError::Invalid { batch: 1, .. }),
            "{err}"
        );
    }
    let mut torn = [&good[..], &good[..good.len() - 1]].concat();
    let err = log.append_batches(&mut torn).unwrap_err();
    assert!(
        matches!(err, AppendError::Corrupt { batch: 1, .. }),
        "{err}"
    );
    let err = log.append_batches(&mut []).unwrap_err();
    assert!(
        matches!(err, AppendError::Invalid { batch: 0, .. }),
        "{err}"
    );
    assert_eq!((log.log_end_offset(), log.active.size()), (end, size));
    log.close().unwrap();
    assert_inspects_clean(dir.path());
}

#[test]
fn offset_deltas_must_count_up() {
    // Offset deltas 0, 0, 2: decodable, counted right, last delta right, CRC right.
    let mut b = produced(3, 3, 9);
    let second = 61 + 1 + usize::from(b[61]) / 2; // past the first record
    assert_eq!(b[second + 3], 2, "offsetDelta 1 is zigzag 2");
    b[second + 3] = 0;
    recrc(&mut b);
    let dir = tempfile::tempdir().unwrap();
    let mut log = PartitionLog::create(dir.path(), small()).unwrap();
    let err = log.append_batches(&mut b).unwrap_err();
    assert!(
        matches!(err, AppendError::Invalid { batch: 0, .. }),
        "{err}"
    );
}

#[test]
fn timestamps_find_the_first_record_at_or_after() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = PartitionLog::create(dir.path(), small()).unwrap();
    let stored = fill(&mut log, 150); // batch i: timestamps 1000 + 10 i, + 1 per record
    // The expected answer, by brute force over every record.
    let records: Vec<(i64, i64)> = stored
        .iter()
        .flat_map(|b| {
            let h = BatchHeader::parse(b).unwrap();
            batch::records(b)
                .map(move |r| {
                    let r = r.unwrap();
                    (
                        h.base_offset + i64::from(r.offset_delta),
                        h.base_timestamp + r.timestamp_delta,
                    )
                })
                .collect::<Vec<_>>()
        })
        .collect();
    for target in (0..2_600).step_by(7) {
        let expected = records.iter().copied().find(|&(_, ts)| ts >= target);
        assert_eq!(
            log.offset_for_timestamp(target).unwrap(),
            expected,
            "{target}"
        );
    }
    log.close().unwrap();
    let (log, _) = PartitionLog::open(dir.path(), small()).unwrap();
    assert_eq!(
        log.offset_for_timestamp(1_503).unwrap(),
        records.iter().copied().find(|&(_, ts)| ts >= 1_503)
    );
}

#[test]
fn a_log_can_be_shared_between_threads_and_slices_sent_from_any() {
    fn shareable<T: Send + Sync>() {}
    shareable::<PartitionLog>();
    shareable::<FileSlice>();
}

#[test]
fn the_flush_always_policy_appends_and_rolls() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        flush: FlushPolicy::Always,
        ..small()
    };
    let mut log = PartitionLog::create(dir.path(), config).unwrap();
    fill(&mut log, 40);
    assert!(!log.sealed.is_empty());
    log.flush().unwrap();
    log.shutdown().unwrap();
    assert_inspects_clean(dir.path());
}

#[test]
fn topic_names_follow_kafkas_rules() {
    assert!(validate_topic("demo").is_ok());
    assert!(validate_topic("a.b_c-D9").is_ok());
    assert!(validate_topic(&"x".repeat(249)).is_ok());
    for bad in ["", ".", "..", "a/b", "sp ace", "é", &"x".repeat(250)] {
        assert!(validate_topic(bad).is_err(), "{bad:?} accepted");
    }
}

#[test]
fn partition_dir_names_split_at_the_last_dash() {
    assert_eq!(parse_dir_name("my-topic-12"), Some(("my-topic", 12)));
    assert_eq!(parse_dir_name("demo-0"), Some(("demo", 0)));
    assert_eq!(parse_dir_name("demo"), None);
    assert_eq!(parse_dir_name("demo-x"), None);
    assert_eq!(dir_name("demo", 3), "demo-3");
}

#[test]
fn segment_names_are_twenty_digits() {
    assert_eq!(segment::file_name(1234, "log"), "00000000000000001234.log");
    assert_eq!(
        segment::parse_base_offset("00000000000000001234.log", "log"),
        Some(1234)
    );
    assert_eq!(segment::parse_base_offset("1234.log", "log"), None);
    assert_eq!(
        segment::parse_base_offset("00000000000000001234.index", "log"),
        None
    );
}
