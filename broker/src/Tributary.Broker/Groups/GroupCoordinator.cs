using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Tributary.Protocol;
using Tributary.Protocol.Records;

namespace Tributary.Broker.Groups;

/// <summary>
/// Kafka's classic group coordinator for every group whose <c>__consumer_offsets</c> partition this broker leads
/// (all of them on a single node): membership and rebalances (JoinGroup, SyncGroup, Heartbeat, LeaveGroup), committed
/// offsets, and the admin views. Offsets and group metadata are written to <see cref="IGroupRecordLog"/> before a
/// request is answered and rebuilt from it by <see cref="Load"/>.
/// </summary>
/// <remarks>
/// Each group is guarded by its own lock; calls that must wait for other members (JoinGroup, follower SyncGroup) return
/// tasks completed by the call or timer that finishes the phase. Timers are deadlines checked by <see cref="Tick"/>
/// (driven by a <see cref="TimeProvider"/> timer once <see cref="Start"/> is called; tests call it with a fake clock).
/// </remarks>
public sealed partial class GroupCoordinator : IDisposable
{
    private readonly GroupCoordinatorOptions _options;
    private readonly IGroupRecordLog _log;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, ClassicGroup> _groups = new(StringComparer.Ordinal);
    private readonly object _tickGate = new();
    private ITimer? _timer;
    private long _nextRetentionCheckMs;
    private volatile bool _loading = true;

    public GroupCoordinator(GroupCoordinatorOptions options, IGroupRecordLog log, TimeProvider time, ILogger logger)
    {
        _options = options;
        _log = log;
        _time = time;
        _logger = logger;
    }

    /// <summary>True until <see cref="Load"/> finished; group APIs answer COORDINATOR_LOAD_IN_PROGRESS meanwhile.</summary>
    public bool IsLoading => _loading;

    /// <summary>The <c>__consumer_offsets</c> partition of a group.</summary>
    public int PartitionFor(string groupId) => OffsetsTopicPartitioner.PartitionFor(groupId, _log.PartitionCount);

    /// <summary>Creates <c>__consumer_offsets</c> if needed (FindCoordinator does this lazily, as Kafka does).</summary>
    public ErrorCode EnsureOffsetsTopic() => _log.EnsureCreated();

    private long NowMs => _time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>Rebuilds offsets and group metadata (generation, protocol, leader, members) from the log.</summary>
    public void Load()
    {
        var started = NowMs;
        var groups = new Dictionary<string, PersistedGroup>(StringComparer.Ordinal);
        var offsets = new Dictionary<string, Dictionary<(string, int), CommittedOffset>>(StringComparer.Ordinal);
        var records = 0;
        if (_log.Exists)
        {
            for (int partition = 0; partition < _log.PartitionCount; partition++)
            {
                foreach (var record in _log.Replay(partition))
                {
                    records++;
                    ApplyReplayed(record, groups, offsets, partition);
                }
            }
        }

        var now = NowMs;
        foreach (var groupId in groups.Keys.Union(offsets.Keys))
        {
            var group = new ClassicGroup(groupId, now);
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

            _groups[groupId] = group;
        }

        _nextRetentionCheckMs = now + _options.OffsetsRetentionCheckIntervalMs;
        _loading = false;
        LogLoaded(_logger, _groups.Count, records, now - started);
    }

    /// <summary>Starts the timer that drives <see cref="Tick"/>.</summary>
    public void Start() => _timer ??= _time.CreateTimer(_ => Tick(), null, _options.TickInterval, _options.TickInterval);

    /// <summary>Fires every due deadline: expired sessions, pending members, rebalance and initial delays, offset retention.</summary>
    public void Tick()
    {
        if (_loading || !Monitor.TryEnter(_tickGate))
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
        _timer?.Dispose();
        foreach (var group in _groups.Values)
        {
            lock (group)
            {
                foreach (var member in group.Members.Values)
                {
                    member.AwaitingJoin?.TrySetResult(JoinGroupResult.Failed(ErrorCode.NotCoordinator, member.MemberId));
                    member.AwaitingSync?.TrySetResult(SyncGroupResult.Failed(ErrorCode.NotCoordinator));
                    member.AwaitingJoin = null;
                    member.AwaitingSync = null;
                }
            }
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

    /// <summary>Writes records for one group to its partition; answers Kafka's error mapping for failed commit appends.</summary>
    private ErrorCode AppendForGroup(string groupId, IReadOnlyList<GroupRecord> records, long now)
    {
        var created = _log.EnsureCreated();
        if (created != ErrorCode.None)
        {
            return ErrorCode.CoordinatorNotAvailable;
        }

        var error = _log.Append(PartitionFor(groupId), records, now);
        return error switch
        {
            ErrorCode.None => ErrorCode.None,
            ErrorCode.UnknownTopicOrPartition or ErrorCode.NotEnoughReplicas or ErrorCode.NotEnoughReplicasAfterAppend
                or ErrorCode.RequestTimedOut or ErrorCode.KafkaStorageError => ErrorCode.CoordinatorNotAvailable,
            ErrorCode.NotLeaderOrFollower => ErrorCode.NotCoordinator,
            ErrorCode.MessageTooLarge or ErrorCode.RecordListTooLarge or ErrorCode.InvalidFetchSize => ErrorCode.InvalidCommitOffsetSize,
            _ => error,
        };
    }

    private ErrorCode PersistGroup(ClassicGroup group, long now)
    {
        var members = group.Members.Values.Select(m => new PersistedMember(m.MemberId, m.GroupInstanceId, m.ClientId, m.ClientHost,
            m.RebalanceTimeoutMs, m.SessionTimeoutMs, m.MetadataFor(group.ProtocolName), m.Assignment)).ToList();
        var value = new PersistedGroup(group.ProtocolType ?? "", group.Generation, group.ProtocolName, group.LeaderId,
            group.StateTimestampMs, members);
        var record = new GroupRecord(OffsetsTopicRecords.GroupMetadataKeyBytes(group.GroupId), OffsetsTopicRecords.GroupMetadataValueBytes(value));
        var error = AppendForGroup(group.GroupId, [record], now);
        if (error != ErrorCode.None)
        {
            LogPersistFailed(_logger, group.GroupId, error.ToString());
        }

        return error;
    }

    /// <summary>Builds the single uncompressed batch a group write becomes.</summary>
    public static byte[] BuildBatch(IReadOnlyList<GroupRecord> records, long nowMs)
    {
        var builder = new RecordBatchBuilder();
        foreach (var record in records)
        {
            builder.Append(nowMs, record.Key, true, record.Value, record.Value is not null);
        }

        return builder.Build();
    }

    private static bool IsValidGroupId(string? groupId) => !string.IsNullOrEmpty(groupId);

    [LoggerMessage(EventId = 400, EventName = "GroupsLoaded", Level = LogLevel.Information, Message = "Loaded {GroupCount} groups from {RecordCount} __consumer_offsets records in {ElapsedMs} ms")]
    private static partial void LogLoaded(ILogger logger, int groupCount, int recordCount, long elapsedMs);

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
