//! Fetch (key 1): "send me records from this offset on" — v4 to v11. The reason Kafka is fast.
//!
//! # The request
//!
//! Per partition, the consumer names a `fetch_offset` and a byte budget
//! (`partition_max_bytes`), and for the whole response `max_bytes`; `min_bytes` plus
//! `max_wait_ms` ask the broker to hold the request until enough data exists (long poll).
//! v4 is our minimum because it is the first version whose clients accept record format v2.
//! Later versions add fields the broker mostly ignores: `log_start_offset` (v5, for
//! followers), fetch sessions (v7: `session_id`, `session_epoch`, `forgotten_topics_data`),
//! `current_leader_epoch` (v9), `rack_id` (v11). We decode them all anyway, so a field is
//! never silently skipped and a fuzzer sees the same code paths as a real client.
//!
//! # The response, as parts
//!
//! Kafka's broker never copies record bytes into a response buffer. It computes every
//! length up front and sends the response as `[bytes][file region][bytes][file region]...`
//! (`SendBuilder`, `MultiRecordsSend`), where each file region goes from the page cache to
//! the socket with `sendfile`. We do the same; a response for two partitions looks like:
//!
//! ```text
//!  Part::Bytes                                 Part::File     Part::Bytes        Part::File
//! ┌────┬────┬─────────┬────────────────┬─────┬──────────────┬──────────────┬─────┬──────────┐
//! │size│corr│throttle…│p0 fields       │len0 │ seg 3 [a, b) │ p1 fields    │len1 │ seg 4 …  │
//! └────┴────┴─────────┴────────────────┴─────┴──────────────┴──────────────┴─────┴──────────┘
//!   ▲ = sum of all part lengths - 4          ▲ len0 = b - a: known before any byte is read
//! ```
//!
//! [`FileRegion::segment`] is an index the caller chose (into its list of open segment
//! files); the codec never sees a file. Three rules from real clients (docs/kafka-protocol.md §6):
//! - `records` is never null: "no data" is a length of 0 (librdkafka rejects -1).
//! - `preferred_read_replica` must be -1 (v11), or librdkafka goes looking for another
//!   broker; `last_stable_offset` should equal the high watermark.
//! - A region may end in the middle of a batch; clients drop the partial batch at the end.

use std::fmt;

use super::header;
use super::primitives::{FieldResult, Reader, Writer};
use super::{ApiKey, DecodeResponse, ErrorCode, read_error_code};

/// Fetch request, v4–v11.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchRequest {
    /// -1 for consumers; a broker id for followers.
    pub replica_id: i32,
    pub max_wait_ms: i32,
    pub min_bytes: i32,
    /// v3+: budget for the whole response.
    pub max_bytes: i32,
    /// v4+: 0 read_uncommitted, 1 read_committed.
    pub isolation_level: i8,
    /// v7+; 0 when absent.
    pub session_id: i32,
    /// v7+; -1 (no session) when absent.
    pub session_epoch: i32,
    pub topics: Vec<FetchTopic>,
    /// v7+: partitions to drop from an incremental session; empty when absent.
    pub forgotten_topics_data: Vec<ForgottenTopic>,
    /// v11+; empty when absent.
    pub rack_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchTopic {
    pub topic: String,
    pub partitions: Vec<FetchPartition>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchPartition {
    pub partition: i32,
    /// v9+; -1 when absent.
    pub current_leader_epoch: i32,
    pub fetch_offset: i64,
    /// v5+ (followers only); -1 when absent.
    pub log_start_offset: i64,
    pub partition_max_bytes: i32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForgottenTopic {
    pub topic: String,
    pub partitions: Vec<i32>,
}

impl FetchRequest {
    pub(super) fn decode(r: &mut Reader<'_>, version: i16) -> FieldResult<Self> {
        let replica_id = r.i32("fetch.replica_id")?;
        let max_wait_ms = r.i32("fetch.max_wait_ms")?;
        let min_bytes = r.i32("fetch.min_bytes")?;
        let max_bytes = if version >= 3 {
            r.i32("fetch.max_bytes")?
        } else {
            i32::MAX
        };
        let isolation_level = if version >= 4 {
            r.i8("fetch.isolation_level")?
        } else {
            0
        };
        let (session_id, session_epoch) = if version >= 7 {
            (r.i32("fetch.session_id")?, r.i32("fetch.session_epoch")?)
        } else {
            (0, -1)
        };
        // Smallest partition entry (v4): partition + fetch_offset + partition_max_bytes.
        let topics = r.array_of("fetch.topics", 6, |r| {
            Ok(FetchTopic {
                topic: r.string("fetch.topics.topic")?,
                partitions: r.array_of("fetch.topics.partitions", 16, |r| {
                    let partition = r.i32("fetch.topics.partitions.partition")?;
                    let current_leader_epoch = if version >= 9 {
                        r.i32("fetch.topics.partitions.current_leader_epoch")?
                    } else {
                        -1
                    };
                    let fetch_offset = r.i64("fetch.topics.partitions.fetch_offset")?;
                    let log_start_offset = if version >= 5 {
                        r.i64("fetch.topics.partitions.log_start_offset")?
                    } else {
                        -1
                    };
                    let partition_max_bytes =
                        r.i32("fetch.topics.partitions.partition_max_bytes")?;
                    Ok(FetchPartition {
                        partition,
                        current_leader_epoch,
                        fetch_offset,
                        log_start_offset,
                        partition_max_bytes,
                    })
                })?,
            })
        })?;
        let forgotten_topics_data = if version >= 7 {
            r.array_of("fetch.forgotten_topics_data", 6, |r| {
                Ok(ForgottenTopic {
                    topic: r.string("fetch.forgotten_topics_data.topic")?,
                    partitions: r.array_of("fetch.forgotten_topics_data.partitions", 4, |r| {
                        r.i32("fetch.forgotten_topics_data.partitions")
                    })?,
                })
            })?
        } else {
            Vec::new()
        };
        let rack_id = if version >= 11 {
            r.string("fetch.rack_id")?
        } else {
            String::new()
        };
        Ok(FetchRequest {
            replica_id,
            max_wait_ms,
            min_bytes,
            max_bytes,
            isolation_level,
            session_id,
            session_epoch,
            topics,
            forgotten_topics_data,
            rack_id,
        })
    }

    pub(super) fn encode(&self, w: &mut Writer, version: i16) {
        w.i32(self.replica_id);
        w.i32(self.max_wait_ms);
        w.i32(self.min_bytes);
        if version >= 3 {
            w.i32(self.max_bytes);
        }
        if version >= 4 {
            w.i8(self.isolation_level);
        }
        if version >= 7 {
            w.i32(self.session_id);
            w.i32(self.session_epoch);
        }
        w.array_of(&self.topics, |w, t| {
            w.string(&t.topic);
            w.array_of(&t.partitions, |w, p| {
                w.i32(p.partition);
                if version >= 9 {
                    w.i32(p.current_leader_epoch);
                }
                w.i64(p.fetch_offset);
                if version >= 5 {
                    w.i64(p.log_start_offset);
                }
                w.i32(p.partition_max_bytes);
            });
        });
        if version >= 7 {
            w.array_of(&self.forgotten_topics_data, |w, t| {
                w.string(&t.topic);
                w.array_of(&t.partitions, |w, p| w.i32(*p));
            });
        }
        if version >= 11 {
            w.string(&self.rack_id);
        }
    }
}

/// A byte range of one of the caller's segment files, to be sent as is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileRegion {
    /// The caller's index of the segment file (the codec never sees files).
    pub segment: usize,
    /// Byte position in the file.
    pub position: u64,
    pub len: u64,
}

/// One piece of an encoded Fetch response, to be written to the socket in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Header and field bytes, written with write/writev.
    Bytes(Vec<u8>),
    /// Record bytes straight from a segment file (sendfile, splice, mmap or pread+write).
    File(FileRegion),
}

impl Part {
    /// Number of bytes this part puts on the wire.
    pub fn len(&self) -> u64 {
        match self {
            Part::Bytes(b) => b.len() as u64,
            Part::File(r) => r.len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Fetch response, v4–v11.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchResponse {
    /// v1+.
    pub throttle_time_ms: i32,
    /// v7+: top-level error (fetch sessions); 0.
    pub error_code: ErrorCode,
    /// v7+: 0 = no fetch session was created (we never create one).
    pub session_id: i32,
    pub responses: Vec<FetchTopicResponse>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchTopicResponse {
    pub topic: String,
    /// One entry for **every** requested partition, even without data (kafka-python's
    /// session handler rejects a response that omits one).
    pub partitions: Vec<FetchPartitionResponse>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchPartitionResponse {
    pub partition_index: i32,
    pub error_code: ErrorCode,
    /// The log end offset (single replica: everything appended is replicated).
    pub high_watermark: i64,
    /// v4+: equal to `high_watermark` without transactions; librdkafka (read_committed by
    /// default) treats it as the end of the partition.
    pub last_stable_offset: i64,
    /// v5+.
    pub log_start_offset: i64,
    /// v4+: `None` is sent as a null array (count -1), which every client zc is tested
    /// with accepts; `Some(vec![])` sends an empty array.
    pub aborted_transactions: Option<Vec<AbortedTransaction>>,
    /// v11+: must be -1 (read from the leader, i.e. us).
    pub preferred_read_replica: i32,
    /// The record bytes, as regions of segment files, in order; empty for no data.
    pub records: Vec<FileRegion>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbortedTransaction {
    pub producer_id: i64,
    pub first_offset: i64,
}

impl FetchPartitionResponse {
    /// A successful answer with the defaults real clients need: LSO = high watermark,
    /// no aborted transactions, no preferred replica.
    pub fn with_records(
        partition_index: i32,
        high_watermark: i64,
        log_start_offset: i64,
        records: Vec<FileRegion>,
    ) -> Self {
        FetchPartitionResponse {
            partition_index,
            error_code: ErrorCode::None,
            high_watermark,
            last_stable_offset: high_watermark,
            log_start_offset,
            aborted_transactions: None,
            preferred_read_replica: -1,
            records,
        }
    }

    /// An error answer (OFFSET_OUT_OF_RANGE, UNKNOWN_TOPIC_OR_PARTITION, ...) with no
    /// records. Offsets may be -1 when the partition is unknown.
    pub fn error(
        partition_index: i32,
        error_code: ErrorCode,
        high_watermark: i64,
        log_start_offset: i64,
    ) -> Self {
        FetchPartitionResponse {
            error_code,
            ..Self::with_records(
                partition_index,
                high_watermark,
                log_start_offset,
                Vec::new(),
            )
        }
    }

    /// Total length of the records regions, if it fits the wire's int32.
    fn records_len(&self) -> Option<i32> {
        let total = self
            .records
            .iter()
            .try_fold(0u64, |acc, r| acc.checked_add(r.len))?;
        i32::try_from(total).ok()
    }
}

/// The response would exceed what an int32 length can describe (2 GiB): the caller did not
/// bound the regions by `max_bytes`. Nothing has been sent; answer with less data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameTooLarge {
    /// `"records"` (one partition's regions) or `"frame"` (the whole response).
    pub what: &'static str,
    pub partition_index: Option<i32>,
}

impl fmt::Display for FrameTooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.partition_index {
            Some(p) => write!(f, "fetch {} of partition {p} exceed 2 GiB", self.what),
            None => write!(f, "fetch {} exceeds 2 GiB", self.what),
        }
    }
}

impl std::error::Error for FrameTooLarge {}

/// Encodes a Fetch response as parts: byte parts (merged, so there is at most one between
/// two regions) and file regions (adjacent regions of the same segment merged; empty ones
/// dropped). The first part starts with the int32 frame size, computed from the region
/// lengths; the sum of all part lengths is that size + 4.
pub fn encode_fetch_response(
    correlation_id: i32,
    version: i16,
    response: &FetchResponse,
) -> Result<Vec<Part>, FrameTooLarge> {
    let mut parts = Vec::new();
    let mut w = header::begin_response(correlation_id, 0);
    if version >= 1 {
        w.i32(response.throttle_time_ms);
    }
    if version >= 7 {
        w.i16(response.error_code.code());
        w.i32(response.session_id);
    }
    w.array_len(response.responses.len());
    for t in &response.responses {
        w.string(&t.topic);
        w.array_len(t.partitions.len());
        for p in &t.partitions {
            w.i32(p.partition_index);
            w.i16(p.error_code.code());
            w.i64(p.high_watermark);
            if version >= 4 {
                w.i64(p.last_stable_offset);
            }
            if version >= 5 {
                w.i64(p.log_start_offset);
            }
            if version >= 4 {
                w.nullable_array_of(p.aborted_transactions.as_deref(), |w, a| {
                    w.i64(a.producer_id);
                    w.i64(a.first_offset);
                });
            }
            if version >= 11 {
                w.i32(p.preferred_read_replica);
            }
            // The records length is known before any record byte is read: it is the sum of
            // the region lengths. Never -1 (null), even without data.
            let len = p.records_len().ok_or(FrameTooLarge {
                what: "records",
                partition_index: Some(p.partition_index),
            })?;
            w.i32(len);
            if len > 0 {
                parts.push(Part::Bytes(w.take_buf()));
                for region in p.records.iter().filter(|r| r.len > 0) {
                    push_region(&mut parts, *region);
                }
            }
        }
    }
    if !w.is_empty() {
        parts.push(Part::Bytes(w.into_inner()));
    }
    let total = parts.iter().map(Part::len).sum::<u64>();
    let size = i32::try_from(total.saturating_sub(4)).map_err(|_| FrameTooLarge {
        what: "frame",
        partition_index: None,
    })?;
    // The first part is always bytes: it starts with the size and the correlation id.
    if let Some(Part::Bytes(first)) = parts.first_mut()
        && let Some(slot) = first.get_mut(..4)
    {
        slot.copy_from_slice(&size.to_be_bytes());
    }
    Ok(parts)
}

/// Appends a region, extending the previous one when it continues it in the same file
/// (one sendfile call instead of two).
fn push_region(parts: &mut Vec<Part>, region: FileRegion) {
    if let Some(Part::File(last)) = parts.last_mut()
        && last.segment == region.segment
        && last.position.checked_add(last.len) == Some(region.position)
    {
        last.len += region.len;
        return;
    }
    parts.push(Part::File(region));
}

/// A Fetch response as a *client* receives it. The broker's [`FetchResponse`] names file
/// regions; on the wire those became plain bytes, so here each partition's `records` is a
/// slice borrowed from the received frame (no copy): record batches back to back, the
/// last of which may be cut short (see [`FetchedPartition::records`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedResponse<'a> {
    /// v1+.
    pub throttle_time_ms: i32,
    /// v7+; NONE when absent.
    pub error_code: ErrorCode,
    /// v7+; 0 when absent.
    pub session_id: i32,
    pub responses: Vec<FetchedTopic<'a>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedTopic<'a> {
    pub topic: String,
    pub partitions: Vec<FetchedPartition<'a>>,
}

/// One partition of a received Fetch response; the fields of [`FetchPartitionResponse`]
/// with the records as bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedPartition<'a> {
    pub partition_index: i32,
    pub error_code: ErrorCode,
    pub high_watermark: i64,
    /// v4+; -1 when absent.
    pub last_stable_offset: i64,
    /// v5+; -1 when absent.
    pub log_start_offset: i64,
    /// v4+; `None` for a null array and when absent.
    pub aborted_transactions: Option<Vec<AbortedTransaction>>,
    /// v11+; -1 when absent.
    pub preferred_read_replica: i32,
    /// Record batches as sent, `None` if the broker sent null. Since Fetch v3 (KIP-74) the
    /// broker cuts the data at a byte budget without looking at batch boundaries, so the
    /// last batch may be incomplete: a client must skip it and fetch it again next time.
    pub records: Option<&'a [u8]>,
}

impl<'a> DecodeResponse<'a> for FetchedResponse<'a> {
    const API_KEY: ApiKey = ApiKey::Fetch;

    fn decode(r: &mut Reader<'a>, version: i16) -> FieldResult<Self> {
        let throttle_time_ms = if version >= 1 {
            r.i32("fetch.throttle_time_ms")?
        } else {
            0
        };
        let (error_code, session_id) = if version >= 7 {
            (
                read_error_code(r, "fetch.error_code")?,
                r.i32("fetch.session_id")?,
            )
        } else {
            (ErrorCode::None, 0)
        };
        let responses = r.array_of("fetch.responses", 6, |r| {
            Ok(FetchedTopic {
                topic: r.string("fetch.responses.topic")?,
                // Smallest partition (v4): index, error, high watermark, LSO, null aborted
                // transactions, records length.
                partitions: r.array_of("fetch.responses.partitions", 30, |r| {
                    FetchedPartition::decode(r, version)
                })?,
            })
        })?;
        Ok(FetchedResponse {
            throttle_time_ms,
            error_code,
            session_id,
            responses,
        })
    }
}

impl<'a> FetchedPartition<'a> {
    fn decode(r: &mut Reader<'a>, version: i16) -> FieldResult<Self> {
        let partition_index = r.i32("fetch.responses.partitions.partition_index")?;
        let error_code = read_error_code(r, "fetch.responses.partitions.error_code")?;
        let high_watermark = r.i64("fetch.responses.partitions.high_watermark")?;
        let last_stable_offset = if version >= 4 {
            r.i64("fetch.responses.partitions.last_stable_offset")?
        } else {
            -1
        };
        let log_start_offset = if version >= 5 {
            r.i64("fetch.responses.partitions.log_start_offset")?
        } else {
            -1
        };
        let aborted_transactions = if version >= 4 {
            r.nullable_array("fetch.responses.partitions.aborted_transactions", 16, |r| {
                Ok(AbortedTransaction {
                    producer_id: r.i64("fetch.responses.partitions.aborted.producer_id")?,
                    first_offset: r.i64("fetch.responses.partitions.aborted.first_offset")?,
                })
            })?
        } else {
            None
        };
        let preferred_read_replica = if version >= 11 {
            r.i32("fetch.responses.partitions.preferred_read_replica")?
        } else {
            -1
        };
        Ok(FetchedPartition {
            partition_index,
            error_code,
            high_watermark,
            last_stable_offset,
            log_start_offset,
            aborted_transactions,
            preferred_read_replica,
            records: r.nullable_bytes("fetch.responses.partitions.records")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Replaces each region by `len` bytes of a recognisable pattern, giving the frame the
    /// client would receive.
    fn flatten(parts: &[Part]) -> Vec<u8> {
        let mut out = Vec::new();
        for part in parts {
            match part {
                Part::Bytes(b) => out.extend_from_slice(b),
                Part::File(r) => {
                    out.extend((0..r.len).map(|i| (r.segment as u64 * 31 + r.position + i) as u8))
                }
            }
        }
        out
    }

    fn region(segment: usize, position: u64, len: u64) -> FileRegion {
        FileRegion {
            segment,
            position,
            len,
        }
    }

    fn response(records: Vec<Vec<FileRegion>>) -> FetchResponse {
        FetchResponse {
            throttle_time_ms: 0,
            error_code: ErrorCode::None,
            session_id: 0,
            responses: vec![FetchTopicResponse {
                topic: "t".into(),
                partitions: records
                    .into_iter()
                    .enumerate()
                    .map(|(i, r)| FetchPartitionResponse::with_records(i as i32, 10, 0, r))
                    .collect(),
            }],
        }
    }

    #[test]
    fn v11_empty_partition_hand_computed() {
        let parts = encode_fetch_response(7, 11, &response(vec![vec![]])).unwrap();
        let expected = [
            0, 0, 0, 67, 0, 0, 0, 7, // size, correlation id
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // throttle, error, session id
            0, 0, 0, 1, 0, 1, b't', // responses: 1, "t"
            0, 0, 0, 1, 0, 0, 0, 0, 0, 0, // partitions: 1, index 0, error 0
            0, 0, 0, 0, 0, 0, 0, 10, // high watermark
            0, 0, 0, 0, 0, 0, 0, 10, // last stable offset
            0, 0, 0, 0, 0, 0, 0, 0, // log start offset
            0xff, 0xff, 0xff, 0xff, // aborted transactions: null
            0xff, 0xff, 0xff, 0xff, // preferred read replica -1
            0, 0, 0, 0, // records: length 0, not null
        ];
        assert_eq!(parts, vec![Part::Bytes(expected.to_vec())]);
    }

    #[test]
    fn v4_layout_has_no_log_start_offset_or_session() {
        let parts = encode_fetch_response(7, 4, &response(vec![vec![region(0, 0, 3)]])).unwrap();
        let expected_head = [
            0, 0, 0, 52, 0, 0, 0, 7, // size (49 field bytes + 3 record bytes), correlation id
            0, 0, 0, 0, // throttle
            0, 0, 0, 1, 0, 1, b't', // responses
            0, 0, 0, 1, 0, 0, 0, 0, 0, 0, // partitions, index, error
            0, 0, 0, 0, 0, 0, 0, 10, // high watermark
            0, 0, 0, 0, 0, 0, 0, 10, // last stable offset
            0xff, 0xff, 0xff, 0xff, // aborted transactions: null
            0, 0, 0, 3, // records length
        ];
        assert_eq!(
            parts,
            vec![
                Part::Bytes(expected_head.to_vec()),
                Part::File(region(0, 0, 3))
            ]
        );
    }

    #[test]
    fn frame_size_is_the_sum_of_parts_minus_four() {
        let regions = vec![
            vec![region(0, 100, 50), region(1, 0, 70)],
            vec![],
            vec![region(2, 5, 1)],
        ];
        for version in 4..=11 {
            let parts = encode_fetch_response(1, version, &response(regions.clone())).unwrap();
            let total: u64 = parts.iter().map(Part::len).sum();
            let Part::Bytes(first) = &parts[0] else {
                panic!("first part must be bytes")
            };
            let size = i32::from_be_bytes(first[..4].try_into().unwrap());
            assert_eq!(size as u64, total - 4, "v{version}");
            assert_eq!(flatten(&parts).len() as u64, total);
        }
    }

    #[test]
    fn records_lengths_equal_region_lengths_and_bytes_parts_are_merged() {
        let parts = encode_fetch_response(
            1,
            11,
            &response(vec![
                vec![region(0, 0, 10), region(1, 0, 20)],
                vec![],
                vec![region(2, 0, 5)],
            ]),
        )
        .unwrap();
        // bytes, file, file, bytes (partition 1 without records merged with partition 2's
        // fields), file.
        let kinds: Vec<bool> = parts.iter().map(|p| matches!(p, Part::Bytes(_))).collect();
        assert_eq!(kinds, [true, false, false, true, false]);
        let len_before = |i: usize| match &parts[i - 1] {
            Part::Bytes(b) => i32::from_be_bytes(b[b.len() - 4..].try_into().unwrap()),
            Part::File(_) => panic!("expected bytes before region {i}"),
        };
        assert_eq!(len_before(1), 30);
        assert_eq!(len_before(4), 5);
        // The partition without records has length 0 followed by the next partition's index.
        let Part::Bytes(middle) = &parts[3] else {
            panic!()
        };
        assert_eq!(&middle[middle.len() - 4..], [0, 0, 0, 5]);
    }

    #[test]
    fn adjacent_regions_merge_and_empty_regions_vanish() {
        let parts = encode_fetch_response(
            1,
            11,
            &response(vec![vec![
                region(0, 0, 10),
                region(0, 10, 5),
                region(0, 99, 0),
                region(0, 20, 1),
            ]]),
        )
        .unwrap();
        assert_eq!(
            parts[1..],
            [Part::File(region(0, 0, 15)), Part::File(region(0, 20, 1))]
        );
    }

    #[test]
    fn oversized_records_are_refused() {
        let big = vec![region(0, 0, i32::MAX as u64), region(1, 0, 1)];
        let e = encode_fetch_response(1, 11, &response(vec![big])).unwrap_err();
        assert_eq!(e.partition_index, Some(0));
        let two = vec![
            vec![region(0, 0, 0x7000_0000)],
            vec![region(1, 0, 0x7000_0000)],
        ];
        let e = encode_fetch_response(1, 11, &response(two)).unwrap_err();
        assert_eq!(e.what, "frame");
        let overflow = vec![region(0, 0, u64::MAX), region(1, 0, 2)];
        assert!(encode_fetch_response(1, 11, &response(vec![overflow])).is_err());
    }

    #[test]
    fn error_partition_has_empty_not_null_records() {
        let mut resp = response(vec![]);
        resp.responses[0]
            .partitions
            .push(FetchPartitionResponse::error(
                3,
                ErrorCode::OffsetOutOfRange,
                -1,
                -1,
            ));
        let parts = encode_fetch_response(1, 11, &resp).unwrap();
        let Part::Bytes(b) = &parts[0] else { panic!() };
        assert_eq!(parts.len(), 1);
        assert_eq!(&b[b.len() - 4..], [0, 0, 0, 0]);
    }
}
