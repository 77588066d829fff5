using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Tributary.Protocol;
using Tributary.Protocol.Records;

namespace Tributary.Broker.Groups;

/// <summary>
/// Kafka's classic group coordinator for every group whose <c>__consumer_offsets</c> partition this broker leads:
/// membership and rebalances (JoinGroup, SyncGroup, Heartbeat, LeaveGroup), committed offsets, and the admin views.
/// Offsets and group metadata are written to <see cref="IGroupRecordLog"/> and acknowledged once the in-sync replicas
/// have them; a partition's groups are rebuilt from its log when this broker becomes its leader and dropped when it
/// stops leading it.
/// </summary>
/// <remarks>
/// Each group is guarded by its own lock; calls that must wait for other members (JoinGroup, follower SyncGroup) or for
/// replication return tasks, and replication is awaited outside the lock. Timers are deadlines checked by
/// <see cref="Tick"/> (driven by a <see cref="TimeProvider"/> timer once <see cref="Start"/> is called; tests call it
/// with a fake clock).
/// </remarks>
public sealed partial class GroupCoordinator : IDisposable
{
    private readonly GroupCoordinatorOptions _options;
    private readonly IGroupRecordLog _log;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, ClassicGroup> _groups = new(StringComparer.Ordinal);

    /// <summary>The offsets partitions this broker leads: loading, then loaded. Absent = another broker coordinates.</summary>
    private readonly ConcurrentDictionary<int, OwnedPartition> _owned = new();
    private readonly CancellationTokenSource _disposed = new();
    private readonly object _tickGate = new();
    private ITimer? _timer;
    private long _nextRetentionCheckMs;
    private bool _tracking;

    public GroupCoordinator(GroupCoordinatorOptions options, IGroupRecordLog log, TimeProvider time, ILogger logger)
    {
        _options = options;
        _log = log;
        _time = time;
        _logger = logger;
        _nextRetentionCheckMs = NowMs + options.OffsetsRetentionCheckIntervalMs;
    }

    /// <summary>The <c>__consumer_offsets</c> partition of a group.</summary>
    public int PartitionFor(string groupId) => OffsetsTopicPartitioner.PartitionFor(groupId, _log.PartitionCount);

    /// <summary>Creates <c>__consumer_offsets</c> if needed (FindCoordinator does this lazily, as Kafka does).</summary>
    public Task<ErrorCode> EnsureOffsetsTopicAsync(CancellationToken cancellation) => _log.EnsureCreatedAsync(cancellation);

    /// <summary>Whether this broker coordinates <paramref name="partition"/>'s groups and has loaded them.</summary>
    public bool IsLoaded(int partition) => _owned.TryGetValue(partition, out var owned) && owned.Loaded;

    private long NowMs => _time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>Starts following leadership of the offsets partitions, then the timer that drives <see cref="Tick"/>.</summary>
    public void Start()
    {
        TrackLeadership();
        _timer ??= _time.CreateTimer(_ => Tick(), null, _options.TickInterval, _options.TickInterval);
    }

    /// <summary>
    /// Subscribes to leadership changes of the offsets partitions, then treats every partition already led here as newly
    /// led: the replica manager may have raised those events before we subscribed (subscribe first, then scan, so none
    /// is missed; a partition seen twice loads once).
    /// </summary>
    public void TrackLeadership()
    {
        lock (_tickGate)
        {
            if (_tracking)
            {
                return;
            }

            _tracking = true;
        }

        _log.LeadershipChanged += OnLeadershipChanged;
        foreach (var partition in _log.LedPartitions())
        {
            BeginLoad(partition);
            if (!_log.Leads(partition))
            {
                // Lost again between the scan and the load's registration, and the "false" event found nothing to drop.
                Unload(partition);
            }
        }
    }

    /// <summary>Completes when every partition being loaded right now has finished loading (or failed to).</summary>
    public Task WhenLoadedAsync() => Task.WhenAll(_owned.Values.Select(o => o.Done.Task));

    private void OnLeadershipChanged(int partition, bool leading)
    {
        if (leading)
        {
            BeginLoad(partition);
        }
        else
        {
            Unload(partition);
        }
    }

    /// <summary>
    /// This broker now leads <paramref name="partition"/>: rebuild its groups from its log in the background; its groups'
    /// requests get COORDINATOR_LOAD_IN_PROGRESS meanwhile. A new leader epoch while still leading changes nothing: the
    /// groups in memory already are what the log says (like Kafka, which skips partitions it already owns).
    /// </summary>
    private void BeginLoad(int partition)
    {
        var owned = new OwnedPartition(partition);
        if (!_owned.TryAdd(partition, owned))
        {
            return;
        }

        LogPartitionLoading(_logger, partition);
        _ = Task.Run(() => LoadPartition(owned));
    }

    private void LoadPartition(OwnedPartition owned)
    {
        try
        {
            var started = NowMs;
            var groups = new Dictionary<string, PersistedGroup>(StringComparer.Ordinal);
            var offsets = new Dictionary<string, Dictionary<(string, int), CommittedOffset>>(StringComparer.Ordinal);
            var transactions = new ReplayedTransactions();
            var records = 0;
            foreach (var record in _log.Replay(owned.Index))
            {
                if (owned.Unloaded)
                {
                    return;
                }

                records++;
                if (!transactions.Apply(record, offsets, owned.Index, this))
                {
                    ApplyReplayed(record, groups, offsets, owned.Index);
                    transactions.TrackPosition(record);
                }
            }

            var now = NowMs;
            var loaded = new List<ClassicGroup>();
            foreach (var groupId in groups.Keys.Union(offsets.Keys).Union(transactions.PendingGroups))
            {
                var group = new ClassicGroup(groupId, owned.Index, now);
                if (groups.TryGetValue(groupId, out var persisted))
                {
                    RestoreMembership(group, persisted, now);
                }

                if (offsets.TryGetValue(groupId, out var committed))
                {
                    foreach (var (key, value) in committed)
                    {
                        group.Offsets[key] = value;
                    }
                }

                transactions.Restore(group);
                loaded.Add(group);
            }

            lock (owned)
            {
                // Published under the partition's lock: an unload either comes first (and we drop the result) or after
                // (and finds these groups to drop).
                if (owned.Unloaded)
                {
                    return;
                }

                foreach (var group in loaded)
                {
                    _groups[group.GroupId] = group;
                }

                owned.Loaded = true;
                // Markers written while the log was replayed: their transactions are in memory only now.
                foreach (var (producerId, commit) in owned.LateMarkers)
                {
                    CompleteTransactionLoaded(owned.Index, producerId, commit);
                }

                owned.LateMarkers.Clear();
            }

            LogLoaded(_logger, owned.Index, loaded.Count, records, NowMs - started);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
            // Deleted or offline while loading; without its state this broker can't coordinate the partition's groups.
            LogLoadFailed(_logger, owned.Index, e);
            _owned.TryRemove(new KeyValuePair<int, OwnedPartition>(owned.Index, owned));
        }
        finally
        {
            owned.Done.TrySetResult();
        }
    }

    /// <summary>
    /// This broker no longer leads <paramref name="partition"/>: drop its groups. Members waiting in JoinGroup or
    /// SyncGroup are answered NOT_COORDINATOR (they find the new coordinator); nothing is written — the new leader's
    /// log already has everything acknowledged.
    /// </summary>
    private void Unload(int partition)
    {
        if (!_owned.TryRemove(partition, out var owned))
        {
            return;
        }

        lock (owned)
        {
            owned.Unloaded = true;
        }

        var now = NowMs;
        var unloaded = 0;
        foreach (var group in _groups.Values)
        {
            if (group.Partition != partition)
            {
                continue;
            }

            lock (group)
            {
                FailWaiters(group, ErrorCode.NotCoordinator);
                group.TransitionTo(GroupState.Dead, now);
            }

            _groups.TryRemove(new KeyValuePair<string, ClassicGroup>(group.GroupId, group));
            unloaded++;
        }

        LogUnloaded(_logger, partition, unloaded);
    }

    /// <summary>
    /// NONE when this broker coordinates the partition and has loaded it; Kafka's errors otherwise. A partition whose
    /// leadership is published but not yet applied here (right after creating the topic or starting up) counts as
    /// loading: clients retry COORDINATOR_LOAD_IN_PROGRESS in place, where NOT_COORDINATOR would fail some calls.
    /// </summary>
    private ErrorCode OwnershipError(int partition) =>
        _owned.TryGetValue(partition, out var owned) ? owned.Loaded ? ErrorCode.None : ErrorCode.CoordinatorLoadInProgress
        : _log.WillLead(partition) ? ErrorCode.CoordinatorLoadInProgress
        : ErrorCode.NotCoordinator;

    private ErrorCode OwnershipError(string groupId) => OwnershipError(PartitionFor(groupId));

    /// <summary>
    /// Finds a group, creating it when <paramref name="create"/>; null when it doesn't exist. Checks ownership again
    /// under the group's lock, so a group created while its partition is being unloaded doesn't outlive the unload.
    /// </summary>
    private ClassicGroup? GetOrCreateGroup(string groupId, bool create, out ErrorCode error)
    {
        var partition = PartitionFor(groupId);
        error = OwnershipError(partition);
        if (error != ErrorCode.None)
        {
            return null;
        }

        if (!create)
        {
            return _groups.TryGetValue(groupId, out var existing) ? existing : null;
        }

        return _groups.GetOrAdd(groupId, id => new ClassicGroup(id, partition, NowMs));
    }

    /// <summary>Under the group's lock: whether the group may still be served here, removing a stale incarnation if not.</summary>
    private bool StillOwned(ClassicGroup group, out ErrorCode error)
    {
        error = OwnershipError(group.Partition);
        if (error == ErrorCode.None)
        {
            return true;
        }

        if (group.State != GroupState.Dead)
        {
            FailWaiters(group, ErrorCode.NotCoordinator);
            group.TransitionTo(GroupState.Dead, NowMs);
        }

        _groups.TryRemove(new KeyValuePair<string, ClassicGroup>(group.GroupId, group));
        return false;
    }

    /// <summary>Fires every due deadline: expired sessions, pending members, rebalance and initial delays, offset retention.</summary>
    public void Tick()
    {
        if (!Monitor.TryEnter(_tickGate))
        {
            return;
        }

        try
        {
            var now = NowMs;
            foreach (var group in _groups.Values)
            {
                lock (group)
                {
                    TickGroup(group, now);
                }
            }

            if (now >= _nextRetentionCheckMs)
            {
                _nextRetentionCheckMs = now + _options.OffsetsRetentionCheckIntervalMs;
                ExpireOffsets(now);
            }
        }
        catch (Exception e)
        {
            LogTickFailed(_logger, e);
        }
        finally
        {
            Monitor.Exit(_tickGate);
        }
    }

    public void Dispose()
    {
        _log.LeadershipChanged -= OnLeadershipChanged;
        _timer?.Dispose();
        _disposed.Cancel();
        foreach (var group in _groups.Values)
        {
            lock (group)
            {
                FailWaiters(group, ErrorCode.NotCoordinator);
            }
        }
    }

    private static void FailWaiters(ClassicGroup group, ErrorCode error)
    {
        foreach (var member in group.Members.Values)
        {
            member.AwaitingJoin?.TrySetResult(JoinGroupResult.Failed(error, member.MemberId));
            member.AwaitingSync?.TrySetResult(SyncGroupResult.Failed(error));
            member.AwaitingJoin = null;
            member.AwaitingSync = null;
        }
    }

    /// <summary>Committed offsets of every group, for the consumer-lag gauge.</summary>
    public IReadOnlyList<(string GroupId, string Topic, int Partition, long Offset)> CommittedOffsets()
    {
        var result = new List<(string, string, int, long)>();
        foreach (var group in _groups.Values)
        {
            lock (group)
            {
                if (group.State == GroupState.Dead)
                {
                    continue;
                }

                foreach (var ((topic, partition), committed) in group.Offsets)
                {
                    result.Add((group.GroupId, topic, partition, committed.Offset));
                }
            }
        }

        return result;
    }

    private void ApplyReplayed(GroupRecord record, Dictionary<string, PersistedGroup> groups,
        Dictionary<string, Dictionary<(string, int), CommittedOffset>> offsets, int partition)
    {
        try
        {
            switch (OffsetsTopicRecords.ReadKey(record.Key))
            {
                case OffsetCommitKey key:
                    if (record.Value is null)
                    {
                        if (offsets.TryGetValue(key.GroupId, out var existing))
                        {
                            existing.Remove((key.Topic, key.Partition));
                        }
                    }
                    else
                    {
                        if (!offsets.TryGetValue(key.GroupId, out var groupOffsets))
                        {
                            offsets[key.GroupId] = groupOffsets = new();
                        }

                        groupOffsets[(key.Topic, key.Partition)] = OffsetsTopicRecords.ReadOffsetCommitValue(record.Value);
                    }

                    break;
                case GroupMetadataKey key:
                    if (record.Value is null)
                    {
                        groups.Remove(key.GroupId);
                        offsets.Remove(key.GroupId);
                    }
                    else
                    {
                        groups[key.GroupId] = OffsetsTopicRecords.ReadGroupMetadataValue(record.Value);
                    }

                    break;
            }
        }
        catch (MalformedMessageException e)
        {
            LogBadRecord(_logger, partition, e.Message);
        }
    }

    private static void RestoreMembership(ClassicGroup group, PersistedGroup persisted, long now)
    {
        group.ProtocolType = persisted.ProtocolType.Length == 0 ? null : persisted.ProtocolType;
        group.Generation = persisted.Generation;
        group.ProtocolName = persisted.Protocol;
        group.LeaderId = persisted.Leader;
        foreach (var m in persisted.Members)
        {
            var protocols = new[] { new MemberProtocol(persisted.Protocol ?? "", m.Subscription) };
            var member = new GroupMember(m.MemberId, m.GroupInstanceId, m.ClientId, m.ClientHost, m.RebalanceTimeoutMs,
                m.SessionTimeoutMs, persisted.ProtocolType, protocols)
            {
                Assignment = m.Assignment,
                SessionDeadlineMs = now + m.SessionTimeoutMs,
            };
            group.Members[m.MemberId] = member;
            if (m.GroupInstanceId is not null)
            {
                group.StaticMembers[m.GroupInstanceId] = m.MemberId;
            }
        }

        // Like Kafka: a group with members comes back Stable and its members keep heartbeating with their generation.
        group.Restore(group.HasMembers ? GroupState.Stable : GroupState.Empty,
            persisted.CurrentStateTimestampMs >= 0 ? persisted.CurrentStateTimestampMs : now);
        if (group.LeaderId is not null && !group.Members.ContainsKey(group.LeaderId))
        {
            group.LeaderId = group.Members.Keys.FirstOrDefault();
        }
    }

    /// <summary>
    /// Appends records for one group to its partition; the write's <see cref="GroupWrite.Done"/> completes with NONE once
    /// the in-sync replicas have it, or with the error Kafka's coordinator answers for the failure.
    /// </summary>
    private GroupWrite Write(ClassicGroup group, IReadOnlyList<GroupRecord> records, long now)
    {
        GroupAppend append;
        try
        {
            append = _log.Append(group.Partition, records, now, _options.OffsetCommitTimeoutMs, _disposed.Token);
        }
        catch (ObjectDisposedException)
        {
            append = GroupAppend.Failed(ErrorCode.NotLeaderOrFollower);
        }

        if (append.Error != ErrorCode.None)
        {
            return new GroupWrite(-1, Task.FromResult(MapWriteError(append.Error)));
        }

        var replicated = append.Replicated;
        return new GroupWrite(append.Position, replicated.IsCompletedSuccessfully
            ? Task.FromResult(MapWriteError(replicated.Result))
            : MapWhenReplicated(replicated));
    }

    private static async Task<ErrorCode> MapWhenReplicated(Task<ErrorCode> replicated) => MapWriteError(await replicated.ConfigureAwait(false));

    /// <summary>Kafka's coordinator mapping of append and replication errors (GroupMetadataManager.storeOffsets).</summary>
    private static ErrorCode MapWriteError(ErrorCode error) => error switch
    {
        ErrorCode.None => ErrorCode.None,
        ErrorCode.UnknownTopicOrPartition or ErrorCode.NotEnoughReplicas or ErrorCode.NotEnoughReplicasAfterAppend
            or ErrorCode.RequestTimedOut => ErrorCode.CoordinatorNotAvailable,
        ErrorCode.NotLeaderOrFollower or ErrorCode.KafkaStorageError => ErrorCode.NotCoordinator,
        ErrorCode.MessageTooLarge or ErrorCode.RecordListTooLarge or ErrorCode.InvalidFetchSize => ErrorCode.InvalidCommitOffsetSize,
        _ => error,
    };

    /// <summary>Writes the group's metadata record with <paramref name="assignments"/> (the members' current ones if null).</summary>
    private GroupWrite PersistGroup(ClassicGroup group, long now, IReadOnlyDictionary<string, byte[]>? assignments = null)
    {
        var members = group.Members.Values.Select(m => new PersistedMember(m.MemberId, m.GroupInstanceId, m.ClientId, m.ClientHost,
            m.RebalanceTimeoutMs, m.SessionTimeoutMs, m.MetadataFor(group.ProtocolName),
            assignments is null ? m.Assignment : assignments.GetValueOrDefault(m.MemberId, []))).ToList();
        var value = new PersistedGroup(group.ProtocolType ?? "", group.Generation, group.ProtocolName, group.LeaderId,
            group.StateTimestampMs, members);
        var record = new GroupRecord(OffsetsTopicRecords.GroupMetadataKeyBytes(group.GroupId), OffsetsTopicRecords.GroupMetadataValueBytes(value));
        return Write(group, [record], now);
    }

    /// <summary>For writes nobody waits on (an empty group's metadata, expired offsets): log a failure, as Kafka does.</summary>
    private async Task LogIfFailedAsync(GroupWrite write, string groupId)
    {
        var error = await write.Done.ConfigureAwait(false);
        if (error != ErrorCode.None)
        {
            LogPersistFailed(_logger, groupId, error.ToString());
        }
    }

    /// <summary>A write to the group's partition: its log position (-1: nothing appended) and its outcome once replicated.</summary>
    private readonly record struct GroupWrite(long Position, Task<ErrorCode> Done)
    {
        public bool Appended => Position >= 0;
    }

    /// <summary>An offsets partition this broker leads; <see cref="Loaded"/> once its groups are in memory.</summary>
    private sealed class OwnedPartition(int index)
    {
        public int Index { get; } = index;
        public volatile bool Loaded;
        public volatile bool Unloaded;

        /// <summary>Transaction markers that reached the partition while it loaded (under this object's lock).</summary>
        public List<(long ProducerId, bool Commit)> LateMarkers { get; } = [];
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>Builds the single uncompressed batch a group write becomes.</summary>
    public static byte[] BuildBatch(IReadOnlyList<GroupRecord> records, long nowMs)
    {
        // A transactional offset commit is a transactional batch of the producer (Kafka's coordinator writes it so); the
        // coordinator's own writes carry no sequence (appended with coordinator origin, no sequence check).
        var producerId = records.Count > 0 ? records[0].ProducerId : -1;
        var builder = producerId < 0 ? new RecordBatchBuilder() : new RecordBatchBuilder
        {
            ProducerId = producerId,
            ProducerEpoch = records[0].ProducerEpoch,
            BaseSequence = -1,
            IsTransactional = true,
        };
        foreach (var record in records)
        {
            builder.Append(nowMs, record.Key, true, record.Value, record.Value is not null);
        }

        return builder.Build();
    }

    private static bool IsValidGroupId(string? groupId) => !string.IsNullOrEmpty(groupId);

    [LoggerMessage(EventId = 400, EventName = "GroupsLoaded", Level = LogLevel.Information, Message = "Loaded {GroupCount} groups from {RecordCount} records of __consumer_offsets-{Partition} in {ElapsedMs} ms")]
    private static partial void LogLoaded(ILogger logger, int partition, int groupCount, int recordCount, long elapsedMs);

    [LoggerMessage(EventId = 410, EventName = "GroupPartitionLoading", Level = LogLevel.Debug, Message = "Leading __consumer_offsets-{Partition}: loading its groups")]
    private static partial void LogPartitionLoading(ILogger logger, int partition);

    [LoggerMessage(EventId = 411, EventName = "GroupPartitionUnloaded", Level = LogLevel.Information, Message = "No longer leading __consumer_offsets-{Partition}: unloaded {GroupCount} groups")]
    private static partial void LogUnloaded(ILogger logger, int partition, int groupCount);

    [LoggerMessage(EventId = 412, EventName = "GroupPartitionLoadFailed", Level = LogLevel.Error, Message = "Loading the groups of __consumer_offsets-{Partition} failed; its groups have no coordinator here")]
    private static partial void LogLoadFailed(ILogger logger, int partition, Exception exception);

    [LoggerMessage(EventId = 401, EventName = "GroupBadRecord", Level = LogLevel.Warning, Message = "Skipped a malformed __consumer_offsets record in partition {Partition}: {Reason}")]
    private static partial void LogBadRecord(ILogger logger, int partition, string reason);

    [LoggerMessage(EventId = 402, EventName = "GroupTickFailed", Level = LogLevel.Error, Message = "Group coordinator timer failed")]
    private static partial void LogTickFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 403, EventName = "GroupPersistFailed", Level = LogLevel.Warning, Message = "Writing metadata of group {GroupId} failed: {Error}")]
    private static partial void LogPersistFailed(ILogger logger, string groupId, string error);

    [LoggerMessage(EventId = 404, EventName = "GroupRebalanceStarted", Level = LogLevel.Information, Message = "Group {GroupId} is preparing to rebalance (generation {Generation}): {Reason}")]
    private static partial void LogRebalanceStarted(ILogger logger, string groupId, int generation, string reason);

    [LoggerMessage(EventId = 405, EventName = "GroupStabilized", Level = LogLevel.Information, Message = "Group {GroupId} generation {Generation} with {MemberCount} members, protocol {Protocol}, leader {Leader}")]
    private static partial void LogGenerationStarted(ILogger logger, string groupId, int generation, int memberCount, string? protocol, string? leader);

    [LoggerMessage(EventId = 406, EventName = "GroupMemberRemoved", Level = LogLevel.Information, Message = "Member {MemberId} left group {GroupId}: {Reason}")]
    private static partial void LogMemberRemoved(ILogger logger, string memberId, string groupId, string reason);

    [LoggerMessage(EventId = 407, EventName = "GroupStaticMemberReplaced", Level = LogLevel.Information, Message = "Static member {InstanceId} of group {GroupId} rejoined as {MemberId} (was {OldMemberId})")]
    private static partial void LogStaticReplaced(ILogger logger, string instanceId, string groupId, string memberId, string oldMemberId);

    [LoggerMessage(EventId = 408, EventName = "GroupOffsetsExpired", Level = LogLevel.Information, Message = "Expired {Count} offsets of group {GroupId}")]
    private static partial void LogOffsetsExpired(ILogger logger, int count, string groupId);

    [LoggerMessage(EventId = 409, EventName = "GroupDeleted", Level = LogLevel.Information, Message = "Group {GroupId} deleted: {Reason}")]
    private static partial void LogGroupDeleted(ILogger logger, string groupId, string reason);
}
