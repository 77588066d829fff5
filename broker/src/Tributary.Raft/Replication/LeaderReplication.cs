namespace Tributary.Raft.Replication;

/// <summary>What the leader knows of one follower (Raft's nextIndex/matchIndex plus timing and snapshot transfer).</summary>
internal sealed class FollowerProgress
{
    public long NextIndex { get; set; }

    public long MatchIndex { get; set; }

    public long LastHeardAt { get; set; }

    public long NextSendAt { get; set; }

    /// <summary>While an append with entries is unanswered, new appends wait for its response (or a heartbeat)
    /// instead of re-sending the same entries.</summary>
    public long InFlightUntil { get; set; }

    /// <summary>The commit index last sent, so a commit advance reaches followers without waiting a heartbeat.</summary>
    public long AcknowledgedCommit { get; set; }

    /// <summary>While the follower is sent a snapshot: its last index, and the position the follower asked for next.</summary>
    public long SnapshotLastIndex { get; set; } = -1;

    public int SnapshotPosition { get; set; }
}

/// <summary>The leader's side of log replication: each follower's progress, the commit index a majority allows, and the
/// bookkeeping of leader readiness and hand-over.</summary>
/// <remarks>Not thread-safe: the quorum calls it under its lock. Sending is the quorum's job; this type decides.</remarks>
internal sealed class LeaderReplication
{
    private readonly int _nodeId;
    private readonly IReadOnlyList<QuorumVoter> _voters;
    private readonly int _majority;

    public LeaderReplication(int nodeId, IReadOnlyList<QuorumVoter> voters, int majority)
    {
        _nodeId = nodeId;
        _voters = voters;
        _majority = majority;
    }

    public Dictionary<int, FollowerProgress> Followers { get; } = [];

    /// <summary>Index of this leader's own epoch-start entry (0 when not leading).</summary>
    public long EpochStartIndex { get; private set; }

    /// <summary>Whether readiness (epoch-start entry committed) was announced.</summary>
    public bool ReadyAnnounced { get; set; }

    public long LeaderSince { get; private set; }

    /// <summary>A stopping leader hands over: no new appends, TimeoutNow to <see cref="HandOverTarget"/> once it is caught up.</summary>
    public bool Resigning { get; set; }

    public int HandOverTarget { get; set; } = -1;

    public bool TimeoutNowSent { get; set; }

    /// <summary>Starts leading at <paramref name="now"/> with the epoch-start entry at <paramref name="epochStartIndex"/>:
    /// every follower is probed from there.</summary>
    public void BeginTerm(long epochStartIndex, long now)
    {
        Followers.Clear();
        EpochStartIndex = epochStartIndex;
        ReadyAnnounced = false;
        LeaderSince = now;
        foreach (var voter in _voters)
        {
            if (voter.Id != _nodeId)
            {
                Followers[voter.Id] = new FollowerProgress { NextIndex = epochStartIndex, LastHeardAt = now };
            }
        }
    }

    public void EndTerm()
    {
        Followers.Clear();
        EpochStartIndex = 0;
        ReadyAnnounced = false;
    }

    /// <summary>The highest index a majority (this leader with <paramref name="ownLastIndex"/> included) holds.</summary>
    public long MajorityMatchIndex(long ownLastIndex)
    {
        Span<long> matched = stackalloc long[Followers.Count + 1];
        int count = 0;
        matched[count++] = ownLastIndex;
        foreach (var follower in Followers.Values)
        {
            matched[count++] = follower.MatchIndex;
        }

        matched[..count].Sort();
        return matched[count - _majority];
    }

    /// <summary>Check quorum: whether a majority (this leader included) was heard from within the election timeout.</summary>
    public bool HeardFromMajority(long now, long electionTimeoutMs)
    {
        int heard = 1;
        foreach (var follower in Followers.Values)
        {
            if (now - follower.LastHeardAt < electionTimeoutMs)
            {
                heard++;
            }
        }

        return heard >= _majority || now - LeaderSince < electionTimeoutMs;
    }

    /// <summary>The most caught-up follower among those still answering: TimeoutNow to a dead one would only waste the wait.</summary>
    public (int Id, FollowerProgress Progress) ChooseHandOverTarget(long now, long electionTimeoutMs)
    {
        var (id, progress) = Followers
            .OrderByDescending(f => now - f.Value.LastHeardAt < electionTimeoutMs)
            .ThenByDescending(f => f.Value.MatchIndex)
            .First();
        return (id, progress);
    }
}
