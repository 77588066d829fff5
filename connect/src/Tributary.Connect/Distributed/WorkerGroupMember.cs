using Microsoft.Extensions.Logging;
using Tributary.Clients.Groups;
using Tributary.Connect.Runtime;
using Tributary.Connect.Storage;

namespace Tributary.Connect.Distributed;

/// <summary>
/// This worker's membership in the Connect group: the membership loop and wire (FindCoordinator, JoinGroup, SyncGroup,
/// Heartbeat, LeaveGroup, protocol type <c>connect</c>) are <see cref="GroupMember"/> of Tributary.Clients in its cooperative
/// mode; what is Connect's stays here: the member metadata, the leader's incremental cooperative assignment (with KIP-415's
/// delay), and handing each assignment to the herder, which stops revoked work before this member rejoins.
/// </summary>
public sealed class WorkerGroupMember : IGroupMembershipHandler, IAsyncDisposable
{
    private readonly WorkerConfig config;
    private readonly IConfigBackingStore configs;
    private readonly Func<WorkerMetadata> currentMetadata;
    private readonly Action<ConnectAssignment, int> onAssigned;
    private readonly Action onLost;
    private readonly ILogger logger;
    private readonly IncrementalCooperativeAssignor assignor;
    private readonly GroupMember member;
    private readonly CancellationTokenSource stop = new();
    private ClusterConfigState? preparedConfig;
    private int scheduledGeneration;

    public WorkerGroupMember(WorkerConfig config, IConfigBackingStore configs, Func<WorkerMetadata> currentMetadata,
        Action<ConnectAssignment, int> onAssigned, Action onLost, ILogger logger)
    {
        this.config = config;
        this.configs = configs;
        this.currentMetadata = currentMetadata;
        this.onAssigned = onAssigned;
        this.onLost = onLost;
        this.logger = logger;
        assignor = new IncrementalCooperativeAssignor(TimeSpan.FromMilliseconds(config.ScheduledRebalanceMaxDelayMs), TimeProvider.System);
        member = new GroupMember(new GroupMemberOptions
        {
            BootstrapServers = config.BootstrapServers,
            GroupId = config.GroupId,
            ProtocolType = ConnectProtocol.ProtocolType,
            ClientId = "tributary-connect",
            SessionTimeout = TimeSpan.FromMilliseconds(config.SessionTimeoutMs),
            RebalanceTimeout = TimeSpan.FromMilliseconds(config.RebalanceTimeoutMs),
            HeartbeatInterval = TimeSpan.FromMilliseconds(config.HeartbeatIntervalMs),
            RetryBackoff = TimeSpan.FromMilliseconds(500),
            RevokeOnRebalance = false,
        }, this, logger);
    }

    public string MemberId => member.MemberId;

    public bool IsLeader { get; private set; }

    /// <summary>The leader's REST URL from the last assignment (empty before the first one).</summary>
    public string LeaderUrl { get; private set; } = "";

    public bool IsStable => member.IsStable;

    /// <summary>The config the leader computed its last assignment from (null on followers).</summary>
    public ClusterConfigState? LastAssignedConfig { get; private set; }

    public void Start() => member.Start();

    /// <summary>Asks for a rebalance (configs changed the set of connectors or tasks).</summary>
    public void RequestRejoin() => member.RequestRejoin();

    IReadOnlyList<GroupProtocol> IGroupMembershipHandler.Protocols() =>
        [new GroupProtocol(ConnectProtocol.ProtocolName, ConnectProtocol.Encode(currentMetadata()))];

    async Task IGroupMembershipHandler.PrepareAssignAsync(string protocolName, IReadOnlyList<GroupMemberInfo> members, CancellationToken cancellationToken)
    {
        // The leader assigns from a config at least as new as every member's, or a member would run tasks it cannot see.
        var needed = members.Max(m => ConnectProtocol.DecodeMetadata(m.Metadata).ConfigOffset);
        await configs.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
        var snapshot = configs.Snapshot();
        if (snapshot.Offset < needed)
        {
            throw new InvalidOperationException($"leader's config offset {snapshot.Offset} is behind a member's {needed}");
        }

        preparedConfig = snapshot;
    }

    IReadOnlyDictionary<string, byte[]> IGroupMembershipHandler.Assign(string protocolName, IReadOnlyList<GroupMemberInfo> members)
    {
        var snapshot = preparedConfig ?? throw new InvalidOperationException("Assign without PrepareAssignAsync");
        LastAssignedConfig = snapshot;
        var metadata = members.ToDictionary(m => m.MemberId, m => ConnectProtocol.DecodeMetadata(m.Metadata), StringComparer.Ordinal);
        var (assigned, delay) = assignor.AssignWithDelay(member.MemberId, metadata, snapshot);
        if (delay > TimeSpan.Zero)
        {
            // KIP-415: held work is handed out by a rebalance the leader starts when the delay is over (unless one comes first).
            ConnectLog.HoldingLostWork(logger, config.GroupId, (long)delay.TotalMilliseconds);
            var generation = Interlocked.Increment(ref scheduledGeneration);
            _ = Task.Delay(delay, stop.Token).ContinueWith(t =>
            {
                if (!t.IsCanceled && Volatile.Read(ref scheduledGeneration) == generation)
                {
                    member.RequestRejoin();
                }
            }, TaskScheduler.Default);
        }
        else
        {
            Interlocked.Increment(ref scheduledGeneration);
        }

        return assigned.ToDictionary(kv => kv.Key, kv => ConnectProtocol.Encode(kv.Value));
    }

    Task IGroupMembershipHandler.OnAssignedAsync(GroupAssignment assignment, CancellationToken cancellationToken)
    {
        IsLeader = assignment.IsLeader;
        var connect = ConnectProtocol.DecodeAssignment(assignment.Assignment);
        LeaderUrl = connect.LeaderUrl;
        ConnectLog.Assigned(logger, config.GroupId, assignment.GenerationId, assignment.MemberId, connect.LeaderId,
            string.Join(",", connect.Connectors), string.Join(",", connect.Tasks), string.Join(",", connect.RevokedConnectors.Concat(connect.RevokedTasks.Select(t => t.ToString()))));
        onAssigned(connect, assignment.GenerationId);
        // Incremental cooperative: what was given up is handed out in the follow-up rebalance this member starts now.
        if (connect.RevokedConnectors.Count + connect.RevokedTasks.Count > 0)
        {
            member.RequestRejoin();
        }

        return Task.CompletedTask;
    }

    Task IGroupMembershipHandler.OnRevokedAsync(CancellationToken cancellationToken)
    {
        // Called only when the membership is lost (or the worker leaves): nothing this worker runs is its own any more.
        IsLeader = false;
        onLost();
        return Task.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync().ConfigureAwait(false);
        await member.DisposeAsync().ConfigureAwait(false);
        stop.Dispose();
    }
}
