//! One handler per API: a decoded request in, a reply out.
//!
//! Handlers know the log and the protocol types, not sockets: a [`Reply`] says what to
//! send, and the connection (`server.rs`) sends it. The interesting one is Fetch: its
//! reply is a list of [`Part`]s, header bytes and file regions, exactly like Kafka's
//! `MultiRecordsSend`, so the record bytes can go from the page cache to the socket
//! through the broker's transfer mode without being read into the broker.

use std::fs::File;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use super::admin;
use super::coordinator::{self, Coordinator};
use super::stats::Stats;
use super::topics::{CreateError, Topic, Topics};
use crate::kafka::list_offsets::{EARLIEST_TIMESTAMP, LATEST_TIMESTAMP};
use crate::kafka::metadata::AUTHORIZED_OPERATIONS_OMITTED;
use crate::kafka::{
    ApiKey, ApiVersionsResponse, ErrorCode, FetchPartitionResponse, FetchRequest, FetchResponse,
    FetchTopicResponse, FileRegion, InitProducerIdResponse, ListOffsetsPartitionResponse,
    ListOffsetsRequest, ListOffsetsResponse, ListOffsetsTopicResponse, MetadataBroker,
    MetadataPartition, MetadataRequest, MetadataResponse, MetadataTopic, Part,
    ProducePartitionResponse, ProduceRequest, ProduceResponse, ProduceTopicResponse, Request,
    RequestBody, Response, encode_fetch_response, encode_response,
};
use crate::log::partition::{AppendError, ReadError};

/// Our one broker's id, also the controller and every partition's leader.
pub const NODE_ID: i32 = 1;
/// The first producer id InitProducerId hands out on an empty log.
const FIRST_PRODUCER_ID: i64 = 1000;
/// Longest a fetch waits for data, whatever the client asks (librdkafka asks 500 ms).
const MAX_FETCH_WAIT: Duration = Duration::from_secs(30);

/// Where log lines go (stderr in `zc serve`, a buffer in tests).
pub type Log = Arc<dyn Fn(String) + Send + Sync>;

/// Which listener a connection came in on: each is advertised with its own address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listener {
    Plain,
    Tls,
}

/// The host and port clients are told to use, per listener. A client that connected to
/// the TLS listener must be sent back to it (as Kafka answers Metadata with the endpoint
/// of the listener the request arrived on), or it would reconnect to the plaintext port
/// and fail its handshake there.
#[derive(Clone, Debug)]
pub struct Advertised {
    pub plain: (String, i32),
    pub tls: Option<(String, i32)>,
}

/// What the handlers share: the log, the addresses clients should use, and counters.
pub struct Context {
    pub topics: Topics,
    advertised: Advertised,
    pub auto_create: bool,
    pub stats: Stats,
    pub shutdown: Arc<AtomicBool>,
    /// Where the broker's log lines go (stderr, prefixed, in `zc serve`).
    pub log: Log,
    /// The group coordinator, its state replayed from `__consumer_offsets`.
    pub groups: Coordinator,
    next_producer_id: AtomicI64,
}

impl Context {
    pub fn new(
        topics: Topics,
        advertised: Advertised,
        auto_create: bool,
        shutdown: Arc<AtomicBool>,
        log: Log,
    ) -> anyhow::Result<Self> {
        let groups = Coordinator::open(&topics, log.clone())?;
        // Ids already in the log belong to producers whose sequences the partitions
        // remember: a new producer must never get one of them.
        let first_producer_id = topics.max_producer_id().map_or(FIRST_PRODUCER_ID, |id| {
            id.saturating_add(1).max(FIRST_PRODUCER_ID)
        });
        Ok(Context {
            topics,
            advertised,
            auto_create,
            stats: Stats::default(),
            shutdown,
            log,
            groups,
            next_producer_id: AtomicI64::new(first_producer_id),
        })
    }
}

impl Context {
    /// The host and port of the listener `via`, as clients are told to use it.
    pub fn endpoint(&self, via: Listener) -> (String, i32) {
        match (via, &self.advertised.tls) {
            (Listener::Tls, Some(tls)) => tls.clone(),
            _ => self.advertised.plain.clone(),
        }
    }
}

/// What to send back.
pub enum Reply {
    /// Nothing: a Produce with acks=0 expects no response at all.
    Nothing,
    /// A complete response frame.
    Frame(Vec<u8>),
    /// A Fetch response: header parts and file regions of `files`, in order.
    Fetch {
        parts: Vec<Part>,
        files: Vec<Arc<File>>,
    },
}

/// Answers one request from `peer`, which connected to the listener `via`.
pub fn handle(ctx: &Context, request: Request<'_>, peer: SocketAddr, via: Listener) -> Reply {
    let id = request.header.correlation_id;
    let v = request.header.api_version;
    let frame = |r: Response| Reply::Frame(encode_response(id, v, &r));
    match request.body {
        RequestBody::ApiVersions(_) => {
            frame(Response::ApiVersions(ApiVersionsResponse::supported()))
        }
        RequestBody::Metadata(req) => frame(Response::Metadata(metadata(ctx, &req, v, via))),
        RequestBody::ListOffsets(req) => frame(Response::ListOffsets(list_offsets(ctx, &req))),
        RequestBody::InitProducerId(req) => {
            frame(Response::InitProducerId(match &req.transactional_id {
                // InitProducerId has no message field: the operator's log says why.
                Some(tx) => {
                    (ctx.log)(transactions_refused("InitProducerId", tx));
                    InitProducerIdResponse {
                        throttle_time_ms: 0,
                        error_code: TRANSACTIONS_REFUSED,
                        producer_id: -1,
                        producer_epoch: -1,
                    }
                }
                None => InitProducerIdResponse {
                    throttle_time_ms: 0,
                    error_code: ErrorCode::None,
                    producer_id: ctx.next_producer_id.fetch_add(1, Relaxed),
                    producer_epoch: 0,
                },
            }))
        }
        RequestBody::Produce(req) => {
            let acks = req.acks;
            // Advertised for librdkafka's feature detection only (`ApiKey::advertised`).
            let response = if !ApiKey::Produce.versions().contains(v) {
                (ctx.log)(format!(
                    "Produce v{v} carries message format v0/v1, which zc does not store: \
                     answered UNSUPPORTED_VERSION (clients that saw ApiVersions use v3+)"
                ));
                refuse_produce(
                    req,
                    ErrorCode::UnsupportedVersion,
                    "Produce v0-v2 (message format v0/v1) is not supported: use v3+",
                )
            } else if let Some(tx) = req.transactional_id.clone() {
                let why = transactions_refused("Produce", &tx);
                (ctx.log)(why.clone());
                refuse_produce(req, TRANSACTIONS_REFUSED, &why)
            } else {
                produce(ctx, req)
            };
            if acks == 0 {
                Reply::Nothing
            } else {
                frame(Response::Produce(response))
            }
        }
        RequestBody::Fetch(req) => fetch(ctx, &req, id, v),
        RequestBody::CreateTopics(req) => {
            frame(Response::CreateTopics(admin::create_topics(ctx, &req)))
        }
        RequestBody::CreatePartitions(req) => frame(Response::CreatePartitions(
            admin::create_partitions(ctx, &req),
        )),
        RequestBody::DeleteTopics(req) => {
            frame(Response::DeleteTopics(admin::delete_topics(ctx, &req)))
        }
        RequestBody::DescribeConfigs(req) => frame(Response::DescribeConfigs(
            admin::describe_configs(ctx, &req),
        )),
        body @ (RequestBody::FindCoordinator(_)
        | RequestBody::JoinGroup(_)
        | RequestBody::SyncGroup(_)
        | RequestBody::Heartbeat(_)
        | RequestBody::LeaveGroup(_)
        | RequestBody::OffsetCommit(_)
        | RequestBody::OffsetFetch(_)
        | RequestBody::ListGroups(_)
        | RequestBody::DescribeGroups(_)
        | RequestBody::DeleteGroups(_)) => {
            let client_id = request.header.client_id.as_deref().unwrap_or("");
            frame(coordinator::handle(ctx, body, v, client_id, peer, via))
        }
    }
}

/// Metadata: one broker (us), the topics asked for (or all), auto-creating unknown ones
/// when both the broker and the request allow it (below v4 the request always allows it).
fn metadata(ctx: &Context, req: &MetadataRequest, version: i16, via: Listener) -> MetadataResponse {
    let topics = match &req.topics {
        None => ctx
            .topics
            .all()
            .into_iter()
            .map(|(n, t)| topic_metadata(&n, Ok(&t)))
            .collect(),
        Some(names) => {
            let may_create = ctx.auto_create && (version < 4 || req.allow_auto_topic_creation);
            let mut creations = Creations::default();
            let topics = names
                .iter()
                .map(|name| {
                    let found = match ctx.topics.get(name) {
                        Some(t) => Ok(t),
                        None if may_create => creations.create(ctx, name).map_err(|(code, _)| code),
                        None if crate::log::partition::validate_topic(name).is_err() => {
                            Err(ErrorCode::InvalidTopicException)
                        }
                        None => Err(ErrorCode::UnknownTopicOrPartition),
                    };
                    topic_metadata(name, found.as_ref())
                })
                .collect();
            creations.log_refusals(ctx, "Metadata");
            topics
        }
    };
    let (host, port) = ctx.endpoint(via);
    MetadataResponse {
        throttle_time_ms: 0,
        brokers: vec![MetadataBroker {
            node_id: NODE_ID,
            host,
            port,
            rack: None,
        }],
        cluster_id: Some("zc".into()),
        controller_id: NODE_ID,
        topics,
        cluster_authorized_operations: AUTHORIZED_OPERATIONS_OMITTED,
    }
}

/// The topics one request creates, held to `--max-creations-per-request`, and the
/// refusals, logged once per request rather than once per topic.
#[derive(Default)]
struct Creations {
    made: usize,
    refused: usize,
    first_refusal: Option<String>,
}

impl Creations {
    /// The topic, created if it does not exist and the caps allow; otherwise the error
    /// code for the client and the reason.
    fn create(&mut self, ctx: &Context, name: &str) -> Result<Arc<Topic>, (ErrorCode, String)> {
        if let Some(t) = ctx.topics.get(name) {
            return Ok(t);
        }
        let max = ctx.topics.limits.max_creations_per_request;
        let refused = if self.made >= max {
            (
                ErrorCode::ThrottlingQuotaExceeded,
                format!("this request already created {max} topics (--max-creations-per-request)"),
            )
        } else {
            match ctx.topics.get_or_create(name) {
                Ok(t) => {
                    self.made += 1;
                    return Ok(t);
                }
                Err(CreateError::InvalidName(why)) => {
                    return Err((ErrorCode::InvalidTopicException, why));
                }
                Err(
                    e @ (CreateError::TooManyPartitions { .. }
                    | CreateError::OutOfDescriptors { .. }),
                ) => (ErrorCode::PolicyViolation, e.to_string()),
                Err(e @ CreateError::Io(_)) => (ErrorCode::UnknownServerError, e.to_string()),
            }
        };
        self.refused += 1;
        self.first_refusal
            .get_or_insert_with(|| format!("{name}: {}", refused.1));
        Err(refused)
    }

    fn log_refusals(&self, ctx: &Context, api: &str) {
        if let Some(first) = &self.first_refusal {
            (ctx.log)(format!(
                "{api}: {} topic creation(s) refused, the first: {first}",
                self.refused
            ));
        }
    }
}

fn topic_metadata(name: &str, topic: Result<&Arc<Topic>, &ErrorCode>) -> MetadataTopic {
    let (error_code, partitions) = match topic {
        Ok(t) => (
            ErrorCode::None,
            (0..t.partitions.len() as i32)
                .map(|p| MetadataPartition {
                    error_code: ErrorCode::None,
                    partition_index: p,
                    leader_id: NODE_ID,
                    leader_epoch: 0,
                    replica_nodes: vec![NODE_ID],
                    isr_nodes: vec![NODE_ID],
                    offline_replicas: Vec::new(),
                })
                .collect(),
        ),
        Err(code) => (*code, Vec::new()),
    };
    MetadataTopic {
        error_code,
        name: name.to_owned(),
        // Kafka marks its internal topics so that clients leave them out of wildcard
        // subscriptions and listings.
        is_internal: name == coordinator::offsets_topic::OFFSETS_TOPIC,
        partitions,
        topic_authorized_operations: AUTHORIZED_OPERATIONS_OMITTED,
    }
}

/// ListOffsets: earliest (-2) is the log start, latest (-1) the high watermark, anything
/// else the first offset with a timestamp at or after it (-1 when there is none).
fn list_offsets(ctx: &Context, req: &ListOffsetsRequest) -> ListOffsetsResponse {
    let topics = req
        .topics
        .iter()
        .map(|t| ListOffsetsTopicResponse {
            name: t.name.clone(),
            partitions: t
                .partitions
                .iter()
                .map(|p| {
                    let index = p.partition_index;
                    let topic = ctx.topics.get(&t.name);
                    let Some(log) = topic.as_ref().and_then(|t| t.partition(index)) else {
                        return ListOffsetsPartitionResponse::error(
                            index,
                            ErrorCode::UnknownTopicOrPartition,
                        );
                    };
                    match p.timestamp {
                        EARLIEST_TIMESTAMP => ListOffsetsPartitionResponse::found(
                            index,
                            -1,
                            log.log_start_offset(),
                            0,
                        ),
                        LATEST_TIMESTAMP => {
                            ListOffsetsPartitionResponse::found(index, -1, log.high_watermark(), 0)
                        }
                        ts => match log.offset_for_timestamp(ts) {
                            Ok(Some((offset, found_ts))) => {
                                ListOffsetsPartitionResponse::found(index, found_ts, offset, 0)
                            }
                            Ok(None) => ListOffsetsPartitionResponse::found(index, -1, -1, 0),
                            Err(_) => ListOffsetsPartitionResponse::error(
                                index,
                                ErrorCode::UnknownServerError,
                            ),
                        },
                    }
                })
                .collect(),
        })
        .collect();
    ListOffsetsResponse {
        throttle_time_ms: 0,
        topics,
    }
}

/// Produce: validate and append each partition's batches; a partition either gets all
/// its batches or none.
fn produce(ctx: &Context, req: ProduceRequest<'_>) -> ProduceResponse {
    // The topics appended to, whose waiting fetches are woken once all is done.
    let mut appended: Vec<Arc<Topic>> = Vec::new();
    let mut creations = Creations::default();
    let responses = req
        .topic_data
        .into_iter()
        .map(|t| {
            let topic = if ctx.auto_create {
                creations.create(ctx, &t.name)
            } else {
                ctx.topics.get(&t.name).ok_or_else(|| {
                    (
                        ErrorCode::UnknownTopicOrPartition,
                        format!("topic {} does not exist", t.name),
                    )
                })
            };
            let partition_responses = t
                .partition_data
                .into_iter()
                .map(|p| {
                    let topic = match &topic {
                        Ok(topic) => topic,
                        Err((code, why)) => {
                            return ProducePartitionResponse::error(
                                p.index,
                                *code,
                                Some(why.clone()),
                            );
                        }
                    };
                    let Some(mut log) = topic.partition(p.index) else {
                        return ProducePartitionResponse::error(
                            p.index,
                            ErrorCode::UnknownTopicOrPartition,
                            Some(format!("{} has no partition {}", t.name, p.index)),
                        );
                    };
                    let Some(records) = p.records else {
                        return ProducePartitionResponse::error(
                            p.index,
                            ErrorCode::InvalidRecord,
                            Some("null records".into()),
                        );
                    };
                    // The frame is borrowed and immutable; the log rewrites offsets in place.
                    let mut batches = records.to_vec();
                    match log.append_batches(&mut batches) {
                        Ok(info) => {
                            if !appended.iter().any(|a| Arc::ptr_eq(a, topic)) {
                                appended.push(topic.clone());
                            }
                            ctx.stats.produce_records.fetch_add(info.records, Relaxed);
                            ProducePartitionResponse::appended(
                                p.index,
                                info.base_offset,
                                log.log_start_offset(),
                            )
                        }
                        Err(e) => {
                            let code = match &e {
                                AppendError::Corrupt { .. } => ErrorCode::CorruptMessage,
                                AppendError::Invalid { .. } => ErrorCode::InvalidRecord,
                                AppendError::TooLarge { .. } => ErrorCode::MessageTooLarge,
                                AppendError::StaleEpoch { .. } => ErrorCode::InvalidProducerEpoch,
                                AppendError::OutOfOrder { .. } => {
                                    ErrorCode::OutOfOrderSequenceNumber
                                }
                                AppendError::Io(_) => {
                                    // The client's fault is the client's to see; the disk's
                                    // is the operator's too.
                                    (ctx.log)(format!(
                                        "produce to {}-{}: {e}: answered KAFKA_STORAGE_ERROR, \
                                         nothing appended",
                                        t.name, p.index
                                    ));
                                    ErrorCode::KafkaStorageError
                                }
                            };
                            ProducePartitionResponse::error(p.index, code, Some(e.to_string()))
                        }
                    }
                })
                .collect();
            ProduceTopicResponse {
                name: t.name,
                partition_responses,
            }
        })
        .collect();
    creations.log_refusals(ctx, "Produce");
    for topic in &appended {
        ctx.topics.notify_appended(topic);
    }
    ProduceResponse {
        responses,
        throttle_time_ms: 0,
    }
}

/// What a transactional producer gets: zc has no transaction coordinator. Kafka answers a
/// transactional id it will not serve with TRANSACTIONAL_ID_AUTHORIZATION_FAILED, which
/// clients treat as fatal (no retries) and print with the transactional id.
const TRANSACTIONS_REFUSED: ErrorCode = ErrorCode::TransactionalIdAuthorizationFailed;

fn transactions_refused(api: &str, transactional_id: &str) -> String {
    format!(
        "{api} with transactional.id {transactional_id:?}: zc serve does not support \
         transactions (no transaction coordinator): answered TRANSACTIONAL_ID_AUTHORIZATION_FAILED; \
         drop transactional.id (idempotent producers work)"
    )
}

/// The same error for every partition of a Produce request, nothing appended.
fn refuse_produce(req: ProduceRequest<'_>, code: ErrorCode, why: &str) -> ProduceResponse {
    ProduceResponse {
        responses: req
            .topic_data
            .into_iter()
            .map(|t| ProduceTopicResponse {
                name: t.name,
                partition_responses: t
                    .partition_data
                    .into_iter()
                    .map(|p| ProducePartitionResponse::error(p.index, code, Some(why.to_owned())))
                    .collect(),
            })
            .collect(),
        throttle_time_ms: 0,
    }
}

/// Fetch: for each partition, the file region of whole batches from the fetch offset,
/// within the partition's and the response's byte budgets (the first partition with
/// data always gets at least one whole batch, KIP-74). Waits up to `max_wait_ms` for
/// `min_bytes` to be available.
fn fetch(ctx: &Context, req: &FetchRequest, id: i32, version: i16) -> Reply {
    let wait = Duration::from_millis(req.max_wait_ms.max(0) as u64).min(MAX_FETCH_WAIT);
    let deadline = Instant::now() + wait;
    // A fetch of one existing topic waits on that topic's signal only; anything else (several
    // topics, or one not created yet) on the broker-wide one.
    let single = match req.topics.as_slice() {
        [t] => ctx.topics.get(&t.topic),
        _ => None,
    };
    let signal = single
        .as_ref()
        .map_or_else(|| ctx.topics.any_append(), |t| &t.appended);
    loop {
        let generation = signal.generation();
        let (response, files, bytes) = fetch_once(ctx, req);
        let now = Instant::now();
        if bytes >= req.min_bytes.max(1) as u64 || now >= deadline || ctx.shutdown.load(Relaxed) {
            return match encode_fetch_response(id, version, &response) {
                Ok(parts) => Reply::Fetch { parts, files },
                Err(_) => Reply::Frame(flatten(
                    encode_fetch_response(id, version, &too_large(req))
                        .expect("an error-only response has no records to overflow"),
                )),
            };
        }
        // Wake up on the next append, at the deadline, or to notice a shutdown.
        signal.wait(generation, (deadline - now).min(Duration::from_millis(200)));
    }
}

fn fetch_once(ctx: &Context, req: &FetchRequest) -> (FetchResponse, Vec<Arc<File>>, u64) {
    let mut files: Vec<Arc<File>> = Vec::new();
    let mut budget = req.max_bytes.max(0) as u64;
    let mut total = 0u64;
    let responses = req
        .topics
        .iter()
        .map(|t| {
            let topic = ctx.topics.get(&t.topic);
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let Some(log) = topic
                        .as_ref()
                        .and_then(|topic| topic.partition(p.partition))
                    else {
                        return FetchPartitionResponse::error(
                            p.partition,
                            ErrorCode::UnknownTopicOrPartition,
                            -1,
                            -1,
                        );
                    };
                    let (hw, start) = (log.high_watermark(), log.log_start_offset());
                    // KIP-74: until some partition has data, a batch larger than the budget
                    // is still returned whole; after that, the budget is a hard limit.
                    let max = (p.partition_max_bytes.max(0) as u64).min(budget);
                    if total > 0 && max == 0 {
                        return FetchPartitionResponse::with_records(
                            p.partition,
                            hw,
                            start,
                            Vec::new(),
                        );
                    }
                    match log.read(p.fetch_offset, max) {
                        Ok(None) => {
                            FetchPartitionResponse::with_records(p.partition, hw, start, Vec::new())
                        }
                        Ok(Some(slice)) => {
                            total += slice.len;
                            budget = budget.saturating_sub(slice.len);
                            files.push(slice.file);
                            let region = FileRegion {
                                segment: files.len() - 1,
                                position: slice.position,
                                len: slice.len,
                            };
                            FetchPartitionResponse::with_records(
                                p.partition,
                                hw,
                                start,
                                vec![region],
                            )
                        }
                        Err(ReadError::OffsetOutOfRange { .. }) => FetchPartitionResponse::error(
                            p.partition,
                            ErrorCode::OffsetOutOfRange,
                            hw,
                            start,
                        ),
                        Err(ReadError::Io(_)) => FetchPartitionResponse::error(
                            p.partition,
                            ErrorCode::UnknownServerError,
                            hw,
                            start,
                        ),
                    }
                })
                .collect();
            FetchTopicResponse {
                topic: t.topic.clone(),
                partitions,
            }
        })
        .collect();
    (
        FetchResponse {
            throttle_time_ms: 0,
            error_code: ErrorCode::None,
            session_id: 0,
            responses,
        },
        files,
        total,
    )
}

/// The answer when the records would not fit the wire's int32 lengths: every partition
/// gets an error instead of a corrupt frame.
fn too_large(req: &FetchRequest) -> FetchResponse {
    FetchResponse {
        throttle_time_ms: 0,
        error_code: ErrorCode::None,
        session_id: 0,
        responses: req
            .topics
            .iter()
            .map(|t| FetchTopicResponse {
                topic: t.topic.clone(),
                partitions: t
                    .partitions
                    .iter()
                    .map(|p| {
                        FetchPartitionResponse::error(
                            p.partition,
                            ErrorCode::RecordListTooLarge,
                            -1,
                            -1,
                        )
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// An error-only Fetch response has no file regions: its parts are all bytes.
fn flatten(parts: Vec<Part>) -> Vec<u8> {
    parts
        .into_iter()
        .flat_map(|p| match p {
            Part::Bytes(b) => b,
            Part::File(_) => Vec::new(),
        })
        .collect()
}
