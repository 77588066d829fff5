using Microsoft.Extensions.Logging;

namespace Tributary.Storage.Retention;

/// <summary>Log events of retention and the log cleaner (ids 1100-1199); ids and names are stable.</summary>
internal static partial class RetentionLog
{
    [LoggerMessage(EventId = 1100, EventName = "SegmentDeletedByRetention", Level = LogLevel.Information,
        Message = "Deleted segment {SegmentBaseOffset} of {Partition} ({Bytes} bytes): past {Reason}")]
    public static partial void SegmentDeletedByRetention(this ILogger logger, TopicPartition partition, long segmentBaseOffset, long bytes,
        string reason);

    [LoggerMessage(EventId = 1101, EventName = "RetentionFailed", Level = LogLevel.Error,
        Message = "Retention of {Partition} failed")]
    public static partial void RetentionFailed(this ILogger logger, Exception exception, TopicPartition partition);

    [LoggerMessage(EventId = 1110, EventName = "LogCleaned", Level = LogLevel.Information,
        Message = "Cleaned {Partition} up to offset {EndOffset}: {SegmentsIn} segments ({BytesIn} bytes) into {SegmentsOut} ({BytesOut} bytes), {RecordsRemoved} records removed ({TombstonesRemoved} of them tombstones), {ElapsedMs} ms")]
    public static partial void LogCleaned(this ILogger logger, TopicPartition partition, long endOffset, int segmentsIn, long bytesIn,
        int segmentsOut, long bytesOut, long recordsRemoved, long tombstonesRemoved, long elapsedMs);

    [LoggerMessage(EventId = 1111, EventName = "CleaningAborted", Level = LogLevel.Information,
        Message = "Cleaning of {Partition} abandoned: its segments changed while it was cleaned")]
    public static partial void CleaningAborted(this ILogger logger, TopicPartition partition);

    [LoggerMessage(EventId = 1112, EventName = "CleaningFailed", Level = LogLevel.Error,
        Message = "Cleaning of {Partition} failed")]
    public static partial void CleaningFailed(this ILogger logger, Exception exception, TopicPartition partition);

    [LoggerMessage(EventId = 1117, EventName = "LogMarkedUncleanable", Level = LogLevel.Error,
        Message = "Cleaning of {Partition} failed unexpectedly; the log is not cleaned again until restart")]
    public static partial void LogMarkedUncleanable(this ILogger logger, Exception exception, TopicPartition partition);

    [LoggerMessage(EventId = 1118, EventName = "CleanerPassFailed", Level = LogLevel.Error,
        Message = "The log cleaner's look for work failed; it backs off and looks again")]
    public static partial void CleanerPassFailed(this ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1119, EventName = "CleanerSkipsLog", Level = LogLevel.Debug,
        Message = "Not cleaning {Partition}: checkpoint {Checkpoint}, high watermark {HighWatermark}, {Segments} segments, cleanable below segment {EndIndex}, first dirty segment {FirstDirtyIndex}, clean {CleanBytes} bytes, dirty {DirtyBytes} bytes (ratio {DirtyRatio:F3}, min {MinRatio}), tombstone horizon {DeleteHorizonMs}")]
    public static partial void CleanerSkipsLog(this ILogger logger, TopicPartition partition, long checkpoint, long highWatermark, int segments,
        int endIndex, int firstDirtyIndex, long cleanBytes, long dirtyBytes, double dirtyRatio, double minRatio, long deleteHorizonMs);

    [LoggerMessage(EventId = 1113, EventName = "CleaningDiscarded", Level = LogLevel.Information,
        Message = "Discarded uncommitted cleaning output {Path} of {Partition}")]
    public static partial void CleaningDiscarded(this ILogger logger, TopicPartition partition, string path);

    [LoggerMessage(EventId = 1114, EventName = "CleaningCompletedAtOpen", Level = LogLevel.Information,
        Message = "Completed an interrupted cleaning of {Partition}: offsets {BaseOffset} to {EndOffset} now come from the cleaned segment")]
    public static partial void CleaningCompletedAtOpen(this ILogger logger, TopicPartition partition, long baseOffset, long endOffset);

    [LoggerMessage(EventId = 1115, EventName = "BatchKeptUncompacted", Level = LogLevel.Warning,
        Message = "Kept the {Codec} batch at offset {BaseOffset} of {Partition} as it is: {Reason}")]
    public static partial void BatchKeptUncompacted(this ILogger logger, TopicPartition partition, long baseOffset, string codec, string reason);

    [LoggerMessage(EventId = 1116, EventName = "CleanerCheckpointUnreadable", Level = LogLevel.Warning,
        Message = "Ignoring unreadable cleaner checkpoint {Path}: the next cleaning starts from the log start")]
    public static partial void CleanerCheckpointUnreadable(this ILogger logger, Exception exception, string path);
}
