using Microsoft.Extensions.Logging;
using Tributary.Connect.Runtime;
using Tributary.Connect.Storage;
using Tributary.Protocol;
using Tributary.Protocol.Messages;

namespace Tributary.Connect.Distributed;

/// <summary>
/// This worker's membership in the Connect group (Kafka's group protocol: FindCoordinator, JoinGroup, SyncGroup, Heartbeat,
/// LeaveGroup, protocol type <c>connect</c>). The leader computes the incremental cooperative assignment; every member hands
/// its assignment to the herder, which stops revoked work before this member rejoins.
/// </summary>
public sealed class WorkerGroupMember : IAsyncDisposable
{
    private const short FindCoordinatorVersion = 2;
    private const short JoinGroupVersion = 5;
    private const short SyncGroupVersion = 3;
    private const short HeartbeatVersion = 3;
    private const short LeaveGroupVersion = 2;

    private readonly WorkerConfig config;
    private readonly IConfigBackingStore configs;
    private readonly Func<WorkerMetadata> currentMetadata;
    private readonly Action<ConnectAssignment, int> onAssigned;
    private readonly Action onLost;
    private readonly ILogger logger;
    private readonly CancellationTokenSource stop = new();
    private KafkaWireClient? coordinator;
    private Task? loop;
    private volatile bool rejoinRequested;
    private string memberId = "";
    private int generation = -1;

    public WorkerGroupMember(WorkerConfig config, IConfigBackingStore configs, Func<WorkerMetadata> currentMetadata,
        Action<ConnectAssignment, int> onAssigned, Action onLost, ILogger logger)
    {
        this.config = config;
        this.configs = configs;
        this.currentMetadata = currentMetadata;
        this.onAssigned = onAssigned;
        this.onLost = onLost;
        this.logger = logger;
    }

    public string MemberId => memberId;

    public bool IsLeader { get; private set; }

    /// <summary>The leader's REST URL from the last assignment (empty before the first one).</summary>
    public string LeaderUrl { get; private set; } = "";

    public bool IsStable { get; private set; }

    /// <summary>The config the leader computed its last assignment from (null on followers).</summary>
    public ClusterConfigState? LastAssignedConfig { get; private set; }

    public void Start() => loop = Task.Run(RunAsync);

    /// <summary>Asks for a rebalance (configs changed the set of connectors or tasks).</summary>
    public void RequestRejoin() => rejoinRequested = true;

    private async Task RunAsync()
    {
        var token = stop.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                coordinator ??= await FindCoordinatorAsync(token);
                var (assignment, revokedSome) = await JoinAndSyncAsync(coordinator, token);
                if (assignment is null)
                {
                    continue;
                }

                IsStable = true;
                rejoinRequested = revokedSome;
                await HeartbeatUntilRejoinAsync(coordinator, token);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or OperationCanceledException or MalformedMessageException or GroupException)
            {
                IsStable = false;
                ConnectLog.Rejoining(logger, config.GroupId, e.Message);
                coordinator?.Dispose();
                coordinator = null;
                await Task.Delay(500, token).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
    }

    private async Task<KafkaWireClient> FindCoordinatorAsync(CancellationToken token)
    {
        foreach (var server in config.BootstrapServers.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var (host, port) = SplitHostPort(server);
            try
            {
                using var bootstrap = await KafkaWireClient.ConnectAsync(host, port, token);
                var response = await bootstrap.SendAsync(FindCoordinatorRequest.ApiKey, FindCoordinatorVersion,
                    w => new FindCoordinatorRequest { Key = config.GroupId, KeyType = 0 }.Write(w, FindCoordinatorVersion),
                    FindCoordinatorResponse.Read, TimeSpan.FromSeconds(10), token);
                if (response.ErrorCode != 0)
                {
                    throw new GroupException($"FindCoordinator: {(ErrorCode)response.ErrorCode}");
                }

                return await KafkaWireClient.ConnectAsync(response.Host, response.Port, token);
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
            {
                ConnectLog.Rejoining(logger, config.GroupId, $"bootstrap {server}: {e.Message}");
            }
        }

        throw new GroupException("no bootstrap server answered FindCoordinator");
    }

    private static (string, int) SplitHostPort(string server)
    {
        var colon = server.LastIndexOf(':');
        return colon > 0 && int.TryParse(server[(colon + 1)..], out var port) ? (server[..colon], port) : (server, 9092);
    }

    private async Task<(ConnectAssignment?, bool)> JoinAndSyncAsync(KafkaWireClient client, CancellationToken token)
    {
        IsStable = false;
        var metadata = currentMetadata();
        var join = await client.SendAsync(JoinGroupRequest.ApiKey, JoinGroupVersion, w => new JoinGroupRequest
        {
            GroupId = config.GroupId,
            SessionTimeoutMs = config.SessionTimeoutMs,
            RebalanceTimeoutMs = config.RebalanceTimeoutMs,
            MemberId = memberId,
            ProtocolType = ConnectProtocol.ProtocolType,
            Protocols = [new JoinGroupRequest.JoinGroupRequestProtocol { Name = ConnectProtocol.ProtocolName, Metadata = ConnectProtocol.Encode(metadata) }],
        }.Write(w, JoinGroupVersion), JoinGroupResponse.Read, TimeSpan.FromMilliseconds(config.RebalanceTimeoutMs + 10_000), token);

        switch ((ErrorCode)join.ErrorCode)
        {
            case ErrorCode.None:
                break;
            case ErrorCode.MemberIdRequired:
                memberId = join.MemberId;
                return (null, false);
            case ErrorCode.UnknownMemberId:
            case ErrorCode.IllegalGeneration:
                LoseAssignment();
                return (null, false);
            case ErrorCode.RebalanceInProgress:
                return (null, false);
            case ErrorCode.NotCoordinator:
            case ErrorCode.CoordinatorNotAvailable:
            case ErrorCode.CoordinatorLoadInProgress:
                throw new GroupException("JoinGroup: " + (ErrorCode)join.ErrorCode);
            default:
                throw new GroupException("JoinGroup: " + (ErrorCode)join.ErrorCode);
        }

        memberId = join.MemberId;
        generation = join.GenerationId;
        IsLeader = join.Leader == memberId;
        var assignments = new List<SyncGroupRequest.SyncGroupRequestAssignment>();
        if (IsLeader)
        {
            var members = join.Members.ToDictionary(m => m.MemberId, m => ConnectProtocol.DecodeMetadata(m.Metadata));
            var needed = members.Values.Max(m => m.ConfigOffset);
            await configs.ReadToEndAsync(token);
            var snapshot = configs.Snapshot();
            if (snapshot.Offset < needed)
            {
                throw new GroupException($"leader's config offset {snapshot.Offset} is behind a member's {needed}");
            }

            LastAssignedConfig = snapshot;
            foreach (var (id, a) in IncrementalCooperativeAssignor.Assign(memberId, members, snapshot))
            {
                assignments.Add(new SyncGroupRequest.SyncGroupRequestAssignment { MemberId = id, Assignment = ConnectProtocol.Encode(a) });
            }
        }

        var sync = await client.SendAsync(SyncGroupRequest.ApiKey, SyncGroupVersion, w => new SyncGroupRequest
        {
            GroupId = config.GroupId, GenerationId = generation, MemberId = memberId, Assignments = assignments,
        }.Write(w, SyncGroupVersion), SyncGroupResponse.Read, TimeSpan.FromMilliseconds(config.RebalanceTimeoutMs + 10_000), token);
        switch ((ErrorCode)sync.ErrorCode)
        {
            case ErrorCode.None:
                break;
            case ErrorCode.RebalanceInProgress:
                return (null, false);
            case ErrorCode.UnknownMemberId:
            case ErrorCode.IllegalGeneration:
                LoseAssignment();
                return (null, false);
            default:
                throw new GroupException("SyncGroup: " + (ErrorCode)sync.ErrorCode);
        }

        var assignment = ConnectProtocol.DecodeAssignment(sync.Assignment);
        LeaderUrl = assignment.LeaderUrl;
        ConnectLog.Assigned(logger, config.GroupId, generation, memberId, assignment.LeaderId,
            string.Join(",", assignment.Connectors), string.Join(",", assignment.Tasks), string.Join(",", assignment.RevokedConnectors.Concat(assignment.RevokedTasks.Select(t => t.ToString()))));
        onAssigned(assignment, generation);
        return (assignment, assignment.RevokedConnectors.Count + assignment.RevokedTasks.Count > 0);
    }

    private void LoseAssignment()
    {
        memberId = "";
        generation = -1;
        IsLeader = false;
        onLost();
    }

    private async Task HeartbeatUntilRejoinAsync(KafkaWireClient client, CancellationToken token)
    {
        var interval = TimeSpan.FromMilliseconds(config.HeartbeatIntervalMs);
        var next = DateTime.UtcNow;
        while (!token.IsCancellationRequested)
        {
            if (rejoinRequested)
            {
                rejoinRequested = false;
                return;
            }

            if (DateTime.UtcNow >= next)
            {
                var hb = await client.SendAsync(HeartbeatRequest.ApiKey, HeartbeatVersion, w => new HeartbeatRequest
                {
                    GroupId = config.GroupId, GenerationId = generation, MemberId = memberId,
                }.Write(w, HeartbeatVersion), HeartbeatResponse.Read, TimeSpan.FromSeconds(10), token);
                switch ((ErrorCode)hb.ErrorCode)
                {
                    case ErrorCode.None:
                        break;
                    case ErrorCode.RebalanceInProgress:
                        return;
                    case ErrorCode.UnknownMemberId:
                    case ErrorCode.IllegalGeneration:
                        LoseAssignment();
                        return;
                    default:
                        throw new GroupException("Heartbeat: " + (ErrorCode)hb.ErrorCode);
                }

                next = DateTime.UtcNow + interval;
            }

            await Task.Delay(50, token);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        if (loop is not null)
        {
            await loop.ContinueWith(_ => { }, TaskScheduler.Default);
        }

        if (coordinator is not null && memberId.Length > 0)
        {
            try
            {
                await coordinator.SendAsync(LeaveGroupRequest.ApiKey, LeaveGroupVersion, w => new LeaveGroupRequest
                {
                    GroupId = config.GroupId, MemberId = memberId,
                }.Write(w, LeaveGroupVersion), LeaveGroupResponse.Read, TimeSpan.FromSeconds(5), CancellationToken.None);
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or OperationCanceledException)
            {
            }
        }

        coordinator?.Dispose();
        stop.Dispose();
    }
}

/// <summary>The group answered with an error that needs a fresh coordinator or a rejoin.</summary>
public sealed class GroupException(string message) : Exception(message);
