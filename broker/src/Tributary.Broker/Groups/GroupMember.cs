namespace Tributary.Broker.Groups;

/// <summary>A protocol (assignor) a member supports, with the member's subscription metadata for it.</summary>
public sealed record MemberProtocol(string Name, byte[] Metadata);

/// <summary>One member of a classic group. Mutated only under its group's lock.</summary>
internal sealed class GroupMember
{
    public GroupMember(string memberId, string? groupInstanceId, string clientId, string clientHost, int rebalanceTimeoutMs,
        int sessionTimeoutMs, string protocolType, IReadOnlyList<MemberProtocol> protocols)
    {
        MemberId = memberId;
        GroupInstanceId = groupInstanceId;
        ClientId = clientId;
        ClientHost = clientHost;
        RebalanceTimeoutMs = rebalanceTimeoutMs;
        SessionTimeoutMs = sessionTimeoutMs;
        ProtocolType = protocolType;
        Protocols = protocols;
    }

    public string MemberId { get; set; }
    public string? GroupInstanceId { get; }
    public string ClientId { get; set; }
    public string ClientHost { get; set; }
    public int RebalanceTimeoutMs { get; set; }
    public int SessionTimeoutMs { get; set; }
    public string ProtocolType { get; }
    public IReadOnlyList<MemberProtocol> Protocols { get; set; }
    public byte[] Assignment { get; set; } = [];

    /// <summary>Set while the member's JoinGroup waits for the rebalance to complete.</summary>
    public TaskCompletionSource<JoinGroupResult>? AwaitingJoin { get; set; }

    /// <summary>Set while the member's SyncGroup waits for the leader's assignment.</summary>
    public TaskCompletionSource<SyncGroupResult>? AwaitingSync { get; set; }

    /// <summary>When the member is considered dead without a heartbeat (or join/sync call).</summary>
    public long SessionDeadlineMs { get; set; }

    public bool IsStatic => GroupInstanceId is not null;

    public byte[] MetadataFor(string? protocol) =>
        Protocols.FirstOrDefault(p => p.Name == protocol)?.Metadata ?? [];

    /// <summary>Kafka's "matches": same protocols in the same order with the same metadata bytes.</summary>
    public bool Matches(IReadOnlyList<MemberProtocol> protocols) =>
        protocols.Count == Protocols.Count
        && protocols.Zip(Protocols).All(p => p.First.Name == p.Second.Name && p.First.Metadata.AsSpan().SequenceEqual(p.Second.Metadata));
}
