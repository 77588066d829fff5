using Tributary.Protocol;

namespace Tributary.Broker.Groups;

// Admin views: ListGroups, DescribeGroups, DeleteGroups.
public sealed partial class GroupCoordinator
{
    /// <summary>Every group, optionally only those in <paramref name="states"/> (ListGroups v4+).</summary>
    public (ErrorCode Error, IReadOnlyList<GroupListing> Groups) ListGroups(IReadOnlyCollection<GroupState>? states)
    {
        if (_loading)
        {
            return (ErrorCode.CoordinatorLoadInProgress, []);
        }

        var result = new List<GroupListing>();
        foreach (var group in _groups.Values)
        {
            lock (group)
            {
                if (group.State != GroupState.Dead && (states is null || states.Count == 0 || states.Contains(group.State)))
                {
                    result.Add(new GroupListing(group.GroupId, group.ProtocolType ?? "", group.State));
                }
            }
        }

        return (ErrorCode.None, result.OrderBy(g => g.GroupId, StringComparer.Ordinal).ToList());
    }

    /// <summary>
    /// A group's state and members. Like Kafka, member metadata and assignment are only shown when Stable, and an
    /// unknown group is described as Dead without an error.
    /// </summary>
    public GroupDescription DescribeGroup(string groupId)
    {
        if (_loading)
        {
            return new(ErrorCode.CoordinatorLoadInProgress, groupId, GroupState.Dead, "", "", []);
        }

        if (!IsValidGroupId(groupId))
        {
            return new(ErrorCode.InvalidGroupId, groupId, GroupState.Dead, "", "", []);
        }

        if (!_groups.TryGetValue(groupId, out var group))
        {
            return new(ErrorCode.None, groupId, GroupState.Dead, "", "", []);
        }

        lock (group)
        {
            var stable = group.State == GroupState.Stable;
            var members = group.Members.Values.Select(m => new DescribedMember(m.MemberId, m.GroupInstanceId, m.ClientId, m.ClientHost,
                stable ? m.MetadataFor(group.ProtocolName) : [], stable ? m.Assignment : [])).ToList();
            return new(ErrorCode.None, groupId, group.State, group.ProtocolType ?? "", stable ? group.ProtocolName ?? "" : "", members);
        }
    }

    /// <summary>Deletes empty groups and their offsets (tombstones in <c>__consumer_offsets</c>); one error per group.</summary>
    public IReadOnlyList<ErrorCode> DeleteGroups(IReadOnlyList<string> groupIds)
    {
        var result = new List<ErrorCode>(groupIds.Count);
        foreach (var groupId in groupIds)
        {
            result.Add(DeleteGroup(groupId));
        }

        return result;
    }

    private ErrorCode DeleteGroup(string groupId)
    {
        if (_loading)
        {
            return ErrorCode.CoordinatorLoadInProgress;
        }

        if (!IsValidGroupId(groupId))
        {
            return ErrorCode.InvalidGroupId;
        }

        if (!_groups.TryGetValue(groupId, out var group))
        {
            return ErrorCode.GroupIdNotFound;
        }

        lock (group)
        {
            if (group.State == GroupState.Dead)
            {
                return ErrorCode.GroupIdNotFound;
            }

            if (group.State != GroupState.Empty || group.HasMembers)
            {
                return ErrorCode.NonEmptyGroup;
            }

            var now = NowMs;
            var records = group.Offsets.Keys
                .Select(k => new GroupRecord(OffsetsTopicRecords.OffsetCommitKeyBytes(groupId, k.Topic, k.Partition), null))
                .Append(new GroupRecord(OffsetsTopicRecords.GroupMetadataKeyBytes(groupId), null))
                .ToList();
            var error = AppendForGroup(groupId, records, now);
            if (error != ErrorCode.None)
            {
                return error;
            }

            group.Offsets.Clear();
            group.PendingMembers.Clear();
            group.TransitionTo(GroupState.Dead, now);
            _groups.TryRemove(new KeyValuePair<string, ClassicGroup>(groupId, group));
            LogGroupDeleted(_logger, groupId, "DeleteGroups");
            return ErrorCode.None;
        }
    }
}
