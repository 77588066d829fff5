using System.Net;

namespace Tributary.Controller.Quorum;

/// <summary>What one voter needs to join the metadata quorum.</summary>
public sealed record MetadataQuorumOptions
{
    /// <summary>This node's id; must be one of <see cref="Voters"/>.</summary>
    public required int NodeId { get; init; }

    /// <summary>Every voter, this node included (Kafka's <c>controller.quorum.voters</c>).</summary>
    public required IReadOnlyList<QuorumVoter> Voters { get; init; }

    /// <summary>Directory holding the quorum log and the persisted term/vote; created if missing.</summary>
    public required string DataDirectory { get; init; }

    /// <summary>Where this node accepts quorum connections from the other voters.</summary>
    public required IPEndPoint Listener { get; init; }

    /// <summary>A follower that hears nothing from a leader for a random time in [timeout, 2×timeout) starts an
    /// election; a leader that hears from no majority for this long steps down (KRaft's quorum.election.timeout.ms
    /// and "check quorum").</summary>
    public TimeSpan ElectionTimeout { get; init; } = TimeSpan.FromMilliseconds(1000);

    /// <summary>How often the leader sends (possibly empty) appends to each follower.</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>How long connecting to another voter may take before the attempt is dropped (and retried later).</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Upper bound on one record's serialized size; bigger appends are refused, bigger entries on disk or
    /// wire are treated as corruption.</summary>
    public int MaxRecordBytes { get; init; } = 1024 * 1024;

    /// <summary>Most entries the leader sends to a follower in one append request.</summary>
    public int MaxEntriesPerAppend { get; init; } = 256;
}
