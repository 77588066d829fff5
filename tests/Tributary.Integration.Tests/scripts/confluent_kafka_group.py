#!/usr/bin/python3
"""confluent-kafka-python (Debian python3-confluent-kafka 1.7 on librdkafka 2.0) as a consumer-group member.

Subscribes with a group id, reads until it has --count records, commits synchronously, reads the commits back with
committed() and checks they equal the high watermarks, then closes (LeaveGroup). Exits 1 with a message on the first
mismatch; on success the last stdout line is a JSON summary.
"""
import argparse
import json
import sys
import time

from confluent_kafka import Consumer, KafkaError, libversion, version

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

    consumer = Consumer({"bootstrap.servers": args.bootstrap, "broker.address.family": "v4", "group.id": args.group,
                         "enable.auto.commit": False, "auto.offset.reset": "earliest",
                         "session.timeout.ms": 10000, "heartbeat.interval.ms": 500})
    consumer.subscribe([args.topic])

    values = []
    deadline = time.monotonic() + TIMEOUT_S
    while len(values) < args.count:
        if time.monotonic() > deadline:
            fail(f"timed out after {len(values)} of {args.count} records")
        msg = consumer.poll(0.5)
        if msg is None:
            continue
        if msg.error() is not None:
            if msg.error().code() == KafkaError._PARTITION_EOF:
                continue
            fail(f"consume error: {msg.error()}")
        values.append(msg.value().decode())

    assignment = consumer.assignment()
    consumer.commit(asynchronous=False)
    committed = consumer.committed(assignment, timeout=TIMEOUT_S)
    for tp in committed:
        if tp.error is not None:
            fail(f"committed() for partition {tp.partition} failed: {tp.error}")
        _, high = consumer.get_watermark_offsets(tp, timeout=TIMEOUT_S)
        if tp.offset != high:
            fail(f"partition {tp.partition}: committed {tp.offset}, high watermark {high}")
    consumer.close()

    print(json.dumps({
        "client": f"confluent-kafka-python {version()[0]} (librdkafka {libversion()[0]})",
        "consumed": len(values),
        "distinct": len(set(values)),
        "assigned_partitions": len(assignment),
        "committed": sum(tp.offset for tp in committed),
    }))


if __name__ == "__main__":
    main()
