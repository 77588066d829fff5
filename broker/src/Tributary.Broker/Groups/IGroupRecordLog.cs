using Tributary.Protocol;

namespace Tributary.Broker.Groups;

/// <summary>A record of <c>__consumer_offsets</c>: encoded key and value (null value = tombstone).</summary>
public readonly record struct GroupRecord(byte[] Key, byte[]? Value)
{
    /// <summary>
    /// The producer of a transactional offset commit (TxnOffsetCommit): the write is a transactional batch of this producer,
    /// pending until its transaction's marker. -1 for ordinary group writes.
    /// </summary>
    public long ProducerId { get; init; } = -1;

    /// <summary>The producer's epoch, with <see cref="ProducerId"/>.</summary>
    public short ProducerEpoch { get; init; } = -1;

    /// <summary>For a replayed transaction marker (no key or value): true for COMMIT, false for ABORT; null for records.</summary>
    public bool? MarkerCommits { get; init; }

    /// <summary>Offset of the record in the partition when replayed (-1 when unknown).</summary>
    public long Offset { get; init; } = -1;

    /// <summary>A replayed transaction marker of <paramref name="producerId"/>.</summary>
    public static GroupRecord Marker(long producerId, bool commit, long offset) =>
        new([], null) { ProducerId = producerId, MarkerCommits = commit, Offset = offset };
}

/// <summary>
/// What appending a group write gave: an error when nothing was appended, else the batch's position in the partition
/// and a task that completes once the in-sync replicas have it (acks=all) with NONE or the replication error.
/// </summary>
/// <param name="Position">The base offset of the appended batch; later writes have higher positions (-1 when nothing was appended).</param>
public readonly record struct GroupAppend(ErrorCode Error, long Position, Task<ErrorCode> Replicated)
{
    public static GroupAppend Failed(ErrorCode error) => new(error, -1, Task.FromResult(error));
}

/// <summary>
/// Where the coordinator persists offsets and group metadata: <see cref="OffsetsTopic"/> in the broker, an in-memory
/// fake in unit tests. Which partitions this broker leads decides which groups it coordinates.
/// </summary>
public interface IGroupRecordLog
{
    /// <summary>Partitions of the topic (the existing topic's count once it exists, else the configured one).</summary>
    int PartitionCount { get; }

    /// <summary>
    /// Raised when this broker starts (true; also for a new leader epoch) or stops (false; also on deletion) leading a
    /// partition. Handlers must not block: it runs on the metadata thread.
    /// </summary>
    event Action<int, bool>? LeadershipChanged;

    /// <summary>Whether this broker leads <paramref name="partition"/> right now.</summary>
    bool Leads(int partition);

    /// <summary>
    /// Whether this broker leads <paramref name="partition"/> or the latest metadata already names it leader (the replica
    /// manager applies an image just after it is published): the partition's groups are about to load here.
    /// </summary>
    bool WillLead(int partition);

    /// <summary>The partitions this broker leads right now.</summary>
    IReadOnlyList<int> LedPartitions();

    /// <summary>Creates the topic if it doesn't exist yet; an error code when that is impossible right now.</summary>
    Task<ErrorCode> EnsureCreatedAsync(CancellationToken cancellation);

    /// <summary>
    /// Appends <paramref name="records"/> as one batch to <paramref name="partition"/> as its leader and returns at once;
    /// <see cref="GroupAppend.Replicated"/> completes when the ISR has it or after <paramref name="timeoutMs"/>.
    /// </summary>
    GroupAppend Append(int partition, IReadOnlyList<GroupRecord> records, long nowMs, int timeoutMs, CancellationToken cancellation);

    /// <summary>Every record of a partition in offset order up to its log end offset, for loading its groups.</summary>
    IEnumerable<GroupRecord> Replay(int partition);
}
