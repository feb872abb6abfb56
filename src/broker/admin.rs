//! Topic administration: CreateTopics, CreatePartitions, DeleteTopics and DescribeConfigs,
//! the requests behind `kafka-topics`, the admin clients of every library and `zc topics`.
//!
//! zc is one broker, so the answers follow from that: a replication factor other than 1
//! cannot be met (INVALID_REPLICATION_FACTOR, saying why), every replica assignment must
//! name this broker, and there are no per-topic settings: every topic gets the broker's
//! (`zc serve --segment-bytes`, `--max-message-bytes`...), which DescribeConfigs reports
//! with their source. The rules and messages follow Kafka's controller
//! (`ReplicationControlManager`), so a client sees the same errors it would see from Kafka.

use std::collections::HashSet;

use super::handlers::{Context, NODE_ID};
use super::topics::{CreateError, Created};
use crate::kafka::describe_configs::{RESOURCE_BROKER, RESOURCE_TOPIC};
use crate::kafka::{
    ConfigEntry, ConfigSource, CreatableTopic, CreatableTopicResult, CreatePartitionsRequest,
    CreatePartitionsResponse, CreateTopicsRequest, CreateTopicsResponse, DeleteTopicsRequest,
    DeleteTopicsResponse, DescribeConfigsRequest, DescribeConfigsResponse, DescribeConfigsResult,
    ErrorCode,
};
use crate::log::partition::{DEFAULT_MAX_MESSAGE_BYTES, FlushPolicy, LogConfig};

/// An error code and the message a client prints with it.
type Refusal = (ErrorCode, String);

pub fn create_topics(ctx: &Context, req: &CreateTopicsRequest) -> CreateTopicsResponse {
    let duplicates = duplicates(req.topics.iter().map(|t| t.name.as_str()));
    let topics = req
        .topics
        .iter()
        .map(|t| {
            let outcome = if duplicates.contains(t.name.as_str()) {
                Err((
                    ErrorCode::InvalidRequest,
                    "Duplicate topic name in one request.".to_owned(),
                ))
            } else {
                create_one(ctx, t, req.validate_only)
            };
            let (error_code, error_message) = match outcome {
                Ok(partitions) => {
                    if !req.validate_only {
                        (ctx.log)(format!(
                            "CreateTopics: created {} with {partitions} partition(s)",
                            t.name
                        ));
                    }
                    (ErrorCode::None, None)
                }
                Err((code, why)) => (code, Some(why)),
            };
            CreatableTopicResult {
                name: t.name.clone(),
                error_code,
                error_message,
            }
        })
        .collect();
    CreateTopicsResponse {
        throttle_time_ms: 0,
        topics,
    }
}

/// Checks one topic of a CreateTopics request and creates it; the partition count.
fn create_one(ctx: &Context, t: &CreatableTopic, validate_only: bool) -> Result<u32, Refusal> {
    let partitions = if t.assignments.is_empty() {
        if t.replication_factor < -1 || t.replication_factor == 0 {
            return Err((
                ErrorCode::InvalidReplicationFactor,
                "Replication factor must be larger than 0, or -1 to use the default value.".into(),
            ));
        }
        if t.replication_factor > 1 {
            return Err((
                ErrorCode::InvalidReplicationFactor,
                format!(
                    "Unable to replicate the partition {} time(s): zc serve is a single \
                     broker, so the replication factor must be 1 (or -1 for the default).",
                    t.replication_factor
                ),
            ));
        }
        match t.num_partitions {
            -1 => ctx.topics.limits.default_partitions,
            n if n > 0 => n as u32,
            _ => {
                return Err((
                    ErrorCode::InvalidPartitions,
                    "Number of partitions was set to an invalid non-positive value.".into(),
                ));
            }
        }
    } else {
        if t.num_partitions != -1 || t.replication_factor != -1 {
            return Err((
                ErrorCode::InvalidRequest,
                "Both numPartitions or replicationFactor and replicasAssignments were set. \
                 Both cannot be used at the same time."
                    .into(),
            ));
        }
        let mut seen = vec![false; t.assignments.len()];
        for (p, brokers) in &t.assignments {
            check_assignment(brokers, *p)?;
            match usize::try_from(*p).ok().and_then(|p| seen.get_mut(p)) {
                Some(s) if !*s => *s = true,
                _ => {
                    return Err((
                        ErrorCode::InvalidReplicaAssignment,
                        "partitions should be a consecutive 0-based integer sequence".into(),
                    ));
                }
            }
        }
        t.assignments.len() as u32
    };
    check_configs(ctx, &t.configs)?;
    match ctx.topics.create(&t.name, partitions, validate_only) {
        Ok(Created::New(_)) => Ok(partitions),
        Ok(Created::Existing(_)) => Err((
            ErrorCode::TopicAlreadyExists,
            format!("Topic '{}' already exists.", t.name),
        )),
        Err(e) => Err(refusal(e)),
    }
}

/// A manual assignment may only place a partition on this broker, once.
fn check_assignment(brokers: &[i32], partition: i32) -> Result<(), Refusal> {
    if brokers != [NODE_ID] {
        return Err((
            ErrorCode::InvalidReplicaAssignment,
            format!(
                "partition {partition} is assigned to brokers {brokers:?}: zc serve is a \
                 single broker (id {NODE_ID}), so every partition lives on [{NODE_ID}]"
            ),
        ));
    }
    Ok(())
}

/// Per-topic settings: zc applies the broker's to every topic, so a setting is accepted
/// only if it asks for what the topic gets anyway.
fn check_configs(ctx: &Context, configs: &[(String, Option<String>)]) -> Result<(), Refusal> {
    let applied = topic_configs(&ctx.topics.config());
    for (name, value) in configs {
        let same = applied
            .iter()
            .any(|c| &c.name == name && c.value.as_deref() == value.as_deref());
        if !same {
            return Err((
                ErrorCode::InvalidConfig,
                format!(
                    "zc has no per-topic settings, so {name}={} cannot be set; every topic \
                     gets the broker's (zc serve --segment-bytes, --max-message-bytes; see \
                     DescribeConfigs)",
                    value.as_deref().unwrap_or("null")
                ),
            ));
        }
    }
    Ok(())
}

fn refusal(e: CreateError) -> Refusal {
    let code = match e {
        CreateError::InvalidName(_) => ErrorCode::InvalidTopicException,
        CreateError::TooManyPartitions { .. } | CreateError::OutOfDescriptors { .. } => {
            ErrorCode::PolicyViolation
        }
        CreateError::Io(_) => ErrorCode::UnknownServerError,
    };
    (code, e.to_string())
}

pub fn create_partitions(ctx: &Context, req: &CreatePartitionsRequest) -> CreatePartitionsResponse {
    let duplicates = duplicates(req.topics.iter().map(|t| t.name.as_str()));
    let results = req
        .topics
        .iter()
        .map(|t| {
            let outcome = if duplicates.contains(t.name.as_str()) {
                Err((
                    ErrorCode::InvalidRequest,
                    "Duplicate topic name in one request.".to_owned(),
                ))
            } else {
                grow(
                    ctx,
                    &t.name,
                    t.count,
                    t.assignments.as_deref(),
                    req.validate_only,
                )
            };
            match outcome {
                Ok(()) => (t.name.clone(), ErrorCode::None, None),
                Err((code, why)) => (t.name.clone(), code, Some(why)),
            }
        })
        .collect();
    CreatePartitionsResponse {
        throttle_time_ms: 0,
        results,
    }
}

fn grow(
    ctx: &Context,
    name: &str,
    count: i32,
    assignments: Option<&[Vec<i32>]>,
    validate_only: bool,
) -> Result<(), Refusal> {
    let unknown = || {
        (
            ErrorCode::UnknownTopicOrPartition,
            format!("This server does not host topic {name}."),
        )
    };
    let have = ctx.topics.get(name).ok_or_else(unknown)?.partitions.len() as i32;
    if count == have {
        return Err((
            ErrorCode::InvalidPartitions,
            format!("Topic already has {have} partition(s)."),
        ));
    }
    if count < have {
        return Err((
            ErrorCode::InvalidPartitions,
            format!(
                "The topic {name} currently has {have} partition(s); {count} would not be an \
                 increase."
            ),
        ));
    }
    if let Some(assignments) = assignments {
        if assignments.len() as i32 != count - have {
            return Err((
                ErrorCode::InvalidReplicaAssignment,
                format!(
                    "Attempted to add {} additional partition(s), but only {} assignment(s) \
                     were specified.",
                    count - have,
                    assignments.len()
                ),
            ));
        }
        for (i, brokers) in assignments.iter().enumerate() {
            check_assignment(brokers, have + i as i32)?;
        }
    }
    match ctx.topics.add_partitions(name, count as u32, validate_only) {
        Ok(Some(_)) => {
            if !validate_only {
                (ctx.log)(format!(
                    "CreatePartitions: {name} grew from {have} to {count} partitions"
                ));
            }
            Ok(())
        }
        Ok(None) => Err(unknown()),
        Err(e) => Err(refusal(e)),
    }
}

pub fn delete_topics(ctx: &Context, req: &DeleteTopicsRequest) -> DeleteTopicsResponse {
    let responses = req
        .topic_names
        .iter()
        .map(|name| {
            let code = match ctx.topics.delete(name) {
                Ok(true) => {
                    (ctx.log)(format!("DeleteTopics: deleted {name}"));
                    ErrorCode::None
                }
                Ok(false) => ErrorCode::UnknownTopicOrPartition,
                Err(e) => {
                    (ctx.log)(format!(
                        "DeleteTopics: {name}: {e:#}: answered KAFKA_STORAGE_ERROR"
                    ));
                    ErrorCode::KafkaStorageError
                }
            };
            (name.clone(), code)
        })
        .collect();
    DeleteTopicsResponse {
        throttle_time_ms: 0,
        responses,
    }
}

pub fn describe_configs(ctx: &Context, req: &DescribeConfigsRequest) -> DescribeConfigsResponse {
    let config = ctx.topics.config();
    let results = req
        .resources
        .iter()
        .map(|res| {
            let found = match res.resource_type {
                RESOURCE_TOPIC if ctx.topics.get(&res.resource_name).is_some() => {
                    Ok(topic_configs(&config))
                }
                RESOURCE_TOPIC => Err((
                    ErrorCode::UnknownTopicOrPartition,
                    format!("Topic {} does not exist.", res.resource_name),
                )),
                RESOURCE_BROKER
                    if res.resource_name.is_empty() || res.resource_name == NODE_ID.to_string() =>
                {
                    Ok(broker_configs(ctx, &config))
                }
                RESOURCE_BROKER => Err((
                    ErrorCode::InvalidRequest,
                    format!(
                        "Unexpected broker id, expected {NODE_ID} (zc serve is a single \
                         broker) or empty string, but received {}",
                        res.resource_name
                    ),
                )),
                other => Err((
                    ErrorCode::InvalidRequest,
                    format!(
                        "zc describes topics (resource type {RESOURCE_TOPIC}) and its broker \
                         ({RESOURCE_BROKER}) only, not resource type {other}"
                    ),
                )),
            };
            let (error_code, error_message, mut configs) = match found {
                Ok(configs) => (ErrorCode::None, None, configs),
                Err((code, why)) => (code, Some(why), Vec::new()),
            };
            if let Some(keys) = &res.configuration_keys {
                configs.retain(|c| keys.contains(&c.name));
            }
            if !req.include_documentation {
                configs.iter_mut().for_each(|c| c.documentation = None);
            }
            DescribeConfigsResult {
                error_code,
                error_message,
                resource_type: res.resource_type,
                resource_name: res.resource_name.clone(),
                configs,
            }
        })
        .collect();
    DescribeConfigsResponse {
        throttle_time_ms: 0,
        results,
    }
}

/// Kafka's `ConfigType` ids for the configs below.
const TYPE_BOOLEAN: i8 = 1;
const TYPE_STRING: i8 = 2;
const TYPE_INT: i8 = 3;
const TYPE_LONG: i8 = 5;
const TYPE_LIST: i8 = 7;

fn entry(
    name: &str,
    value: String,
    source: ConfigSource,
    config_type: i8,
    doc: &str,
) -> ConfigEntry {
    ConfigEntry {
        name: name.to_owned(),
        value: Some(value),
        // zc has no AlterConfigs: nothing can be changed while it runs.
        read_only: true,
        source,
        config_type,
        documentation: Some(doc.to_owned()),
    }
}

/// The settings every topic gets: the ones zc applies, with where each comes from.
fn topic_configs(config: &LogConfig) -> Vec<ConfigEntry> {
    use ConfigSource::{Default, StaticBroker};
    let (flush_messages, flush_source) = match config.flush {
        FlushPolicy::Always => ("1".to_owned(), StaticBroker),
        FlushPolicy::Os => (i64::MAX.to_string(), Default),
    };
    vec![
        entry(
            "cleanup.policy",
            "delete".into(),
            Default,
            TYPE_LIST,
            "Old segments would be deleted, but zc never deletes: see retention.ms.",
        ),
        entry(
            "compression.type",
            "producer".into(),
            Default,
            TYPE_STRING,
            "Batches are stored compressed as the producer sent them.",
        ),
        entry(
            "flush.messages",
            flush_messages,
            flush_source,
            TYPE_LONG,
            "1 with zc serve --flush always (fdatasync before every ack); otherwise the page \
             cache decides, as in Kafka.",
        ),
        entry(
            "index.interval.bytes",
            config.index_interval_bytes.to_string(),
            Default,
            TYPE_INT,
            "Bytes between two entries of the offset index.",
        ),
        entry(
            "max.message.bytes",
            config.max_message_bytes.to_string(),
            max_message_source(config),
            TYPE_INT,
            "Largest record batch a producer may append (zc serve --max-message-bytes).",
        ),
        entry(
            "retention.bytes",
            "-1".into(),
            Default,
            TYPE_LONG,
            "No size limit: zc keeps every segment.",
        ),
        entry(
            "retention.ms",
            "-1".into(),
            StaticBroker,
            TYPE_LONG,
            "No time limit: zc keeps every segment (Kafka's default is 7 days).",
        ),
        entry(
            "segment.bytes",
            config.segment_bytes.to_string(),
            StaticBroker,
            TYPE_INT,
            "A segment rolls before it would grow past this (zc serve --segment-bytes).",
        ),
    ]
}

fn max_message_source(config: &LogConfig) -> ConfigSource {
    if config.max_message_bytes == DEFAULT_MAX_MESSAGE_BYTES {
        ConfigSource::Default
    } else {
        ConfigSource::StaticBroker
    }
}

/// The broker-wide settings behind the topic ones, under Kafka's broker names.
fn broker_configs(ctx: &Context, config: &LogConfig) -> Vec<ConfigEntry> {
    use ConfigSource::{Default, StaticBroker};
    let partitions = ctx.topics.limits.default_partitions;
    vec![
        entry(
            "auto.create.topics.enable",
            ctx.auto_create.to_string(),
            if ctx.auto_create {
                Default
            } else {
                StaticBroker
            },
            TYPE_BOOLEAN,
            "Create unknown topics on first use (zc serve --no-auto-create turns it off).",
        ),
        entry(
            "log.segment.bytes",
            config.segment_bytes.to_string(),
            StaticBroker,
            TYPE_INT,
            "zc serve --segment-bytes.",
        ),
        entry(
            "message.max.bytes",
            config.max_message_bytes.to_string(),
            max_message_source(config),
            TYPE_INT,
            "zc serve --max-message-bytes.",
        ),
        entry(
            "num.partitions",
            partitions.to_string(),
            if partitions == 1 {
                Default
            } else {
                StaticBroker
            },
            TYPE_INT,
            "Partitions of an auto-created topic (zc serve --partitions).",
        ),
    ]
}

/// The names that occur more than once.
fn duplicates<'a>(names: impl Iterator<Item = &'a str>) -> HashSet<&'a str> {
    let mut seen = HashSet::new();
    names.filter(|n| !seen.insert(*n)).collect()
}
