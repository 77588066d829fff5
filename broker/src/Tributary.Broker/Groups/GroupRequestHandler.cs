using Tributary.Broker.Requests;
using Tributary.Protocol;
using Tributary.Protocol.Messages;

namespace Tributary.Broker.Groups;

/// <summary>
/// Translates the 11 group APIs (FindCoordinator, JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetCommit,
/// OffsetFetch, ListGroups, DescribeGroups, DeleteGroups, OffsetDelete) between their wire versions and the
/// <see cref="GroupCoordinator"/>.
/// </summary>
public sealed class GroupRequestHandler(BrokerContext broker)
{
    private const sbyte GroupKeyType = 0;
    private const sbyte TransactionKeyType = 1;
    private const sbyte ShareKeyType = 2;

    /// <summary>How long FindCoordinator waits for <c>__consumer_offsets</c> to be created before answering COORDINATOR_NOT_AVAILABLE.</summary>
    private static readonly TimeSpan CreateWait = TimeSpan.FromSeconds(5);

    private GroupCoordinator Coordinator => broker.Groups;

    /// <summary>KIP-848's name for the only group type we hold (ListGroups v5+).</summary>
    private const string ClassicGroupType = "classic";

    public async ValueTask<IResponseMessage?> HandleAsync(RequestContext context, FindCoordinatorRequest request, CancellationToken cancellation)
    {
        var response = new FindCoordinatorResponse();
        if (context.ApiVersion >= 4)
        {
            foreach (var key in request.CoordinatorKeys)
            {
                var (error, message, node) = await FindCoordinatorAsync(request.KeyType, key, context.ApiVersion, cancellation).ConfigureAwait(false);
                response.Coordinators.Add(new FindCoordinatorResponse.Coordinator
                {
                    Key = key,
                    NodeId = node?.NodeId ?? -1,
                    Host = node?.Host ?? "",
                    Port = node?.Port ?? -1,
                    ErrorCode = (short)error,
                    ErrorMessage = message,
                });
            }

            return response;
        }

        var (singleError, singleMessage, singleNode) = await FindCoordinatorAsync(request.KeyType, request.Key, context.ApiVersion, cancellation).ConfigureAwait(false);
        response.ErrorCode = (short)singleError;
        response.ErrorMessage = singleMessage;
        response.NodeId = singleNode?.NodeId ?? -1;
        response.Host = singleNode?.Host ?? "";
        response.Port = singleNode?.Port ?? -1;
        return response;
    }

    /// <summary>
    /// The coordinator of a group is the leader of its <c>__consumer_offsets</c> partition, wherever that is; the topic is
    /// created on first use. COORDINATOR_NOT_AVAILABLE (retried by clients) while it can't be created or has no leader.
    /// </summary>
    private async Task<(ErrorCode Error, string? Message, BrokerRegistration? Node)> FindCoordinatorAsync(sbyte keyType, string key,
        short version, CancellationToken cancellation)
    {
        if (keyType == ShareKeyType && version >= 6)
        {
            // v6 (KIP-932) names share-group coordinators; like Kafka 3.9, which runs none, there is none to find.
            return (ErrorCode.CoordinatorNotAvailable, "Share groups are not supported by this broker (no share coordinator).", null);
        }

        if (keyType == TransactionKeyType)
        {
            return await Transactions.TransactionCoordinatorLookup.FindAsync(broker, key, cancellation).ConfigureAwait(false);
        }

        if (keyType != GroupKeyType)
        {
            return (ErrorCode.InvalidRequest, $"Unknown coordinator key type {keyType}.", null);
        }

        if (string.IsNullOrEmpty(key))
        {
            return (ErrorCode.InvalidRequest, "The group id must not be empty.", null);
        }

        if (!broker.Image.Topics.ContainsKey(OffsetsTopic.Name))
        {
            // Wait a bounded time for the creation; it goes on in the background and a retry joins it.
            using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
            bounded.CancelAfter(CreateWait);
            var created = await Coordinator.EnsureOffsetsTopicAsync(bounded.Token).ConfigureAwait(false);
            if (created != ErrorCode.None)
            {
                return (ErrorCode.CoordinatorNotAvailable, "The coordinator is not available.", null);
            }
        }

        var image = broker.Image;
        var partition = Coordinator.PartitionFor(key);
        var leader = image.Topics.TryGetValue(OffsetsTopic.Name, out var topic) && partition < topic.Partitions.Length
            ? topic.Partitions[partition].Leader
            : -1;
        if (leader < 0 || !image.Brokers.TryGetValue(leader, out var node))
        {
            return (ErrorCode.CoordinatorNotAvailable, "The coordinator is not available.", null);
        }

        return (ErrorCode.None, null, node);
    }

    public async ValueTask<IResponseMessage?> HandleAsync(RequestContext context, JoinGroupRequest request)
    {
        var version = context.ApiVersion;
        var call = new JoinGroupCall(
            request.GroupId,
            request.MemberId,
            version >= 5 ? request.GroupInstanceId : null,
            request.ProtocolType,
            request.Protocols.Select(p => new MemberProtocol(p.Name, p.Metadata)).ToList(),
            request.SessionTimeoutMs,
            version >= 1 ? request.RebalanceTimeoutMs : request.SessionTimeoutMs,
            context.ClientId ?? "",
            ClientHost(context.Session.Remote),
            RequireKnownMemberId: version >= 4);
        var result = await Coordinator.JoinGroupAsync(call).ConfigureAwait(false);
        var response = new JoinGroupResponse
        {
            ErrorCode = (short)result.Error,
            GenerationId = result.GenerationId,
            ProtocolType = result.ProtocolType,
            ProtocolName = result.ProtocolName ?? (version >= 7 ? null : ""),
            Leader = result.Leader,
            SkipAssignment = version >= 9 && result.SkipAssignment,
            MemberId = result.MemberId,
        };

        // Before KIP-814 (v9) a static leader can't be told to skip the assignment; it assigns again and the Stable
        // group answers its SyncGroup with the stored assignment, so the members list is harmless.
        foreach (var member in result.Members)
        {
            response.Members.Add(new JoinGroupResponse.JoinGroupResponseMember
            {
                MemberId = member.MemberId,
                GroupInstanceId = member.GroupInstanceId,
                Metadata = member.Metadata,
            });
        }

        return response;
    }

    public async ValueTask<IResponseMessage?> HandleAsync(RequestContext context, SyncGroupRequest request)
    {
        var version = context.ApiVersion;
        var assignments = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var assignment in request.Assignments)
        {
            assignments[assignment.MemberId] = assignment.Assignment;
        }

        var call = new SyncGroupCall(request.GroupId, request.GenerationId, request.MemberId,
            version >= 3 ? request.GroupInstanceId : null,
            version >= 5 ? request.ProtocolType : null,
            version >= 5 ? request.ProtocolName : null,
            assignments);
        var result = await Coordinator.SyncGroupAsync(call).ConfigureAwait(false);
        return new SyncGroupResponse
        {
            ErrorCode = (short)result.Error,
            ProtocolType = result.ProtocolType,
            ProtocolName = result.ProtocolName,
            Assignment = result.Assignment,
        };
    }

    public HeartbeatResponse Handle(RequestContext context, HeartbeatRequest request) => new()
    {
        ErrorCode = (short)Coordinator.Heartbeat(request.GroupId, request.MemberId,
            context.ApiVersion >= 3 ? request.GroupInstanceId : null, request.GenerationId),
    };

    public LeaveGroupResponse Handle(RequestContext context, LeaveGroupRequest request)
    {
        if (context.ApiVersion < 3)
        {
            var (error, memberErrors) = Coordinator.LeaveGroup(request.GroupId, [new LeavingMember(request.MemberId, null)]);
            return new LeaveGroupResponse { ErrorCode = (short)(error != ErrorCode.None ? error : memberErrors[0]) };
        }

        var leaving = request.Members.Select(m => new LeavingMember(m.MemberId, m.GroupInstanceId)).ToList();
        var (topError, errors) = Coordinator.LeaveGroup(request.GroupId, leaving);
        var response = new LeaveGroupResponse { ErrorCode = (short)topError };
        if (topError == ErrorCode.None)
        {
            for (int i = 0; i < leaving.Count; i++)
            {
                response.Members.Add(new LeaveGroupResponse.MemberResponse
                {
                    MemberId = leaving[i].MemberId,
                    GroupInstanceId = leaving[i].GroupInstanceId,
                    ErrorCode = (short)errors[i],
                });
            }
        }

        return response;
    }

    public async ValueTask<IResponseMessage?> HandleAsync(RequestContext context, OffsetCommitRequest request)
    {
        var version = context.ApiVersion;
        var response = new OffsetCommitResponse();
        var entries = new List<OffsetCommitEntry>();
        var slots = new List<(OffsetCommitResponse.OffsetCommitResponsePartition Partition, int Entry)>();
        foreach (var topic in request.Topics)
        {
            var topicResponse = new OffsetCommitResponse.OffsetCommitResponseTopic { Name = topic.Name };
            response.Topics.Add(topicResponse);
            broker.Image.Topics.TryGetValue(topic.Name, out var image);
            foreach (var partition in topic.Partitions)
            {
                var partitionResponse = new OffsetCommitResponse.OffsetCommitResponsePartition { PartitionIndex = partition.PartitionIndex };
                topicResponse.Partitions.Add(partitionResponse);
                if (image is null || partition.PartitionIndex < 0 || partition.PartitionIndex >= image.Partitions.Length)
                {
                    partitionResponse.ErrorCode = (short)ErrorCode.UnknownTopicOrPartition;
                    continue;
                }

                slots.Add((partitionResponse, entries.Count));
                entries.Add(new OffsetCommitEntry(topic.Name, partition.PartitionIndex, partition.CommittedOffset,
                    version >= 6 ? partition.CommittedLeaderEpoch : -1, partition.CommittedMetadata));
            }
        }

        if (entries.Count > 0)
        {
            // v0 has no generation or member: it is always a "simple" commit.
            var call = new OffsetCommitCall(request.GroupId, version >= 1 ? request.GenerationIdOrMemberEpoch : -1,
                version >= 1 ? request.MemberId : "", version >= 7 ? request.GroupInstanceId : null, entries,
                // v9 (KIP-848): a commit naming a generation for a group that does not exist is GROUP_ID_NOT_FOUND, as
                // Kafka 3.9 answers from v9 on; older versions keep ILLEGAL_GENERATION.
                version >= 9 ? ErrorCode.GroupIdNotFound : ErrorCode.IllegalGeneration);
            var errors = await Coordinator.CommitOffsetsAsync(call).ConfigureAwait(false);
            foreach (var (partition, entry) in slots)
            {
                partition.ErrorCode = (short)errors[entry];
            }

        }

        return response;
    }

    public OffsetFetchResponse Handle(RequestContext context, OffsetFetchRequest request)
    {
        var version = context.ApiVersion;
        var response = new OffsetFetchResponse();
        if (version >= 8)
        {
            // v9's MemberId and MemberEpoch are checked only for KIP-848 consumer groups; Kafka ignores them for classic
            // groups, the only kind we hold, so v9 answers as v8.
            foreach (var group in request.Groups)
            {
                var partitions = group.Topics?.SelectMany(t => t.PartitionIndexes.Select(p => (t.Name, p))).ToList();
                var (error, offsets) = Coordinator.FetchOffsets(group.GroupId, partitions, request.RequireStable);
                var groupResponse = new OffsetFetchResponse.OffsetFetchResponseGroup { GroupId = group.GroupId, ErrorCode = (short)error };
                foreach (var byTopic in offsets.GroupBy(o => o.Topic))
                {
                    var topicResponse = new OffsetFetchResponse.OffsetFetchResponseTopics { Name = byTopic.Key };
                    foreach (var o in byTopic)
                    {
                        topicResponse.Partitions.Add(new OffsetFetchResponse.OffsetFetchResponsePartitions
                        {
                            PartitionIndex = o.Partition,
                            CommittedOffset = o.Offset,
                            CommittedLeaderEpoch = o.LeaderEpoch,
                            Metadata = o.Metadata,
                            ErrorCode = (short)o.Error,
                        });
                    }

                    groupResponse.Topics.Add(topicResponse);
                }

                response.Groups.Add(groupResponse);
            }

            return response;
        }

        // v0-1 have no "all partitions" form (Topics is not nullable there); v2+ accept null.
        var requested = request.Topics?.SelectMany(t => t.PartitionIndexes.Select(p => (t.Name, p))).ToList();
        var (fetchError, fetched) = Coordinator.FetchOffsets(request.GroupId, requested, version >= 7 && request.RequireStable);
        if (fetchError != ErrorCode.None && version >= 2)
        {
            response.ErrorCode = (short)fetchError;
            return response;
        }

        IEnumerable<FetchedOffset> rows = fetched;
        if (fetchError != ErrorCode.None)
        {
            // v0-1 carry errors per partition only.
            rows = (requested ?? []).Select(p => new FetchedOffset(p.Name, p.p, -1, -1, "", fetchError));
        }

        foreach (var byTopic in rows.GroupBy(o => o.Topic))
        {
            var topicResponse = new OffsetFetchResponse.OffsetFetchResponseTopic { Name = byTopic.Key };
            foreach (var o in byTopic)
            {
                topicResponse.Partitions.Add(new OffsetFetchResponse.OffsetFetchResponsePartition
                {
                    PartitionIndex = o.Partition,
                    CommittedOffset = o.Offset,
                    CommittedLeaderEpoch = o.LeaderEpoch,
                    Metadata = o.Metadata,
                    ErrorCode = (short)o.Error,
                });
            }

            response.Topics.Add(topicResponse);
        }

        return response;
    }

    public ListGroupsResponse Handle(RequestContext context, ListGroupsRequest request)
    {
        // v5+ (KIP-848): every group this coordinator holds is a classic group, so a types filter either names
        // "classic" (any case, as Kafka parses it) and filters nothing, or matches none of ours.
        if (context.ApiVersion >= 5 && request.TypesFilter.Count > 0
            && !request.TypesFilter.Any(t => string.Equals(t?.Trim(), ClassicGroupType, StringComparison.OrdinalIgnoreCase)))
        {
            return new ListGroupsResponse();
        }

        List<GroupState>? states = null;
        if (context.ApiVersion >= 4 && request.StatesFilter.Count > 0)
        {
            states = [];
            foreach (var name in request.StatesFilter)
            {
                // An unknown state name matches no group (Kafka ignores it rather than failing the request).
                if (GroupStateNames.Parse(name) is { } state)
                {
                    states.Add(state);
                }
            }

            if (states.Count == 0)
            {
                return new ListGroupsResponse();
            }
        }

        var (error, groups) = Coordinator.ListGroups(states);
        var response = new ListGroupsResponse { ErrorCode = (short)error };
        foreach (var group in groups)
        {
            response.Groups.Add(new ListGroupsResponse.ListedGroup
            {
                GroupId = group.GroupId,
                ProtocolType = group.ProtocolType,
                GroupState = group.State.Name(),
                GroupType = ClassicGroupType,
            });
        }

        return response;
    }

    public DescribeGroupsResponse Handle(RequestContext context, DescribeGroupsRequest request)
    {
        var response = new DescribeGroupsResponse();
        foreach (var groupId in request.Groups)
        {
            var description = Coordinator.DescribeGroup(groupId);
            var described = new DescribeGroupsResponse.DescribedGroup
            {
                ErrorCode = (short)description.Error,
                GroupId = groupId,
                GroupState = description.State.Name(),
                ProtocolType = description.ProtocolType,
                ProtocolData = description.Protocol,
            };
            if (context.ApiVersion >= 3 && request.IncludeAuthorizedOperations && description.Error == ErrorCode.None)
            {
                described.AuthorizedOperations = broker.Authorization.AuthorizedOperations(Security.AclResourceType.Group, groupId);
            }

            foreach (var member in description.Members)
            {
                described.Members.Add(new DescribeGroupsResponse.DescribedGroupMember
                {
                    MemberId = member.MemberId,
                    GroupInstanceId = member.GroupInstanceId,
                    ClientId = member.ClientId,
                    ClientHost = member.ClientHost,
                    MemberMetadata = member.Metadata,
                    MemberAssignment = member.Assignment,
                });
            }

            response.Groups.Add(described);
        }

        return response;
    }

    public async ValueTask<IResponseMessage?> HandleAsync(RequestContext context, DeleteGroupsRequest request)
    {
        var errors = await Coordinator.DeleteGroupsAsync(request.GroupsNames).ConfigureAwait(false);
        var response = new DeleteGroupsResponse();
        for (int i = 0; i < request.GroupsNames.Count; i++)
        {
            response.Results.Add(new DeleteGroupsResponse.DeletableGroupResult { GroupId = request.GroupsNames[i], ErrorCode = (short)errors[i] });
        }

        return response;
    }

    public async ValueTask<IResponseMessage?> HandleAsync(RequestContext context, OffsetDeleteRequest request)
    {
        var partitions = request.Topics.SelectMany(t => t.Partitions.Select(p => (t.Name, p.PartitionIndex))).ToList();
        var (error, errors) = await Coordinator.DeleteOffsetsAsync(request.GroupId, partitions).ConfigureAwait(false);
        var response = new OffsetDeleteResponse { ErrorCode = (short)error };
        if (error != ErrorCode.None)
        {
            return response;
        }

        var index = 0;
        foreach (var topic in request.Topics)
        {
            var topicResponse = new OffsetDeleteResponse.OffsetDeleteResponseTopic { Name = topic.Name };
            foreach (var partition in topic.Partitions)
            {
                topicResponse.Partitions.Add(new OffsetDeleteResponse.OffsetDeleteResponsePartition
                {
                    PartitionIndex = partition.PartitionIndex,
                    ErrorCode = (short)errors[index++],
                });
            }

            response.Topics.Add(topicResponse);
        }

        return response;
    }

    /// <summary>Kafka reports the client's address as "/ip" (InetAddress.toString without a host name).</summary>
    internal static string ClientHost(string remote)
    {
        var host = remote;
        var colon = remote.LastIndexOf(':');
        if (colon > 0 && (remote[0] == '[' || remote.IndexOf(':') == colon))
        {
            host = remote[..colon].Trim('[', ']');
        }

        return "/" + host;
    }
}
