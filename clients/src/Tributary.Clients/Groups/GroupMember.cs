using Microsoft.Extensions.Logging;
using Tributary.Protocol;
using Tributary.Protocol.Messages;

namespace Tributary.Clients.Groups;

/// <summary>A member of a Kafka group (classic protocol) with a custom protocol type: FindCoordinator, JoinGroup,
/// SyncGroup (the leader member runs the handler's assignor), Heartbeat, LeaveGroup.</summary>
/// <remarks>One background loop owns the coordinator connection; the handler's callbacks run on it in order:
/// assigned → revoked → assigned … Stop with <see cref="DisposeAsync"/>, which leaves the group.</remarks>
public sealed partial class GroupMember : IAsyncDisposable
{
    private const short FindCoordinatorVersion = 3;
    private const short JoinGroupVersion = 6;
    private const short SyncGroupVersion = 4;
    private const short HeartbeatVersion = 4;
    private const short LeaveGroupVersion = 4;

    private readonly GroupMemberOptions _options;
    private readonly IGroupMembershipHandler _handler;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly KafkaCluster _cluster;
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;
    private KafkaConnection? _coordinator;
    private bool _assigned;
    private int _disposed;
    private volatile bool _rejoinRequested;
    private readonly SemaphoreSlim _rejoinSignal = new(0, 1);

    public GroupMember(GroupMemberOptions options, IGroupMembershipHandler handler, ILogger logger, TimeProvider? time = null)
    {
        _options = options;
        _handler = handler;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _cluster = new KafkaCluster(options.BootstrapServers, options.ClientId);
    }

    /// <summary>Member id the coordinator gave us ("" before the first join).</summary>
    public string MemberId { get; private set; } = "";

    /// <summary>Generation of the last completed SyncGroup, -1 before.</summary>
    public int GenerationId { get; private set; } = -1;

    /// <summary>True between a completed SyncGroup and the next JoinGroup or error: the assignment is current.</summary>
    public bool IsStable { get; private set; }

    /// <summary>Leaves the current generation at the next heartbeat tick and joins again (the handler's metadata or the
    /// group's work changed). Safe from any thread, also from within <see cref="IGroupMembershipHandler.OnAssignedAsync"/>.</summary>
    public void RequestRejoin()
    {
        _rejoinRequested = true;
        if (_rejoinSignal.CurrentCount == 0)
        {
            try
            {
                _rejoinSignal.Release();
            }
            catch (SemaphoreFullException)
            {
            }
        }
    }

    /// <summary>Starts the membership loop in the background.</summary>
    public void Start() => _loop ??= Task.Run(() => RunAsync(_stop.Token));

    private async Task RunAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                _coordinator ??= await FindCoordinatorAsync(stop).ConfigureAwait(false);
                var assignment = await JoinAndSyncAsync(_coordinator, stop).ConfigureAwait(false);
                if (assignment is null)
                {
                    continue;
                }

                _assigned = true;
                await _handler.OnAssignedAsync(assignment, stop).ConfigureAwait(false);
                IsStable = true;
                await HeartbeatUntilRebalanceAsync(_coordinator, stop).ConfigureAwait(false);
                IsStable = false;
                if (_options.RevokeOnRebalance || MemberId.Length == 0)
                {
                    await RevokeAsync(stop).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (!stop.IsCancellationRequested)
            {
                // Connection and coordinator errors, timeouts, a failing handler: start over with a fresh coordinator. A
                // cooperative member keeps its work: if its membership is gone, the next JoinGroup says so.
                IsStable = false;
                LogCoordinatorError(_logger, _options.GroupId, e.Message);
                _coordinator = null;
                if (_options.RevokeOnRebalance)
                {
                    await RevokeAsync(stop).ConfigureAwait(false);
                }

                await Task.Delay(_options.RetryBackoff, _time, stop).ConfigureAwait(false);
            }
        }
    }

    private async Task RevokeAsync(CancellationToken cancellationToken)
    {
        if (_assigned)
        {
            _assigned = false;
            await _handler.OnRevokedAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<KafkaConnection> FindCoordinatorAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var response = await _cluster.SendToAnyAsync(
                new FindCoordinatorRequest { Key = _options.GroupId, KeyType = 0 }, FindCoordinatorVersion,
                FindCoordinatorResponse.Read, cancellationToken).ConfigureAwait(false);
            var error = (ErrorCode)response.ErrorCode;
            if (error == ErrorCode.None)
            {
                LogCoordinatorFound(_logger, _options.GroupId, response.NodeId, response.Host, response.Port);
                return await _cluster.ConnectionToAsync(response.Host, response.Port, cancellationToken).ConfigureAwait(false);
            }

            if (error is not (ErrorCode.CoordinatorNotAvailable or ErrorCode.CoordinatorLoadInProgress or ErrorCode.NotCoordinator))
            {
                throw new KafkaErrorException(error, $"FindCoordinator for group {_options.GroupId}: {error} {response.ErrorMessage}");
            }

            await Task.Delay(_options.RetryBackoff, _time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>One JoinGroup + SyncGroup round; null when it must be retried (member id required, rebalance again).</summary>
    private async Task<GroupAssignment?> JoinAndSyncAsync(KafkaConnection coordinator, CancellationToken cancellationToken)
    {
        IsStable = false;
        // This join is the rejoin asked for; a request made from here on (e.g. by OnAssignedAsync) asks for another.
        _rejoinRequested = false;
        var protocols = _handler.Protocols();
        var join = new JoinGroupRequest
        {
            GroupId = _options.GroupId,
            SessionTimeoutMs = (int)_options.SessionTimeout.TotalMilliseconds,
            RebalanceTimeoutMs = (int)_options.RebalanceTimeout.TotalMilliseconds,
            MemberId = MemberId,
            GroupInstanceId = _options.GroupInstanceId,
            ProtocolType = _options.ProtocolType,
            Protocols = protocols.Select(p => new JoinGroupRequest.JoinGroupRequestProtocol { Name = p.Name, Metadata = p.Metadata }).ToList(),
        };

        // The coordinator holds JoinGroup until every member rejoined, up to the rebalance timeout.
        using var joinTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        joinTimeout.CancelAfter(_options.RebalanceTimeout + _options.SessionTimeout);
        var joined = await coordinator.SendAsync(join, JoinGroupVersion, JoinGroupResponse.Read, joinTimeout.Token).ConfigureAwait(false);
        var joinError = (ErrorCode)joined.ErrorCode;
        switch (joinError)
        {
            case ErrorCode.None:
                break;
            case ErrorCode.MemberIdRequired:
                // KIP-394: the first join gets a member id to join with.
                MemberId = joined.MemberId;
                return null;
            case ErrorCode.UnknownMemberId or ErrorCode.IllegalGeneration or ErrorCode.FencedInstanceId:
                MemberId = "";
                await LoseMembershipAsync(cancellationToken).ConfigureAwait(false);
                return null;
            case ErrorCode.RebalanceInProgress:
                return null;
            case ErrorCode.NotCoordinator or ErrorCode.CoordinatorNotAvailable or ErrorCode.CoordinatorLoadInProgress:
                throw new KafkaErrorException(joinError, $"JoinGroup {_options.GroupId}: {joinError}");
            default:
                throw new KafkaErrorException(joinError, $"JoinGroup {_options.GroupId} refused: {joinError}");
        }

        MemberId = joined.MemberId;
        string protocolName = joined.ProtocolName ?? "";
        var assignments = new List<SyncGroupRequest.SyncGroupRequestAssignment>();
        if (joined.Leader == joined.MemberId)
        {
            var members = joined.Members.Select(m => new GroupMemberInfo(m.MemberId, m.GroupInstanceId, m.Metadata)).ToList();
            await _handler.PrepareAssignAsync(protocolName, members, cancellationToken).ConfigureAwait(false);
            foreach (var (memberId, bytes) in _handler.Assign(protocolName, members))
            {
                assignments.Add(new SyncGroupRequest.SyncGroupRequestAssignment { MemberId = memberId, Assignment = bytes });
            }

            LogLeaderAssigned(_logger, _options.GroupId, joined.GenerationId, members.Count);
        }

        var sync = new SyncGroupRequest
        {
            GroupId = _options.GroupId,
            GenerationId = joined.GenerationId,
            MemberId = MemberId,
            GroupInstanceId = _options.GroupInstanceId,
            Assignments = assignments,
        };
        using var syncTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        syncTimeout.CancelAfter(_options.RebalanceTimeout + _options.SessionTimeout);
        var synced = await coordinator.SendAsync(sync, SyncGroupVersion, SyncGroupResponse.Read, syncTimeout.Token).ConfigureAwait(false);
        var syncError = (ErrorCode)synced.ErrorCode;
        switch (syncError)
        {
            case ErrorCode.None:
                break;
            case ErrorCode.RebalanceInProgress:
                return null;
            case ErrorCode.IllegalGeneration when _options.RevokeOnRebalance:
                return null;
            case ErrorCode.UnknownMemberId or ErrorCode.IllegalGeneration or ErrorCode.FencedInstanceId:
                MemberId = "";
                await LoseMembershipAsync(cancellationToken).ConfigureAwait(false);
                return null;
            default:
                throw new KafkaErrorException(syncError, $"SyncGroup {_options.GroupId}: {syncError}");
        }

        GenerationId = joined.GenerationId;
        LogJoined(_logger, _options.GroupId, MemberId, GenerationId, joined.Leader);
        return new GroupAssignment(joined.GenerationId, MemberId, joined.Leader, protocolName, synced.Assignment);
    }

    /// <summary>The membership is gone (the coordinator no longer knows this member or generation): whatever was assigned is
    /// revoked, also for a cooperative member.</summary>
    private async Task LoseMembershipAsync(CancellationToken cancellationToken)
    {
        GenerationId = -1;
        await RevokeAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One heartbeat interval on the member's clock, cut short by <see cref="RequestRejoin"/>.</summary>
    private async Task WaitHeartbeatIntervalAsync(CancellationToken cancellationToken)
    {
        using var wake = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var interval = Task.Delay(_options.HeartbeatInterval, _time, wake.Token);
        var signal = _rejoinSignal.WaitAsync(wake.Token);
        await Task.WhenAny(interval, signal).ConfigureAwait(false);
        await wake.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(interval, signal).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        cancellationToken.ThrowIfCancellationRequested();
    }

    private async Task HeartbeatUntilRebalanceAsync(KafkaConnection coordinator, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (_rejoinRequested)
            {
                LogRebalance(_logger, _options.GroupId, "rejoin requested");
                return;
            }

            await WaitHeartbeatIntervalAsync(cancellationToken).ConfigureAwait(false);
            if (_rejoinRequested)
            {
                continue;
            }

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_options.SessionTimeout);
            var response = await coordinator.SendAsync(
                new HeartbeatRequest { GroupId = _options.GroupId, GenerationId = GenerationId, MemberId = MemberId, GroupInstanceId = _options.GroupInstanceId },
                HeartbeatVersion, HeartbeatResponse.Read, timeout.Token).ConfigureAwait(false);
            var error = (ErrorCode)response.ErrorCode;
            switch (error)
            {
                case ErrorCode.None:
                    continue;
                case ErrorCode.RebalanceInProgress:
                    LogRebalance(_logger, _options.GroupId, error.ToString());
                    return;
                case ErrorCode.IllegalGeneration when _options.RevokeOnRebalance:
                    LogRebalance(_logger, _options.GroupId, error.ToString());
                    return;
                case ErrorCode.UnknownMemberId or ErrorCode.FencedInstanceId or ErrorCode.IllegalGeneration:
                    LogRebalance(_logger, _options.GroupId, error.ToString());
                    MemberId = "";
                    await LoseMembershipAsync(cancellationToken).ConfigureAwait(false);
                    return;
                default:
                    throw new KafkaErrorException(error, $"Heartbeat {_options.GroupId}: {error}");
            }
        }
    }

    /// <summary>Stops the loop, revokes the assignment and leaves the group (best effort).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            try
            {
                await _loop.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        if (_assigned)
        {
            _assigned = false;
            await _handler.OnRevokedAsync(CancellationToken.None).ConfigureAwait(false);
        }

        if (_coordinator is not null && MemberId.Length > 0)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await _coordinator.SendAsync(
                    new LeaveGroupRequest
                    {
                        GroupId = _options.GroupId,
                        Members = [new LeaveGroupRequest.MemberIdentity { MemberId = MemberId, GroupInstanceId = _options.GroupInstanceId }],
                    },
                    LeaveGroupVersion, LeaveGroupResponse.Read, timeout.Token).ConfigureAwait(false);
                LogLeft(_logger, _options.GroupId, MemberId);
            }
            catch (Exception e) when (e is KafkaConnectionException or OperationCanceledException)
            {
                LogCoordinatorError(_logger, _options.GroupId, $"LeaveGroup failed: {e.Message}");
            }
        }

        await _cluster.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
        _rejoinSignal.Dispose();
    }

    [LoggerMessage(EventId = 2001, EventName = "GroupCoordinatorFound", Level = LogLevel.Information, Message = "Group {GroupId}: coordinator is broker {NodeId} at {Host}:{Port}")]
    private static partial void LogCoordinatorFound(ILogger logger, string groupId, int nodeId, string host, int port);

    [LoggerMessage(EventId = 2002, EventName = "GroupJoined", Level = LogLevel.Information, Message = "Group {GroupId}: joined as {MemberId} in generation {Generation} (leader {Leader})")]
    private static partial void LogJoined(ILogger logger, string groupId, string memberId, int generation, string leader);

    [LoggerMessage(EventId = 2003, EventName = "GroupLeaderAssigned", Level = LogLevel.Information, Message = "Group {GroupId}: leader assigned generation {Generation} to {Members} members")]
    private static partial void LogLeaderAssigned(ILogger logger, string groupId, int generation, int members);

    [LoggerMessage(EventId = 2004, EventName = "GroupRebalance", Level = LogLevel.Information, Message = "Group {GroupId}: rejoining ({Reason})")]
    private static partial void LogRebalance(ILogger logger, string groupId, string reason);

    [LoggerMessage(EventId = 2005, EventName = "GroupCoordinatorError", Level = LogLevel.Warning, Message = "Group {GroupId}: coordinator error, finding it again: {Error}")]
    private static partial void LogCoordinatorError(ILogger logger, string groupId, string error);

    [LoggerMessage(EventId = 2006, EventName = "GroupLeft", Level = LogLevel.Information, Message = "Group {GroupId}: member {MemberId} left")]
    private static partial void LogLeft(ILogger logger, string groupId, string memberId);
}
