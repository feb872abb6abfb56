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

use super::super::*;
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
pub(super) const SOCKET_TIMEOUT: Duration = Duration::from_secs(10);

/// How the fake broker misbehaves (or not).
#[derive(Clone, Default)]
pub(super) struct Behaviour {
    /// Highest ApiVersions version it speaks (default 3).
    pub(super) api_versions_max: Option<i16>,
    /// Answers an unsupported ApiVersions version like a broker before Kafka 2.4: error
    /// with an empty list.
    pub(super) pre_kip_511: bool,
    /// Replaces the advertised ranges of these APIs.
    pub(super) ranges: Vec<(ApiKey, i16, i16)>,
    /// `host:port` to advertise in Metadata (default: its own address).
    pub(super) advertise: Option<String>,
    /// Cut every Fetch's records after this many bytes, batch boundaries or not (but
    /// always send the first batch whole, as Kafka does).
    pub(super) fetch_cut: Option<usize>,
    /// Answer every Produce with this error.
    pub(super) produce_error: Option<ErrorCode>,
    /// Flip a bit in the last byte of every Fetch's records.
    pub(super) corrupt_fetch: bool,
    /// Read requests, never answer.
    pub(super) silent: bool,
    /// Like Apache Kafka creating a topic on first use: answer this many Metadata requests
    /// that ask to create an unknown topic UNKNOWN_TOPIC_OR_PARTITION before it exists
    /// (`usize::MAX`: never create it, like a broker with auto-creation off).
    pub(super) create_after: usize,
}

#[derive(Default)]
pub(super) struct State {
    /// Topic name to its one partition: the batches back to back, and the next offset.
    pub(super) logs: HashMap<String, (Vec<u8>, i64)>,
    /// Every request seen, as (API, version).
    pub(super) requests: Vec<(ApiKey, i16)>,
    /// The acks of every Produce seen.
    pub(super) acks: Vec<i16>,
    /// Metadata requests that asked to create an unknown topic.
    pub(super) create_asks: usize,
}

pub(super) struct FakeBroker {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl FakeBroker {
    pub(super) fn start(behaviour: Behaviour) -> FakeBroker {
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

    pub(super) fn address(&self) -> String {
        self.addr.to_string()
    }

    pub(super) fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("state lock")
    }

    /// Appends batches as if produced (the offsets in them are used as they are).
    pub(super) fn preload(&self, topic: &str, batches: &[u8], end_offset: i64) {
        self.state()
            .logs
            .insert(topic.to_owned(), (batches.to_vec(), end_offset));
    }
}

pub(super) fn serve(
    mut stream: TcpStream,
    own: SocketAddr,
    state: &Mutex<State>,
    behaviour: &Behaviour,
) {
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
pub(super) fn answer(
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
pub(super) fn batch_containing(log: &[u8], offset: i64) -> (usize, usize) {
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

pub(super) fn config() -> ClientConfig {
    ClientConfig {
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(5),
        ..ClientConfig::default()
    }
}

/// Values "value-0", "value-1", ... in batches of `per_batch`.
pub(super) fn values(n: usize) -> Vec<Vec<u8>> {
    (0..n).map(|i| format!("value-{i}").into_bytes()).collect()
}

pub(super) fn produce(
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
pub(super) fn consume(
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
