namespace Tributary.Broker.Metrics;

/// <summary>Consumer lag per group and partition (committed offset vs high watermark), read at scrape time.</summary>
/// <remarks>Called from the exporter's thread: implementations must be thread-safe and cheap (no I/O).</remarks>
public interface IConsumerGroupLagSource
{
    /// <summary>Every committed partition of every group whose partition this broker hosts.</summary>
    IEnumerable<(string Group, string Topic, int Partition, long Lag)> ConsumerGroupLags();
}
