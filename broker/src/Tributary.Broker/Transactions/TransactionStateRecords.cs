using System.Buffers.Binary;
using System.Text;

namespace Tributary.Broker.Transactions;

/// <summary>One transactional id's persisted state: the value of its <c>__transaction_state</c> record.</summary>
/// <param name="Partitions">The partitions in the transaction (sorted by topic, then partition); empty when none is open.</param>
public sealed record TransactionRecord(
    long ProducerId,
    short ProducerEpoch,
    long LastProducerId,
    short LastProducerEpoch,
    int TimeoutMs,
    TransactionState State,
    IReadOnlyList<TopicPartitionKey> Partitions,
    long StartTimestampMs,
    long LastUpdateTimestampMs);

/// <summary>A topic partition as the coordinator tracks it.</summary>
public readonly record struct TopicPartitionKey(string Topic, int Partition) : IComparable<TopicPartitionKey>
{
    public int CompareTo(TopicPartitionKey other)
    {
        var byTopic = string.CompareOrdinal(Topic, other.Topic);
        return byTopic != 0 ? byTopic : Partition.CompareTo(other.Partition);
    }

    public override string ToString() => $"{Topic}-{Partition}";
}

/// <summary>
/// Tributary's record layout for <c>__transaction_state</c> (documented in this folder's README): key = version + transactional
/// id, value = version + the <see cref="TransactionRecord"/> fields; a null value (tombstone) removes an expired id. Every
/// length and count read back is bounded, and a record that does not parse is reported, not guessed at.
/// </summary>
public static class TransactionStateRecords
{
    /// <summary>The only key and value version written and read.</summary>
    public const short Version = 0;

    /// <summary>Bounds on what a value may hold (a transaction over more partitions than this is refused before it is written).</summary>
    public const int MaxTopics = 100_000;
    public const int MaxPartitionsPerTopic = 1_000_000;

    private const int MaxStringBytes = short.MaxValue;

    public static byte[] EncodeKey(string transactionalId)
    {
        var id = Encoding.UTF8.GetBytes(transactionalId);
        if (id.Length > MaxStringBytes)
        {
            throw new ArgumentException("The transactional id is longer than 32767 UTF-8 bytes.", nameof(transactionalId));
        }

        var key = new byte[2 + 2 + id.Length];
        BinaryPrimitives.WriteInt16BigEndian(key, Version);
        BinaryPrimitives.WriteInt16BigEndian(key.AsSpan(2), (short)id.Length);
        id.CopyTo(key.AsSpan(4));
        return key;
    }

    /// <summary>The transactional id of a key, or null (with a reason) when the key is not one of ours.</summary>
    public static string? DecodeKey(ReadOnlySpan<byte> key, out string? error)
    {
        error = null;
        if (key.Length < 4)
        {
            error = $"key of {key.Length} bytes is too short";
            return null;
        }

        var version = BinaryPrimitives.ReadInt16BigEndian(key);
        if (version != Version)
        {
            error = $"unknown key version {version}";
            return null;
        }

        var length = BinaryPrimitives.ReadInt16BigEndian(key[2..]);
        if (length < 0 || 4 + length != key.Length)
        {
            error = $"key length {length} does not match the {key.Length - 4} bytes that follow";
            return null;
        }

        return Encoding.UTF8.GetString(key.Slice(4, length));
    }

    public static byte[] EncodeValue(TransactionRecord record)
    {
        var topics = record.Partitions.GroupBy(p => p.Topic, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal).ToList();
        var size = 2 + 8 + 2 + 8 + 2 + 4 + 1 + 8 + 8 + 4;
        var names = new List<byte[]>(topics.Count);
        foreach (var topic in topics)
        {
            var name = Encoding.UTF8.GetBytes(topic.Key);
            names.Add(name);
            size += 2 + name.Length + 4 + (4 * topic.Count());
        }

        var value = new byte[size];
        var span = value.AsSpan();
        BinaryPrimitives.WriteInt16BigEndian(span, Version);
        BinaryPrimitives.WriteInt64BigEndian(span[2..], record.ProducerId);
        BinaryPrimitives.WriteInt16BigEndian(span[10..], record.ProducerEpoch);
        BinaryPrimitives.WriteInt64BigEndian(span[12..], record.LastProducerId);
        BinaryPrimitives.WriteInt16BigEndian(span[20..], record.LastProducerEpoch);
        BinaryPrimitives.WriteInt32BigEndian(span[22..], record.TimeoutMs);
        span[26] = (byte)record.State;
        BinaryPrimitives.WriteInt64BigEndian(span[27..], record.StartTimestampMs);
        BinaryPrimitives.WriteInt64BigEndian(span[35..], record.LastUpdateTimestampMs);
        BinaryPrimitives.WriteInt32BigEndian(span[43..], topics.Count);
        var position = 47;
        for (var i = 0; i < topics.Count; i++)
        {
            BinaryPrimitives.WriteInt16BigEndian(span[position..], (short)names[i].Length);
            names[i].CopyTo(span[(position + 2)..]);
            position += 2 + names[i].Length;
            var partitions = topics[i].Select(p => p.Partition).Order().ToList();
            BinaryPrimitives.WriteInt32BigEndian(span[position..], partitions.Count);
            position += 4;
            foreach (var partition in partitions)
            {
                BinaryPrimitives.WriteInt32BigEndian(span[position..], partition);
                position += 4;
            }
        }

        return value;
    }

    /// <summary>The record a value holds, or null (with a reason) when it is malformed or of an unknown version.</summary>
    public static TransactionRecord? DecodeValue(ReadOnlySpan<byte> value, out string? error)
    {
        error = null;
        if (value.Length < 47)
        {
            error = $"value of {value.Length} bytes is too short";
            return null;
        }

        var version = BinaryPrimitives.ReadInt16BigEndian(value);
        if (version != Version)
        {
            error = $"unknown value version {version}";
            return null;
        }

        var state = (TransactionState)(sbyte)value[26];
        if (!Enum.IsDefined(state))
        {
            error = $"unknown state {value[26]}";
            return null;
        }

        var topicCount = BinaryPrimitives.ReadInt32BigEndian(value[43..]);
        if (topicCount is < 0 or > MaxTopics)
        {
            error = $"topic count {topicCount} is out of bounds";
            return null;
        }

        var partitions = new List<TopicPartitionKey>();
        var position = 47;
        for (var t = 0; t < topicCount; t++)
        {
            if (value.Length - position < 2)
            {
                error = "truncated topic name";
                return null;
            }

            var nameLength = BinaryPrimitives.ReadInt16BigEndian(value[position..]);
            if (nameLength < 0 || value.Length - position - 2 < nameLength + 4)
            {
                error = "truncated topic";
                return null;
            }

            var name = Encoding.UTF8.GetString(value.Slice(position + 2, nameLength));
            position += 2 + nameLength;
            var count = BinaryPrimitives.ReadInt32BigEndian(value[position..]);
            position += 4;
            if (count < 0 || count > MaxPartitionsPerTopic || (long)count * 4 > value.Length - position)
            {
                error = $"partition count {count} of topic {name} is out of bounds";
                return null;
            }

            for (var p = 0; p < count; p++)
            {
                partitions.Add(new TopicPartitionKey(name, BinaryPrimitives.ReadInt32BigEndian(value[position..])));
                position += 4;
            }
        }

        if (position != value.Length)
        {
            error = $"{value.Length - position} trailing bytes";
            return null;
        }

        return new TransactionRecord(
            ProducerId: BinaryPrimitives.ReadInt64BigEndian(value[2..]),
            ProducerEpoch: BinaryPrimitives.ReadInt16BigEndian(value[10..]),
            LastProducerId: BinaryPrimitives.ReadInt64BigEndian(value[12..]),
            LastProducerEpoch: BinaryPrimitives.ReadInt16BigEndian(value[20..]),
            TimeoutMs: BinaryPrimitives.ReadInt32BigEndian(value[22..]),
            State: state,
            Partitions: partitions,
            StartTimestampMs: BinaryPrimitives.ReadInt64BigEndian(value[27..]),
            LastUpdateTimestampMs: BinaryPrimitives.ReadInt64BigEndian(value[35..]));
    }
}
