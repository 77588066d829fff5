using Microsoft.Extensions.Logging;
using Tributary.Raft.Log;
using Tributary.Raft.Transport;

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

    /// <summary>The size of the snapshot being sent: the follower has installed it once it asks for this position.</summary>
    public int SnapshotTotalBytes { get; set; }
}

/// <summary>The leader's side of log replication: each follower's progress, what to send it next (entries, a heartbeat
/// or a snapshot chunk when it is behind the log start), the commit index a majority allows, and the bookkeeping of
/// leader readiness and hand-over.</summary>
/// <remarks>Not thread-safe: the quorum calls it under its lock.</remarks>
internal sealed class LeaderReplication
{
    private readonly int _nodeId;
    private readonly IReadOnlyList<QuorumVoter> _voters;
    private readonly int _majority;
    private readonly RaftQuorumOptions _options;
    private readonly RaftLog _log;
    private readonly SnapshotStore _snapshots;
    private readonly IRaftTransport _transport;
    private readonly ILogger _logger;
    private readonly IReplicationHost _host;
    private readonly long _heartbeatMs;

    public LeaderReplication(RaftQuorumOptions options, int majority, RaftLog log, SnapshotStore snapshots, IRaftTransport transport,
        ILogger logger, IReplicationHost host)
    {
        _nodeId = options.NodeId;
        _voters = options.Voters;
        _majority = majority;
        _options = options;
        _log = log;
        _snapshots = snapshots;
        _transport = transport;
        _logger = logger;
        _host = host;
        _heartbeatMs = (long)options.HeartbeatInterval.TotalMilliseconds;
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

    /// <summary>Sends every follower whose last send is answered (or timed out) what it needs next.</summary>
    public void ReplicateToIdleFollowers(long now)
    {
        foreach (var (peerId, follower) in Followers)
        {
            if (now >= follower.InFlightUntil)
            {
                SendAppend(peerId, follower, now);
            }
        }
    }

    /// <summary>Heartbeats: every follower whose send interval passed gets an append (or the next snapshot chunk).</summary>
    public void SendDueHeartbeats(long now)
    {
        foreach (var (peerId, follower) in Followers)
        {
            if (now >= follower.NextSendAt)
            {
                SendAppend(peerId, follower, now);
            }
        }
    }

    /// <summary>Commits what a majority holds, if it is of the leader's own epoch (Raft §5.4.2).</summary>
    public void AdvanceCommit()
    {
        long majorityIndex = MajorityMatchIndex(_log.LastIndex);
        if (majorityIndex > _host.CommitIndex && _log.TermAt(majorityIndex) == _host.Epoch)
        {
            _host.AdvanceCommitIndex(majorityIndex);
            ReplicateToIdleFollowers(_host.NowMs());
        }
    }

    public void OnAppendResponse(AppendResponse response, long now)
    {
        if (!Followers.TryGetValue(response.From, out var follower))
        {
            return;
        }

        follower.LastHeardAt = now;
        follower.InFlightUntil = 0;
        if (response.Success)
        {
            follower.MatchIndex = Math.Max(follower.MatchIndex, response.Index);
            follower.NextIndex = Math.Max(follower.NextIndex, follower.MatchIndex + 1);
            AdvanceCommit();
        }
        else
        {
            // Below the log start the next send is the snapshot (SendAppend decides).
            follower.NextIndex = Math.Clamp(response.Index, follower.MatchIndex + 1, _log.LastIndex + 1);
        }

        if (Resigning && !TimeoutNowSent && response.From == HandOverTarget && follower.MatchIndex == _log.LastIndex)
        {
            SendTimeoutNow();
        }

        if (follower.NextIndex <= _log.LastIndex || follower.AcknowledgedCommit < _host.CommitIndex)
        {
            SendAppend(response.From, follower, now);
        }
    }

    public void OnInstallSnapshotResponse(InstallSnapshotResponse response, long now)
    {
        if (!Followers.TryGetValue(response.From, out var follower))
        {
            return;
        }

        follower.LastHeardAt = now;
        follower.InFlightUntil = 0;
        if (response.LastIndex != follower.SnapshotLastIndex)
        {
            return; // an answer about a snapshot we no longer send; the next heartbeat sends the current one
        }

        if (response.NextPosition >= follower.SnapshotTotalBytes)
        {
            // Installed (or not needed): continue with the entries after it.
            follower.SnapshotLastIndex = -1;
            follower.SnapshotPosition = 0;
            follower.MatchIndex = Math.Max(follower.MatchIndex, response.LastIndex);
            follower.NextIndex = Math.Max(follower.NextIndex, response.LastIndex + 1);
            AdvanceCommit();
        }
        else
        {
            follower.SnapshotPosition = Math.Max(0, response.NextPosition);
        }

        SendAppend(response.From, follower, now);
    }

    /// <summary>Sends a follower what it needs next: entries from its next index, or a snapshot chunk when its next index
    /// lies below the log start. Doubles as the heartbeat.</summary>
    public void SendAppend(int peerId, FollowerProgress follower, long now)
    {
        if (follower.NextIndex < _log.StartIndex)
        {
            SendSnapshotChunk(peerId, follower, now);
            return;
        }

        long prevIndex = follower.NextIndex - 1;
        var entries = _log.EntriesFrom(follower.NextIndex, _options.MaxEntriesPerAppend);
        long bytes = 0;
        int keep = 0;
        int maxBytes = QuorumTransport.MaxAppendBytes(_options);
        while (keep < entries.Count && (keep == 0 || bytes + entries[keep].Payload.Length <= maxBytes))
        {
            bytes += entries[keep].Payload.Length;
            keep++;
        }

        if (keep < entries.Count)
        {
            entries.RemoveRange(keep, entries.Count - keep);
        }

        long commitIndex = _host.CommitIndex;
        _transport.Send(new AppendRequest(_nodeId, peerId, _host.Epoch, prevIndex, _log.TermAt(prevIndex), commitIndex, entries));
        follower.NextSendAt = now + _heartbeatMs;
        follower.AcknowledgedCommit = commitIndex;
        follower.InFlightUntil = entries.Count > 0 ? now + _heartbeatMs : 0;
    }

    /// <summary>Raft thesis §3.10: tells the hand-over target to start an election at once.</summary>
    public void SendTimeoutNow()
    {
        TimeoutNowSent = true;
        _transport.Send(new TimeoutNowRequest(_nodeId, HandOverTarget, _host.Epoch));
    }

    private void SendSnapshotChunk(int peerId, FollowerProgress follower, long now)
    {
        var snapshot = _snapshots.Latest!;
        if (follower.SnapshotLastIndex != snapshot.LastIndex)
        {
            _logger.QuorumSnapshotSending(_nodeId, snapshot.LastOffset, peerId, follower.NextIndex - 1);
            follower.SnapshotLastIndex = snapshot.LastIndex;
            follower.SnapshotTotalBytes = snapshot.Data.Length;
            follower.SnapshotPosition = 0;
        }

        int position = Math.Min(follower.SnapshotPosition, snapshot.Data.Length);
        int length = Math.Min(_options.SnapshotChunkBytes, snapshot.Data.Length - position);
        _transport.Send(new InstallSnapshotRequest(_nodeId, peerId, _host.Epoch, snapshot.LastIndex, snapshot.LastTerm, snapshot.Data.Length,
            position, snapshot.Data.AsSpan(position, length).ToArray()));
        follower.NextSendAt = now + _heartbeatMs;
        follower.InFlightUntil = now + _heartbeatMs;
    }
}
