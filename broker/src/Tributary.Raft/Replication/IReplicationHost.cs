using Tributary.Raft.Log;

namespace Tributary.Raft.Replication;

/// <summary>What both sides of log replication need from their quorum node; called under the node's lock.</summary>
internal interface IReplicationHost
{
    /// <summary>The node's current epoch.</summary>
    long Epoch { get; }

    /// <summary>Raft's commit index (1-based; everything through it is committed).</summary>
    long CommitIndex { get; }

    /// <summary>Milliseconds of the quorum's clock.</summary>
    long NowMs();

    /// <summary>Raises the commit index: completes waiting appends, announces leader readiness, wakes readers.</summary>
    void AdvanceCommitIndex(long commitIndex);

    /// <summary>Makes a complete snapshot this node's state (stored, log cut or reset, commit index raised).</summary>
    void InstallSnapshot(int fromId, RaftSnapshot snapshot);

    /// <summary>Why the layer above could not read the snapshot's data, or null when it can.</summary>
    string? CheckSnapshot(byte[] data);
}
