#!/usr/bin/python3
"""confluent-kafka-python (Debian python3-confluent-kafka 1.7 on librdkafka 2.0) against a Tributary broker.

Produces keyed records with headers and CreateTime timestamps to explicit partitions, checks list_topics(), reads
everything back with assign() from OFFSET_BEGINNING (no subscribe, no commit), checks every record, then checks
offsets_for_times(). Exits 1 with a message on the first mismatch; on success the last stdout line is a JSON summary.
"""
import argparse
import json
import sys
import time

from confluent_kafka import (OFFSET_BEGINNING, TIMESTAMP_CREATE_TIME, Consumer, KafkaError, Producer,
                             TopicPartition, libversion, version)

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

    producer = Producer({"bootstrap.servers": args.bootstrap, "broker.address.family": "v4", "acks": "all",
                         "enable.idempotence": False, "max.in.flight.requests.per.connection": 1, "linger.ms": 5})

    listed = producer.list_topics(args.topic, timeout=TIMEOUT_S).topics.get(args.topic)
    if listed is None or listed.error is not None:
        fail(f"list_topics does not show {args.topic}: {listed.error if listed else 'absent'}")
    if sorted(listed.partitions) != list(range(args.partitions)):
        fail(f"list_topics shows partitions {sorted(listed.partitions)}, expected {args.partitions}")

    sent = []
    for i in range(args.count):
        record = {
            "partition": i % args.partitions,
            "key": f"k{i}".encode(),
            "value": f"value {i} ".encode() * (i % 7),
            "headers": [("seq", str(i).encode()), ("client", b"confluent-kafka-python")],
            "timestamp": FIRST_TIMESTAMP_MS + i * TIMESTAMP_STEP_MS,
            "offset": None,
            "error": None,
        }
        sent.append(record)

        # Delivery callbacks run inside poll()/flush(); record the outcome and judge it after flush().
        def on_delivery(err, msg, record=record):
            record["error"] = err
            record["offset"] = msg.offset()

        while True:
            try:
                producer.produce(args.topic, key=record["key"], value=record["value"], partition=record["partition"],
                                 headers=record["headers"], timestamp=record["timestamp"], on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    if producer.flush(TIMEOUT_S) != 0:
        fail("records still undelivered after flush")
    for i, record in enumerate(sent):
        if record["error"] is not None or record["offset"] is None:
            fail(f"record {i} not acknowledged: {record['error']}")

    consumer = Consumer({"bootstrap.servers": args.bootstrap, "broker.address.family": "v4",
                         "group.id": "tributary-it-assign-only", "enable.auto.commit": False,
                         "enable.partition.eof": True, "check.crcs": True})
    consumer.assign([TopicPartition(args.topic, p, OFFSET_BEGINNING) for p in range(args.partitions)])

    expected = {p: [r for r in sent if r["partition"] == p] for p in range(args.partitions)}
    received = {p: [] for p in range(args.partitions)}
    at_end = set()
    deadline = time.monotonic() + TIMEOUT_S
    while len(at_end) < args.partitions:
        if time.monotonic() > deadline:
            fail(f"timed out reading back: {{{', '.join(f'{p}: {len(v)}' for p, v in received.items())}}}")
        msg = consumer.poll(0.5)
        if msg is None:
            continue
        if msg.error() is not None:
            if msg.error().code() == KafkaError._PARTITION_EOF:
                at_end.add(msg.partition())
                continue
            fail(f"consume error: {msg.error()}")
        received[msg.partition()].append(msg)

    for p in range(args.partitions):
        if len(received[p]) != len(expected[p]):
            fail(f"partition {p}: read {len(received[p])} records, produced {len(expected[p])}")
        for n, (want, got) in enumerate(zip(expected[p], received[p])):
            where = f"partition {p} position {n}"
            if got.offset() != want["offset"]:
                fail(f"{where}: offset {got.offset()}, acknowledged at {want['offset']}")
            if got.key() != want["key"] or got.value() != want["value"]:
                fail(f"{where}: key/value {got.key()!r}/{got.value()!r}, sent {want['key']!r}/{want['value']!r}")
            if (got.headers() or []) != want["headers"]:
                fail(f"{where}: headers {got.headers()!r}, sent {want['headers']!r}")
            if got.timestamp() != (TIMESTAMP_CREATE_TIME, want["timestamp"]):
                fail(f"{where}: timestamp {got.timestamp()}, sent CreateTime {want['timestamp']}")

    # Target falls between two partition-0 records: the answer is the later one.
    target = FIRST_TIMESTAMP_MS + (args.count // 2) * TIMESTAMP_STEP_MS + 1
    first_at_or_after = next(r for r in expected[0] if r["timestamp"] >= target)
    found = consumer.offsets_for_times([TopicPartition(args.topic, 0, target)], timeout=TIMEOUT_S)[0]
    if found.error is not None:
        fail(f"offsets_for_times({target}) failed: {found.error}")
    consumer.close()

    print(json.dumps({
        "client": f"confluent-kafka-python {version()[0]} (librdkafka {libversion()[0]})",
        "produced": len(sent),
        "consumed": sum(len(v) for v in received.values()),
        "listed_partitions": len(listed.partitions),
        "offset_for_time": found.offset,
        "expected_offset_for_time": first_at_or_after["offset"],
    }))


if __name__ == "__main__":
    main()
