using Microsoft.Extensions.Logging;

namespace Tributary.Storage;

/// <summary>Log events of the storage side of replication: leader epochs, high watermark, truncation (ids 3400-3449); stable.</summary>
internal static partial class ReplicationStorageLog
{
    [LoggerMessage(EventId = 3400, EventName = "LeaderEpochCacheRebuilt", Level = LogLevel.Information,
        Message = "Rebuilt the leader-epoch cache of {Partition} from the log ({Reason}): {EntryCount} epochs")]
    public static partial void LeaderEpochCacheRebuilt(this ILogger logger, TopicPartition partition, string reason, int entryCount);

    [LoggerMessage(EventId = 3401, EventName = "LeaderEpochAssigned", Level = LogLevel.Debug,
        Message = "Leader epoch {Epoch} of {Partition} starts at offset {StartOffset}")]
    public static partial void LeaderEpochAssigned(this ILogger logger, TopicPartition partition, int epoch, long startOffset);

    [LoggerMessage(EventId = 3402, EventName = "StaleLeaderEpochIgnored", Level = LogLevel.Warning,
        Message = "Appended a batch of {Partition} at offset {Offset} with leader epoch {Epoch} below the latest epoch {LatestEpoch}; the epoch cache keeps {LatestEpoch}")]
    public static partial void StaleLeaderEpochIgnored(this ILogger logger, TopicPartition partition, long offset, int epoch, int latestEpoch);

    [LoggerMessage(EventId = 3403, EventName = "LeaderEpochCacheRepaired",
        Message = "Leader-epoch cache of {Partition} adjusted at open to the log [{LogStartOffset}, {LogEndOffset}): {EntryCount} epochs")]
    public static partial void LeaderEpochCacheRepaired(this ILogger logger, LogLevel level, TopicPartition partition, long logStartOffset,
        long logEndOffset, int entryCount);

    [LoggerMessage(EventId = 3404, EventName = "LogTruncatedFully", Level = LogLevel.Information,
        Message = "Emptied {Partition} and restarted it at offset {Offset}: log was [{PreviousLogStartOffset}, {PreviousLogEndOffset})")]
    public static partial void LogTruncatedFully(this ILogger logger, TopicPartition partition, long offset, long previousLogStartOffset,
        long previousLogEndOffset);

    [LoggerMessage(EventId = 3405, EventName = "LeaderEpochCheckpointWriteFailed", Level = LogLevel.Warning,
        Message = "Could not rewrite the leader-epoch checkpoint of {Partition} after the log start moved; the next open trims it instead")]
    public static partial void LeaderEpochCheckpointWriteFailed(this ILogger logger, Exception exception, TopicPartition partition);

    [LoggerMessage(EventId = 3406, EventName = "HighWatermarkLoaded", Level = LogLevel.Debug,
        Message = "High watermark of {Partition} is {HighWatermark} at open (checkpointed {Checkpointed}, log [{LogStartOffset}, {LogEndOffset}))")]
    public static partial void HighWatermarkLoaded(this ILogger logger, TopicPartition partition, long highWatermark, long checkpointed,
        long logStartOffset, long logEndOffset);
}
