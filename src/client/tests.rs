//! The client against a fake broker: a thread on 127.0.0.1 port 0 that decodes requests
//! with the codec's request decoders and answers with its response encoders, keeping one
//! in-memory log per topic. It plays a broker just well enough to make the client's
//! behaviour visible: the handshake fallback, advertised addresses, acks=0 (no answer),
//! Fetch data cut in the middle of a batch, error codes, damaged data, silence.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::ops::ControlFlow;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use super::*;
use crate::kafka::list_offsets::EARLIEST_TIMESTAMP;
use crate::kafka::{
    ApiKey, ApiVersion, ApiVersionsResponse, ErrorCode, FetchPartitionResponse, FetchResponse,
    FetchTopicResponse, FileRegion, ListOffsetsPartitionResponse, ListOffsetsResponse,
    ListOffsetsTopicResponse, MetadataBroker, MetadataPartition, MetadataResponse, MetadataTopic,
    Part, ProducePartitionResponse, ProduceResponse, ProduceTopicResponse, RequestBody, Response,
    decode_request, encode_fetch_response, encode_response,
};
use crate::log::batch::{self, BatchBuilder};

/// Every socket in these tests gives up after this long, so a bug hangs nothing.
const SOCKET_TIMEOUT: Duration = Duration::from_secs(10);

/// How the fake broker misbehaves (or not).
#[derive(Clone, Default)]
struct Behaviour {
    /// Highest ApiVersions version it speaks (default 3).
    api_versions_max: Option<i16>,
    /// Answers an unsupported ApiVersions version like a broker before Kafka 2.4: error
    /// with an empty list.
    pre_kip_511: bool,
    /// Replaces the advertised ranges of these APIs.
    ranges: Vec<(ApiKey, i16, i16)>,
    /// `host:port` to advertise in Metadata (default: its own address).
    advertise: Option<String>,
    /// Cut every Fetch's records after this many bytes, batch boundaries or not (but
    /// always send the first batch whole, as Kafka does).
    fetch_cut: Option<usize>,
    /// Answer every Produce with this error.
    produce_error: Option<ErrorCode>,
    /// Flip a bit in the last byte of every Fetch's records.
    corrupt_fetch: bool,
    /// Read requests, never answer.
    silent: bool,
    /// Like Apache Kafka creating a topic on first use: answer this many Metadata requests
    /// that ask to create an unknown topic UNKNOWN_TOPIC_OR_PARTITION before it exists
    /// (`usize::MAX`: never create it, like a broker with auto-creation off).
    create_after: usize,
}

#[derive(Default)]
struct State {
    /// Topic name to its one partition: the batches back to back, and the next offset.
    logs: HashMap<String, (Vec<u8>, i64)>,
    /// Every request seen, as (API, version).
    requests: Vec<(ApiKey, i16)>,
    /// The acks of every Produce seen.
    acks: Vec<i16>,
    /// Metadata requests that asked to create an unknown topic.
    create_asks: usize,
}

struct FakeBroker {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl FakeBroker {
    fn start(behaviour: Behaviour) -> FakeBroker {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let state = Arc::new(Mutex::new(State::default()));
        let shared = Arc::clone(&state);
        // The accept thread lives as long as the test process; each connection gets a
        // thread that ends when the client hangs up or a socket times out.
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (state, behaviour) = (Arc::clone(&shared), behaviour.clone());
                thread::spawn(move || serve(stream, addr, &state, &behaviour));
            }
        });
        FakeBroker { addr, state }
    }

    fn address(&self) -> String {
        self.addr.to_string()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("state lock")
    }

    /// Appends batches as if produced (the offsets in them are used as they are).
    fn preload(&self, topic: &str, batches: &[u8], end_offset: i64) {
        self.state()
            .logs
            .insert(topic.to_owned(), (batches.to_vec(), end_offset));
    }
}

fn serve(mut stream: TcpStream, own: SocketAddr, state: &Mutex<State>, behaviour: &Behaviour) {
    let _ = stream.set_read_timeout(Some(SOCKET_TIMEOUT));
    let _ = stream.set_write_timeout(Some(SOCKET_TIMEOUT));
    loop {
        let mut size = [0u8; 4];
        if stream.read_exact(&mut size).is_err() {
            return;
        }
        let mut frame = vec![0u8; i32::from_be_bytes(size).clamp(0, 1 << 26) as usize];
        if stream.read_exact(&mut frame).is_err() || behaviour.silent {
            continue;
        }
        let reply = match answer(&frame, own, state, behaviour) {
            Some(reply) => reply,
            None => continue,
        };
        if stream.write_all(&reply).is_err() {
            return;
        }
    }
}

/// The reply frame for one request frame; `None` for no reply (acks=0).
fn answer(
    frame: &[u8],
    own: SocketAddr,
    state: &Mutex<State>,
    behaviour: &Behaviour,
) -> Option<Vec<u8>> {
    let key = i16::from_be_bytes([frame[0], frame[1]]);
    let version = i16::from_be_bytes([frame[2], frame[3]]);
    let correlation_id = i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]);
    let api_versions_max = behaviour.api_versions_max.unwrap_or(3);
    if key == ApiKey::ApiVersions.code() && version > api_versions_max {
        state
            .lock()
            .unwrap()
            .requests
            .push((ApiKey::ApiVersions, version));
        let api_keys = if behaviour.pre_kip_511 {
            vec![]
        } else {
            vec![ApiVersion {
                api_key: 18,
                min_version: 0,
                max_version: api_versions_max,
            }]
        };
        let body = ApiVersionsResponse {
            error_code: ErrorCode::UnsupportedVersion,
            api_keys,
            throttle_time_ms: 0,
        };
        return Some(encode_response(
            correlation_id,
            0,
            &Response::ApiVersions(body),
        ));
    }
    let request = decode_request(frame).expect("the client sends valid requests");
    let v = request.header.api_version;
    let mut st = state.lock().unwrap();
    st.requests.push((request.body.api_key(), v));
    let response = match request.body {
        RequestBody::ApiVersions(_) => {
            let mut body = ApiVersionsResponse::supported();
            for &(api, min, max) in &behaviour.ranges {
                for k in body.api_keys.iter_mut().filter(|k| k.api_key == api.code()) {
                    (k.min_version, k.max_version) = (min, max);
                }
            }
            Response::ApiVersions(body)
        }
        RequestBody::Metadata(m) => {
            let (host, port) = match &behaviour.advertise {
                Some(a) => {
                    let (h, p) = a.rsplit_once(':').unwrap();
                    (h.to_owned(), p.parse().unwrap())
                }
                None => (own.ip().to_string(), i32::from(own.port())),
            };
            let topics = m
                .topics
                .unwrap_or_default()
                .into_iter()
                .map(|name| {
                    if m.allow_auto_topic_creation && !st.logs.contains_key(&name) {
                        st.create_asks += 1;
                        if st.create_asks > behaviour.create_after {
                            st.logs.entry(name.clone()).or_default();
                        }
                    }
                    let known = st.logs.contains_key(&name);
                    MetadataTopic {
                        error_code: if known {
                            ErrorCode::None
                        } else {
                            ErrorCode::UnknownTopicOrPartition
                        },
                        name,
                        is_internal: false,
                        partitions: if known {
                            vec![MetadataPartition {
                                error_code: ErrorCode::None,
                                partition_index: 0,
                                leader_id: 1,
                                leader_epoch: 0,
                                replica_nodes: vec![1],
                                isr_nodes: vec![1],
                                offline_replicas: vec![],
                            }]
                        } else {
                            vec![]
                        },
                        topic_authorized_operations: i32::MIN,
                    }
                })
                .collect();
            Response::Metadata(MetadataResponse {
                throttle_time_ms: 0,
                brokers: vec![MetadataBroker {
                    node_id: 1,
                    host,
                    port,
                    rack: None,
                }],
                cluster_id: None,
                controller_id: 1,
                topics,
                cluster_authorized_operations: i32::MIN,
            })
        }
        RequestBody::ListOffsets(l) => Response::ListOffsets(ListOffsetsResponse {
            throttle_time_ms: 0,
            topics: l
                .topics
                .iter()
                .map(|t| ListOffsetsTopicResponse {
                    name: t.name.clone(),
                    partitions: t
                        .partitions
                        .iter()
                        .map(|p| match st.logs.get(&t.name) {
                            Some(&(_, end)) if p.partition_index == 0 => {
                                let offset = if p.timestamp == EARLIEST_TIMESTAMP {
                                    0
                                } else {
                                    end
                                };
                                ListOffsetsPartitionResponse::found(0, -1, offset, 0)
                            }
                            _ => ListOffsetsPartitionResponse::error(
                                p.partition_index,
                                ErrorCode::UnknownTopicOrPartition,
                            ),
                        })
                        .collect(),
                })
                .collect(),
        }),
        RequestBody::Produce(p) => {
            st.acks.push(p.acks);
            let t = &p.topic_data[0];
            let records = t.partition_data[0].records.unwrap_or_default();
            let answer = match behaviour.produce_error {
                Some(code) => ProducePartitionResponse::error(0, code, Some("as asked".into())),
                None => {
                    let header = batch::validate(records).expect("client batches are valid");
                    assert_eq!(header.base_offset, 0, "clients send baseOffset 0");
                    let (log, end) = st.logs.entry(t.name.clone()).or_default();
                    let base = *end;
                    let start = log.len();
                    log.extend_from_slice(records);
                    log[start..start + 8].copy_from_slice(&base.to_be_bytes());
                    *end += i64::from(header.last_offset_delta) + 1;
                    ProducePartitionResponse::appended(0, base, 0)
                }
            };
            if p.acks == 0 {
                return None;
            }
            Response::Produce(ProduceResponse {
                responses: vec![ProduceTopicResponse {
                    name: t.name.clone(),
                    partition_responses: vec![answer],
                }],
                throttle_time_ms: 0,
            })
        }
        RequestBody::Fetch(f) => {
            let t = &f.topics[0];
            let p = &t.partitions[0];
            let partition = match st.logs.get(&t.topic) {
                None => FetchPartitionResponse::error(
                    p.partition,
                    ErrorCode::UnknownTopicOrPartition,
                    -1,
                    -1,
                ),
                Some((_, end)) if p.fetch_offset > *end || p.fetch_offset < 0 => {
                    FetchPartitionResponse::error(p.partition, ErrorCode::OffsetOutOfRange, -1, -1)
                }
                Some((log, end)) => {
                    let (start, first_len) = batch_containing(log, p.fetch_offset);
                    let budget = (p.partition_max_bytes as usize)
                        .min(behaviour.fetch_cut.unwrap_or(usize::MAX))
                        .max(first_len);
                    let len = (log.len() - start).min(budget);
                    let region = FileRegion {
                        segment: 0,
                        position: start as u64,
                        len: len as u64,
                    };
                    FetchPartitionResponse::with_records(p.partition, *end, 0, vec![region])
                }
            };
            let response = FetchResponse {
                throttle_time_ms: 0,
                error_code: ErrorCode::None,
                session_id: 0,
                responses: vec![FetchTopicResponse {
                    topic: t.topic.clone(),
                    partitions: vec![partition],
                }],
            };
            let parts = encode_fetch_response(correlation_id, v, &response).unwrap();
            let log = st.logs.get(&t.topic).map(|(l, _)| l.as_slice());
            let mut wire = Vec::new();
            for part in parts {
                match part {
                    Part::Bytes(b) => wire.extend_from_slice(&b),
                    Part::File(r) => {
                        let at = r.position as usize;
                        let mut bytes = log.unwrap()[at..at + r.len as usize].to_vec();
                        if behaviour.corrupt_fetch {
                            *bytes.last_mut().unwrap() ^= 1;
                        }
                        wire.extend_from_slice(&bytes);
                    }
                }
            }
            return Some(wire);
        }
        other => panic!("zc's client never sends {}", other.api_key()),
    };
    Some(encode_response(correlation_id, v, &response))
}

/// Byte position and size of the batch holding `offset` (or the log end and 0).
fn batch_containing(log: &[u8], offset: i64) -> (usize, usize) {
    let mut pos = 0;
    while pos < log.len() {
        let header = batch::BatchHeader::parse(&log[pos..]).unwrap();
        if header.last_offset() >= offset {
            return (pos, header.size());
        }
        pos += header.size();
    }
    (pos, 0)
}

fn config() -> ClientConfig {
    ClientConfig {
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(5),
        ..ClientConfig::default()
    }
}

/// Values "value-0", "value-1", ... in batches of `per_batch`.
fn values(n: usize) -> Vec<Vec<u8>> {
    (0..n).map(|i| format!("value-{i}").into_bytes()).collect()
}

fn produce(
    bootstrap: &str,
    topic: &str,
    values: &[Vec<u8>],
    per_batch: usize,
    acks: Acks,
) -> Result<ProduceSummary, ClientError> {
    let conn = connect_to_leader(bootstrap, topic, 0, true, &config())?;
    let mut producer = Producer::new(conn, topic, 0, acks, 3)?;
    let mut buf = Vec::new();
    for chunk in values.chunks(per_batch) {
        buf.clear();
        let mut b = BatchBuilder::new(&mut buf, 0);
        for v in chunk {
            b.append(1_700_000_000_000, None, Some(v), &[]);
        }
        b.finish();
        producer.send(&buf, chunk.len() as u32)?;
    }
    producer.finish()
}

/// Consumes from `start` until `count` records arrived (bounded by a deadline).
fn consume(
    bootstrap: &str,
    topic: &str,
    start: StartOffset,
    count: usize,
    fetch_max_bytes: usize,
) -> Result<Vec<(i64, Vec<u8>)>, ClientError> {
    let conn = connect_to_leader(bootstrap, topic, 0, false, &config())?;
    let mut consumer = Consumer::new(conn, topic, 0, start, fetch_max_bytes)?;
    let mut got = Vec::new();
    let deadline = Instant::now() + SOCKET_TIMEOUT;
    while got.len() < count {
        assert!(
            Instant::now() < deadline,
            "only {} records arrived",
            got.len()
        );
        consumer.poll(Duration::from_millis(100), |r| {
            got.push((r.offset, r.value.unwrap_or_default().to_vec()));
            if got.len() == count {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })?;
    }
    Ok(got)
}

#[test]
fn produce_then_fetch_round_trips_values_in_order() {
    let broker = FakeBroker::start(Behaviour::default());
    let sent = values(250);
    for acks in [Acks::Leader, Acks::All] {
        let topic = format!("t{}", acks.wire());
        let summary = produce(&broker.address(), &topic, &sent, 40, acks).unwrap();
        assert_eq!(
            (
                summary.batches,
                summary.records,
                summary.first_offset,
                summary.last_offset
            ),
            (7, 250, Some(0), Some(249))
        );
        let got = consume(
            &broker.address(),
            &topic,
            StartOffset::Earliest,
            250,
            1 << 20,
        )
        .unwrap();
        let offsets: Vec<i64> = got.iter().map(|(o, _)| *o).collect();
        assert_eq!(offsets, (0..250).collect::<Vec<_>>());
        let got: Vec<Vec<u8>> = got.into_iter().map(|(_, v)| v).collect();
        assert_eq!(got, sent);
    }
    assert_eq!(broker.state().acks.iter().filter(|&&a| a == -1).count(), 7);
}

#[test]
fn handshake_picks_the_highest_version_both_sides_speak() {
    let broker = FakeBroker::start(Behaviour {
        ranges: vec![
            (ApiKey::Fetch, 4, 6),
            (ApiKey::Metadata, 0, 1),
            (ApiKey::Produce, 0, 5),
        ],
        ..Behaviour::default()
    });
    let conn = Connection::open(&broker.address(), &config()).unwrap();
    assert_eq!(conn.handshake_version(), 3);
    assert_eq!(conn.version(ApiKey::Fetch).unwrap(), 6);
    assert_eq!(conn.version(ApiKey::Metadata).unwrap(), 1);
    assert_eq!(conn.version(ApiKey::Produce).unwrap(), 5);
    assert_eq!(conn.version(ApiKey::ListOffsets).unwrap(), 5);
    // And those versions work end to end.
    produce(&broker.address(), "t", &values(3), 2, Acks::Leader).unwrap();
    consume(&broker.address(), "t", StartOffset::Earliest, 3, 1 << 20).unwrap();
    let seen = broker.state().requests.clone();
    assert!(seen.contains(&(ApiKey::Fetch, 6)), "{seen:?}");
    assert!(seen.contains(&(ApiKey::Metadata, 1)), "{seen:?}");
    assert!(!seen.iter().any(|&(api, v)| api == ApiKey::Fetch && v != 6));
}

#[test]
fn handshake_retries_with_the_version_the_broker_lists() {
    let broker = FakeBroker::start(Behaviour {
        api_versions_max: Some(2),
        ..Behaviour::default()
    });
    let conn = Connection::open(&broker.address(), &config()).unwrap();
    assert_eq!(conn.handshake_version(), 2);
    assert_eq!(conn.version(ApiKey::Fetch).unwrap(), 11);
    assert_eq!(
        broker.state().requests,
        [(ApiKey::ApiVersions, 3), (ApiKey::ApiVersions, 2)]
    );

    // A broker older than KIP-511 lists nothing: v0 always works.
    let old = FakeBroker::start(Behaviour {
        api_versions_max: Some(0),
        pre_kip_511: true,
        ..Behaviour::default()
    });
    let conn = Connection::open(&old.address(), &config()).unwrap();
    assert_eq!(conn.handshake_version(), 0);
    assert_eq!(
        old.state().requests,
        [(ApiKey::ApiVersions, 3), (ApiKey::ApiVersions, 0)]
    );
}

#[test]
fn no_common_version_is_an_error_naming_both_ranges() {
    let broker = FakeBroker::start(Behaviour {
        ranges: vec![(ApiKey::Produce, 0, 2)],
        ..Behaviour::default()
    });
    let conn = Connection::open(&broker.address(), &config()).unwrap();
    let e = Producer::new(conn, "t", 0, Acks::Leader, 1).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{} and zc share no version of Produce: zc speaks 3..=8, the broker 0..=2",
            broker.address()
        )
    );
}

#[test]
fn acks_zero_expects_no_response() {
    let broker = FakeBroker::start(Behaviour::default());
    let started = Instant::now();
    // Waiting for an answer that never comes would take the 5 s request timeout.
    let summary = produce(&broker.address(), "t", &values(100), 10, Acks::None).unwrap();
    assert!(started.elapsed() < Duration::from_secs(4));
    assert_eq!(broker.state().acks, [0; 10]);
    assert_eq!((summary.first_offset, summary.last_offset), (None, None));
    // The closing ListOffsets round trip proves the broker processed all ten requests.
    assert_eq!(summary.log_end_offset, Some(100));
    assert_eq!(broker.state().logs["t"].1, 100);
}

#[test]
fn partial_trailing_batch_is_skipped_and_fetched_again() {
    let broker = FakeBroker::start(Behaviour {
        // Batches of 7 records are about 140 bytes: every fetch ends inside a batch.
        fetch_cut: Some(333),
        ..Behaviour::default()
    });
    let sent = values(200);
    produce(&broker.address(), "t", &sent, 7, Acks::Leader).unwrap();
    let got = consume(&broker.address(), "t", StartOffset::At(5), 195, 1 << 20).unwrap();
    assert_eq!(got[0], (5, sent[5].clone()));
    let got: Vec<Vec<u8>> = got.into_iter().map(|(_, v)| v).collect();
    assert_eq!(got, sent[5..]);
    let fetches = broker
        .state()
        .requests
        .iter()
        .filter(|(api, _)| *api == ApiKey::Fetch)
        .count();
    assert!(
        fetches > 10,
        "only {fetches} fetches: the cut did not happen"
    );
}

/// A broker that sends only the beginning of the first batch (no KIP-74 "at least one
/// whole batch" rule, and a batch bigger than the budget): fetching again would get the
/// same bytes forever, so the client must stop and say what to change. Simulated with a
/// log whose only batch is cut short.
#[test]
fn a_first_batch_larger_than_the_fetch_is_an_error_not_a_hang() {
    let broker = FakeBroker::start(Behaviour::default());
    let mut data = Vec::new();
    let mut b = BatchBuilder::new(&mut data, 0);
    b.append(0, None, Some(&[b'x'; 2000]), &[]);
    let size = b.finish();
    broker.preload("big", &data[..size - 1], 1);
    let e = consume(&broker.address(), "big", StartOffset::Earliest, 1, 1000).unwrap_err();
    let text = e.to_string();
    assert!(text.contains(&format!("needs {size} bytes")), "{text}");
    assert!(text.contains("--fetch-max-bytes"), "{text}");
}

#[test]
fn unknown_topic_is_surfaced_with_its_name_and_a_hint() {
    let broker = FakeBroker::start(Behaviour::default());
    let e = consume(&broker.address(), "nope", StartOffset::Earliest, 1, 1 << 20).unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::UnknownTopicOrPartition));
    let text = e.to_string();
    assert!(
        text.starts_with(&format!(
            "Metadata request to {} failed with UNKNOWN_TOPIC_OR_PARTITION (3) for topic nope",
            broker.address()
        )),
        "{text}"
    );
    assert!(text.contains("topic nope does not exist"), "{text}");
}

/// The Metadata requests the fake broker saw.
fn metadata_requests(broker: &FakeBroker) -> usize {
    let st = broker.state();
    st.requests
        .iter()
        .filter(|(api, _)| *api == ApiKey::Metadata)
        .count()
}

#[test]
fn a_producer_waits_while_the_broker_creates_the_topic() {
    let broker = FakeBroker::start(Behaviour {
        create_after: 3,
        ..Behaviour::default()
    });
    let summary = produce(&broker.address(), "fresh", &values(10), 10, Acks::All).unwrap();
    assert_eq!(summary.last_offset, Some(9));
    assert_eq!(
        metadata_requests(&broker),
        4,
        "three unknown answers, then found"
    );
}

#[test]
fn a_topic_that_is_never_created_ends_the_wait_with_the_reason() {
    let broker = FakeBroker::start(Behaviour {
        create_after: usize::MAX,
        ..Behaviour::default()
    });
    let config = ClientConfig {
        metadata_wait: Duration::from_millis(400),
        ..config()
    };
    let e = connect_to_leader(&broker.address(), "never", 0, true, &config).unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::UnknownTopicOrPartition));
    // A pause of 100 ms fits in 400 ms, then 200 ms (unless the machine is slow), never
    // the next 400 ms.
    let asked = metadata_requests(&broker);
    assert!((2..=3).contains(&asked), "{asked}");
    let text = e.to_string();
    assert!(
        text.starts_with(&format!(
            "topic never is still unknown to {} (UNKNOWN_TOPIC_OR_PARTITION (3)) after",
            broker.address()
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("and {asked} Metadata requests")),
        "{text}"
    );
    assert!(text.contains("zc topics create never"), "{text}");
    assert!(text.contains("--max-block"), "{text}");

    // Without a wait, the first answer is the error; a consumer never asks to create, so
    // an unknown topic stays unknown and it does not wait either.
    let no_wait = ClientConfig {
        metadata_wait: Duration::ZERO,
        ..config.clone()
    };
    let e = connect_to_leader(&broker.address(), "never", 0, true, &no_wait).unwrap_err();
    assert!(matches!(e, ClientError::Broker { .. }), "{e}");
    let e = connect_to_leader(&broker.address(), "never", 0, false, &config).unwrap_err();
    assert!(matches!(e, ClientError::Broker { .. }), "{e}");
    assert_eq!(metadata_requests(&broker), asked + 2);
}

#[test]
fn produce_error_codes_are_surfaced_with_the_brokers_message() {
    let broker = FakeBroker::start(Behaviour {
        produce_error: Some(ErrorCode::MessageTooLarge),
        ..Behaviour::default()
    });
    let e = produce(&broker.address(), "t", &values(3), 3, Acks::Leader).unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::MessageTooLarge));
    let text = e.to_string();
    assert!(text.contains("Produce request to"), "{text}");
    assert!(
        text.contains("MESSAGE_TOO_LARGE (10) for t-0 (as asked)"),
        "{text}"
    );
    assert!(text.contains("--batch-size"), "{text}");
}

#[test]
fn offset_out_of_range_names_the_valid_range() {
    let broker = FakeBroker::start(Behaviour::default());
    produce(&broker.address(), "t", &values(10), 5, Acks::Leader).unwrap();
    let e = consume(&broker.address(), "t", StartOffset::At(50), 1, 1 << 20).unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("offset 50 is outside the partition's range [0, 10]"),
        "{text}"
    );
}

#[test]
fn corrupt_fetched_batch_is_reported_with_its_offset() {
    let broker = FakeBroker::start(Behaviour {
        corrupt_fetch: true,
        ..Behaviour::default()
    });
    produce(&broker.address(), "t", &values(4), 4, Acks::Leader).unwrap();
    let e = consume(&broker.address(), "t", StartOffset::Earliest, 4, 1 << 20).unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("the batch at offset 0 is damaged: CRC-32C mismatch"),
        "{text}"
    );
}

#[test]
fn offset_gap_is_reported() {
    let broker = FakeBroker::start(Behaviour::default());
    let mut data = Vec::new();
    for base in [0, 3] {
        let mut b = BatchBuilder::new(&mut data, base);
        b.append(0, None, Some(b"a"), &[]);
        b.append(0, None, Some(b"b"), &[]);
        b.finish();
    }
    broker.preload("t", &data, 5);
    let e = consume(&broker.address(), "t", StartOffset::Earliest, 4, 1 << 20).unwrap_err();
    assert!(
        e.to_string()
            .contains("offsets are not contiguous: expected 2, got 3 (1 records missing)"),
        "{e}"
    );
}

#[test]
fn client_follows_the_advertised_address() {
    let leader = FakeBroker::start(Behaviour::default());
    let bootstrap = FakeBroker::start(Behaviour {
        advertise: Some(leader.address()),
        ..Behaviour::default()
    });
    let sent = values(5);
    produce(&bootstrap.address(), "t", &sent, 5, Acks::Leader).unwrap();
    assert_eq!(leader.state().logs["t"].1, 5);
    assert!(
        !bootstrap
            .state()
            .requests
            .iter()
            .any(|(api, _)| *api == ApiKey::Produce)
    );
}

#[test]
fn unreachable_advertised_address_says_so() {
    // A port nobody listens on: bind one, note it, close it.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let broker = FakeBroker::start(Behaviour {
        advertise: Some(format!("127.0.0.1:{port}")),
        ..Behaviour::default()
    });
    let e = produce(&broker.address(), "t", &values(1), 1, Acks::Leader).unwrap_err();
    let text = e.to_string();
    assert!(
        text.starts_with(&format!("cannot connect to 127.0.0.1:{port}")),
        "{text}"
    );
    assert!(
        text.contains(&format!("the broker at {} advertises", broker.address())),
        "{text}"
    );
    assert!(text.contains("--advertise"), "{text}");
}

#[test]
fn silent_broker_times_out_naming_address_and_api() {
    let broker = FakeBroker::start(Behaviour {
        silent: true,
        ..Behaviour::default()
    });
    let config = ClientConfig {
        request_timeout: Duration::from_millis(200),
        ..config()
    };
    let started = Instant::now();
    let e = Connection::open(&broker.address(), &config).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(
        e.to_string(),
        format!(
            "ApiVersions request to {}: no response within 0.2 s",
            broker.address()
        )
    );
}

#[test]
fn refused_connection_names_the_address() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let e = Connection::open(&format!("127.0.0.1:{port}"), &config()).unwrap_err();
    let text = e.to_string();
    assert!(text.starts_with(&format!("cannot connect to 127.0.0.1:{port}")));
    assert!(
        text.contains("is a broker (zc serve) listening there?"),
        "{text}"
    );
}

#[test]
fn a_peer_that_is_not_kafka_is_refused_without_allocating() {
    // Something that answers every request with "HTTP/1.1 400": its first four bytes,
    // read as a frame size, claim over a gigabyte.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        if let Ok((mut s, _)) = listener.accept() {
            let _ = s.set_read_timeout(Some(SOCKET_TIMEOUT));
            let mut buf = [0u8; 64];
            let _ = s.read(&mut buf);
            let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
            let _ = s.read(&mut buf);
        }
    });
    let e = Connection::open(&addr.to_string(), &config()).unwrap_err();
    let text = e.to_string();
    assert!(text.contains("is not valid Kafka protocol"), "{text}");
    assert!(text.contains("is this port a Kafka broker?"), "{text}");
}
