using System.Text;
using Tributary.Protocol;

namespace Tributary.Broker.Groups;

// Offsets: OffsetCommit, OffsetFetch, OffsetDelete and offsets.retention.minutes expiry.
public sealed partial class GroupCoordinator
{
    /// <summary>
    /// Commits offsets; one error per entry, in request order. Answers once the in-sync replicas have the records (acks=all,
    /// as Kafka's coordinator does); only then does OffsetFetch show the new offsets.
    /// </summary>
    public Task<IReadOnlyList<ErrorCode>> CommitOffsetsAsync(OffsetCommitCall call)
    {
        if (!IsValidGroupId(call.GroupId))
        {
            return Done<IReadOnlyList<ErrorCode>>(Fill(call.Offsets.Count, ErrorCode.InvalidGroupId));
        }

        while (true)
        {
            // A client that manages partitions itself ("simple consumer", e.g. assign() + commit) uses Kafka only as an
            // offset store: the group exists just to hold its offsets.
            var group = GetOrCreateGroup(call.GroupId, create: call.GenerationId < 0, out var ownership);
            if (ownership != ErrorCode.None)
            {
                return Done<IReadOnlyList<ErrorCode>>(Fill(call.Offsets.Count, ownership));
            }

            if (group is null)
            {
                // A generation for a group that does not exist (OffsetCommit v9+ says GROUP_ID_NOT_FOUND).
                return Done<IReadOnlyList<ErrorCode>>(Fill(call.Offsets.Count, call.MissingGroupError));
            }

            PendingCommit pending;
            lock (group)
            {
                if (!StillOwned(group, out ownership))
                {
                    return Done<IReadOnlyList<ErrorCode>>(Fill(call.Offsets.Count, ownership));
                }

                if (group.State == GroupState.Dead)
                {
                    _groups.TryRemove(new KeyValuePair<string, ClassicGroup>(call.GroupId, group));
                    continue;
                }

                var error = CheckCommitAllowed(group, call);
                if (error != ErrorCode.None)
                {
                    return Done<IReadOnlyList<ErrorCode>>(Fill(call.Offsets.Count, error));
                }

                pending = CommitLocked(group, call, NowMs);
                if (pending.Write.Done.IsCompleted)
                {
                    // Replicated already (a single replica: the high watermark moved with the append).
                    return Done<IReadOnlyList<ErrorCode>>(FinishCommitLocked(group, pending, pending.Write.Done.Result));
                }
            }

            return FinishCommitAsync(group, pending);
        }
    }

    private async Task<IReadOnlyList<ErrorCode>> FinishCommitAsync(ClassicGroup group, PendingCommit pending)
    {
        var error = await pending.Write.Done.ConfigureAwait(false);
        lock (group)
        {
            return FinishCommitLocked(group, pending, error);
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

    /// <summary>A commit appended and waiting for replication: the answer so far and the entries to apply.</summary>
    private sealed record PendingCommit(List<ErrorCode> Errors, List<(OffsetCommitEntry Entry, CommittedOffset Value)> Accepted, GroupWrite Write);

    private PendingCommit CommitLocked(ClassicGroup group, OffsetCommitCall call, long now)
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

        if (group.Members.TryGetValue(call.MemberId, out var member))
        {
            member.SessionDeadlineMs = now + member.SessionTimeoutMs;
        }

        if (records.Count == 0)
        {
            return new PendingCommit(errors, accepted, new GroupWrite(-1, Task.FromResult(ErrorCode.None)));
        }

        var write = Write(group, records, now);
        if (write.Appended)
        {
            foreach (var (entry, _) in accepted)
            {
                var key = (entry.Topic, entry.Partition);
                group.PendingCommits[key] = group.PendingCommits.GetValueOrDefault(key) + 1;
            }
        }

        return new PendingCommit(errors, accepted, write);
    }

    /// <summary>
    /// Under the group's lock, once the commit's write completed: a replicated commit becomes visible unless a later write
    /// of the same partition (another commit, a tombstone) was applied first; a failed one changes nothing.
    /// </summary>
    private static List<ErrorCode> FinishCommitLocked(ClassicGroup group, PendingCommit pending, ErrorCode error)
    {
        if (pending.Write.Appended)
        {
            foreach (var (entry, value) in pending.Accepted)
            {
                var key = (entry.Topic, entry.Partition);
                var left = group.PendingCommits.GetValueOrDefault(key) - 1;
                if (left > 0)
                {
                    group.PendingCommits[key] = left;
                }
                else
                {
                    group.PendingCommits.Remove(key);
                }

                if (error == ErrorCode.None && group.State != GroupState.Dead
                    && pending.Write.Position > group.OffsetWritePositions.GetValueOrDefault(key, -1))
                {
                    group.Offsets[key] = value;
                    group.OffsetWritePositions[key] = pending.Write.Position;
                }
            }
        }

        var errors = pending.Errors;
        if (error != ErrorCode.None)
        {
            for (int i = 0; i < errors.Count; i++)
            {
                if (errors[i] == ErrorCode.None)
                {
                    errors[i] = error;
                }
            }
        }

        return errors;
    }

    /// <summary>
    /// Committed offsets of a group: the named partitions (offset -1 where none is committed) or, with
    /// <paramref name="partitions"/> null, every committed one. Offsets of a transaction still waiting for its marker are not
    /// shown; with <paramref name="requireStable"/> (v7+, KIP-447) such a partition answers UNSTABLE_OFFSET_COMMIT instead, so
    /// the consumer retries until the transaction has ended.
    /// </summary>
    public (ErrorCode Error, IReadOnlyList<FetchedOffset> Offsets) FetchOffsets(string groupId, IReadOnlyList<(string Topic, int Partition)>? partitions,
        bool requireStable = false)
    {
        if (!IsValidGroupId(groupId))
        {
            return (ErrorCode.InvalidGroupId, []);
        }

        var group = GetOrCreateGroup(groupId, create: false, out var ownership);
        if (ownership != ErrorCode.None)
        {
            return (ownership, []);
        }

        if (group is null)
        {
            return (ErrorCode.None, partitions?.Select(p => NotCommitted(p.Topic, p.Partition)).ToList() ?? []);
        }

        lock (group)
        {
            if (partitions is null)
            {
                var keys = group.Offsets.Keys.AsEnumerable();
                if (requireStable)
                {
                    keys = keys.Union(group.PendingTxnOffsets.Values.SelectMany(pending => pending.Keys));
                }

                return (ErrorCode.None, keys
                    .OrderBy(key => key.Topic, StringComparer.Ordinal).ThenBy(key => key.Partition)
                    .Select(key => FetchedLocked(group, key, requireStable)).ToList());
            }

            return (ErrorCode.None, partitions.Select(p => FetchedLocked(group, p, requireStable)).ToList());
        }
    }

    /// <summary>
    /// OffsetDelete (KIP-496): removes committed offsets of partitions the group doesn't consume. Partitions of topics a
    /// live consumer group is subscribed to answer GROUP_SUBSCRIBED_TO_TOPIC. Answers once the tombstones are replicated.
    /// </summary>
    public async Task<(ErrorCode Error, IReadOnlyList<ErrorCode> PartitionErrors)> DeleteOffsetsAsync(string groupId,
        IReadOnlyList<(string Topic, int Partition)> partitions)
    {
        var (error, errors, replicated) = DeleteOffsetsLocked(groupId, partitions);
        if (replicated is not null)
        {
            error = await replicated.ConfigureAwait(false);
        }

        return error == ErrorCode.None ? (error, errors) : (error, []);
    }

    private (ErrorCode Error, IReadOnlyList<ErrorCode> PartitionErrors, Task<ErrorCode>? Replicated) DeleteOffsetsLocked(string groupId,
        IReadOnlyList<(string Topic, int Partition)> partitions)
    {
        if (!IsValidGroupId(groupId))
        {
            return (ErrorCode.InvalidGroupId, [], null);
        }

        var group = GetOrCreateGroup(groupId, create: false, out var ownership);
        if (ownership != ErrorCode.None)
        {
            return (ownership, [], null);
        }

        if (group is null)
        {
            return (ErrorCode.GroupIdNotFound, [], null);
        }

        lock (group)
        {
            if (group.State == GroupState.Dead)
            {
                return (ErrorCode.GroupIdNotFound, [], null);
            }

            HashSet<string>? subscribed = null;
            if (group.State != GroupState.Empty)
            {
                if (group.ProtocolType != ConsumerProtocol.ProtocolType)
                {
                    return (ErrorCode.NonEmptyGroup, [], null);
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
                if (group.Offsets.ContainsKey((topic, partition)) || group.PendingCommits.ContainsKey((topic, partition)))
                {
                    tombstones.Add(new GroupRecord(OffsetsTopicRecords.OffsetCommitKeyBytes(groupId, topic, partition), null));
                    deleted.Add((topic, partition));
                }
            }

            if (tombstones.Count == 0)
            {
                return (ErrorCode.None, errors, null);
            }

            var write = Write(group, tombstones, now);
            if (!write.Appended)
            {
                return (write.Done.Result, [], null);
            }

            RemoveOffsets(group, deleted, write.Position);
            return (ErrorCode.None, errors, write.Done);
        }
    }

    /// <summary>Tombstoned partitions leave memory at once (as in Kafka); commits appended before them never show up again.</summary>
    private static void RemoveOffsets(ClassicGroup group, IEnumerable<(string Topic, int Partition)> keys, long tombstonePosition)
    {
        foreach (var key in keys)
        {
            group.Offsets.Remove(key);
            group.OffsetWritePositions[key] = tombstonePosition;
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

                // A partition with a commit on its way to the replicas keeps its offset (Kafka skips pending commits too).
                var expired = group.Offsets
                    .Where(kv => !group.PendingCommits.ContainsKey(kv.Key))
                    .Where(kv => now - (group.ProtocolType is null ? kv.Value.CommitTimestampMs : Math.Max(group.StateTimestampMs, kv.Value.CommitTimestampMs))
                                 >= _options.OffsetsRetentionMs)
                    .Select(kv => kv.Key).ToList();
                var records = expired.Select(k => new GroupRecord(OffsetsTopicRecords.OffsetCommitKeyBytes(group.GroupId, k.Topic, k.Partition), null)).ToList();
                // Kafka's hasOffsets: offsets of an open transaction (pending until its marker) keep the group too, else a commit
                // marker would find no group to write them into.
                var removeGroup = group.Offsets.Count == expired.Count && group.PendingCommits.Count == 0 && group.PendingTxnOffsets.Count == 0;
                if (removeGroup)
                {
                    records.Add(new GroupRecord(OffsetsTopicRecords.GroupMetadataKeyBytes(group.GroupId), null));
                }

                if (records.Count > 0)
                {
                    // Like Kafka's cleanup, nobody waits for these tombstones; a failed append keeps the offsets for the next round.
                    var write = Write(group, records, now);
                    if (!write.Appended)
                    {
                        continue;
                    }

                    _ = LogIfFailedAsync(write, group.GroupId);
                    RemoveOffsets(group, expired, write.Position);
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

    private static FetchedOffset FetchedLocked(ClassicGroup group, (string Topic, int Partition) key, bool requireStable)
    {
        if (requireStable && group.HasPendingTxnOffset(key))
        {
            return new FetchedOffset(key.Topic, key.Partition, -1, -1, "", ErrorCode.UnstableOffsetCommit);
        }

        return group.Offsets.TryGetValue(key, out var committed) ? Fetched(key.Topic, key.Partition, committed) : NotCommitted(key.Topic, key.Partition);
    }

    private static FetchedOffset NotCommitted(string topic, int partition) => new(topic, partition, -1, -1, "", ErrorCode.None);

    private static List<ErrorCode> Fill(int count, ErrorCode error) => Enumerable.Repeat(error, count).ToList();
}
