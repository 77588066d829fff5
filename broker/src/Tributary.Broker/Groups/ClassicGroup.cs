namespace Tributary.Broker.Groups;

/// <summary>The state of one classic group. Every field is read and written under the object's own lock.</summary>
internal sealed class ClassicGroup
{
    public ClassicGroup(string groupId, int partition, long nowMs)
    {
        GroupId = groupId;
        Partition = partition;
        StateTimestampMs = nowMs;
    }

    public string GroupId { get; }

    /// <summary>The <c>__consumer_offsets</c> partition whose leader coordinates the group.</summary>
    public int Partition { get; }
    public GroupState State { get; private set; } = GroupState.Empty;

    /// <summary>When the group entered its state (Kafka's currentStateTimestamp; offsets of empty groups expire from it).</summary>
    public long StateTimestampMs { get; private set; }

    /// <summary>"consumer" for consumers, "connect" for Connect workers; null for offset-only groups that never joined.</summary>
    public string? ProtocolType { get; set; }

    public int Generation { get; set; }
    public string? ProtocolName { get; set; }
    public string? LeaderId { get; set; }

    /// <summary>Members in join order (the first remaining member becomes leader when the leader leaves).</summary>
    public Dictionary<string, GroupMember> Members { get; } = new(StringComparer.Ordinal);

    /// <summary>group.instance.id → current member id of static members (KIP-345).</summary>
    public Dictionary<string, string> StaticMembers { get; } = new(StringComparer.Ordinal);

    /// <summary>Member ids handed out with MEMBER_ID_REQUIRED (KIP-394) → deadline for their second join.</summary>
    public Dictionary<string, long> PendingMembers { get; } = new(StringComparer.Ordinal);

    /// <summary>Members that got their JoinGroup answer but haven't sent SyncGroup yet.</summary>
    public HashSet<string> PendingSync { get; } = new(StringComparer.Ordinal);

    /// <summary>Offsets whose write the in-sync replicas have (OffsetFetch shows only these).</summary>
    public Dictionary<(string Topic, int Partition), CommittedOffset> Offsets { get; } = new();

    /// <summary>
    /// Log position of the latest write applied per partition (a commit or a tombstone). A commit whose replication
    /// completes after a later write of the same partition was applied is stale and is not applied (Kafka's olderThan).
    /// </summary>
    public Dictionary<(string Topic, int Partition), long> OffsetWritePositions { get; } = new();

    /// <summary>Commits appended but not yet replicated, per partition; offset expiry leaves those partitions alone.</summary>
    public Dictionary<(string Topic, int Partition), int> PendingCommits { get; } = new();

    /// <summary>
    /// Transactional offset commits (TxnOffsetCommit) appended and waiting for their transaction's marker, per producer: a
    /// COMMIT marker makes them the group's offsets, an ABORT drops them (KIP-98/KIP-447). Invisible to OffsetFetch.
    /// </summary>
    public Dictionary<long, Dictionary<(string Topic, int Partition), PendingTxnOffset>> PendingTxnOffsets { get; } = new();

    /// <summary>Whether a transaction's offset for <paramref name="key"/> is pending (OffsetFetch require_stable answers UNSTABLE_OFFSET_COMMIT).</summary>
    public bool HasPendingTxnOffset((string Topic, int Partition) key)
    {
        foreach (var pending in PendingTxnOffsets.Values)
        {
            if (pending.ContainsKey(key))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>When the current join phase completes at the latest (PreparingRebalance).</summary>
    public long JoinDeadlineMs { get; set; }

    /// <summary>While true the join waits out group.initial.rebalance.delay.ms even if everyone joined.</summary>
    public bool InInitialDelay { get; set; }

    public bool NewMemberAddedDuringDelay { get; set; }

    /// <summary>Cap on the initial delay extensions (the rebalance timeout).</summary>
    public long InitialDelayLimitMs { get; set; }

    /// <summary>When members still in <see cref="PendingSync"/> are removed (CompletingRebalance/Stable).</summary>
    public long SyncDeadlineMs { get; set; } = long.MaxValue;

    public bool HasMembers => Members.Count > 0;

    public void TransitionTo(GroupState state, long nowMs)
    {
        State = state;
        StateTimestampMs = nowMs;
    }

    /// <summary>Restores a state read from <c>__consumer_offsets</c>.</summary>
    public void Restore(GroupState state, long stateTimestampMs)
    {
        State = state;
        StateTimestampMs = stateTimestampMs;
    }

    public int MaxRebalanceTimeoutMs => Members.Count == 0 ? 0 : Members.Values.Max(m => m.RebalanceTimeoutMs);

    /// <summary>Protocols every member supports.</summary>
    public HashSet<string> CandidateProtocols()
    {
        HashSet<string>? candidates = null;
        foreach (var member in Members.Values)
        {
            var names = member.Protocols.Select(p => p.Name);
            if (candidates is null)
            {
                candidates = new HashSet<string>(names, StringComparer.Ordinal);
            }
            else
            {
                candidates.IntersectWith(names);
            }
        }

        return candidates ?? new HashSet<string>(StringComparer.Ordinal);
    }

    /// <summary>
    /// Kafka's protocol selection: among the protocols all members support, each member votes for the first one of its
    /// own preference list; the most votes wins (ties go to the protocol voted for first).
    /// </summary>
    public string? SelectProtocol()
    {
        var candidates = CandidateProtocols();
        if (candidates.Count == 0)
        {
            return null;
        }

        var votes = new Dictionary<string, int>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var member in Members.Values)
        {
            var vote = member.Protocols.First(p => candidates.Contains(p.Name)).Name;
            if (!votes.TryAdd(vote, 1))
            {
                votes[vote]++;
            }
            else
            {
                order.Add(vote);
            }
        }

        return order.OrderByDescending(v => votes[v]).First();
    }

    /// <summary>Whether a joining member's protocol type and protocols fit the group (Kafka's supportsProtocols).</summary>
    public bool SupportsProtocols(string protocolType, IReadOnlyList<MemberProtocol> protocols)
    {
        if (protocolType.Length == 0 || protocols.Count == 0)
        {
            return false;
        }

        if (!HasMembers)
        {
            return true;
        }

        if (ProtocolType != protocolType)
        {
            return false;
        }

        var candidates = CandidateProtocols();
        return protocols.Any(p => candidates.Contains(p.Name));
    }

    /// <summary>
    /// Fencing check shared by SyncGroup, Heartbeat and OffsetCommit: a static member calling with a member id that is no
    /// longer the one registered for its group.instance.id is a zombie of an earlier incarnation.
    /// </summary>
    public bool IsStaticMemberFenced(string memberId, string? groupInstanceId) =>
        groupInstanceId is not null && StaticMembers.TryGetValue(groupInstanceId, out var current) && current != memberId;
}

/// <summary>A transactional offset commit waiting for its transaction's marker, with the log position of its write.</summary>
internal readonly record struct PendingTxnOffset(CommittedOffset Value, long Position);
