using Microsoft.Extensions.Logging;

namespace Tributary.Storage.Cleaner;

/// <summary>Log events of the cleaner's handling of transactions (ids 1120-1139).</summary>
internal static partial class CleanerTransactionLog
{
    [LoggerMessage(EventId = 1120, EventName = "TransactionsCleaned", Level = LogLevel.Information,
        Message = "Cleaning {Partition} removed {AbortedRecords} records of aborted transactions and {Markers} transaction markers past their delete horizon")]
    public static partial void TransactionsCleaned(this ILogger logger, TopicPartition partition, long abortedRecords, long markers);
}
