#!/usr/bin/python3
"""Kafka client for NetworkPartitionTests, run inside the client network namespace (ip netns exec ... /usr/bin/python3).

produce: sends keys <prefix>-<n> (value = key) with acks=all and reports which were acknowledged.
read:    reads every partition from the beginning to the high watermark and reports every key read.
The last stdout line is one JSON object: {"acked": [...], "failed": {"ERROR": count}} or {"keys": [...]}.
"""
import argparse
import json
import sys
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition


def produce(args):
    config = {
        "bootstrap.servers": args.bootstrap,
        "broker.address.family": "v4",
        "acks": "all",
        "enable.idempotence": False,
        "max.in.flight.requests.per.connection": 1,
        "linger.ms": 5,
        "message.timeout.ms": args.message_timeout_ms,
        "request.timeout.ms": min(args.message_timeout_ms, 30000),
        "retries": args.retries,
        "topic.metadata.refresh.fast.interval.ms": 100,
    }
    producer = Producer(config)
    acked, failed = [], {}

    def on_delivery(error, message):
        key = message.key().decode()
        if error is None:
            acked.append(key)
        else:
            failed[error.name()] = failed.get(error.name(), 0) + 1

    for n in range(args.first, args.first + args.count):
        producer.produce(args.topic, key=f"{args.prefix}-{n:07d}", value=f"{args.prefix}-{n:07d}", on_delivery=on_delivery)
        producer.poll(0)
    remaining = producer.flush(args.message_timeout_ms / 1000 + 10)
    if remaining:
        print(f"{remaining} records without a delivery report", file=sys.stderr)
        sys.exit(1)
    print(json.dumps({"acked": acked, "failed": failed}))


def read(args):
    consumer = Consumer({
        "bootstrap.servers": args.bootstrap,
        "broker.address.family": "v4",
        "group.id": "tributary-it-assign-only",
        "enable.auto.commit": False,
        "enable.partition.eof": True,
        "auto.offset.reset": "error",
    })
    consumer.assign([TopicPartition(args.topic, p, OFFSET_BEGINNING) for p in range(args.partitions)])
    keys, at_end = [], set()
    deadline = time.monotonic() + args.timeout_s
    while len(at_end) < args.partitions:
        if time.monotonic() > deadline:
            print(f"read timed out with {len(keys)} records", file=sys.stderr)
            sys.exit(1)
        message = consumer.poll(0.2)
        if message is None:
            continue
        if message.error():
            if message.error().code() == KafkaError._PARTITION_EOF:
                at_end.add(message.partition())
                continue
            print(f"consume error: {message.error()}", file=sys.stderr)
            sys.exit(1)
        keys.append(message.key().decode())
    consumer.close()
    print(json.dumps({"keys": keys}))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["produce", "read"])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--prefix", default="np")
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--message-timeout-ms", type=int, default=30000)
    parser.add_argument("--retries", type=int, default=2147483647)
    parser.add_argument("--partitions", type=int, default=1)
    parser.add_argument("--timeout-s", type=float, default=60)
    args = parser.parse_args()
    produce(args) if args.mode == "produce" else read(args)


if __name__ == "__main__":
    main()
