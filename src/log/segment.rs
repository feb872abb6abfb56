//! A segment: one `.log` file of batches plus its `.index` and `.timeindex`.
//!
//! Kafka never edits a log file in place: it appends batches to the newest ("active")
//! segment until the segment is full, then starts ("rolls") a new one named by the offset
//! of its first record, zero-padded to 20 digits so names sort in offset order:
//! `00000000000000000000.log`, `00000000000000001234.log`, ...
//! Old segments are immutable, which is what lets the page cache, sendfile and many
//! concurrent readers share them without locks.

use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use super::batch::{BatchError, BatchHeader, LOG_OVERHEAD, MIN_BATCH_LENGTH};
use super::index::IndexCadence;

pub const LOG_EXT: &str = "log";
pub const INDEX_EXT: &str = "index";
pub const TIME_INDEX_EXT: &str = "timeindex";

/// `00000000000000001234.log` for base offset 1234 and extension `log`.
pub fn file_name(base_offset: i64, ext: &str) -> String {
    format!("{base_offset:020}.{ext}")
}

/// The base offset a segment file name claims, if the name is a segment name.
pub fn parse_base_offset(name: &str, ext: &str) -> Option<i64> {
    let stem = name.strip_suffix(ext)?.strip_suffix('.')?;
    if stem.len() != 20 || !stem.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    stem.parse().ok()
}

/// The three files of the segment with base offset `base_offset` in `dir`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentFiles {
    pub base_offset: i64,
    pub log: PathBuf,
    pub index: PathBuf,
    pub time_index: PathBuf,
}

impl SegmentFiles {
    pub fn new(dir: &Path, base_offset: i64) -> Self {
        SegmentFiles {
            base_offset,
            log: dir.join(file_name(base_offset, LOG_EXT)),
            index: dir.join(file_name(base_offset, INDEX_EXT)),
            time_index: dir.join(file_name(base_offset, TIME_INDEX_EXT)),
        }
    }
}

/// Appends batches to a new segment and keeps its indexes in step.
///
/// Index entries go through a buffer and reach the files at `close` (or `flush`): like
/// Kafka's memory-mapped indexes, they are a derived structure that recovery can rebuild
/// from the `.log`, so they never need to be durable before the data is.
pub struct SegmentWriter {
    files: SegmentFiles,
    log: File,
    index: BufWriter<File>,
    time_index: BufWriter<File>,
    size: u64,
    cadence: IndexCadence,
}

impl SegmentWriter {
    /// Creates the segment's files; fails if any already exists, so nothing is overwritten.
    pub fn create(dir: &Path, base_offset: i64) -> io::Result<Self> {
        let files = SegmentFiles::new(dir, base_offset);
        let create = |p: &Path| OpenOptions::new().write(true).create_new(true).open(p);
        Ok(SegmentWriter {
            log: create(&files.log)?,
            index: BufWriter::new(create(&files.index)?),
            time_index: BufWriter::new(create(&files.time_index)?),
            files,
            size: 0,
            cadence: IndexCadence::default(),
        })
    }

    pub fn base_offset(&self) -> i64 {
        self.files.base_offset
    }

    /// Bytes in the `.log` so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends one complete batch (already validated, offsets already assigned).
    pub fn append(&mut self, batch: &[u8], header: &BatchHeader) -> io::Result<()> {
        let position = i32::try_from(self.size)
            .map_err(|_| io::Error::other("segment position does not fit in an i32 index entry"))?;
        let relative = i32::try_from(header.last_offset() - self.files.base_offset)
            .map_err(|_| io::Error::other("offset does not fit in an i32 relative index entry"))?;
        self.log.write_all(batch)?;
        self.size += batch.len() as u64;
        let (offset_entry, time_entry) =
            self.cadence
                .on_append(position, batch.len(), relative, header.max_timestamp);
        if let Some(e) = offset_entry {
            self.index.write_all(&e.to_bytes())?;
        }
        if let Some(e) = time_entry {
            self.time_index.write_all(&e.to_bytes())?;
        }
        Ok(())
    }

    /// Writes the final time-index entry and flushes both indexes: the segment is done.
    pub fn close(mut self) -> io::Result<SegmentFiles> {
        if let Some(e) = self.cadence.on_close() {
            self.time_index.write_all(&e.to_bytes())?;
        }
        self.index.flush()?;
        self.time_index.flush()?;
        Ok(self.files)
    }
}

/// Why the batches of a `.log` file cannot be framed any further.
#[derive(Debug)]
pub enum ScanError {
    /// The file ends inside a batch: the typical torn write of a crash.
    TornTail {
        position: u64,
        needed: u64,
        remaining: u64,
    },
    /// The batch header itself is impossible (bad length or magic).
    Batch {
        position: u64,
        error: BatchError,
    },
    Io {
        position: u64,
        error: io::Error,
    },
}

impl ScanError {
    pub fn position(&self) -> u64 {
        match self {
            ScanError::TornTail { position, .. }
            | ScanError::Batch { position, .. }
            | ScanError::Io { position, .. } => *position,
        }
    }
}

impl std::fmt::Display for ScanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScanError::TornTail {
                needed, remaining, ..
            } => write!(
                f,
                "truncated batch: expected {needed} bytes, found {remaining} before the end of the file"
            ),
            ScanError::Batch { error, .. } => error.fmt(f),
            ScanError::Io { error, .. } => write!(f, "read failed: {error}"),
        }
    }
}

/// Walks the batches of a `.log` file from its start, one at a time, reusing one buffer.
/// It frames batches by their length field only; checking CRCs and records is the
/// caller's choice (`batch::validate`).
pub struct BatchScanner {
    reader: BufReader<File>,
    position: u64,
    file_len: u64,
    buf: Vec<u8>,
}

impl BatchScanner {
    pub fn open(path: &Path) -> io::Result<Self> {
        let file = File::open(path)?;
        let file_len = file.metadata()?.len();
        Ok(BatchScanner {
            reader: BufReader::with_capacity(1 << 20, file),
            position: 0,
            file_len,
            buf: Vec::new(),
        })
    }

    pub fn file_len(&self) -> u64 {
        self.file_len
    }

    /// The next batch as `(position, bytes)`, `None` at a clean end of file.
    pub fn next_batch(&mut self) -> Result<Option<(u64, &[u8])>, ScanError> {
        let position = self.position;
        let remaining = self.file_len - position;
        if remaining == 0 {
            return Ok(None);
        }
        let torn = |needed: u64| ScanError::TornTail {
            position,
            needed,
            remaining,
        };
        if remaining < LOG_OVERHEAD as u64 {
            return Err(torn(LOG_OVERHEAD as u64));
        }
        let io_err = |error| ScanError::Io { position, error };
        self.buf.resize(LOG_OVERHEAD, 0);
        self.reader.read_exact(&mut self.buf).map_err(io_err)?;
        let length = i32::from_be_bytes(self.buf[8..12].try_into().expect("4 bytes"));
        if length < MIN_BATCH_LENGTH {
            return Err(ScanError::Batch {
                position,
                error: BatchError::BadLength { length },
            });
        }
        let size = LOG_OVERHEAD as u64 + length as u64;
        if size > remaining {
            return Err(torn(size));
        }
        self.buf.resize(size as usize, 0);
        self.reader
            .read_exact(&mut self.buf[LOG_OVERHEAD..])
            .map_err(io_err)?;
        // Magic is checked here so that callers never misframe a foreign format.
        BatchHeader::parse(&self.buf).map_err(|error| ScanError::Batch { position, error })?;
        self.position += size;
        Ok(Some((position, &self.buf)))
    }
}
