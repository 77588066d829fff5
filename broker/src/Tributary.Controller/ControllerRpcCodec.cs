using System.Buffers;
using Tributary.Metadata.Records;
using Tributary.Protocol;

namespace Tributary.Controller;

/// <summary>Encodes controller commands and replies that have no generated message yet: such a command travels as the
/// body of a <see cref="ControllerCall"/> with api key <see cref="EnvelopeApiKey"/>, its reply as the response body.</summary>
/// <remarks>
/// Layout: <c>int16 type, int16 version, fields…, tagged fields</c> with Kafka's compact primitives, as the metadata
/// records are. Command and reply type codes come from disjoint ranges so one is never read as the other. Every count
/// is bounded before anything is allocated; a newer version is rejected rather than half-read. Both ends of a cluster
/// run the same build today; the version lets a rolling upgrade add fields later.
/// </remarks>
public static class ControllerRpcCodec
{
    /// <summary>Highest version of each message this build writes and reads.</summary>
    public const short CurrentVersion = 0;

    /// <summary>Upper bound on replica/ISR lists and on endpoints.</summary>
    public const int MaxIdListLength = MetadataRecordSerde.MaxListLength;

    /// <summary>Upper bound on per-partition and per-config lists (partitions of a topic, election targets, configs).</summary>
    public const int MaxItemCount = 1_000_000;

    private enum MessageType : short
    {
        CreateTopic = 1,
        DeleteTopic = 2,
        CreatePartitions = 3,
        ReplaceTopicConfigs = 4,
        AllocateProducerIds = 5,
        RegisterBroker = 6,
        BrokerHeartbeat = 7,
        AlterPartition = 8,
        ElectLeaders = 9,
        AlterReassignments = 10,
        UnregisterBroker = 11,
        ReplaceBrokerConfigs = 12,

        Reply = 100,
        ProducerIdsReply = 101,
        RegisterBrokerReply = 102,
        BrokerHeartbeatReply = 103,
        AlterPartitionReply = 104,
        PartitionOutcomesReply = 105,
    }

    /// <summary>The api key a <see cref="ControllerCall"/> carrying one of these messages uses: the first of Tributary's
    /// private controller-RPC keys (Definitions/README.md). Interim, for the commands that have no generated message yet
    /// (<see cref="ControllerCalls"/> sends the others as Kafka's own requests).</summary>
    public const short EnvelopeApiKey = 10_000;

    public static byte[] EncodeCommand(ControllerCommand command)
    {
        ArgumentNullException.ThrowIfNull(command);
        var buffer = new ArrayBufferWriter<byte>(128);
        var writer = new KafkaWriter(buffer);
        switch (command)
        {
            case CreateTopicCommand c:
                WriteHeader(writer, MessageType.CreateTopic);
                WriteNewTopic(writer, c.Topic);
                writer.WriteBool(c.ValidateOnly);
                break;
            case DeleteTopicCommand c:
                WriteHeader(writer, MessageType.DeleteTopic);
                writer.WriteString(c.Name, compact: true);
                break;
            case CreatePartitionsCommand c:
                WriteHeader(writer, MessageType.CreatePartitions);
                writer.WriteString(c.Name, compact: true);
                writer.WriteInt32(c.NewTotal);
                if (c.Assignments is null)
                {
                    writer.WriteArrayLength(-1, compact: true);
                }
                else
                {
                    writer.WriteArrayLength(c.Assignments.Count, compact: true);
                    foreach (var replicas in c.Assignments)
                    {
                        WriteIds(writer, replicas);
                    }
                }

                writer.WriteBool(c.ValidateOnly);
                break;
            case ReplaceTopicConfigsCommand c:
                WriteHeader(writer, MessageType.ReplaceTopicConfigs);
                writer.WriteString(c.Name, compact: true);
                writer.WriteArrayLength(c.Overrides.Count, compact: true);
                foreach (var (key, value) in c.Overrides.OrderBy(p => p.Key, StringComparer.Ordinal))
                {
                    writer.WriteString(key, compact: true);
                    writer.WriteString(value, compact: true);
                }

                writer.WriteBool(c.ValidateOnly);
                break;
            case ReplaceBrokerConfigsCommand c:
                WriteHeader(writer, MessageType.ReplaceBrokerConfigs);
                writer.WriteString(c.ResourceName, compact: true);
                writer.WriteArrayLength(c.Configs.Count, compact: true);
                foreach (var (key, value) in c.Configs.OrderBy(p => p.Key, StringComparer.Ordinal))
                {
                    writer.WriteString(key, compact: true);
                    writer.WriteString(value, compact: true);
                }

                writer.WriteBool(c.ValidateOnly);
                break;
            case AllocateProducerIdsCommand c:
                WriteHeader(writer, MessageType.AllocateProducerIds);
                writer.WriteInt32(c.BrokerId);
                writer.WriteInt64(c.BrokerEpoch);
                break;
            case RegisterBrokerCommand c:
                WriteHeader(writer, MessageType.RegisterBroker);
                writer.WriteInt32(c.BrokerId);
                writer.WriteUuid(c.IncarnationId);
                writer.WriteArrayLength(c.Endpoints.Count, compact: true);
                foreach (var endpoint in c.Endpoints)
                {
                    writer.WriteString(endpoint.Name, compact: true);
                    writer.WriteString(endpoint.Host, compact: true);
                    writer.WriteInt32(endpoint.Port);
                    writer.WriteInt16(endpoint.SecurityProtocol);
                }

                writer.WriteNullableString(c.Rack, compact: true);
                break;
            case BrokerHeartbeatCommand c:
                WriteHeader(writer, MessageType.BrokerHeartbeat);
                writer.WriteInt32(c.BrokerId);
                writer.WriteInt64(c.BrokerEpoch);
                writer.WriteInt64(c.MetadataOffset);
                writer.WriteBool(c.WantFence);
                writer.WriteBool(c.WantShutdown);
                break;
            case AlterPartitionCommand c:
                WriteHeader(writer, MessageType.AlterPartition);
                writer.WriteInt32(c.BrokerId);
                writer.WriteInt64(c.BrokerEpoch);
                writer.WriteUuid(c.TopicId);
                writer.WriteInt32(c.Partition);
                writer.WriteInt32(c.LeaderEpoch);
                writer.WriteInt32(c.PartitionEpoch);
                WriteIds(writer, c.NewIsr);
                break;
            case ElectLeadersCommand c:
                WriteHeader(writer, MessageType.ElectLeaders);
                writer.WriteInt8((sbyte)c.Type);
                if (c.Partitions is null)
                {
                    writer.WriteArrayLength(-1, compact: true);
                }
                else
                {
                    writer.WriteArrayLength(c.Partitions.Count, compact: true);
                    foreach (var partition in c.Partitions)
                    {
                        writer.WriteString(partition.Topic, compact: true);
                        writer.WriteInt32(partition.Partition);
                    }
                }

                break;
            case AlterReassignmentsCommand c:
                WriteHeader(writer, MessageType.AlterReassignments);
                writer.WriteArrayLength(c.Targets.Count, compact: true);
                foreach (var target in c.Targets)
                {
                    writer.WriteString(target.Topic, compact: true);
                    writer.WriteInt32(target.Partition);
                    WriteNullableIds(writer, target.Replicas);
                }

                break;
            case UnregisterBrokerCommand c:
                WriteHeader(writer, MessageType.UnregisterBroker);
                writer.WriteInt32(c.BrokerId);
                break;
            default:
                throw new ArgumentException($"No encoding for controller command {command.GetType().Name}", nameof(command));
        }

        writer.WriteEmptyTaggedFields();
        return buffer.WrittenSpan.ToArray();
    }

    /// <exception cref="MalformedMessageException">Truncated, trailing bytes, unknown type, newer version, or a bound exceeded.</exception>
    public static ControllerCommand DecodeCommand(ReadOnlyMemory<byte> bytes)
    {
        var reader = new KafkaReader(bytes);
        var type = ReadHeader(ref reader);
        ControllerCommand command = type switch
        {
            MessageType.CreateTopic => new CreateTopicCommand(ReadNewTopic(ref reader), reader.ReadBool()),
            MessageType.DeleteTopic => new DeleteTopicCommand(reader.ReadString(compact: true)),
            MessageType.CreatePartitions => ReadCreatePartitions(ref reader),
            MessageType.ReplaceTopicConfigs => ReadReplaceTopicConfigs(ref reader),
            MessageType.ReplaceBrokerConfigs => ReadReplaceBrokerConfigs(ref reader),
            MessageType.AllocateProducerIds => new AllocateProducerIdsCommand(reader.ReadInt32(), reader.ReadInt64()),
            MessageType.RegisterBroker => ReadRegisterBroker(ref reader),
            MessageType.BrokerHeartbeat => new BrokerHeartbeatCommand(reader.ReadInt32(), reader.ReadInt64(), reader.ReadInt64(),
                reader.ReadBool(), reader.ReadBool()),
            MessageType.AlterPartition => new AlterPartitionCommand(reader.ReadInt32(), reader.ReadInt64(), reader.ReadUuid(),
                reader.ReadInt32(), reader.ReadInt32(), reader.ReadInt32(), ReadIds(ref reader)),
            MessageType.ElectLeaders => ReadElectLeaders(ref reader),
            MessageType.AlterReassignments => ReadAlterReassignments(ref reader),
            MessageType.UnregisterBroker => new UnregisterBrokerCommand(reader.ReadInt32()),
            _ => throw new MalformedMessageException($"Unknown controller command type {(short)type}"),
        };

        ReadTrailer(ref reader, type);
        return command;
    }

    public static byte[] EncodeReply(ControllerReply reply)
    {
        ArgumentNullException.ThrowIfNull(reply);
        var buffer = new ArrayBufferWriter<byte>(64);
        var writer = new KafkaWriter(buffer);
        switch (reply)
        {
            case ProducerIdsReply r:
                WriteReplyHeader(writer, MessageType.ProducerIdsReply, r);
                writer.WriteInt64(r.FirstProducerId);
                writer.WriteInt32(r.Size);
                break;
            case RegisterBrokerReply r:
                WriteReplyHeader(writer, MessageType.RegisterBrokerReply, r);
                writer.WriteInt64(r.BrokerEpoch);
                break;
            case BrokerHeartbeatReply r:
                WriteReplyHeader(writer, MessageType.BrokerHeartbeatReply, r);
                writer.WriteBool(r.IsCaughtUp);
                writer.WriteBool(r.IsFenced);
                writer.WriteBool(r.ShouldShutdown);
                break;
            case AlterPartitionReply r:
                WriteReplyHeader(writer, MessageType.AlterPartitionReply, r);
                writer.WriteInt32(r.Leader);
                writer.WriteInt32(r.LeaderEpoch);
                writer.WriteInt32(r.PartitionEpoch);
                WriteIds(writer, r.Isr);
                break;
            case PartitionOutcomesReply r:
                WriteReplyHeader(writer, MessageType.PartitionOutcomesReply, r);
                writer.WriteArrayLength(r.Partitions.Count, compact: true);
                foreach (var outcome in r.Partitions)
                {
                    writer.WriteString(outcome.Topic, compact: true);
                    writer.WriteInt32(outcome.Partition);
                    writer.WriteInt16((short)outcome.Error);
                    writer.WriteNullableString(outcome.Message, compact: true);
                }

                break;
            default:
                if (reply.GetType() != typeof(ControllerReply))
                {
                    throw new ArgumentException($"No encoding for controller reply {reply.GetType().Name}", nameof(reply));
                }

                WriteReplyHeader(writer, MessageType.Reply, reply);
                break;
        }

        writer.WriteEmptyTaggedFields();
        return buffer.WrittenSpan.ToArray();
    }

    /// <exception cref="MalformedMessageException">Truncated, trailing bytes, unknown type, newer version, or a bound exceeded.</exception>
    public static ControllerReply DecodeReply(ReadOnlyMemory<byte> bytes)
    {
        var reader = new KafkaReader(bytes);
        var type = ReadHeader(ref reader);
        if (type is < MessageType.Reply or > MessageType.PartitionOutcomesReply)
        {
            throw new MalformedMessageException($"Unknown controller reply type {(short)type}");
        }

        var error = (ErrorCode)reader.ReadInt16();
        var message = reader.ReadNullableString(compact: true);
        var offset = reader.ReadInt64();
        ControllerReply reply = type switch
        {
            MessageType.ProducerIdsReply => new ProducerIdsReply(error, reader.ReadInt64(), reader.ReadInt32(), message, offset),
            MessageType.RegisterBrokerReply => new RegisterBrokerReply(error, reader.ReadInt64(), message, offset),
            MessageType.BrokerHeartbeatReply => new BrokerHeartbeatReply(error, reader.ReadBool(), reader.ReadBool(), reader.ReadBool(),
                message, offset),
            MessageType.AlterPartitionReply => new AlterPartitionReply(error, reader.ReadInt32(), reader.ReadInt32(), reader.ReadInt32(),
                ReadIds(ref reader), message, offset),
            MessageType.PartitionOutcomesReply => new PartitionOutcomesReply(error, ReadOutcomes(ref reader), message, offset),
            _ => new ControllerReply(error, message, offset),
        };

        ReadTrailer(ref reader, type);
        return reply;
    }

    private static void WriteHeader(KafkaWriter writer, MessageType type)
    {
        writer.WriteInt16((short)type);
        writer.WriteInt16(CurrentVersion);
    }

    private static void WriteReplyHeader(KafkaWriter writer, MessageType type, ControllerReply reply)
    {
        WriteHeader(writer, type);
        writer.WriteInt16((short)reply.Error);
        writer.WriteNullableString(reply.Message, compact: true);
        writer.WriteInt64(reply.Offset);
    }

    private static MessageType ReadHeader(ref KafkaReader reader)
    {
        var type = (MessageType)reader.ReadInt16();
        short version = reader.ReadInt16();
        if (version is < 0 or > CurrentVersion)
        {
            throw new MalformedMessageException($"Controller message {type} has version {version}; this build reads up to {CurrentVersion}");
        }

        return type;
    }

    private static void ReadTrailer(ref KafkaReader reader, MessageType type)
    {
        reader.SkipTaggedFields();
        reader.EnsureFullyConsumed($"Controller message {type}");
    }

    private static void WriteNewTopic(KafkaWriter writer, NewTopic topic)
    {
        writer.WriteString(topic.Name, compact: true);
        writer.WriteInt32(topic.Partitions);
        writer.WriteInt16(topic.ReplicationFactor);
        if (topic.Assignments is null)
        {
            writer.WriteArrayLength(-1, compact: true);
        }
        else
        {
            writer.WriteArrayLength(topic.Assignments.Count, compact: true);
            foreach (var (partition, replicas) in topic.Assignments.OrderBy(p => p.Key))
            {
                writer.WriteInt32(partition);
                WriteIds(writer, replicas);
            }
        }

        writer.WriteArrayLength(topic.Configs.Count, compact: true);
        foreach (var (key, value) in topic.Configs.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            writer.WriteString(key, compact: true);
            writer.WriteNullableString(value, compact: true);
        }
    }

    private static NewTopic ReadNewTopic(ref KafkaReader reader)
    {
        var name = reader.ReadString(compact: true);
        var partitions = reader.ReadInt32();
        var replicationFactor = reader.ReadInt16();
        Dictionary<int, int[]>? assignments = null;
        var assignmentCount = ReadCount(ref reader, MaxItemCount, "assignments");
        if (assignmentCount >= 0)
        {
            assignments = new Dictionary<int, int[]>(assignmentCount);
            for (int i = 0; i < assignmentCount; i++)
            {
                var partition = reader.ReadInt32();
                if (!assignments.TryAdd(partition, ReadIds(ref reader)))
                {
                    throw new MalformedMessageException($"Assignment for partition {partition} listed twice");
                }
            }
        }

        var configCount = ReadCount(ref reader, MaxItemCount, "configs");
        var configs = new Dictionary<string, string?>(Math.Max(configCount, 0), StringComparer.Ordinal);
        for (int i = 0; i < configCount; i++)
        {
            var key = reader.ReadString(compact: true);
            if (!configs.TryAdd(key, reader.ReadNullableString(compact: true)))
            {
                throw new MalformedMessageException($"Config {key} listed twice");
            }
        }

        return new NewTopic(name, partitions, replicationFactor, assignments, configs);
    }

    private static CreatePartitionsCommand ReadCreatePartitions(ref KafkaReader reader)
    {
        var name = reader.ReadString(compact: true);
        var newTotal = reader.ReadInt32();
        List<int[]>? assignments = null;
        var count = ReadCount(ref reader, MaxItemCount, "assignments");
        if (count >= 0)
        {
            assignments = new List<int[]>(count);
            for (int i = 0; i < count; i++)
            {
                assignments.Add(ReadIds(ref reader));
            }
        }

        return new CreatePartitionsCommand(name, newTotal, assignments, reader.ReadBool());
    }

    private static ReplaceTopicConfigsCommand ReadReplaceTopicConfigs(ref KafkaReader reader)
    {
        var name = reader.ReadString(compact: true);
        var count = ReadCount(ref reader, MaxItemCount, "configs", nullable: false);
        var overrides = new Dictionary<string, string>(count, StringComparer.Ordinal);
        for (int i = 0; i < count; i++)
        {
            var key = reader.ReadString(compact: true);
            if (!overrides.TryAdd(key, reader.ReadString(compact: true)))
            {
                throw new MalformedMessageException($"Config {key} listed twice");
            }
        }

        return new ReplaceTopicConfigsCommand(name, overrides, reader.ReadBool());
    }

    private static ReplaceBrokerConfigsCommand ReadReplaceBrokerConfigs(ref KafkaReader reader)
    {
        var name = reader.ReadString(compact: true);
        var count = ReadCount(ref reader, MaxItemCount, "configs", nullable: false);
        var configs = new Dictionary<string, string>(count, StringComparer.Ordinal);
        for (int i = 0; i < count; i++)
        {
            var key = reader.ReadString(compact: true);
            if (!configs.TryAdd(key, reader.ReadString(compact: true)))
            {
                throw new MalformedMessageException($"Config {key} listed twice");
            }
        }

        return new ReplaceBrokerConfigsCommand(name, configs, reader.ReadBool());
    }

    private static RegisterBrokerCommand ReadRegisterBroker(ref KafkaReader reader)
    {
        var brokerId = reader.ReadInt32();
        var incarnationId = reader.ReadUuid();
        var count = ReadCount(ref reader, MaxIdListLength, "endpoints", nullable: false);
        var endpoints = new BrokerEndpoint[count];
        for (int i = 0; i < count; i++)
        {
            endpoints[i] = new BrokerEndpoint(reader.ReadString(compact: true), reader.ReadString(compact: true), reader.ReadInt32(),
                reader.ReadInt16());
        }

        return new RegisterBrokerCommand(brokerId, incarnationId, endpoints, reader.ReadNullableString(compact: true));
    }

    private static ElectLeadersCommand ReadElectLeaders(ref KafkaReader reader)
    {
        var electionType = reader.ReadInt8();
        if (electionType is not ((sbyte)ElectionType.Preferred or (sbyte)ElectionType.Unclean))
        {
            throw new MalformedMessageException($"Unknown election type {electionType}");
        }

        List<TopicPartitionRef>? partitions = null;
        var count = ReadCount(ref reader, MaxItemCount, "partitions");
        if (count >= 0)
        {
            partitions = new List<TopicPartitionRef>(count);
            for (int i = 0; i < count; i++)
            {
                partitions.Add(new TopicPartitionRef(reader.ReadString(compact: true), reader.ReadInt32()));
            }
        }

        return new ElectLeadersCommand((ElectionType)electionType, partitions);
    }

    private static AlterReassignmentsCommand ReadAlterReassignments(ref KafkaReader reader)
    {
        var count = ReadCount(ref reader, MaxItemCount, "targets", nullable: false);
        var targets = new List<ReassignmentTarget>(count);
        for (int i = 0; i < count; i++)
        {
            targets.Add(new ReassignmentTarget(reader.ReadString(compact: true), reader.ReadInt32(), ReadNullableIds(ref reader)));
        }

        return new AlterReassignmentsCommand(targets);
    }

    private static PartitionOutcome[] ReadOutcomes(ref KafkaReader reader)
    {
        var count = ReadCount(ref reader, MaxItemCount, "partition outcomes", nullable: false);
        var outcomes = new PartitionOutcome[count];
        for (int i = 0; i < count; i++)
        {
            outcomes[i] = new PartitionOutcome(reader.ReadString(compact: true), reader.ReadInt32(), (ErrorCode)reader.ReadInt16(),
                reader.ReadNullableString(compact: true));
        }

        return outcomes;
    }

    private static void WriteIds(KafkaWriter writer, IReadOnlyList<int> ids)
    {
        writer.WriteArrayLength(ids.Count, compact: true);
        foreach (var id in ids)
        {
            writer.WriteInt32(id);
        }
    }

    private static void WriteNullableIds(KafkaWriter writer, IReadOnlyList<int>? ids)
    {
        if (ids is null)
        {
            writer.WriteArrayLength(-1, compact: true);
            return;
        }

        WriteIds(writer, ids);
    }

    private static int[] ReadIds(ref KafkaReader reader) =>
        ReadNullableIds(ref reader) ?? throw new MalformedMessageException("Null id list where one is required");

    private static int[]? ReadNullableIds(ref KafkaReader reader)
    {
        var count = ReadCount(ref reader, MaxIdListLength, "ids");
        if (count < 0)
        {
            return null;
        }

        var ids = new int[count];
        for (int i = 0; i < count; i++)
        {
            ids[i] = reader.ReadInt32();
        }

        return ids;
    }

    /// <summary>A compact array count, -1 for null (only where <paramref name="nullable"/>), at most <paramref name="max"/>.</summary>
    private static int ReadCount(ref KafkaReader reader, int max, string what, bool nullable = true)
    {
        var count = reader.ReadArrayLength(compact: true);
        if (count < 0 && !nullable)
        {
            throw new MalformedMessageException($"Null {what} list where one is required");
        }

        if (count > max)
        {
            throw new MalformedMessageException($"{count} {what} exceed the limit of {max}");
        }

        return count;
    }
}
