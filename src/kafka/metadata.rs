//! Metadata (key 3): "which brokers exist, and who leads which partition?" — v0 to v8.
//!
//! A client bootstraps from any address, asks for metadata, and from then on connects to
//! the `host:port` the *response* names (so the broker must advertise an address the client
//! can reach, never `0.0.0.0`). With one broker the answer is simple: we are every
//! partition's leader and only replica.
//!
//! The request's topic list changed meaning over time (docs/kafka-protocol.md §4):
//!
//! ```text
//!            empty array []      null (count -1)
//! v0         all topics          (not allowed)
//! v1+        no topics           all topics
//! ```
//!
//! librdkafka uses the v1+ empty array to ask for brokers only. We model it as
//! `Option<Vec<String>>`: `None` = all topics, `Some(list)` = exactly these (possibly none),
//! so the handler never has to know the version to get it right.
//!
//! Response fields by version: `rack` and `controller_id`, `is_internal` from v1,
//! `cluster_id` from v2, `throttle_time_ms` (first field!) from v3, `offline_replicas`
//! from v5, `leader_epoch` from v7, authorized-operations bitfields from v8.

use super::primitives::{FieldResult, Reader, Writer};
use super::{ApiKey, DecodeResponse, ErrorCode, read_error_code};

/// Metadata request, v0–v8.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataRequest {
    /// `None`: all topics. `Some(names)`: these topics only (empty: none, v1+ only).
    pub topics: Option<Vec<String>>,
    /// v4+; below v4 Kafka behaves as if true (auto-create is the broker's decision).
    pub allow_auto_topic_creation: bool,
    /// v8 only (moved to DescribeCluster later); false when absent.
    pub include_cluster_authorized_operations: bool,
    /// v8+; false when absent.
    pub include_topic_authorized_operations: bool,
}

impl MetadataRequest {
    pub(super) fn decode(r: &mut Reader<'_>, version: i16) -> FieldResult<Self> {
        let name = |r: &mut Reader<'_>| r.string("metadata.topics.name");
        let topics = if version == 0 {
            let list = r.array_of("metadata.topics", 2, name)?;
            if list.is_empty() { None } else { Some(list) }
        } else {
            r.nullable_array("metadata.topics", 2, name)?
        };
        let allow_auto_topic_creation = if version >= 4 {
            r.bool("metadata.allow_auto_topic_creation")?
        } else {
            true
        };
        let (include_cluster_authorized_operations, include_topic_authorized_operations) =
            if version >= 8 {
                (
                    r.bool("metadata.include_cluster_authorized_operations")?,
                    r.bool("metadata.include_topic_authorized_operations")?,
                )
            } else {
                (false, false)
            };
        Ok(MetadataRequest {
            topics,
            allow_auto_topic_creation,
            include_cluster_authorized_operations,
            include_topic_authorized_operations,
        })
    }

    /// At v0, `Some(vec![])` cannot be expressed and is sent as `[]`, meaning all topics.
    pub(super) fn encode(&self, w: &mut Writer, version: i16) {
        let name = |w: &mut Writer, t: &String| w.string(t);
        if version == 0 {
            w.array_of(self.topics.as_deref().unwrap_or(&[]), name);
        } else {
            w.nullable_array_of(self.topics.as_deref(), name);
        }
        if version >= 4 {
            w.bool(self.allow_auto_topic_creation);
        }
        if version >= 8 {
            w.bool(self.include_cluster_authorized_operations);
            w.bool(self.include_topic_authorized_operations);
        }
    }
}

/// "Authorized operations were not requested" (`Integer.MIN_VALUE`), for the v8 fields.
pub const AUTHORIZED_OPERATIONS_OMITTED: i32 = i32::MIN;

/// Metadata response, v0–v8.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataResponse {
    /// v3+.
    pub throttle_time_ms: i32,
    pub brokers: Vec<MetadataBroker>,
    /// v2+; any string, or null.
    pub cluster_id: Option<String>,
    /// v1+; our node id.
    pub controller_id: i32,
    pub topics: Vec<MetadataTopic>,
    /// v8 only; [`AUTHORIZED_OPERATIONS_OMITTED`] unless requested.
    pub cluster_authorized_operations: i32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataBroker {
    pub node_id: i32,
    /// The *advertised* host: what clients will connect to.
    pub host: String,
    pub port: i32,
    /// v1+; null.
    pub rack: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataTopic {
    pub error_code: ErrorCode,
    pub name: String,
    /// v1+.
    pub is_internal: bool,
    pub partitions: Vec<MetadataPartition>,
    /// v8+; [`AUTHORIZED_OPERATIONS_OMITTED`] unless requested.
    pub topic_authorized_operations: i32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataPartition {
    pub error_code: ErrorCode,
    pub partition_index: i32,
    pub leader_id: i32,
    /// v7+.
    pub leader_epoch: i32,
    pub replica_nodes: Vec<i32>,
    pub isr_nodes: Vec<i32>,
    /// v5+.
    pub offline_replicas: Vec<i32>,
}

impl MetadataResponse {
    pub(super) fn encode(&self, w: &mut Writer, version: i16) {
        if version >= 3 {
            w.i32(self.throttle_time_ms);
        }
        w.array_of(&self.brokers, |w, b| {
            w.i32(b.node_id);
            w.string(&b.host);
            w.i32(b.port);
            if version >= 1 {
                w.nullable_string(b.rack.as_deref());
            }
        });
        if version >= 2 {
            w.nullable_string(self.cluster_id.as_deref());
        }
        if version >= 1 {
            w.i32(self.controller_id);
        }
        w.array_of(&self.topics, |w, t| {
            w.i16(t.error_code.code());
            w.string(&t.name);
            if version >= 1 {
                w.bool(t.is_internal);
            }
            w.array_of(&t.partitions, |w, p| {
                w.i16(p.error_code.code());
                w.i32(p.partition_index);
                w.i32(p.leader_id);
                if version >= 7 {
                    w.i32(p.leader_epoch);
                }
                let node = |w: &mut Writer, n: &i32| w.i32(*n);
                w.array_of(&p.replica_nodes, node);
                w.array_of(&p.isr_nodes, node);
                if version >= 5 {
                    w.array_of(&p.offline_replicas, node);
                }
            });
            if version >= 8 {
                w.i32(t.topic_authorized_operations);
            }
        });
        if version >= 8 {
            w.i32(self.cluster_authorized_operations);
        }
    }
}

impl DecodeResponse<'_> for MetadataResponse {
    const API_KEY: ApiKey = ApiKey::Metadata;

    /// Fields the version lacks: `throttle_time_ms` 0, `rack`/`cluster_id` null,
    /// `controller_id` -1, `is_internal` false, `leader_epoch` -1, `offline_replicas`
    /// empty, authorized operations [`AUTHORIZED_OPERATIONS_OMITTED`].
    fn decode(r: &mut Reader<'_>, version: i16) -> FieldResult<Self> {
        let throttle_time_ms = if version >= 3 {
            r.i32("metadata.throttle_time_ms")?
        } else {
            0
        };
        // Smallest broker: node_id + empty host + port.
        let brokers = r.array_of("metadata.brokers", 10, |r| {
            Ok(MetadataBroker {
                node_id: r.i32("metadata.brokers.node_id")?,
                host: r.string("metadata.brokers.host")?,
                port: r.i32("metadata.brokers.port")?,
                rack: if version >= 1 {
                    r.nullable_string("metadata.brokers.rack")?
                } else {
                    None
                },
            })
        })?;
        let cluster_id = if version >= 2 {
            r.nullable_string("metadata.cluster_id")?
        } else {
            None
        };
        let controller_id = if version >= 1 {
            r.i32("metadata.controller_id")?
        } else {
            -1
        };
        let node = |r: &mut Reader<'_>| r.i32("metadata.topics.partitions.nodes");
        // Smallest topic: error + empty name + partition count; smallest partition: error,
        // index, leader and two empty node arrays.
        let topics = r.array_of("metadata.topics", 8, |r| {
            let error_code = read_error_code(r, "metadata.topics.error_code")?;
            let name = r.string("metadata.topics.name")?;
            let is_internal = version >= 1 && r.bool("metadata.topics.is_internal")?;
            let partitions = r.array_of("metadata.topics.partitions", 18, |r| {
                Ok(MetadataPartition {
                    error_code: read_error_code(r, "metadata.topics.partitions.error_code")?,
                    partition_index: r.i32("metadata.topics.partitions.partition_index")?,
                    leader_id: r.i32("metadata.topics.partitions.leader_id")?,
                    leader_epoch: if version >= 7 {
                        r.i32("metadata.topics.partitions.leader_epoch")?
                    } else {
                        -1
                    },
                    replica_nodes: r.array_of(
                        "metadata.topics.partitions.replica_nodes",
                        4,
                        node,
                    )?,
                    isr_nodes: r.array_of("metadata.topics.partitions.isr_nodes", 4, node)?,
                    offline_replicas: if version >= 5 {
                        r.array_of("metadata.topics.partitions.offline_replicas", 4, node)?
                    } else {
                        Vec::new()
                    },
                })
            })?;
            let topic_authorized_operations = if version >= 8 {
                r.i32("metadata.topics.topic_authorized_operations")?
            } else {
                AUTHORIZED_OPERATIONS_OMITTED
            };
            Ok(MetadataTopic {
                error_code,
                name,
                is_internal,
                partitions,
                topic_authorized_operations,
            })
        })?;
        let cluster_authorized_operations = if version >= 8 {
            r.i32("metadata.cluster_authorized_operations")?
        } else {
            AUTHORIZED_OPERATIONS_OMITTED
        };
        Ok(MetadataResponse {
            throttle_time_ms,
            brokers,
            cluster_id,
            controller_id,
            topics,
            cluster_authorized_operations,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::{Response, encode_response};

    fn response() -> MetadataResponse {
        MetadataResponse {
            throttle_time_ms: 0,
            brokers: vec![MetadataBroker {
                node_id: 1,
                host: "h".into(),
                port: 9092,
                rack: None,
            }],
            cluster_id: Some("c".into()),
            controller_id: 1,
            topics: vec![MetadataTopic {
                error_code: ErrorCode::None,
                name: "t".into(),
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
                topic_authorized_operations: AUTHORIZED_OPERATIONS_OMITTED,
            }],
            cluster_authorized_operations: AUTHORIZED_OPERATIONS_OMITTED,
        }
    }

    #[test]
    fn v0_response_hand_computed() {
        let frame = encode_response(3, 0, &Response::Metadata(response()));
        let expected = [
            0, 0, 0, 58, // size
            0, 0, 0, 3, // correlation id
            0, 0, 0, 1, // brokers: 1
            0, 0, 0, 1, 0, 1, b'h', 0, 0, 0x23, 0x84, // node 1, "h", 9092
            0, 0, 0, 1, // topics: 1
            0, 0, 0, 1, b't', // error 0, "t"
            0, 0, 0, 1, // partitions: 1
            0, 0, 0, 0, 0, 0, 0, 0, 0, 1, // error 0, index 0, leader 1
            0, 0, 0, 1, 0, 0, 0, 1, // replicas [1]
            0, 0, 0, 1, 0, 0, 0, 1, // isr [1]
        ];
        assert_eq!(frame, expected);
    }

    #[test]
    fn v8_response_hand_computed() {
        let frame = encode_response(3, 8, &Response::Metadata(response()));
        let expected = [
            0, 0, 0, 88, // size
            0, 0, 0, 3, // correlation id
            0, 0, 0, 0, // throttle
            0, 0, 0, 1, // brokers: 1
            0, 0, 0, 1, 0, 1, b'h', 0, 0, 0x23, 0x84, 0xff,
            0xff, // node, host, port, rack null
            0, 1, b'c', // cluster id
            0, 0, 0, 1, // controller
            0, 0, 0, 1, // topics: 1
            0, 0, 0, 1, b't', 0, // error, name, is_internal
            0, 0, 0, 1, // partitions: 1
            0, 0, 0, 0, 0, 0, 0, 0, 0, 1, // error, index, leader
            0, 0, 0, 0, // leader epoch
            0, 0, 0, 1, 0, 0, 0, 1, // replicas
            0, 0, 0, 1, 0, 0, 0, 1, // isr
            0, 0, 0, 0, // offline
            0x80, 0, 0, 0, // topic authorized operations
            0x80, 0, 0, 0, // cluster authorized operations
        ];
        assert_eq!(frame, expected);
    }

    #[test]
    fn topic_list_semantics_per_version() {
        let decode = |body: &[u8], v| MetadataRequest::decode(&mut Reader::new(body), v);
        // v0: empty = all.
        assert_eq!(decode(&[0, 0, 0, 0], 0).unwrap().topics, None);
        // v0: null is not allowed.
        assert!(decode(&[0xff, 0xff, 0xff, 0xff], 0).is_err());
        // v1: empty = none, null = all.
        assert_eq!(decode(&[0, 0, 0, 0], 1).unwrap().topics, Some(vec![]));
        assert_eq!(decode(&[0xff, 0xff, 0xff, 0xff], 1).unwrap().topics, None);
        // below v4 auto-creation is implied.
        assert!(decode(&[0, 0, 0, 0], 3).unwrap().allow_auto_topic_creation);
        assert!(
            !decode(&[0, 0, 0, 0, 0], 4)
                .unwrap()
                .allow_auto_topic_creation
        );
    }
}
