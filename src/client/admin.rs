//! Topic administration from the client side, what `zc topics` (like Kafka's
//! `kafka-topics`) is built on: list, create, grow, delete and describe topics.
//!
//! Admin requests go to the controller; in a single-broker cluster like `zc serve` that is
//! the bootstrap broker itself, so these are plain calls on a [`Connection`]. Each answer
//! carries an error code per topic (and, from CreateTopics v1 on, the broker's message),
//! which becomes a [`ClientError::Broker`] naming the topic.

use super::connection::Connection;
use super::error::ClientError;
use super::partition::OffsetSpec;
use crate::kafka::describe_configs::RESOURCE_TOPIC;
use crate::kafka::{
    ApiKey, ConfigEntry, CreatableTopic, CreatePartitionsRequest, CreatePartitionsResponse,
    CreatePartitionsTopic, CreateTopicsRequest, CreateTopicsResponse, DeleteTopicsRequest,
    DeleteTopicsResponse, DescribeConfigsRequest, DescribeConfigsResource, DescribeConfigsResponse,
    ErrorCode, MetadataRequest, MetadataResponse, RequestBody,
};

/// How long the broker may take over a topic change (Kafka's admin default is 60 s).
const ADMIN_TIMEOUT_MS: i32 = 30_000;

/// One partition as `zc topics describe` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionInfo {
    pub index: i32,
    pub leader: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    /// The first offset still in the log.
    pub start: i64,
    /// The offset the next record will get (the high watermark).
    pub end: i64,
}

impl Connection {
    /// Every topic with its partition count, sorted by name.
    pub fn list_topics(&mut self) -> Result<Vec<(String, usize)>, ClientError> {
        let metadata = self.metadata(None)?;
        let mut topics: Vec<_> = metadata
            .topics
            .into_iter()
            .map(|t| (t.name, t.partitions.len()))
            .collect();
        topics.sort();
        Ok(topics)
    }

    /// Creates `topic` with `partitions` partitions (-1: the broker's default) and
    /// `replication_factor` replicas (-1: the default); with `validate_only`, the broker
    /// only checks.
    pub fn create_topic(
        &mut self,
        topic: &str,
        partitions: i32,
        replication_factor: i16,
        validate_only: bool,
    ) -> Result<(), ClientError> {
        let response: CreateTopicsResponse =
            self.call(&RequestBody::CreateTopics(CreateTopicsRequest {
                topics: vec![CreatableTopic {
                    name: topic.to_owned(),
                    num_partitions: partitions,
                    replication_factor,
                    assignments: Vec::new(),
                    configs: Vec::new(),
                }],
                timeout_ms: ADMIN_TIMEOUT_MS,
                validate_only,
            }))?;
        let result = response.topics.into_iter().find(|t| t.name == topic);
        let (code, message) = result.map_or((ErrorCode::UnknownServerError, None), |r| {
            (r.error_code, r.error_message)
        });
        self.check(ApiKey::CreateTopics, topic, code, message)
    }

    /// Grows `topic` to `total` partitions.
    pub fn create_partitions(&mut self, topic: &str, total: i32) -> Result<(), ClientError> {
        let response: CreatePartitionsResponse =
            self.call(&RequestBody::CreatePartitions(CreatePartitionsRequest {
                topics: vec![CreatePartitionsTopic {
                    name: topic.to_owned(),
                    count: total,
                    assignments: None,
                }],
                timeout_ms: ADMIN_TIMEOUT_MS,
                validate_only: false,
            }))?;
        let result = response
            .results
            .into_iter()
            .find(|(name, ..)| name == topic);
        let (code, message) =
            result.map_or((ErrorCode::UnknownServerError, None), |(_, c, m)| (c, m));
        self.check(ApiKey::CreatePartitions, topic, code, message)
    }

    /// Deletes `topic`.
    pub fn delete_topic(&mut self, topic: &str) -> Result<(), ClientError> {
        let response: DeleteTopicsResponse =
            self.call(&RequestBody::DeleteTopics(DeleteTopicsRequest {
                topic_names: vec![topic.to_owned()],
                timeout_ms: ADMIN_TIMEOUT_MS,
            }))?;
        let code = response
            .responses
            .into_iter()
            .find(|(name, _)| name == topic)
            .map_or(ErrorCode::UnknownServerError, |(_, code)| code);
        self.check(ApiKey::DeleteTopics, topic, code, None)
    }

    /// The topic's partitions with their offsets, and its settings.
    pub fn describe_topic(
        &mut self,
        topic: &str,
    ) -> Result<(Vec<PartitionInfo>, Vec<ConfigEntry>), ClientError> {
        let metadata = self.metadata(Some(topic))?;
        let t = metadata
            .topics
            .into_iter()
            .find(|t| t.name == topic)
            .ok_or_else(|| self.protocol(ApiKey::Metadata, format!("no topic {topic}")))?;
        self.check(ApiKey::Metadata, topic, t.error_code, None)?;
        let mut partitions = Vec::new();
        for p in t.partitions {
            partitions.push(PartitionInfo {
                index: p.partition_index,
                leader: p.leader_id,
                replicas: p.replica_nodes,
                isr: p.isr_nodes,
                start: self.list_offset(topic, p.partition_index, OffsetSpec::Earliest)?,
                end: self.list_offset(topic, p.partition_index, OffsetSpec::Latest)?,
            });
        }
        partitions.sort_by_key(|p| p.index);
        let configs: DescribeConfigsResponse =
            self.call(&RequestBody::DescribeConfigs(DescribeConfigsRequest {
                resources: vec![DescribeConfigsResource {
                    resource_type: RESOURCE_TOPIC,
                    resource_name: topic.to_owned(),
                    configuration_keys: None,
                }],
                include_synonyms: false,
                include_documentation: false,
            }))?;
        let result = configs
            .results
            .into_iter()
            .next()
            .ok_or_else(|| self.protocol(ApiKey::DescribeConfigs, "no result".into()))?;
        self.check(
            ApiKey::DescribeConfigs,
            topic,
            result.error_code,
            result.error_message,
        )?;
        Ok((partitions, result.configs))
    }

    fn metadata(&mut self, topic: Option<&str>) -> Result<MetadataResponse, ClientError> {
        self.call(&RequestBody::Metadata(MetadataRequest {
            topics: topic.map(|t| vec![t.to_owned()]),
            allow_auto_topic_creation: false,
            include_cluster_authorized_operations: false,
            include_topic_authorized_operations: false,
        }))
    }

    fn check(
        &self,
        api: ApiKey,
        topic: &str,
        code: ErrorCode,
        message: Option<String>,
    ) -> Result<(), ClientError> {
        match code {
            ErrorCode::None => Ok(()),
            code => Err(self.broker_error(api, code, Some(topic), message)),
        }
    }
}
