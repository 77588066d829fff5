using System.Text;
using Tributary.Protocol;

namespace Tributary.Broker.Groups;

// Offsets: OffsetCommit, OffsetFetch, OffsetDelete and offsets.retention.minutes expiry.
public sealed partial class GroupCoordinator
{
    /// <summary>Commits offsets; one error per entry, in request order. Returns once the records are durable.</summary>
    public IReadOnlyList<ErrorCode> CommitOffsets(OffsetCommitCall call)
    {
        if (_loading)
        {
            return Fill(call.Offsets.Count, ErrorCode.CoordinatorLoadInProgress);
        }

        if (!IsValidGroupId(call.GroupId))
        {
            return Fill(call.Offsets.Count, ErrorCode.InvalidGroupId);
        }

        while (true)
        {
            ClassicGroup? group;
            if (call.GenerationId < 0)
            {
                // A client that manages partitions itself ("simple consumer", e.g. assign() + commit) uses Kafka only
                // as an offset store: the group exists just to hold its offsets.
                group = _groups.GetOrAdd(call.GroupId, id => new ClassicGroup(id, NowMs));
            }
            else if (!_groups.TryGetValue(call.GroupId, out group))
            {
                return Fill(call.Offsets.Count, ErrorCode.IllegalGeneration);
            }

            lock (group)
            {
                if (group.State == GroupState.Dead)
                {
                    _groups.TryRemove(new KeyValuePair<string, ClassicGroup>(call.GroupId, group));
                    continue;
                }

                var error = CheckCommitAllowed(group, call);
                if (error != ErrorCode.None)
                {
                    return Fill(call.Offsets.Count, error);
                }

                return CommitLocked(group, call, NowMs);
            }
        }
    }

    private static ErrorCode CheckCommitAllowed(ClassicGroup group, OffsetCommitCall call)
    {
        if (call.GenerationId < 0 && group.State == GroupState.Empty)
        {
            return ErrorCode.None;
        }

        if (group.IsStaticMemberFenced(call.MemberId, call.GroupInstanceId))
        {
            return ErrorCode.FencedInstanceId;
        }

        if (!group.Members.ContainsKey(call.MemberId))
        {
            return ErrorCode.UnknownMemberId;
        }

        if (call.GenerationId != group.Generation)
        {
            return ErrorCode.IllegalGeneration;
        }

        // Between JoinGroup and SyncGroup the member doesn't know its new assignment yet; Kafka refuses the commit.
        return group.State == GroupState.CompletingRebalance ? ErrorCode.RebalanceInProgress : ErrorCode.None;
    }

    private List<ErrorCode> CommitLocked(ClassicGroup group, OffsetCommitCall call, long now)
    {
        var errors = new List<ErrorCode>(call.Offsets.Count);
        var records = new List<GroupRecord>(call.Offsets.Count);
        var accepted = new List<(OffsetCommitEntry Entry, CommittedOffset Value)>(call.Offsets.Count);
        foreach (var entry in call.Offsets)
        {
            var metadata = entry.Metadata ?? "";
            if (Encoding.UTF8.GetByteCount(metadata) > _options.OffsetMetadataMaxBytes)
            {
                errors.Add(ErrorCode.OffsetMetadataTooLarge);
                continue;
            }

            var value = new CommittedOffset(entry.Offset, entry.LeaderEpoch, metadata, now);
            records.Add(new GroupRecord(OffsetsTopicRecords.OffsetCommitKeyBytes(group.GroupId, entry.Topic, entry.Partition),
                OffsetsTopicRecords.OffsetCommitValueBytes(value)));
            accepted.Add((entry, value));
            errors.Add(ErrorCode.None);
        }

        if (records.Count > 0)
        {
            var error = AppendForGroup(group.GroupId, records, now);
            if (error != ErrorCode.None)
            {
                for (int i = 0; i < errors.Count; i++)
                {
                    if (errors[i] == ErrorCode.None)
                    {
                        errors[i] = error;
                    }
                }

                return errors;
            }

            foreach (var (entry, value) in accepted)
            {
                group.Offsets[(entry.Topic, entry.Partition)] = value;
            }
        }

        if (group.Members.TryGetValue(call.MemberId, out var member))
        {
            member.SessionDeadlineMs = now + member.SessionTimeoutMs;
        }

        return errors;
    }

    /// <summary>
    /// Committed offsets of a group: the named partitions (offset -1 where none is committed) or, with
    /// <paramref name="partitions"/> null, every committed one. Without transactions nothing is ever pending, so
    /// RequireStable (v7+) is answered at once.
    /// </summary>
    public (ErrorCode Error, IReadOnlyList<FetchedOffset> Offsets) FetchOffsets(string groupId, IReadOnlyList<(string Topic, int Partition)>? partitions)
    {
        if (_loading)
        {
            return (ErrorCode.CoordinatorLoadInProgress, []);
        }

        if (!IsValidGroupId(groupId))
        {
            return (ErrorCode.InvalidGroupId, []);
        }

        _groups.TryGetValue(groupId, out var group);
        if (group is null)
        {
            return (ErrorCode.None, partitions?.Select(p => NotCommitted(p.Topic, p.Partition)).ToList() ?? []);
        }

        lock (group)
        {
            if (partitions is null)
            {
                return (ErrorCode.None, group.Offsets
                    .OrderBy(kv => kv.Key.Topic, StringComparer.Ordinal).ThenBy(kv => kv.Key.Partition)
                    .Select(kv => Fetched(kv.Key.Topic, kv.Key.Partition, kv.Value)).ToList());
            }

            return (ErrorCode.None, partitions.Select(p => group.Offsets.TryGetValue(p, out var committed)
                ? Fetched(p.Topic, p.Partition, committed)
                : NotCommitted(p.Topic, p.Partition)).ToList());
        }
    }

    /// <summary>
    /// OffsetDelete (KIP-496): removes committed offsets of partitions the group doesn't consume. Partitions of topics a
    /// live consumer group is subscribed to answer GROUP_SUBSCRIBED_TO_TOPIC.
    /// </summary>
    public (ErrorCode Error, IReadOnlyList<ErrorCode> PartitionErrors) DeleteOffsets(string groupId, IReadOnlyList<(string Topic, int Partition)> partitions)
    {
        if (_loading)
        {
            return (ErrorCode.CoordinatorLoadInProgress, []);
        }

        if (!IsValidGroupId(groupId))
        {
            return (ErrorCode.InvalidGroupId, []);
        }

        if (!_groups.TryGetValue(groupId, out var group))
        {
            return (ErrorCode.GroupIdNotFound, []);
        }

        lock (group)
        {
            if (group.State == GroupState.Dead)
            {
                return (ErrorCode.GroupIdNotFound, []);
            }

            HashSet<string>? subscribed = null;
            if (group.State != GroupState.Empty)
            {
                if (group.ProtocolType != ConsumerProtocol.ProtocolType)
                {
                    return (ErrorCode.NonEmptyGroup, []);
                }

                subscribed = new HashSet<string>(StringComparer.Ordinal);
                foreach (var member in group.Members.Values)
                {
                    subscribed.UnionWith(ConsumerProtocol.SubscribedTopics(member.MetadataFor(group.ProtocolName)));
                }
            }

            var now = NowMs;
            var errors = new List<ErrorCode>(partitions.Count);
            var tombstones = new List<GroupRecord>();
            var deleted = new List<(string, int)>();
            foreach (var (topic, partition) in partitions)
            {
                if (subscribed is not null && subscribed.Contains(topic))
                {
                    errors.Add(ErrorCode.GroupSubscribedToTopic);
                    continue;
                }

                errors.Add(ErrorCode.None);
                if (group.Offsets.ContainsKey((topic, partition)))
                {
                    tombstones.Add(new GroupRecord(OffsetsTopicRecords.OffsetCommitKeyBytes(groupId, topic, partition), null));
                    deleted.Add((topic, partition));
                }
            }

            if (tombstones.Count > 0)
            {
                var error = AppendForGroup(groupId, tombstones, now);
                if (error != ErrorCode.None)
                {
                    return (error, []);
                }

                foreach (var key in deleted)
                {
                    group.Offsets.Remove(key);
                }
            }

            return (ErrorCode.None, errors);
        }
    }

    /// <summary>
    /// offsets.retention.minutes (KIP-211): offsets of an empty group expire once the group has been empty that long
    /// (for groups that never used group management: that long after the commit). An empty group left without offsets
    /// is removed.
    /// </summary>
    private void ExpireOffsets(long now)
    {
        foreach (var group in _groups.Values)
        {
            lock (group)
            {
                if (group.State != GroupState.Empty || group.PendingMembers.Count > 0)
                {
                    continue;
                }

                var expired = group.Offsets
                    .Where(kv => now - (group.ProtocolType is null ? kv.Value.CommitTimestampMs : Math.Max(group.StateTimestampMs, kv.Value.CommitTimestampMs))
                                 >= _options.OffsetsRetentionMs)
                    .Select(kv => kv.Key).ToList();
                var records = expired.Select(k => new GroupRecord(OffsetsTopicRecords.OffsetCommitKeyBytes(group.GroupId, k.Topic, k.Partition), null)).ToList();
                var removeGroup = group.Offsets.Count == expired.Count;
                if (removeGroup)
                {
                    records.Add(new GroupRecord(OffsetsTopicRecords.GroupMetadataKeyBytes(group.GroupId), null));
                }

                if (records.Count > 0 && AppendForGroup(group.GroupId, records, now) != ErrorCode.None)
                {
                    continue;
                }

                foreach (var key in expired)
                {
                    group.Offsets.Remove(key);
                }

                if (expired.Count > 0)
                {
                    LogOffsetsExpired(_logger, expired.Count, group.GroupId);
                }

                if (removeGroup)
                {
                    group.TransitionTo(GroupState.Dead, now);
                    _groups.TryRemove(new KeyValuePair<string, ClassicGroup>(group.GroupId, group));
                }
            }
        }
    }

    private static FetchedOffset Fetched(string topic, int partition, CommittedOffset committed) =>
        new(topic, partition, committed.Offset, committed.LeaderEpoch, committed.Metadata, ErrorCode.None);

    private static FetchedOffset NotCommitted(string topic, int partition) => new(topic, partition, -1, -1, "", ErrorCode.None);

    private static List<ErrorCode> Fill(int count, ErrorCode error) => Enumerable.Repeat(error, count).ToList();
}
