"""confluent-kafka-python (Debian's python3-confluent-kafka) against Tributary's schema registry, unchanged:
SchemaRegistryClient registers and looks up, JSONSerializer produces framed records (magic byte + schema id) to a
Tributary broker, JSONDeserializer reads them back. Exits non-zero with a message on any mismatch; prints one JSON line.

usage: sr_json_roundtrip.py <bootstrap> <registry-url> <topic>
"""
import json
import struct
import sys

from confluent_kafka import DeserializingConsumer, SerializingProducer
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer
from confluent_kafka.serialization import StringDeserializer, StringSerializer

SCHEMA = json.dumps({
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Payment",
    "type": "object",
    "properties": {"id": {"type": "string"}, "amount": {"type": "number"}},
    "required": ["id", "amount"],
})


def fail(message):
    print(message, file=sys.stderr)
    sys.exit(1)


def main():
    bootstrap, registry_url, topic = sys.argv[1:4]
    client = SchemaRegistryClient({"url": registry_url})
    subject = topic + "-value"

    producer = SerializingProducer({
        "bootstrap.servers": bootstrap,
        "acks": "all",
        "key.serializer": StringSerializer("utf_8"),
        "value.serializer": JSONSerializer(SCHEMA, client, lambda obj, ctx: obj),
    })
    payments = [{"id": "p-%d" % i, "amount": i * 1.5} for i in range(5)]
    for payment in payments:
        producer.produce(topic, key=payment["id"], value=payment)
    if producer.flush(30) != 0:
        fail("records still in flight after 30 s")

    registered = client.get_latest_version(subject)
    if registered.schema.schema_type != "JSON":
        fail("latest version has type %s, expected JSON" % registered.schema.schema_type)
    looked_up = client.lookup_schema(subject, Schema(SCHEMA, "JSON"))
    if looked_up.schema_id != registered.schema_id:
        fail("lookup gave id %d, latest version has %d" % (looked_up.schema_id, registered.schema_id))

    # An incompatible change (a new required property) is refused with Confluent's 409.
    closed = json.loads(SCHEMA)
    closed["properties"]["currency"] = {"type": "string"}
    closed["required"].append("currency")
    closed["additionalProperties"] = False
    try:
        client.register_schema(subject, Schema(json.dumps(closed), "JSON"))
        refused = None
    except SchemaRegistryError as e:
        refused = e.http_status_code

    consumer = DeserializingConsumer({
        "bootstrap.servers": bootstrap,
        "group.id": "sr-json-" + topic,
        "auto.offset.reset": "earliest",
        "key.deserializer": StringDeserializer("utf_8"),
        "value.deserializer": JSONDeserializer(SCHEMA, lambda obj, ctx: obj),
    })
    consumer.subscribe([topic])
    received = []
    raw_ids = set()
    attempts = 0
    while len(received) < len(payments) and attempts < 120:
        attempts += 1
        message = consumer.poll(0.5)
        if message is None or message.error():
            continue
        received.append(message.value())
    consumer.close()
    if received != payments:
        fail("read back %r, produced %r" % (received, payments))

    # The framing: magic byte 0 and the registry's id, read with a plain consumer.
    from confluent_kafka import Consumer
    raw = Consumer({"bootstrap.servers": bootstrap, "group.id": "sr-json-raw-" + topic, "auto.offset.reset": "earliest"})
    raw.subscribe([topic])
    attempts = 0
    while not raw_ids and attempts < 120:
        attempts += 1
        message = raw.poll(0.5)
        if message is None or message.error():
            continue
        magic, schema_id = struct.unpack(">bI", message.value()[:5])
        if magic != 0:
            fail("magic byte %d" % magic)
        raw_ids.add(schema_id)
    raw.close()
    if raw_ids != {registered.schema_id}:
        fail("records carry schema ids %r, registry has %d" % (raw_ids, registered.schema_id))

    print(json.dumps({"records": len(received), "schema_id": registered.schema_id, "incompatible_status": refused}))


if __name__ == "__main__":
    main()
