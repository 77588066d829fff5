#!/usr/bin/python3
"""Encodes requests and responses with kafka-python's own protocol schemas, as cross-check vectors.

kafka-python describes each (non-flexible) API version with hand-written schemas, independent of
ours. For every version both libraries cover, this fills each field with a distinct sample value
(ints count up, strings are "s<N>", arrays hold two entries) and writes the encoded body (no
header) as one line of hex to tests/golden/kafka-python-schemas/<Api><Request|Response>-v<N>.hex.
The protocol tests decode each with our generated code and must re-encode the same bytes.

Deterministic: re-running rewrites identical files.
Usage: /usr/bin/python3 tests/golden/encode_kafka_python.py
"""

import os

from kafka.protocol import admin, commit, fetch, group, metadata, offset, produce
from kafka.protocol.api import Request, Response
from kafka.protocol.types import Array, Boolean, Bytes, Int8, Int16, Int32, Int64, Schema, String

# (our API name, kafka-python request list, response list, versions we serve)
APIS = [
    ("Produce", produce.ProduceRequest, produce.ProduceResponse, range(3, 12)),
    ("Fetch", fetch.FetchRequest, fetch.FetchResponse, range(4, 17)),
    ("ListOffsets", offset.OffsetRequest, offset.OffsetResponse, range(1, 9)),
    ("Metadata", metadata.MetadataRequest, metadata.MetadataResponse, range(0, 13)),
    ("ApiVersions", admin.ApiVersionRequest, admin.ApiVersionResponse, range(0, 5)),
    ("CreateTopics", admin.CreateTopicsRequest, admin.CreateTopicsResponse, range(2, 8)),
    ("DeleteTopics", admin.DeleteTopicsRequest, admin.DeleteTopicsResponse, range(1, 7)),
    ("DescribeConfigs", admin.DescribeConfigsRequest, admin.DescribeConfigsResponse, range(1, 5)),
    ("AlterConfigs", admin.AlterConfigsRequest, admin.AlterConfigsResponse, range(0, 3)),
    ("CreatePartitions", admin.CreatePartitionsRequest, admin.CreatePartitionsResponse, range(0, 4)),
    ("OffsetCommit", commit.OffsetCommitRequest, commit.OffsetCommitResponse, range(0, 9)),
    ("OffsetFetch", commit.OffsetFetchRequest, commit.OffsetFetchResponse, range(0, 9)),
    ("FindCoordinator", commit.GroupCoordinatorRequest, commit.GroupCoordinatorResponse, range(0, 5)),
    ("JoinGroup", group.JoinGroupRequest, group.JoinGroupResponse, range(0, 10)),
    ("Heartbeat", group.HeartbeatRequest, group.HeartbeatResponse, range(0, 5)),
    ("LeaveGroup", group.LeaveGroupRequest, group.LeaveGroupResponse, range(0, 6)),
    ("SyncGroup", group.SyncGroupRequest, group.SyncGroupResponse, range(0, 6)),
    ("DescribeGroups", admin.DescribeGroupsRequest, admin.DescribeGroupsResponse, range(0, 6)),
    ("ListGroups", admin.ListGroupsRequest, admin.ListGroupsResponse, range(0, 5)),
    ("DeleteGroups", admin.DeleteGroupsRequest, admin.DeleteGroupsResponse, range(0, 3)),
]

# kafka-python schemas that disagree with Kafka's message specs; encoding them would test
# kafka-python's bug, not our definitions.
KNOWN_WRONG = {
    # RecordErrors and ErrorMessage sit at topic level instead of inside each partition.
    ("Produce", "Response", 8),
    # CurrentLeaderEpoch is an int64 there; Kafka's spec makes it an int32.
    ("ListOffsets", "Request", 4),
    ("ListOffsets", "Request", 5),
    # No throttle_time_ms, which Kafka's spec adds first in v1.
    ("FindCoordinator", "Response", 1),
    # authorized_operations sits after the groups array instead of inside each group.
    ("DescribeGroups", "Response", 3),
}


def repaired(field_type):
    """A copy of a schema where the bare String class (a typo kafka-python can't encode, e.g. Fetch
    v7+ ForgottenTopicsData.topic) is replaced by the UTF-8 String it stands for."""
    if field_type is String:
        return String("utf-8")
    if isinstance(field_type, Schema):
        return Schema(*[(n, repaired(f)) for n, f in zip(field_type.names, field_type.fields)])
    if isinstance(field_type, Array):
        return Array(repaired(field_type.array_of))
    return field_type


class Samples:
    """Hands out distinct, deterministic sample values for each primitive type."""

    def __init__(self):
        self.counter = 0

    def next(self):
        self.counter += 1
        return self.counter

    def value(self, field_type):
        if isinstance(field_type, Schema):
            return tuple(self.value(f) for f in field_type.fields)
        if isinstance(field_type, Array):
            return [self.value(field_type.array_of) for _ in range(2)]
        if isinstance(field_type, String):
            return f"s{self.next()}"
        if field_type is Bytes:
            n = self.next()
            return bytes([n % 256, (n + 1) % 256, (n + 2) % 256])
        if field_type is Boolean:
            return self.next() % 2 == 1
        if field_type is Int8:
            return self.next() % 100
        if field_type in (Int16, Int32, Int64):
            return self.next()
        raise TypeError(f"no sample for {field_type!r}")


def main():
    out_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kafka-python-schemas")
    os.makedirs(out_dir, exist_ok=True)
    written = 0
    for name, requests, responses, served in APIS:
        for kind, base, classes in (("Request", Request, requests), ("Response", Response, responses)):
            for cls in classes:
                version = cls.API_VERSION
                if version not in served or (name, kind, version) in KNOWN_WRONG:
                    continue
                if not issubclass(cls, base):
                    # kafka-python lists AlterConfigsRequest_v1 as AlterConfigsResponse[1].
                    continue
                schema = repaired(cls.SCHEMA)
                body = schema.encode(Samples().value(schema))
                with open(os.path.join(out_dir, f"{name}{kind}-v{version}.hex"), "w") as f:
                    f.write(body.hex() + "\n")
                written += 1
    print(f"wrote {written} vectors to {out_dir}")


if __name__ == "__main__":
    main()
