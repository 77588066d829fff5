using System.Text;
using Microsoft.Extensions.Logging;
using Tributary.Protocol;

namespace Tributary.Broker.Groups;

/// <summary>A TxnOffsetCommit call, independent of the request version.</summary>
/// <param name="GenerationId">v3+ (KIP-447): the consumer's generation, -1 when not sent.</param>
/// <param name="MemberId">v3+: the consumer's member id, "" when not sent.</param>
public sealed record TxnOffsetCommitCall(string GroupId, long ProducerId, short ProducerEpoch, int GenerationId, string MemberId,
    string? GroupInstanceId, IReadOnlyList<OffsetCommitEntry> Offsets);

// Transactional offsets (KIP-98, KIP-447): TxnOffsetCommit writes them as a transactional batch of the producer; they stay
// pending until the transaction's marker reaches the group's __consumer_offsets partition.
public sealed partial class GroupCoordinator
{
    /// <summary>
    /// TxnOffsetCommit: appends the offsets as a transactional batch of the producer and answers once the ISR has it. The
    /// offsets are pending — invisible to OffsetFetch, UNSTABLE_OFFSET_COMMIT under require_stable — until
    /// <see cref="CompleteTransaction"/> sees the transaction's marker.
    /// </summary>
    public async Task<IReadOnlyList<ErrorCode>> CommitTransactionalOffsetsAsync(TxnOffsetCommitCall call)
    {
        if (!IsValidGroupId(call.GroupId))
        {
            return Fill(call.Offsets.Count, ErrorCode.InvalidGroupId);
        }

        while (true)
        {
            // Kafka creates the group if it does not exist: a transactional producer may commit for a group nobody joined.
            var group = GetOrCreateGroup(call.GroupId, create: true, out var ownership);
            if (ownership != ErrorCode.None || group is null)
            {
                return Fill(call.Offsets.Count, ownership == ErrorCode.None ? ErrorCode.CoordinatorNotAvailable : ownership);
            }

            List<ErrorCode> errors;
            GroupWrite write;
            List<(string Topic, int Partition)> written;
            lock (group)
            {
                if (!StillOwned(group, out ownership))
                {
                    return Fill(call.Offsets.Count, ownership);
                }

                if (group.State == GroupState.Dead)
                {
                    _groups.TryRemove(new KeyValuePair<string, ClassicGroup>(call.GroupId, group));
                    continue;
                }

                var refusal = CheckTxnCommitAllowed(group, call);
                if (refusal != ErrorCode.None)
                {
                    return Fill(call.Offsets.Count, refusal);
                }

                var now = NowMs;
                errors = new List<ErrorCode>(call.Offsets.Count);
                var records = new List<GroupRecord>(call.Offsets.Count);
                var values = new List<((string, int) Key, CommittedOffset Value)>();
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
                        OffsetsTopicRecords.OffsetCommitValueBytes(value))
                    {
                        ProducerId = call.ProducerId,
                        ProducerEpoch = call.ProducerEpoch,
                    });
                    values.Add(((entry.Topic, entry.Partition), value));
                    errors.Add(ErrorCode.None);
                }

                if (records.Count == 0)
                {
                    return errors;
                }

                write = Write(group, records, now);
                if (!write.Appended)
                {
                    return MergeError(errors, write.Done.Result);
                }

                if (!group.PendingTxnOffsets.TryGetValue(call.ProducerId, out var pending))
                {
                    group.PendingTxnOffsets[call.ProducerId] = pending = [];
                }

                foreach (var (key, value) in values)
                {
                    pending[key] = new PendingTxnOffset(value, write.Position);
                }

                written = [.. values.Select(v => v.Key)];
            }

            var error = await write.Done.ConfigureAwait(false);
            if (error != ErrorCode.None)
            {
                lock (group)
                {
                    // Kafka's failPendingTxnOffsetCommit: a write the replicas did not take is forgotten (the client aborts).
                    if (group.PendingTxnOffsets.TryGetValue(call.ProducerId, out var pending))
                    {
                        foreach (var key in written)
                        {
                            if (pending.TryGetValue(key, out var entry) && entry.Position == write.Position)
                            {
                                pending.Remove(key);
                            }
                        }

                        if (pending.Count == 0)
                        {
                            group.PendingTxnOffsets.Remove(call.ProducerId);
                        }
                    }
                }
            }

            return MergeError(errors, error);
        }
    }

    /// <summary>
    /// A COMMIT or ABORT marker of <paramref name="producerId"/> was written to (and replicated in) the offsets partition
    /// <paramref name="partition"/> (the WriteTxnMarkers handler calls this): COMMIT makes the producer's pending offsets the
    /// groups' committed offsets, unless a later ordinary commit of the same partition was applied; ABORT drops them.
    /// </summary>
    public void CompleteTransaction(int partition, long producerId, bool commit)
    {
        if (!_owned.TryGetValue(partition, out var owned))
        {
            // Not coordinating this partition: whoever loads it replays the marker from the log.
            return;
        }

        lock (owned)
        {
            if (!owned.Loaded)
            {
                owned.LateMarkers.Add((producerId, commit));
                return;
            }
        }

        CompleteTransactionLoaded(partition, producerId, commit);
    }

    private void CompleteTransactionLoaded(int partition, long producerId, bool commit)
    {
        var completed = 0;
        foreach (var group in _groups.Values)
        {
            if (group.Partition != partition)
            {
                continue;
            }

            lock (group)
            {
                if (!group.PendingTxnOffsets.Remove(producerId, out var pending))
                {
                    continue;
                }

                completed += pending.Count;
                if (commit && group.State != GroupState.Dead)
                {
                    foreach (var (key, entry) in pending)
                    {
                        if (entry.Position > group.OffsetWritePositions.GetValueOrDefault(key, -1))
                        {
                            group.Offsets[key] = entry.Value;
                            group.OffsetWritePositions[key] = entry.Position;
                        }
                    }
                }
            }
        }

        LogTransactionCompleted(_logger, producerId, commit ? "COMMIT" : "ABORT", partition, completed);
    }

    /// <summary>KIP-447's checks of a v3+ TxnOffsetCommit against the group (Kafka's doTxnCommitOffsets).</summary>
    private static ErrorCode CheckTxnCommitAllowed(ClassicGroup group, TxnOffsetCommitCall call)
    {
        if (group.IsStaticMemberFenced(call.MemberId, call.GroupInstanceId))
        {
            return ErrorCode.FencedInstanceId;
        }

        if (call.MemberId.Length > 0 && !group.Members.ContainsKey(call.MemberId))
        {
            return ErrorCode.UnknownMemberId;
        }

        return call.GenerationId >= 0 && call.GenerationId != group.Generation ? ErrorCode.IllegalGeneration : ErrorCode.None;
    }

    private static List<ErrorCode> MergeError(List<ErrorCode> errors, ErrorCode error)
    {
        if (error != ErrorCode.None)
        {
            for (var i = 0; i < errors.Count; i++)
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
    /// The transactional side of loading an offsets partition: transactional offset commits pending per producer, completed by
    /// the markers replayed after them, in log order, as they were when the partition was led before.
    /// </summary>
    private sealed class ReplayedTransactions
    {
        private readonly Dictionary<long, Dictionary<string, Dictionary<(string, int), PendingTxnOffset>>> _pending = [];
        private readonly Dictionary<string, Dictionary<(string, int), long>> _positions = new(StringComparer.Ordinal);

        /// <summary>Groups that still have pending transactional offsets.</summary>
        public IEnumerable<string> PendingGroups => _pending.Values.SelectMany(byGroup => byGroup.Keys).Distinct(StringComparer.Ordinal);

        /// <summary>Applies a transactional record or a marker; false for an ordinary record (the caller applies it).</summary>
        public bool Apply(GroupRecord record, Dictionary<string, Dictionary<(string, int), CommittedOffset>> offsets, int partition,
            GroupCoordinator coordinator)
        {
            if (record.MarkerCommits is { } commit)
            {
                if (_pending.Remove(record.ProducerId, out var byGroup) && commit)
                {
                    foreach (var (groupId, entries) in byGroup)
                    {
                        if (!offsets.TryGetValue(groupId, out var groupOffsets))
                        {
                            offsets[groupId] = groupOffsets = new();
                        }

                        var positions = PositionsOf(groupId);
                        foreach (var (key, entry) in entries)
                        {
                            if (entry.Position > positions.GetValueOrDefault(key, -1))
                            {
                                groupOffsets[key] = entry.Value;
                                positions[key] = entry.Position;
                            }
                        }
                    }
                }

                return true;
            }

            if (record.ProducerId < 0)
            {
                return false;
            }

            try
            {
                if (OffsetsTopicRecords.ReadKey(record.Key) is OffsetCommitKey key && record.Value is not null)
                {
                    if (!_pending.TryGetValue(record.ProducerId, out var byGroup))
                    {
                        _pending[record.ProducerId] = byGroup = new(StringComparer.Ordinal);
                    }

                    if (!byGroup.TryGetValue(key.GroupId, out var entries))
                    {
                        byGroup[key.GroupId] = entries = [];
                    }

                    entries[(key.Topic, key.Partition)] = new PendingTxnOffset(OffsetsTopicRecords.ReadOffsetCommitValue(record.Value), record.Offset);
                }
            }
            catch (MalformedMessageException e)
            {
                LogBadRecord(coordinator._logger, partition, e.Message);
            }

            return true;
        }

        /// <summary>Remembers where an ordinary offset write of a partition was, so an older transaction's commit does not undo it.</summary>
        public void TrackPosition(GroupRecord record)
        {
            try
            {
                if (OffsetsTopicRecords.ReadKey(record.Key) is OffsetCommitKey key)
                {
                    PositionsOf(key.GroupId)[(key.Topic, key.Partition)] = record.Offset;
                }
            }
            catch (MalformedMessageException)
            {
                // Reported by the ordinary replay.
            }
        }

        /// <summary>Gives a loaded group its write positions and its transactions still waiting for a marker.</summary>
        public void Restore(ClassicGroup group)
        {
            if (_positions.TryGetValue(group.GroupId, out var positions))
            {
                foreach (var (key, position) in positions)
                {
                    group.OffsetWritePositions[key] = position;
                }
            }

            foreach (var (producerId, byGroup) in _pending)
            {
                if (byGroup.TryGetValue(group.GroupId, out var entries))
                {
                    group.PendingTxnOffsets[producerId] = new Dictionary<(string Topic, int Partition), PendingTxnOffset>(entries);
                }
            }
        }

        private Dictionary<(string, int), long> PositionsOf(string groupId)
        {
            if (!_positions.TryGetValue(groupId, out var positions))
            {
                _positions[groupId] = positions = [];
            }

            return positions;
        }
    }

    [LoggerMessage(EventId = 930, EventName = "GroupTransactionCompleted", Level = LogLevel.Debug,
        Message = "Transaction of producer {ProducerId} ended with {Result} in __consumer_offsets-{Partition}: {OffsetCount} pending offsets resolved")]
    private static partial void LogTransactionCompleted(ILogger logger, long producerId, string result, int partition, int offsetCount);
}
