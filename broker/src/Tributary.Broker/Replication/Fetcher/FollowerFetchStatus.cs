namespace Tributary.Broker.Replication.Fetcher;

/// <summary>Where a followed partition stands against its leader: what the under-replicated and lag gauges read.</summary>
/// <param name="LeaderId">broker the partition is fetched from.</param>
/// <param name="LastLeaderHighWatermark">leader's high watermark in the last fetch response (-1 before the first): its committed end.</param>
/// <param name="LeaderLogStartOffset">leader's log start offset in the last fetch response (-1 before the first).</param>
/// <param name="LogEndOffset">this replica's log end offset now.</param>
/// <param name="LastFetchTimeMs">Unix ms of the last successful fetch response for this partition (-1 before the first).</param>
public readonly record struct FollowerFetchStatus(
    string Topic,
    int Partition,
    int LeaderId,
    long LastLeaderHighWatermark,
    long LeaderLogStartOffset,
    long LogEndOffset,
    long LastFetchTimeMs)
{
    /// <summary>Offsets this replica is behind the leader's high watermark (0 when caught up or not yet known).</summary>
    public long Lag => LastLeaderHighWatermark < 0 ? 0 : Math.Max(0, LastLeaderHighWatermark - LogEndOffset);
}
