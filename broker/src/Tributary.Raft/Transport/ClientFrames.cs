using Tributary.Raft.Log;

namespace Tributary.Raft.Transport;

/// <summary>A request or response on a client connection: any node (voter or observer) to one voter, on the voter's
/// quorum port, answered on the same socket and matched by <see cref="CorrelationId"/>.</summary>
internal abstract record ClientFrame(int CorrelationId);

/// <summary>An opaque request for the active controller (the broker owns the encoding).</summary>
internal sealed record ControllerCallRequest(int CorrelationId, int CallerId, byte[] Payload) : ClientFrame(CorrelationId);

internal enum ControllerCallStatus : sbyte
{
    Ok = 0,

    /// <summary>The receiving voter is not the active controller (or has no handler yet); see the leader id.</summary>
    NotController = 1,

    /// <summary>The controller's handler threw or answered beyond the size bound.</summary>
    HandlerFailed = 2,
}

internal sealed record ControllerCallResponse(int CorrelationId, ControllerCallStatus Status, int LeaderId, byte[] Payload)
    : ClientFrame(CorrelationId);

/// <summary>An observer's long poll for committed entries from <see cref="FromOffset"/>, answered after at most
/// <see cref="MaxWaitMs"/> even when nothing new committed.</summary>
internal sealed record FetchCommittedRequest(int CorrelationId, int CallerId, long FromOffset, int MaxEntries, int MaxBytes, int MaxWaitMs)
    : ClientFrame(CorrelationId);

/// <summary>The voter's view of the leadership and, from the leader only, committed entries from the requested offset;
/// or, when that offset lies below the leader's log start, the snapshot to fetch first (<see cref="SnapshotLastIndex"/>
/// ≥ 1, KRaft's SnapshotId in a Fetch response).</summary>
internal sealed record FetchCommittedResponse(int CorrelationId, int LeaderId, long Epoch, IReadOnlyList<QuorumEntry> Entries,
    long SnapshotLastIndex = -1, long SnapshotLastTerm = -1)
    : ClientFrame(CorrelationId);

/// <summary>FetchSnapshot: a chunk of the snapshot through <see cref="LastIndex"/> from <see cref="Position"/> on.</summary>
internal sealed record FetchSnapshotRequest(int CorrelationId, int CallerId, long LastIndex, long LastTerm, int Position, int MaxBytes)
    : ClientFrame(CorrelationId);

/// <summary>A chunk of the snapshot, or <see cref="Found"/> false when the voter no longer holds it (start over).</summary>
internal sealed record FetchSnapshotResponse(int CorrelationId, bool Found, long LastIndex, long LastTerm, int TotalBytes, int Position,
    byte[] Chunk) : ClientFrame(CorrelationId);
