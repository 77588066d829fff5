namespace Tributary.Storage;

/// <summary>What happens to old data: Kafka's cleanup.policy (a list, so both may be set).</summary>
[Flags]
public enum CleanupPolicy
{
    Delete = 1,
    Compact = 2,
}

/// <summary>Kafka's message.timestamp.type: keep the producer's timestamps or overwrite with the broker's append time.</summary>
public enum MessageTimestampType
{
    CreateTime,
    LogAppendTime,
}

/// <summary>Per-partition storage settings; the broker maps Kafka's topic/broker config names onto these typed properties.</summary>
/// <remarks>Immutable: a config change swaps the whole object via <see cref="PartitionLog.UpdateConfig"/>.</remarks>
public sealed record LogConfig
{
    public static LogConfig Default { get; } = new();

    /// <summary>segment.bytes: roll a segment before it would exceed this size.</summary>
    public int SegmentBytes { get; init; } = 1024 * 1024 * 1024;

    /// <summary>segment.ms: roll the active segment once it is this old.</summary>
    public long SegmentMs { get; init; } = 7L * 24 * 60 * 60 * 1000;

    /// <summary>index.interval.bytes: one sparse offset-index entry per this many appended bytes.</summary>
    public int IndexIntervalBytes { get; init; } = 4096;

    /// <summary>segment.index.bytes: roll when either index of the active segment reaches this size.</summary>
    public int MaxIndexSizeBytes { get; init; } = 10 * 1024 * 1024;

    /// <summary>flush.messages: fsync once this many messages are unflushed; 1 = fsync before every append returns.</summary>
    public long FlushIntervalMessages { get; init; } = long.MaxValue;

    /// <summary>flush.ms: the background flusher fsyncs a log whose last flush is older than this.</summary>
    public long FlushIntervalMs { get; init; } = long.MaxValue;

    /// <summary>retention.ms (-1 = unlimited): closed segments whose newest record is older are deleted.</summary>
    public long RetentionMs { get; init; } = 7L * 24 * 60 * 60 * 1000;

    /// <summary>retention.bytes (-1 = unlimited): oldest segments are deleted while the log is larger.</summary>
    public long RetentionBytes { get; init; } = -1;

    public CleanupPolicy CleanupPolicy { get; init; } = CleanupPolicy.Delete;

    public MessageTimestampType MessageTimestampType { get; init; } = MessageTimestampType.CreateTime;

    /// <summary>max.message.bytes: the largest batch a producer may append (Kafka's default 1048588).</summary>
    public int MaxMessageBytes { get; init; } = 1024 * 1024 + 12;

    /// <summary>delete.retention.ms: how long compaction keeps tombstones once it has seen them (KIP-534 delete horizon).</summary>
    public long DeleteRetentionMs { get; init; } = 24L * 60 * 60 * 1000;

    /// <summary>file.delete.delay.ms: grace before files of a deleted log are removed.</summary>
    public long FileDeleteDelayMs { get; init; } = 60_000;

    /// <summary>min.cleanable.dirty.ratio: the log cleaner compacts a log once dirty bytes reach this share of the cleanable bytes.</summary>
    public double MinCleanableDirtyRatio { get; init; } = 0.5;

    /// <summary>min.compaction.lag.ms: records younger than this stay uncompacted.</summary>
    public long MinCompactionLagMs { get; init; }

    /// <summary>max.compaction.lag.ms: a record older than this is compacted whatever the dirty ratio; also caps segment.ms of compacted logs.</summary>
    public long MaxCompactionLagMs { get; init; } = long.MaxValue;

    /// <summary>segment.jitter.ms: up to this much is taken off segment.ms per segment, so partitions do not all roll at once.</summary>
    public long SegmentJitterMs { get; init; }

    /// <summary>Throws if a value is outside what Kafka accepts for the corresponding key.</summary>
    public LogConfig Validate()
    {
        // Kafka's lower bound for segment.bytes is 14 (LegacyRecord.RECORD_OVERHEAD_V0); a batch header is 61 bytes anyway.
        Require(SegmentBytes >= 14, "segment.bytes must be at least 14.");
        Require(SegmentMs >= 1, "segment.ms must be positive.");
        Require(IndexIntervalBytes >= 0, "index.interval.bytes must not be negative.");
        Require(MaxIndexSizeBytes >= 12, "segment.index.bytes must hold at least one entry.");
        Require(FlushIntervalMessages >= 1, "flush.messages must be at least 1.");
        Require(FlushIntervalMs >= 0, "flush.ms must not be negative.");
        Require(RetentionMs >= -1, "retention.ms must be -1 or more.");
        Require(RetentionBytes >= -1, "retention.bytes must be -1 or more.");
        Require(MaxMessageBytes >= 0, "max.message.bytes must not be negative.");
        Require(DeleteRetentionMs >= 0, "delete.retention.ms must not be negative.");
        Require(FileDeleteDelayMs >= 0, "file.delete.delay.ms must not be negative.");
        Require(MinCleanableDirtyRatio is >= 0 and <= 1, "min.cleanable.dirty.ratio must be between 0 and 1.");
        Require(MinCompactionLagMs >= 0, "min.compaction.lag.ms must not be negative.");
        Require(MaxCompactionLagMs >= 1, "max.compaction.lag.ms must be positive.");
        Require(MinCompactionLagMs <= MaxCompactionLagMs, "min.compaction.lag.ms must not exceed max.compaction.lag.ms.");
        Require(SegmentJitterMs >= 0, "segment.jitter.ms must not be negative.");
        return this;
    }

    private static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new ArgumentException(message);
        }
    }
}
