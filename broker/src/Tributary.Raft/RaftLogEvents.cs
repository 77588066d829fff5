using Microsoft.Extensions.Logging;

namespace Tributary.Raft;

/// <summary>Log events of the Raft quorum (ids 700-799); ids and names are stable.</summary>
internal static partial class RaftLogEvents
{
    [LoggerMessage(EventId = 700, EventName = "QuorumStarted", Level = LogLevel.Information,
        Message = "Quorum voter {NodeId} started on {Listener}: epoch {Epoch}, {Entries} log entries, voters {Voters}")]
    public static partial void QuorumStarted(this ILogger logger, int nodeId, string listener, long epoch, long entries, string voters);

    [LoggerMessage(EventId = 701, EventName = "QuorumLogTailTruncated", Level = LogLevel.Warning,
        Message = "Quorum voter {NodeId} cut {Bytes} bytes of torn or corrupt entries off the end of its log")]
    public static partial void QuorumLogTailTruncated(this ILogger logger, int nodeId, long bytes);

    [LoggerMessage(EventId = 702, EventName = "QuorumElectionStarted", Level = LogLevel.Information,
        Message = "Quorum voter {NodeId} is candidate in epoch {Epoch} (last index {LastIndex}, last epoch {LastEpoch})")]
    public static partial void QuorumElectionStarted(this ILogger logger, int nodeId, long epoch, long lastIndex, long lastEpoch);

    [LoggerMessage(EventId = 703, EventName = "QuorumLeaderElected", Level = LogLevel.Information,
        Message = "Quorum voter {NodeId} is leader (active controller) in epoch {Epoch}")]
    public static partial void QuorumLeaderElected(this ILogger logger, int nodeId, long epoch);

    [LoggerMessage(EventId = 704, EventName = "QuorumFollowing", Level = LogLevel.Information,
        Message = "Quorum voter {NodeId} follows leader {LeaderId} in epoch {Epoch}")]
    public static partial void QuorumFollowing(this ILogger logger, int nodeId, int leaderId, long epoch);

    [LoggerMessage(EventId = 705, EventName = "QuorumLeaderResigned", Level = LogLevel.Warning,
        Message = "Quorum voter {NodeId} resigns leadership of epoch {Epoch}: no majority heard from within {TimeoutMs} ms")]
    public static partial void QuorumLeaderResigned(this ILogger logger, int nodeId, long epoch, long timeoutMs);

    [LoggerMessage(EventId = 706, EventName = "QuorumFollowerLogTruncated", Level = LogLevel.Warning,
        Message = "Quorum voter {NodeId} dropped uncommitted entries from index {FromIndex} that conflict with leader {LeaderId}")]
    public static partial void QuorumFollowerLogTruncated(this ILogger logger, int nodeId, long fromIndex, int leaderId);

    [LoggerMessage(EventId = 707, EventName = "QuorumConnectionRejected", Level = LogLevel.Warning,
        Message = "Quorum voter {NodeId} closed the connection from {Remote}: {Reason}")]
    public static partial void QuorumConnectionRejected(this ILogger logger, int nodeId, string remote, string reason);

    [LoggerMessage(EventId = 708, EventName = "QuorumPeerUnreachable", Level = LogLevel.Debug,
        Message = "Quorum voter {NodeId} cannot reach voter {PeerId}: {Reason}")]
    public static partial void QuorumPeerUnreachable(this ILogger logger, int nodeId, int peerId, string reason);

    [LoggerMessage(EventId = 709, EventName = "QuorumLeadershipHandlerFailed", Level = LogLevel.Error,
        Message = "A leadership-change handler of quorum voter {NodeId} failed")]
    public static partial void QuorumLeadershipHandlerFailed(this ILogger logger, Exception exception, int nodeId);

    [LoggerMessage(EventId = 711, EventName = "QuorumStorageFailed", Level = LogLevel.Critical,
        Message = "Quorum voter {NodeId} cannot write its log or state and stops taking part in the quorum")]
    public static partial void QuorumStorageFailed(this ILogger logger, Exception exception, int nodeId);

    [LoggerMessage(EventId = 710, EventName = "QuorumStopped", Level = LogLevel.Information,
        Message = "Quorum voter {NodeId} stopped in epoch {Epoch} with commit index {CommitIndex}")]
    public static partial void QuorumStopped(this ILogger logger, int nodeId, long epoch, long commitIndex);

    [LoggerMessage(EventId = 760, EventName = "QuorumClientConnectionRejected", Level = LogLevel.Warning,
        Message = "Quorum node {NodeId} closed its client connection to voter {VoterId}: {Reason}")]
    public static partial void QuorumClientConnectionRejected(this ILogger logger, int nodeId, int voterId, string reason);

    [LoggerMessage(EventId = 761, EventName = "QuorumObserverStarted", Level = LogLevel.Information,
        Message = "Quorum observer {NodeId} started, following voters {Voters}")]
    public static partial void QuorumObserverStarted(this ILogger logger, int nodeId, string voters);

    [LoggerMessage(EventId = 762, EventName = "QuorumObserverFetchFailed", Level = LogLevel.Debug,
        Message = "Quorum observer {NodeId} cannot fetch from voter {VoterId}: {Reason}")]
    public static partial void QuorumObserverFetchFailed(this ILogger logger, int nodeId, int voterId, string reason);

    [LoggerMessage(EventId = 763, EventName = "QuorumLeaderReady", Level = LogLevel.Information,
        Message = "Quorum voter {NodeId} committed its epoch-start entry at offset {Offset} in epoch {Epoch}; the controller may act once it has applied it")]
    public static partial void QuorumLeaderReady(this ILogger logger, int nodeId, long offset, long epoch);

    [LoggerMessage(EventId = 764, EventName = "QuorumLeadershipHandOver", Level = LogLevel.Information,
        Message = "Quorum voter {NodeId} stops as leader of epoch {Epoch} and hands leadership to voter {TargetId} (TimeoutNow)")]
    public static partial void QuorumLeadershipHandOver(this ILogger logger, int nodeId, long epoch, int targetId);

    [LoggerMessage(EventId = 765, EventName = "QuorumLeadershipHandOverIncomplete", Level = LogLevel.Information,
        Message = "Quorum voter {NodeId} saw no new leader within {WaitMs} ms of handing over; stopping anyway")]
    public static partial void QuorumLeadershipHandOverIncomplete(this ILogger logger, int nodeId, long waitMs);

    [LoggerMessage(EventId = 766, EventName = "QuorumTimeoutNowReceived", Level = LogLevel.Information,
        Message = "Quorum voter {NodeId} was asked by leader {LeaderId} to take over; starting an election now")]
    public static partial void QuorumTimeoutNowReceived(this ILogger logger, int nodeId, int leaderId);

    [LoggerMessage(EventId = 767, EventName = "QuorumControllerHandlerFailed", Level = LogLevel.Error,
        Message = "The controller request handler of quorum voter {NodeId} failed: {Reason}")]
    public static partial void QuorumControllerHandlerFailed(this ILogger logger, Exception? exception, int nodeId, string reason);

    [LoggerMessage(EventId = 768, EventName = "QuorumSnapshotWritten", Level = LogLevel.Information,
        Message = "Quorum node {NodeId} stored a snapshot through offset {Offset} (epoch {Epoch}, {Bytes} bytes); its log now starts at offset {LogStart}")]
    public static partial void QuorumSnapshotWritten(this ILogger logger, int nodeId, long offset, long epoch, int bytes, long logStart);

    [LoggerMessage(EventId = 769, EventName = "QuorumSnapshotInstalled", Level = LogLevel.Information,
        Message = "Quorum node {NodeId} installed the snapshot through offset {Offset} (epoch {Epoch}, {Bytes} bytes) from voter {FromId}")]
    public static partial void QuorumSnapshotInstalled(this ILogger logger, int nodeId, long offset, long epoch, int bytes, int fromId);

    [LoggerMessage(EventId = 770, EventName = "QuorumSnapshotSending", Level = LogLevel.Information,
        Message = "Quorum leader {NodeId} sends its snapshot through offset {Offset} to voter {PeerId}, whose next offset {NextOffset} lies below the log start")]
    public static partial void QuorumSnapshotSending(this ILogger logger, int nodeId, long offset, int peerId, long nextOffset);

    [LoggerMessage(EventId = 771, EventName = "QuorumSnapshotRejected", Level = LogLevel.Warning,
        Message = "Quorum node {NodeId} refused a snapshot from voter {FromId}: {Reason}")]
    public static partial void QuorumSnapshotRejected(this ILogger logger, int nodeId, int fromId, string reason);

    [LoggerMessage(EventId = 772, EventName = "QuorumSnapshotFileCorrupt", Level = LogLevel.Error,
        Message = "Quorum node {NodeId} skipped the corrupt snapshot file {Path}")]
    public static partial void QuorumSnapshotFileCorrupt(this ILogger logger, int nodeId, string path);

    [LoggerMessage(EventId = 773, EventName = "QuorumStartedFromSnapshot", Level = LogLevel.Information,
        Message = "Quorum node {NodeId} starts from its snapshot through offset {Offset} (epoch {Epoch}) plus {Entries} log entries")]
    public static partial void QuorumStartedFromSnapshot(this ILogger logger, int nodeId, long offset, long epoch, long entries);
}
