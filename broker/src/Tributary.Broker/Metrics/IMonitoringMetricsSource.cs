using Tributary.Broker.Metadata;

namespace Tributary.Broker.Metrics;

/// <summary>Broker state the <see cref="MonitoringMetrics"/> gauges read at scrape time (implemented by BrokerServer).</summary>
/// <remarks>Called from the exporter's thread on every scrape: implementations must be thread-safe and cheap.</remarks>
public interface IMonitoringMetricsSource
{
    /// <summary>This node's id (quorum lag is reported by the quorum leader only).</summary>
    int NodeId { get; }

    int AtMinIsrPartitions { get; }

    /// <summary>Fenced registered brokers; 0 except on the active controller.</summary>
    int FencedBrokerCount { get; }

    /// <summary>Start and end offsets of every local partition replica.</summary>
    IEnumerable<(string Topic, int Partition, long LogStartOffset, long LogEndOffset)> LogOffsets();

    /// <summary>The metadata quorum as this node sees it.</summary>
    QuorumDescription Quorum();

    /// <summary>This broker's log directories (empty on a dedicated controller).</summary>
    IReadOnlyList<string> LogDirs { get; }
}

/// <summary>Committed offsets and lag per consumer group and partition, read at scrape time.</summary>
public interface IConsumerGroupOffsetSource
{
    /// <summary>Every committed partition of every group this broker coordinates and hosts a replica of.</summary>
    IEnumerable<(string Group, string Topic, int Partition, long CommittedOffset, long Lag)> ConsumerGroupOffsets();
}
