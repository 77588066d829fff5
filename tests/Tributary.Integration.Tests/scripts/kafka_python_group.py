#!/usr/bin/python3
"""kafka-python (Debian python3-kafka 2.0.2) as a consumer-group member against a Tributary broker.

Subscribes with a group id (FindCoordinator, JoinGroup, SyncGroup, Heartbeat), reads until it has --count records,
commits synchronously (OffsetCommit), reads the commits back (OffsetFetch) and checks they equal the end offsets,
then leaves (LeaveGroup). Exits 1 with a message on the first mismatch; on success the last stdout line is a JSON
summary.
"""
import argparse
import json
import sys
import time

from kafka import KafkaConsumer, TopicPartition

TIMEOUT_S = 60


def fail(message):
    print(f"MISMATCH: {message}", file=sys.stderr)
    sys.exit(1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--count", type=int, required=True)
    args = parser.parse_args()

    consumer = KafkaConsumer(bootstrap_servers=args.bootstrap, group_id=args.group, enable_auto_commit=False,
                             auto_offset_reset="earliest", session_timeout_ms=10000, heartbeat_interval_ms=1000,
                             request_timeout_ms=30000)
    consumer.subscribe([args.topic])

    values = []
    deadline = time.monotonic() + TIMEOUT_S
    while len(values) < args.count:
        if time.monotonic() > deadline:
            fail(f"timed out after {len(values)} of {args.count} records")
        for records in consumer.poll(timeout_ms=500).values():
            values.extend(r.value.decode() for r in records)

    assignment = sorted(consumer.assignment(), key=lambda tp: tp.partition)
    consumer.commit()
    end_offsets = consumer.end_offsets(assignment)
    committed = {tp.partition: consumer.committed(tp) for tp in assignment}
    for tp in assignment:
        if committed[tp.partition] != end_offsets[tp]:
            fail(f"partition {tp.partition}: committed {committed[tp.partition]}, end offset {end_offsets[tp]}")
    consumer.close()

    print(json.dumps({
        "client": "kafka-python",
        "consumed": len(values),
        "distinct": len(set(values)),
        "assigned_partitions": len(assignment),
        "committed": sum(committed.values()),
    }))


if __name__ == "__main__":
    main()
