//! Writes the committed seed corpus under `fuzz/seeds/<target>/`: real requests from the
//! codec's own encoder (every API, lowest and highest supported version), batches and
//! segment directories cut from `fixtures/demo-log`. Seeds give libFuzzer valid inputs to
//! mutate from, so it reaches the code past the first length check in seconds.
//!
//! `cargo run --manifest-path fuzz/Cargo.toml --example make_seeds` (stable is fine).

use std::fs;
use std::path::{Path, PathBuf};

use zc::kafka::{
    ApiKey, ApiVersionsRequest, CreatableTopic, CreatePartitionsRequest, CreatePartitionsTopic,
    CreateTopicsRequest, DeleteGroupsRequest, DeleteTopicsRequest, DescribeConfigsRequest,
    DescribeConfigsResource, DescribeGroupsRequest, FetchPartition, FetchRequest, FetchTopic,
    FindCoordinatorRequest, HeartbeatRequest, InitProducerIdRequest, JoinGroupProtocol,
    JoinGroupRequest, LeaveGroupRequest, ListGroupsRequest, ListOffsetsPartition,
    ListOffsetsRequest, ListOffsetsTopic, MetadataRequest, OffsetCommitPartition,
    OffsetCommitRequest, OffsetCommitTopic, OffsetFetchRequest, ProducePartition, ProduceRequest,
    ProduceTopic, RequestBody, SUPPORTED_APIS, SyncGroupAssignment, SyncGroupRequest,
    encode_request,
};
use zc::log::batch::BatchBuilder;
use zc::log::index::{OFFSET_ENTRY_LEN, TIME_ENTRY_LEN};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = root().join("fuzz/seeds").join(target);
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join(name), bytes).unwrap();
}

fn small_batch() -> Vec<u8> {
    let mut out = Vec::new();
    let mut b = BatchBuilder::new(&mut out, 0);
    b.append(1_700_000_000_000, Some(b"k"), Some(b"value-0"), &[]);
    b.append(
        1_700_000_000_001,
        None,
        Some(b"value-1"),
        &[(b"h", Some(b"v"))],
    );
    b.finish();
    out
}

fn body<'a>(key: ApiKey, records: &'a [u8]) -> RequestBody<'a> {
    match key {
        ApiKey::Produce => RequestBody::Produce(ProduceRequest {
            transactional_id: None,
            acks: -1,
            timeout_ms: 30_000,
            topic_data: vec![ProduceTopic {
                name: "demo".into(),
                partition_data: vec![ProducePartition {
                    index: 0,
                    records: Some(records),
                }],
            }],
        }),
        ApiKey::Fetch => RequestBody::Fetch(FetchRequest {
            replica_id: -1,
            max_wait_ms: 500,
            min_bytes: 1,
            max_bytes: 52_428_800,
            isolation_level: 0,
            session_id: 0,
            session_epoch: -1,
            topics: vec![FetchTopic {
                topic: "demo".into(),
                partitions: vec![FetchPartition {
                    partition: 0,
                    current_leader_epoch: -1,
                    fetch_offset: 42,
                    log_start_offset: -1,
                    partition_max_bytes: 1 << 20,
                }],
            }],
            forgotten_topics_data: Vec::new(),
            rack_id: String::new(),
        }),
        ApiKey::ListOffsets => RequestBody::ListOffsets(ListOffsetsRequest {
            replica_id: -1,
            isolation_level: 0,
            topics: vec![ListOffsetsTopic {
                name: "demo".into(),
                partitions: vec![ListOffsetsPartition {
                    partition_index: 0,
                    current_leader_epoch: -1,
                    timestamp: -1,
                    max_num_offsets: 1,
                }],
            }],
        }),
        ApiKey::Metadata => RequestBody::Metadata(MetadataRequest {
            topics: Some(vec!["demo".into(), "other".into()]),
            allow_auto_topic_creation: true,
            include_cluster_authorized_operations: false,
            include_topic_authorized_operations: false,
        }),
        ApiKey::ApiVersions => RequestBody::ApiVersions(ApiVersionsRequest {
            client_software_name: "zc-seed".into(),
            client_software_version: "0.1".into(),
            tagged_fields: Vec::new(),
        }),
        ApiKey::InitProducerId => RequestBody::InitProducerId(InitProducerIdRequest {
            transactional_id: None,
            transaction_timeout_ms: 60_000,
        }),
        ApiKey::FindCoordinator
        | ApiKey::JoinGroup
        | ApiKey::SyncGroup
        | ApiKey::Heartbeat
        | ApiKey::LeaveGroup
        | ApiKey::OffsetCommit
        | ApiKey::OffsetFetch
        | ApiKey::ListGroups
        | ApiKey::DescribeGroups
        | ApiKey::DeleteGroups => group_body(key),
        ApiKey::CreateTopics
        | ApiKey::DeleteTopics
        | ApiKey::DescribeConfigs
        | ApiKey::CreatePartitions => admin_body(key),
    }
}

/// The topic admin APIs, as `zc topics` and kafka-topics send them.
fn admin_body(key: ApiKey) -> RequestBody<'static> {
    match key {
        ApiKey::CreateTopics => RequestBody::CreateTopics(CreateTopicsRequest {
            topics: vec![CreatableTopic {
                name: "orders".into(),
                num_partitions: 4,
                replication_factor: 1,
                assignments: vec![(0, vec![1])],
                configs: vec![("segment.bytes".into(), Some("1048576".into()))],
            }],
            timeout_ms: 30_000,
            validate_only: false,
        }),
        ApiKey::DeleteTopics => RequestBody::DeleteTopics(DeleteTopicsRequest {
            topic_names: vec!["orders".into()],
            timeout_ms: 30_000,
        }),
        ApiKey::DescribeConfigs => RequestBody::DescribeConfigs(DescribeConfigsRequest {
            resources: vec![DescribeConfigsResource {
                resource_type: 2,
                resource_name: "orders".into(),
                configuration_keys: Some(vec!["segment.bytes".into()]),
            }],
            include_synonyms: true,
            include_documentation: true,
        }),
        ApiKey::CreatePartitions => RequestBody::CreatePartitions(CreatePartitionsRequest {
            topics: vec![CreatePartitionsTopic {
                name: "orders".into(),
                count: 8,
                assignments: Some(vec![vec![1]]),
            }],
            timeout_ms: 30_000,
            validate_only: false,
        }),
        other => unreachable!("{other} is not an admin API"),
    }
}

/// The consumer-group APIs, with the values a consumer of group `g1` sends.
fn group_body(key: ApiKey) -> RequestBody<'static> {
    let (group_id, member_id) = ("g1".to_owned(), "rdkafka-1".to_owned());
    match key {
        ApiKey::FindCoordinator => RequestBody::FindCoordinator(FindCoordinatorRequest {
            key_type: 0,
            keys: vec![group_id, "g2".into()],
        }),
        ApiKey::JoinGroup => RequestBody::JoinGroup(JoinGroupRequest {
            group_id,
            session_timeout_ms: 45_000,
            rebalance_timeout_ms: 300_000,
            member_id,
            protocol_type: "consumer".into(),
            protocols: vec![JoinGroupProtocol {
                name: "range".into(),
                // Consumer protocol subscription v0: version, [topics], user data.
                metadata: vec![
                    0, 0, 0, 0, 0, 1, 0, 4, b'd', b'e', b'm', b'o', 255, 255, 255, 255,
                ],
            }],
        }),
        ApiKey::SyncGroup => RequestBody::SyncGroup(SyncGroupRequest {
            group_id,
            generation_id: 1,
            member_id: member_id.clone(),
            assignments: vec![SyncGroupAssignment {
                member_id,
                assignment: vec![
                    0, 0, 0, 0, 0, 1, 0, 4, b'd', b'e', b'm', b'o', 0, 0, 0, 1, 0, 0, 0, 0, 255,
                    255, 255, 255,
                ],
            }],
        }),
        ApiKey::Heartbeat => RequestBody::Heartbeat(HeartbeatRequest {
            group_id,
            generation_id: 1,
            member_id,
        }),
        ApiKey::LeaveGroup => RequestBody::LeaveGroup(LeaveGroupRequest {
            group_id,
            member_id,
        }),
        ApiKey::OffsetCommit => RequestBody::OffsetCommit(OffsetCommitRequest {
            group_id,
            generation_id: 1,
            member_id,
            retention_time_ms: -1,
            topics: vec![OffsetCommitTopic {
                name: "demo".into(),
                partitions: vec![OffsetCommitPartition {
                    partition_index: 0,
                    committed_offset: 42,
                    committed_leader_epoch: -1,
                    committed_metadata: Some(String::new()),
                }],
            }],
        }),
        ApiKey::OffsetFetch => RequestBody::OffsetFetch(OffsetFetchRequest {
            group_id,
            topics: Some(vec![("demo".into(), vec![0])]),
        }),
        ApiKey::ListGroups => RequestBody::ListGroups(ListGroupsRequest),
        ApiKey::DescribeGroups => RequestBody::DescribeGroups(DescribeGroupsRequest {
            groups: vec![group_id],
            include_authorized_operations: false,
        }),
        ApiKey::DeleteGroups => RequestBody::DeleteGroups(DeleteGroupsRequest {
            groups_names: vec![group_id],
        }),
        other => unreachable!("{other} is not a group API"),
    }
}

fn main() {
    let batch = small_batch();
    for (key, range) in SUPPORTED_APIS {
        for version in [range.min, range.max] {
            let frame = encode_request(7, Some("zc-seed"), version, &body(key, &batch));
            // The decoder is handed the frame after its int32 size prefix.
            write(
                "request_decoder",
                &format!("{}-v{version}", key.name()),
                &frame[4..],
            );
        }
    }

    write("batch_decoder", "built-2-records", &batch);
    let demo = root().join("fixtures/demo-log/demo-0");
    let log = fs::read(demo.join("00000000000000000000.log")).unwrap();
    let first = zc::log::batch::BatchHeader::parse(&log).unwrap();
    write("batch_decoder", "demo-first-batch", &log[..first.size()]);
    let second = zc::log::batch::BatchHeader::parse(&log[first.size()..]).unwrap();
    write(
        "batch_decoder",
        "demo-two-batches",
        &log[..first.size() + second.size()],
    );

    // Segment seeds: [u16 index len][u16 timeindex len][index][timeindex][log], cut from
    // the demo log's first segment to two batches, with the index entries that point
    // inside the cut.
    let cut = {
        let mut at = 0;
        for _ in 0..2 {
            at += zc::log::batch::BatchHeader::parse(&log[at..])
                .unwrap()
                .size();
        }
        at
    };
    let index = fs::read(demo.join("00000000000000000000.index")).unwrap();
    let time_index = fs::read(demo.join("00000000000000000000.timeindex")).unwrap();
    let keep = |entries: &[u8], len: usize, position_at: Option<usize>| -> Vec<u8> {
        entries
            .chunks_exact(len)
            .take_while(|e| match position_at {
                Some(p) => (i32::from_be_bytes(e[p..p + 4].try_into().unwrap()) as usize) < cut,
                None => true,
            })
            .take(2)
            .flatten()
            .copied()
            .collect()
    };
    let index = keep(&index, OFFSET_ENTRY_LEN, Some(4));
    let time_index =
        keep(&time_index, TIME_ENTRY_LEN, None)[..TIME_ENTRY_LEN.min(time_index.len())].to_vec();
    for (name, idx, tidx, bytes) in [
        ("demo-2-batches", &index[..], &time_index[..], &log[..cut]),
        ("demo-2-batches-no-index", &[][..], &[][..], &log[..cut]),
        (
            "demo-torn-tail",
            &index[..],
            &time_index[..],
            &log[..cut - 30],
        ),
        ("built-1-batch", &[][..], &[][..], &batch[..]),
    ] {
        let mut seed = Vec::new();
        seed.extend_from_slice(&(idx.len() as u16).to_be_bytes());
        seed.extend_from_slice(&(tidx.len() as u16).to_be_bytes());
        seed.extend_from_slice(idx);
        seed.extend_from_slice(tidx);
        seed.extend_from_slice(bytes);
        write("segment_reader", name, &seed);
    }
    println!(
        "seeds written under {}",
        root().join("fuzz/seeds").display()
    );
}
