//! Fuzz target: a partition directory whose `.log`, `.index` and `.timeindex` are fuzz
//! bytes, run through everything that reads a log from disk: `zc fixture verify`'s
//! inspection, recovery (`PartitionLog::open`), Fetch reads and timestamp lookups.
//!
//! Input layout: `[u16 index length][u16 timeindex length][index][timeindex][log]`
//! (big-endian; lengths past the end take what is there).
//!
//! Properties checked beyond "never panics":
//! - after recovery the log verifies with no problem, whatever it was before;
//! - every offset between the log start and end is readable after recovery;
//! - the recovered log takes a new append and still verifies.
#![no_main]

use std::fs;

use libfuzzer_sys::fuzz_target;
use zc::log::batch::BatchBuilder;
use zc::log::check::check_log;
use zc::log::partition::{LogConfig, PartitionLog};

fn take<'a>(data: &mut &'a [u8], n: usize) -> &'a [u8] {
    let (head, rest) = data.split_at(n.min(data.len()));
    *data = rest;
    head
}

fuzz_target!(|data: &[u8]| {
    let mut data = data;
    let lens = take(&mut data, 4);
    if lens.len() < 4 {
        return;
    }
    let index_len = u16::from_be_bytes([lens[0], lens[1]]) as usize;
    let time_len = u16::from_be_bytes([lens[2], lens[3]]) as usize;
    let index = take(&mut data, index_len);
    let time_index = take(&mut data, time_len);
    let log = data;

    // tmpfs: closing a log syncs every file, which costs milliseconds on a disk.
    let root = tempfile::tempdir_in("/dev/shm")
        .or_else(|_| tempfile::tempdir())
        .unwrap();
    let part = root.path().join("fuzz-0");
    fs::create_dir(&part).unwrap();
    let name = "00000000000000000000";
    fs::write(part.join(format!("{name}.log")), log).unwrap();
    fs::write(part.join(format!("{name}.index")), index).unwrap();
    fs::write(part.join(format!("{name}.timeindex")), time_index).unwrap();

    let _ = check_log(root.path(), true);

    let config = LogConfig {
        segment_bytes: 1 << 20,
        ..LogConfig::default()
    };
    let Ok((mut log, _report)) = PartitionLog::open(&part, config) else {
        return;
    };
    let (start, end) = (log.log_start_offset(), log.log_end_offset());
    for offset in start..end.min(start + 64) {
        let slice = log
            .read(offset, 4096)
            .expect("an offset below the log end reads");
        assert!(
            slice.is_some(),
            "offset {offset} of {start}..{end} has no batch"
        );
    }
    let _ = log.offset_for_timestamp(0);
    let _ = log.offset_for_timestamp(i64::MAX);

    let mut batch = Vec::new();
    let mut b = BatchBuilder::new(&mut batch, 0);
    b.append(0, None, Some(b"after recovery"), &[]);
    b.finish();
    let appended = log.append_batches(&mut batch);
    log.close().unwrap();
    let report = check_log(root.path(), false).expect("a recovered log can be inspected");
    assert!(
        report.problems.is_empty(),
        "recovered log (append: {appended:?}) has problems: {:?}",
        report.problems
    );
});
