//! The client's half of the codec: every response the broker encodes decodes back to the
//! same value at every supported version, and no prefix of a response (a broker that hung
//! up mid-frame) can make a decoder panic.

use super::list_offsets::LATEST_TIMESTAMP;
use super::metadata::AUTHORIZED_OPERATIONS_OMITTED;
use super::*;

fn versions(api: ApiKey) -> std::ops::RangeInclusive<i16> {
    let range = api.versions();
    range.min..=range.max
}

/// Encodes with the broker's encoder, decodes with the client's decoder.
fn round_trip<T>(version: i16, response: Response) -> T
where
    T: for<'a> DecodeResponse<'a>,
{
    let frame = encode_response(77, version, &response);
    let (correlation_id, decoded) = decode_response::<T>(&frame[4..], version)
        .unwrap_or_else(|e| panic!("{} v{version}: {e}", T::API_KEY));
    assert_eq!(correlation_id, 77);
    decoded
}

/// Every strict prefix of `frame` is refused with an error, and one extra byte too.
fn assert_prefixes_fail<T>(frame: &[u8], version: i16)
where
    T: for<'a> DecodeResponse<'a>,
{
    assert_prefixes_fail_with(frame, |f| decode_response::<T>(f, version).map(|_| ()));
}

fn assert_prefixes_fail_with(frame: &[u8], decode: impl Fn(&[u8]) -> Result<(), FieldError>) {
    for cut in 0..frame.len() {
        assert!(
            decode(&frame[..cut]).is_err(),
            "a {cut}-byte prefix decoded"
        );
    }
    let mut longer = frame.to_vec();
    longer.push(0);
    let e = decode(&longer).unwrap_err();
    assert!(
        matches!(e.kind, FieldErrorKind::TrailingBytes { count: 1 }),
        "{e}"
    );
}

#[test]
fn api_versions_round_trip_at_every_version() {
    for v in versions(ApiKey::ApiVersions) {
        let mut sent = ApiVersionsResponse::supported();
        sent.throttle_time_ms = if v >= 1 { 12 } else { 0 };
        let back: ApiVersionsResponse = round_trip(v, Response::ApiVersions(sent.clone()));
        assert_eq!(back, sent, "v{v}");
        assert_prefixes_fail::<ApiVersionsResponse>(
            &encode_response(1, v, &Response::ApiVersions(sent))[4..],
            v,
        );
    }
}

/// The UNSUPPORTED_VERSION answer is a v0 body whatever was asked, including versions
/// newer than ours (a client from the future asking us).
#[test]
fn api_versions_error_reply_decodes_as_v0_at_any_version() {
    let frame = unsupported_api_versions_response(9);
    for v in 0..=5 {
        let (id, back) = decode_response::<ApiVersionsResponse>(&frame[4..], v).unwrap();
        assert_eq!(id, 9);
        assert_eq!(back.error_code, ErrorCode::UnsupportedVersion);
        let own = ApiKey::ApiVersions.versions();
        assert_eq!(
            back.api_keys,
            [ApiVersion {
                api_key: 18,
                min_version: own.min,
                max_version: own.max
            }]
        );
    }
}

fn metadata_sample(v: i16) -> MetadataResponse {
    MetadataResponse {
        throttle_time_ms: if v >= 3 { 5 } else { 0 },
        brokers: vec![
            MetadataBroker {
                node_id: 1,
                host: "127.0.0.1".into(),
                port: 9092,
                rack: (v >= 1).then(|| "r1".to_owned()),
            },
            MetadataBroker {
                node_id: 2,
                host: "b2".into(),
                port: 9093,
                rack: None,
            },
        ],
        cluster_id: (v >= 2).then(|| "zc".to_owned()),
        controller_id: if v >= 1 { 1 } else { -1 },
        topics: vec![
            MetadataTopic {
                error_code: ErrorCode::None,
                name: "demo".into(),
                is_internal: v >= 1,
                partitions: vec![MetadataPartition {
                    error_code: ErrorCode::None,
                    partition_index: 3,
                    leader_id: 2,
                    leader_epoch: if v >= 7 { 4 } else { -1 },
                    replica_nodes: vec![2, 1],
                    isr_nodes: vec![2],
                    offline_replicas: if v >= 5 { vec![1] } else { vec![] },
                }],
                topic_authorized_operations: if v >= 8 {
                    0x0f
                } else {
                    AUTHORIZED_OPERATIONS_OMITTED
                },
            },
            MetadataTopic {
                error_code: ErrorCode::UnknownTopicOrPartition,
                name: "missing".into(),
                is_internal: false,
                partitions: vec![],
                topic_authorized_operations: AUTHORIZED_OPERATIONS_OMITTED,
            },
        ],
        cluster_authorized_operations: if v >= 8 {
            7
        } else {
            AUTHORIZED_OPERATIONS_OMITTED
        },
    }
}

#[test]
fn metadata_round_trips_at_every_version() {
    for v in versions(ApiKey::Metadata) {
        let sent = metadata_sample(v);
        let back: MetadataResponse = round_trip(v, Response::Metadata(sent.clone()));
        assert_eq!(back, sent, "v{v}");
        assert_prefixes_fail::<MetadataResponse>(
            &encode_response(1, v, &Response::Metadata(sent))[4..],
            v,
        );
    }
}

fn list_offsets_sample(v: i16) -> ListOffsetsResponse {
    let mut found = ListOffsetsPartitionResponse::found(0, -1, 42, if v >= 4 { 3 } else { -1 });
    if v == 0 {
        found.timestamp = -1;
    } else {
        found.old_style_offsets.clear();
    }
    let mut failed = ListOffsetsPartitionResponse::error(1, ErrorCode::UnknownTopicOrPartition);
    failed.timestamp = -1;
    ListOffsetsResponse {
        throttle_time_ms: if v >= 2 { 8 } else { 0 },
        topics: vec![ListOffsetsTopicResponse {
            name: "demo".into(),
            partitions: vec![found, failed],
        }],
    }
}

#[test]
fn list_offsets_round_trip_at_every_version() {
    for v in versions(ApiKey::ListOffsets) {
        let sent = list_offsets_sample(v);
        let back: ListOffsetsResponse = round_trip(v, Response::ListOffsets(sent.clone()));
        assert_eq!(back, sent, "v{v}");
        assert_eq!(back.topics[0].partitions[0].offset, 42, "v{v}");
        assert_prefixes_fail::<ListOffsetsResponse>(
            &encode_response(1, v, &Response::ListOffsets(sent))[4..],
            v,
        );
    }
}

/// librdkafka reads the *last* old-style offset of a v0 answer; so does our decoder.
#[test]
fn list_offsets_v0_offset_is_the_last_old_style_offset() {
    let mut p = ListOffsetsPartitionResponse::found(0, LATEST_TIMESTAMP, 0, -1);
    p.old_style_offsets = vec![100, 7];
    let sent = ListOffsetsResponse {
        throttle_time_ms: 0,
        topics: vec![ListOffsetsTopicResponse {
            name: "t".into(),
            partitions: vec![p],
        }],
    };
    let back: ListOffsetsResponse = round_trip(0, Response::ListOffsets(sent));
    assert_eq!(back.topics[0].partitions[0].offset, 7);
}

fn produce_sample(v: i16) -> ProduceResponse {
    let mut ok = ProducePartitionResponse::appended(0, 1234, if v >= 5 { 10 } else { -1 });
    if v >= 2 {
        ok.log_append_time_ms = 1_700_000_000_000;
    }
    let mut bad = ProducePartitionResponse::error(
        1,
        ErrorCode::CorruptMessage,
        (v >= 8).then(|| "CRC mismatch".to_owned()),
    );
    if v >= 8 {
        bad.record_errors = vec![BatchIndexAndErrorMessage {
            batch_index: 0,
            batch_index_error_message: Some("bad".into()),
        }];
    }
    ProduceResponse {
        responses: vec![ProduceTopicResponse {
            name: "demo".into(),
            partition_responses: vec![ok, bad],
        }],
        throttle_time_ms: 3,
    }
}

#[test]
fn produce_round_trips_at_every_version() {
    for v in versions(ApiKey::Produce) {
        let sent = produce_sample(v);
        let back: ProduceResponse = round_trip(v, Response::Produce(sent.clone()));
        assert_eq!(back, sent, "v{v}");
        assert_prefixes_fail::<ProduceResponse>(
            &encode_response(1, v, &Response::Produce(sent))[4..],
            v,
        );
    }
}

#[test]
fn init_producer_id_round_trips_at_every_version() {
    for v in versions(ApiKey::InitProducerId) {
        let sent = InitProducerIdResponse {
            throttle_time_ms: 1,
            error_code: ErrorCode::None,
            producer_id: 4000,
            producer_epoch: 2,
        };
        let back: InitProducerIdResponse = round_trip(v, Response::InitProducerId(sent.clone()));
        assert_eq!(back, sent, "v{v}");
    }
}

/// Two fake segment files; regions of a Fetch response point into them.
fn segments() -> [Vec<u8>; 2] {
    [
        (0..200u8).collect(),
        (0..100u8).map(|b| b.wrapping_mul(7)).collect(),
    ]
}

/// What the client receives for a response built from parts: the regions replaced by the
/// bytes of the segment files, as sendfile would put them on the wire.
fn on_the_wire(parts: &[Part], segments: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for part in parts {
        match part {
            Part::Bytes(b) => out.extend_from_slice(b),
            Part::File(r) => {
                let start = r.position as usize;
                out.extend_from_slice(&segments[r.segment][start..start + r.len as usize]);
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

#[test]
fn fetch_round_trips_at_every_version_with_records_as_bytes() {
    let segs = segments();
    for v in versions(ApiKey::Fetch) {
        let mut with_data = FetchPartitionResponse::with_records(
            0,
            50,
            2,
            vec![region(0, 10, 90), region(1, 0, 5)],
        );
        with_data.aborted_transactions = Some(vec![AbortedTransaction {
            producer_id: 9,
            first_offset: 3,
        }]);
        let sent = FetchResponse {
            throttle_time_ms: 4,
            error_code: ErrorCode::None,
            session_id: if v >= 7 { 11 } else { 0 },
            responses: vec![FetchTopicResponse {
                topic: "demo".into(),
                partitions: vec![
                    with_data,
                    FetchPartitionResponse::with_records(1, 0, 0, vec![]),
                    FetchPartitionResponse::error(2, ErrorCode::OffsetOutOfRange, 50, 2),
                ],
            }],
        };
        let wire = on_the_wire(&encode_fetch_response(5, v, &sent).unwrap(), &segs);
        let (id, back) = decode_response::<FetchedResponse<'_>>(&wire[4..], v)
            .unwrap_or_else(|e| panic!("v{v}: {e}"));
        assert_eq!(id, 5);
        assert_eq!(back.throttle_time_ms, 4);
        assert_eq!(back.session_id, sent.session_id);
        assert_eq!(back.responses.len(), 1);
        assert_eq!(back.responses[0].topic, "demo");
        for (got, want) in back.responses[0]
            .partitions
            .iter()
            .zip(&sent.responses[0].partitions)
        {
            let records: Vec<u8> = want
                .records
                .iter()
                .flat_map(|r| {
                    let start = r.position as usize;
                    segs[r.segment][start..start + r.len as usize].to_vec()
                })
                .collect();
            let expected = FetchedPartition {
                partition_index: want.partition_index,
                error_code: want.error_code,
                high_watermark: want.high_watermark,
                last_stable_offset: want.last_stable_offset,
                log_start_offset: if v >= 5 { want.log_start_offset } else { -1 },
                aborted_transactions: want.aborted_transactions.clone(),
                preferred_read_replica: want.preferred_read_replica,
                records: Some(&records),
            };
            assert_eq!(got, &expected, "v{v}");
        }
        assert_eq!(back.responses[0].partitions.len(), 3);
        assert_prefixes_fail_with(&wire[4..], |f| {
            decode_response::<FetchedResponse<'_>>(f, v).map(|_| ())
        });
    }
}

#[test]
fn unknown_error_codes_read_as_unknown_server_error() {
    // InitProducerId body with error code 19 (NOT_ENOUGH_REPLICAS, not in our table).
    let frame = [
        0, 0, 0, 1, // correlation id
        0, 0, 0, 0, // throttle
        0, 19, // error code
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // producer id -1
        0xff, 0xff, // epoch -1
    ];
    let (_, r) = decode_response::<InitProducerIdResponse>(&frame, 0).unwrap();
    assert_eq!(r.error_code, ErrorCode::UnknownServerError);
}

#[test]
fn absurd_counts_in_responses_fail_before_allocating() {
    // Metadata v0: correlation id, then a broker count of 2^31-1 in a 10-byte frame.
    let frame = [0, 0, 0, 1, 0x7f, 0xff, 0xff, 0xff, 0, 0];
    let e = decode_response::<MetadataResponse>(&frame, 0)
        .map(|_| ())
        .unwrap_err();
    assert!(
        matches!(e.kind, FieldErrorKind::LengthExceedsInput { .. }),
        "{e}"
    );
    assert_eq!(e.field, "metadata.brokers");
}
