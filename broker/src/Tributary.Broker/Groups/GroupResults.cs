using Tributary.Protocol;

namespace Tributary.Broker.Groups;

/// <summary>A JoinGroup call, independent of the request version.</summary>
public sealed record JoinGroupCall(string GroupId, string MemberId, string? GroupInstanceId, string ProtocolType,
    IReadOnlyList<MemberProtocol> Protocols, int SessionTimeoutMs, int RebalanceTimeoutMs, string ClientId, string ClientHost,
    bool RequireKnownMemberId);

/// <summary>A member as the leader sees it in the JoinGroup response.</summary>
public sealed record JoinedMember(string MemberId, string? GroupInstanceId, byte[] Metadata);

/// <summary>What JoinGroup answers.</summary>
public sealed record JoinGroupResult(ErrorCode Error, int GenerationId, string? ProtocolType, string? ProtocolName, string Leader,
    string MemberId, IReadOnlyList<JoinedMember> Members, bool SkipAssignment = false)
{
    public static JoinGroupResult Failed(ErrorCode error, string memberId = "") => new(error, -1, null, null, "", memberId, []);
}

/// <summary>A SyncGroup call, independent of the request version.</summary>
public sealed record SyncGroupCall(string GroupId, int GenerationId, string MemberId, string? GroupInstanceId, string? ProtocolType,
    string? ProtocolName, IReadOnlyDictionary<string, byte[]> Assignments);

/// <summary>What SyncGroup answers.</summary>
public sealed record SyncGroupResult(ErrorCode Error, string? ProtocolType, string? ProtocolName, byte[] Assignment)
{
    public static SyncGroupResult Failed(ErrorCode error) => new(error, null, null, []);
}

/// <summary>A member named by LeaveGroup (v3+ batches them; older versions name one dynamic member).</summary>
public sealed record LeavingMember(string MemberId, string? GroupInstanceId);

/// <summary>A partition's commit in OffsetCommit.</summary>
public sealed record OffsetCommitEntry(string Topic, int Partition, long Offset, int LeaderEpoch, string? Metadata);

/// <summary>An OffsetCommit call (also TxnOffsetCommit later), independent of the request version.</summary>
public sealed record OffsetCommitCall(string GroupId, int GenerationId, string MemberId, string? GroupInstanceId,
    IReadOnlyList<OffsetCommitEntry> Offsets, ErrorCode MissingGroupError = ErrorCode.IllegalGeneration);

/// <summary>A partition's committed offset as OffsetFetch answers it; Offset -1 when nothing is committed.</summary>
public sealed record FetchedOffset(string Topic, int Partition, long Offset, int LeaderEpoch, string Metadata, ErrorCode Error);

/// <summary>A group as ListGroups shows it.</summary>
public sealed record GroupListing(string GroupId, string ProtocolType, GroupState State);

/// <summary>A member as DescribeGroups shows it: metadata and assignment bytes exactly as the clients sent them.</summary>
public sealed record DescribedMember(string MemberId, string? GroupInstanceId, string ClientId, string ClientHost, byte[] Metadata,
    byte[] Assignment);

/// <summary>A group as DescribeGroups shows it.</summary>
public sealed record GroupDescription(ErrorCode Error, string GroupId, GroupState State, string ProtocolType, string Protocol,
    IReadOnlyList<DescribedMember> Members);
