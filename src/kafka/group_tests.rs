//! Samples of the group APIs for the codec-wide tests in `tests.rs`, and the group
//! responses' round trips (encode, then decode as a client does).

use super::*;

/// A group API request with every field the version has set to a non-default value.
pub(super) fn sample(api: ApiKey, v: i16) -> RequestBody<'static> {
    match api {
        ApiKey::FindCoordinator => RequestBody::FindCoordinator(FindCoordinatorRequest {
            key_type: if v >= 1 { 1 } else { 0 },
            keys: if v >= 4 {
                vec!["g1".into(), "g2".into()]
            } else {
                vec!["g1".into()]
            },
        }),
        ApiKey::JoinGroup => RequestBody::JoinGroup(JoinGroupRequest {
            group_id: "g1".into(),
            session_timeout_ms: 45_000,
            rebalance_timeout_ms: if v >= 1 { 300_000 } else { -1 },
            member_id: "m-1".into(),
            protocol_type: "consumer".into(),
            protocols: vec![
                JoinGroupProtocol {
                    name: "range".into(),
                    metadata: vec![0, 1, 2],
                },
                JoinGroupProtocol {
                    name: "roundrobin".into(),
                    metadata: vec![],
                },
            ],
        }),
        ApiKey::SyncGroup => RequestBody::SyncGroup(SyncGroupRequest {
            group_id: "g1".into(),
            generation_id: 3,
            member_id: "m-1".into(),
            assignments: vec![SyncGroupAssignment {
                member_id: "m-1".into(),
                assignment: vec![9, 8],
            }],
        }),
        ApiKey::Heartbeat => RequestBody::Heartbeat(HeartbeatRequest {
            group_id: "g1".into(),
            generation_id: 3,
            member_id: "m-1".into(),
        }),
        ApiKey::LeaveGroup => RequestBody::LeaveGroup(LeaveGroupRequest {
            group_id: "g1".into(),
            member_id: "m-1".into(),
        }),
        ApiKey::OffsetCommit => RequestBody::OffsetCommit(OffsetCommitRequest {
            group_id: "g1".into(),
            generation_id: 3,
            member_id: "m-1".into(),
            retention_time_ms: if v <= 4 { 86_400_000 } else { -1 },
            topics: vec![OffsetCommitTopic {
                name: "demo".into(),
                partitions: vec![
                    OffsetCommitPartition {
                        partition_index: 0,
                        committed_offset: 42,
                        committed_leader_epoch: if v >= 6 { 0 } else { -1 },
                        committed_metadata: Some("meta".into()),
                    },
                    OffsetCommitPartition {
                        partition_index: 1,
                        committed_offset: 7,
                        committed_leader_epoch: -1,
                        committed_metadata: None,
                    },
                ],
            }],
        }),
        ApiKey::OffsetFetch => RequestBody::OffsetFetch(OffsetFetchRequest {
            group_id: "g1".into(),
            topics: Some(vec![("demo".into(), vec![0, 1])]),
        }),
        ApiKey::ListGroups => RequestBody::ListGroups(ListGroupsRequest),
        ApiKey::DescribeGroups => RequestBody::DescribeGroups(DescribeGroupsRequest {
            groups: vec!["g1".into(), "g2".into()],
            include_authorized_operations: v >= 3,
        }),
        ApiKey::DeleteGroups => RequestBody::DeleteGroups(DeleteGroupsRequest {
            groups_names: vec!["g1".into()],
        }),
        other => unreachable!("{other} is not a group API"),
    }
}

/// A group API response with every field the version has set to a non-default value.
pub(super) fn sample_response(api: ApiKey, v: i16) -> Response {
    match api {
        ApiKey::FindCoordinator => Response::FindCoordinator(FindCoordinatorResponse {
            throttle_time_ms: if v >= 1 { 5 } else { 0 },
            coordinators: if v >= 4 {
                vec![
                    Coordinator {
                        key: "g1".into(),
                        node_id: 1,
                        host: "127.0.0.1".into(),
                        port: 9092,
                        error_code: ErrorCode::None,
                        error_message: None,
                    },
                    Coordinator {
                        key: "tx".into(),
                        node_id: -1,
                        host: String::new(),
                        port: -1,
                        error_code: ErrorCode::InvalidRequest,
                        error_message: Some("no transactions".into()),
                    },
                ]
            } else {
                vec![Coordinator {
                    key: String::new(),
                    node_id: 1,
                    host: "127.0.0.1".into(),
                    port: 9092,
                    error_code: ErrorCode::None,
                    error_message: if v >= 1 { Some("ok".into()) } else { None },
                }]
            },
        }),
        ApiKey::JoinGroup => Response::JoinGroup(JoinGroupResponse {
            throttle_time_ms: if v >= 2 { 5 } else { 0 },
            error_code: ErrorCode::None,
            generation_id: 3,
            protocol_name: "range".into(),
            leader: "m-1".into(),
            member_id: "m-1".into(),
            members: vec![
                JoinGroupMember {
                    member_id: "m-1".into(),
                    metadata: vec![1, 2],
                },
                JoinGroupMember {
                    member_id: "m-2".into(),
                    metadata: vec![],
                },
            ],
        }),
        ApiKey::SyncGroup => Response::SyncGroup(SyncGroupResponse {
            throttle_time_ms: if v >= 1 { 5 } else { 0 },
            error_code: ErrorCode::None,
            assignment: vec![0, 1, 2, 3],
        }),
        ApiKey::Heartbeat => Response::Heartbeat(GroupErrorResponse {
            throttle_time_ms: if v >= 1 { 5 } else { 0 },
            error_code: ErrorCode::RebalanceInProgress,
        }),
        ApiKey::LeaveGroup => Response::LeaveGroup(GroupErrorResponse {
            throttle_time_ms: if v >= 1 { 5 } else { 0 },
            error_code: ErrorCode::UnknownMemberId,
        }),
        ApiKey::OffsetCommit => Response::OffsetCommit(OffsetCommitResponse {
            throttle_time_ms: if v >= 3 { 5 } else { 0 },
            topics: vec![OffsetCommitTopicResponse {
                name: "demo".into(),
                partitions: vec![
                    (0, ErrorCode::None),
                    (1, ErrorCode::UnknownTopicOrPartition),
                ],
            }],
        }),
        ApiKey::OffsetFetch => Response::OffsetFetch(OffsetFetchResponse {
            throttle_time_ms: if v >= 3 { 5 } else { 0 },
            topics: vec![(
                "demo".into(),
                vec![
                    OffsetFetchPartition {
                        partition_index: 0,
                        committed_offset: 42,
                        committed_leader_epoch: if v >= 5 { 0 } else { -1 },
                        metadata: Some("meta".into()),
                        error_code: ErrorCode::None,
                    },
                    OffsetFetchPartition {
                        partition_index: 1,
                        committed_offset: -1,
                        committed_leader_epoch: -1,
                        metadata: Some(String::new()),
                        error_code: ErrorCode::None,
                    },
                ],
            )],
            error_code: ErrorCode::None,
        }),
        ApiKey::ListGroups => Response::ListGroups(ListGroupsResponse {
            throttle_time_ms: if v >= 1 { 5 } else { 0 },
            error_code: ErrorCode::None,
            groups: vec![
                ("g1".into(), "consumer".into()),
                ("g2".into(), String::new()),
            ],
        }),
        ApiKey::DescribeGroups => Response::DescribeGroups(DescribeGroupsResponse {
            throttle_time_ms: if v >= 1 { 5 } else { 0 },
            groups: vec![DescribedGroup {
                error_code: ErrorCode::None,
                group_id: "g1".into(),
                group_state: "Stable".into(),
                protocol_type: "consumer".into(),
                protocol_data: "range".into(),
                members: vec![DescribedMember {
                    member_id: "m-1".into(),
                    client_id: "rdkafka".into(),
                    client_host: "/127.0.0.1".into(),
                    member_metadata: vec![1],
                    member_assignment: vec![2, 3],
                }],
                authorized_operations: i32::MIN,
            }],
        }),
        ApiKey::DeleteGroups => Response::DeleteGroups(DeleteGroupsResponse {
            throttle_time_ms: 5,
            results: vec![
                ("g1".into(), ErrorCode::None),
                ("g2".into(), ErrorCode::NonEmptyGroup),
            ],
        }),
        other => unreachable!("{other} is not a group API"),
    }
}

fn is_group_api(api: ApiKey) -> bool {
    matches!(
        api,
        ApiKey::FindCoordinator
            | ApiKey::JoinGroup
            | ApiKey::SyncGroup
            | ApiKey::Heartbeat
            | ApiKey::LeaveGroup
            | ApiKey::OffsetCommit
            | ApiKey::OffsetFetch
            | ApiKey::ListGroups
            | ApiKey::DescribeGroups
            | ApiKey::DeleteGroups
    )
}

/// Decodes a response frame as `T` and checks the correlation id and the body.
fn decodes_back<'a, T: DecodeResponse<'a> + std::fmt::Debug + PartialEq>(
    frame: &'a [u8],
    v: i16,
    expected: &T,
) {
    let (id, body) =
        decode_response::<T>(&frame[4..], v).unwrap_or_else(|e| panic!("{} v{v}: {e}", T::API_KEY));
    assert_eq!(id, 77);
    assert_eq!(&body, expected, "{} v{v}", T::API_KEY);
}

#[test]
fn every_group_response_round_trips() {
    let mut seen = 0;
    for (api, range) in SUPPORTED_APIS.into_iter().filter(|(a, _)| is_group_api(*a)) {
        for v in range.min..=range.max {
            let response = sample_response(api, v);
            let frame = encode_response(77, v, &response);
            match &response {
                Response::FindCoordinator(r) => decodes_back(&frame, v, r),
                Response::JoinGroup(r) => decodes_back(&frame, v, r),
                Response::SyncGroup(r) => decodes_back(&frame, v, r),
                Response::Heartbeat(r) => decodes_back(&frame, v, &HeartbeatResponse(r.clone())),
                Response::LeaveGroup(r) => decodes_back(&frame, v, &LeaveGroupResponse(r.clone())),
                Response::OffsetCommit(r) => decodes_back(&frame, v, r),
                Response::OffsetFetch(r) => decodes_back(&frame, v, r),
                Response::ListGroups(r) => decodes_back(&frame, v, r),
                Response::DescribeGroups(r) => decodes_back(&frame, v, r),
                Response::DeleteGroups(r) => decodes_back(&frame, v, r),
                _ => unreachable!(),
            }
            seen += 1;
        }
    }
    assert_eq!(seen, 5 + 5 + 3 + 3 + 3 + 5 + 5 + 3 + 4 + 2);
}

/// FindCoordinator v4, byte for byte: a flexible request (header v2, compact strings) and
/// its answer (response header v1: a tagged-field byte after the correlation id).
#[test]
fn find_coordinator_v4_bytes() {
    let req = RequestBody::FindCoordinator(FindCoordinatorRequest {
        key_type: 0,
        keys: vec!["g".into()],
    });
    let frame = encode_request(7, Some("c"), 4, &req);
    let expected_req = [
        0, 0, 0, 17, // size
        0, 10, 0, 4, 0, 0, 0, 7, // key 10, v4, correlation id 7
        0, 1, b'c', // client id: an int16 string even in header v2
        0,    // header tagged fields
        0,    // key_type
        2, 2, b'g', // compact array of one compact string "g"
        0,    // body tagged fields
    ];
    assert_eq!(frame, expected_req);
    let resp = Response::FindCoordinator(FindCoordinatorResponse {
        throttle_time_ms: 0,
        coordinators: vec![Coordinator {
            key: "g".into(),
            node_id: 1,
            host: "h".into(),
            port: 9092,
            error_code: ErrorCode::None,
            error_message: None,
        }],
    });
    let expected_resp = [
        0, 0, 0, 27, // size
        0, 0, 0, 7, 0, // correlation id, header tagged fields
        0, 0, 0, 0, // throttle
        2, // one coordinator
        2, b'g', 0, 0, 0, 1, 2, b'h', 0, 0, 0x23, 0x84, 0, 0, // key, node, host, port, error
        0, // null message
        0, // entry tagged fields
        0, // body tagged fields
    ];
    assert_eq!(encode_response(7, 4, &resp), expected_resp);
}
