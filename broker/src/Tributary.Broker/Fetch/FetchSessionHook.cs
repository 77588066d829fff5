using Tributary.Protocol.Messages;

namespace Tributary.Broker.Fetch;

/// <summary>The fetch handler's side of sessions kept out of the handler: the cache from config, and the fetch counters.</summary>
internal static class FetchSessionHook
{
    public const string CacheSlotsKey = "max.incremental.fetch.session.cache.slots";

    public static FetchSessionCache CreateCache(BrokerContext broker)
    {
        // A partition no change made a session read is read again after half of replica.lag.time.max.ms (retention moving its
        // log start is the one change no partition signals).
        var refreshMs = Math.Max(1_000, broker.Config.GetLong("replica.lag.time.max.ms") / 2);
        var cache = new FetchSessionCache(broker.Config.GetInt(CacheSlotsKey), TimeProvider.System, refreshMs: refreshMs);
        broker.Metrics.FetchSessions.Attach(cache);
        broker.Metrics.FetchSessions.AttachPartitionReads(() => broker.Replicas.FollowerPartitionReads);
        return cache;
    }

    /// <summary>Counts a follower fetch with the partitions its request named and its response carried (issue 20's evidence).</summary>
    public static void Record(BrokerContext broker, bool isFollower, FetchRequest request, FetchResponse response)
    {
        if (!isFollower)
        {
            return;
        }

        var named = 0;
        foreach (var topic in request.Topics)
        {
            named += topic.Partitions.Count;
        }

        broker.Metrics.FetchSessions.RecordFollowerFetch(named, FetchSessionContext.PartitionCount(response));
    }
}
