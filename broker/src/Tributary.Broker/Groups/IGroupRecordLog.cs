using Tributary.Protocol;

namespace Tributary.Broker.Groups;

/// <summary>A record of <c>__consumer_offsets</c>: encoded key and value (null value = tombstone).</summary>
public readonly record struct GroupRecord(byte[] Key, byte[]? Value);

/// <summary>
/// Where the coordinator persists offsets and group metadata: <see cref="OffsetsTopic"/> in the broker, an in-memory
/// fake in unit tests. Appends return only once the records are durable per the topic's flush policy.
/// </summary>
public interface IGroupRecordLog
{
    /// <summary>Partitions of the topic (the existing topic's count once it exists, else the configured one).</summary>
    int PartitionCount { get; }

    /// <summary>Whether the topic exists (nothing to load before that).</summary>
    bool Exists { get; }

    /// <summary>Creates the topic if it doesn't exist yet; an error code when that is impossible right now.</summary>
    ErrorCode EnsureCreated();

    /// <summary>Appends <paramref name="records"/> as one batch to <paramref name="partition"/>.</summary>
    ErrorCode Append(int partition, IReadOnlyList<GroupRecord> records, long nowMs);

    /// <summary>Every record of a partition in offset order, for rebuilding state at start-up.</summary>
    IEnumerable<GroupRecord> Replay(int partition);
}
