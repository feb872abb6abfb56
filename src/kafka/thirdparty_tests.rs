//! Cross-checks against kafka-python 3, whose protocol classes are generated from Kafka's
//! own JSON message schemas: an encoder and a decoder that share no code (and no
//! misunderstanding) with ours. `tests/thirdparty/kafka_python_protocol.py` does the Python
//! half. Without python3/kafka-python the tests say SKIPPED, except under `CI=true`, where
//! `.ci/run` installs kafka-python and a missing one is a failure.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use super::*;

/// Runs the helper script in `mode` with `input` on stdin; `None` (after saying why) when
/// Python or kafka-python is missing outside CI.
fn kafka_python(mode: &str, input: &str) -> Option<String> {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/thirdparty/kafka_python_protocol.py");
    let in_ci = std::env::var("CI").as_deref() == Ok("true");
    let child = Command::new("python3")
        .arg(&script)
        .arg(mode)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) if !in_ci => {
            eprintln!("SKIPPED: python3 not runnable ({e}); .ci/run installs it");
            return None;
        }
        Err(e) => panic!("python3 not runnable under CI: {e}"),
    };
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input.as_bytes()).expect("write to python3");
    }
    let out = child.wait_with_output().expect("python3 output");
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.code() == Some(3) {
        assert!(!in_ci, "under CI kafka-python must be installed: {stderr}");
        eprintln!("SKIPPED: {stderr} (pip install kafka-python, as .ci/run does)");
        return None;
    }
    assert!(out.status.success(), "{script:?} {mode} failed: {stderr}");
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

#[test]
fn kafka_python_requests_decode_and_reencode_identically() {
    let Some(out) = kafka_python("requests", "") else {
        return;
    };
    let mut seen = 0;
    for line in out.lines() {
        let msg: serde_json::Value = serde_json::from_str(line).expect("json line");
        let (api, version) = (
            msg["api"].as_i64().unwrap(),
            msg["version"].as_i64().unwrap(),
        );
        let frame = unhex(msg["frame"].as_str().unwrap());
        let req = decode_request(&frame[4..])
            .unwrap_or_else(|e| panic!("api {api} v{version} from kafka-python: {e}"));
        assert_eq!(i64::from(req.header.api_key.code()), api);
        assert_eq!(i64::from(req.header.api_version), version);
        assert_eq!(i64::from(req.header.correlation_id), 1000 + version);
        assert_eq!(req.header.client_id.as_deref(), Some("kafka-python"));
        // Spot-check values against what the script put in.
        match &req.body {
            RequestBody::Fetch(f) => {
                assert_eq!(f.topics[0].partitions[0].fetch_offset, 42);
                assert_eq!(f.max_bytes, 52_428_800);
            }
            RequestBody::Produce(p) => {
                let records = p.topic_data[0].partition_data[0].records.unwrap();
                assert!(crate::log::batch::validate(records).is_ok());
            }
            RequestBody::Metadata(m) => {
                assert_eq!(m.topics, Some(vec!["demo".to_owned(), "other".to_owned()]))
            }
            RequestBody::ListOffsets(l) => assert_eq!(l.topics[0].partitions[0].timestamp, -2),
            RequestBody::ApiVersions(a) if version >= 3 => {
                assert_eq!(a.client_software_name, "kafka-python")
            }
            RequestBody::ApiVersions(_) => {}
            RequestBody::InitProducerId(i) => assert_eq!(i.transaction_timeout_ms, 60_000),
            RequestBody::JoinGroup(j) => assert_eq!(j.protocols[0].name, "range"),
            RequestBody::OffsetCommit(c) => {
                assert_eq!(c.topics[0].partitions[0].committed_offset, 42)
            }
            RequestBody::FindCoordinator(f) => assert_eq!(f.keys[0], "g1"),
            _ => assert_eq!(req.body.api_key().code() as i64, api),
        }
        let again = encode_request(
            req.header.correlation_id,
            req.header.client_id.as_deref(),
            req.header.api_version,
            &req.body,
        );
        assert_eq!(hex(&again), hex(&frame), "api {api} v{version}: re-encoded");
        seen += 1;
    }
    let expected: i16 = SUPPORTED_APIS.iter().map(|(_, r)| r.max - r.min + 1).sum();
    assert_eq!(
        seen, expected as usize,
        "one frame per supported (api, version)"
    );
}

/// A Fetch response with data, an empty partition and an error partition, flattened the
/// way the client receives it: the region bytes come from the §4.3 test batch.
fn fetch_frame(version: i16) -> Vec<u8> {
    let batch: &[u8] = &[
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x3a, 0, 0, 0, 0, 0x02, 0xe9, 0x9b, 0x8d, 0xd8, 0, 0, 0,
        0, 0, 0, 0, 0, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0, 0, 0, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0, 0, 0, 0x01, 0x10, 0, 0, 0, 0x02, 0x6b, 0x02, 0x76, 0,
    ];
    let resp = FetchResponse {
        throttle_time_ms: 0,
        error_code: ErrorCode::None,
        session_id: 0,
        responses: vec![FetchTopicResponse {
            topic: "demo".into(),
            partitions: vec![
                FetchPartitionResponse::with_records(
                    0,
                    1,
                    0,
                    vec![
                        FileRegion {
                            segment: 0,
                            position: 0,
                            len: 30,
                        },
                        FileRegion {
                            segment: 0,
                            position: 30,
                            len: 40,
                        },
                    ],
                ),
                FetchPartitionResponse::with_records(1, 0, 0, vec![]),
                FetchPartitionResponse::error(2, ErrorCode::OffsetOutOfRange, 0, 0),
            ],
        }],
    };
    let mut frame = Vec::new();
    for part in encode_fetch_response(77, version, &resp).unwrap() {
        match part {
            Part::Bytes(b) => frame.extend_from_slice(&b),
            Part::File(r) => {
                frame.extend_from_slice(&batch[r.position as usize..(r.position + r.len) as usize])
            }
        }
    }
    frame
}

fn sample_response(api: ApiKey, version: i16) -> Vec<u8> {
    let response = match api {
        ApiKey::Fetch => return fetch_frame(version),
        ApiKey::Produce => Response::Produce(ProduceResponse {
            responses: vec![ProduceTopicResponse {
                name: "demo".into(),
                partition_responses: vec![
                    ProducePartitionResponse::appended(0, 41, 0),
                    ProducePartitionResponse::error(
                        1,
                        ErrorCode::CorruptMessage,
                        Some("bad crc".into()),
                    ),
                ],
            }],
            throttle_time_ms: 0,
        }),
        ApiKey::ListOffsets => Response::ListOffsets(ListOffsetsResponse {
            throttle_time_ms: 0,
            topics: vec![ListOffsetsTopicResponse {
                name: "demo".into(),
                partitions: vec![
                    ListOffsetsPartitionResponse::found(0, -1, 42, 0),
                    ListOffsetsPartitionResponse::error(1, ErrorCode::UnknownTopicOrPartition),
                ],
            }],
        }),
        ApiKey::Metadata => Response::Metadata(MetadataResponse {
            throttle_time_ms: 0,
            brokers: vec![MetadataBroker {
                node_id: 1,
                host: "127.0.0.1".into(),
                port: 9092,
                rack: None,
            }],
            cluster_id: Some("zc".into()),
            controller_id: 1,
            topics: vec![
                MetadataTopic {
                    error_code: ErrorCode::None,
                    name: "demo".into(),
                    is_internal: false,
                    partitions: vec![MetadataPartition {
                        error_code: ErrorCode::None,
                        partition_index: 0,
                        leader_id: 1,
                        leader_epoch: 0,
                        replica_nodes: vec![1],
                        isr_nodes: vec![1],
                        offline_replicas: vec![],
                    }],
                    topic_authorized_operations: i32::MIN,
                },
                MetadataTopic {
                    error_code: ErrorCode::UnknownTopicOrPartition,
                    name: "missing".into(),
                    is_internal: false,
                    partitions: vec![],
                    topic_authorized_operations: i32::MIN,
                },
            ],
            cluster_authorized_operations: i32::MIN,
        }),
        ApiKey::ApiVersions => Response::ApiVersions(ApiVersionsResponse::supported()),
        ApiKey::InitProducerId => Response::InitProducerId(InitProducerIdResponse {
            throttle_time_ms: 0,
            error_code: ErrorCode::None,
            producer_id: 1000,
            producer_epoch: 0,
        }),
        _ if super::admin_tests::APIS.contains(&api) => {
            super::admin_tests::sample_response(api, version)
        }
        _ => super::group_tests::sample_response(api, version),
    };
    encode_response(77, version, &response)
}

#[test]
fn kafka_python_decodes_our_responses_byte_for_byte() {
    let mut input = String::new();
    let mut push = |api: i16, version: i16, frame: &[u8]| {
        let line = serde_json::json!({"api": api, "version": version, "frame": hex(frame)});
        input.push_str(&line.to_string());
        input.push('\n');
    };
    for (api, range) in SUPPORTED_APIS {
        for v in range.min..=range.max {
            push(api.code(), v, &sample_response(api, v));
        }
    }
    // The fallback a v4 ApiVersions request gets: kafka-python must read it as v0.
    push(18, 4, &unsupported_api_versions_response(77));
    let Some(out) = kafka_python("responses", &input) else {
        return;
    };
    let mut failures = Vec::new();
    let mut seen = 0;
    for line in out.lines() {
        let msg: serde_json::Value = serde_json::from_str(line).expect("json line");
        seen += 1;
        if msg["ok"] != serde_json::Value::Bool(true) {
            failures.push(format!(
                "api {} v{}: {}",
                msg["api"], msg["version"], msg["error"]
            ));
        }
    }
    assert_eq!(seen, input.lines().count());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
