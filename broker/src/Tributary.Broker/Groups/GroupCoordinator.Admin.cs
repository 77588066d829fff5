using Tributary.Protocol;

namespace Tributary.Broker.Groups;

// Admin views: ListGroups, DescribeGroups, DeleteGroups.
public sealed partial class GroupCoordinator
{
    /// <summary>Every group, optionally only those in <paramref name="states"/> (ListGroups v4+).</summary>
    /// <remarks>Like Kafka, while any led partition is still loading the answer carries COORDINATOR_LOAD_IN_PROGRESS
    /// along with the groups already loaded.</remarks>
    public (ErrorCode Error, IReadOnlyList<GroupListing> Groups) ListGroups(IReadOnlyCollection<GroupState>? states)
    {
        var error = _owned.Values.Any(o => !o.Loaded) ? ErrorCode.CoordinatorLoadInProgress : ErrorCode.None;
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

        return (error, result.OrderBy(g => g.GroupId, StringComparer.Ordinal).ToList());
    }

    /// <summary>
    /// A group's state and members. Like Kafka, member metadata and assignment are only shown when Stable, and an
    /// unknown group is described as Dead without an error.
    /// </summary>
    public GroupDescription DescribeGroup(string groupId)
    {
        if (!IsValidGroupId(groupId))
        {
            return new(ErrorCode.InvalidGroupId, groupId, GroupState.Dead, "", "", []);
        }

        var group = GetOrCreateGroup(groupId, create: false, out var error);
        if (error != ErrorCode.None)
        {
            return new(error, groupId, GroupState.Dead, "", "", []);
        }

        if (group is null)
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

    /// <summary>
    /// Deletes empty groups and their offsets (tombstones in <c>__consumer_offsets</c>); one error per group, answered
    /// once the tombstones are replicated. Like Kafka, a deleted group is gone from memory as soon as its tombstones are
    /// appended.
    /// </summary>
    public async Task<IReadOnlyList<ErrorCode>> DeleteGroupsAsync(IReadOnlyList<string> groupIds)
    {
        var writes = new List<(ErrorCode Error, Task<ErrorCode>? Replicated)>(groupIds.Count);
        foreach (var groupId in groupIds)
        {
            writes.Add(DeleteGroup(groupId));
        }

        var result = new List<ErrorCode>(groupIds.Count);
        foreach (var (error, replicated) in writes)
        {
            result.Add(replicated is null ? error : await replicated.ConfigureAwait(false));
        }

        return result;
    }

    private (ErrorCode Error, Task<ErrorCode>? Replicated) DeleteGroup(string groupId)
    {
        if (!IsValidGroupId(groupId))
        {
            return (ErrorCode.InvalidGroupId, null);
        }

        var group = GetOrCreateGroup(groupId, create: false, out var ownership);
        if (ownership != ErrorCode.None)
        {
            return (ownership, null);
        }

        if (group is null)
        {
            return (ErrorCode.GroupIdNotFound, null);
        }

        lock (group)
        {
            if (group.State == GroupState.Dead)
            {
                return (ErrorCode.GroupIdNotFound, null);
            }

            if (group.State != GroupState.Empty || group.HasMembers)
            {
                return (ErrorCode.NonEmptyGroup, null);
            }

            var now = NowMs;
            var records = group.Offsets.Keys
                .Select(k => new GroupRecord(OffsetsTopicRecords.OffsetCommitKeyBytes(groupId, k.Topic, k.Partition), null))
                .Append(new GroupRecord(OffsetsTopicRecords.GroupMetadataKeyBytes(groupId), null))
                .ToList();
            var write = Write(group, records, now);
            if (!write.Appended)
            {
                return (write.Done.Result, null);
            }

            group.Offsets.Clear();
            group.PendingMembers.Clear();
            group.TransitionTo(GroupState.Dead, now);
            _groups.TryRemove(new KeyValuePair<string, ClassicGroup>(groupId, group));
            LogGroupDeleted(_logger, groupId, "DeleteGroups");
            return (ErrorCode.None, write.Done);
        }
    }
}
