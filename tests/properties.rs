//! Property tests (proptest) of the decoders the fuzz targets in `fuzz/` also hammer: the
//! request codec, RecordBatch v2 and a partition log's recovery. The fuzzers search for a
//! crash for minutes with coverage guidance; these run in every `cargo test` with a modest
//! number of random cases each, and state the properties in plain Rust:
//!
//! - requests: decode(encode(x)) == x at the highest version of each API; the decoder never
//!   panics on arbitrary bytes or on a valid frame with a byte flipped, cut or inserted;
//! - batches: what `BatchBuilder` writes validates and decodes back to the same records;
//!   `validate` rejects every single flipped bit outside the two fields the CRC leaves out
//!   on purpose (baseOffset, partitionLeaderEpoch);
//! - logs: cutting the active segment at any byte and reopening keeps exactly the whole
//!   batches before the cut, and the log verifies.
//!
//! Regression tests for crashes the fuzzers found live at the end, named after what broke.

use proptest::collection::vec;
use proptest::prelude::*;

use zc::kafka::{
    FetchPartition, FetchRequest, FetchTopic, ForgottenTopic, InitProducerIdRequest,
    MetadataRequest, ProducePartition, ProduceRequest, ProduceTopic, RequestBody, SUPPORTED_APIS,
    decode_request, encode_request,
};
use zc::log::batch::{self, BatchBuilder};
use zc::log::check::check_log;
use zc::log::partition::{LogConfig, PartitionLog, validate_batches};

/// Few cases per property: CI time is shared, and the fuzzers do the long searches.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

fn name() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9._-]{1,20}"
}

fn fetch_body() -> impl Strategy<Value = RequestBody<'static>> {
    let partition = (
        any::<i32>(),
        any::<i32>(),
        any::<i64>(),
        any::<i64>(),
        any::<i32>(),
    )
        .prop_map(|(p, epoch, offset, start, max)| FetchPartition {
            partition: p,
            current_leader_epoch: epoch,
            fetch_offset: offset,
            log_start_offset: start,
            partition_max_bytes: max,
        });
    let topic = (name(), vec(partition, 0..3))
        .prop_map(|(topic, partitions)| FetchTopic { topic, partitions });
    let forgotten = (name(), vec(any::<i32>(), 0..3))
        .prop_map(|(topic, partitions)| ForgottenTopic { topic, partitions });
    (
        (any::<i32>(), any::<i32>(), any::<i32>(), any::<i32>()),
        (0i8..=1, any::<i32>(), any::<i32>()),
        vec(topic, 0..3),
        vec(forgotten, 0..2),
        "[a-z]{0,8}",
    )
        .prop_map(
            |(
                (replica_id, max_wait_ms, min_bytes, max_bytes),
                (iso, sid, sep),
                topics,
                f,
                rack,
            )| {
                RequestBody::Fetch(FetchRequest {
                    replica_id,
                    max_wait_ms,
                    min_bytes,
                    max_bytes,
                    isolation_level: iso,
                    session_id: sid,
                    session_epoch: sep,
                    topics,
                    forgotten_topics_data: f,
                    rack_id: rack,
                })
            },
        )
}

fn metadata_body() -> impl Strategy<Value = RequestBody<'static>> {
    (
        proptest::option::of(vec(name(), 0..4)),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(topics, auto, cluster, topic_ops)| {
            RequestBody::Metadata(MetadataRequest {
                topics,
                allow_auto_topic_creation: auto,
                include_cluster_authorized_operations: cluster,
                include_topic_authorized_operations: topic_ops,
            })
        })
}

fn init_producer_id_body() -> impl Strategy<Value = RequestBody<'static>> {
    (proptest::option::of(name()), any::<i32>()).prop_map(|(id, timeout)| {
        RequestBody::InitProducerId(InitProducerIdRequest {
            transactional_id: id,
            transaction_timeout_ms: timeout,
        })
    })
}

/// Records for a batch: (timestamp, key, value, headers).
type Rec = (
    i64,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    Vec<(Vec<u8>, Option<Vec<u8>>)>,
);

fn records() -> impl Strategy<Value = Vec<Rec>> {
    let bytes = || vec(any::<u8>(), 0..40);
    let header = (bytes(), proptest::option::of(bytes()));
    vec(
        (
            1_600_000_000_000i64..1_800_000_000_000,
            proptest::option::of(bytes()),
            proptest::option::of(bytes()),
            vec(header, 0..3),
        ),
        1..8,
    )
}

fn build(out: &mut Vec<u8>, recs: &[Rec]) -> usize {
    let mut b = BatchBuilder::new(out, 0);
    for (ts, k, v, h) in recs {
        let headers: Vec<_> = h.iter().map(|(k, v)| (&k[..], v.as_deref())).collect();
        b.append(*ts, k.as_deref(), v.as_deref(), &headers);
    }
    b.finish()
}

fn encoded(body: &RequestBody<'_>, version: i16) -> Vec<u8> {
    encode_request(99, Some("zc-proptest"), version, body)[4..].to_vec()
}

/// One valid frame of every API at its lowest and highest version, built from `batch`.
fn sample_frames(batch: &[u8]) -> Vec<Vec<u8>> {
    let produce = RequestBody::Produce(ProduceRequest {
        transactional_id: None,
        acks: -1,
        timeout_ms: 1000,
        topic_data: vec![ProduceTopic {
            name: "t".into(),
            partition_data: vec![ProducePartition {
                index: 0,
                records: Some(batch),
            }],
        }],
    });
    let metadata = RequestBody::Metadata(MetadataRequest {
        topics: Some(vec!["t".into()]),
        allow_auto_topic_creation: true,
        include_cluster_authorized_operations: false,
        include_topic_authorized_operations: false,
    });
    let mut frames = Vec::new();
    for (key, range) in SUPPORTED_APIS {
        for body in [&produce, &metadata] {
            if body.api_key() == key {
                frames.push(encoded(body, range.min));
                frames.push(encoded(body, range.max));
            }
        }
    }
    frames
}

proptest! {
    #![proptest_config(config(96))]

    #[test]
    fn requests_at_the_highest_version_roundtrip(
        body in prop_oneof![fetch_body(), metadata_body(), init_producer_id_body()]
    ) {
        let version = body.api_key().versions().max;
        let frame = encoded(&body, version);
        let request = decode_request(&frame).unwrap();
        prop_assert_eq!(request.body, body);
        prop_assert_eq!(request.header.correlation_id, 99);
    }

    #[test]
    fn requests_at_any_supported_version_decode_to_a_fixed_point(
        body in prop_oneof![fetch_body(), metadata_body(), init_producer_id_body()],
        pick in any::<prop::sample::Index>(),
    ) {
        // Fields a version lacks come back as their defaults; once they have, another
        // roundtrip changes nothing.
        let range = body.api_key().versions();
        let version = range.min + pick.index((range.max - range.min + 1) as usize) as i16;
        let first = encoded(&body, version);
        let once = decode_request(&first).unwrap().body;
        let second = encoded(&once, version);
        let twice = decode_request(&second).unwrap().body;
        prop_assert_eq!(once, twice);
    }

    #[test]
    fn the_request_decoder_never_panics_on_arbitrary_bytes(frame in vec(any::<u8>(), 0..256)) {
        if let Err(e) = decode_request(&frame) {
            let _ = e.to_string();
            let _ = e.reply();
        }
    }

    #[test]
    fn the_request_decoder_never_panics_on_a_mutated_valid_frame(
        which in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        how in 0..3u8,
    ) {
        let mut out = Vec::new();
        build(&mut out, &[(1_700_000_000_000, None, Some(b"v".to_vec()), vec![])]);
        let frames = sample_frames(&out);
        let mut frame = frames[which.index(frames.len())].clone();
        let i = at.index(frame.len());
        match how {
            0 => frame[i] ^= byte | 1,
            1 => frame.truncate(i),
            _ => frame.insert(i, byte),
        }
        let _ = decode_request(&frame);
    }

    #[test]
    fn built_batches_validate_and_decode_to_the_same_records(recs in records()) {
        let mut out = Vec::new();
        let size = build(&mut out, &recs);
        prop_assert_eq!(size, out.len());
        let header = batch::validate(&out).unwrap();
        prop_assert_eq!(header.records_count as usize, recs.len());
        prop_assert_eq!(header.max_timestamp, recs.iter().map(|r| r.0).max().unwrap());
        let decoded: Vec<_> = batch::records(&out).map(Result::unwrap).collect();
        prop_assert_eq!(decoded.len(), recs.len());
        for (i, (r, (ts, k, v, h))) in decoded.iter().zip(&recs).enumerate() {
            prop_assert_eq!(r.offset_delta as usize, i);
            prop_assert_eq!(header.base_timestamp + r.timestamp_delta, *ts);
            prop_assert_eq!(r.key, k.as_deref());
            prop_assert_eq!(r.value, v.as_deref());
            let headers: Vec<_> = h.iter().map(|(k, v)| (&k[..], v.as_deref())).collect();
            prop_assert_eq!(&r.headers, &headers);
        }
        prop_assert!(validate_batches(&out).is_ok());
    }

    #[test]
    fn validate_rejects_any_single_flipped_bit_the_crc_or_framing_covers(
        recs in records(),
        at in any::<prop::sample::Index>(),
        bit in 0..8u8,
    ) {
        let mut out = Vec::new();
        build(&mut out, &recs);
        // Not covered, on purpose: baseOffset [0, 8) and partitionLeaderEpoch [12, 16),
        // which the broker stamps after the producer computed the CRC.
        let covered: Vec<usize> = (8..12).chain(16..out.len()).collect();
        let i = covered[at.index(covered.len())];
        out[i] ^= 1 << bit;
        prop_assert!(batch::validate(&out).is_err(), "flipped bit {} of byte {}", bit, i);
        prop_assert!(validate_batches(&out).is_err());
    }

    #[test]
    fn batch_decoding_never_panics_on_arbitrary_bytes(bytes in vec(any::<u8>(), 0..200)) {
        let _ = batch::validate(&bytes);
        let _ = validate_batches(&bytes);
        for r in batch::records(&bytes).take(1000) {
            let _ = r;
        }
    }
}

proptest! {
    // Each case writes a small log to a temp dir: fewer cases.
    #![proptest_config(config(24))]

    #[test]
    fn a_torn_active_segment_keeps_exactly_the_whole_batches_before_the_cut(
        batches in vec(records(), 1..6),
        at in any::<prop::sample::Index>(),
    ) {
        let root = tempfile::tempdir().unwrap();
        let part = root.path().join("torn-0");
        let config = LogConfig { segment_bytes: 1 << 20, ..LogConfig::default() };
        let mut log = PartitionLog::create(&part, config).unwrap();
        // (end position in the file, log end offset after) of every batch.
        let mut ends = Vec::new();
        for recs in &batches {
            let mut out = Vec::new();
            build(&mut out, recs);
            let info = log.append_batches(&mut out).unwrap();
            ends.push((info.position + info.bytes, info.last_offset + 1));
        }
        drop(log); // no clean-shutdown marker: the next open recovers
        let file = part.join("00000000000000000000.log");
        let len = std::fs::metadata(&file).unwrap().len();
        let cut = at.index(len as usize + 1) as u64;
        std::fs::OpenOptions::new().write(true).open(&file).unwrap().set_len(cut).unwrap();

        let (log, _) = PartitionLog::open(&part, config).unwrap();
        let expected = ends.iter().rev().find(|(end, _)| *end <= cut).map_or(0, |e| e.1);
        prop_assert_eq!(log.log_end_offset(), expected, "cut at byte {} of {}", cut, len);
        log.close().unwrap();
        let report = check_log(root.path(), false).unwrap();
        prop_assert!(report.problems.is_empty(), "{:?}", report.problems);
        prop_assert_eq!(report.records() as i64, expected);
    }
}

// ---------------------------------------------------------------------------------------
// Regression tests for what the fuzzers found.
// ---------------------------------------------------------------------------------------

/// Writes `batches` (already stamped with their offsets) as segment 0 of a fresh
/// partition directory with no index files and no clean-shutdown marker, opens it, and
/// returns the log end offset recovery settled on and what `zc fixture verify` then says.
fn recover_raw_segment(batches: &[u8]) -> (i64, Vec<String>) {
    let root = tempfile::tempdir().unwrap();
    let part = root.path().join("raw-0");
    std::fs::create_dir(&part).unwrap();
    std::fs::write(part.join("00000000000000000000.log"), batches).unwrap();
    let (log, _) = PartitionLog::open(&part, LogConfig::default()).unwrap();
    let end = log.log_end_offset();
    log.close().unwrap();
    let report = check_log(root.path(), false).unwrap();
    (end, report.problems.iter().map(|p| p.to_string()).collect())
}

fn batch_at(base_offset: i64, values: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut b = BatchBuilder::new(&mut out, base_offset);
    for i in 0..values {
        b.append(
            1_700_000_000_000,
            None,
            Some(format!("v{i}").as_bytes()),
            &[],
        );
    }
    b.finish();
    out
}

/// Found by fuzz target segment_reader: segment 0 whose only batch said baseOffset
/// 1056964608 (valid CRC: the CRC does not cover baseOffset) was accepted by recovery as
/// is, and the "recovered" log then failed `zc fixture verify` ("segment name says base
/// offset 0, but its first batch starts at offset 1056964608").
#[test]
fn recovery_drops_a_first_batch_that_does_not_start_at_the_segment_base_offset() {
    let (end, problems) = recover_raw_segment(&batch_at(1_056_964_608, 2));
    assert_eq!(end, 0);
    assert!(problems.is_empty(), "{problems:?}");
}

/// The same rule inside a segment: a batch after a gap in the offsets (a corrupted
/// baseOffset) ends the valid part, and what is kept verifies.
#[test]
fn recovery_truncates_at_a_gap_in_the_offsets() {
    let mut bytes = batch_at(0, 3);
    bytes.extend(batch_at(3, 2));
    bytes.extend(batch_at(9, 2)); // offsets 5..=8 missing
    bytes.extend(batch_at(11, 1));
    let (end, problems) = recover_raw_segment(&bytes);
    assert_eq!(end, 5);
    assert!(problems.is_empty(), "{problems:?}");
}
