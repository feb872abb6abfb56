//! The numbers at the bottom of the protocol: Kafka's API keys, the version ranges zc
//! accepts, and Kafka's error codes with their names.
//!
//! Everything else in [`crate::kafka`] (and the broker, the client, the fuzzers) speaks in
//! these types, so they live alone in this small module that depends on nothing.

use std::fmt;

/// The APIs `zc serve` implements. The numbers are Kafka's API keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApiKey {
    Produce,
    Fetch,
    ListOffsets,
    Metadata,
    ApiVersions,
    CreateTopics,
    DeleteTopics,
    DescribeConfigs,
    CreatePartitions,
    InitProducerId,
    OffsetCommit,
    OffsetFetch,
    FindCoordinator,
    JoinGroup,
    Heartbeat,
    LeaveGroup,
    SyncGroup,
    DescribeGroups,
    ListGroups,
    DeleteGroups,
}

/// An inclusive range of versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VersionRange {
    pub min: i16,
    pub max: i16,
}

impl VersionRange {
    pub const fn contains(self, version: i16) -> bool {
        self.min <= version && version <= self.max
    }
}

/// The single source of truth: what we advertise in ApiVersions and what we accept.
///
/// Why these ranges (docs/kafka-protocol.md §2): Produce starts at 3 and Fetch at 4 because those
/// are the first versions carrying record format v2, the only one our log stores; the maxima
/// are the last non-flexible versions (flexible encodings are only implemented for
/// ApiVersions and FindCoordinator). ApiVersions keeps min 0 because librdkafka's feature
/// detection needs it. Produce is *advertised* from 0 though: see [`ApiKey::advertised`].
///
/// The group APIs stop below the versions that carry `group_instance_id` (static membership,
/// KIP-345), which zc's coordinator does not implement: JoinGroup v5, SyncGroup and
/// Heartbeat v3, LeaveGroup v3, OffsetCommit v7, DescribeGroups v4. A client configured with
/// a group instance id then refuses to start, naming the broker's versions, instead of
/// joining a group that silently ignores the id. OffsetCommit starts at 2 and OffsetFetch at
/// 1, as in Kafka 4. FindCoordinator goes up to v4 (flexible, several keys per request).
pub const SUPPORTED_APIS: [(ApiKey, VersionRange); 20] = [
    (ApiKey::Produce, VersionRange { min: 3, max: 8 }),
    (ApiKey::Fetch, VersionRange { min: 4, max: 11 }),
    (ApiKey::ListOffsets, VersionRange { min: 0, max: 5 }),
    (ApiKey::Metadata, VersionRange { min: 0, max: 8 }),
    (ApiKey::ApiVersions, VersionRange { min: 0, max: 3 }),
    (ApiKey::CreateTopics, VersionRange { min: 0, max: 4 }),
    (ApiKey::DeleteTopics, VersionRange { min: 0, max: 3 }),
    (ApiKey::DescribeConfigs, VersionRange { min: 0, max: 3 }),
    (ApiKey::CreatePartitions, VersionRange { min: 0, max: 1 }),
    (ApiKey::InitProducerId, VersionRange { min: 0, max: 1 }),
    (ApiKey::OffsetCommit, VersionRange { min: 2, max: 6 }),
    (ApiKey::OffsetFetch, VersionRange { min: 1, max: 5 }),
    (ApiKey::FindCoordinator, VersionRange { min: 0, max: 4 }),
    (ApiKey::JoinGroup, VersionRange { min: 0, max: 4 }),
    (ApiKey::Heartbeat, VersionRange { min: 0, max: 2 }),
    (ApiKey::LeaveGroup, VersionRange { min: 0, max: 2 }),
    (ApiKey::SyncGroup, VersionRange { min: 0, max: 2 }),
    (ApiKey::DescribeGroups, VersionRange { min: 0, max: 3 }),
    (ApiKey::ListGroups, VersionRange { min: 0, max: 2 }),
    (ApiKey::DeleteGroups, VersionRange { min: 0, max: 1 }),
];

impl ApiKey {
    /// Kafka's numeric key.
    pub const fn code(self) -> i16 {
        match self {
            ApiKey::Produce => 0,
            ApiKey::Fetch => 1,
            ApiKey::ListOffsets => 2,
            ApiKey::Metadata => 3,
            ApiKey::ApiVersions => 18,
            ApiKey::CreateTopics => 19,
            ApiKey::DeleteTopics => 20,
            ApiKey::DescribeConfigs => 32,
            ApiKey::CreatePartitions => 37,
            ApiKey::InitProducerId => 22,
            ApiKey::OffsetCommit => 8,
            ApiKey::OffsetFetch => 9,
            ApiKey::FindCoordinator => 10,
            ApiKey::JoinGroup => 11,
            ApiKey::Heartbeat => 12,
            ApiKey::LeaveGroup => 13,
            ApiKey::SyncGroup => 14,
            ApiKey::DescribeGroups => 15,
            ApiKey::ListGroups => 16,
            ApiKey::DeleteGroups => 42,
        }
    }

    /// The API for a numeric key, if we implement it.
    pub fn from_code(code: i16) -> Option<Self> {
        SUPPORTED_APIS
            .iter()
            .map(|(key, _)| *key)
            .find(|key| key.code() == code)
    }

    /// Kafka's name for the API, for log lines.
    pub const fn name(self) -> &'static str {
        match self {
            ApiKey::Produce => "Produce",
            ApiKey::Fetch => "Fetch",
            ApiKey::ListOffsets => "ListOffsets",
            ApiKey::Metadata => "Metadata",
            ApiKey::ApiVersions => "ApiVersions",
            ApiKey::CreateTopics => "CreateTopics",
            ApiKey::DeleteTopics => "DeleteTopics",
            ApiKey::DescribeConfigs => "DescribeConfigs",
            ApiKey::CreatePartitions => "CreatePartitions",
            ApiKey::InitProducerId => "InitProducerId",
            ApiKey::OffsetCommit => "OffsetCommit",
            ApiKey::OffsetFetch => "OffsetFetch",
            ApiKey::FindCoordinator => "FindCoordinator",
            ApiKey::JoinGroup => "JoinGroup",
            ApiKey::Heartbeat => "Heartbeat",
            ApiKey::LeaveGroup => "LeaveGroup",
            ApiKey::SyncGroup => "SyncGroup",
            ApiKey::DescribeGroups => "DescribeGroups",
            ApiKey::ListGroups => "ListGroups",
            ApiKey::DeleteGroups => "DeleteGroups",
        }
    }

    /// The versions we advertise in ApiVersions and decode: [`ApiKey::versions`], except
    /// that Produce starts at 0. librdkafka before 2.11.1 compresses only when the broker's
    /// Produce range includes v0 (its check asks for "some version in 0..=0", KAFKA-18659),
    /// so Kafka 4.0, which dropped Produce v0-v2, still advertises them and answers them
    /// with UNSUPPORTED_VERSION in every partition; a client that saw v3 in the range never
    /// sends them. zc does the same.
    pub fn advertised(self) -> VersionRange {
        let usable = self.versions();
        match self {
            ApiKey::Produce => VersionRange { min: 0, ..usable },
            _ => usable,
        }
    }

    /// The versions we speak, from [`SUPPORTED_APIS`].
    pub fn versions(self) -> VersionRange {
        SUPPORTED_APIS
            .iter()
            .find(|(key, _)| *key == self)
            .map(|(_, range)| *range)
            .unwrap_or(VersionRange { min: 0, max: -1 })
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", self.name(), self.code())
    }
}

/// Every Kafka API key's name, indexed by key (0 to 87, from the request schemas of Kafka's
/// source, `clients/src/main/resources/common/message/*Request.json`), so that a request
/// for an API zc lacks is logged by name, not as a bare number.
pub const KAFKA_API_NAMES: [&str; 88] = [
    "Produce",
    "Fetch",
    "ListOffsets",
    "Metadata",
    "LeaderAndIsr",
    "StopReplica",
    "UpdateMetadata",
    "ControlledShutdown",
    "OffsetCommit",
    "OffsetFetch",
    "FindCoordinator",
    "JoinGroup",
    "Heartbeat",
    "LeaveGroup",
    "SyncGroup",
    "DescribeGroups",
    "ListGroups",
    "SaslHandshake",
    "ApiVersions",
    "CreateTopics",
    "DeleteTopics",
    "DeleteRecords",
    "InitProducerId",
    "OffsetForLeaderEpoch",
    "AddPartitionsToTxn",
    "AddOffsetsToTxn",
    "EndTxn",
    "WriteTxnMarkers",
    "TxnOffsetCommit",
    "DescribeAcls",
    "CreateAcls",
    "DeleteAcls",
    "DescribeConfigs",
    "AlterConfigs",
    "AlterReplicaLogDirs",
    "DescribeLogDirs",
    "SaslAuthenticate",
    "CreatePartitions",
    "CreateDelegationToken",
    "RenewDelegationToken",
    "ExpireDelegationToken",
    "DescribeDelegationToken",
    "DeleteGroups",
    "ElectLeaders",
    "IncrementalAlterConfigs",
    "AlterPartitionReassignments",
    "ListPartitionReassignments",
    "OffsetDelete",
    "DescribeClientQuotas",
    "AlterClientQuotas",
    "DescribeUserScramCredentials",
    "AlterUserScramCredentials",
    "Vote",
    "BeginQuorumEpoch",
    "EndQuorumEpoch",
    "DescribeQuorum",
    "AlterPartition",
    "UpdateFeatures",
    "Envelope",
    "FetchSnapshot",
    "DescribeCluster",
    "DescribeProducers",
    "BrokerRegistration",
    "BrokerHeartbeat",
    "UnregisterBroker",
    "DescribeTransactions",
    "ListTransactions",
    "AllocateProducerIds",
    "ConsumerGroupHeartbeat",
    "ConsumerGroupDescribe",
    "ControllerRegistration",
    "GetTelemetrySubscriptions",
    "PushTelemetry",
    "AssignReplicasToDirs",
    "ListClientMetricsResources",
    "DescribeTopicPartitions",
    "ShareGroupHeartbeat",
    "ShareGroupDescribe",
    "ShareFetch",
    "ShareAcknowledge",
    "AddRaftVoter",
    "RemoveRaftVoter",
    "UpdateRaftVoter",
    "InitializeShareGroupState",
    "ReadShareGroupState",
    "WriteShareGroupState",
    "DeleteShareGroupState",
    "ReadShareGroupStateSummary",
];

/// Kafka's name for any API key, implemented or not.
pub fn kafka_api_name(code: i16) -> Option<&'static str> {
    KAFKA_API_NAMES.get(usize::try_from(code).ok()?).copied()
}

/// What an API zc lacks belongs to, for the log line that refuses it.
pub fn why_unsupported(code: i16) -> &'static str {
    match code {
        24..=28 | 65 | 66 => {
            "transactions: zc serve has no transaction coordinator (transactional producers and \
             read_committed consumers need one)"
        }
        17 | 36 | 38..=41 | 50 | 51 => "authentication: zc serve speaks plaintext, without SASL",
        29..=31 => "ACLs: zc serve has no authorization",
        68 | 69 => {
            "the KIP-848 consumer group protocol: zc serve's coordinator speaks the classic one \
             (JoinGroup, SyncGroup, Heartbeat); set group.protocol=classic"
        }
        76..=79 | 83..=87 => "share groups (KIP-932)",
        4..=7 | 43 | 45 | 46 | 52..=56 | 58 | 59 | 62..=64 | 67 | 70 | 73 | 80..=82 => {
            "replication, controllers and KRaft: zc serve is a single broker"
        }
        33 | 44 | 57 => "changing settings at run time: zc serve's are fixed at start-up",
        _ => "not implemented by zc serve",
    }
}

/// Kafka's error codes (`Errors.java`), the ones a single-node broker without transactions
/// can return. Every response carries them as int16; 0 means success.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    UnknownServerError,
    None,
    OffsetOutOfRange,
    CorruptMessage,
    UnknownTopicOrPartition,
    InvalidFetchSize,
    LeaderNotAvailable,
    NotLeaderOrFollower,
    RequestTimedOut,
    MessageTooLarge,
    NotCoordinator,
    InvalidTopicException,
    RecordListTooLarge,
    InvalidRequiredAcks,
    InvalidTimestamp,
    UnsupportedVersion,
    TopicAlreadyExists,
    InvalidPartitions,
    InvalidReplicationFactor,
    InvalidReplicaAssignment,
    InvalidConfig,
    InvalidRequest,
    UnsupportedForMessageFormat,
    TransactionalIdAuthorizationFailed,
    KafkaStorageError,
    UnsupportedCompressionType,
    InvalidRecord,
    OffsetMetadataTooLarge,
    CoordinatorLoadInProgress,
    CoordinatorNotAvailable,
    IllegalGeneration,
    InconsistentGroupProtocol,
    InvalidGroupId,
    UnknownMemberId,
    InvalidSessionTimeout,
    RebalanceInProgress,
    NonEmptyGroup,
    GroupIdNotFound,
    MemberIdRequired,
    GroupMaxSizeReached,
    PolicyViolation,
    OutOfOrderSequenceNumber,
    InvalidProducerEpoch,
    ThrottlingQuotaExceeded,
}

impl ErrorCode {
    pub(crate) const ALL: [ErrorCode; 44] = [
        ErrorCode::UnknownServerError,
        ErrorCode::None,
        ErrorCode::OffsetOutOfRange,
        ErrorCode::CorruptMessage,
        ErrorCode::UnknownTopicOrPartition,
        ErrorCode::InvalidFetchSize,
        ErrorCode::LeaderNotAvailable,
        ErrorCode::NotLeaderOrFollower,
        ErrorCode::RequestTimedOut,
        ErrorCode::MessageTooLarge,
        ErrorCode::NotCoordinator,
        ErrorCode::InvalidTopicException,
        ErrorCode::RecordListTooLarge,
        ErrorCode::InvalidRequiredAcks,
        ErrorCode::InvalidTimestamp,
        ErrorCode::UnsupportedVersion,
        ErrorCode::TopicAlreadyExists,
        ErrorCode::InvalidPartitions,
        ErrorCode::InvalidReplicationFactor,
        ErrorCode::InvalidReplicaAssignment,
        ErrorCode::InvalidConfig,
        ErrorCode::InvalidRequest,
        ErrorCode::UnsupportedForMessageFormat,
        ErrorCode::TransactionalIdAuthorizationFailed,
        ErrorCode::KafkaStorageError,
        ErrorCode::UnsupportedCompressionType,
        ErrorCode::InvalidRecord,
        ErrorCode::OffsetMetadataTooLarge,
        ErrorCode::CoordinatorLoadInProgress,
        ErrorCode::CoordinatorNotAvailable,
        ErrorCode::IllegalGeneration,
        ErrorCode::InconsistentGroupProtocol,
        ErrorCode::InvalidGroupId,
        ErrorCode::UnknownMemberId,
        ErrorCode::InvalidSessionTimeout,
        ErrorCode::RebalanceInProgress,
        ErrorCode::NonEmptyGroup,
        ErrorCode::GroupIdNotFound,
        ErrorCode::MemberIdRequired,
        ErrorCode::GroupMaxSizeReached,
        ErrorCode::PolicyViolation,
        ErrorCode::OutOfOrderSequenceNumber,
        ErrorCode::InvalidProducerEpoch,
        ErrorCode::ThrottlingQuotaExceeded,
    ];

    /// The int16 on the wire.
    pub const fn code(self) -> i16 {
        match self {
            ErrorCode::UnknownServerError => -1,
            ErrorCode::None => 0,
            ErrorCode::OffsetOutOfRange => 1,
            ErrorCode::CorruptMessage => 2,
            ErrorCode::UnknownTopicOrPartition => 3,
            ErrorCode::InvalidFetchSize => 4,
            ErrorCode::LeaderNotAvailable => 5,
            ErrorCode::NotLeaderOrFollower => 6,
            ErrorCode::RequestTimedOut => 7,
            ErrorCode::MessageTooLarge => 10,
            ErrorCode::NotCoordinator => 16,
            ErrorCode::InvalidTopicException => 17,
            ErrorCode::RecordListTooLarge => 18,
            ErrorCode::InvalidRequiredAcks => 21,
            ErrorCode::InvalidTimestamp => 32,
            ErrorCode::UnsupportedVersion => 35,
            ErrorCode::TopicAlreadyExists => 36,
            ErrorCode::InvalidPartitions => 37,
            ErrorCode::InvalidReplicationFactor => 38,
            ErrorCode::InvalidReplicaAssignment => 39,
            ErrorCode::InvalidConfig => 40,
            ErrorCode::InvalidRequest => 42,
            ErrorCode::UnsupportedForMessageFormat => 43,
            ErrorCode::TransactionalIdAuthorizationFailed => 53,
            ErrorCode::KafkaStorageError => 56,
            ErrorCode::UnsupportedCompressionType => 76,
            ErrorCode::InvalidRecord => 87,
            ErrorCode::OffsetMetadataTooLarge => 12,
            ErrorCode::CoordinatorLoadInProgress => 14,
            ErrorCode::CoordinatorNotAvailable => 15,
            ErrorCode::IllegalGeneration => 22,
            ErrorCode::InconsistentGroupProtocol => 23,
            ErrorCode::InvalidGroupId => 24,
            ErrorCode::UnknownMemberId => 25,
            ErrorCode::InvalidSessionTimeout => 26,
            ErrorCode::RebalanceInProgress => 27,
            ErrorCode::NonEmptyGroup => 68,
            ErrorCode::GroupIdNotFound => 69,
            ErrorCode::MemberIdRequired => 79,
            ErrorCode::GroupMaxSizeReached => 81,
            ErrorCode::PolicyViolation => 44,
            ErrorCode::OutOfOrderSequenceNumber => 45,
            ErrorCode::InvalidProducerEpoch => 47,
            ErrorCode::ThrottlingQuotaExceeded => 89,
        }
    }

    /// The error for a wire code, if it is one we know.
    pub fn from_code(code: i16) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.code() == code)
    }

    /// Kafka's upper-case name, as clients print it.
    pub const fn name(self) -> &'static str {
        match self {
            ErrorCode::UnknownServerError => "UNKNOWN_SERVER_ERROR",
            ErrorCode::None => "NONE",
            ErrorCode::OffsetOutOfRange => "OFFSET_OUT_OF_RANGE",
            ErrorCode::CorruptMessage => "CORRUPT_MESSAGE",
            ErrorCode::UnknownTopicOrPartition => "UNKNOWN_TOPIC_OR_PARTITION",
            ErrorCode::InvalidFetchSize => "INVALID_FETCH_SIZE",
            ErrorCode::LeaderNotAvailable => "LEADER_NOT_AVAILABLE",
            ErrorCode::NotLeaderOrFollower => "NOT_LEADER_OR_FOLLOWER",
            ErrorCode::RequestTimedOut => "REQUEST_TIMED_OUT",
            ErrorCode::MessageTooLarge => "MESSAGE_TOO_LARGE",
            ErrorCode::NotCoordinator => "NOT_COORDINATOR",
            ErrorCode::InvalidTopicException => "INVALID_TOPIC_EXCEPTION",
            ErrorCode::RecordListTooLarge => "RECORD_LIST_TOO_LARGE",
            ErrorCode::InvalidRequiredAcks => "INVALID_REQUIRED_ACKS",
            ErrorCode::InvalidTimestamp => "INVALID_TIMESTAMP",
            ErrorCode::UnsupportedVersion => "UNSUPPORTED_VERSION",
            ErrorCode::TopicAlreadyExists => "TOPIC_ALREADY_EXISTS",
            ErrorCode::InvalidPartitions => "INVALID_PARTITIONS",
            ErrorCode::InvalidReplicationFactor => "INVALID_REPLICATION_FACTOR",
            ErrorCode::InvalidReplicaAssignment => "INVALID_REPLICA_ASSIGNMENT",
            ErrorCode::InvalidConfig => "INVALID_CONFIG",
            ErrorCode::InvalidRequest => "INVALID_REQUEST",
            ErrorCode::UnsupportedForMessageFormat => "UNSUPPORTED_FOR_MESSAGE_FORMAT",
            ErrorCode::TransactionalIdAuthorizationFailed => {
                "TRANSACTIONAL_ID_AUTHORIZATION_FAILED"
            }
            ErrorCode::KafkaStorageError => "KAFKA_STORAGE_ERROR",
            ErrorCode::UnsupportedCompressionType => "UNSUPPORTED_COMPRESSION_TYPE",
            ErrorCode::InvalidRecord => "INVALID_RECORD",
            ErrorCode::OffsetMetadataTooLarge => "OFFSET_METADATA_TOO_LARGE",
            ErrorCode::CoordinatorLoadInProgress => "COORDINATOR_LOAD_IN_PROGRESS",
            ErrorCode::CoordinatorNotAvailable => "COORDINATOR_NOT_AVAILABLE",
            ErrorCode::IllegalGeneration => "ILLEGAL_GENERATION",
            ErrorCode::InconsistentGroupProtocol => "INCONSISTENT_GROUP_PROTOCOL",
            ErrorCode::InvalidGroupId => "INVALID_GROUP_ID",
            ErrorCode::UnknownMemberId => "UNKNOWN_MEMBER_ID",
            ErrorCode::InvalidSessionTimeout => "INVALID_SESSION_TIMEOUT",
            ErrorCode::RebalanceInProgress => "REBALANCE_IN_PROGRESS",
            ErrorCode::NonEmptyGroup => "NON_EMPTY_GROUP",
            ErrorCode::GroupIdNotFound => "GROUP_ID_NOT_FOUND",
            ErrorCode::MemberIdRequired => "MEMBER_ID_REQUIRED",
            ErrorCode::GroupMaxSizeReached => "GROUP_MAX_SIZE_REACHED",
            ErrorCode::PolicyViolation => "POLICY_VIOLATION",
            ErrorCode::OutOfOrderSequenceNumber => "OUT_OF_ORDER_SEQUENCE_NUMBER",
            ErrorCode::InvalidProducerEpoch => "INVALID_PRODUCER_EPOCH",
            ErrorCode::ThrottlingQuotaExceeded => "THROTTLING_QUOTA_EXCEEDED",
        }
    }
}

impl From<ErrorCode> for i16 {
    fn from(e: ErrorCode) -> i16 {
        e.code()
    }
}

impl TryFrom<i16> for ErrorCode {
    type Error = i16;

    /// Fails with the code itself when it is not one of ours.
    fn try_from(code: i16) -> Result<Self, i16> {
        ErrorCode::from_code(code).ok_or(code)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.code())
    }
}
