namespace Tributary.Broker.Replication;

/// <summary>
/// A fetch session's standing interest in one partition (issue 20): registered once while the session holds the partition,
/// told about every change, so an incremental fetch reads only the partitions that changed instead of all of its session's.
/// </summary>
internal interface IPartitionChangeListener
{
    /// <summary>
    /// Called outside the partition's locks: <paramref name="appended"/> for a leader append, <paramref name="changed"/> for a
    /// high-watermark move or a log start move; both for a role or epoch change and for the replica going away.
    /// </summary>
    void PartitionChanged(bool appended, bool changed);
}

/// <summary>
/// A follower's incremental fetch session as one leader partition sees it. An incremental fetch skips the session partitions
/// that did not change, but Kafka counts every session fetch as a fetch of every session partition at its cached offset
/// (that is what keeps an idle follower in the ISR): the partition reads the session's fetch times here instead.
/// </summary>
internal interface IFollowerSessionLink
{
    /// <summary>When the session last fetched (ms), or -1 once the session no longer fetches <paramref name="partition"/>.</summary>
    long LastFetchMs(Partition partition);

    /// <summary>When the session fetched before its latest fetch (ms), or -1 once it no longer fetches <paramref name="partition"/>.</summary>
    long PreviousFetchMs(Partition partition);
}
