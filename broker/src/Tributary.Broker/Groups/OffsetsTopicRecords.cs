using System.Buffers;
using Tributary.Protocol;

namespace Tributary.Broker.Groups;

/// <summary>A committed offset as kept in memory and in <c>__consumer_offsets</c> (Kafka's OffsetCommitValue).</summary>
public sealed record CommittedOffset(long Offset, int LeaderEpoch, string Metadata, long CommitTimestampMs);

/// <summary>One member as persisted in a group-metadata record (Kafka's GroupMetadataValue.MemberMetadata).</summary>
public sealed record PersistedMember(string MemberId, string? GroupInstanceId, string ClientId, string ClientHost,
    int RebalanceTimeoutMs, int SessionTimeoutMs, byte[] Subscription, byte[] Assignment);

/// <summary>A group's persisted state (Kafka's GroupMetadataValue).</summary>
public sealed record PersistedGroup(string ProtocolType, int Generation, string? Protocol, string? Leader, long CurrentStateTimestampMs,
    IReadOnlyList<PersistedMember> Members);

/// <summary>The key of a <c>__consumer_offsets</c> record, decoded.</summary>
public abstract record OffsetsTopicKey(string GroupId);

/// <summary>Key versions 0 and 1: an offset commit of one group for one partition.</summary>
public sealed record OffsetCommitKey(string GroupId, string Topic, int Partition) : OffsetsTopicKey(GroupId);

/// <summary>Key version 2: a group's metadata (generation, protocol, members).</summary>
public sealed record GroupMetadataKey(string GroupId) : OffsetsTopicKey(GroupId);

/// <summary>
/// Encodes and decodes the records of <c>__consumer_offsets</c> with Kafka's schemas, so Kafka's own tools
/// (kafka-console-consumer's OffsetsMessageFormatter, kafka-dump-log) can read our topic and we could read theirs.
/// Keys and values start with an int16 schema version. A null value is a tombstone (compaction drops the key).
/// </summary>
/// <remarks>
/// We write key v1 / value v3 for offsets (v1 values only carry the legacy expire timestamp) and key v2 / value v3 for
/// group metadata — the versions Kafka 2.3+ writes with the classic coordinator; we read every version 0-4 (v4 is
/// flexible: compact strings and tagged fields).
/// </remarks>
public static class OffsetsTopicRecords
{
    public const short OffsetCommitValueVersion = 3;
    public const short GroupMetadataValueVersion = 3;
    private const int MaxMembers = 100_000;

    public static byte[] OffsetCommitKeyBytes(string groupId, string topic, int partition) => Encode(w =>
    {
        w.WriteInt16(1);
        w.WriteString(groupId, compact: false);
        w.WriteString(topic, compact: false);
        w.WriteInt32(partition);
    });

    public static byte[] GroupMetadataKeyBytes(string groupId) => Encode(w =>
    {
        w.WriteInt16(2);
        w.WriteString(groupId, compact: false);
    });

    public static byte[] OffsetCommitValueBytes(CommittedOffset value) => Encode(w =>
    {
        w.WriteInt16(OffsetCommitValueVersion);
        w.WriteInt64(value.Offset);
        w.WriteInt32(value.LeaderEpoch);
        w.WriteString(value.Metadata, compact: false);
        w.WriteInt64(value.CommitTimestampMs);
    });

    public static byte[] GroupMetadataValueBytes(PersistedGroup group) => Encode(w =>
    {
        w.WriteInt16(GroupMetadataValueVersion);
        w.WriteString(group.ProtocolType, compact: false);
        w.WriteInt32(group.Generation);
        w.WriteNullableString(group.Protocol, compact: false);
        w.WriteNullableString(group.Leader, compact: false);
        w.WriteInt64(group.CurrentStateTimestampMs);
        w.WriteArrayLength(group.Members.Count, compact: false);
        foreach (var m in group.Members)
        {
            w.WriteString(m.MemberId, compact: false);
            w.WriteNullableString(m.GroupInstanceId, compact: false);
            w.WriteString(m.ClientId, compact: false);
            w.WriteString(m.ClientHost, compact: false);
            w.WriteInt32(m.RebalanceTimeoutMs);
            w.WriteInt32(m.SessionTimeoutMs);
            w.WriteBytes(m.Subscription, compact: false);
            w.WriteBytes(m.Assignment, compact: false);
        }
    });

    /// <summary>Decodes a key; null for versions we don't know (Kafka skips those too, e.g. KIP-848 record types).</summary>
    /// <exception cref="MalformedMessageException">the key is truncated or malformed.</exception>
    public static OffsetsTopicKey? ReadKey(ReadOnlyMemory<byte> key)
    {
        var reader = new KafkaReader(key);
        var version = reader.ReadInt16();
        switch (version)
        {
            case 0 or 1:
                var group = reader.ReadString(compact: false);
                var topic = reader.ReadString(compact: false);
                return new OffsetCommitKey(group, topic, reader.ReadInt32());
            case 2:
                return new GroupMetadataKey(reader.ReadString(compact: false));
            default:
                return null;
        }
    }

    /// <exception cref="MalformedMessageException">the value is truncated, malformed or of an unknown version.</exception>
    public static CommittedOffset ReadOffsetCommitValue(ReadOnlyMemory<byte> value)
    {
        var reader = new KafkaReader(value);
        var version = reader.ReadInt16();
        if (version is < 0 or > 4)
        {
            throw new MalformedMessageException($"Unknown OffsetCommitValue version {version}");
        }

        var flexible = version >= 4;
        var offset = reader.ReadInt64();
        var epoch = version >= 3 ? reader.ReadInt32() : -1;
        var metadata = reader.ReadString(flexible);
        var timestamp = reader.ReadInt64();
        if (version == 1)
        {
            reader.ReadInt64(); // expireTimestamp: superseded by offsets.retention.minutes (KIP-211)
        }

        if (flexible)
        {
            reader.SkipTaggedFields();
        }

        return new CommittedOffset(offset, epoch, metadata, timestamp);
    }

    /// <exception cref="MalformedMessageException">the value is truncated, malformed or of an unknown version.</exception>
    public static PersistedGroup ReadGroupMetadataValue(ReadOnlyMemory<byte> value)
    {
        var reader = new KafkaReader(value);
        var version = reader.ReadInt16();
        if (version is < 0 or > 4)
        {
            throw new MalformedMessageException($"Unknown GroupMetadataValue version {version}");
        }

        var flexible = version >= 4;
        var protocolType = reader.ReadString(flexible);
        var generation = reader.ReadInt32();
        var protocol = reader.ReadNullableString(flexible);
        var leader = reader.ReadNullableString(flexible);
        var stateTimestamp = version >= 2 ? reader.ReadInt64() : -1;
        var count = reader.ReadArrayLength(flexible);
        if (count is < 0 or > MaxMembers)
        {
            throw new MalformedMessageException($"GroupMetadataValue has {count} members");
        }

        var members = new List<PersistedMember>(Math.Min(count, 1024));
        for (int i = 0; i < count; i++)
        {
            var memberId = reader.ReadString(flexible);
            var instanceId = version >= 3 ? reader.ReadNullableString(flexible) : null;
            var clientId = reader.ReadString(flexible);
            var clientHost = reader.ReadString(flexible);
            var rebalanceTimeout = version >= 1 ? reader.ReadInt32() : -1;
            var sessionTimeout = reader.ReadInt32();
            if (rebalanceTimeout < 0)
            {
                rebalanceTimeout = sessionTimeout;
            }

            var subscription = reader.ReadBytes(flexible);
            var assignment = reader.ReadBytes(flexible);
            if (flexible)
            {
                reader.SkipTaggedFields();
            }

            members.Add(new PersistedMember(memberId, instanceId, clientId, clientHost, rebalanceTimeout, sessionTimeout, subscription, assignment));
        }

        if (flexible)
        {
            reader.SkipTaggedFields();
        }

        return new PersistedGroup(protocolType, generation, protocol, leader, stateTimestamp, members);
    }

    private static byte[] Encode(Action<KafkaWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(64);
        write(new KafkaWriter(buffer));
        return buffer.WrittenSpan.ToArray();
    }
}
