//! Samples of the topic admin APIs for the codec-wide tests in `tests.rs` and the
//! kafka-python cross-check in `thirdparty_tests.rs`.

use super::describe_configs::{RESOURCE_BROKER, RESOURCE_TOPIC};
use super::*;

/// The admin APIs, which [`sample`] and [`sample_response`] cover.
pub(super) const APIS: [ApiKey; 4] = [
    ApiKey::CreateTopics,
    ApiKey::DeleteTopics,
    ApiKey::DescribeConfigs,
    ApiKey::CreatePartitions,
];

/// An admin API request with every field the version has set to a non-default value.
pub(super) fn sample(api: ApiKey, v: i16) -> RequestBody<'static> {
    match api {
        ApiKey::CreateTopics => RequestBody::CreateTopics(CreateTopicsRequest {
            topics: vec![
                CreatableTopic {
                    name: "t1".into(),
                    num_partitions: 4,
                    replication_factor: 1,
                    assignments: Vec::new(),
                    configs: vec![
                        ("segment.bytes".into(), Some("1024".into())),
                        ("x".into(), None),
                    ],
                },
                CreatableTopic {
                    name: "t2".into(),
                    num_partitions: -1,
                    replication_factor: -1,
                    assignments: vec![(0, vec![1])],
                    configs: Vec::new(),
                },
            ],
            timeout_ms: 30_000,
            validate_only: v >= 1,
        }),
        ApiKey::DeleteTopics => RequestBody::DeleteTopics(DeleteTopicsRequest {
            topic_names: vec!["t1".into(), "t2".into()],
            timeout_ms: 30_000,
        }),
        ApiKey::CreatePartitions => RequestBody::CreatePartitions(CreatePartitionsRequest {
            topics: vec![
                CreatePartitionsTopic {
                    name: "t1".into(),
                    count: 6,
                    assignments: None,
                },
                CreatePartitionsTopic {
                    name: "t2".into(),
                    count: 3,
                    assignments: Some(vec![vec![1]]),
                },
            ],
            timeout_ms: 30_000,
            validate_only: true,
        }),
        ApiKey::DescribeConfigs => RequestBody::DescribeConfigs(DescribeConfigsRequest {
            resources: vec![
                DescribeConfigsResource {
                    resource_type: RESOURCE_TOPIC,
                    resource_name: "t1".into(),
                    configuration_keys: None,
                },
                DescribeConfigsResource {
                    resource_type: RESOURCE_BROKER,
                    resource_name: "1".into(),
                    configuration_keys: Some(vec!["num.partitions".into()]),
                },
            ],
            include_synonyms: v >= 1,
            include_documentation: v >= 3,
        }),
        other => unreachable!("{other} is not an admin API"),
    }
}

/// An admin API response with every field the version has set to a non-default value.
pub(super) fn sample_response(api: ApiKey, v: i16) -> Response {
    match api {
        ApiKey::CreateTopics => Response::CreateTopics(CreateTopicsResponse {
            throttle_time_ms: if v >= 2 { 5 } else { 0 },
            topics: vec![
                CreatableTopicResult {
                    name: "t1".into(),
                    error_code: ErrorCode::None,
                    error_message: None,
                },
                CreatableTopicResult {
                    name: "t2".into(),
                    error_code: ErrorCode::InvalidReplicationFactor,
                    error_message: (v >= 1).then(|| "single broker".into()),
                },
            ],
        }),
        ApiKey::DeleteTopics => Response::DeleteTopics(DeleteTopicsResponse {
            throttle_time_ms: if v >= 1 { 5 } else { 0 },
            responses: vec![
                ("t1".into(), ErrorCode::None),
                ("t2".into(), ErrorCode::UnknownTopicOrPartition),
            ],
        }),
        ApiKey::CreatePartitions => Response::CreatePartitions(CreatePartitionsResponse {
            throttle_time_ms: 5,
            results: vec![
                ("t1".into(), ErrorCode::None, None),
                (
                    "t2".into(),
                    ErrorCode::InvalidPartitions,
                    Some("not an increase".into()),
                ),
            ],
        }),
        ApiKey::DescribeConfigs => Response::DescribeConfigs(DescribeConfigsResponse {
            throttle_time_ms: 5,
            results: vec![
                DescribeConfigsResult {
                    error_code: ErrorCode::None,
                    error_message: None,
                    resource_type: RESOURCE_TOPIC,
                    resource_name: "t1".into(),
                    configs: vec![
                        ConfigEntry {
                            name: "segment.bytes".into(),
                            value: Some("1024".into()),
                            read_only: true,
                            source: if v == 0 {
                                ConfigSource::StaticBroker
                            } else {
                                ConfigSource::Default
                            },
                            config_type: if v >= 3 { 3 } else { 0 },
                            documentation: (v >= 3).then(|| "segment size".into()),
                        },
                        ConfigEntry {
                            name: "cleanup.policy".into(),
                            value: None,
                            read_only: false,
                            source: ConfigSource::Default,
                            config_type: if v >= 3 { 7 } else { 0 },
                            documentation: None,
                        },
                    ],
                },
                DescribeConfigsResult {
                    error_code: ErrorCode::UnknownTopicOrPartition,
                    error_message: Some("no such topic".into()),
                    resource_type: RESOURCE_TOPIC,
                    resource_name: "t2".into(),
                    configs: Vec::new(),
                },
            ],
        }),
        other => unreachable!("{other} is not an admin API"),
    }
}

#[test]
fn every_admin_response_round_trips_through_the_client_decoder() {
    fn check<T: for<'a> DecodeResponse<'a> + std::fmt::Debug + PartialEq>(
        api: ApiKey,
        v: i16,
        expected: &Response,
        unwrap: impl Fn(&Response) -> &T,
    ) {
        let frame = encode_response(7, v, expected);
        let (id, got) = decode_response::<T>(&frame[4..], v).unwrap();
        assert_eq!(id, 7);
        assert_eq!(&got, unwrap(expected), "{api} v{v}");
    }
    for api in APIS {
        for v in api.versions().min..=api.versions().max {
            let r = sample_response(api, v);
            match &r {
                Response::CreateTopics(_) => check(api, v, &r, |r| match r {
                    Response::CreateTopics(b) => b,
                    _ => unreachable!(),
                }),
                Response::DeleteTopics(_) => check(api, v, &r, |r| match r {
                    Response::DeleteTopics(b) => b,
                    _ => unreachable!(),
                }),
                Response::CreatePartitions(_) => check(api, v, &r, |r| match r {
                    Response::CreatePartitions(b) => b,
                    _ => unreachable!(),
                }),
                Response::DescribeConfigs(_) => check(api, v, &r, |r| match r {
                    Response::DescribeConfigs(b) => b,
                    _ => unreachable!(),
                }),
                _ => unreachable!(),
            }
        }
    }
}
