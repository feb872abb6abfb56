//! Reading a log back and checking everything Kafka relies on, without changing a byte.
//!
//! This is the engine of `zc fixture verify` and `zc fixture info`: one pass over every
//! segment that frames each batch, validates it (length, magic, CRC-32C, records), checks
//! that offsets run on without gaps across segments and that every index entry points at
//! the start of a batch. It collects problems instead of stopping at the first, so one run
//! tells the whole story; each problem names the file, the byte position, and expected vs
//! found.

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::batch;
use super::index::{self, OFFSET_ENTRY_LEN, TIME_ENTRY_LEN};
use super::partition::{self, PartitionDir};
use super::segment::{self, BatchScanner, SegmentFiles};

/// One batch as a dump tool shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchInfo {
    pub position: u64,
    pub base_offset: i64,
    pub last_offset: i64,
    pub records: i32,
    pub size: usize,
    pub crc: u32,
    pub base_timestamp: i64,
    pub max_timestamp: i64,
}

/// What one segment holds.
#[derive(Debug, Clone)]
pub struct SegmentReport {
    /// The partition directory's name, e.g. `demo-0`.
    pub partition: String,
    pub files: SegmentFiles,
    pub last_offset: Option<i64>,
    pub batches: u64,
    pub records: u64,
    pub bytes: u64,
    pub index_entries: usize,
    pub time_index_entries: usize,
    /// Filled only when batches were asked for.
    pub batch_list: Vec<BatchInfo>,
}

/// One thing wrong, precisely located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    /// Byte position in `file`; `None` for a problem with the whole file (missing, unreadable).
    pub position: Option<u64>,
    pub what: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some(at) => write!(f, "{}: byte {at}: {}", self.file.display(), self.what),
            None => write!(f, "{}: {}", self.file.display(), self.what),
        }
    }
}

#[derive(Debug, Default)]
pub struct LogReport {
    pub segments: Vec<SegmentReport>,
    pub problems: Vec<Problem>,
}

impl LogReport {
    pub fn records(&self) -> u64 {
        self.segments.iter().map(|s| s.records).sum()
    }

    pub fn bytes(&self) -> u64 {
        self.segments.iter().map(|s| s.bytes).sum()
    }

    pub fn batches(&self) -> u64 {
        self.segments.iter().map(|s| s.batches).sum()
    }
}

/// Why a directory could not be inspected at all (as opposed to holding a bad log).
#[derive(Debug)]
pub enum CheckError {
    Missing(PathBuf),
    Empty(PathBuf),
    Io(PathBuf, io::Error),
}

impl fmt::Display for CheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckError::Missing(p) => write!(
                f,
                "{} does not exist or is not a directory; create a log with `zc fixture gen --out {}`",
                p.display(),
                p.display()
            ),
            CheckError::Empty(p) => write!(
                f,
                "{} holds no partition directories (<topic>-<partition>/) and no .log segments",
                p.display()
            ),
            CheckError::Io(p, e) => write!(f, "cannot read {}: {e}", p.display()),
        }
    }
}

impl std::error::Error for CheckError {}

/// The partitions under `dir`: either a log directory of `<topic>-<partition>/`
/// directories, or one partition directory given directly.
pub fn partitions(dir: &Path) -> Result<Vec<PartitionDir>, CheckError> {
    if !dir.is_dir() {
        return Err(CheckError::Missing(dir.to_owned()));
    }
    let io_err = |e| CheckError::Io(dir.to_owned(), e);
    let mut found = partition::list_partitions(dir).map_err(io_err)?;
    if found.is_empty() && !segment::list_segments(dir).map_err(io_err)?.is_empty() {
        let name = dir
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_default();
        let (topic, partition) = partition::parse_dir_name(&name).unwrap_or((&name, 0));
        found.push(PartitionDir {
            topic: topic.to_owned(),
            partition,
            path: dir.to_owned(),
        });
    }
    if found.is_empty() {
        return Err(CheckError::Empty(dir.to_owned()));
    }
    Ok(found)
}

/// Inspects every partition under `dir`. With `list_batches`, each segment report also
/// lists its batches.
pub fn check_log(dir: &Path, list_batches: bool) -> Result<LogReport, CheckError> {
    let mut report = LogReport::default();
    for part in partitions(dir)? {
        let segments =
            segment::list_segments(&part.path).map_err(|e| CheckError::Io(part.path.clone(), e))?;
        let name = part
            .path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        if segments.is_empty() {
            report.problems.push(Problem {
                file: part.path.clone(),
                position: None,
                what: "partition directory holds no .log segment".into(),
            });
        }
        let mut next_offset = None;
        for files in segments {
            let seg = inspect_segment(
                &name,
                files,
                &mut next_offset,
                list_batches,
                &mut report.problems,
            );
            report.segments.push(seg);
        }
    }
    Ok(report)
}

/// Where one batch sits, for checking index entries against.
struct Frame {
    position: u64,
    base_offset: i64,
    last_offset: i64,
    /// The largest batch timestamp up to and including this batch: what a time-index
    /// entry for this batch must say.
    max_timestamp_so_far: i64,
}

/// What could be read of a segment's `.log`, to check its indexes against.
struct Readable<'a> {
    base: i64,
    frames: &'a [Frame],
    /// Where framing stopped early (a torn or impossible batch), if it did: index entries
    /// past it cannot be checked, and are reported once, not one by one.
    stopped_at: Option<u64>,
}

impl Readable<'_> {
    fn last_relative(&self) -> Option<i64> {
        self.frames.last().map(|f| f.last_offset - self.base)
    }
}

fn inspect_segment(
    partition: &str,
    files: SegmentFiles,
    next_offset: &mut Option<i64>,
    list_batches: bool,
    problems: &mut Vec<Problem>,
) -> SegmentReport {
    let mut seg = SegmentReport {
        partition: partition.to_owned(),
        last_offset: None,
        batches: 0,
        records: 0,
        bytes: 0,
        index_entries: 0,
        time_index_entries: 0,
        batch_list: Vec::new(),
        files,
    };
    let mut problem = |file: &Path, position: Option<u64>, what: String| {
        problems.push(Problem {
            file: file.to_owned(),
            position,
            what,
        })
    };
    let log = seg.files.log.clone();
    let mut frames: Vec<Frame> = Vec::new();
    let mut stopped_at = None;
    match BatchScanner::open(&log) {
        Err(e) => problem(&log, None, format!("cannot open: {e}")),
        Ok(mut scanner) => {
            seg.bytes = scanner.file_len();
            loop {
                let (position, bytes) = match scanner.next_batch() {
                    Ok(Some(found)) => found,
                    Ok(None) => break,
                    Err(e) => {
                        problem(&log, Some(e.position()), e.to_string());
                        stopped_at = Some(e.position());
                        // The offsets in the unreadable rest are unknown: do not call the
                        // next segment's start a gap.
                        *next_offset = None;
                        break;
                    }
                };
                let header = match batch::validate(bytes) {
                    Ok(h) => h,
                    Err(e) => {
                        // Still framed by its length: report and keep going.
                        problem(&log, Some(position), e.to_string());
                        batch::BatchHeader::parse(bytes).expect("scanner checked the header")
                    }
                };
                if frames.is_empty() && header.base_offset != seg.files.base_offset {
                    problem(
                        &log,
                        Some(position),
                        format!(
                            "segment name says base offset {}, but its first batch starts at offset {}",
                            seg.files.base_offset, header.base_offset
                        ),
                    );
                }
                if let Some(expected) = *next_offset
                    && header.base_offset != expected
                {
                    problem(
                        &log,
                        Some(position),
                        format!(
                            "offsets not contiguous: expected base offset {expected}, found {}",
                            header.base_offset
                        ),
                    );
                }
                *next_offset = Some(header.last_offset() + 1);
                seg.batches += 1;
                seg.records += header.records_count.max(0) as u64;
                seg.last_offset = Some(header.last_offset());
                let max_timestamp_so_far = frames.last().map_or(header.max_timestamp, |f| {
                    f.max_timestamp_so_far.max(header.max_timestamp)
                });
                frames.push(Frame {
                    position,
                    base_offset: header.base_offset,
                    last_offset: header.last_offset(),
                    max_timestamp_so_far,
                });
                if list_batches {
                    seg.batch_list.push(BatchInfo {
                        position,
                        base_offset: header.base_offset,
                        last_offset: header.last_offset(),
                        records: header.records_count,
                        size: header.size(),
                        crc: header.crc,
                        base_timestamp: header.base_timestamp,
                        max_timestamp: header.max_timestamp,
                    });
                }
            }
        }
    }
    let readable = Readable {
        base: seg.files.base_offset,
        frames: &frames,
        stopped_at,
    };
    seg.index_entries = check_offset_index(&seg.files.index, &readable, &mut problem);
    seg.time_index_entries = check_time_index(&seg.files.time_index, &readable, &mut problem);
    seg
}

/// The type of the problem sink the checks share.
trait Report: FnMut(&Path, Option<u64>, String) {}
impl<F: FnMut(&Path, Option<u64>, String)> Report for F {}

/// Index entries past where the `.log` could be read: one problem for all of them.
fn report_unreadable(
    path: &Path,
    count: usize,
    first_entry: usize,
    readable: &Readable<'_>,
    problem: &mut impl Report,
) {
    if count > 0 {
        problem(
            path,
            None,
            format!(
                "{count} entries from entry {first_entry} on point past byte {}, where the .log could no longer be read (see the problem reported there)",
                readable.stopped_at.unwrap_or(0)
            ),
        );
    }
}

/// Reads and parses an index file; a missing file or a ragged length is a problem.
fn read_index<E>(
    path: &Path,
    parse: fn(&[u8]) -> Result<Vec<E>, index::RaggedIndex>,
    problem: &mut impl Report,
) -> Option<Vec<E>> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) => {
            problem(path, None, format!("cannot read index: {e}"));
            return None;
        }
    };
    match parse(&bytes) {
        Ok(entries) => Some(entries),
        Err(e) => {
            let whole = (e.len / e.entry_len * e.entry_len) as u64;
            problem(path, Some(whole), e.to_string());
            None
        }
    }
}

fn check_offset_index(path: &Path, readable: &Readable<'_>, problem: &mut impl Report) -> usize {
    let Some(entries) = read_index(path, index::parse_offset_index, problem) else {
        return 0;
    };
    let frames = readable.frames;
    let last_relative = readable.last_relative().unwrap_or(-1);
    let mut previous: Option<index::OffsetEntry> = None;
    let mut unreadable = (0, 0);
    for (i, e) in entries.iter().enumerate() {
        let at = Some((i * OFFSET_ENTRY_LEN) as u64);
        let position = e.position as u64;
        if readable.stopped_at.is_some_and(|end| position >= end) {
            unreadable = (
                unreadable.0 + 1,
                if unreadable.0 == 0 { i } else { unreadable.1 },
            );
            continue;
        }
        match frames.binary_search_by_key(&position, |f| f.position) {
            Err(near) => {
                let nearest = frames.get(near.saturating_sub(1)).map_or(0, |f| f.position);
                problem(
                    path,
                    at,
                    format!(
                        "entry {i} points at log byte {position}, which is not the start of a batch (the batch before it starts at byte {nearest})"
                    ),
                );
            }
            Ok(k) => {
                let relative_base = frames[k].base_offset - readable.base;
                let offset = i64::from(e.relative_offset);
                if offset < relative_base || offset > last_relative {
                    problem(
                        path,
                        at,
                        format!(
                            "entry {i} has relative offset {offset}: expected between {relative_base} (the batch at byte {position}) and {last_relative} (the segment's last)"
                        ),
                    );
                }
            }
        }
        if let Some(p) = previous
            && (e.relative_offset <= p.relative_offset || e.position <= p.position)
        {
            problem(
                path,
                at,
                format!(
                    "entry {i} ({}, byte {}) does not come after entry {} ({}, byte {}): entries must strictly increase",
                    e.relative_offset,
                    e.position,
                    i - 1,
                    p.relative_offset,
                    p.position
                ),
            );
        }
        previous = Some(*e);
    }
    report_unreadable(path, unreadable.0, unreadable.1, readable, problem);
    entries.len()
}

fn check_time_index(path: &Path, readable: &Readable<'_>, problem: &mut impl Report) -> usize {
    let Some(entries) = read_index(path, index::parse_time_index, problem) else {
        return 0;
    };
    let mut previous = i64::MIN;
    let mut unreadable = (0, 0);
    for (i, e) in entries.iter().enumerate() {
        let at = Some((i * TIME_ENTRY_LEN) as u64);
        let offset = readable.base + i64::from(e.relative_offset);
        // The entry names the last offset of the batch that carried the largest timestamp
        // so far, and that timestamp.
        match readable.frames.iter().find(|f| f.last_offset == offset) {
            Some(f) if f.max_timestamp_so_far != e.timestamp => problem(
                path,
                at,
                format!(
                    "entry {i} says timestamp {} for offset {offset}: expected {}, the largest timestamp up to that batch",
                    e.timestamp, f.max_timestamp_so_far
                ),
            ),
            Some(_) => {}
            None if readable.stopped_at.is_some()
                && readable
                    .last_relative()
                    .is_none_or(|l| i64::from(e.relative_offset) > l) =>
            {
                unreadable = (
                    unreadable.0 + 1,
                    if unreadable.0 == 0 { i } else { unreadable.1 },
                );
            }
            None => problem(
                path,
                at,
                format!(
                    "entry {i} names offset {offset}, which is not the last offset of any batch in the segment"
                ),
            ),
        }
        if e.timestamp < previous {
            problem(
                path,
                at,
                format!(
                    "entry {i} has timestamp {}: expected at least {previous}, the entry before it",
                    e.timestamp
                ),
            );
        }
        previous = e.timestamp;
    }
    report_unreadable(path, unreadable.0, unreadable.1, readable, problem);
    entries.len()
}
