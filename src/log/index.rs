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

/// The time-index entry to start a timestamp search from: the greatest entry whose
/// timestamp is *below* `target`, or `None` (start at the segment's beginning).
///
/// An entry `(T, O)` promises that every record with a timestamp above `T` sits after
/// offset `O`, so when `T < target` nothing at or before `O` can be the answer. Kafka takes
/// the greatest entry with `T <= target`; with `T == target` the first matching record could
/// sit *before* `O`, in an earlier batch, so the strict comparison is the safe one.
pub fn lookup_time(entries: &[TimeEntry], target: i64) -> Option<TimeEntry> {
    let after = entries.partition_point(|e| e.timestamp < target);
    after.checked_sub(1).map(|i| entries[i])
}

/// Decides, append by append, when the sparse indexes get a new entry; the same rule
/// serves the writer and any rebuild, so both produce identical files.
#[derive(Debug, Clone)]
pub struct IndexCadence {
    interval_bytes: u64,
    bytes_since_entry: u64,
    max_timestamp: Option<(i64, i32)>,
    last_time_entry: Option<i64>,
}

impl Default for IndexCadence {
    fn default() -> Self {
        IndexCadence::new(INDEX_INTERVAL_BYTES)
    }
}

impl IndexCadence {
    /// A cadence for an empty segment, adding entries every `interval_bytes` of log
    /// (Kafka's `index.interval.bytes`).
    pub fn new(interval_bytes: u64) -> Self {
        IndexCadence {
            interval_bytes,
            bytes_since_entry: 0,
            max_timestamp: None,
            last_time_entry: None,
        }
    }

    /// The cadence a writer had after appending a segment's existing batches, rebuilt from
    /// what its files say: the bytes after the last offset-index entry's position (the
    /// counter restarts at each entry, and counts the batch at that position too) and the
    /// last time-index entry (each one holds the segment's greatest timestamp so far).
    /// Batches after that entry must then be passed to [`IndexCadence::observe`].
    pub fn resume(
        interval_bytes: u64,
        bytes_since_entry: u64,
        last_time_entry: Option<TimeEntry>,
    ) -> Self {
        IndexCadence {
            interval_bytes,
            bytes_since_entry,
            max_timestamp: last_time_entry.map(|e| (e.timestamp, e.relative_offset)),
            last_time_entry: last_time_entry.map(|e| e.timestamp),
        }
    }

    /// Records one appended batch and returns the entries to add for it, if any.
    /// `relative_last_offset` is the batch's last offset minus the segment base.
    pub fn on_append(
        &mut self,
        position: i32,
        size: usize,
        relative_last_offset: i32,
        max_timestamp: i64,
    ) -> (Option<OffsetEntry>, Option<TimeEntry>) {
        self.observe(max_timestamp, relative_last_offset);
        // Kafka checks the counter *before* counting this append, then resets it.
        let mut entries = (None, None);
        if self.bytes_since_entry > self.interval_bytes {
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

    /// Tracks a batch's greatest timestamp without counting its bytes. The first batch to
    /// reach a new maximum keeps it: Kafka's `shallowOffsetOfMaxTimestampSoFar`.
    pub fn observe(&mut self, max_timestamp: i64, relative_last_offset: i32) {
        if self.max_timestamp.is_none_or(|(ts, _)| max_timestamp > ts) {
            self.max_timestamp = Some((max_timestamp, relative_last_offset));
        }
    }

    /// The greatest timestamp seen in the segment, `None` while it is empty.
    pub fn max_timestamp(&self) -> Option<i64> {
        self.max_timestamp.map(|(ts, _)| ts)
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
    fn time_lookup_takes_the_greatest_entry_strictly_below() {
        let t = |timestamp, relative_offset| TimeEntry {
            timestamp,
            relative_offset,
        };
        let idx = [t(100, 3), t(200, 9), t(300, 20)];
        assert_eq!(lookup_time(&idx, 100), None);
        assert_eq!(lookup_time(&idx, 101), Some(t(100, 3)));
        assert_eq!(lookup_time(&idx, 200), Some(t(100, 3)));
        assert_eq!(lookup_time(&idx, 1000), Some(t(300, 20)));
        assert_eq!(lookup_time(&[], 5), None);
    }

    #[test]
    fn a_resumed_cadence_continues_where_the_writer_stopped() {
        let batches: Vec<(usize, i64)> = (0..40)
            .map(|i| (700 + i * 13 % 500, 50 + (i as i64 * 7) % 30))
            .collect();
        let mut straight = IndexCadence::new(1000);
        let (mut index, mut times, mut position) = (Vec::new(), Vec::new(), 0);
        let mut resumed = None;
        for (i, &(size, ts)) in batches.iter().enumerate() {
            if i == 25 {
                // What the files say after 25 batches, and the batches after the last entry.
                let last: &OffsetEntry = index.last().unwrap();
                let mut c = IndexCadence::resume(
                    1000,
                    position - last.position as u64,
                    times.last().copied(),
                );
                let mut at = 0u64;
                for (j, &(size, ts)) in batches[..25].iter().enumerate() {
                    if at >= last.position as u64 {
                        c.observe(ts, j as i32);
                    }
                    at += size as u64;
                }
                resumed = Some((c, index.len(), times.len()));
            }
            let (o, t) = straight.on_append(position as i32, size, i as i32, ts);
            index.extend(o);
            times.extend(t);
            position += size as u64;
        }
        let (mut c, n, m) = resumed.unwrap();
        let (mut index2, mut times2) = (index[..n].to_vec(), times[..m].to_vec());
        let mut position: u64 = batches[..25].iter().map(|b| b.0 as u64).sum();
        for (i, &(size, ts)) in batches.iter().enumerate().skip(25) {
            let (o, t) = c.on_append(position as i32, size, i as i32, ts);
            index2.extend(o);
            times2.extend(t);
            position += size as u64;
        }
        assert_eq!((index2, times2), (index, times));
        assert_eq!(c.on_close(), straight.on_close());
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
