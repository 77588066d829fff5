namespace Tributary.Broker.Metrics;

/// <summary>Broker state that metrics read at scrape time (the replica manager, controller and log manager implement it via BrokerServer).</summary>
/// <remarks>Called from the exporter's thread on every scrape: implementations must be thread-safe and cheap (no I/O, no locks held long).</remarks>
public interface IBrokerMetricsSource
{
    int PartitionCount { get; }
    int LeaderCount { get; }
    int UnderReplicatedPartitions { get; }
    int UnderMinIsrPartitions { get; }
    int OfflinePartitions { get; }
    bool IsActiveController { get; }
    int ActiveBrokerCount { get; }

    /// <summary>Size on disk of every local partition replica.</summary>
    IEnumerable<(string Topic, int Partition, long SizeBytes)> LogSizes();
}
