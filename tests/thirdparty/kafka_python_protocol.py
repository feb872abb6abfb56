#!/usr/bin/env python3
"""Cross-check zc's Kafka protocol codec against kafka-python's, an independent
implementation generated from Kafka's own JSON message schemas.

Usage:
  kafka_python_protocol.py requests
      Prints one JSON line per (API, version) that zc supports: a request frame encoded by
      kafka-python ({"api", "version", "frame": hex}). zc must decode each one and, encoding
      the result again, produce the same bytes.
  kafka_python_protocol.py responses
      Reads JSON lines {"api", "version", "frame": hex} of response frames encoded by zc
      on stdin; decodes each with kafka-python's response class (size prefix and header
      included), re-encodes it with kafka-python and prints {"api", "version", "ok",
      "error"}: ok means kafka-python read every byte and wrote back the same frame.

Exits 3 if kafka-python (>= 3, the schema-based protocol) is not installed.
"""
import json
import sys

try:
    from kafka.protocol.consumer.fetch import FetchRequest, FetchResponse
    from kafka.protocol.consumer.offsets import ListOffsetsRequest, ListOffsetsResponse
    from kafka.protocol.metadata.api_versions import ApiVersionsRequest, ApiVersionsResponse
    from kafka.protocol.metadata.metadata import MetadataRequest, MetadataResponse
    from kafka.protocol.producer.produce import ProduceRequest, ProduceResponse
    from kafka.protocol.producer.transaction import InitProducerIdRequest, InitProducerIdResponse
    from kafka.protocol.consumer.group import (
        HeartbeatRequest, HeartbeatResponse, JoinGroupRequest, JoinGroupResponse,
        LeaveGroupRequest, LeaveGroupResponse, OffsetCommitRequest, OffsetCommitResponse,
        OffsetFetchRequest, OffsetFetchResponse, SyncGroupRequest, SyncGroupResponse)
    from kafka.protocol.metadata.find_coordinator import (
        FindCoordinatorRequest, FindCoordinatorResponse)
    from kafka.protocol.admin.groups import (
        DeleteGroupsRequest, DeleteGroupsResponse, DescribeGroupsRequest,
        DescribeGroupsResponse, ListGroupsRequest, ListGroupsResponse)
    from kafka.protocol.admin.topics import (
        CreatePartitionsRequest, CreatePartitionsResponse, CreateTopicsRequest,
        CreateTopicsResponse, DeleteTopicsRequest, DeleteTopicsResponse)
    from kafka.protocol.admin.configs import DescribeConfigsRequest, DescribeConfigsResponse
except ImportError as e:  # the Rust test decides whether that is a skip or a failure
    print(f"kafka-python >= 3 is not installed: {e}", file=sys.stderr)
    sys.exit(3)

# The versions zc supports (src/kafka/codes.rs, SUPPORTED_APIS).
VERSIONS = {0: (3, 8), 1: (4, 11), 2: (0, 5), 3: (0, 8), 18: (0, 3), 22: (0, 1),
            8: (2, 6), 9: (1, 5), 10: (0, 4), 11: (0, 4), 12: (0, 2), 13: (0, 2), 14: (0, 2),
            15: (0, 3), 16: (0, 2), 42: (0, 1), 19: (0, 4), 20: (0, 3), 32: (0, 3), 37: (0, 1)}

# The first flexible version of the APIs whose responses then carry response header v1
# (ApiVersions, though flexible from v3, always answers with header v0).
FLEXIBLE_RESPONSE_HEADER = {10: 3}

# docs/kafka-protocol.md §9: one record batch, key "k", value "v".
BATCH = bytes.fromhex(
    "0000000000000000"
    "0000003a"
    "00000000"
    "02"
    "e99b8dd8"
    "0000"
    "00000000"
    "0000018bcfe56800"
    "0000018bcfe56800"
    "ffffffffffffffff"
    "ffff"
    "ffffffff"
    "00000001"
    "10000000" "026b" "0276" "00"
)


def fetch(v):
    T, P, F = FetchRequest.FetchTopic, FetchRequest.FetchTopic.FetchPartition, FetchRequest.ForgottenTopic
    return FetchRequest[v](
        replica_id=-1, max_wait_ms=500, min_bytes=1, max_bytes=52428800, isolation_level=1,
        session_id=5, session_epoch=2,
        topics=[T(topic="demo", partitions=[
            P(partition=0, current_leader_epoch=3, fetch_offset=42, log_start_offset=7,
              partition_max_bytes=1048576),
            P(partition=1, current_leader_epoch=-1, fetch_offset=0, log_start_offset=-1,
              partition_max_bytes=1)])],
        forgotten_topics_data=[F(topic="old", partitions=[1, 2])],
        rack_id="r1")


def produce(v):
    T = ProduceRequest.TopicProduceData
    P = T.PartitionProduceData
    return ProduceRequest[v](
        transactional_id=None, acks=-1, timeout_ms=30000,
        topic_data=[T(name="demo", partition_data=[P(index=0, records=BATCH)])])


def list_offsets(v):
    T = ListOffsetsRequest.ListOffsetsTopic
    P = T.ListOffsetsPartition
    return ListOffsetsRequest[v](
        replica_id=-1, isolation_level=1,
        topics=[T(name="demo", partitions=[
            P(partition_index=0, current_leader_epoch=0, timestamp=-2, max_num_offsets=1)])])


def metadata(v):
    T = MetadataRequest.MetadataRequestTopic
    return MetadataRequest[v](
        topics=[T(name="demo"), T(name="other")], allow_auto_topic_creation=False,
        include_cluster_authorized_operations=True, include_topic_authorized_operations=True)


def api_versions(v):
    return ApiVersionsRequest[v](client_software_name="kafka-python", client_software_version="3.0.12")


def init_producer_id(v):
    return InitProducerIdRequest[v](transactional_id=None, transaction_timeout_ms=60000)


def find_coordinator(v):
    return FindCoordinatorRequest[v](key="g1", key_type=0, coordinator_keys=["g1", "g2"])


def join_group(v):
    P = JoinGroupRequest.JoinGroupRequestProtocol
    return JoinGroupRequest[v](
        group_id="g1", session_timeout_ms=45000, rebalance_timeout_ms=300000, member_id="m-1",
        group_instance_id=None, protocol_type="consumer",
        protocols=[P(name="range", metadata=b"\x00\x01"), P(name="roundrobin", metadata=b"")])


def sync_group(v):
    A = SyncGroupRequest.SyncGroupRequestAssignment
    return SyncGroupRequest[v](group_id="g1", generation_id=3, member_id="m-1",
                               group_instance_id=None,
                               assignments=[A(member_id="m-1", assignment=b"\x09")])


def heartbeat(v):
    return HeartbeatRequest[v](group_id="g1", generation_id=3, member_id="m-1",
                               group_instance_id=None)


def leave_group(v):
    return LeaveGroupRequest[v](group_id="g1", member_id="m-1")


def offset_commit(v):
    T = OffsetCommitRequest.OffsetCommitRequestTopic
    P = T.OffsetCommitRequestPartition
    return OffsetCommitRequest[v](
        group_id="g1", generation_id_or_member_epoch=3, member_id="m-1", group_instance_id=None,
        retention_time_ms=-1,
        topics=[T(name="demo", partitions=[
            P(partition_index=0, committed_offset=42, committed_leader_epoch=-1,
              commit_timestamp=-1, committed_metadata="meta"),
            P(partition_index=1, committed_offset=7, committed_leader_epoch=-1,
              commit_timestamp=-1, committed_metadata=None)])])


def offset_fetch(v):
    T = OffsetFetchRequest.OffsetFetchRequestTopic
    return OffsetFetchRequest[v](group_id="g1", topics=[T(name="demo", partition_indexes=[0, 1])])


def list_groups(v):
    return ListGroupsRequest[v]()


def describe_groups(v):
    return DescribeGroupsRequest[v](groups=["g1", "g2"], include_authorized_operations=False)


def delete_groups(v):
    return DeleteGroupsRequest[v](groups_names=["g1"])


def create_topics(v):
    T = CreateTopicsRequest.CreatableTopic
    return CreateTopicsRequest[v](topics=[
        T(name="t1", num_partitions=4, replication_factor=1, assignments=[],
          configs=[T.CreatableTopicConfig(name="segment.bytes", value="1024"),
                   T.CreatableTopicConfig(name="x", value=None)]),
        T(name="t2", num_partitions=-1, replication_factor=-1,
          assignments=[T.CreatableReplicaAssignment(partition_index=0, broker_ids=[1])],
          configs=[])], timeout_ms=30000, validate_only=v >= 1)


def delete_topics(v):
    return DeleteTopicsRequest[v](topic_names=["t1", "t2"], timeout_ms=30000)


def create_partitions(v):
    P = CreatePartitionsRequest.CreatePartitionsTopic
    return CreatePartitionsRequest[v](topics=[
        P(name="t1", count=6, assignments=None),
        P(name="t2", count=3, assignments=[P.CreatePartitionsAssignment(broker_ids=[1])])],
        timeout_ms=30000, validate_only=True)


def describe_configs(v):
    R = DescribeConfigsRequest.DescribeConfigsResource
    return DescribeConfigsRequest[v](resources=[
        R(resource_type=2, resource_name="t1", configuration_keys=None),
        R(resource_type=4, resource_name="1", configuration_keys=["num.partitions"])],
        include_synonyms=v >= 1, include_documentation=v >= 3)


REQUESTS = {0: produce, 1: fetch, 2: list_offsets, 3: metadata, 18: api_versions, 22: init_producer_id,
            8: offset_commit, 9: offset_fetch, 10: find_coordinator, 11: join_group,
            12: heartbeat, 13: leave_group, 14: sync_group, 15: describe_groups, 16: list_groups,
            42: delete_groups, 19: create_topics, 20: delete_topics, 32: describe_configs,
            37: create_partitions}
RESPONSES = {0: ProduceResponse, 1: FetchResponse, 2: ListOffsetsResponse, 3: MetadataResponse,
             18: ApiVersionsResponse, 22: InitProducerIdResponse, 8: OffsetCommitResponse,
             9: OffsetFetchResponse, 10: FindCoordinatorResponse, 11: JoinGroupResponse,
             12: HeartbeatResponse, 13: LeaveGroupResponse, 14: SyncGroupResponse,
             15: DescribeGroupsResponse, 16: ListGroupsResponse, 42: DeleteGroupsResponse,
             19: CreateTopicsResponse, 20: DeleteTopicsResponse, 32: DescribeConfigsResponse,
             37: CreatePartitionsResponse}


def requests():
    for api, (lo, hi) in VERSIONS.items():
        for v in range(lo, hi + 1):
            req = REQUESTS[api](v)
            req.with_header(correlation_id=1000 + v, client_id="kafka-python")
            frame = bytes(req.encode(header=True, framed=True))
            print(json.dumps({"api": api, "version": v, "frame": frame.hex()}))


def responses():
    for line in sys.stdin:
        msg = json.loads(line)
        api, v, frame = msg["api"], msg["version"], bytes.fromhex(msg["frame"])
        out = {"api": api, "version": v, "ok": False, "error": None}
        try:
            cls = RESPONSES[api]
            framed = cls.decode(frame, version=v, header=True, framed=True)
            size = int.from_bytes(frame[:4], "big", signed=True)
            # Re-encode the body only (kafka-python re-encodes a response header only for
            # a request header): header v0 is the 4-byte correlation id, v1 adds a
            # tagged-field byte (empty here).
            first_flexible = FLEXIBLE_RESPONSE_HEADER.get(api)
            body_at = 9 if first_flexible is not None and v >= first_flexible else 8
            resp = cls.decode(frame[body_at:], version=v)
            resp._header = None  # decode() bypasses __init__, which encode() relies on
            body_version = resp.version if resp.version is not None else v
            again = bytes(resp.encode(version=body_version))
            if size != len(frame) - 4:
                out["error"] = f"size prefix {size} for a {len(frame)}-byte frame"
            elif framed.header.correlation_id != 77:
                out["error"] = f"correlation id {framed.header.correlation_id}"
            elif again != frame[body_at:]:
                out["error"] = f"re-encoded differently: {again.hex()} != {frame[body_at:].hex()}"
            else:
                out["ok"] = True
        except Exception as e:  # report, do not crash: the Rust side prints it
            out["error"] = f"{type(e).__name__}: {e}"
        print(json.dumps(out))


if __name__ == "__main__":
    {"requests": requests, "responses": responses}[sys.argv[1]]()
