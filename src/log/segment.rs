//! A segment: one `.log` file of batches plus its `.index` and `.timeindex`.
//!
//! Kafka never edits a log file in place: it appends batches to the newest ("active")
//! segment until the segment is full, then starts ("rolls") a new one named by the offset
//! of its first record, zero-padded to 20 digits so names sort in offset order:
//! `00000000000000000000.log`, `00000000000000001234.log`, ...
//! Old segments are immutable, which is what lets the page cache, sendfile and many
//! concurrent readers share them without locks. The active segment only grows, and
//! readers stop at its *committed size* (see [`Segment`]), so the bytes a reader was given
//! never change under it either.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Read};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::batch::{self, BatchError, BatchHeader, HEADER_LEN, LOG_OVERHEAD, MIN_BATCH_LENGTH};
use super::index::{self, IndexCadence, OffsetEntry, TimeEntry};

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

/// Options for opening a segment's files: never through a symbolic link (`O_NOFOLLOW`),
/// so a link planted in a log directory cannot make the broker write, truncate or serve
/// a file elsewhere. Opening a link fails with `ELOOP`; recovery names it first.
pub fn open_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.custom_flags(libc::O_NOFOLLOW);
    options
}

/// Opens a segment file for reading, without following a symbolic link.
pub fn open_read(path: &Path) -> io::Result<File> {
    open_options().read(true).open(path)
}

impl SegmentFiles {
    /// The segment's three files, each refused if it is a symbolic link.
    pub fn refuse_links(&self) -> io::Result<()> {
        for path in [&self.log, &self.index, &self.time_index] {
            if fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "{} is a symbolic link: zc never follows links in a log directory \
                         (writing through one would change the file it points to). Replace \
                         the link with the file itself, or remove it",
                        path.display()
                    ),
                ));
            }
        }
        Ok(())
    }

    pub fn new(dir: &Path, base_offset: i64) -> Self {
        SegmentFiles {
            base_offset,
            log: dir.join(file_name(base_offset, LOG_EXT)),
            index: dir.join(file_name(base_offset, INDEX_EXT)),
            time_index: dir.join(file_name(base_offset, TIME_INDEX_EXT)),
        }
    }
}

/// A region of a segment's `.log` holding whole batches: what one Fetch partition sends.
///
/// The file handle is shared, not reopened, and every transfer mode takes an explicit
/// offset, so any number of senders can use it at once while the log keeps appending.
#[derive(Debug, Clone)]
pub struct FileSlice {
    pub file: Arc<File>,
    /// Byte position of the first batch in the `.log`.
    pub position: u64,
    pub len: u64,
    /// Base offset of the first batch: at or below the offset that was asked for, since
    /// Kafka always starts at the batch *containing* the fetch offset.
    pub base_offset: i64,
}

/// The `timestampType` attribute bit: set means LogAppendTime, every record of the batch
/// carries the batch's `maxTimestamp`.
const LOG_APPEND_TIME: i16 = 0x08;

/// One segment as a running partition log holds it: the `.log` handle it shares with
/// readers, its *committed size*, and both sparse indexes in memory.
///
/// The committed size is the end of the last batch whose append completed. Readers never
/// look past it, so a Fetch can never send half of a batch that is still being written,
/// and a region computed under the partition lock stays valid after the lock is released:
/// appends only add bytes after it, and nothing shrinks a segment while the log is open.
///
/// The last segment of a partition is *active*: it also has an appender. The indexes
/// are kept in memory (a few bytes per 4 KiB of log) and reach their files on `flush`,
/// `seal` and `sync`: they are derived data that recovery can rebuild from the `.log`, so
/// they never need to be on disk before the batches they point at.
pub struct Segment {
    files: SegmentFiles,
    log: Arc<File>,
    size: u64,
    index: Vec<OffsetEntry>,
    time_index: Vec<TimeEntry>,
    appender: Option<Appender>,
    /// Something was written since the last `sync`.
    dirty: bool,
}

/// What only the active segment has: its index files open for writing, how many entries
/// of each already reached them, and the cadence that decides the next entries.
struct Appender {
    index: File,
    time_index: File,
    index_written: usize,
    time_written: usize,
    cadence: IndexCadence,
}

impl Segment {
    /// Creates the files of a new, empty, active segment.
    pub fn create(dir: &Path, base_offset: i64, index_interval_bytes: u64) -> io::Result<Self> {
        let files = SegmentFiles::new(dir, base_offset);
        // The `.log` must be new: it is the data, and nothing may overwrite data. The
        // indexes are derived, so a stale one (say, left behind by a crash while deleting a
        // segment) is simply replaced.
        let log = open_options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&files.log)?;
        let fresh = |p: &Path| {
            open_options()
                .write(true)
                .create(true)
                .truncate(true)
                .open(p)
        };
        let appender = Appender {
            index: fresh(&files.index)?,
            time_index: fresh(&files.time_index)?,
            index_written: 0,
            time_written: 0,
            cadence: IndexCadence::new(index_interval_bytes),
        };
        Ok(Segment {
            files,
            log: Arc::new(log),
            size: 0,
            index: Vec::new(),
            time_index: Vec::new(),
            appender: Some(appender),
            dirty: true,
        })
    }

    /// Opens a segment found on disk, whose `.log` holds `size` bytes of whole batches and
    /// whose index files hold exactly `index` and `time_index` (recovery makes sure of
    /// both). With a `cadence` it becomes the active segment and appends continue at `size`.
    pub fn open(
        files: SegmentFiles,
        size: u64,
        index: Vec<OffsetEntry>,
        time_index: Vec<TimeEntry>,
        cadence: Option<IndexCadence>,
    ) -> io::Result<Self> {
        let (log, appender) = match cadence {
            None => (open_read(&files.log)?, None),
            Some(cadence) => {
                let log = open_options().read(true).write(true).open(&files.log)?;
                let writable = |p: &Path| open_options().write(true).open(p);
                let appender = Appender {
                    index: writable(&files.index)?,
                    time_index: writable(&files.time_index)?,
                    index_written: index.len(),
                    time_written: time_index.len(),
                    cadence,
                };
                (log, Some(appender))
            }
        };
        Ok(Segment {
            files,
            log: Arc::new(log),
            size,
            index,
            time_index,
            appender,
            dirty: false,
        })
    }

    pub fn base_offset(&self) -> i64 {
        self.files.base_offset
    }

    /// Calls `f` with the header of every batch, in order (one positional read each).
    pub fn for_each_header(&self, mut f: impl FnMut(&BatchHeader)) -> io::Result<()> {
        let mut position = 0;
        while position < self.size {
            let header = header_at(&self.log, position, self.size)?;
            f(&header);
            position += header.size() as u64;
        }
        Ok(())
    }

    /// The committed size: bytes of whole, completely appended batches.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends `bytes`, whole batches with their offsets already assigned, at the end of
    /// the active segment, and indexes each batch; `batches` gives each one's start within
    /// `bytes` and its header. With `sync`, the `.log` is `fdatasync`ed before returning.
    /// Returns the position the bytes were written at.
    ///
    /// `write_ends` cuts the bytes into several positional writes, each ending at one of
    /// these positions within `bytes` (ascending; the rest goes in a last write). Empty
    /// means one write, which is what the broker and `zc fixture gen` do; `zc bench write
    /// --way per-record` passes record boundaries to show what one write per record costs.
    ///
    /// All or nothing: the committed size moves only once every byte is written (and
    /// synced), so on an error no reader has seen any of it and the next append writes
    /// over it.
    pub fn append(
        &mut self,
        bytes: &[u8],
        batches: &[(usize, BatchHeader)],
        sync: bool,
        write_ends: &[usize],
    ) -> io::Result<u64> {
        let Some(appender) = self.appender.as_mut() else {
            return Err(io::Error::other(format!(
                "{} is sealed: only the active segment takes appends",
                self.files.log.display()
            )));
        };
        let start = self.size;
        // Index entries hold positions and relative offsets as i32. Positions and offsets
        // only grow, so checking the last batch checks them all, before any byte is written.
        if let Some((at, header)) = batches.last() {
            let fits = i32::try_from(start + *at as u64).is_ok()
                && i32::try_from(header.last_offset() - self.files.base_offset).is_ok();
            if !fits {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "append does not fit the i32 positions and relative offsets of a segment",
                ));
            }
        }
        // A positional write: the file offset of the shared handle is never used, so a
        // sender that moves it cannot make an append land in the wrong place.
        let written = write_in_pieces(&self.log, bytes, start, write_ends)
            .and_then(|()| if sync { self.log.sync_data() } else { Ok(()) });
        if let Err(e) = written {
            // Some of the bytes may be in the file past the committed size, or all of them
            // without being on the disk. Cut them off, best effort: if even that fails, the
            // next append overwrites them, and recovery drops them after a crash. No reader
            // holds a region past the committed size, so this cannot pull bytes from under
            // an in-flight send.
            let _ = self.log.set_len(start);
            return Err(e);
        }
        self.size = start + bytes.len() as u64;
        self.dirty = true;
        for (at, header) in batches {
            // Both fit: checked above for the last, largest values.
            let position = (start + *at as u64) as i32;
            let relative = (header.last_offset() - self.files.base_offset) as i32;
            let (entry, time_entry) =
                appender
                    .cadence
                    .on_append(position, header.size(), relative, header.max_timestamp);
            self.index.extend(entry);
            self.time_index.extend(time_entry);
        }
        Ok(start)
    }

    /// Writes out pending index entries and `fdatasync`s the `.log`: every batch appended
    /// so far survives a power cut. The index files are written but not synced, since
    /// recovery rebuilds the active segment's indexes anyway.
    pub fn flush(&mut self) -> io::Result<()> {
        if let Some(appender) = &mut self.appender {
            appender.write_out(&self.index, &self.time_index)?;
        }
        self.log.sync_data()
    }

    /// Makes the segment inactive: adds the final time-index entry Kafka forces on roll
    /// and close, and writes out both indexes. Nothing is synced (see [`Segment::sync`]).
    pub fn seal(&mut self) -> io::Result<()> {
        let Some(mut appender) = self.appender.take() else {
            return Ok(());
        };
        self.time_index.extend(appender.cadence.on_close());
        self.dirty = true;
        appender.write_out(&self.index, &self.time_index)
    }

    /// Makes everything written to the segment's three files durable.
    pub fn sync(&mut self) -> io::Result<()> {
        if !self.dirty {
            return Ok(());
        }
        if let Some(appender) = &mut self.appender {
            appender.write_out(&self.index, &self.time_index)?;
        }
        self.log.sync_data()?;
        // fsync works through a read-only descriptor too; the appender's may be gone.
        open_read(&self.files.index)?.sync_data()?;
        open_read(&self.files.time_index)?.sync_data()?;
        self.dirty = false;
        Ok(())
    }

    /// The greatest timestamp in the segment if known: the active segment tracks it, and a
    /// sealed segment's last time-index entry holds it. `None` means "search".
    fn max_timestamp(&self) -> Option<i64> {
        match &self.appender {
            Some(appender) => appender.cadence.max_timestamp(),
            None => self.time_index.last().map(|e| e.timestamp),
        }
    }

    /// Kafka's `OffsetIndex.lookup` plus `FileRecords.searchForOffsetWithSize`: the
    /// position and header of the first batch whose last offset is at or after `offset`,
    /// or `None` if the segment ends before such a batch. The index entry found holds a
    /// batch's *last* offset, so the wanted batch is at or after its position.
    fn find_batch(&self, offset: i64) -> io::Result<Option<(u64, BatchHeader)>> {
        // Offsets beyond the i32 range cannot be in this segment; clamping keeps the
        // lookup on the last entry, and the walk then runs to the end.
        let relative = (offset - self.base_offset()).clamp(0, i64::from(i32::MAX)) as i32;
        let mut position = index::lookup(&self.index, relative) as u64;
        while position < self.size {
            let header = self.header(position)?;
            if header.last_offset() >= offset {
                return Ok(Some((position, header)));
            }
            position += header.size() as u64;
        }
        Ok(None)
    }

    /// The region a Fetch at `offset` sends from this segment: whole batches from the one
    /// containing `offset`, at most `max_bytes` of them unless the first alone is larger
    /// (KIP-74: a consumer must always be able to make progress), never past the
    /// committed size. `None` if the segment holds nothing at or after `offset`.
    pub fn read(&self, offset: i64, max_bytes: u64) -> io::Result<Option<FileSlice>> {
        let Some((position, first)) = self.find_batch(offset)? else {
            return Ok(None);
        };
        let first_end = position + first.size() as u64;
        let limit = position.saturating_add(max_bytes).min(self.size);
        let end = if limit > first_end {
            self.whole_batches_end(first_end, limit)?
        } else {
            first_end
        };
        Ok(Some(FileSlice {
            file: Arc::clone(&self.log),
            position,
            len: end - position,
            base_offset: first.base_offset,
        }))
    }

    /// The end of the last batch that ends at or before `limit`, walking from the batch
    /// boundary `from`. Index positions are batch starts too, so the walk jumps to the
    /// last one below `limit` first and reads only a few headers, however large `limit`.
    fn whole_batches_end(&self, from: u64, limit: u64) -> io::Result<u64> {
        let below = self.index.partition_point(|e| e.position as u64 <= limit);
        let jump = below
            .checked_sub(1)
            .map_or(0, |i| self.index[i].position as u64);
        let mut end = from.max(jump);
        while end < limit {
            let size = self.header(end)?.size() as u64;
            if end + size > limit {
                break;
            }
            end += size;
        }
        Ok(end)
    }

    /// The first record, in offset order, with a timestamp at or above `target`, as
    /// `(offset, timestamp)`: the time index skips ahead, the offset index finds the batch,
    /// then batch headers are walked (Kafka's `LogSegment.findOffsetByTimestamp`).
    pub fn find_timestamp(&self, target: i64) -> io::Result<Option<(i64, i64)>> {
        if self.max_timestamp().is_some_and(|max| max < target) {
            return Ok(None);
        }
        let mut position = index::lookup_time(&self.time_index, target)
            .map_or(0, |e| index::lookup(&self.index, e.relative_offset) as u64);
        while position < self.size {
            let header = self.header(position)?;
            if header.max_timestamp >= target
                && let Some(found) = self.first_record_from(position, &header, target)?
            {
                return Ok(Some(found));
            }
            position += header.size() as u64;
        }
        Ok(None)
    }

    /// The header of the batch at `position`, which must lie within the committed size.
    fn header(&self, position: u64) -> io::Result<BatchHeader> {
        header_at(&self.log, position, self.size)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", self.files.log.display())))
    }

    /// The first record of the batch at `position` whose timestamp reaches `target`.
    fn first_record_from(
        &self,
        position: u64,
        header: &BatchHeader,
        target: i64,
    ) -> io::Result<Option<(i64, i64)>> {
        if header.attributes & LOG_APPEND_TIME != 0 {
            return Ok(Some((header.base_offset, header.max_timestamp)));
        }
        if header.compression() != 0 {
            // The records are compressed and this crate does not decompress: answer with
            // the batch, as docs/kafka-protocol.md §5 allows. The consumer skips what it does not want.
            return Ok(Some((header.base_offset, header.max_timestamp)));
        }
        let mut bytes = vec![0; header.size()];
        self.log.read_exact_at(&mut bytes, position)?;
        for record in batch::records(&bytes) {
            let record = record.map_err(|e| invalid_data(&self.files.log, position, e))?;
            let timestamp = header.base_timestamp + record.timestamp_delta;
            if timestamp >= target {
                let offset = header.base_offset + i64::from(record.offset_delta);
                return Ok(Some((offset, timestamp)));
            }
        }
        Ok(None)
    }
}

impl Appender {
    /// Writes the entries that have not reached the index files yet.
    fn write_out(&mut self, index: &[OffsetEntry], time_index: &[TimeEntry]) -> io::Result<()> {
        write_entries(
            &self.index,
            index,
            &mut self.index_written,
            OffsetEntry::to_bytes,
        )?;
        write_entries(
            &self.time_index,
            time_index,
            &mut self.time_written,
            TimeEntry::to_bytes,
        )
    }
}

fn write_entries<E: Copy, const N: usize>(
    file: &File,
    entries: &[E],
    written: &mut usize,
    to_bytes: fn(E) -> [u8; N],
) -> io::Result<()> {
    let Some(pending) = entries.get(*written..).filter(|p| !p.is_empty()) else {
        return Ok(());
    };
    let bytes: Vec<u8> = pending.iter().flat_map(|&e| to_bytes(e)).collect();
    // Positional, so that a retry after a failed write rewrites the same bytes rather
    // than appending a second copy.
    file.write_all_at(&bytes, (*written * N) as u64)?;
    *written = entries.len();
    Ok(())
}

/// `bytes` at `start` with one positional write per piece: pieces end at `write_ends`
/// (positions within `bytes`, ascending), the last one at the end of `bytes`.
fn write_in_pieces(log: &File, bytes: &[u8], start: u64, write_ends: &[usize]) -> io::Result<()> {
    let mut from = 0;
    for &end in write_ends.iter().chain(std::iter::once(&bytes.len())) {
        let end = end.min(bytes.len());
        if end > from {
            log.write_all_at(&bytes[from..end], start + from as u64)?;
            from = end;
        }
    }
    Ok(())
}

/// Reads and checks the header of the batch at `position` of a `.log` whose whole
/// batches end at `end`: the batch must start and end within it.
pub fn header_at(log: &File, position: u64, end: u64) -> io::Result<BatchHeader> {
    let mut buf = [0u8; HEADER_LEN];
    if position + HEADER_LEN as u64 > end {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("no batch header fits between byte {position} and byte {end}"),
        ));
    }
    log.read_exact_at(&mut buf, position)?;
    let header = BatchHeader::parse(&buf).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("batch at byte {position}: {e}"),
        )
    })?;
    if position + header.size() as u64 > end {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!(
                "batch at byte {position} is {} bytes, but only {} remain",
                header.size(),
                end - position
            ),
        ));
    }
    Ok(header)
}

fn invalid_data(log: &Path, position: u64, error: BatchError) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("{}: batch at byte {position}: {error}", log.display()),
    )
}

/// `fsync`s a directory, which makes the creation, renaming and removal of the files in
/// it durable (the files' own contents need their own `fsync`).
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
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
        let file = open_read(path)?;
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
/// The segments of a partition directory in offset order, found by their `.log` files.
pub fn list_segments(dir: &Path) -> io::Result<Vec<SegmentFiles>> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name();
        if let Some(base) = name.to_str().and_then(|n| parse_base_offset(n, LOG_EXT)) {
            found.push(SegmentFiles::new(dir, base));
        }
    }
    found.sort_by_key(|s| s.base_offset);
    Ok(found)
}
