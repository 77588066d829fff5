using Microsoft.Extensions.Logging;

namespace Tributary.Storage;

/// <summary>Source-generated log events of the storage layer; event ids and names are stable.</summary>
internal static partial class StorageLog
{
    [LoggerMessage(EventId = 1001, EventName = "LogRecoveryTruncated", Level = LogLevel.Warning,
        Message = "Recovery of {Partition} truncated segment {SegmentBaseOffset} at offset {Offset}, dropping {BytesDropped} bytes ({Reason})")]
    public static partial void LogRecoveryTruncated(this ILogger logger, TopicPartition partition, long segmentBaseOffset, long offset,
        long bytesDropped, string reason);

    [LoggerMessage(EventId = 1002, EventName = "SegmentDeletedAfterCorruption", Level = LogLevel.Warning,
        Message = "Recovery of {Partition} deleted segment {SegmentBaseOffset} ({Bytes} bytes) that followed a corrupt batch")]
    public static partial void SegmentDeletedAfterCorruption(this ILogger logger, TopicPartition partition, long segmentBaseOffset, long bytes);

    [LoggerMessage(EventId = 1003, EventName = "IndexRebuilt", Level = LogLevel.Information,
        Message = "Rebuilt the indexes of {Partition} segment {SegmentBaseOffset}: missing or inconsistent index files")]
    public static partial void IndexRebuilt(this ILogger logger, TopicPartition partition, long segmentBaseOffset);

    /// <summary>Information when the load recovered segments, Debug otherwise (a broker opening 10,000 clean logs writes one summary line).</summary>
    [LoggerMessage(EventId = 1004, EventName = "LogLoaded",
        Message = "Loaded {Partition}: log start {LogStartOffset}, log end {LogEndOffset}, {SegmentCount} segments, clean shutdown {CleanShutdown}, {SegmentsScanned} segments scanned, {ElapsedMs} ms")]
    public static partial void LogLoaded(this ILogger logger, LogLevel level, TopicPartition partition, long logStartOffset, long logEndOffset,
        int segmentCount, bool cleanShutdown, int segmentsScanned, long elapsedMs);

    [LoggerMessage(EventId = 1005, EventName = "SegmentRolled", Level = LogLevel.Debug,
        Message = "Rolled {Partition} to a new segment at offset {BaseOffset} ({Reason})")]
    public static partial void SegmentRolled(this ILogger logger, TopicPartition partition, long baseOffset, string reason);

    [LoggerMessage(EventId = 1006, EventName = "LogTruncated", Level = LogLevel.Information,
        Message = "Truncated {Partition} to offset {Offset}: log end was {PreviousLogEndOffset}, now {LogEndOffset}")]
    public static partial void LogTruncated(this ILogger logger, TopicPartition partition, long offset, long previousLogEndOffset, long logEndOffset);

    [LoggerMessage(EventId = 1007, EventName = "LogStartOffsetAdvanced", Level = LogLevel.Information,
        Message = "Log start offset of {Partition} moved to {LogStartOffset}; {DeletedSegments} segments deleted")]
    public static partial void LogStartOffsetAdvanced(this ILogger logger, TopicPartition partition, long logStartOffset, int deletedSegments);

    [LoggerMessage(EventId = 1008, EventName = "CheckpointUnreadable", Level = LogLevel.Warning,
        Message = "Ignoring unreadable checkpoint file {Path}: {Reason}")]
    public static partial void CheckpointUnreadable(this ILogger logger, string path, string reason);

    [LoggerMessage(EventId = 1009, EventName = "BackgroundFlushFailed", Level = LogLevel.Error,
        Message = "Background flush or checkpoint of {Target} failed")]
    public static partial void BackgroundFlushFailed(this ILogger logger, Exception exception, string target);

    [LoggerMessage(EventId = 1010, EventName = "LogDirectoryOpened", Level = LogLevel.Information,
        Message = "Opened log directory {Path}: {LogCount} logs, clean shutdown {CleanShutdown}")]
    public static partial void LogDirectoryOpened(this ILogger logger, string path, int logCount, bool cleanShutdown);

    [LoggerMessage(EventId = 1011, EventName = "LogDeleted", Level = LogLevel.Information,
        Message = "Deleted log {Partition} (directory renamed to {RenamedTo})")]
    public static partial void LogDeleted(this ILogger logger, TopicPartition partition, string renamedTo);

    [LoggerMessage(EventId = 1012, EventName = "DirectorySyncUnavailable", Level = LogLevel.Warning,
        Message = "Directory fsync is not available on this platform; file creations and renames rely on the file system's ordering")]
    public static partial void DirectorySyncUnavailable(this ILogger logger);

    [LoggerMessage(EventId = 1013, EventName = "StrayFileDeleted", Level = LogLevel.Information,
        Message = "Deleted stray file {Path} while loading {Partition}")]
    public static partial void StrayFileDeleted(this ILogger logger, string path, TopicPartition partition);

    [LoggerMessage(EventId = 1014, EventName = "DeletedLogRemovalFailed", Level = LogLevel.Warning,
        Message = "Could not remove deleted log directory {Path}")]
    public static partial void DeletedLogRemovalFailed(this ILogger logger, Exception exception, string path);

    [LoggerMessage(EventId = 1015, EventName = "TopicIdAdopted", Level = LogLevel.Information,
        Message = "The log of {Partition} recorded no topic id; it now records {TopicId}")]
    public static partial void TopicIdAdopted(this ILogger logger, TopicPartition partition, string topicId);

    [LoggerMessage(EventId = 1016, EventName = "LogOfOtherTopicDeleted", Level = LogLevel.Warning,
        Message = "The log of {Partition} belongs to topic id {RecordedTopicId}, not {TopicId} (the topic was deleted and recreated): deleting it and starting an empty log")]
    public static partial void LogOfOtherTopicDeleted(this ILogger logger, TopicPartition partition, string recordedTopicId, string topicId);
}
