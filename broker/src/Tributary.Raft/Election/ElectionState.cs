namespace Tributary.Raft.Election;

/// <summary>A node's role in the current epoch.</summary>
internal enum RaftRole
{
    Follower,
    Candidate,
    Leader,
}

/// <summary>Vote state and election timing of one node: the epoch, whom it voted for (both durable for voters), its
/// role, the leader it knows, the votes it collected as candidate and when its election timer fires.</summary>
/// <remarks>Not thread-safe: the quorum calls it under its lock. Times are milliseconds of the quorum's clock.</remarks>
internal sealed class ElectionState
{
    private readonly int _nodeId;
    private readonly QuorumStateFile? _stateFile;
    private readonly long _electionTimeoutMs;
    private readonly Random _random;
    private readonly HashSet<int> _votes = [];

    public ElectionState(int nodeId, int voterCount, QuorumStateFile? stateFile, long electionTimeoutMs, Random random)
    {
        _nodeId = nodeId;
        _stateFile = stateFile;
        _electionTimeoutMs = electionTimeoutMs;
        _random = random;
        Majority = voterCount / 2 + 1;
        (Epoch, VotedFor) = stateFile?.Read() ?? (0, -1);
    }

    public int Majority { get; }

    public RaftRole Role { get; private set; } = RaftRole.Follower;

    public long Epoch { get; private set; }

    public int VotedFor { get; private set; }

    /// <summary>The leader of <see cref="Epoch"/> as known here, or -1.</summary>
    public int LeaderId { get; set; } = -1;

    /// <summary>When a follower or candidate starts the next election.</summary>
    public long ElectionDeadline { get; private set; }

    public bool IsLeader => Role == RaftRole.Leader;

    /// <summary>A fresh random deadline in [timeout, 2×timeout) from <paramref name="now"/>, so voters rarely time out together.</summary>
    public void ResetDeadline(long now) => ElectionDeadline = now + _electionTimeoutMs + _random.NextInt64(_electionTimeoutMs);

    /// <summary>The only voter has nobody to wait for: its first tick starts (and wins) an election.</summary>
    public void ElectAtOnce() => ElectionDeadline = 0;

    /// <summary>Starts an election in the next epoch, voting for itself (persisted first). True when that single vote
    /// is already a majority.</summary>
    public bool BecomeCandidate(long now)
    {
        Role = RaftRole.Candidate;
        Epoch++;
        VotedFor = _nodeId;
        LeaderId = -1;
        _stateFile!.Write(Epoch, VotedFor);
        _votes.Clear();
        _votes.Add(_nodeId);
        ResetDeadline(now);
        return _votes.Count >= Majority;
    }

    /// <summary>Counts a granted vote of this epoch; true once the votes are a majority.</summary>
    public bool AddVote(int from)
    {
        _votes.Add(from);
        return _votes.Count >= Majority;
    }

    public void BecomeLeader()
    {
        Role = RaftRole.Leader;
        LeaderId = _nodeId;
    }

    /// <summary>Follows <paramref name="leaderId"/> (-1: unknown) in <paramref name="epoch"/>; a new epoch clears the vote
    /// (persisted before anything else happens in it).</summary>
    public void Follow(long epoch, int leaderId, long now)
    {
        if (epoch != Epoch)
        {
            Epoch = epoch;
            VotedFor = -1;
            _stateFile!.Write(Epoch, VotedFor);
        }

        Role = RaftRole.Follower;
        LeaderId = leaderId;
        ResetDeadline(now);
    }

    /// <summary>An observer learns the leadership from fetch answers; nothing is persisted.</summary>
    public void Observe(long epoch, int leaderId)
    {
        Epoch = epoch;
        LeaderId = leaderId;
    }

    /// <summary>Whether to grant a vote (Raft §5.2, §5.4.1): same epoch, not leading, not voted for another, and the
    /// candidate's log at least as up to date as ours, so every committed entry survives. A grant is persisted before it
    /// is answered, and resets the election timer.</summary>
    public bool DecideVote(int candidateId, long candidateEpoch, long candidateLastIndex, long candidateLastTerm, long ourLastIndex,
        long ourLastTerm, long now)
    {
        bool logUpToDate = candidateLastTerm > ourLastTerm || (candidateLastTerm == ourLastTerm && candidateLastIndex >= ourLastIndex);
        bool granted = candidateEpoch == Epoch && Role != RaftRole.Leader && (VotedFor == -1 || VotedFor == candidateId) && logUpToDate;
        if (granted)
        {
            if (VotedFor != candidateId)
            {
                VotedFor = candidateId;
                _stateFile!.Write(Epoch, VotedFor);
            }

            ResetDeadline(now);
        }

        return granted;
    }

    /// <summary>A storage failure: the node stops acting in any role.</summary>
    public void Halt()
    {
        Role = RaftRole.Follower;
        LeaderId = -1;
    }
}
