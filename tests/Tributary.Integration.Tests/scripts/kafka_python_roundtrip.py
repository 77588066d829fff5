#!/usr/bin/python3
"""kafka-python (Debian python3-kafka 2.0.2) against a Tributary broker.

Produces keyed records with headers and CreateTime timestamps to explicit partitions, reads them back with
assign() + seek_to_beginning() (no consumer group), checks every record, then checks offsets_for_times().
Exits 1 with a message on the first mismatch; on success the last stdout line is a JSON summary.
"""
import argparse
import json
import sys
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

FIRST_TIMESTAMP_MS = 1717243200000  # 2024-06-01T12:00:00Z
TIMESTAMP_STEP_MS = 10
TIMEOUT_S = 60


def fail(message):
    print(f"MISMATCH: {message}", file=sys.stderr)
    sys.exit(1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--partitions", type=int, required=True)
    parser.add_argument("--count", type=int, required=True)
    args = parser.parse_args()

    sent = []
    for i in range(args.count):
        sent.append({
            "partition": i % args.partitions,
            "key": f"k{i}".encode(),
            "value": f"value {i} ".encode() * (i % 7),
            "headers": [("seq", str(i).encode()), ("client", b"kafka-python")],
            "timestamp": FIRST_TIMESTAMP_MS + i * TIMESTAMP_STEP_MS,
        })

    # One request in flight and no idempotence: produce order per partition is the log order.
    producer = KafkaProducer(bootstrap_servers=args.bootstrap, acks="all", linger_ms=5,
                             max_in_flight_requests_per_connection=1, request_timeout_ms=30000)
    futures = [producer.send(args.topic, key=r["key"], value=r["value"], headers=r["headers"],
                             partition=r["partition"], timestamp_ms=r["timestamp"]) for r in sent]
    producer.flush(timeout=TIMEOUT_S)
    for i, future in enumerate(futures):
        metadata = future.get(timeout=TIMEOUT_S)
        if metadata.partition != sent[i]["partition"]:
            fail(f"record {i} acknowledged on partition {metadata.partition}, sent to {sent[i]['partition']}")
        sent[i]["offset"] = metadata.offset
    producer.close(timeout=10)

    consumer = KafkaConsumer(bootstrap_servers=args.bootstrap, group_id=None, enable_auto_commit=False,
                             auto_offset_reset="none", request_timeout_ms=30000)
    partitions = [TopicPartition(args.topic, p) for p in range(args.partitions)]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)

    expected = {p: [r for r in sent if r["partition"] == p] for p in range(args.partitions)}
    received = {p: [] for p in range(args.partitions)}
    deadline = time.monotonic() + TIMEOUT_S
    while sum(len(v) for v in received.values()) < args.count:
        if time.monotonic() > deadline:
            fail(f"timed out reading back: {{{', '.join(f'{p}: {len(v)}' for p, v in received.items())}}}")
        for tp, records in consumer.poll(timeout_ms=500).items():
            received[tp.partition].extend(records)

    for p in range(args.partitions):
        if len(received[p]) != len(expected[p]):
            fail(f"partition {p}: read {len(received[p])} records, produced {len(expected[p])}")
        for n, (want, got) in enumerate(zip(expected[p], received[p])):
            where = f"partition {p} position {n}"
            if got.offset != want["offset"]:
                fail(f"{where}: offset {got.offset}, acknowledged at {want['offset']}")
            if got.key != want["key"] or got.value != want["value"]:
                fail(f"{where}: key/value {got.key!r}/{got.value!r}, sent {want['key']!r}/{want['value']!r}")
            if list(got.headers) != want["headers"]:
                fail(f"{where}: headers {got.headers!r}, sent {want['headers']!r}")
            if got.timestamp != want["timestamp"] or got.timestamp_type != 0:
                fail(f"{where}: timestamp {got.timestamp} type {got.timestamp_type}, sent {want['timestamp']} CreateTime")

    # Target falls between two partition-0 records: the answer is the later one.
    target = FIRST_TIMESTAMP_MS + (args.count // 2) * TIMESTAMP_STEP_MS + 1
    first_at_or_after = next(r for r in expected[0] if r["timestamp"] >= target)
    found = consumer.offsets_for_times({partitions[0]: target})[partitions[0]]
    if found is None:
        fail(f"offsets_for_times({target}) found nothing, expected offset {first_at_or_after['offset']}")
    if found.timestamp != first_at_or_after["timestamp"]:
        fail(f"offsets_for_times({target}) returned timestamp {found.timestamp}, expected {first_at_or_after['timestamp']}")
    consumer.close()

    print(json.dumps({
        "client": "kafka-python",
        "produced": len(sent),
        "consumed": sum(len(v) for v in received.values()),
        "offset_for_time": found.offset,
        "expected_offset_for_time": first_at_or_after["offset"],
    }))


if __name__ == "__main__":
    main()
