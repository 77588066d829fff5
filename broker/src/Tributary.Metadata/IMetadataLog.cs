using Tributary.Metadata.Records;

namespace Tributary.Metadata;

/// <summary>One committed entry of the metadata log: records applied together, atomically (possibly none: a new quorum
/// leader's epoch-start entry). A snapshot batch (<see cref="IsSnapshot"/>) carries the records that rebuild the whole
/// image from empty; its <see cref="Offset"/> is the last log offset the snapshot includes.</summary>
public readonly record struct MetadataBatch(long Offset, long Epoch, IReadOnlyList<MetadataRecord> Records, bool IsSnapshot = false);

/// <summary>A controller RPC: a Kafka request body (no header) with its api key and version, sent to the active
/// controller's controller listener.</summary>
public readonly record struct ControllerCall(short ApiKey, short ApiVersion, ReadOnlyMemory<byte> Body);

/// <summary>Who leads the metadata quorum (the active controller) and in which epoch; -1 when unknown.</summary>
public readonly record struct MetadataLeadership(int LeaderId, long Epoch);

/// <summary>Outcome of an append: NOT_CONTROLLER means nothing was appended (not leader, or not in the expected epoch)
/// or — after an accepted append — that the outcome is unknown (the batch may still commit under the next leader).</summary>
public readonly record struct MetadataAppendResult(Protocol.ErrorCode Error, long Offset, int LeaderId);

/// <summary>
/// The seam between the Raft quorum and everything that reads or writes cluster metadata: the committed, ordered metadata
/// log (with snapshots), appends for the active controller, and a request channel from any node to the active controller.
/// Implemented over the Raft quorum (<c>QuorumMetadataLog</c>); tests use an in-memory test double.
/// </summary>
public interface IMetadataLog : IAsyncDisposable
{
    int NodeId { get; }

    /// <summary>Whether this node votes in the quorum (otherwise it is an observer and can never be the controller).</summary>
    bool IsVoter { get; }

    MetadataLeadership Leadership { get; }

    /// <summary>Raised (on any thread) when the leader or epoch changes.</summary>
    event Action<MetadataLeadership>? LeadershipChanged;

    /// <summary>While this node leads: offset of its epoch-start entry once committed, else -1. The active controller
    /// decides nothing until its applied state has reached this offset.</summary>
    long LeaderReadyOffset { get; }

    /// <summary>Appends records atomically as one entry; returns once committed. Fails with NOT_CONTROLLER (nothing
    /// appended) when this node is not leader or its epoch is not <paramref name="expectedEpoch"/>.</summary>
    Task<MetadataAppendResult> TryAppendAsync(IReadOnlyList<MetadataRecord> records, long expectedEpoch, CancellationToken cancellationToken);

    /// <summary>The committed batches from <paramref name="fromOffset"/> on, in order, waiting for new ones. When
    /// <paramref name="fromOffset"/> is below the log start (the log was truncated under a snapshot), the first item is
    /// the latest snapshot (<see cref="MetadataBatch.IsSnapshot"/>): the reader resets its state to empty, applies the
    /// snapshot's records, and the tail follows from the snapshot's offset + 1.</summary>
    IAsyncEnumerable<MetadataBatch> ReadCommittedAsync(long fromOffset, CancellationToken cancellationToken);

    /// <summary>Stores a snapshot of the state through <paramref name="lastIncludedOffset"/> (inclusive, committed) as
    /// <paramref name="records"/>; the log may afterwards be truncated below it, and lagging followers or new observers
    /// are sent it.</summary>
    Task WriteSnapshotAsync(long lastIncludedOffset, IReadOnlyList<MetadataRecord> records, CancellationToken cancellationToken);

    /// <summary>Offset of the latest stored snapshot, -1 if none.</summary>
    long LatestSnapshotOffset { get; }

    /// <summary>Sends a controller RPC to the active controller's controller listener and returns the response body.
    /// Throws NotControllerException when no leader is known, the leader changed or the call failed (retry).</summary>
    Task<byte[]> CallControllerAsync(ControllerCall call, CancellationToken cancellationToken);

    /// <summary>Installed by the active controller while this node leads: serves every controller-listener request whose
    /// api key is not a Raft one, returning the response body.</summary>
    void SetControllerRequestHandler(Func<ControllerCall, CancellationToken, Task<byte[]>> handler);
}
