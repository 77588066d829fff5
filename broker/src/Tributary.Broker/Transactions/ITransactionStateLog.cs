using Tributary.Protocol;

namespace Tributary.Broker.Transactions;

/// <summary>A record of <c>__transaction_state</c>: encoded key and value (null value = tombstone).</summary>
public readonly record struct TransactionLogRecord(byte[] Key, byte[]? Value);

/// <summary>
/// Where the transaction coordinator persists transactional ids: <see cref="TransactionStateTopic"/> in the broker, an
/// in-memory test double in unit tests. Which partitions this broker leads decides which transactional ids it coordinates.
/// </summary>
public interface ITransactionStateLog
{
    /// <summary>Partitions of the topic (the existing topic's count once it exists, else the configured one).</summary>
    int PartitionCount { get; }

    /// <summary>
    /// Raised when this broker starts (true; also for a new leader epoch) or stops (false) leading a partition. Handlers must
    /// not block: it runs on the metadata thread.
    /// </summary>
    event Action<int, bool>? LeadershipChanged;

    /// <summary>Whether this broker leads <paramref name="partition"/> right now.</summary>
    bool Leads(int partition);

    /// <summary>The partition's current leader epoch (the coordinator epoch of its transactions), -1 when not led here.</summary>
    int LeaderEpoch(int partition);

    /// <summary>The partitions this broker leads right now.</summary>
    IReadOnlyList<int> LedPartitions();

    /// <summary>Creates the topic if it doesn't exist yet; an error code when that is impossible right now.</summary>
    Task<ErrorCode> EnsureCreatedAsync(CancellationToken cancellation);

    /// <summary>
    /// Appends one record to <paramref name="partition"/> as its leader; completes once the in-sync replicas have it
    /// (acks=all) with NONE, or with the error (NOT_LEADER_OR_FOLLOWER, NOT_ENOUGH_REPLICAS, REQUEST_TIMED_OUT after
    /// <paramref name="timeoutMs"/>, …).
    /// </summary>
    Task<ErrorCode> AppendAsync(int partition, TransactionLogRecord record, long nowMs, int timeoutMs, CancellationToken cancellation);

    /// <summary>Every record of a partition in offset order up to its log end offset, for loading its transactional ids.</summary>
    IEnumerable<TransactionLogRecord> Replay(int partition);
}
