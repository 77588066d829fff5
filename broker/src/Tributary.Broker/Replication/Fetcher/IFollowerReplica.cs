using Tributary.Protocol;

namespace Tributary.Broker.Replication.Fetcher;

/// <summary>What the replica fetcher needs of a partition this broker follows; the replica manager implements it over its log.</summary>
/// <remarks>
/// Called only from the fetcher of the partition's current leader, one call at a time; once
/// <see cref="ReplicaFetcherManager.Remove"/> (or a <see cref="ReplicaFetcherManager.SetLeader"/> that moves the partition)
/// returns, the fetcher makes no further mutating call on the old assignment.
/// </remarks>
public interface IFollowerReplica
{
    string Topic { get; }

    Uuid TopicId { get; }

    int Partition { get; }

    /// <summary>The leader epoch metadata gave this broker; sent as CurrentLeaderEpoch so a stale leader or follower is fenced.</summary>
    int LeaderEpoch { get; }

    long LogStartOffset { get; }

    long LogEndOffset { get; }

    /// <summary>Epoch of the last batch in the local log, -1 when the log holds none (sent as LastFetchedEpoch, KIP-595).</summary>
    int LatestEpoch { get; }

    /// <summary>
    /// The largest local epoch ≤ <paramref name="epoch"/> and the offset where it ends (the next epoch's start offset, or the log
    /// end offset for the latest epoch); (-1, -1) when every local epoch is larger. Kafka's LeaderEpochFileCache.endOffsetFor.
    /// </summary>
    (int Epoch, long EndOffset) EndOffsetForEpoch(int epoch);

    /// <summary>Removes everything from <paramref name="offset"/> on (no-op at or beyond the log end).</summary>
    void TruncateTo(long offset);

    /// <summary>Empties the log and restarts it at <paramref name="offset"/> (the leader's log start moved past our end).</summary>
    void TruncateFullyAndStartAt(long offset);

    /// <summary>Appends whole batches that carry the leader's offsets and epochs.</summary>
    /// <exception cref="Exception">the batches are corrupt or do not continue the log (the fetcher logs and backs off).</exception>
    void AppendAsFollower(ReadOnlyMemory<byte> batches);

    /// <summary>Follower high watermark = min(<paramref name="leaderHighWatermark"/>, own log end offset).</summary>
    void UpdateHighWatermark(long leaderHighWatermark);

    /// <summary>The leader's log start moved up (retention, DeleteRecords): the follower drops what lies below it too, as
    /// Kafka's fetcher does (<c>maybeIncrementLogStartOffset</c>), never past its own high watermark.</summary>
    void FollowLeaderLogStart(long leaderLogStartOffset);
}
