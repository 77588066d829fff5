using Microsoft.Extensions.Logging;

namespace Tributary.Storage;

/// <summary>Source-generated log events of the producer state (event ids 1500-1599); ids and names are stable.</summary>
internal static partial class ProducerStateLog
{
    [LoggerMessage(EventId = 1501, EventName = "ProducerStateLoaded", Level = LogLevel.Debug,
        Message = "Loaded producer state of {Partition}: {ProducerCount} producers from snapshot {SnapshotOffset} plus {BatchesReplayed} batches replayed up to {LogEndOffset}")]
    public static partial void ProducerStateLoaded(this ILogger logger, TopicPartition partition, int producerCount, long snapshotOffset,
        int batchesReplayed, long logEndOffset);

    [LoggerMessage(EventId = 1502, EventName = "ProducerSnapshotUnreadable", Level = LogLevel.Warning,
        Message = "Deleted unreadable producer snapshot {Path}: {Reason}; the log is replayed instead")]
    public static partial void ProducerSnapshotUnreadable(this ILogger logger, string path, string reason);

    [LoggerMessage(EventId = 1503, EventName = "ProducerSnapshotWriteFailed", Level = LogLevel.Warning,
        Message = "Could not write the producer snapshot of {Partition} at offset {Offset}; the next open replays the log instead")]
    public static partial void ProducerSnapshotWriteFailed(this ILogger logger, Exception exception, TopicPartition partition, long offset);

    [LoggerMessage(EventId = 1504, EventName = "ProducersExpired", Level = LogLevel.Debug,
        Message = "Expired {Count} idle producers of {Partition}")]
    public static partial void ProducersExpired(this ILogger logger, TopicPartition partition, int count);
}
