//! A partition: a directory `<topic>-<partition>/` of segments, in offset order, and
//! [`PartitionLog`], the one object that appends to it and finds what to send from it.
//!
//! The partition is the unit of ordering in Kafka. Its log is the concatenation of its
//! segments; only the last, *active* one is written to. `zc fixture gen` and the broker's
//! Produce path append through the same function, [`PartitionLog::append_batches`]:
//!
//! 1. validate every batch of the call (framing, magic, CRC-32C, records, and what a
//!    producer may send); one bad batch and nothing is appended;
//! 2. assign offsets by stamping `baseOffset` (bytes 0-7) and `partitionLeaderEpoch`
//!    (bytes 12-15) in place: the CRC does not cover them, so the producer's bytes are
//!    stored otherwise untouched, and later sent untouched;
//! 3. roll to a new segment if the batches would not fit (Kafka's `shouldRoll`);
//! 4. write them with one positional write, index them with the [`IndexCadence`] rule;
//! 5. publish: the active segment's committed size and the log end offset move.
//!
//! A Fetch asks [`PartitionLog::read`] for a [`FileSlice`]: the offset index and a short
//! walk of batch headers find the batch containing the fetch offset (docs/kafka-protocol.md §11),
//! and the slice runs over whole batches from there, within one segment.
//!
//! # Concurrency: why a slice stays valid after the lock is released
//! The broker keeps each `PartitionLog` in a `Mutex`. Appends hold it for the write; a
//! Fetch holds it only to compute its slice (an index lookup and a few header reads), then
//! releases it and sends the region with sendfile, splice, mmap or read/write while
//! producers carry on. That is safe because a running log never takes bytes away: segments
//! are append-only, readers stop at the committed size (the end of the last *completed*
//! append), and nothing truncates or deletes a segment while the log is open. Recovery,
//! the only code that truncates or deletes, runs in [`PartitionLog::open`], before anyone
//! can read (docs/kafka-protocol.md §10, pitfall 10). With retention this would no longer hold: Kafka then
//! delays deleting a segment file until in-flight reads are done; mmap senders would
//! otherwise die of SIGBUS.
//!
//! [`IndexCadence`]: super::index::IndexCadence

use std::fs;
use std::io;
use std::iter;
use std::mem;
use std::path::{Path, PathBuf};

use super::batch::{self, BatchError, BatchHeader, LOG_OVERHEAD, MAGIC, MIN_BATCH_LENGTH};
use super::compression::{Codec, MAX_INFLATED};
use super::index::INDEX_INTERVAL_BYTES;
use super::producer::{ProducerState, Verdict};
use super::recovery::{self, RecoveryReport};
use super::segment::{self, Segment};

pub use super::segment::FileSlice;

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

/// How a partition log writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogConfig {
    /// Kafka's `segment.bytes`: roll before a segment would grow past it. A batch larger
    /// than this still goes into a segment of its own. 1 to `i32::MAX`, since index entries
    /// hold positions as i32.
    pub segment_bytes: u64,
    /// Kafka's `index.interval.bytes`: an index entry after more than this many bytes.
    pub index_interval_bytes: u64,
    pub flush: FlushPolicy,
    /// Kafka's `max.message.bytes`: the largest batch (log overhead included, compressed
    /// size if compressed) a producer may append; larger is MESSAGE_TOO_LARGE.
    pub max_message_bytes: u64,
}

/// Kafka's default `max.message.bytes`: 1 MiB plus the 12 bytes of log overhead
/// (`LogConfig.DEFAULT_MAX_MESSAGE_BYTES`).
pub const DEFAULT_MAX_MESSAGE_BYTES: u64 = (1 << 20) + LOG_OVERHEAD as u64;

impl Default for LogConfig {
    /// Kafka's defaults: 1 GiB segments, an index entry every 4 KiB, no forced flush.
    fn default() -> Self {
        LogConfig {
            segment_bytes: 1 << 30,
            index_interval_bytes: INDEX_INTERVAL_BYTES,
            flush: FlushPolicy::Os,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
        }
    }
}

impl LogConfig {
    fn check(&self) -> io::Result<()> {
        if self.segment_bytes == 0 || self.segment_bytes > i32::MAX as u64 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "segment size must be 1 to {} bytes (index positions are i32), found {}",
                    i32::MAX,
                    self.segment_bytes
                ),
            ));
        }
        Ok(())
    }
}

/// When appended batches are forced to the disk (`zc serve --flush`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum FlushPolicy {
    /// Leave write-back to the page cache, like Kafka (`log.flush.interval.messages` is
    /// Long.MAX_VALUE by default): a crashed process loses nothing, since its writes are
    /// in the page cache; a power cut loses what the kernel had not written back yet.
    #[default]
    Os,
    /// `fdatasync` every append before it returns, so an acknowledged batch survives a
    /// power cut too; a roll also syncs the sealed segment's indexes and the directory.
    Always,
}

/// Where an append went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendInfo {
    /// The offset of the first record appended: what a ProduceResponse reports.
    pub base_offset: i64,
    pub last_offset: i64,
    /// Byte position of the first batch in the active segment's `.log`.
    pub position: u64,
    pub bytes: u64,
    pub records: u64,
    /// An idempotent producer's batch seen before: nothing was appended, and the offsets
    /// are those the original got (see [`super::producer`]).
    pub duplicate: bool,
}

/// Why an append was refused. Validation errors name the batch (its index within the
/// call), which is what ProduceResponse v8's `record_errors` reports.
#[derive(Debug)]
pub enum AppendError {
    /// Not a readable batch: truncated, impossible length, CRC-32C mismatch. Kafka:
    /// CORRUPT_MESSAGE (2).
    Corrupt { batch: usize, error: BatchError },
    /// A well-formed batch that a producer must not send: magic other than 2, baseOffset
    /// not 0, records that disagree with the header, a control batch. Kafka: INVALID_RECORD
    /// (87).
    Invalid { batch: usize, reason: String },
    /// Writing or syncing failed; nothing was appended. Kafka: KAFKA_STORAGE_ERROR (56).
    Io(io::Error),
    /// An idempotent producer's epoch older than the one the partition holds. Kafka:
    /// INVALID_PRODUCER_EPOCH (47).
    StaleEpoch { batch: usize, reason: String },
    /// An idempotent producer's batch that does not continue its sequence. Kafka:
    /// OUT_OF_ORDER_SEQUENCE_NUMBER (45).
    OutOfOrder { batch: usize, reason: String },
    /// A batch larger than `max.message.bytes`. Kafka: MESSAGE_TOO_LARGE (10).
    TooLarge { batch: usize, size: usize, max: u64 },
}

impl std::fmt::Display for AppendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AppendError::Corrupt { batch, error } => write!(f, "batch {batch}: {error}"),
            AppendError::Invalid { batch, reason } => write!(f, "batch {batch}: {reason}"),
            AppendError::Io(e) => write!(f, "append failed: {e}"),
            AppendError::TooLarge { batch, size, max } => write!(
                f,
                "batch {batch} is {size} bytes, more than max.message.bytes ({max}; \
                 zc serve --max-message-bytes)"
            ),
            AppendError::StaleEpoch { batch, reason }
            | AppendError::OutOfOrder { batch, reason } => write!(f, "batch {batch}: {reason}"),
        }
    }
}

impl std::error::Error for AppendError {}

impl From<io::Error> for AppendError {
    fn from(e: io::Error) -> Self {
        AppendError::Io(e)
    }
}

/// Why a read could not answer.
#[derive(Debug)]
pub enum ReadError {
    /// The offset is below the log start or above the log end. Kafka:
    /// OFFSET_OUT_OF_RANGE (1); the consumer then resets its position with ListOffsets.
    OffsetOutOfRange {
        offset: i64,
        log_start: i64,
        log_end: i64,
    },
    Io(io::Error),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::OffsetOutOfRange {
                offset,
                log_start,
                log_end,
            } => write!(
                f,
                "offset {offset} is out of range: fetch offsets run from the log start {log_start} to the log end {log_end}"
            ),
            ReadError::Io(e) => write!(f, "read failed: {e}"),
        }
    }
}

impl std::error::Error for ReadError {}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> Self {
        ReadError::Io(e)
    }
}

/// The epoch stamped into every batch: one broker, one leader, never re-elected.
const LEADER_EPOCH: i32 = 0;
/// Attribute bit 5: a control batch (transaction markers), which only a broker writes.
const CONTROL_BATCH: i16 = 0x20;

/// A partition's log, open for appending and reading. See the module docs for the append
/// path and for why the broker may send a [`FileSlice`] after releasing its lock.
pub struct PartitionLog {
    dir: PathBuf,
    config: LogConfig,
    /// The segments before the active one, oldest first: never written again.
    sealed: Vec<Segment>,
    active: Segment,
    log_end_offset: i64,
    producers: ProducerState,
}

impl PartitionLog {
    /// Starts an empty partition in `dir` (created if needed) whose first offset is 0;
    /// fails if it already holds a first segment. `zc fixture gen` writes through this.
    pub fn create(dir: &Path, config: LogConfig) -> io::Result<Self> {
        config.check()?;
        fs::create_dir_all(dir)?;
        let active = Segment::create(dir, 0, config.index_interval_bytes)?;
        if config.flush == FlushPolicy::Always {
            segment::sync_dir(dir)?;
        }
        Ok(PartitionLog {
            dir: dir.to_owned(),
            config,
            sealed: Vec::new(),
            active,
            log_end_offset: 0,
            producers: ProducerState::default(),
        })
    }

    /// Opens the partition in `dir` (an empty one if `dir` holds no segment, creating
    /// `dir` if needed) and recovers it: see [`recovery`] for what that checks and repairs.
    /// The report says what was done, for the broker to log.
    pub fn open(dir: &Path, config: LogConfig) -> io::Result<(Self, RecoveryReport)> {
        config.check()?;
        fs::create_dir_all(dir)?;
        let (mut segments, log_end_offset, report) =
            recovery::open_segments(dir, config.index_interval_bytes)?;
        let active = segments
            .pop()
            .ok_or_else(|| io::Error::other("recovery returned no segment"))?;
        let mut log = PartitionLog {
            dir: dir.to_owned(),
            config,
            sealed: segments,
            active,
            log_end_offset,
            producers: ProducerState::default(),
        };
        // The producers' state is in the batch headers: rebuilt, never stored apart.
        let mut producers = ProducerState::default();
        for segment in log.segments() {
            segment.for_each_header(|header| producers.record(header))?;
        }
        log.producers = producers;
        Ok((log, report))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The first offset the log holds: the oldest segment's base offset. There is no
    /// retention, so this is 0 unless the directory came without its first segments.
    pub fn log_start_offset(&self) -> i64 {
        self.sealed.first().unwrap_or(&self.active).base_offset()
    }

    /// The offset the next appended record gets: one past the last record.
    pub fn log_end_offset(&self) -> i64 {
        self.log_end_offset
    }

    /// The offset below which consumers may read. With one replica and no transactions
    /// every appended record is committed: the high watermark (and the last stable
    /// offset) is the log end offset.
    pub fn high_watermark(&self) -> i64 {
        self.log_end_offset
    }

    /// The highest idempotent producer id in this partition's log.
    pub fn max_producer_id(&self) -> Option<i64> {
        self.producers.max_id()
    }

    /// The segments oldest first, the active one last.
    fn segments(&self) -> impl Iterator<Item = &Segment> {
        self.sealed.iter().chain(iter::once(&self.active))
    }

    /// Appends the concatenated record batches of a Produce request (or of `zc fixture
    /// gen`), as the producer built them: `baseOffset` 0, offsets relative to it.
    ///
    /// Validation happens here, and only here, so that nothing invalid can reach a file:
    /// every batch is checked before the first byte is written, and one bad batch refuses
    /// the whole call. The batches are then stamped in place with their offsets and the
    /// leader epoch (the caller's buffer changes), and written into one segment with one
    /// write, rolling first if they would not fit. On any error nothing is appended and the
    /// log end offset does not move.
    pub fn append_batches(&mut self, batches: &mut [u8]) -> Result<AppendInfo, AppendError> {
        self.append_batches_in_writes(batches, &[])
    }

    /// [`PartitionLog::append_batches`], with the bytes written in several positional
    /// writes that end at `write_ends` (positions within `batches`, ascending) instead of
    /// one. Same validation, offsets, rolling and durability; the file ends up with the
    /// same bytes. Only `zc bench write --way per-record` wants this: it shows what
    /// writing one record per system call costs against one write per batch.
    pub fn append_batches_in_writes(
        &mut self,
        batches: &mut [u8],
        write_ends: &[usize],
    ) -> Result<AppendInfo, AppendError> {
        let mut headers = validate_batches(batches)?;
        if let Some((batch, (_, h))) = headers
            .iter()
            .enumerate()
            .find(|(_, (_, h))| h.size() as u64 > self.config.max_message_bytes)
        {
            return Err(AppendError::TooLarge {
                batch,
                size: h.size(),
                max: self.config.max_message_bytes,
            });
        }
        let base_offset = self.log_end_offset;
        let mut next = base_offset;
        let mut records = 0;
        // What this call's batches add to the producers' state, kept apart until written.
        let mut pending = ProducerState::default();
        for (batch, (at, header)) in headers.iter_mut().enumerate() {
            match self.producers.check(header, &pending) {
                Verdict::Append => {}
                // Like Kafka: one duplicate batch makes the whole call a duplicate.
                Verdict::Duplicate(seen) => {
                    return Ok(AppendInfo {
                        base_offset: seen.first_offset,
                        last_offset: seen.last_offset,
                        position: 0,
                        bytes: 0,
                        records: 0,
                        duplicate: true,
                    });
                }
                Verdict::StaleEpoch(reason) => {
                    return Err(AppendError::StaleEpoch { batch, reason });
                }
                Verdict::OutOfOrder(reason) => {
                    return Err(AppendError::OutOfOrder { batch, reason });
                }
            }
            let bytes = &mut batches[*at..];
            bytes[0..8].copy_from_slice(&next.to_be_bytes());
            bytes[12..16].copy_from_slice(&LEADER_EPOCH.to_be_bytes());
            header.base_offset = next;
            header.partition_leader_epoch = LEADER_EPOCH;
            records += header.records_count as u64;
            next = header.last_offset() + 1;
            self.producers.stage(&mut pending, header);
        }
        let last_offset = next - 1;
        if self.must_roll(batches.len() as u64, last_offset) {
            self.roll(base_offset)?;
        }
        let sync = self.config.flush == FlushPolicy::Always;
        let position = self.active.append(batches, &headers, sync, write_ends)?;
        self.log_end_offset = next;
        self.producers.merge(pending);
        Ok(AppendInfo {
            base_offset,
            last_offset,
            position,
            bytes: batches.len() as u64,
            records,
            duplicate: false,
        })
    }

    /// Kafka's roll rule (`LogSegment.shouldRoll`, size and offset parts): the append
    /// would push the segment past `segment_bytes`, or its offsets would not fit the i32
    /// relative offsets of the index. An empty segment takes any append, however large.
    fn must_roll(&self, bytes: u64, last_offset: i64) -> bool {
        let active = &self.active;
        active.size() > 0
            && (active.size() + bytes > self.config.segment_bytes
                || last_offset - active.base_offset() > i64::from(i32::MAX))
    }

    /// Seals the active segment and starts a new one at `base_offset`. The new files come
    /// first: if they cannot be created, nothing has changed.
    fn roll(&mut self, base_offset: i64) -> io::Result<()> {
        let fresh = Segment::create(&self.dir, base_offset, self.config.index_interval_bytes)?;
        let mut old = mem::replace(&mut self.active, fresh);
        let sealed = old.seal();
        self.sealed.push(old);
        sealed?;
        if self.config.flush == FlushPolicy::Always {
            // The old segment's batches were synced as they were appended; its final index
            // entries and the new files' names in the directory were not.
            if let Some(old) = self.sealed.last_mut() {
                old.sync()?;
            }
            segment::sync_dir(&self.dir)?;
        }
        Ok(())
    }

    /// `fdatasync`s the active segment's `.log` and writes out its pending index entries:
    /// everything appended so far survives a power cut. Appends already do this under
    /// [`FlushPolicy::Always`].
    pub fn flush(&mut self) -> io::Result<()> {
        self.active.flush()
    }

    /// What a Fetch at `fetch_offset` sends: whole batches from the one containing
    /// `fetch_offset`, at most `max_bytes` of them but always at least one (KIP-74), all
    /// from one segment (the consumer asks again for the next), never past the committed
    /// size. `None` when `fetch_offset` is the log end: nothing yet, not an error.
    ///
    /// Kafka cuts the slice at `max_bytes` even inside a batch, and consumers drop the
    /// partial batch at the end; stopping at a batch boundary costs a few header reads
    /// (the index jumps close to the limit) and sends nothing a consumer throws away.
    pub fn read(&self, fetch_offset: i64, max_bytes: u64) -> Result<Option<FileSlice>, ReadError> {
        let (log_start, log_end) = (self.log_start_offset(), self.log_end_offset);
        if fetch_offset < log_start || fetch_offset > log_end {
            return Err(ReadError::OffsetOutOfRange {
                offset: fetch_offset,
                log_start,
                log_end,
            });
        }
        if fetch_offset == log_end {
            return Ok(None);
        }
        // The segment whose base offset is the greatest at or below the offset; the
        // next ones only matter if it ends before the offset (a gap in the offsets).
        let below = self
            .sealed
            .partition_point(|s| s.base_offset() <= fetch_offset);
        let from = if self.active.base_offset() <= fetch_offset {
            self.sealed.len()
        } else {
            below.saturating_sub(1)
        };
        for segment in self.sealed[from..].iter().chain(iter::once(&self.active)) {
            if let Some(slice) = segment.read(fetch_offset, max_bytes)? {
                return Ok(Some(slice));
            }
        }
        Err(ReadError::Io(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{}: no batch holds offset {fetch_offset}, below the log end {log_end}",
                self.dir.display()
            ),
        )))
    }

    /// ListOffsets with a timestamp: the first record, in offset order, whose timestamp
    /// is at or above `timestamp`, as `(offset, timestamp)`; `None` if there is none
    /// (Kafka answers offset -1). Segments whose greatest timestamp is below the target
    /// are skipped without reading them. For compressed batches, which this crate does not
    /// decompress, the answer is the batch's base offset and greatest timestamp.
    pub fn offset_for_timestamp(&self, timestamp: i64) -> io::Result<Option<(i64, i64)>> {
        for segment in self.segments() {
            if let Some(found) = segment.find_timestamp(timestamp)? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    /// Seals the active segment, writing out its indexes. Nothing is synced and no
    /// clean-shutdown marker is left: `zc fixture gen` ends like this.
    pub fn close(mut self) -> io::Result<()> {
        self.active.seal()
    }

    /// A clean shutdown: seals the active segment, makes every file written in this run
    /// durable, and leaves the clean-shutdown marker, so the next [`PartitionLog::open`]
    /// can skip the full scan of the last segment.
    pub fn shutdown(mut self) -> io::Result<()> {
        self.active.seal()?;
        for segment in self.sealed.iter_mut().chain(iter::once(&mut self.active)) {
            segment.sync()?;
        }
        recovery::mark_clean(&self.dir)
    }
}

/// Frames and validates every batch of a produced buffer; returns each batch's start and
/// header. Kafka's checks (docs/kafka-protocol.md §7): the magic byte first (it sits at byte 16 in
/// every format Kafka ever had, so an old-format message set is named as such rather than
/// as a bad length), then framing and CRC-32C ([`batch::validate`]), then what only a
/// producer's batch must satisfy.
pub fn validate_batches(buf: &[u8]) -> Result<Vec<(usize, BatchHeader)>, AppendError> {
    if buf.is_empty() {
        return Err(AppendError::Invalid {
            batch: 0,
            reason: "no record batch".into(),
        });
    }
    let mut found = Vec::new();
    let mut at = 0;
    while at < buf.len() {
        let index = found.len();
        let corrupt = |error| AppendError::Corrupt {
            batch: index,
            error,
        };
        let invalid = |reason| AppendError::Invalid {
            batch: index,
            reason,
        };
        let rest = &buf[at..];
        if let Some(&magic) = rest.get(16)
            && magic as i8 != MAGIC
        {
            return Err(invalid(format!(
                "record format (magic) {magic}: only v2 (magic {MAGIC}) is accepted"
            )));
        }
        if rest.len() < LOG_OVERHEAD {
            return Err(corrupt(BatchError::Truncated {
                needed: LOG_OVERHEAD,
                available: rest.len(),
            }));
        }
        let length = i32::from_be_bytes([rest[8], rest[9], rest[10], rest[11]]);
        if length < MIN_BATCH_LENGTH {
            return Err(corrupt(BatchError::BadLength { length }));
        }
        let size = LOG_OVERHEAD + length as usize;
        if size > rest.len() {
            return Err(corrupt(BatchError::Truncated {
                needed: size,
                available: rest.len(),
            }));
        }
        let bytes = &rest[..size];
        let header = batch::validate(bytes).map_err(|e| match e {
            BatchError::BadRecord { .. }
            | BatchError::CountMismatch { .. }
            | BatchError::BadMagic { .. } => invalid(e.to_string()),
            BatchError::Truncated { .. }
            | BatchError::BadLength { .. }
            | BatchError::BadCrc { .. } => corrupt(e),
        })?;
        producer_rules(&header, bytes).map_err(invalid)?;
        found.push((at, header));
        at += size;
    }
    Ok(found)
}

/// What Kafka's `LogValidator` demands of a batch from a producer, beyond being readable.
fn producer_rules(header: &BatchHeader, bytes: &[u8]) -> Result<(), String> {
    if header.base_offset != 0 {
        return Err(format!(
            "baseOffset must be 0 in a produced batch (the log assigns offsets), found {}",
            header.base_offset
        ));
    }
    if header.records_count <= 0
        || i64::from(header.last_offset_delta) + 1 != i64::from(header.records_count)
    {
        return Err(format!(
            "a batch needs recordsCount > 0 and lastOffsetDelta = recordsCount - 1, found {} and {}",
            header.records_count, header.last_offset_delta
        ));
    }
    if header.attributes & CONTROL_BATCH != 0 {
        return Err("control batches are written by a broker, never produced".into());
    }
    if let Err(id) = Codec::from_attributes(header.attributes) {
        return Err(format!("unknown compression codec {id}"));
    }
    if header.producer_id >= 0 && header.base_sequence < 0 {
        return Err(format!(
            "idempotent batch (producerId {}) without a baseSequence",
            header.producer_id
        ));
    }
    // Like Kafka's LogValidator, look at every record, inflating a compressed batch to do
    // so; the batch is then stored as it came, still compressed. `validate` already
    // decoded the records of an uncompressed one.
    let section = batch::records_section(header, bytes, MAX_INFLATED).map_err(|e| e.to_string())?;
    let mut deltas = Vec::new();
    if header.compression() != 0 {
        batch::check_records(header, &section, |r| deltas.push(r.offset_delta))
            .map_err(|e| format!("inside the compressed records: {e}"))?;
    } else {
        for record in batch::records_in(&section) {
            deltas.push(record.map_err(|e| e.to_string())?.offset_delta);
        }
    }
    // Kafka also wants the offset deltas to count 0, 1, 2, ... so that each record gets
    // its own offset.
    for (i, delta) in deltas.into_iter().enumerate() {
        if i64::from(delta) != i as i64 {
            return Err(format!("record {i} has offsetDelta {delta}: expected {i}"));
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests;
