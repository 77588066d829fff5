#!/usr/bin/python3
"""kafka-python (Debian python3-kafka 2.0.2) told the broker is Kafka 0.10.0, as sarama-1.22-era tools assume.

With api_version=(0, 10, 0) its consumer looks offsets up with ListOffsets v0 (one offset per partition in the
old_style_offsets array). Produces a different number of records to each partition with a normal producer, then
checks beginning_offsets() and end_offsets() through v0 against what was produced and against the same lookups made
by a consumer that negotiates the newest versions. Exits 1 with a message on a mismatch; on success the last stdout
line is a JSON summary.
"""
import argparse
import json
import sys

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

TIMEOUT_S = 60


def fail(message):
    print(f"MISMATCH: {message}", file=sys.stderr)
    sys.exit(1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--partitions", type=int, required=True)
    args = parser.parse_args()

    partitions = [TopicPartition(args.topic, p) for p in range(args.partitions)]
    expected_end = {tp: 3 + 4 * tp.partition for tp in partitions}

    producer = KafkaProducer(bootstrap_servers=args.bootstrap, acks="all")
    futures = [producer.send(args.topic, value=b"v%d" % i, partition=tp.partition)
               for tp in partitions for i in range(expected_end[tp])]
    producer.flush(timeout=TIMEOUT_S)
    for future in futures:
        future.get(timeout=TIMEOUT_S)
    producer.close()

    legacy = KafkaConsumer(bootstrap_servers=args.bootstrap, api_version=(0, 10, 0), request_timeout_ms=30000)
    legacy_end = legacy.end_offsets(partitions)
    legacy_begin = legacy.beginning_offsets(partitions)
    legacy.close()

    current = KafkaConsumer(bootstrap_servers=args.bootstrap)
    current_end = current.end_offsets(partitions)
    current.close()

    for tp in partitions:
        if legacy_end[tp] != expected_end[tp]:
            fail(f"{tp}: end offset by ListOffsets v0 is {legacy_end[tp]}, produced {expected_end[tp]}")
        if legacy_begin[tp] != 0:
            fail(f"{tp}: beginning offset by ListOffsets v0 is {legacy_begin[tp]}, expected 0")
        if current_end[tp] != legacy_end[tp]:
            fail(f"{tp}: end offset by the newest ListOffsets is {current_end[tp]}, by v0 {legacy_end[tp]}")

    print(json.dumps({
        "end_offsets_v0": [legacy_end[tp] for tp in partitions],
        "beginning_offsets_v0": [legacy_begin[tp] for tp in partitions],
        "expected_end_offsets": [expected_end[tp] for tp in partitions],
    }))


if __name__ == "__main__":
    main()
