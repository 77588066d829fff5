using Tributary.Metadata.Records;
using Tributary.Protocol;

namespace Tributary.Controller.Quorum;

/// <summary>Who leads the quorum in which epoch, as this node knows it; <see cref="LeaderId"/> is -1 while unknown
/// (an election is running).</summary>
public readonly record struct QuorumLeadership(int LeaderId, long Epoch);

/// <summary>A record the quorum committed, at its offset in the metadata log and the epoch it was appended in.</summary>
/// <remarks>Offsets are 0-based positions in the quorum log. They have gaps: each new leader first commits an internal
/// epoch-start entry (as KRaft writes a LeaderChangeMessage control record), which this flattened view skips. The
/// records of one multi-record batch share its offset.</remarks>
public readonly record struct CommittedMetadataRecord(long Offset, long Epoch, MetadataRecord Record);

/// <summary>One committed quorum entry: the records appended together (applied atomically), at the entry's offset in
/// the metadata log and the epoch it was appended in.</summary>
/// <remarks>Every offset appears exactly once. An entry with zero records is the epoch-start entry a new leader commits
/// first (KRaft's LeaderChangeMessage); readers see the offset advance and the active controller can tell from it
/// when it has applied everything earlier leaders committed (see <see cref="MetadataQuorum.LeaderReadyOffset"/>).</remarks>
public readonly record struct CommittedMetadataBatch(long Offset, long Epoch, IReadOnlyList<MetadataRecord> Records);

/// <summary>Outcome of an append: the committed offset, or <see cref="ErrorCode.NotController"/> with the leader to
/// retry on (-1 while unknown).</summary>
/// <remarks>NOT_CONTROLLER after the append was accepted (this node lost leadership before the commit) leaves the
/// outcome unknown, as a produce timeout does: the record may still commit under the next leader.</remarks>
public readonly record struct QuorumAppendResult(ErrorCode Error, long Offset, int LeaderId)
{
    public static QuorumAppendResult NotController(int leaderId) => new(ErrorCode.NotController, -1, leaderId);
}

/// <summary>Thrown by <see cref="MetadataQuorum.CallControllerAsync"/> when the active controller failed to handle a
/// request (its handler threw or answered more than the size bound): a bug on the controller, not worth a retry.</summary>
public sealed class ControllerCallFailedException(string message) : Exception(message);

/// <summary>Thrown by <see cref="MetadataQuorum.AppendAsync"/> and <see cref="MetadataQuorum.CallControllerAsync"/> when
/// this node is not (or stopped being) the leader, or the controller could not be reached: retry, on
/// <see cref="LeaderId"/> once known.</summary>
public sealed class NotControllerException : Exception
{
    public NotControllerException(int leaderId)
        : base($"This node is not the active controller; the current leader is {(leaderId < 0 ? "unknown" : leaderId.ToString(System.Globalization.CultureInfo.InvariantCulture))}")
    {
        LeaderId = leaderId;
    }

    /// <summary>The leader to retry on, or -1 while unknown.</summary>
    public int LeaderId { get; }

    public static ErrorCode ErrorCode => ErrorCode.NotController;
}

/// <summary>A voter's replication progress: its log end offset and milliseconds since the leader last heard from it (-1: unknown).</summary>
public readonly record struct QuorumVoterProgress(int VoterId, long LogEndOffset, long MillisecondsSinceLastHeard);
