//! Fuzz target: RecordBatch v2 parsing and validation (src/log/batch.rs) and the
//! producer-side checks every Produce goes through before a byte is appended.
//!
//! Properties checked beyond "never panics":
//! - a batch that `validate` accepts has exactly `recordsCount` records that all decode;
//! - the header's size is what `validate` measured;
//! - the producer-side validation of a batch list accepts nothing `validate` rejects;
//! - a compressed batch's records inflate (within a small limit) or fail cleanly, and what
//!   inflates decodes record by record without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zc::log::batch::{self, BatchHeader};
use zc::log::partition::validate_batches;

fuzz_target!(|data: &[u8]| {
    let _ = BatchHeader::parse(data);
    if let Ok(header) = batch::validate(data) {
        assert_eq!(header.size(), data.len());
        if header.compression() == 0 {
            let records: Vec<_> = batch::records(data).collect();
            assert_eq!(records.len() as i64, i64::from(header.records_count));
            assert!(records.iter().all(Result::is_ok));
        } else if let Ok(section) = batch::records_section(&header, data, 1 << 20) {
            let _ = batch::check_records(&header, &section, |_| {});
        }
    } else {
        // Whatever the records iterator does with garbage, it must stop.
        for record in batch::records(data).take(100_000) {
            let _ = record;
        }
    }
    if let Ok(found) = validate_batches(data) {
        let mut end = 0;
        for (at, header) in &found {
            assert_eq!(*at, end, "batches must tile the buffer");
            batch::validate(&data[*at..*at + header.size()]).expect("accepted batch validates");
            end = at + header.size();
        }
        assert_eq!(end, data.len());
    }
});
