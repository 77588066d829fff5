using Tributary.Controller.Records;

namespace Tributary.Broker.Metadata;

/// <summary>One committed entry of the metadata log: records applied together, atomically (possibly none: a new quorum
/// leader's epoch-start entry).</summary>
public readonly record struct MetadataBatch(long Offset, long Epoch, IReadOnlyList<MetadataRecord> Records, bool IsSnapshot = false);
// Offset of a snapshot batch = the last log offset the snapshot includes; Records = the records that rebuild the whole image from empty.

public readonly record struct ControllerCall(short ApiKey, short ApiVersion, ReadOnlyMemory<byte> Body);

/// <summary>Who leads the metadata quorum (the active controller) and in which epoch; -1 when unknown.</summary>
public readonly record struct MetadataLeadership(int LeaderId, long Epoch);

/// <summary>Outcome of an append: NOT_CONTROLLER means nothing was appended (not leader, or not in the expected epoch)
/// or — after an accepted append — that the outcome is unknown (the batch may still commit under the next leader).</summary>
public readonly record struct MetadataAppendResult(Protocol.ErrorCode Error, long Offset, int LeaderId);

/// <summary>
/// What the broker needs from the metadata quorum: the committed, ordered metadata log; appends for the active
/// controller; and a request channel from any node to the active controller. Implemented over the Raft quorum
/// (<c>QuorumMetadataLog</c>); tests use an in-memory fake.
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

    /// <summary>The committed batches from <paramref name="fromOffset"/> on, in order, waiting for new ones.</summary>
    IAsyncEnumerable<MetadataBatch> ReadCommittedAsync(long fromOffset, CancellationToken cancellationToken);

    /// <summary>Sends an opaque request to the active controller and returns its answer.</summary>
    /// <exception cref="Raft.NotControllerException">No leader known, the leader changed or the call failed; retry.</exception>
    Task<byte[]> CallControllerAsync(ReadOnlyMemory<byte> request, CancellationToken cancellationToken);

    /// <summary>Installs the active controller's request handler (called only while this node leads).</summary>
    void SetControllerRequestHandler(Func<ReadOnlyMemory<byte>, CancellationToken, Task<byte[]>> handler);
}
