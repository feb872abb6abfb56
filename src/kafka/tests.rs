//! Codec-wide tests: every API at every supported version survives encode → decode, every
//! prefix of a valid request is an error (never a panic), absurd lengths are refused
//! without allocating, and the four outcomes of a bad request stay distinct.

use super::*;

/// docs/kafka-protocol.md §9: one record, key `k`, value `v`.
const BATCH: [u8; 70] = [
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x3a, 0x00, 0x00, 0x00, 0x00,
    0x02, 0xe9, 0x9b, 0x8d, 0xd8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x8b, 0xcf,
    0xe5, 0x68, 0x00, 0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01, 0x10, 0x00, 0x00,
    0x00, 0x02, 0x6b, 0x02, 0x76, 0x00,
];

/// A request body with every field set to a non-default value where the version has the
/// field, and to the schema default where it does not (what decoding must produce).
pub(crate) fn sample(api: ApiKey, v: i16) -> RequestBody<'static> {
    match api {
        ApiKey::Produce => RequestBody::Produce(ProduceRequest {
            transactional_id: (v >= 3).then(|| "tx".to_owned()),
            acks: -1,
            timeout_ms: 30_000,
            topic_data: vec![
                ProduceTopic {
                    name: "demo".into(),
                    partition_data: vec![
                        ProducePartition {
                            index: 0,
                            records: Some(&BATCH),
                        },
                        ProducePartition {
                            index: 1,
                            records: None,
                        },
                    ],
                },
                ProduceTopic {
                    name: "empty".into(),
                    partition_data: vec![],
                },
            ],
        }),
        ApiKey::Fetch => RequestBody::Fetch(FetchRequest {
            replica_id: -1,
            max_wait_ms: 500,
            min_bytes: 1,
            max_bytes: 52_428_800,
            isolation_level: 1,
            session_id: if v >= 7 { 5 } else { 0 },
            session_epoch: if v >= 7 { 2 } else { -1 },
            topics: vec![FetchTopic {
                topic: "demo".into(),
                partitions: vec![
                    FetchPartition {
                        partition: 0,
                        current_leader_epoch: if v >= 9 { 3 } else { -1 },
                        fetch_offset: 42,
                        log_start_offset: if v >= 5 { 7 } else { -1 },
                        partition_max_bytes: 1 << 20,
                    },
                    FetchPartition {
                        partition: 1,
                        current_leader_epoch: -1,
                        fetch_offset: 0,
                        log_start_offset: -1,
                        partition_max_bytes: 1,
                    },
                ],
            }],
            forgotten_topics_data: if v >= 7 {
                vec![ForgottenTopic {
                    topic: "old".into(),
                    partitions: vec![1, 2],
                }]
            } else {
                vec![]
            },
            rack_id: if v >= 11 { "r1".into() } else { String::new() },
        }),
        ApiKey::ListOffsets => RequestBody::ListOffsets(ListOffsetsRequest {
            replica_id: -1,
            isolation_level: if v >= 2 { 1 } else { 0 },
            topics: vec![ListOffsetsTopic {
                name: "demo".into(),
                partitions: vec![ListOffsetsPartition {
                    partition_index: 0,
                    current_leader_epoch: if v >= 4 { 0 } else { -1 },
                    timestamp: -2,
                    max_num_offsets: if v == 0 { 3 } else { 1 },
                }],
            }],
        }),
        ApiKey::Metadata => RequestBody::Metadata(MetadataRequest {
            topics: Some(vec!["demo".into(), "other".into()]),
            allow_auto_topic_creation: v < 4,
            include_cluster_authorized_operations: v >= 8,
            include_topic_authorized_operations: v >= 8,
        }),
        ApiKey::ApiVersions => RequestBody::ApiVersions(if v >= 3 {
            ApiVersionsRequest {
                client_software_name: "zc".into(),
                client_software_version: "0.1.0".into(),
                tagged_fields: vec![TaggedField { tag: 9, data: b"x" }],
            }
        } else {
            ApiVersionsRequest::default()
        }),
        ApiKey::InitProducerId => RequestBody::InitProducerId(InitProducerIdRequest {
            transactional_id: None,
            transaction_timeout_ms: 60_000,
        }),
        _ if super::admin_tests::APIS.contains(&api) => super::admin_tests::sample(api, v),
        _ => super::group_tests::sample(api, v),
    }
}

/// Every (api, version) we support, with a valid frame for it.
fn all_frames() -> Vec<(ApiKey, i16, Vec<u8>)> {
    let mut out = Vec::new();
    for (api, range) in SUPPORTED_APIS {
        for v in range.min..=range.max {
            out.push((
                api,
                v,
                encode_request(17, Some("zc-test"), v, &sample(api, v)),
            ));
        }
    }
    out
}

#[test]
fn every_api_and_version_round_trips() {
    for (api, v, frame) in all_frames() {
        let size = i32::from_be_bytes(frame[..4].try_into().unwrap());
        assert_eq!(size as usize, frame.len() - 4, "{api} v{v}: size prefix");
        let req = decode_request(&frame[4..]).unwrap_or_else(|e| panic!("{api} v{v}: {e}"));
        assert_eq!(req.header.api_key, api);
        assert_eq!(req.header.api_version, v);
        assert_eq!(req.header.correlation_id, 17);
        assert_eq!(req.header.client_id.as_deref(), Some("zc-test"));
        assert_eq!(req.body, sample(api, v), "{api} v{v}");
    }
}

#[test]
fn produce_records_are_borrowed_from_the_frame() {
    let frame = encode_request(1, None, 8, &sample(ApiKey::Produce, 8));
    let req = decode_request(&frame[4..]).unwrap();
    let RequestBody::Produce(p) = req.body else {
        panic!()
    };
    let records = p.topic_data[0].partition_data[0].records.unwrap();
    assert_eq!(records, BATCH);
    let frame_range = frame.as_ptr_range();
    assert!(
        frame_range.contains(&records.as_ptr()),
        "records must not be copied"
    );
    assert!(crate::log::batch::validate(records).is_ok());
}

#[test]
fn every_truncation_of_every_request_is_an_error() {
    for (api, v, frame) in all_frames() {
        let payload = &frame[4..];
        for n in 0..payload.len() {
            match decode_request(&payload[..n]) {
                Err(DecodeError::Malformed { ids, error }) => {
                    assert_eq!(ids.is_some(), n >= 8, "{api} v{v} cut at {n}");
                    assert!(error.position <= n, "{api} v{v} cut at {n}: {error}");
                }
                other => panic!("{api} v{v} cut at {n}: {other:?}"),
            }
        }
    }
}

#[test]
fn trailing_bytes_are_malformed() {
    for (api, v, mut frame) in all_frames() {
        frame.push(0);
        match decode_request(&frame[4..]) {
            Err(DecodeError::Malformed { error, .. }) => assert_eq!(
                error.kind,
                FieldErrorKind::TrailingBytes { count: 1 },
                "{api} v{v}"
            ),
            other => panic!("{api} v{v}: {other:?}"),
        }
    }
}

/// A v1 request header with an empty client id.
fn header(api_key: i16, version: i16) -> Vec<u8> {
    let mut h = Vec::new();
    h.extend_from_slice(&api_key.to_be_bytes());
    h.extend_from_slice(&version.to_be_bytes());
    h.extend_from_slice(&99i32.to_be_bytes());
    h.extend_from_slice(&[0, 0]);
    h
}

fn malformed(frame: &[u8]) -> FieldError {
    match decode_request(frame) {
        Err(DecodeError::Malformed { error, .. }) => error,
        other => panic!("expected Malformed, got {other:?}"),
    }
}

#[test]
fn absurd_lengths_are_refused_without_allocating() {
    // Metadata v1: topics count 0x7fffffff in a 4-byte body.
    let mut f = header(3, 1);
    f.extend_from_slice(&[0x7f, 0xff, 0xff, 0xff]);
    let e = malformed(&f);
    assert_eq!((e.field, e.position), ("metadata.topics", 10));
    assert!(matches!(e.kind, FieldErrorKind::LengthExceedsInput { .. }));

    // Fetch v4: topics count 0x7fffffff.
    let mut f = header(1, 4);
    f.extend_from_slice(&[0xff; 4]); // replica_id
    f.extend_from_slice(&[0; 12]); // max_wait, min_bytes, max_bytes
    f.push(0); // isolation level
    f.extend_from_slice(&[0x7f, 0xff, 0xff, 0xff]);
    assert_eq!(malformed(&f).field, "fetch.topics");

    // Produce v3: records length 0x7fffffff.
    let mut f = header(0, 3);
    f.extend_from_slice(&[0xff, 0xff, 0, 1, 0, 0, 0, 0]); // txn id null, acks 1, timeout 0
    f.extend_from_slice(&[0, 0, 0, 1, 0, 1, b't', 0, 0, 0, 1, 0, 0, 0, 0]);
    f.extend_from_slice(&[0x7f, 0xff, 0xff, 0xff]);
    let e = malformed(&f);
    assert_eq!(e.field, "produce.topic_data.partition_data.records");
    assert_eq!(e.position, f.len() - 4);

    // Negative lengths other than -1.
    let mut f = header(3, 1);
    f.extend_from_slice(&[0x80, 0, 0, 0]);
    assert!(matches!(
        malformed(&f).kind,
        FieldErrorKind::BadLength {
            length: -2_147_483_648
        }
    ));

    // ApiVersions v3: compact string claiming 2^32 - 2 bytes.
    let mut f = header(18, 3);
    f.push(0); // header tags
    f.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
    assert_eq!(malformed(&f).field, "api_versions.client_software_name");
}

#[test]
fn malformed_errors_name_the_field_and_position() {
    // ListOffsets v0 whose partition is cut inside max_num_offsets (the array's bound
    // check passes: a v1 partition would fit in the bytes left).
    let mut f = header(2, 0);
    f.extend_from_slice(&[0xff; 4]); // replica id
    f.extend_from_slice(&[0, 0, 0, 1, 0, 1, b't', 0, 0, 0, 1]); // 1 topic "t", 1 partition
    f.extend_from_slice(&[0, 0, 0, 0]); // partition index
    f.extend_from_slice(&[0xff; 8]); // timestamp -1
    f.extend_from_slice(&[0, 0]); // 2 of max_num_offsets' 4 bytes
    let e = malformed(&f);
    assert_eq!(e.field, "list_offsets.topics.partitions.max_num_offsets");
    assert_eq!(e.position, f.len() - 2);
    assert_eq!(
        e.kind,
        FieldErrorKind::Truncated {
            needed: 4,
            available: 2
        }
    );
    let msg = DecodeError::Malformed {
        ids: Some(RequestIds {
            api_key: 2,
            api_version: 0,
            correlation_id: 99,
        }),
        error: e,
    }
    .to_string();
    assert!(
        msg.contains("ListOffsets v0") && msg.contains("max_num_offsets"),
        "{msg}"
    );
}

#[test]
fn unknown_api_key_closes_without_reply() {
    // AlterConfigs (33) is a real API we do not implement.
    let e = decode_request(&header(33, 2)).unwrap_err();
    assert_eq!(
        e,
        DecodeError::UnknownApiKey(RequestIds {
            api_key: 33,
            api_version: 2,
            correlation_id: 99
        })
    );
    assert_eq!(e.reply(), None);
    assert!(matches!(
        decode_request(&header(-1, 0)),
        Err(DecodeError::UnknownApiKey(_))
    ));
}

#[test]
fn unsupported_versions_close_without_reply() {
    for (key, version) in [(1, 12), (1, 3), (0, 9), (3, 9), (2, 6), (22, 2), (1, -1)] {
        let e = decode_request(&header(key, version)).unwrap_err();
        assert!(
            matches!(e, DecodeError::UnsupportedVersion(ids) if ids.api_key == key && ids.api_version == version),
            "{key} v{version}: {e:?}"
        );
        assert_eq!(e.reply(), None);
    }
}

#[test]
fn unsupported_api_versions_gets_the_v0_error_reply_whatever_the_body() {
    // kafka-python 3 opens with ApiVersions v4; the body is never looked at.
    let mut f = header(18, 4);
    f.extend_from_slice(b"\x00garbage that no version could parse");
    let e = decode_request(&f).unwrap_err();
    assert_eq!(
        e,
        DecodeError::UnsupportedApiVersionsVersion(RequestIds {
            api_key: 18,
            api_version: 4,
            correlation_id: 99
        })
    );
    assert_eq!(e.reply(), Some(unsupported_api_versions_response(99)));
    // Even the fixed 8 bytes alone are enough.
    assert!(decode_request(&f[..8]).unwrap_err().reply().is_some());
}

#[test]
fn librdkafka_style_api_versions_v3_request_decodes() {
    // Header v2: int16-length client id, then a tag section; body: compact strings + tags.
    let mut f = vec![0, 18, 0, 3, 0, 0, 0, 1, 0, 7];
    f.extend_from_slice(b"rdkafka");
    f.push(0); // header tags
    f.push(11);
    f.extend_from_slice(b"librdkafka");
    f.push(6);
    f.extend_from_slice(b"2.0.2");
    f.push(0); // body tags
    let req = decode_request(&f).unwrap();
    assert_eq!(req.header.client_id.as_deref(), Some("rdkafka"));
    let RequestBody::ApiVersions(body) = req.body else {
        panic!()
    };
    assert_eq!(body.client_software_name, "librdkafka");
    assert_eq!(body.client_software_version, "2.0.2");
    assert!(body.is_valid(3));
}

#[test]
fn api_versions_v0_response_lists_the_table() {
    let frame = encode_response(
        0,
        0,
        &Response::ApiVersions(ApiVersionsResponse::supported()),
    );
    let mut expected = vec![0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    expected.extend_from_slice(&(SUPPORTED_APIS.len() as i32).to_be_bytes());
    for (key, _) in SUPPORTED_APIS {
        let range = key.advertised();
        expected.extend_from_slice(&key.code().to_be_bytes());
        expected.extend_from_slice(&range.min.to_be_bytes());
        expected.extend_from_slice(&range.max.to_be_bytes());
    }
    let size = (expected.len() - 4) as i32;
    expected[..4].copy_from_slice(&size.to_be_bytes());
    assert_eq!(frame, expected);
}

#[test]
fn invalid_utf8_in_a_topic_name_is_replaced_not_fatal() {
    let mut f = header(3, 1);
    f.extend_from_slice(&[0, 0, 0, 1, 0, 2, 0xff, b'a']);
    let req = decode_request(&f).unwrap();
    let RequestBody::Metadata(m) = req.body else {
        panic!()
    };
    assert_eq!(m.topics, Some(vec!["\u{fffd}a".to_owned()]));
}

#[test]
fn error_codes_round_trip() {
    for e in ErrorCode::ALL {
        assert_eq!(ErrorCode::try_from(e.code()), Ok(e));
        assert_eq!(i16::from(e), e.code());
    }
    assert_eq!(ErrorCode::try_from(9999), Err(9999));
    assert_eq!(ErrorCode::InvalidTopicException.code(), 17);
    assert_eq!(
        ErrorCode::UnsupportedVersion.to_string(),
        "UNSUPPORTED_VERSION (35)"
    );
}

#[test]
fn version_table_is_consistent() {
    for (key, range) in SUPPORTED_APIS {
        assert_eq!(ApiKey::from_code(key.code()), Some(key));
        assert_eq!(key.versions(), range);
        assert!(range.min <= range.max);
    }
    // librdkafka's MsgVer2 feature needs Produce ∋ 3 and Fetch ∋ 4; ApiVersions ∋ 0.
    assert!(ApiKey::Produce.versions().contains(3));
    assert!(ApiKey::Fetch.versions().contains(4));
    assert!(ApiKey::ApiVersions.versions().contains(0));
    assert!(ApiKey::ListOffsets.versions().contains(1));
    // Older librdkafka compresses gzip, snappy and lz4 only if the advertised Produce ∋ 0
    // (KAFKA-18659), zstd only if Produce ∋ 7 and Fetch ∋ 10.
    assert!(ApiKey::Produce.advertised().contains(0));
    assert!(ApiKey::Produce.versions().contains(7));
    assert!(ApiKey::Fetch.versions().contains(10));
}

/// A tiny deterministic PRNG, so the mutation test needs no dependency and is repeatable.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn mutated_requests_never_panic() {
    // A poor man's fuzzer: flip, overwrite, insert and drop bytes of valid frames. Any
    // outcome is fine except a panic (or a hang, which the test harness would show).
    let frames = all_frames();
    let mut rng = XorShift(0x5eed_1234_abcd_ef01);
    let mut decoded = 0usize;
    for _ in 0..20_000 {
        let (_, _, frame) = &frames[rng.next() as usize % frames.len()];
        let mut f = frame[4..].to_vec();
        for _ in 0..1 + rng.next() % 4 {
            let at = rng.next() as usize % (f.len() + 1);
            match rng.next() % 4 {
                0 if at < f.len() => f[at] ^= 1 << (rng.next() % 8),
                1 if at < f.len() => f[at] = [0x00, 0x7f, 0x80, 0xff][rng.next() as usize % 4],
                2 => f.insert(at, rng.next() as u8),
                _ if at < f.len() => {
                    f.remove(at);
                }
                _ => {}
            }
        }
        if decode_request(&f).is_ok() {
            decoded += 1;
        }
    }
    // Some mutations (e.g. in a string's bytes) still decode: the loop exercised both paths.
    assert!(decoded > 0);
}
