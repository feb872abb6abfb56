//! Recovery: making a partition directory whole again after a crash, before it is served.
//!
//! A log is appended with plain `write`s, and a crash (`kill -9`, a power cut) can stop a
//! write half way. What is on disk afterwards is always a *prefix* of what was written, so
//! the damage is confined to the end of the last segment: a torn batch (the file ends
//! inside it), or, after a power cut, a batch whose bytes never all reached the disk (its
//! CRC-32C no longer matches). Recovery is Kafka's `LogSegment.recover` (docs/kafka-protocol.md §12):
//!
//! 1. walk the batches of the last segment from byte 0, framing each by its length and
//!    validating it completely ([`batch::validate`]: length, magic, CRC, records), and
//!    check that offsets run on without gaps from the segment's base offset (stricter
//!    than Kafka, whose log compaction leaves gaps: zc never compacts, and the CRC does
//!    not cover `baseOffset`, so continuity is what catches a damaged one. A compacted
//!    log copied from a real Kafka broker would be cut at its first gap: zc serves only
//!    logs it wrote or generated);
//! 2. stop at the first batch that fails; everything before it is *valid bytes*;
//! 3. truncate the `.log` to the valid bytes.
//!
//! Why truncate instead of repairing? Nothing after the first bad batch can be trusted: its
//! length field may be garbage, so even the position of the next batch is unknown. And
//! nothing there was acknowledged to a producer: with `--flush always` an append is
//! `fdatasync`ed before it is acknowledged, and even without it a process crash leaves the
//! page cache, and so every completed write, intact. Only the write in flight, which nobody
//! was told about, is lost. Truncating also makes the log end offset honest: it becomes
//! the last whole batch's last offset + 1, the next append continues there, and a consumer
//! never receives bytes that a later append would overwrite. If a segment *before* the last
//! one has to be truncated, every later segment is deleted: a log is one sequence, and
//! batches after a hole would be offsets without a history.
//!
//! The `.index` and `.timeindex` are *derived* data: every entry is a function of the
//! batches in the `.log` and the [`IndexCadence`] rule, so recovery rebuilds them from
//! scratch while it walks, and gets exactly the files the writer would have written. That
//! is why the writer never has to make them durable before the data, and why a segment
//! whose index files are missing or inconsistent (ragged, not increasing, pointing past
//! the end or at something that is not a batch) is recovered too, wherever it sits.
//!
//! A clean shutdown leaves a marker file, [`CLEAN_SHUTDOWN_FILE`], after making every file
//! durable (Kafka's `.kafka_cleanshutdown`, kept here per partition directory). Opening
//! removes it first, so a crash at any later time is noticed the next time. With the
//! marker present the tail is trusted after cheap checks instead of a full scan: the index
//! files are sanity-checked, and the batch headers after the last index entry (a few KiB)
//! are walked to find the end; any surprise falls back to full recovery.

use std::fmt;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use super::batch;
use super::index::{self, IndexCadence, OffsetEntry, TimeEntry};
use super::segment::{self, BatchScanner, ScanError, Segment, SegmentFiles};

/// The clean-shutdown marker, in the partition directory.
pub const CLEAN_SHUTDOWN_FILE: &str = ".zc-clean-shutdown";

/// Records that the partition in `dir` was closed cleanly: every file in it is durable
/// and whole. Call it only after that is true ([`PartitionLog::shutdown`] does).
///
/// [`PartitionLog::shutdown`]: super::partition::PartitionLog::shutdown
pub fn mark_clean(dir: &Path) -> io::Result<()> {
    File::create(dir.join(CLEAN_SHUTDOWN_FILE))?.sync_all()?;
    segment::sync_dir(dir)
}

/// Whether the partition in `dir` carries the clean-shutdown marker.
pub fn is_marked_clean(dir: &Path) -> bool {
    dir.join(CLEAN_SHUTDOWN_FILE).is_file()
}

/// Removes the marker, durably, and says whether it was there.
fn take_clean_marker(dir: &Path) -> io::Result<bool> {
    match fs::remove_file(dir.join(CLEAN_SHUTDOWN_FILE)) {
        Ok(()) => segment::sync_dir(dir).map(|()| true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Why a segment was scanned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// No clean-shutdown marker: the last segment may end in a torn or corrupt write.
    UncleanShutdown,
    /// The marker was there, but the last segment did not pass the cheap checks.
    TailCheckFailed(String),
    /// The segment's index files are missing or inconsistent.
    BadIndex(String),
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::UncleanShutdown => write!(f, "unclean shutdown"),
            Reason::TailCheckFailed(why) => write!(f, "clean shutdown, but {why}"),
            Reason::BadIndex(why) => write!(f, "{why}"),
        }
    }
}

/// What recovery did to one segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentRecovery {
    pub log: PathBuf,
    pub reason: Reason,
    /// Bytes of whole, valid batches kept.
    pub valid_bytes: u64,
    /// Bytes cut off the end of the `.log`.
    pub truncated_bytes: u64,
    /// Where and why the scan stopped before the end of the file.
    pub stopped: Option<String>,
    /// Whether `.index` and `.timeindex` were rewritten; not when the files already held
    /// exactly the rebuilt entries.
    pub indexes_rebuilt: bool,
}

/// Everything [`PartitionLog::open`] found and did, for the broker to log.
///
/// [`PartitionLog::open`]: super::partition::PartitionLog::open
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryReport {
    pub dir: PathBuf,
    /// The clean-shutdown marker was present.
    pub clean_shutdown: bool,
    /// The directory held no segment, and an empty one was created.
    pub created: bool,
    /// The segments that were scanned, oldest first.
    pub segments: Vec<SegmentRecovery>,
    /// `.log` files deleted because an earlier segment was truncated.
    pub deleted: Vec<PathBuf>,
    pub log_end_offset: i64,
}

impl RecoveryReport {
    /// Whether recovery changed any `.log` (truncated or deleted one): data was lost that
    /// had not been acknowledged, or the disk was damaged.
    pub fn lost_data(&self) -> bool {
        !self.deleted.is_empty() || self.segments.iter().any(|s| s.truncated_bytes > 0)
    }
}

impl fmt::Display for RecoveryReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match (self.created, self.clean_shutdown) {
            (true, _) => "new partition",
            (false, true) => "clean shutdown",
            (false, false) => "unclean shutdown",
        };
        write!(
            f,
            "{}: {state}, log end offset {}",
            self.dir.display(),
            self.log_end_offset
        )?;
        for s in &self.segments {
            write!(
                f,
                "\n  {}: scanned ({}): {} valid bytes",
                file_name(&s.log),
                s.reason,
                s.valid_bytes
            )?;
            if let Some(stopped) = &s.stopped {
                write!(f, ", truncated {} bytes ({stopped})", s.truncated_bytes)?;
            }
            if s.indexes_rebuilt {
                write!(f, ", indexes rebuilt")?;
            }
        }
        for d in &self.deleted {
            write!(
                f,
                "\n  {}: deleted, it came after a truncated segment",
                file_name(d)
            )?;
        }
        Ok(())
    }
}

/// The name of a file, for messages whose directory is said once.
fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// Opens the segments of the partition in `dir`, recovering what needs it: returns them
/// oldest first, the last one active, with the log end offset and the report.
pub(crate) fn open_segments(
    dir: &Path,
    index_interval_bytes: u64,
) -> io::Result<(Vec<Segment>, i64, RecoveryReport)> {
    // Taken before anything else: from now until the next clean shutdown writes it again,
    // a crash must be noticed.
    let clean = take_clean_marker(dir)?;
    let mut report = RecoveryReport {
        dir: dir.to_owned(),
        clean_shutdown: clean,
        created: false,
        segments: Vec::new(),
        deleted: Vec::new(),
        log_end_offset: 0,
    };
    let all = segment::list_segments(dir)?;
    for files in &all {
        files.refuse_links()?;
    }
    let Some((last, earlier)) = all.split_last() else {
        report.created = true;
        let first = Segment::create(dir, 0, index_interval_bytes)?;
        return Ok((vec![first], 0, report));
    };

    let mut segments = Vec::with_capacity(all.len());
    let mut tail = None;
    for (i, files) in earlier.iter().enumerate() {
        let size = fs::metadata(&files.log)?.len();
        let why = match load_indexes(files, size) {
            Ok((index, time_index)) => {
                segments.push(Segment::open(files.clone(), size, index, time_index, None)?);
                continue;
            }
            Err(why) => why,
        };
        let mut scanned = scan(files, index_interval_bytes)?;
        if scanned.stopped.is_some() {
            // Everything after a truncated segment goes: it becomes the tail.
            for later in &all[i + 1..] {
                delete_segment(later)?;
                report.deleted.push(later.log.clone());
            }
            segment::sync_dir(dir)?;
            tail = Some((files.clone(), scanned, Reason::BadIndex(why)));
            break;
        }
        // It stays a sealed segment: it gets the final time-index entry the writer adds.
        scanned.time_index.extend(scanned.cadence.on_close());
        write_indexes(files, &scanned.index, &scanned.time_index)?;
        report
            .segments
            .push(scanned.report(files, Reason::BadIndex(why), true));
        segments.push(Segment::open(
            files.clone(),
            scanned.valid_bytes,
            scanned.index,
            scanned.time_index,
            None,
        )?);
    }

    let (files, scanned, reason) = match tail {
        Some(scanned) => scanned,
        None => {
            let size = fs::metadata(&last.log)?.len();
            let reason = match (clean, load_indexes(last, size)) {
                (false, _) => Reason::UncleanShutdown,
                (true, Err(why)) => Reason::BadIndex(why),
                (true, Ok((index, time_index))) => {
                    match resume(last, size, &index, &time_index, index_interval_bytes) {
                        Ok((cadence, last_offset)) => {
                            let end = last_offset.map_or(last.base_offset, |o| o + 1);
                            report.log_end_offset = end;
                            segments.push(Segment::open(
                                last.clone(),
                                size,
                                index,
                                time_index,
                                Some(cadence),
                            )?);
                            return Ok((segments, end, report));
                        }
                        Err(why) => Reason::TailCheckFailed(why),
                    }
                }
            };
            (last.clone(), scan(last, index_interval_bytes)?, reason)
        }
    };
    let end = scanned.last_offset.map_or(files.base_offset, |o| o + 1);
    let mut entry = scanned.report(&files, reason, false);
    let (active, rebuilt) = open_tail(files, scanned)?;
    entry.indexes_rebuilt = rebuilt;
    report.segments.push(entry);
    report.log_end_offset = end;
    segments.push(active);
    Ok((segments, end, report))
}

/// What a full scan of one `.log` found, with the indexes rebuilt on the way.
struct Scan {
    valid_bytes: u64,
    file_len: u64,
    stopped: Option<String>,
    last_offset: Option<i64>,
    index: Vec<OffsetEntry>,
    time_index: Vec<TimeEntry>,
    /// The cadence after the last valid batch: what the writer continues with.
    cadence: IndexCadence,
}

impl Scan {
    fn report(
        &self,
        files: &SegmentFiles,
        reason: Reason,
        indexes_rebuilt: bool,
    ) -> SegmentRecovery {
        SegmentRecovery {
            log: files.log.clone(),
            reason,
            valid_bytes: self.valid_bytes,
            truncated_bytes: self.file_len - self.valid_bytes,
            stopped: self.stopped.clone(),
            indexes_rebuilt,
        }
    }
}

/// Steps 1-3 of the module docs: validates every batch of the segment from byte 0,
/// rebuilding both indexes with the writer's [`IndexCadence`] rule, stops at the first
/// torn or invalid batch and truncates the `.log` there.
fn scan(files: &SegmentFiles, index_interval_bytes: u64) -> io::Result<Scan> {
    let mut scanner = BatchScanner::open(&files.log)?;
    let mut found = Scan {
        valid_bytes: 0,
        file_len: scanner.file_len(),
        stopped: None,
        last_offset: None,
        index: Vec::new(),
        time_index: Vec::new(),
        cadence: IndexCadence::new(index_interval_bytes),
    };
    loop {
        let (position, bytes) = match scanner.next_batch() {
            Ok(Some(next)) => next,
            Ok(None) => break,
            // A failing disk read says nothing about the bytes: never truncate on it.
            Err(ScanError::Io { error, .. }) => return Err(error),
            Err(e) => {
                found.stopped = Some(format!("byte {}: {e}", e.position()));
                break;
            }
        };
        let header = match batch::validate(bytes) {
            Ok(header) => header,
            Err(e) => {
                found.stopped = Some(format!("byte {position}: {e}"));
                break;
            }
        };
        let first_allowed = found.last_offset.map_or(files.base_offset, |o| o + 1);
        let relative = header.last_offset() - files.base_offset;
        // Exactly the next offset, not just a greater one: the writer never leaves a gap
        // (the first batch starts at the segment's base offset), and the CRC does not
        // cover baseOffset, so continuity is the only check a corrupted one can fail.
        let problem = if header.base_offset != first_allowed {
            Some(format!(
                "batch starts at offset {}: expected {first_allowed}, offsets must run on without gaps",
                header.base_offset
            ))
        } else if header.last_offset_delta < 0 {
            Some(format!(
                "negative lastOffsetDelta {}",
                header.last_offset_delta
            ))
        } else if i32::try_from(relative).is_err() || i32::try_from(position).is_err() {
            Some("offset or position does not fit the segment's i32 index fields".into())
        } else {
            None
        };
        if let Some(problem) = problem {
            found.stopped = Some(format!("byte {position}: {problem}"));
            break;
        }
        let (entry, time_entry) = found.cadence.on_append(
            position as i32,
            bytes.len(),
            relative as i32,
            header.max_timestamp,
        );
        found.index.extend(entry);
        found.time_index.extend(time_entry);
        found.last_offset = Some(header.last_offset());
        found.valid_bytes = position + bytes.len() as u64;
    }
    if found.valid_bytes < found.file_len {
        segment::open_options()
            .write(true)
            .open(&files.log)?
            .set_len(found.valid_bytes)?;
    }
    Ok(found)
}

/// Opens the scanned last segment for appending. Its index files are rewritten with the
/// rebuilt entries, unless they already hold exactly those, so that opening an intact log
/// changes no file. One difference is accepted: the final time-index entry that closing a
/// segment adds (a fixture, or a clean shutdown) is kept, as Kafka keeps it when it reopens a
/// segment. Returns the segment and whether the indexes were rewritten.
fn open_tail(files: SegmentFiles, mut scan: Scan) -> io::Result<(Segment, bool)> {
    let on_disk = |p: &Path| fs::read(p).ok();
    let index_bytes = entry_bytes(&scan.index, OffsetEntry::to_bytes);
    let time_bytes = entry_bytes(&scan.time_index, TimeEntry::to_bytes);
    let disk_time = on_disk(&files.time_index);
    let closing = scan.cadence.clone().on_close();
    let closed_time_bytes = closing.map(|e| [time_bytes.as_slice(), &e.to_bytes()].concat());
    let index_same = on_disk(&files.index).as_ref() == Some(&index_bytes);
    let rebuilt = if index_same && disk_time.as_ref() == Some(&time_bytes) {
        false
    } else if index_same && disk_time.is_some() && disk_time == closed_time_bytes {
        scan.time_index.extend(scan.cadence.on_close());
        false
    } else {
        write_indexes(&files, &scan.index, &scan.time_index)?;
        true
    };
    let active = Segment::open(
        files,
        scan.valid_bytes,
        scan.index,
        scan.time_index,
        Some(scan.cadence),
    )?;
    Ok((active, rebuilt))
}

/// The clean-shutdown path for the last segment: trusts the (sanity-checked) indexes and
/// walks only the batch headers after the last offset-index entry, which is at most about
/// one index interval of log. Rebuilds the writer's cadence from the last entries and those
/// headers, and finds the last offset. Any surprise is an error: recover fully instead.
fn resume(
    files: &SegmentFiles,
    size: u64,
    index: &[OffsetEntry],
    time_index: &[TimeEntry],
    index_interval_bytes: u64,
) -> Result<(IndexCadence, Option<i64>), String> {
    let log = segment::open_read(&files.log).map_err(|e| format!("cannot open the .log: {e}"))?;
    let from = index.last().map_or(0, |e| e.position as u64);
    let mut cadence = IndexCadence::resume(
        index_interval_bytes,
        size - from,
        time_index.last().copied(),
    );
    let mut last_offset = None;
    let mut position = from;
    while position < size {
        let header = segment::header_at(&log, position, size)
            .map_err(|e| format!("the .log does not end with a whole batch: {e}"))?;
        let first_allowed = last_offset.map_or(files.base_offset, |o| o + 1);
        let in_order = header.base_offset >= first_allowed && header.last_offset_delta >= 0;
        let relative = match i32::try_from(header.last_offset() - files.base_offset) {
            Ok(relative) if in_order => relative,
            _ => {
                return Err(format!(
                    "the batch at byte {position} has offsets {}..={}, out of order",
                    header.base_offset,
                    header.last_offset()
                ));
            }
        };
        cadence.observe(header.max_timestamp, relative);
        last_offset = Some(header.last_offset());
        position += header.size() as u64;
    }
    let last_relative = last_offset.map_or(-1, |o| o - files.base_offset);
    if let Some(e) = time_index.last()
        && i64::from(e.relative_offset) > last_relative
    {
        return Err(format!(
            "the time index points at relative offset {}, past the last ({last_relative})",
            e.relative_offset
        ));
    }
    Ok((cadence, last_offset))
}

/// Reads a segment's index files and checks what Kafka's `sanityCheck` checks and a little
/// more: whole entries, increasing offsets and positions inside the `.log`, the last offset
/// entry pointing at a batch with that last offset, increasing timestamps.
fn load_indexes(
    files: &SegmentFiles,
    log_len: u64,
) -> Result<(Vec<OffsetEntry>, Vec<TimeEntry>), String> {
    let read = |p: &Path| {
        fs::read(p).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => format!("{} is missing", file_name(p)),
            _ => format!("cannot read {}: {e}", file_name(p)),
        })
    };
    let bad = |p: &Path, what: String| format!("{}: {what}", file_name(p));
    let index = index::parse_offset_index(&read(&files.index)?)
        .map_err(|e| bad(&files.index, e.to_string()))?;
    let time_index = index::parse_time_index(&read(&files.time_index)?)
        .map_err(|e| bad(&files.time_index, e.to_string()))?;

    let mut previous: Option<OffsetEntry> = None;
    for (i, e) in index.iter().enumerate() {
        let increasing = previous
            .is_none_or(|p| e.relative_offset > p.relative_offset && e.position > p.position);
        if e.relative_offset < 0 || e.position < 0 || e.position as u64 >= log_len || !increasing {
            return Err(bad(
                &files.index,
                format!(
                    "entry {i} ({}, byte {}) is out of order or outside the {log_len}-byte log",
                    e.relative_offset, e.position
                ),
            ));
        }
        previous = Some(*e);
    }
    if let Some(e) = index.last() {
        let log = segment::open_read(&files.log).map_err(|e| bad(&files.log, e.to_string()))?;
        let header = segment::header_at(&log, e.position as u64, log_len)
            .map_err(|err| bad(&files.index, format!("last entry: {err}")))?;
        let expected = files.base_offset + i64::from(e.relative_offset);
        if header.last_offset() != expected {
            return Err(bad(
                &files.index,
                format!(
                    "last entry says offset {expected} ends the batch at byte {}, but it ends at {}",
                    e.position,
                    header.last_offset()
                ),
            ));
        }
    }
    let mut previous: Option<TimeEntry> = None;
    for (i, e) in time_index.iter().enumerate() {
        // Strictly growing timestamps: an entry is only added when the greatest timestamp
        // grew (Kafka's `TimeIndex.maybeAppend`), which also catches a zero-filled file.
        let ordered = previous
            .is_none_or(|p| e.timestamp > p.timestamp && e.relative_offset >= p.relative_offset);
        if e.relative_offset < 0 || !ordered {
            return Err(bad(
                &files.time_index,
                format!(
                    "entry {i} ({}, {}) is out of order",
                    e.timestamp, e.relative_offset
                ),
            ));
        }
        previous = Some(*e);
    }
    if !index.is_empty() && time_index.is_empty() {
        return Err(bad(
            &files.time_index,
            "empty, but the offset index is not: both get entries at the same moments".into(),
        ));
    }
    Ok((index, time_index))
}

fn entry_bytes<E: Copy, const N: usize>(entries: &[E], to_bytes: fn(E) -> [u8; N]) -> Vec<u8> {
    entries.iter().flat_map(|&e| to_bytes(e)).collect()
}

/// Replaces both index files, each through a temporary file and a rename, so that a crash
/// in the middle leaves the old file or the new one, never a prefix of the new one that
/// would pass the sanity checks.
fn write_indexes(
    files: &SegmentFiles,
    index: &[OffsetEntry],
    time_index: &[TimeEntry],
) -> io::Result<()> {
    replace(&files.index, &entry_bytes(index, OffsetEntry::to_bytes))?;
    replace(
        &files.time_index,
        &entry_bytes(time_index, TimeEntry::to_bytes),
    )
}

fn replace(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".rebuilt");
    fs::write(&tmp, bytes)?;
    fs::rename(&tmp, path)
}

/// Deletes a segment, `.log` first: once it is gone the segment no longer exists for
/// `list_segments`, and leftover index files are overwritten when a segment with the same
/// base offset is created.
fn delete_segment(files: &SegmentFiles) -> io::Result<()> {
    fs::remove_file(&files.log)?;
    for p in [&files.index, &files.time_index] {
        match fs::remove_file(p) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
