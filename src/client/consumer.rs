//! Reading one partition with Fetch, record by record, checking every byte.
//!
//! A Fetch response carries, per partition, a `records` field: record batches exactly as
//! they sit in the broker's segment file. The broker does not cut them at batch
//! boundaries. It takes a byte range of the file (up to `partition_max_bytes`) and hands it
//! to the socket with sendfile, without reading it; to cut at a boundary it would have to
//! look at the bytes, which is the very work zero-copy avoids. So the data usually ends
//! in the middle of a batch:
//!
//! ```text
//!  fetch at offset 40, budget 1 MiB
//!  ┌─────────────┬─────────────┬───────────── ─ ─ ─ ─┐
//!  │ batch 32-47 │ batch 48-63 │ batch 64-79 (cut)     │
//!  └─────────────┴─────────────┴───────────── ─ ─ ─ ─┘
//!   skip 32..39,  deliver all   ignore: fetch again from 64
//!   deliver 40..
//! ```
//!
//! - The first batch may start *before* the requested offset: the broker starts at the
//!   batch containing it (it only indexes batches); the client skips the earlier records.
//! - The last batch may be cut short (KIP-74, pitfall §8.4): normal, skipped, fetched whole
//!   next time. Only if *no* batch is whole can the client not progress: the first batch
//!   is bigger than the budget.
//!
//! Each whole batch is checked with [`batch::validate`] (CRC-32C, lengths, record framing)
//! and its offsets must continue exactly where the previous ones stopped: a gap means lost
//! records, and is an error.
//!
//! One Fetch is kept in flight ahead (pipelining): as soon as a response arrives, the
//! offset after its last whole batch is read from the batch headers (no CRC needed for
//! that) and the next Fetch is sent from there; only then are this response's batches
//! checked and delivered. The broker sends the next megabyte while the client checks this
//! one, instead of idling. If the caller stops early, or the data turns out wrong, the
//! answer to that request is read and thrown away (or the connection closed unread).

use std::ops::ControlFlow;
use std::time::Duration;

use crate::kafka::{
    ApiKey, ErrorCode, FetchPartition, FetchRequest, FetchTopic, FetchedResponse, RequestBody,
};
use crate::log::batch::{self, BatchHeader, Header, LOG_OVERHEAD, MIN_BATCH_LENGTH};
use crate::log::compression::MAX_INFLATED;

use super::connection::{Connection, Pending};
use super::error::{ClientError, DataProblem};
use super::partition::OffsetSpec;

/// Where to start reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartOffset {
    /// The oldest record still in the log.
    Earliest,
    /// After the newest record: only records produced from now on.
    Latest,
    /// This offset.
    At(i64),
}

/// Attributes bit 5: a control batch (transaction markers). It uses offsets but holds no
/// records for applications.
const CONTROL_BATCH: i16 = 0x20;
/// Attributes bit 3: the timestamps are the broker's append time, in `maxTimestamp`.
const LOG_APPEND_TIME: i16 = 0x08;

/// One record, as delivered to the caller; key, value and headers borrow the response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumedRecord<'a> {
    pub offset: i64,
    /// Milliseconds since the epoch (CreateTime, or the broker's LogAppendTime).
    pub timestamp: i64,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    pub headers: Vec<Header<'a>>,
}

/// What one [`Consumer::poll`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Polled {
    /// Records delivered.
    pub records: u64,
    /// Bytes of whole batches received (the partial trailing batch not included).
    pub batch_bytes: u64,
    /// The partition's high watermark, as the broker reported it.
    pub high_watermark: i64,
    /// The callback asked to stop; the position is right after the last record delivered.
    pub stopped: bool,
}

/// A consumer of one partition, connected to its leader.
#[derive(Debug)]
pub struct Consumer {
    conn: Connection,
    topic: String,
    partition: i32,
    next_offset: i64,
    fetch_max_bytes: i32,
    fetch_min_bytes: i32,
    /// Receives Fetch responses; decoded responses borrow it, not the connection, so the
    /// next Fetch can be sent while one is walked.
    buf: Vec<u8>,
    /// The Fetch sent ahead, if any.
    ahead: Option<Ahead>,
    /// Whether to send a Fetch ahead at all.
    pipelining: bool,
    /// No Fetch is sent ahead from this offset or beyond (e.g. where the caller stops).
    ahead_limit: Option<i64>,
}

/// A Fetch sent before the previous response was walked.
#[derive(Debug, Clone, Copy)]
struct Ahead {
    pending: Pending,
    /// The offset it fetches from; `None` once the position went elsewhere (the caller
    /// stopped mid-response, or the data was wrong): its answer is then thrown away.
    offset: Option<i64>,
    /// The long-poll time it was sent with.
    max_wait: Duration,
}

impl Consumer {
    /// A consumer positioned at `start` (resolved with ListOffsets for earliest/latest).
    /// `fetch_max_bytes` is the per-fetch budget (Kafka's `max.partition.fetch.bytes`).
    pub fn new(
        mut conn: Connection,
        topic: &str,
        partition: i32,
        start: StartOffset,
        fetch_max_bytes: usize,
    ) -> Result<Self, ClientError> {
        conn.version(ApiKey::Fetch)?;
        let next_offset = match start {
            StartOffset::Earliest => conn.list_offset(topic, partition, OffsetSpec::Earliest)?,
            StartOffset::Latest => conn.list_offset(topic, partition, OffsetSpec::Latest)?,
            StartOffset::At(offset) => offset,
        };
        Ok(Consumer {
            conn,
            topic: topic.to_owned(),
            partition,
            next_offset,
            fetch_max_bytes: i32::try_from(fetch_max_bytes).unwrap_or(i32::MAX),
            fetch_min_bytes: 1,
            buf: Vec::new(),
            ahead: None,
            pipelining: true,
            ahead_limit: None,
        })
    }

    /// The least data the broker should gather before answering a Fetch, waiting up to
    /// the poll's `max_wait` for it (Kafka's `fetch.min.bytes`; default 1: answer as soon
    /// as anything is there). Larger: fewer, fuller responses, at the cost of latency.
    pub fn set_fetch_min_bytes(&mut self, bytes: usize) {
        self.fetch_min_bytes = i32::try_from(bytes).unwrap_or(i32::MAX);
    }

    /// Whether to send the next Fetch before walking the current response (default on).
    pub fn set_pipelining(&mut self, on: bool) {
        self.pipelining = on;
    }

    /// Sends no Fetch ahead for offsets at or beyond `end` (where the caller will stop).
    pub fn set_ahead_limit(&mut self, end: Option<i64>) {
        self.ahead_limit = end;
    }

    /// The offset of the next record to deliver.
    pub fn position(&self) -> i64 {
        self.next_offset
    }

    /// The connection, e.g. to ask ListOffsets where the partition ends. A Fetch sent
    /// ahead is answered first (and its answer thrown away), so responses stay in step.
    pub fn connection(&mut self) -> Result<&mut Connection, ClientError> {
        if let Some(ahead) = self.ahead.take() {
            let _: FetchedResponse<'_> =
                self.conn
                    .receive_into(ahead.pending, ahead.max_wait, &mut self.buf)?;
        }
        Ok(&mut self.conn)
    }

    /// One Fetch: waits up to `max_wait` for records at the current position (long poll:
    /// the broker answers as soon as it has the fetch min bytes, 1 by default), delivers
    /// every whole record from there to `on_record` in offset order, and advances the
    /// position. The callback returns `ControlFlow::Break` to stop early, e.g. after
    /// `--count` records. The Fetch may already have been sent by the previous poll (with
    /// that poll's `max_wait`); this one then sends the next ahead, unless pipelining is off.
    pub fn poll(
        &mut self,
        max_wait: Duration,
        mut on_record: impl FnMut(ConsumedRecord<'_>) -> ControlFlow<()>,
    ) -> Result<Polled, ClientError> {
        let version = self.conn.version(ApiKey::Fetch)?;
        let max_wait_ms = i32::try_from(max_wait.as_millis()).unwrap_or(i32::MAX);
        let (pending, waited) = match self.ahead.take() {
            Some(ahead) if ahead.offset == Some(self.next_offset) => {
                (ahead.pending, ahead.max_wait)
            }
            stale => {
                if let Some(ahead) = stale {
                    // Sent from where we are no longer: read its answer and drop it.
                    let _: FetchedResponse<'_> =
                        self.conn
                            .receive_into(ahead.pending, ahead.max_wait, &mut self.buf)?;
                }
                let request = self.request(self.next_offset, max_wait_ms);
                (self.conn.send(version, &request)?, max_wait)
            }
        };
        let broker = self.conn.broker().to_owned();
        // The response borrows our buffer: the records are never copied.
        let response: FetchedResponse<'_> =
            self.conn.receive_into(pending, waited, &mut self.buf)?;
        let broker_error = |code| ClientError::Broker {
            broker: broker.clone(),
            api: ApiKey::Fetch,
            code,
            topic: Some(self.topic.clone()),
            partition: Some(self.partition),
            message: None,
        };
        if response.error_code != ErrorCode::None {
            return Err(broker_error(response.error_code));
        }
        let Some(p) = response
            .responses
            .iter()
            .filter(|t| t.topic == self.topic)
            .flat_map(|t| &t.partitions)
            .find(|p| p.partition_index == self.partition)
        else {
            return Err(ClientError::Protocol {
                broker,
                api: ApiKey::Fetch,
                detail: format!(
                    "the response does not mention {}-{}",
                    self.topic, self.partition
                ),
            });
        };
        match p.error_code {
            ErrorCode::None => {}
            ErrorCode::OffsetOutOfRange => {
                drop(response);
                return Err(self.out_of_range(broker));
            }
            code => return Err(broker_error(code)),
        }
        let high_watermark = p.high_watermark;
        let records = p.records.unwrap_or_default();
        // Ask for what follows before checking these bytes: the broker sends it meanwhile.
        if self.pipelining
            && let Some(next) = next_fetch_offset(records, self.next_offset)
            && self.ahead_limit.is_none_or(|end| next < end)
        {
            let request = fetch_request(
                &self.topic,
                self.partition,
                next,
                max_wait_ms,
                self.fetch_min_bytes,
                self.fetch_max_bytes,
            );
            self.ahead = Some(Ahead {
                pending: self.conn.send(version, &request)?,
                offset: Some(next),
                max_wait,
            });
        }
        let walked = walk(records, &mut self.next_offset, &mut on_record);
        if let Some(ahead) = &mut self.ahead
            && (walked.is_err() || ahead.offset != Some(self.next_offset))
        {
            ahead.offset = None;
        }
        let (records, batch_bytes, stopped) =
            walked.map_err(|(offset, problem)| ClientError::Data {
                broker,
                topic: self.topic.clone(),
                partition: self.partition,
                offset,
                problem,
            })?;
        Ok(Polled {
            records,
            batch_bytes,
            high_watermark,
            stopped,
        })
    }

    fn request(&self, offset: i64, max_wait_ms: i32) -> RequestBody<'static> {
        fetch_request(
            &self.topic,
            self.partition,
            offset,
            max_wait_ms,
            self.fetch_min_bytes,
            self.fetch_max_bytes,
        )
    }

    /// OFFSET_OUT_OF_RANGE, with the range the partition does have (asked with
    /// ListOffsets: the Fetch error carries no reliable offsets).
    fn out_of_range(&mut self, broker: String) -> ClientError {
        let (topic, partition) = (self.topic.clone(), self.partition);
        let range = self
            .conn
            .list_offset(&topic, partition, OffsetSpec::Earliest)
            .and_then(|start| {
                let end = self
                    .conn
                    .list_offset(&topic, partition, OffsetSpec::Latest)?;
                Ok((start, end))
            });
        match range {
            Ok((start, end)) => ClientError::Data {
                broker,
                topic,
                partition,
                offset: self.next_offset,
                problem: DataProblem::OutOfRange { start, end },
            },
            Err(e) => e,
        }
    }
}

/// A Fetch for one partition from `offset`.
fn fetch_request(
    topic: &str,
    partition: i32,
    offset: i64,
    max_wait_ms: i32,
    min_bytes: i32,
    max_bytes: i32,
) -> RequestBody<'static> {
    RequestBody::Fetch(FetchRequest {
        replica_id: -1,
        max_wait_ms,
        min_bytes,
        max_bytes,
        // No transactions here: read everything up to the high watermark.
        isolation_level: 0,
        // Session id 0, epoch -1: a full fetch without a fetch session (KIP-227),
        // like librdkafka; every request names the partition it wants.
        session_id: 0,
        session_epoch: -1,
        topics: vec![FetchTopic {
            topic: topic.to_owned(),
            partitions: vec![FetchPartition {
                partition,
                current_leader_epoch: -1,
                fetch_offset: offset,
                log_start_offset: -1,
                partition_max_bytes: max_bytes,
            }],
        }],
        forgotten_topics_data: Vec::new(),
        rack_id: String::new(),
    })
}

/// Where the Fetch after this response starts: after the last whole batch, read from the
/// batch headers only (base offset + lastOffsetDelta, no CRC check: [`walk`] checks
/// afterwards, and throws the Fetch sent ahead away if the data was wrong). `None` if no
/// batch is whole (nothing to get ahead of) or the framing is broken.
fn next_fetch_offset(records: &[u8], from: i64) -> Option<i64> {
    // baseOffset(8) batchLength(4) partitionLeaderEpoch(4) magic(1) crc(4) attributes(2)
    const LAST_OFFSET_DELTA: usize = 23;
    let mut rest = records;
    let mut next = None;
    while let Some(size) = whole_batch_len(rest) {
        let (batch, tail) = rest.split_at(size.ok()?);
        rest = tail;
        let base = i64::from_be_bytes(*batch.first_chunk::<8>()?);
        let delta = batch.get(LAST_OFFSET_DELTA..LAST_OFFSET_DELTA + 4)?;
        let delta = i32::from_be_bytes(delta.try_into().ok()?);
        next = Some(base.checked_add(i64::from(delta))?.checked_add(1)?);
    }
    next.map(|n| n.max(from))
}

/// Walks the batches of one partition's `records`, delivering records from `*next_offset`
/// on and advancing it. Returns (records delivered, whole-batch bytes, stopped), or the
/// offset where the data went wrong and why.
fn walk(
    records: &[u8],
    next_offset: &mut i64,
    on_record: &mut impl FnMut(ConsumedRecord<'_>) -> ControlFlow<()>,
) -> Result<(u64, u64, bool), (i64, DataProblem)> {
    let (mut delivered, mut bytes) = (0u64, 0u64);
    let mut rest = records;
    // The records of one batch, decoded while it is validated and delivered only once the
    // whole batch proved good (one decoding pass, nothing delivered from a bad batch).
    let mut decoded = Vec::new();
    while let Some(size) = whole_batch_len(rest) {
        let size = size.map_err(|problem| (*next_offset, problem))?;
        let (batch, tail) = rest.split_at(size);
        rest = tail;
        bytes += size as u64;
        decoded.clear();
        let header = validate(batch, *next_offset, &mut decoded)?;
        if header.last_offset() < *next_offset {
            continue; // wholly before our position
        }
        if header.base_offset > *next_offset {
            return Err(gap(*next_offset, header.base_offset));
        }
        if header.attributes & CONTROL_BATCH != 0 {
            *next_offset = header.last_offset() + 1;
            continue;
        }
        let stopped = if header.compression() == 0 {
            deliver(
                &header,
                decoded.drain(..),
                next_offset,
                &mut delivered,
                on_record,
            )?
        } else {
            // The records are one compressed stream: inflate, then decode and check them
            // like those of an uncompressed batch.
            let inflated = batch::records_section(&header, batch, MAX_INFLATED)
                .map_err(|e| (header.base_offset, DataProblem::Undecodable(e.to_string())))?;
            let mut inner = Vec::new();
            batch::check_records(&header, &inflated, |r| inner.push(r))
                .map_err(|e| (header.base_offset, DataProblem::Corrupt(e)))?;
            deliver(
                &header,
                inner.into_iter(),
                next_offset,
                &mut delivered,
                on_record,
            )?
        };
        if stopped {
            return Ok((delivered, bytes, true));
        }
    }
    // Anything left is a batch cut short by the broker's byte budget: normal at the end
    // (we fetch it again next time), unless nothing at all was whole.
    if bytes == 0 && !rest.is_empty() {
        let needed = rest
            .get(8..12)
            .and_then(|b| b.try_into().ok())
            .map_or(LOG_OVERHEAD, |b| {
                LOG_OVERHEAD + usize::try_from(i32::from_be_bytes(b)).unwrap_or(0)
            });
        return Err((
            *next_offset,
            DataProblem::TooLarge {
                needed,
                budget: rest.len(),
            },
        ));
    }
    Ok((delivered, bytes, false))
}

/// Hands the records of one validated batch from `*next_offset` on to `on_record`;
/// returns whether it asked to stop.
fn deliver<'r>(
    header: &BatchHeader,
    records: impl Iterator<Item = batch::Record<'r>>,
    next_offset: &mut i64,
    delivered: &mut u64,
    on_record: &mut impl FnMut(ConsumedRecord<'_>) -> ControlFlow<()>,
) -> Result<bool, (i64, DataProblem)> {
    for record in records {
        let offset = header.base_offset + i64::from(record.offset_delta);
        if offset < *next_offset {
            continue;
        }
        if offset > *next_offset {
            return Err(gap(*next_offset, offset));
        }
        let timestamp = if header.attributes & LOG_APPEND_TIME != 0 {
            header.max_timestamp
        } else {
            header.base_timestamp + record.timestamp_delta
        };
        *next_offset = offset + 1;
        *delivered += 1;
        let flow = on_record(ConsumedRecord {
            offset,
            timestamp,
            key: record.key,
            value: record.value,
            headers: record.headers,
        });
        if flow.is_break() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The size of the batch at the front of `rest` if all of it is there; `None` when
/// `rest` is empty or holds only the beginning of a batch. An impossible length is an
/// error: nothing after it can be framed.
fn whole_batch_len(rest: &[u8]) -> Option<Result<usize, DataProblem>> {
    let length = i32::from_be_bytes(rest.get(8..12)?.try_into().ok()?);
    if length < MIN_BATCH_LENGTH {
        return Some(Err(DataProblem::Corrupt(batch::BatchError::BadLength {
            length,
        })));
    }
    let size = LOG_OVERHEAD + length as usize;
    (size <= rest.len()).then_some(Ok(size))
}

/// Validates one whole batch, pushing its records to `records` (for a compressed batch,
/// the header and CRC only: its records are checked once inflated).
fn validate<'a>(
    batch: &'a [u8],
    next_offset: i64,
    records: &mut Vec<batch::Record<'a>>,
) -> Result<BatchHeader, (i64, DataProblem)> {
    let base_offset = batch
        .first_chunk::<8>()
        .map_or(next_offset, |b| i64::from_be_bytes(*b));
    let header = batch::validate_with(batch, |record| records.push(record))
        .map_err(|e| (base_offset, DataProblem::Corrupt(e)))?;
    Ok(header)
}

fn gap(expected: i64, found: i64) -> (i64, DataProblem) {
    (expected, DataProblem::Gap { expected, found })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::batch::BatchBuilder;

    /// Batches of `sizes[i]` records each, offsets from `base` on, values "v<offset>".
    fn batches(base: i64, sizes: &[usize]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut offset = base;
        for &n in sizes {
            let mut b = BatchBuilder::new(&mut out, offset);
            for _ in 0..n {
                b.append(
                    1_000 + offset,
                    None,
                    Some(format!("v{offset}").as_bytes()),
                    &[],
                );
                offset += 1;
            }
            b.finish();
        }
        out
    }

    fn collect(records: &[u8], start: i64) -> Result<(Vec<(i64, String)>, i64), DataProblem> {
        let mut next = start;
        let mut got = Vec::new();
        walk(records, &mut next, &mut |r| {
            got.push((
                r.offset,
                String::from_utf8_lossy(r.value.unwrap()).into_owned(),
            ));
            ControlFlow::Continue(())
        })
        .map_err(|(_, p)| p)?;
        Ok((got, next))
    }

    #[test]
    fn records_before_the_position_are_skipped() {
        let data = batches(10, &[5, 5]);
        let (got, next) = collect(&data, 12).unwrap();
        assert_eq!(got.first(), Some(&(12, "v12".to_owned())));
        assert_eq!(got.len(), 8);
        assert_eq!(next, 20);
    }

    #[test]
    fn a_cut_trailing_batch_is_ignored_at_every_cut() {
        let data = batches(0, &[3, 3]);
        let first = batches(0, &[3]).len();
        for cut in first..data.len() {
            let (got, next) = collect(&data[..cut], 0).unwrap();
            assert_eq!((got.len(), next), (3, 3), "cut at {cut}");
        }
    }

    #[test]
    fn a_first_batch_bigger_than_the_budget_is_an_error() {
        let data = batches(0, &[3]);
        for cut in 1..data.len() {
            match collect(&data[..cut], 0) {
                Err(DataProblem::TooLarge { needed, budget }) => {
                    assert_eq!(budget, cut);
                    if cut >= 12 {
                        assert_eq!(needed, data.len());
                    }
                }
                other => panic!("cut at {cut}: {other:?}"),
            }
        }
    }

    #[test]
    fn gaps_between_batches_are_errors() {
        let mut data = batches(0, &[2]);
        data.extend(batches(5, &[2]));
        assert_eq!(
            collect(&data, 0),
            Err(DataProblem::Gap {
                expected: 2,
                found: 5
            })
        );
    }

    #[test]
    fn a_flipped_byte_is_a_crc_error() {
        let mut data = batches(0, &[2]);
        let last = data.len() - 2;
        data[last] ^= 1;
        assert!(matches!(
            collect(&data, 0),
            Err(DataProblem::Corrupt(batch::BatchError::BadCrc { .. }))
        ));
    }

    #[test]
    fn the_fetch_ahead_starts_after_the_last_whole_batch() {
        let data = batches(10, &[5, 3, 4]);
        assert_eq!(next_fetch_offset(&data, 10), Some(22));
        assert_eq!(next_fetch_offset(&data, 30), Some(30));
        let two = batches(10, &[5, 3]).len();
        for cut in two..data.len() {
            assert_eq!(
                next_fetch_offset(&data[..cut], 10),
                Some(18),
                "cut at {cut}"
            );
        }
        assert_eq!(next_fetch_offset(&data[..20], 10), None);
        assert_eq!(next_fetch_offset(&[], 10), None);
        // Agrees with a full walk, which also checks the CRCs.
        let (_, next) = collect(&data, 10).unwrap();
        assert_eq!(next, 22);
    }

    #[test]
    fn stopping_keeps_the_position_after_the_last_record() {
        let data = batches(0, &[4]);
        let mut next = 0;
        let mut seen = 0;
        let (n, _, stopped) = walk(&data, &mut next, &mut |_| {
            seen += 1;
            if seen == 2 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .unwrap();
        assert_eq!((n, next, stopped), (2, 2, true));
    }
}
