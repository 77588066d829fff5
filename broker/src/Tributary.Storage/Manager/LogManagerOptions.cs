using Tributary.Storage.Cleaner;

namespace Tributary.Storage;

/// <summary>Broker-level storage settings (Kafka's log.dirs, num.recovery.threads.per.data.dir, log.flush.* intervals).</summary>
public sealed record LogManagerOptions
{
    /// <summary>log.dirs: one or more directories; new partitions go to the one holding the fewest.</summary>
    public required IReadOnlyList<string> LogDirs { get; init; }

    /// <summary>Config for logs found at start-up; <see cref="TopicConfig"/> can override per topic.</summary>
    public LogConfig DefaultConfig { get; init; } = LogConfig.Default;

    /// <summary>Per-topic config for logs loaded at start-up (topic-level overrides); null = <see cref="DefaultConfig"/>.</summary>
    public Func<string, LogConfig>? TopicConfig { get; init; }

    /// <summary>num.recovery.threads.per.data.dir: logs opened in parallel per directory.</summary>
    public int RecoveryThreadsPerDataDir { get; init; } = 2;

    /// <summary>log.flush.scheduler.interval.ms: how often the background flusher checks flush.ms.</summary>
    public long FlushSchedulerIntervalMs { get; init; } = 1000;

    /// <summary>log.flush.offset.checkpoint.interval.ms: how often recovery points are checkpointed.</summary>
    public long RecoveryPointCheckpointIntervalMs { get; init; } = 60_000;

    /// <summary>log.flush.start.offset.checkpoint.interval.ms: how often log start offsets are checkpointed.</summary>
    public long LogStartOffsetCheckpointIntervalMs { get; init; } = 60_000;

    /// <summary>
    /// Initial <see cref="PartitionLog.HighWatermarkFollowsLogEnd"/> of every log this manager opens or creates: true keeps the
    /// single-node behaviour (high watermark = log end offset); a broker whose replica layer maintains high watermarks sets false.
    /// </summary>
    public bool HighWatermarkFollowsLogEnd { get; init; } = true;

    /// <summary>replica.high.watermark.checkpoint.interval.ms: how often high watermarks are checkpointed.</summary>
    public long HighWatermarkCheckpointIntervalMs { get; init; } = 5_000;

    /// <summary>log.retention.check.interval.ms: how often time and size retention run.</summary>
    public long RetentionCheckIntervalMs { get; init; } = 300_000;

    /// <summary>Log cleaner settings (log.cleaner.*).</summary>
    public LogCleanerOptions Cleaner { get; init; } = new();

    /// <summary>Parses log.dirs (comma-separated).</summary>
    public static IReadOnlyList<string> ParseLogDirs(string value) =>
        value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
