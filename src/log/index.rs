//! The two sparse indexes Kafka keeps beside each `.log` segment.
//!
//! A segment can be a gigabyte; a consumer asks for "offset 1,234,567". Scanning the whole
//! file for it would be slow, and indexing every batch would be large. Kafka's answer is a
//! *sparse* index: one entry roughly every `index.interval.bytes` (4096) bytes of log.
//!
//! - `.index`: 8-byte entries `relativeOffset: i32, position: i32` (big-endian). The offset is
//!   the last offset of the batch(es) appended at `position`. To find an offset, binary-search
//!   the greatest entry at or below it, then walk batch headers forward from its position.
//! - `.timeindex`: 12-byte entries `timestamp: i64, relativeOffset: i32`: every record with a
//!   larger timestamp is at or after that offset. Timestamps in it only ever grow.
//!
//! "Relative" means relative to the segment's base offset, which is why an offset must fit
//! in an i32 after subtracting it (otherwise Kafka rolls a new segment).

use std::fmt;

/// Kafka's `index.interval.bytes` default: add an index entry after more than this many bytes.
pub const INDEX_INTERVAL_BYTES: u64 = 4096;
pub const OFFSET_ENTRY_LEN: usize = 8;
pub const TIME_ENTRY_LEN: usize = 12;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetEntry {
    pub relative_offset: i32,
    pub position: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeEntry {
    pub timestamp: i64,
    pub relative_offset: i32,
}

impl OffsetEntry {
    pub fn to_bytes(self) -> [u8; OFFSET_ENTRY_LEN] {
        let mut b = [0; OFFSET_ENTRY_LEN];
        b[..4].copy_from_slice(&self.relative_offset.to_be_bytes());
        b[4..].copy_from_slice(&self.position.to_be_bytes());
        b
    }
}

impl TimeEntry {
    pub fn to_bytes(self) -> [u8; TIME_ENTRY_LEN] {
        let mut b = [0; TIME_ENTRY_LEN];
        b[..8].copy_from_slice(&self.timestamp.to_be_bytes());
        b[8..].copy_from_slice(&self.relative_offset.to_be_bytes());
        b
    }
}

/// An index file whose length is not a whole number of entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaggedIndex {
    pub len: usize,
    pub entry_len: usize,
}

impl fmt::Display for RaggedIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "index length is not a multiple of the {}-byte entry size: expected {}, found {}",
            self.entry_len,
            self.len / self.entry_len * self.entry_len,
            self.len
        )
    }
}

pub fn parse_offset_index(bytes: &[u8]) -> Result<Vec<OffsetEntry>, RaggedIndex> {
    chunks(bytes, OFFSET_ENTRY_LEN).map(|it| {
        it.map(|e| OffsetEntry {
            relative_offset: i32::from_be_bytes(e[..4].try_into().expect("4 bytes")),
            position: i32::from_be_bytes(e[4..].try_into().expect("4 bytes")),
        })
        .collect()
    })
}

pub fn parse_time_index(bytes: &[u8]) -> Result<Vec<TimeEntry>, RaggedIndex> {
    chunks(bytes, TIME_ENTRY_LEN).map(|it| {
        it.map(|e| TimeEntry {
            timestamp: i64::from_be_bytes(e[..8].try_into().expect("8 bytes")),
            relative_offset: i32::from_be_bytes(e[8..].try_into().expect("4 bytes")),
        })
        .collect()
    })
}

fn chunks(bytes: &[u8], entry_len: usize) -> Result<std::slice::ChunksExact<'_, u8>, RaggedIndex> {
    if bytes.len() % entry_len != 0 {
        return Err(RaggedIndex {
            len: bytes.len(),
            entry_len,
        });
    }
    Ok(bytes.chunks_exact(entry_len))
}

/// Kafka's `OffsetIndex.lookup`: the file position to start scanning from for
/// `relative_target`, i.e. the position of the greatest entry whose offset is at or below
/// it, or 0 when there is none.
pub fn lookup(entries: &[OffsetEntry], relative_target: i32) -> i32 {
    let after = entries.partition_point(|e| e.relative_offset <= relative_target);
    after.checked_sub(1).map_or(0, |i| entries[i].position)
}

/// Decides, append by append, when the sparse indexes get a new entry; the same rule
/// serves the writer and any rebuild, so both produce identical files.
#[derive(Debug, Default)]
pub struct IndexCadence {
    bytes_since_entry: u64,
    max_timestamp: Option<(i64, i32)>,
    last_time_entry: Option<i64>,
}

impl IndexCadence {
    /// Records one appended batch and returns the entries to add for it, if any.
    /// `relative_last_offset` is the batch's last offset minus the segment base.
    pub fn on_append(
        &mut self,
        position: i32,
        size: usize,
        relative_last_offset: i32,
        max_timestamp: i64,
    ) -> (Option<OffsetEntry>, Option<TimeEntry>) {
        if self.max_timestamp.is_none_or(|(ts, _)| max_timestamp > ts) {
            self.max_timestamp = Some((max_timestamp, relative_last_offset));
        }
        // Kafka checks the counter *before* counting this append, then resets it.
        let mut entries = (None, None);
        if self.bytes_since_entry > INDEX_INTERVAL_BYTES {
            entries = (
                Some(OffsetEntry {
                    relative_offset: relative_last_offset,
                    position,
                }),
                self.time_entry(),
            );
            self.bytes_since_entry = 0;
        }
        self.bytes_since_entry += size as u64;
        entries
    }

    /// The time-index entry Kafka forces when a segment stops being active.
    pub fn on_close(&mut self) -> Option<TimeEntry> {
        self.time_entry()
    }

    fn time_entry(&mut self) -> Option<TimeEntry> {
        let (timestamp, relative_offset) = self.max_timestamp?;
        if self.last_time_entry.is_some_and(|last| timestamp <= last) {
            return None;
        }
        self.last_time_entry = Some(timestamp);
        Some(TimeEntry {
            timestamp,
            relative_offset,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(relative_offset: i32, position: i32) -> OffsetEntry {
        OffsetEntry {
            relative_offset,
            position,
        }
    }

    #[test]
    fn lookup_finds_greatest_entry_at_or_below() {
        let idx = [entry(10, 4100), entry(20, 8200), entry(30, 12300)];
        assert_eq!(lookup(&idx, 0), 0);
        assert_eq!(lookup(&idx, 9), 0);
        assert_eq!(lookup(&idx, 10), 4100);
        assert_eq!(lookup(&idx, 25), 8200);
        assert_eq!(lookup(&idx, 1000), 12300);
        assert_eq!(lookup(&[], 5), 0);
    }

    #[test]
    fn entries_round_trip_and_ragged_files_are_rejected() {
        let bytes: Vec<u8> = [entry(1, 2), entry(3, 4)]
            .iter()
            .flat_map(|e| e.to_bytes())
            .collect();
        assert_eq!(
            parse_offset_index(&bytes).unwrap(),
            vec![entry(1, 2), entry(3, 4)]
        );
        let t = TimeEntry {
            timestamp: -5,
            relative_offset: 9,
        };
        assert_eq!(parse_time_index(&t.to_bytes()).unwrap(), vec![t]);
        assert_eq!(
            parse_offset_index(&bytes[..9]),
            Err(RaggedIndex {
                len: 9,
                entry_len: 8
            })
        );
    }

    #[test]
    fn cadence_follows_kafkas_interval_rule() {
        let mut c = IndexCadence::default();
        // 3000-byte batches: the counter exceeds 4096 after two, so the third gets an entry.
        let mut got = Vec::new();
        for i in 0..6 {
            let (o, _) = c.on_append(i * 3000, 3000, i, 100 + i64::from(i));
            got.extend(o);
        }
        assert_eq!(got, vec![entry(2, 6000), entry(4, 12000)]);
        assert_eq!(
            c.on_close(),
            Some(TimeEntry {
                timestamp: 105,
                relative_offset: 5
            })
        );
        assert_eq!(c.on_close(), None, "time index only grows");
    }
}
