namespace Tributary.Clients.Groups;

/// <summary>One protocol a member supports, with the metadata the group leader sees for it (JoinGroup protocols).</summary>
public sealed record GroupProtocol(string Name, byte[] Metadata);

/// <summary>A member of the group as the leader sees it in the JoinGroup response.</summary>
public sealed record GroupMemberInfo(string MemberId, string? GroupInstanceId, byte[] Metadata);

/// <summary>What a member got from SyncGroup: its assignment bytes in a generation.</summary>
public sealed record GroupAssignment(int GenerationId, string MemberId, string LeaderId, string ProtocolName, byte[] Assignment)
{
    public bool IsLeader => MemberId == LeaderId;
}

/// <summary>Settings of a <see cref="GroupMember"/>; protocol type and timeouts are the group's, as in Kafka's JoinGroup.</summary>
public sealed record GroupMemberOptions
{
    public required string BootstrapServers { get; init; }
    public required string GroupId { get; init; }

    /// <summary>JoinGroup protocol type ("consumer", "connect", "sr", …); all members of a group must agree.</summary>
    public required string ProtocolType { get; init; }

    public string ClientId { get; init; } = "tributary-client";
    public string? GroupInstanceId { get; init; }
    public TimeSpan SessionTimeout { get; init; } = TimeSpan.FromSeconds(10);
    public TimeSpan RebalanceTimeout { get; init; } = TimeSpan.FromSeconds(30);
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Pause before retrying after a coordinator or connection error.</summary>
    public TimeSpan RetryBackoff { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// True (eager, the default): every rebalance revokes the whole assignment before the member rejoins. False
    /// (incremental cooperative, as Connect's protocol): the member keeps its assignment across rebalances and connection
    /// errors, the assignments themselves say what to give up, and the handler hears of a revocation only when the
    /// membership is lost (unknown member id, illegal generation, fenced) or the member leaves.
    /// </summary>
    public bool RevokeOnRebalance { get; init; } = true;
}

/// <summary>The member's side of the group protocol: what it offers, how the leader assigns, what it does with the
/// result. Called from the member's single loop, never concurrently.</summary>
public interface IGroupMembershipHandler
{
    /// <summary>The protocols this member supports, most preferred first (asked before every JoinGroup).</summary>
    IReadOnlyList<GroupProtocol> Protocols();

    /// <summary>Run on the leader only, before <see cref="Assign"/>: catch up with what the assignment is computed from
    /// (Connect's leader reads its config topic to the end). Throwing starts the round over.</summary>
    Task PrepareAssignAsync(string protocolName, IReadOnlyList<GroupMemberInfo> members, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Run on the leader only: assignment bytes for each member id of the generation.</summary>
    IReadOnlyDictionary<string, byte[]> Assign(string protocolName, IReadOnlyList<GroupMemberInfo> members);

    /// <summary>A generation completed; <paramref name="assignment"/> is this member's part.</summary>
    Task OnAssignedAsync(GroupAssignment assignment, CancellationToken cancellationToken);

    /// <summary>The previous assignment no longer holds (rebalance, lost membership, leaving).</summary>
    Task OnRevokedAsync(CancellationToken cancellationToken);
}
