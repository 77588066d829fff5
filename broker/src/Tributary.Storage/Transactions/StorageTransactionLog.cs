using Microsoft.Extensions.Logging;

namespace Tributary.Storage;

/// <summary>Log events of transactions in storage (ids 900-919 of the transactions range 900-949); ids and names are stable.</summary>
internal static partial class StorageTransactionLog
{
    [LoggerMessage(EventId = 900, EventName = "TransactionIndexWriteFailed", Level = LogLevel.Warning,
        Message = "Could not write the transaction index of {Partition} segment {SegmentBaseOffset}; the in-memory index is kept and the file is rewritten later")]
    public static partial void TransactionIndexWriteFailed(this ILogger logger, Exception exception, TopicPartition partition, long segmentBaseOffset);

    [LoggerMessage(EventId = 901, EventName = "TransactionIndexIgnored", Level = LogLevel.Warning,
        Message = "Ignored transaction index {Path}: {Reason}; it is rebuilt from the log")]
    public static partial void TransactionIndexIgnored(this ILogger logger, string path, string reason);

    [LoggerMessage(EventId = 902, EventName = "TransactionStateLoaded", Level = LogLevel.Debug,
        Message = "Transaction state of {Partition}: {OngoingCount} open transactions, {AbortedCount} aborted transactions indexed, last stable offset {LastStableOffset}")]
    public static partial void TransactionStateLoaded(this ILogger logger, TopicPartition partition, int ongoingCount, int abortedCount,
        long lastStableOffset);
}
