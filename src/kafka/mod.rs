//! The Kafka wire protocol, the subset `zc serve` speaks, as pure functions over bytes.
//!
//! Nothing in this module touches a socket or a file. The server reads a frame, hands the
//! bytes to [`decode_request`], gives the typed [`Request`] to a handler, and writes what
//! [`encode_response`] (or [`encode_fetch_response`]) returns. Keeping the codec pure is what
//! makes it testable byte for byte and fuzzable: any `&[u8]` goes in, a value or a
//! [`DecodeError`] comes out, never a panic.
//!
//! # Framing
//!
//! Kafka runs over plain TCP. Every message, in both directions, is a *frame*:
//!
//! ```text
//! request:  ┌──────────┬─────────┬─────────────┬────────────────┬───────────┬──────────┐
//!           │int32 size│api_key  │api_version  │correlation_id  │client_id  │ body ... │
//!           └──────────┴─────────┴─────────────┴────────────────┴───────────┴──────────┘
//!                       └──────────── request header (v1) ───────────────┘
//! response: ┌──────────┬────────────────┬──────────┐
//!           │int32 size│correlation_id  │ body ... │     (response header v0)
//!           └──────────┴────────────────┴──────────┘
//! ```
//!
//! `size` counts the bytes after itself. The server answers requests of one connection in
//! order; the correlation id lets the client match answers to the requests it pipelined.
//!
//! # Why versions matter
//!
//! A frame has no field names, so the bytes only mean something once you know the API key
//! *and the version*: Fetch v4 and Fetch v11 requests have different fields in different
//! places. Every API therefore has a supported range, [`SUPPORTED_APIS`], and this one
//! table is both what we advertise to clients (the ApiVersions response) and what we accept
//! (everything else is refused before its body is parsed). If the two ever disagreed, a
//! client would send a version we advertised but cannot parse. (One deliberate exception,
//! Produce v0-v2, is advertised, parsed and answered with an error: [`ApiKey::advertised`].)
//!
//! # Why ApiVersions is special
//!
//! A client does not know which versions a broker speaks until it has asked, so the *asking*
//! must work whatever version the client picked. For every other API an unsupported version
//! is a protocol violation and Kafka closes the connection; for ApiVersions it answers in the
//! oldest shape (v0) with `UNSUPPORTED_VERSION` and its own supported range, and the client
//! retries with a version from that range ([`DecodeError::reply`] gives those bytes).
//!
//! # Why Fetch is built as parts
//!
//! A Fetch response is mostly record batches that already sit, byte for byte, in a segment
//! file. Instead of reading them into memory to build one big buffer, [`encode_fetch_response`]
//! returns a list of [`Part`]s: small byte buffers for the fields, and file regions for the
//! records, which the server hands to the socket with sendfile/splice (zero-copy). That only
//! works because every length in front of the records can be computed from the region sizes
//! before a single record byte is read.
//!
//! Files: [`primitives`] (types), [`header`], then one file per API (Heartbeat and
//! LeaveGroup share [`heartbeat`], their layouts being the same).

pub mod api_versions;
pub mod codes;
pub mod consumer_protocol;
pub mod create_partitions;
pub mod create_topics;
pub mod delete_groups;
pub mod delete_topics;
pub mod describe_configs;
pub mod describe_groups;
pub mod fetch;
pub mod find_coordinator;
pub mod header;
pub mod heartbeat;
pub mod init_producer_id;
pub mod join_group;
pub mod list_groups;
pub mod list_offsets;
pub mod metadata;
pub mod offset_commit;
pub mod offset_fetch;
pub mod primitives;
pub mod produce;
pub mod sync_group;

#[cfg(test)]
mod admin_tests;
#[cfg(test)]
mod group_tests;
#[cfg(test)]
mod response_tests;
#[cfg(test)]
pub(crate) mod tests;
#[cfg(test)]
mod thirdparty_tests;

use std::fmt;

pub use api_versions::{
    ApiVersion, ApiVersionsRequest, ApiVersionsResponse, unsupported_api_versions_response,
};
pub use create_partitions::{
    CreatePartitionsRequest, CreatePartitionsResponse, CreatePartitionsTopic,
};
pub use create_topics::{
    CreatableTopic, CreatableTopicResult, CreateTopicsRequest, CreateTopicsResponse,
};
pub use delete_groups::{DeleteGroupsRequest, DeleteGroupsResponse};
pub use delete_topics::{DeleteTopicsRequest, DeleteTopicsResponse};
pub use describe_configs::{
    ConfigEntry, ConfigSource, DescribeConfigsRequest, DescribeConfigsResource,
    DescribeConfigsResponse, DescribeConfigsResult,
};
pub use describe_groups::{
    DescribeGroupsRequest, DescribeGroupsResponse, DescribedGroup, DescribedMember,
};
pub use fetch::{
    AbortedTransaction, FetchPartition, FetchPartitionResponse, FetchRequest, FetchResponse,
    FetchTopic, FetchTopicResponse, FetchedPartition, FetchedResponse, FetchedTopic, FileRegion,
    ForgottenTopic, FrameTooLarge, Part, encode_fetch_response,
};
pub use find_coordinator::{Coordinator, FindCoordinatorRequest, FindCoordinatorResponse};
pub use header::{RequestHeader, RequestIds};
pub use heartbeat::{
    GroupErrorResponse, HeartbeatRequest, HeartbeatResponse, LeaveGroupRequest, LeaveGroupResponse,
};
pub use init_producer_id::{InitProducerIdRequest, InitProducerIdResponse};
pub use join_group::{JoinGroupMember, JoinGroupProtocol, JoinGroupRequest, JoinGroupResponse};
pub use list_groups::{ListGroupsRequest, ListGroupsResponse};
pub use list_offsets::{
    ListOffsetsPartition, ListOffsetsPartitionResponse, ListOffsetsRequest, ListOffsetsResponse,
    ListOffsetsTopic, ListOffsetsTopicResponse,
};
pub use metadata::{
    MetadataBroker, MetadataPartition, MetadataRequest, MetadataResponse, MetadataTopic,
};
pub use offset_commit::{
    OffsetCommitPartition, OffsetCommitRequest, OffsetCommitResponse, OffsetCommitTopic,
    OffsetCommitTopicResponse,
};
pub use offset_fetch::{OffsetFetchPartition, OffsetFetchRequest, OffsetFetchResponse};
pub use primitives::{FieldError, FieldErrorKind, TaggedField};
pub use produce::{
    BatchIndexAndErrorMessage, ProducePartition, ProducePartitionResponse, ProduceRequest,
    ProduceResponse, ProduceTopic, ProduceTopicResponse,
};
pub use sync_group::{SyncGroupAssignment, SyncGroupRequest, SyncGroupResponse};

pub use codes::{ApiKey, ErrorCode, SUPPORTED_APIS, VersionRange};
use primitives::{FieldResult, Reader, Writer};

/// Why a frame did not become a [`Request`]. The variants differ in what the server must
/// do, which is the point of keeping them apart (docs/kafka-protocol.md §1, §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// An API key we do not implement. Kafka closes the connection: log (by name, with
    /// what zc lacks: [`codes::why_unsupported`]) and close. No error response is possible:
    /// each API's response has its own layout, which a broker that does not implement the
    /// API cannot be trusted to write, and the client would read anything else as garbage.
    UnknownApiKey(RequestIds),
    /// A version outside [`SUPPORTED_APIS`] for an API other than ApiVersions: log and close.
    UnsupportedVersion(RequestIds),
    /// ApiVersions at a version we do not speak: *reply* with [`DecodeError::reply`] (a v0
    /// body with UNSUPPORTED_VERSION) and keep the connection; the client will retry.
    UnsupportedApiVersionsVersion(RequestIds),
    /// The bytes do not match the layout of the announced API and version (`ids` is `None`
    /// when even the 8-byte fixed header was cut short). Kafka logs and closes.
    Malformed {
        ids: Option<RequestIds>,
        error: FieldError,
    },
}

impl DecodeError {
    /// The frame to send back before continuing, if this error has one. `None` means:
    /// log the error and close the connection.
    pub fn reply(&self) -> Option<Vec<u8>> {
        match self {
            DecodeError::UnsupportedApiVersionsVersion(ids) => {
                Some(unsupported_api_versions_response(ids.correlation_id))
            }
            _ => None,
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::UnknownApiKey(ids) => match codes::kafka_api_name(ids.api_key) {
                Some(name) => write!(
                    f,
                    "{name} (API key {}, version {}, correlation id {}) is not supported: {}; \
                     zc serve does not advertise it in ApiVersions, and closes the \
                     connection as Kafka does for an API it does not offer",
                    ids.api_key,
                    ids.api_version,
                    ids.correlation_id,
                    codes::why_unsupported(ids.api_key)
                ),
                None => write!(
                    f,
                    "unknown API key {} (version {}, correlation id {}): no Kafka API has it",
                    ids.api_key, ids.api_version, ids.correlation_id
                ),
            },
            DecodeError::UnsupportedVersion(ids)
            | DecodeError::UnsupportedApiVersionsVersion(ids) => {
                let (name, range) = match ApiKey::from_code(ids.api_key) {
                    Some(key) => (key.name(), key.versions()),
                    None => ("?", VersionRange { min: 0, max: -1 }),
                };
                write!(
                    f,
                    "unsupported {name} version {} (we speak {}..={}; correlation id {})",
                    ids.api_version, range.min, range.max, ids.correlation_id
                )
            }
            DecodeError::Malformed { ids: None, error } => {
                write!(f, "malformed request header: {error}")
            }
            DecodeError::Malformed {
                ids: Some(ids),
                error,
            } => {
                let name = ApiKey::from_code(ids.api_key).map_or("?", ApiKey::name);
                write!(
                    f,
                    "malformed {name} v{} request (correlation id {}): {error}",
                    ids.api_version, ids.correlation_id
                )
            }
        }
    }
}

impl std::error::Error for DecodeError {}

/// A decoded request. It borrows from the frame: Produce's record batches are not copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request<'a> {
    pub header: RequestHeader<'a>,
    pub body: RequestBody<'a>,
}

/// The body of a request, per API. Each struct holds the fields of every supported
/// version; a field the request's version lacks holds Kafka's schema default (documented
/// on the field).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestBody<'a> {
    Produce(ProduceRequest<'a>),
    Fetch(FetchRequest),
    ListOffsets(ListOffsetsRequest),
    Metadata(MetadataRequest),
    ApiVersions(ApiVersionsRequest<'a>),
    InitProducerId(InitProducerIdRequest),
    CreateTopics(CreateTopicsRequest),
    DeleteTopics(DeleteTopicsRequest),
    DescribeConfigs(DescribeConfigsRequest),
    CreatePartitions(CreatePartitionsRequest),
    OffsetCommit(OffsetCommitRequest),
    OffsetFetch(OffsetFetchRequest),
    FindCoordinator(FindCoordinatorRequest),
    JoinGroup(JoinGroupRequest),
    Heartbeat(HeartbeatRequest),
    LeaveGroup(LeaveGroupRequest),
    SyncGroup(SyncGroupRequest),
    DescribeGroups(DescribeGroupsRequest),
    ListGroups(ListGroupsRequest),
    DeleteGroups(DeleteGroupsRequest),
}

impl RequestBody<'_> {
    pub fn api_key(&self) -> ApiKey {
        match self {
            RequestBody::Produce(_) => ApiKey::Produce,
            RequestBody::Fetch(_) => ApiKey::Fetch,
            RequestBody::ListOffsets(_) => ApiKey::ListOffsets,
            RequestBody::Metadata(_) => ApiKey::Metadata,
            RequestBody::ApiVersions(_) => ApiKey::ApiVersions,
            RequestBody::InitProducerId(_) => ApiKey::InitProducerId,
            RequestBody::CreateTopics(_) => ApiKey::CreateTopics,
            RequestBody::DeleteTopics(_) => ApiKey::DeleteTopics,
            RequestBody::DescribeConfigs(_) => ApiKey::DescribeConfigs,
            RequestBody::CreatePartitions(_) => ApiKey::CreatePartitions,
            RequestBody::OffsetCommit(_) => ApiKey::OffsetCommit,
            RequestBody::OffsetFetch(_) => ApiKey::OffsetFetch,
            RequestBody::FindCoordinator(_) => ApiKey::FindCoordinator,
            RequestBody::JoinGroup(_) => ApiKey::JoinGroup,
            RequestBody::Heartbeat(_) => ApiKey::Heartbeat,
            RequestBody::LeaveGroup(_) => ApiKey::LeaveGroup,
            RequestBody::SyncGroup(_) => ApiKey::SyncGroup,
            RequestBody::DescribeGroups(_) => ApiKey::DescribeGroups,
            RequestBody::ListGroups(_) => ApiKey::ListGroups,
            RequestBody::DeleteGroups(_) => ApiKey::DeleteGroups,
        }
    }
}

/// Decodes one request frame: `frame` is the payload after the int32 size prefix.
///
/// Order matters: the API key and version are checked *before* the rest of the header, so
/// an unsupported ApiVersions request is answered whatever follows (a newer client may send
/// a header or body layout we do not know).
pub fn decode_request(frame: &[u8]) -> Result<Request<'_>, DecodeError> {
    let mut r = Reader::new(frame);
    let ids =
        RequestIds::decode(&mut r).map_err(|error| DecodeError::Malformed { ids: None, error })?;
    let Some(api_key) = ApiKey::from_code(ids.api_key) else {
        return Err(DecodeError::UnknownApiKey(ids));
    };
    if !api_key.advertised().contains(ids.api_version) {
        return Err(if api_key == ApiKey::ApiVersions {
            DecodeError::UnsupportedApiVersionsVersion(ids)
        } else {
            DecodeError::UnsupportedVersion(ids)
        });
    }
    let malformed = |error| DecodeError::Malformed {
        ids: Some(ids),
        error,
    };
    let header = RequestHeader::decode_rest(&mut r, ids, api_key).map_err(malformed)?;
    let v = ids.api_version;
    let body = match api_key {
        ApiKey::Produce => ProduceRequest::decode(&mut r, v).map(RequestBody::Produce),
        ApiKey::Fetch => FetchRequest::decode(&mut r, v).map(RequestBody::Fetch),
        ApiKey::ListOffsets => ListOffsetsRequest::decode(&mut r, v).map(RequestBody::ListOffsets),
        ApiKey::Metadata => MetadataRequest::decode(&mut r, v).map(RequestBody::Metadata),
        ApiKey::ApiVersions => ApiVersionsRequest::decode(&mut r, v).map(RequestBody::ApiVersions),
        ApiKey::InitProducerId => {
            InitProducerIdRequest::decode(&mut r, v).map(RequestBody::InitProducerId)
        }
        ApiKey::CreateTopics => {
            CreateTopicsRequest::decode(&mut r, v).map(RequestBody::CreateTopics)
        }
        ApiKey::DeleteTopics => {
            DeleteTopicsRequest::decode(&mut r, v).map(RequestBody::DeleteTopics)
        }
        ApiKey::DescribeConfigs => {
            DescribeConfigsRequest::decode(&mut r, v).map(RequestBody::DescribeConfigs)
        }
        ApiKey::CreatePartitions => {
            CreatePartitionsRequest::decode(&mut r, v).map(RequestBody::CreatePartitions)
        }
        ApiKey::OffsetCommit => {
            OffsetCommitRequest::decode(&mut r, v).map(RequestBody::OffsetCommit)
        }
        ApiKey::OffsetFetch => OffsetFetchRequest::decode(&mut r, v).map(RequestBody::OffsetFetch),
        ApiKey::FindCoordinator => {
            FindCoordinatorRequest::decode(&mut r, v).map(RequestBody::FindCoordinator)
        }
        ApiKey::JoinGroup => JoinGroupRequest::decode(&mut r, v).map(RequestBody::JoinGroup),
        ApiKey::Heartbeat => HeartbeatRequest::decode(&mut r, v).map(RequestBody::Heartbeat),
        ApiKey::LeaveGroup => LeaveGroupRequest::decode(&mut r, v).map(RequestBody::LeaveGroup),
        ApiKey::SyncGroup => SyncGroupRequest::decode(&mut r, v).map(RequestBody::SyncGroup),
        ApiKey::DescribeGroups => {
            DescribeGroupsRequest::decode(&mut r, v).map(RequestBody::DescribeGroups)
        }
        ApiKey::ListGroups => ListGroupsRequest::decode(&mut r, v).map(RequestBody::ListGroups),
        ApiKey::DeleteGroups => {
            DeleteGroupsRequest::decode(&mut r, v).map(RequestBody::DeleteGroups)
        }
    }
    .map_err(malformed)?;
    r.finish(api_key.name()).map_err(malformed)?;
    Ok(Request { header, body })
}

/// Encodes a request frame (size prefix included) as a client sends it. The broker never
/// sends requests; this is here for tests, fuzz seeds and the `zc produce`/`zc consume`
/// clients. `version` must be one the body's API supports; fields absent from that version
/// are not written.
pub fn encode_request(
    correlation_id: i32,
    client_id: Option<&str>,
    version: i16,
    body: &RequestBody<'_>,
) -> Vec<u8> {
    let api_key = body.api_key();
    let mut w = Writer::new();
    w.i32(0); // size, patched below
    let header = RequestHeader {
        api_key,
        api_version: version,
        correlation_id,
        client_id: client_id.map(str::to_owned),
        tagged_fields: Vec::new(),
    };
    header.encode(&mut w);
    match body {
        RequestBody::Produce(b) => b.encode(&mut w, version),
        RequestBody::Fetch(b) => b.encode(&mut w, version),
        RequestBody::ListOffsets(b) => b.encode(&mut w, version),
        RequestBody::Metadata(b) => b.encode(&mut w, version),
        RequestBody::ApiVersions(b) => b.encode(&mut w, version),
        RequestBody::InitProducerId(b) => b.encode(&mut w, version),
        RequestBody::CreateTopics(b) => b.encode(&mut w, version),
        RequestBody::DeleteTopics(b) => b.encode(&mut w, version),
        RequestBody::DescribeConfigs(b) => b.encode(&mut w, version),
        RequestBody::CreatePartitions(b) => b.encode(&mut w, version),
        RequestBody::OffsetCommit(b) => b.encode(&mut w, version),
        RequestBody::OffsetFetch(b) => b.encode(&mut w, version),
        RequestBody::FindCoordinator(b) => b.encode(&mut w, version),
        RequestBody::JoinGroup(b) => b.encode(&mut w, version),
        RequestBody::Heartbeat(b) => b.encode(&mut w, version),
        RequestBody::LeaveGroup(b) => b.encode(&mut w, version),
        RequestBody::SyncGroup(b) => b.encode(&mut w, version),
        RequestBody::DescribeGroups(b) => b.encode(&mut w, version),
        RequestBody::ListGroups(b) => b.encode(&mut w, version),
        RequestBody::DeleteGroups(b) => b.encode(&mut w, version),
    }
    header::finish_frame(w)
}

/// A response the broker sends as one buffer. Fetch is not here: it goes through
/// [`encode_fetch_response`] so its records can stay in the segment files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    Produce(ProduceResponse),
    ListOffsets(ListOffsetsResponse),
    Metadata(MetadataResponse),
    ApiVersions(ApiVersionsResponse),
    InitProducerId(InitProducerIdResponse),
    CreateTopics(CreateTopicsResponse),
    DeleteTopics(DeleteTopicsResponse),
    DescribeConfigs(DescribeConfigsResponse),
    CreatePartitions(CreatePartitionsResponse),
    OffsetCommit(OffsetCommitResponse),
    OffsetFetch(OffsetFetchResponse),
    FindCoordinator(FindCoordinatorResponse),
    JoinGroup(JoinGroupResponse),
    Heartbeat(GroupErrorResponse),
    LeaveGroup(GroupErrorResponse),
    SyncGroup(SyncGroupResponse),
    DescribeGroups(DescribeGroupsResponse),
    ListGroups(ListGroupsResponse),
    DeleteGroups(DeleteGroupsResponse),
}

impl Response {
    pub fn api_key(&self) -> ApiKey {
        match self {
            Response::Produce(_) => ApiKey::Produce,
            Response::ListOffsets(_) => ApiKey::ListOffsets,
            Response::Metadata(_) => ApiKey::Metadata,
            Response::ApiVersions(_) => ApiKey::ApiVersions,
            Response::InitProducerId(_) => ApiKey::InitProducerId,
            Response::CreateTopics(_) => ApiKey::CreateTopics,
            Response::DeleteTopics(_) => ApiKey::DeleteTopics,
            Response::DescribeConfigs(_) => ApiKey::DescribeConfigs,
            Response::CreatePartitions(_) => ApiKey::CreatePartitions,
            Response::OffsetCommit(_) => ApiKey::OffsetCommit,
            Response::OffsetFetch(_) => ApiKey::OffsetFetch,
            Response::FindCoordinator(_) => ApiKey::FindCoordinator,
            Response::JoinGroup(_) => ApiKey::JoinGroup,
            Response::Heartbeat(_) => ApiKey::Heartbeat,
            Response::LeaveGroup(_) => ApiKey::LeaveGroup,
            Response::SyncGroup(_) => ApiKey::SyncGroup,
            Response::DescribeGroups(_) => ApiKey::DescribeGroups,
            Response::ListGroups(_) => ApiKey::ListGroups,
            Response::DeleteGroups(_) => ApiKey::DeleteGroups,
        }
    }
}

/// Encodes a full response frame: int32 size, the response header (the correlation id, and
/// for flexible versions a tagged-field section), and the body in the layout of `version`
/// (the request's version).
pub fn encode_response(correlation_id: i32, version: i16, response: &Response) -> Vec<u8> {
    let header_version = header::response_header_version(response.api_key(), version);
    let mut w = header::begin_response(correlation_id, header_version);
    match response {
        Response::Produce(b) => b.encode(&mut w, version),
        Response::ListOffsets(b) => b.encode(&mut w, version),
        Response::Metadata(b) => b.encode(&mut w, version),
        Response::ApiVersions(b) => b.encode(&mut w, version),
        Response::InitProducerId(b) => b.encode(&mut w, version),
        Response::CreateTopics(b) => b.encode(&mut w, version),
        Response::DeleteTopics(b) => b.encode(&mut w, version),
        Response::DescribeConfigs(b) => b.encode(&mut w, version),
        Response::CreatePartitions(b) => b.encode(&mut w, version),
        Response::OffsetCommit(b) => b.encode(&mut w, version),
        Response::OffsetFetch(b) => b.encode(&mut w, version),
        Response::FindCoordinator(b) => b.encode(&mut w, version),
        Response::JoinGroup(b) => b.encode(&mut w, version),
        Response::Heartbeat(b) => b.encode(&mut w, version),
        Response::LeaveGroup(b) => b.encode(&mut w, version),
        Response::SyncGroup(b) => b.encode(&mut w, version),
        Response::DescribeGroups(b) => b.encode(&mut w, version),
        Response::ListGroups(b) => b.encode(&mut w, version),
        Response::DeleteGroups(b) => b.encode(&mut w, version),
    }
    header::finish_frame(w)
}

/// A response body a client can decode: the mirror image of the broker's encoders, one
/// implementation next to each API's `encode`. `'a` is the frame's lifetime, so a decoded
/// Fetch response can borrow its record bytes instead of copying them.
pub trait DecodeResponse<'a>: Sized {
    /// The API whose responses this type holds.
    const API_KEY: ApiKey;

    /// Reads the body in the layout of `version` (the version of the request it answers).
    /// Fields the version lacks get Kafka's schema defaults, documented on each decoder.
    fn decode(r: &mut Reader<'a>, version: i16) -> FieldResult<Self>;
}

/// Decodes a response frame as a client receives it: `frame` is the payload after the
/// int32 size prefix, i.e. the response header (the correlation id) and the body of `T` at
/// `version`. Leftover bytes are an error, as for requests: they mean client and broker
/// disagree about the layout. Like every decoder here, it never panics on any input.
///
/// The caller must know which request this frame answers; the bytes do not say. That is
/// what the correlation id is for: a client matches it against the request it sent.
pub fn decode_response<'a, T: DecodeResponse<'a>>(
    frame: &'a [u8],
    version: i16,
) -> Result<(i32, T), FieldError> {
    let mut r = Reader::new(frame);
    let header_version = header::response_header_version(T::API_KEY, version);
    let correlation_id = header::decode_response_header(&mut r, header_version)?;
    let body = T::decode(&mut r, version)?;
    r.finish(T::API_KEY.name())?;
    Ok((correlation_id, body))
}

/// Reads an int16 error code. A code this table does not know becomes
/// UNKNOWN_SERVER_ERROR, as Kafka's own Java client does (`Errors.forCode`): a newer broker
/// may send codes we have never heard of, and that must not make the response unreadable.
fn read_error_code(r: &mut Reader<'_>, field: &'static str) -> FieldResult<ErrorCode> {
    let code = r.i16(field)?;
    Ok(ErrorCode::from_code(code).unwrap_or(ErrorCode::UnknownServerError))
}
