using System.Buffers;
using Tributary.Protocol;

namespace Tributary.Metadata.Records;

/// <summary>Encodes metadata records as <c>int16 type, int16 version, fields…, tagged fields</c> with Kafka's compact
/// primitives (<see cref="KafkaWriter"/>/<see cref="KafkaReader"/>).</summary>
/// <remarks>Every type is at version 0. Trailing tagged fields let a later version add optional fields that older
/// readers skip; a version newer than we know is rejected rather than half-read.</remarks>
public static class MetadataRecordSerde
{
    /// <summary>Highest version of each record type this build writes and reads.</summary>
    public const short CurrentVersion = 0;

    /// <summary>Upper bound on list lengths inside a record, far above any real cluster (replicas, endpoints).</summary>
    public const int MaxListLength = 10_000;

    public static byte[] Serialize(MetadataRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var buffer = new ArrayBufferWriter<byte>(64);
        var writer = new KafkaWriter(buffer);
        writer.WriteInt16((short)record.Type);
        writer.WriteInt16(CurrentVersion);
        switch (record)
        {
            case RegisterBrokerRecord r:
                writer.WriteInt32(r.BrokerId);
                writer.WriteUuid(r.IncarnationId);
                writer.WriteInt64(r.BrokerEpoch);
                writer.WriteArrayLength(r.Endpoints.Count, compact: true);
                foreach (var endpoint in r.Endpoints)
                {
                    writer.WriteString(endpoint.Name, compact: true);
                    writer.WriteString(endpoint.Host, compact: true);
                    writer.WriteInt32(endpoint.Port);
                    writer.WriteInt16(endpoint.SecurityProtocol);
                }

                writer.WriteNullableString(r.Rack, compact: true);
                writer.WriteBool(r.Fenced);
                break;
            case TopicRecord r:
                writer.WriteString(r.Name, compact: true);
                writer.WriteUuid(r.TopicId);
                break;
            case PartitionRecord r:
                writer.WriteUuid(r.TopicId);
                writer.WriteInt32(r.PartitionId);
                WriteInt32List(writer, r.Replicas);
                WriteInt32List(writer, r.Isr);
                writer.WriteInt32(r.Leader);
                writer.WriteInt32(r.LeaderEpoch);
                writer.WriteInt32(r.PartitionEpoch);
                WriteInt32List(writer, r.AddingReplicas ?? []);
                WriteInt32List(writer, r.RemovingReplicas ?? []);
                break;
            case PartitionChangeRecord r:
                writer.WriteUuid(r.TopicId);
                writer.WriteInt32(r.PartitionId);
                writer.WriteInt32(r.Leader);
                WriteInt32List(writer, r.Isr);
                WriteInt32List(writer, r.Replicas);
                WriteInt32List(writer, r.AddingReplicas);
                WriteInt32List(writer, r.RemovingReplicas);
                break;
            case ConfigRecord r:
                writer.WriteInt8(r.ResourceType);
                writer.WriteString(r.ResourceName, compact: true);
                writer.WriteString(r.Name, compact: true);
                writer.WriteNullableString(r.Value, compact: true);
                break;
            case RemoveTopicRecord r:
                writer.WriteUuid(r.TopicId);
                break;
            case ProducerIdsRecord r:
                writer.WriteInt32(r.BrokerId);
                writer.WriteInt64(r.BrokerEpoch);
                writer.WriteInt64(r.NextProducerId);
                break;
            case FenceBrokerRecord r:
                writer.WriteInt32(r.BrokerId);
                writer.WriteInt64(r.BrokerEpoch);
                break;
            case UnfenceBrokerRecord r:
                writer.WriteInt32(r.BrokerId);
                writer.WriteInt64(r.BrokerEpoch);
                break;
            case BrokerRegistrationChangeRecord r:
                writer.WriteInt32(r.BrokerId);
                writer.WriteInt64(r.BrokerEpoch);
                writer.WriteInt8(ToTriState(r.Fenced));
                writer.WriteInt8(ToTriState(r.InControlledShutdown));
                break;
            case ClusterIdRecord r:
                writer.WriteString(r.ClusterId, compact: true);
                break;
            case UnregisterBrokerRecord r:
                writer.WriteInt32(r.BrokerId);
                writer.WriteInt64(r.BrokerEpoch);
                break;
            default:
                throw new ArgumentException($"No encoding for metadata record {record.GetType().Name}", nameof(record));
        }

        writer.WriteEmptyTaggedFields();
        return buffer.WrittenSpan.ToArray();
    }

    /// <exception cref="MalformedMessageException">The bytes are truncated, of an unknown type or of a newer version.</exception>
    public static MetadataRecord Deserialize(ReadOnlyMemory<byte> bytes)
    {
        var reader = new KafkaReader(bytes);
        var type = (MetadataRecordType)reader.ReadInt16();
        short version = reader.ReadInt16();
        if (version is < 0 or > CurrentVersion)
        {
            throw new MalformedMessageException($"Metadata record {type} has version {version}; this build reads up to {CurrentVersion}");
        }

        MetadataRecord record = type switch
        {
            MetadataRecordType.RegisterBroker => ReadRegisterBroker(ref reader),
            MetadataRecordType.Topic => new TopicRecord(reader.ReadString(compact: true), reader.ReadUuid()),
            MetadataRecordType.Partition => new PartitionRecord(
                reader.ReadUuid(),
                reader.ReadInt32(),
                ReadInt32List(ref reader) ?? throw new MalformedMessageException("Partition record without replicas"),
                ReadInt32List(ref reader) ?? throw new MalformedMessageException("Partition record without isr"),
                reader.ReadInt32(),
                reader.ReadInt32(),
                reader.ReadInt32(),
                ReadInt32List(ref reader) ?? [],
                ReadInt32List(ref reader) ?? []),
            MetadataRecordType.PartitionChange => new PartitionChangeRecord(
                reader.ReadUuid(),
                reader.ReadInt32(),
                reader.ReadInt32(),
                ReadInt32List(ref reader),
                ReadInt32List(ref reader),
                ReadInt32List(ref reader),
                ReadInt32List(ref reader)),
            MetadataRecordType.Config => new ConfigRecord(
                reader.ReadInt8(),
                reader.ReadString(compact: true),
                reader.ReadString(compact: true),
                reader.ReadNullableString(compact: true)),
            MetadataRecordType.RemoveTopic => new RemoveTopicRecord(reader.ReadUuid()),
            MetadataRecordType.ProducerIds => new ProducerIdsRecord(reader.ReadInt32(), reader.ReadInt64(), reader.ReadInt64()),
            MetadataRecordType.FenceBroker => new FenceBrokerRecord(reader.ReadInt32(), reader.ReadInt64()),
            MetadataRecordType.UnfenceBroker => new UnfenceBrokerRecord(reader.ReadInt32(), reader.ReadInt64()),
            MetadataRecordType.BrokerRegistrationChange => new BrokerRegistrationChangeRecord(
                reader.ReadInt32(), reader.ReadInt64(), FromTriState(reader.ReadInt8()), FromTriState(reader.ReadInt8())),
            MetadataRecordType.ClusterId => new ClusterIdRecord(reader.ReadString(compact: true)),
            MetadataRecordType.UnregisterBroker => new UnregisterBrokerRecord(reader.ReadInt32(), reader.ReadInt64()),
            _ => throw new MalformedMessageException($"Unknown metadata record type {(short)type}"),
        };

        reader.SkipTaggedFields();
        reader.EnsureFullyConsumed($"Metadata record {type}");
        return record;
    }

    private static RegisterBrokerRecord ReadRegisterBroker(ref KafkaReader reader)
    {
        int brokerId = reader.ReadInt32();
        var incarnationId = reader.ReadUuid();
        long brokerEpoch = reader.ReadInt64();
        int count = reader.ReadArrayLength(compact: true);
        if (count is < 0 or > MaxListLength)
        {
            throw new MalformedMessageException($"RegisterBroker record with {count} endpoints");
        }

        var endpoints = new BrokerEndpoint[count];
        for (int i = 0; i < count; i++)
        {
            endpoints[i] = new BrokerEndpoint(
                reader.ReadString(compact: true),
                reader.ReadString(compact: true),
                reader.ReadInt32(),
                reader.ReadInt16());
        }

        string? rack = reader.ReadNullableString(compact: true);
        bool fenced = reader.ReadBool();
        return new RegisterBrokerRecord(brokerId, incarnationId, brokerEpoch, endpoints, rack, fenced);
    }

    private static sbyte ToTriState(bool? value) => value switch { null => -1, false => 0, true => 1 };

    private static bool? FromTriState(sbyte value) => value switch
    {
        -1 => null,
        0 => false,
        1 => true,
        _ => throw new MalformedMessageException($"Tri-state flag {value} is not -1, 0 or 1"),
    };

    private static void WriteInt32List(KafkaWriter writer, IReadOnlyList<int>? values)
    {
        if (values is null)
        {
            writer.WriteArrayLength(-1, compact: true);
            return;
        }

        writer.WriteArrayLength(values.Count, compact: true);
        foreach (int value in values)
        {
            writer.WriteInt32(value);
        }
    }

    private static int[]? ReadInt32List(ref KafkaReader reader)
    {
        int count = reader.ReadArrayLength(compact: true);
        if (count < 0)
        {
            return null;
        }

        if (count > MaxListLength)
        {
            throw new MalformedMessageException($"Metadata record list of {count} ids exceeds {MaxListLength}");
        }

        var values = new int[count];
        for (int i = 0; i < count; i++)
        {
            values[i] = reader.ReadInt32();
        }

        return values;
    }
}
