//! A partition: a directory `<topic>-<partition>/` of segments, in offset order.
//!
//! The partition is the unit of ordering in Kafka. Its log is the concatenation of its
//! segments; only the last one is written to. This module knows the directory layout
//! (naming, listing) and the append path with rolling; it leaves checking to `inspect`.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::batch::BatchHeader;
use super::segment::{self, SegmentFiles, SegmentWriter};

/// Kafka's longest legal topic name (`Topic.MAX_NAME_LENGTH`).
pub const MAX_TOPIC_LEN: usize = 249;

/// Checks a topic name the way Kafka does (`Topic.validate`): 1 to 249 characters from
/// `[a-zA-Z0-9._-]`, and not `.` or `..`. This also keeps names safe as directory names.
pub fn validate_topic(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > MAX_TOPIC_LEN {
        return Err(format!(
            "topic name must be 1 to {MAX_TOPIC_LEN} characters, found {}",
            name.len()
        ));
    }
    if name == "." || name == ".." {
        return Err(format!("topic name cannot be '{name}'"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(format!(
            "topic name {name:?} contains {c:?}; legal characters are a-z, A-Z, 0-9, '.', '_' and '-'"
        ));
    }
    Ok(())
}

/// `demo-0` for topic `demo`, partition 0.
pub fn dir_name(topic: &str, partition: u32) -> String {
    format!("{topic}-{partition}")
}

/// Splits `my-topic-3` into `("my-topic", 3)`; topics may contain dashes, partitions not.
pub fn parse_dir_name(name: &str) -> Option<(&str, u32)> {
    let (topic, partition) = name.rsplit_once('-')?;
    validate_topic(topic).ok()?;
    Some((topic, partition.parse().ok()?))
}

/// A partition directory found on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionDir {
    pub topic: String,
    pub partition: u32,
    pub path: PathBuf,
}

/// The partition directories in `log_dir`, sorted by topic then partition. Other entries
/// (Kafka's checkpoint files, our manifest) are ignored.
pub fn list_partitions(log_dir: &Path) -> io::Result<Vec<PartitionDir>> {
    let mut found = Vec::new();
    for entry in fs::read_dir(log_dir)? {
        let entry = entry?;
        if !entry.file_type()?.is_dir() {
            continue;
        }
        let name = entry.file_name();
        if let Some((topic, partition)) = name.to_str().and_then(parse_dir_name) {
            found.push(PartitionDir {
                topic: topic.to_owned(),
                partition,
                path: entry.path(),
            });
        }
    }
    found.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
    Ok(found)
}

/// The segments of a partition directory in offset order, found by their `.log` files.
pub fn list_segments(dir: &Path) -> io::Result<Vec<SegmentFiles>> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name();
        if let Some(base) = name
            .to_str()
            .and_then(|n| segment::parse_base_offset(n, segment::LOG_EXT))
        {
            found.push(SegmentFiles::new(dir, base));
        }
    }
    found.sort_by_key(|s| s.base_offset);
    Ok(found)
}

/// Appends batches to a partition, rolling to a new segment when the active one is full.
pub struct PartitionWriter {
    dir: PathBuf,
    segment_bytes: u64,
    active: Option<SegmentWriter>,
    next_offset: i64,
}

impl PartitionWriter {
    /// Starts an empty partition in `dir` (created if needed) whose first offset is 0.
    pub fn create(dir: &Path, segment_bytes: u64) -> io::Result<Self> {
        fs::create_dir_all(dir)?;
        Ok(PartitionWriter {
            dir: dir.to_owned(),
            segment_bytes,
            active: None,
            next_offset: 0,
        })
    }

    /// The offset the next appended batch must start at (the log end offset).
    pub fn next_offset(&self) -> i64 {
        self.next_offset
    }

    /// Appends one complete batch whose base offset is `next_offset()`.
    pub fn append(&mut self, batch: &[u8]) -> io::Result<()> {
        let header = BatchHeader::parse(batch).map_err(io::Error::other)?;
        if header.base_offset != self.next_offset {
            return Err(io::Error::other(format!(
                "batch starts at offset {}, expected the log end offset {}",
                header.base_offset, self.next_offset
            )));
        }
        if self.must_roll(batch.len(), header.last_offset()) {
            if let Some(full) = self.active.take() {
                full.close()?;
            }
            self.active = Some(SegmentWriter::create(&self.dir, header.base_offset)?);
        }
        let active = self.active.as_mut().expect("rolled above");
        active.append(batch, &header)?;
        self.next_offset = header.last_offset() + 1;
        Ok(())
    }

    /// Kafka's roll rule (`LogSegment.shouldRoll`, size and offset parts): the batch would
    /// push the segment past `segment_bytes`, or its offsets would not fit the i32 relative
    /// offsets of the index. A batch always goes into an empty segment, however large.
    fn must_roll(&self, batch_len: usize, last_offset: i64) -> bool {
        match &self.active {
            None => true,
            Some(seg) => {
                seg.size() > 0
                    && (seg.size() + batch_len as u64 > self.segment_bytes
                        || last_offset - seg.base_offset() > i64::from(i32::MAX))
            }
        }
    }

    /// Closes the active segment, writing its final index entries.
    pub fn close(self) -> io::Result<()> {
        match self.active {
            Some(seg) => seg.close().map(drop),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
