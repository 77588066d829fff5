using System.Diagnostics.Metrics;
using Tributary.Broker.Fetch;

namespace Tributary.Broker.Metrics;

/// <summary>
/// Incremental fetch sessions (KIP-227) under Strimzi's names for Kafka's FetchSessionCache metrics, and counters of
/// follower fetches (how many, how many partitions their requests named and their responses carried) that show what a
/// replica fetch costs with many partitions (issue 20).
/// </summary>
public sealed class FetchSessionMetrics
{
    public const string Sessions = "kafka_server_fetchsessioncache_numincrementalfetchsessions";
    public const string PartitionsCached = "kafka_server_fetchsessioncache_numincrementalfetchpartitionscached";
    public const string Evictions = "kafka_server_fetchsessioncache_incrementalfetchsessionevictions_total";
    public const string FollowerFetches = "tributary_replica_fetch_requests_total";
    public const string FollowerFetchRequestPartitions = "tributary_replica_fetch_request_partitions_total";
    public const string FollowerFetchResponsePartitions = "tributary_replica_fetch_response_partitions_total";
    public const string FollowerFetchPartitionsRead = "tributary_replica_fetch_partitions_read_total";

    private volatile FetchSessionCache? _cache;
    private volatile Func<long>? _partitionsRead;
    private long _followerFetches;
    private long _requestPartitions;
    private long _responsePartitions;

    internal FetchSessionMetrics(Meter meter)
    {
        meter.CreateObservableGauge(Sessions, () => _cache is { } c ? [new Measurement<int>(c.SessionCount)] : Array.Empty<Measurement<int>>(),
            unit: null, description: "Incremental fetch sessions this broker holds.");
        meter.CreateObservableGauge(PartitionsCached, () => _cache is { } c ? [new Measurement<long>(c.PartitionsCached)] : Array.Empty<Measurement<long>>(),
            unit: null, description: "Partitions held over all incremental fetch sessions.");
        meter.CreateObservableCounter(Evictions, () => _cache?.Evictions ?? 0, unit: null,
            description: "Incremental fetch sessions evicted to make room for another.");
        meter.CreateObservableCounter(FollowerFetches, () => Volatile.Read(ref _followerFetches), unit: null,
            description: "Fetch requests served to follower replicas.");
        meter.CreateObservableCounter(FollowerFetchRequestPartitions, () => Volatile.Read(ref _requestPartitions), unit: null,
            description: "Partitions named by follower fetch requests (an incremental fetch names only changed ones).");
        meter.CreateObservableCounter(FollowerFetchResponsePartitions, () => Volatile.Read(ref _responsePartitions), unit: null,
            description: "Partitions carried by responses to follower fetches (an incremental response carries only changed ones).");
        meter.CreateObservableCounter(FollowerFetchPartitionsRead, () => _partitionsRead?.Invoke() ?? 0, unit: null,
            description: "Partition reads the leader did to serve follower fetches (each read of each partition, long-poll passes included).");
    }

    /// <summary>The fetch handler's session cache, once attached (tests reach the broker's sessions through it).</summary>
    internal FetchSessionCache? Cache => _cache;

    /// <summary>Reports the gauges of <paramref name="cache"/> (the fetch handler's).</summary>
    public void Attach(FetchSessionCache cache) => _cache = cache;

    /// <summary>Reports the replica manager's count of partitions read for followers.</summary>
    public void AttachPartitionReads(Func<long> partitionsRead) => _partitionsRead = partitionsRead;

    public void RecordFollowerFetch(int requestPartitions, int responsePartitions)
    {
        Interlocked.Increment(ref _followerFetches);
        Interlocked.Add(ref _requestPartitions, requestPartitions);
        Interlocked.Add(ref _responsePartitions, responsePartitions);
    }
}
