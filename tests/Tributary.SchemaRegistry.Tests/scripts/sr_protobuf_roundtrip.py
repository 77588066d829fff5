"""confluent-kafka-python's ProtobufSerializer (Debian's python3-confluent-kafka + python3-protobuf) against Tributary's
schema registry, unchanged. The message class is built at run time from a FileDescriptorProto (no protoc needed); the
serializer registers the file as a base64 descriptor, as it always does. Exits non-zero on a mismatch; prints one JSON line.

usage: sr_protobuf_roundtrip.py <bootstrap> <registry-url> <topic>
"""
import json
import struct
import sys

from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf import message_factory

from confluent_kafka import Consumer, DeserializingConsumer, SerializingProducer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer, ProtobufSerializer
from confluent_kafka.serialization import StringDeserializer, StringSerializer


def fail(message):
    print(message, file=sys.stderr)
    sys.exit(1)


def trip_class():
    file_proto = descriptor_pb2.FileDescriptorProto(name="trip.proto", package="tributary.test", syntax="proto3")
    message = file_proto.message_type.add(name="Trip")
    message.field.add(name="id", number=1, type=descriptor_pb2.FieldDescriptorProto.TYPE_STRING,
                      label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL)
    message.field.add(name="km", number=2, type=descriptor_pb2.FieldDescriptorProto.TYPE_INT32,
                      label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file_proto)
    descriptor = pool.FindMessageTypeByName("tributary.test.Trip")
    if hasattr(message_factory, "GetMessageClass"):
        return message_factory.GetMessageClass(descriptor)
    return message_factory.MessageFactory(pool).GetPrototype(descriptor)


def main():
    bootstrap, registry_url, topic = sys.argv[1:4]
    Trip = trip_class()
    client = SchemaRegistryClient({"url": registry_url})
    producer = SerializingProducer({
        "bootstrap.servers": bootstrap,
        "acks": "all",
        "key.serializer": StringSerializer("utf_8"),
        "value.serializer": ProtobufSerializer(Trip, client),
    })
    trips = [("t-%d" % i, i * 10) for i in range(5)]
    for trip_id, km in trips:
        producer.produce(topic, key=trip_id, value=Trip(id=trip_id, km=km))
    if producer.flush(30) != 0:
        fail("records still in flight after 30 s")

    registered = client.get_latest_version(topic + "-value")
    if registered.schema.schema_type != "PROTOBUF":
        fail("latest version has type %s, expected PROTOBUF" % registered.schema.schema_type)

    consumer = DeserializingConsumer({
        "bootstrap.servers": bootstrap,
        "group.id": "sr-proto-" + topic,
        "auto.offset.reset": "earliest",
        "key.deserializer": StringDeserializer("utf_8"),
        "value.deserializer": ProtobufDeserializer(Trip),
    })
    consumer.subscribe([topic])
    received = []
    attempts = 0
    while len(received) < len(trips) and attempts < 120:
        attempts += 1
        message = consumer.poll(0.5)
        if message is None or message.error():
            continue
        received.append((message.value().id, message.value().km))
    consumer.close()
    if received != trips:
        fail("read back %r, produced %r" % (received, trips))

    raw = Consumer({"bootstrap.servers": bootstrap, "group.id": "sr-proto-raw-" + topic, "auto.offset.reset": "earliest"})
    raw.subscribe([topic])
    schema_id = None
    attempts = 0
    while schema_id is None and attempts < 120:
        attempts += 1
        message = raw.poll(0.5)
        if message is None or message.error():
            continue
        magic, schema_id = struct.unpack(">bI", message.value()[:5])
        if magic != 0:
            fail("magic byte %d" % magic)
    raw.close()
    if schema_id != registered.schema_id:
        fail("records carry schema id %r, registry has %d" % (schema_id, registered.schema_id))

    print(json.dumps({"records": len(received), "schema_id": schema_id}))


if __name__ == "__main__":
    main()
