using System.Net;

namespace Tributary.Raft;

/// <summary>What one node needs to join the quorum, as a voter (its id is in <see cref="Voters"/>) or as an observer
/// (any other id: it follows the committed log and calls the leader, but never votes).</summary>
public sealed record RaftQuorumOptions
{
    /// <summary>This node's id; one of <see cref="Voters"/> makes it a voter, any other id an observer.</summary>
    public required int NodeId { get; init; }

    /// <summary>Every voter, this node included (Kafka's <c>controller.quorum.voters</c>).</summary>
    public required IReadOnlyList<QuorumVoter> Voters { get; init; }

    /// <summary>Directory holding a voter's quorum log, persisted term/vote and snapshots; created if missing. Observers
    /// keep only their snapshots there (their log is in memory: after a restart they start from their latest snapshot
    /// and fetch the rest).</summary>
    public required string DataDirectory { get; init; }

    /// <summary>Where a voter accepts quorum connections from the other voters and client connections (controller
    /// calls, observer fetches); required for voters, unused by observers (they only connect out).</summary>
    public IPEndPoint? Listener { get; init; }

    /// <summary>A follower that hears nothing from a leader for a random time in [timeout, 2×timeout) starts an
    /// election; a leader that hears from no majority for this long steps down (KRaft's quorum.election.timeout.ms
    /// and "check quorum").</summary>
    public TimeSpan ElectionTimeout { get; init; } = TimeSpan.FromMilliseconds(1000);

    /// <summary>How often the leader sends (possibly empty) appends to each follower.</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>How long connecting to another voter may take before the attempt is dropped (and retried later).</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Upper bound on one quorum entry's serialized size, i.e. all records of one atomic batch together
    /// (the name predates batches); bigger appends are refused with MESSAGE_TOO_LARGE, bigger entries on disk or wire
    /// are treated as corruption.</summary>
    public int MaxRecordBytes { get; init; } = 1024 * 1024;

    /// <summary>Upper bound on the records of one atomic batch (Kafka's controller caps one operation at 10,000).</summary>
    public int MaxRecordsPerEntry { get; init; } = 10_000;

    /// <summary>Upper bound on a controller request or response (<see cref="RaftQuorum{T}.CallLeaderAsync"/>);
    /// a bigger frame on a client connection closes that connection.</summary>
    public int MaxControllerMessageBytes { get; init; } = 1024 * 1024;

    /// <summary>Most entries the leader sends to a follower in one append request.</summary>
    public int MaxEntriesPerAppend { get; init; } = 256;

    /// <summary>Upper bound on one snapshot's size, written, read from disk or received; a bigger one is refused.</summary>
    public int MaxSnapshotBytes { get; init; } = 512 * 1024 * 1024;

    /// <summary>Snapshots travel to followers and observers in chunks of at most this size (at most
    /// <see cref="MaxRecordBytes"/>, which bounds every frame's payload).</summary>
    public int SnapshotChunkBytes { get; init; } = 1024 * 1024;

    /// <summary>The one clock of the quorum: election and heartbeat timers, check-quorum, fetch waits.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
