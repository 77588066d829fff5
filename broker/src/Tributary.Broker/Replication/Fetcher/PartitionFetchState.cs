namespace Tributary.Broker.Replication.Fetcher;

/// <summary>
/// One partition's assignment to a leader fetcher. A new instance (with a new generation) is made each time the partition is
/// assigned, so a fetch response for an older assignment is recognised and dropped.
/// </summary>
internal sealed class PartitionFetchState(IFollowerReplica replica, int leaderId, long generation)
{
    public IFollowerReplica Replica { get; } = replica;

    public int LeaderId { get; } = leaderId;

    public long Generation { get; } = generation;

    public (string Topic, int Partition) Key => (Replica.Topic, Replica.Partition);

    /// <summary>TickCount64 before which the partition is not fetched (after a partition error); 0 = fetch now.</summary>
    public long DelayedUntilTicks { get; set; }

    /// <summary>Leader epoch the replica had when its backoff started; a metadata change of epoch ends the backoff.</summary>
    public int EpochWhenDelayed { get; set; } = -1;

    public long LastLeaderHighWatermark { get; set; } = -1;

    public long LeaderLogStartOffset { get; set; } = -1;

    public long LastFetchTimeMs { get; set; } = -1;

    /// <summary>The fetcher's number of the latest round that included the partition (0: none yet).</summary>
    public long LastRound { get; set; }

    public bool IsDelayed(long nowTicks) => DelayedUntilTicks > nowTicks && Replica.LeaderEpoch == EpochWhenDelayed;

    public void Delay(long nowTicks, int backoffMs)
    {
        DelayedUntilTicks = nowTicks + backoffMs;
        EpochWhenDelayed = Replica.LeaderEpoch;
    }

    /// <param name="lastFetchTimeMs">When the partition was last fetched (<see cref="LastFetchTimeMs"/> or its latest completed round's time).</param>
    public FollowerFetchStatus ToStatus(long lastFetchTimeMs) => new(Replica.Topic, Replica.Partition, LeaderId, LastLeaderHighWatermark, LeaderLogStartOffset,
        Replica.LogEndOffset, lastFetchTimeMs);
}
