using Tributary.Broker.Config;

namespace Tributary.Broker.Groups;

/// <summary>The coordinator's settings (Kafka's group.* and offsets.* broker configs).</summary>
public sealed record GroupCoordinatorOptions
{
    public int MinSessionTimeoutMs { get; init; } = 6000;
    public int MaxSessionTimeoutMs { get; init; } = 1_800_000;

    /// <summary><c>group.initial.rebalance.delay.ms</c>: how long the first rebalance of an empty group waits for more members.</summary>
    public int InitialRebalanceDelayMs { get; init; } = 3000;

    public int MaxGroupSize { get; init; } = int.MaxValue;

    /// <summary><c>offsets.retention.minutes</c> in milliseconds.</summary>
    public long OffsetsRetentionMs { get; init; } = 7L * 24 * 60 * 60 * 1000;

    public long OffsetsRetentionCheckIntervalMs { get; init; } = 600_000;

    /// <summary>Kafka's <c>offset.metadata.max.bytes</c> default.</summary>
    public int OffsetMetadataMaxBytes { get; init; } = 4096;

    /// <summary>
    /// <c>offsets.commit.timeout.ms</c> (Kafka's default 5000): how long a write to <c>__consumer_offsets</c> waits for the
    /// in-sync replicas before the request is answered with COORDINATOR_NOT_AVAILABLE.
    /// </summary>
    public int OffsetCommitTimeoutMs { get; init; } = 5000;

    /// <summary>How often timers (sessions, rebalance and initial delays, pending members) are checked.</summary>
    public TimeSpan TickInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    public static GroupCoordinatorOptions From(BrokerConfig config) => new()
    {
        MinSessionTimeoutMs = config.GroupMinSessionTimeoutMs,
        MaxSessionTimeoutMs = config.GroupMaxSessionTimeoutMs,
        InitialRebalanceDelayMs = config.GroupInitialRebalanceDelayMs,
        MaxGroupSize = config.GroupMaxSize,
        OffsetsRetentionMs = config.OffsetsRetentionMinutes * 60_000L,
        OffsetsRetentionCheckIntervalMs = config.OffsetsRetentionCheckIntervalMs,
        OffsetCommitTimeoutMs = config.OffsetsCommitTimeoutMs,
    };
}
