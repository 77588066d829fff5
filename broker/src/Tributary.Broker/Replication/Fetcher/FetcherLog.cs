using Microsoft.Extensions.Logging;

namespace Tributary.Broker.Replication.Fetcher;

/// <summary>Replica fetcher log events (ids 1300-1349).</summary>
internal static partial class FetcherLog
{
    [LoggerMessage(EventId = 1300, EventName = "FetcherStarted", Level = LogLevel.Information, Message = "Replica fetcher for leader {LeaderId} at {Endpoint} started")]
    public static partial void FetcherStarted(ILogger logger, int leaderId, string endpoint);

    [LoggerMessage(EventId = 1301, EventName = "FetcherStopped", Level = LogLevel.Information, Message = "Replica fetcher for leader {LeaderId} stopped")]
    public static partial void FetcherStopped(ILogger logger, int leaderId);

    [LoggerMessage(EventId = 1302, EventName = "PartitionAssigned", Level = LogLevel.Information, Message = "Following {Topic}-{Partition} from leader {LeaderId} at epoch {LeaderEpoch}, log end offset {LogEndOffset}")]
    public static partial void PartitionAssigned(ILogger logger, string topic, int partition, int leaderId, int leaderEpoch, long logEndOffset);

    [LoggerMessage(EventId = 1303, EventName = "PartitionRemoved", Level = LogLevel.Information, Message = "Stopped following {Topic}-{Partition} from leader {LeaderId}")]
    public static partial void PartitionRemoved(ILogger logger, string topic, int partition, int leaderId);

    [LoggerMessage(EventId = 1304, EventName = "LeaderConnectionFailed", Level = LogLevel.Warning, Message = "Replica fetcher for leader {LeaderId} at {Endpoint}: {Reason}; retrying in {BackoffMs} ms")]
    public static partial void ConnectionFailed(ILogger logger, int leaderId, string endpoint, string reason, int backoffMs);

    [LoggerMessage(EventId = 1305, EventName = "FetchFailed", Level = LogLevel.Warning, Message = "Fetch from leader {LeaderId} failed with {Error}; retrying in {BackoffMs} ms")]
    public static partial void FetchFailed(ILogger logger, int leaderId, string error, int backoffMs);

    [LoggerMessage(EventId = 1306, EventName = "PartitionFetchError", Level = LogLevel.Information, Message = "Fetch of {Topic}-{Partition} from leader {LeaderId} answered {Error}; backing off {BackoffMs} ms until metadata moves it")]
    public static partial void PartitionFetchError(ILogger logger, string topic, int partition, int leaderId, string error, int backoffMs);

    [LoggerMessage(EventId = 1307, EventName = "FollowerAppendFailed", Level = LogLevel.Warning, Message = "Could not append data fetched for {Topic}-{Partition} from leader {LeaderId} at offset {FetchOffset}: {Reason}; backing off {BackoffMs} ms")]
    public static partial void AppendFailed(ILogger logger, string topic, int partition, int leaderId, long fetchOffset, string reason, int backoffMs);

    [LoggerMessage(EventId = 1308, EventName = "TruncatedOnDivergingEpoch", Level = LogLevel.Information, Message = "Truncating {Topic}-{Partition} from {LogEndOffset} to {TruncationOffset}: leader {LeaderId} reports epoch {DivergingEpoch} ends at {DivergingEndOffset}")]
    public static partial void TruncatedOnDivergingEpoch(ILogger logger, string topic, int partition, long logEndOffset, long truncationOffset, int leaderId,
        int divergingEpoch, long divergingEndOffset);

    [LoggerMessage(EventId = 1309, EventName = "OutOfRangeResolved", Level = LogLevel.Warning, Message = "Fetch offset {FetchOffset} of {Topic}-{Partition} is out of range on leader {LeaderId} (log start {LeaderLogStartOffset}, end {LeaderLogEndOffset}): {Action} {Offset}")]
    public static partial void OutOfRangeResolved(ILogger logger, string topic, int partition, long fetchOffset, int leaderId, long leaderLogStartOffset,
        long leaderLogEndOffset, OutOfRangeAction action, long offset);

    [LoggerMessage(EventId = 1310, EventName = "OutOfRangeLookupFailed", Level = LogLevel.Warning, Message = "Could not look up the offsets of {Topic}-{Partition} on leader {LeaderId}: {Reason}; backing off {BackoffMs} ms")]
    public static partial void OutOfRangeLookupFailed(ILogger logger, string topic, int partition, int leaderId, string reason, int backoffMs);

    [LoggerMessage(EventId = 1311, EventName = "FetcherLoopFailed", Level = LogLevel.Error, Message = "Replica fetcher for leader {LeaderId} hit an unexpected error; retrying in {BackoffMs} ms")]
    public static partial void LoopFailed(ILogger logger, int leaderId, int backoffMs, Exception exception);

    [LoggerMessage(EventId = 1312, EventName = "LeaderEndpointChanged", Level = LogLevel.Information, Message = "Leader {LeaderId} moved to {Endpoint}; reconnecting")]
    public static partial void EndpointChanged(ILogger logger, int leaderId, string endpoint);

    [LoggerMessage(EventId = 1313, EventName = "FetchSessionReset", Level = LogLevel.Information, Message = "Fetch session with leader {LeaderId} ended ({Error}); the next fetch is a full one")]
    public static partial void SessionReset(ILogger logger, int leaderId, string error);
}
