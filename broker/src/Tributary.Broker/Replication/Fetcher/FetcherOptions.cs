using Tributary.Broker.Config;

namespace Tributary.Broker.Replication.Fetcher;

/// <summary>How followers fetch from leaders; Kafka's replica.fetch.* settings.</summary>
public sealed record FetcherOptions
{
    /// <summary>replica.fetch.max.bytes: bytes per partition per fetch (the leader still returns one whole larger batch, KIP-74).</summary>
    public int PartitionMaxBytes { get; init; } = 1024 * 1024;

    /// <summary>replica.fetch.response.max.bytes: bytes per fetch response, all partitions together.</summary>
    public int ResponseMaxBytes { get; init; } = 10 * 1024 * 1024;

    /// <summary>replica.fetch.min.bytes: the leader holds the fetch until this much is available or the wait ends.</summary>
    public int MinBytes { get; init; } = 1;

    /// <summary>replica.fetch.wait.max.ms: how long the leader may hold a fetch (the follower's long poll).</summary>
    public int MaxWaitMs { get; init; } = 500;

    /// <summary>replica.fetch.backoff.ms: pause after a connection error, and for a partition after a partition error.</summary>
    public int BackoffMs { get; init; } = 1000;

    /// <summary>socket.request.max.bytes: the largest response frame accepted from a leader.</summary>
    public int MaxResponseFrameBytes { get; init; } = 100 * 1024 * 1024;

    /// <summary>Kafka's replica.socket.timeout.ms (30 s): bound on connect and on each fetch exchange; must exceed MaxWaitMs.</summary>
    public int SocketTimeoutMs { get; init; } = 30_000;

    /// <summary>The options from the broker's configuration.</summary>
    public static FetcherOptions FromConfig(BrokerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return new FetcherOptions
        {
            PartitionMaxBytes = config.ReplicaFetchMaxBytes,
            ResponseMaxBytes = config.ReplicaFetchResponseMaxBytes,
            MinBytes = config.ReplicaFetchMinBytes,
            MaxWaitMs = config.ReplicaFetchWaitMaxMs,
            BackoffMs = config.ReplicaFetchBackoffMs,
            MaxResponseFrameBytes = config.SocketRequestMaxBytes,
            // Kafka requires replica.socket.timeout.ms ≥ replica.fetch.wait.max.ms; keep a margin over a long wait.
            SocketTimeoutMs = Math.Max(30_000, config.ReplicaFetchWaitMaxMs + 5_000),
        };
    }
}
