using System.Text.Json.Nodes;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Tributary.Connect.Distributed;
using Tributary.Connect.Plugins;
using Tributary.Connect.Storage;

namespace Tributary.Connect.Runtime;

/// <summary>A request the REST API turns into an HTTP status with Connect's error JSON.</summary>
public sealed class ConnectRestException(int status, string message) : Exception(message)
{
    public int Status { get; } = status;

    public static ConnectRestException NotFound(string connector) => new(404, $"Connector {connector} not found");
}

/// <summary>A connector's identity as <c>GET /connectors/{c}</c> shows it.</summary>
public sealed record ConnectorInfo(string Name, IReadOnlyDictionary<string, string> Config, IReadOnlyList<int> Tasks, string Type);

/// <summary>
/// Keeps this worker's running connectors and tasks equal to what the config store and the group assignment say it should run
/// (standalone: everything), reacting to config changes, target states, restart requests and rebalances; answers the REST
/// API from the config and status stores.
/// </summary>
public sealed class Herder : IAsyncDisposable
{
    private readonly WorkerConfig config;
    private readonly PluginRegistry plugins;
    private readonly IConfigBackingStore configs;
    private readonly IStatusBackingStore statuses;
    private readonly IOffsetBackingStore offsets;
    private readonly Worker worker;
    private readonly ILogger logger;
    private readonly bool distributed;
    private readonly SemaphoreSlim wake = new(0, int.MaxValue);
    private readonly CancellationTokenSource stop = new();
    private readonly HashSet<string> reconfigure = new(StringComparer.Ordinal);
    private readonly object ownedGate = new();
    private HashSet<string> ownedConnectors = new(StringComparer.Ordinal);
    private HashSet<TaskId> ownedTasks = [];
    private string assignedShape = "";
    private long restartsSeen;
    private WorkerGroupMember? group;
    private Task? loop;

    public Herder(WorkerConfig config, PluginRegistry plugins, IConfigBackingStore configs, IStatusBackingStore statuses, IOffsetBackingStore offsets,
        Worker worker, bool distributed, ILogger logger)
    {
        this.config = config;
        this.plugins = plugins;
        this.configs = configs;
        this.statuses = statuses;
        this.offsets = offsets;
        this.worker = worker;
        this.distributed = distributed;
        this.logger = logger;
    }

    public PluginRegistry Plugins => plugins;

    public string WorkerId => config.WorkerId;

    public bool IsLeader => !distributed || group?.IsLeader == true;

    /// <summary>Where write requests go: empty when this worker is the leader (or standalone), else the leader's REST URL.</summary>
    public string? LeaderUrl => !distributed || group?.IsLeader == true ? null : group?.LeaderUrl is { Length: > 0 } url ? url : "";

    public async Task StartAsync(CancellationToken cancellation)
    {
        await offsets.StartAsync(cancellation);
        await statuses.StartAsync(cancellation);
        await configs.StartAsync(cancellation);
        configs.Changed += Wake;
        worker.TaskReconfigurationRequested += c =>
        {
            lock (reconfigure)
            {
                reconfigure.Add(c);
            }

            Wake();
        };
        if (distributed)
        {
            group = new WorkerGroupMember(config, configs, CurrentMetadata, OnAssigned, OnLost, logger);
            group.Start();
        }

        loop = Task.Run(TickLoopAsync);
    }

    private void Wake() => wake.Release();

    private WorkerMetadata CurrentMetadata()
    {
        lock (ownedGate)
        {
            return new WorkerMetadata(config.AdvertisedUrl, configs.Snapshot().Offset, ownedConnectors.ToList(), ownedTasks.ToList());
        }
    }

    private void OnAssigned(ConnectAssignment assignment, int generation)
    {
        worker.Generation = generation;
        // Revoked work stops before this member rejoins, so it never runs on two workers at once.
        foreach (var t in assignment.RevokedTasks)
        {
            worker.StopTaskAsync(t.Connector, t.Task).GetAwaiter().GetResult();
        }

        foreach (var c in assignment.RevokedConnectors)
        {
            worker.StopConnector(c);
        }

        lock (ownedGate)
        {
            ownedConnectors = assignment.Connectors.ToHashSet(StringComparer.Ordinal);
            ownedTasks = assignment.Tasks.ToHashSet();
        }

        Wake();
    }

    private void OnLost()
    {
        lock (ownedGate)
        {
            ownedConnectors = new HashSet<string>(StringComparer.Ordinal);
            ownedTasks = [];
        }

        foreach (var t in worker.Tasks.Keys)
        {
            worker.StopTaskAsync(t.Connector, t.Task).GetAwaiter().GetResult();
        }

        foreach (var c in worker.Connectors.Keys)
        {
            worker.StopConnector(c);
        }
    }

    /// <summary>The connectors and their task counts: when it changes, the leader asks for a rebalance.</summary>
    private static string Shape(ClusterConfigState s) =>
        string.Join(";", s.Connectors.Keys.Order(StringComparer.Ordinal).Select(c => c + ":" + s.TaskCount(c)));

    private async Task TickLoopAsync()
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await wake.WaitAsync(TimeSpan.FromMilliseconds(500), stop.Token);
                while (wake.CurrentCount > 0)
                {
                    await wake.WaitAsync(stop.Token);
                }

                await TickAsync();
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                ConnectLog.TickFailed(logger, e, e.Message);
            }
        }
    }

    private async Task TickAsync()
    {
        var snapshot = configs.Snapshot();
        HashSet<string> myConnectors;
        HashSet<TaskId> myTasks;
        if (distributed)
        {
            if (group is null || !group.IsStable)
            {
                return;
            }

            lock (ownedGate)
            {
                myConnectors = [.. ownedConnectors];
                myTasks = [.. ownedTasks];
                // The leader rebalances when connectors or task counts differ from what it last assigned (once per change).
                var shape = Shape(snapshot);
                if (group.IsLeader && group.LastAssignedConfig is { } assigned && shape != Shape(assigned) && shape != assignedShape)
                {
                    assignedShape = shape;
                    group.RequestRejoin();
                }
            }
        }
        else
        {
            myConnectors = snapshot.Connectors.Keys.ToHashSet(StringComparer.Ordinal);
            myTasks = snapshot.Connectors.Keys.SelectMany(c => Enumerable.Range(0, snapshot.TaskCount(c)).Select(i => new TaskId(c, i))).ToHashSet();
        }

        // Connectors.
        foreach (var (name, running) in worker.Connectors)
        {
            if (!myConnectors.Contains(name) || !snapshot.Connectors.ContainsKey(name))
            {
                worker.StopConnector(name);
            }
        }

        List<string> toReconfigure;
        lock (reconfigure)
        {
            toReconfigure = [.. reconfigure];
            reconfigure.Clear();
        }

        foreach (var name in myConnectors)
        {
            if (!snapshot.Connectors.TryGetValue(name, out var cfg))
            {
                continue;
            }

            var target = snapshot.TargetStateOf(name);
            var running = worker.Connectors.GetValueOrDefault(name);
            var reconfig = toReconfigure.Contains(name);
            if (running is null || !SameConfig(running.Config, cfg))
            {
                if (running is not null)
                {
                    worker.StopConnector(name);
                }

                worker.StartConnector(name, cfg, target);
                reconfig = true;
            }
            else if (running.Target != target)
            {
                running.SetTarget(target);
                reconfig = true;
            }

            if (reconfig || !snapshot.Tasks.ContainsKey(name))
            {
                await ReconfigureTasksAsync(name, target, snapshot);
            }
        }

        // KIP-618: before a source connector's new generation of tasks starts, the leader fences the previous one.
        if (distributed && config.ZombieFencingEnabled && group!.IsLeader)
        {
            foreach (var name in snapshot.Connectors.Keys)
            {
                if (snapshot.IsPendingFencing(name) && TypeOf(snapshot.Connectors[name]) == "source")
                {
                    await FenceZombiesAsync(name, snapshot);
                }
            }
        }

        // Tasks.
        foreach (var (key, task) in worker.Tasks)
        {
            var id = new TaskId(key.Connector, key.Task);
            if (!myTasks.Contains(id) || !snapshot.Connectors.ContainsKey(key.Connector) || key.Task >= snapshot.TaskCount(key.Connector))
            {
                await worker.StopTaskAsync(key.Connector, key.Task);
            }
        }

        foreach (var id in myTasks)
        {
            if (!snapshot.Connectors.TryGetValue(id.Connector, out var connectorConfig) || id.Task >= snapshot.TaskCount(id.Connector))
            {
                continue;
            }

            var taskConfig = snapshot.Tasks[id.Connector][id.Task];
            var target = snapshot.TargetStateOf(id.Connector);
            var running = worker.Tasks.GetValueOrDefault((id.Connector, id.Task));
            if (running is not null && SameConfig(running.TaskConfig, taskConfig) && SameConfig(ConnectorConfigOf(running), connectorConfig))
            {
                running.SetTarget(target);
                continue;
            }

            if (running is not null)
            {
                await worker.StopTaskAsync(id.Connector, id.Task);
            }

            if (config.ExactlyOnceSourceEnabled && snapshot.IsPendingFencing(id.Connector) && TypeOf(connectorConfig) == "source")
            {
                // Starts once the task-count record is in the config topic (its arrival wakes this loop).
                ConnectLog.WaitingForFencing(logger, $"{id.Connector}-{id.Task}", id.Connector);
                continue;
            }

            worker.StartTask(id.Connector, id.Task, connectorConfig, taskConfig, target);
        }

        // Restart requests for what runs here.
        foreach (var request in configs.RestartRequestsAfter(restartsSeen))
        {
            restartsSeen = Math.Max(restartsSeen, request.Sequence);
            await ApplyRestartAsync(request, snapshot, myConnectors, myTasks);
        }
    }

    /// <summary>
    /// Kafka's zombie fencing (Admin.fenceProducers): initialising each transactional id of the last fenced generation bumps its
    /// producer epoch, so a task of that generation still running somewhere can no longer commit; then the new task count is
    /// recorded, which lets the new generation start. A failure leaves the connector pending and is retried on the next tick.
    /// </summary>
    private async Task FenceZombiesAsync(string connector, ClusterConfigState snapshot)
    {
        var previous = snapshot.TaskCountRecord(connector) ?? 0;
        try
        {
            await Task.WhenAll(Enumerable.Range(0, previous).Select(i => Task.Run(() =>
            {
                using var fencer = new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig
                {
                    BootstrapServers = config.BootstrapServers,
                    ClientId = $"connect-fencer-{connector}-{i}",
                    TransactionalId = config.TransactionalId(connector, i),
                }).Build();
                fencer.InitTransactions(TimeSpan.FromSeconds(60));
            })));
            await configs.PutTaskCountRecordAsync(connector, snapshot.TaskCount(connector));
            ConnectLog.ZombiesFenced(logger, connector, previous, snapshot.TaskCount(connector));
        }
        catch (Exception e) when (e is KafkaException or InvalidOperationException)
        {
            ConnectLog.FencingFailed(logger, e, connector, e.Message);
        }
    }

    private static IReadOnlyDictionary<string, string> ConnectorConfigOf(WorkerTask task) => task switch
    {
        WorkerSourceTask s => s.ConnectorSettings,
        WorkerSinkTask s => s.ConnectorSettings,
        _ => new Dictionary<string, string>(),
    };

    private async Task ReconfigureTasksAsync(string name, TargetState target, ClusterConfigState snapshot)
    {
        IReadOnlyList<IReadOnlyDictionary<string, string>>? wanted = target == TargetState.STOPPED
            ? [] // KIP-875: a stopped connector keeps no task configs
            : worker.Connectors.GetValueOrDefault(name)?.TaskConfigs();
        if (wanted is null)
        {
            return;
        }

        var current = snapshot.Tasks.GetValueOrDefault(name);
        if (current is not null && current.Count == wanted.Count && current.Zip(wanted).All(p => SameConfig(p.First, p.Second)))
        {
            return;
        }

        await configs.PutTaskConfigsAsync(name, wanted);
    }

    private async Task ApplyRestartAsync(RestartRequest request, ClusterConfigState snapshot, HashSet<string> myConnectors, HashSet<TaskId> myTasks)
    {
        if (!snapshot.Connectors.TryGetValue(request.Connector, out var cfg))
        {
            return;
        }

        var target = snapshot.TargetStateOf(request.Connector);
        if (request.Task is { } taskId)
        {
            if (myTasks.Contains(new TaskId(request.Connector, taskId)) && taskId < snapshot.TaskCount(request.Connector))
            {
                await RestartTaskHereAsync(request.Connector, taskId, cfg, snapshot.Tasks[request.Connector][taskId], target);
            }

            return;
        }

        if (myConnectors.Contains(request.Connector))
        {
            var running = worker.Connectors.GetValueOrDefault(request.Connector);
            if (!request.OnlyFailed || running is null || running.IsFailed)
            {
                worker.ReportConnector(request.Connector, States.Restarting);
                worker.StopConnector(request.Connector);
                worker.StartConnector(request.Connector, cfg, target);
                await ReconfigureTasksAsync(request.Connector, target, snapshot);
            }
        }

        if (request.IncludeTasks)
        {
            for (var i = 0; i < snapshot.TaskCount(request.Connector); i++)
            {
                if (!myTasks.Contains(new TaskId(request.Connector, i)))
                {
                    continue;
                }

                var running = worker.Tasks.GetValueOrDefault((request.Connector, i));
                if (!request.OnlyFailed || running is null || running.IsFailed)
                {
                    await RestartTaskHereAsync(request.Connector, i, cfg, snapshot.Tasks[request.Connector][i], target);
                }
            }
        }
    }

    private async Task RestartTaskHereAsync(string connector, int id, IReadOnlyDictionary<string, string> cfg, IReadOnlyDictionary<string, string> taskConfig, TargetState target)
    {
        worker.ReportTask(connector, id, States.Restarting);
        await worker.StopTaskAsync(connector, id);
        worker.StartTask(connector, id, cfg, taskConfig, target);
    }

    private static bool SameConfig(IReadOnlyDictionary<string, string> a, IReadOnlyDictionary<string, string> b) =>
        a.Count == b.Count && a.All(p => b.TryGetValue(p.Key, out var v) && v == p.Value);

    // ---- REST operations ----

    public IReadOnlyList<string> ConnectorNames() => [.. configs.Snapshot().Connectors.Keys.Order(StringComparer.Ordinal)];

    private IReadOnlyDictionary<string, string> RequireConfig(ClusterConfigState s, string name) =>
        s.Connectors.GetValueOrDefault(name) ?? throw ConnectRestException.NotFound(name);

    public string TypeOf(IReadOnlyDictionary<string, string> cfg) =>
        plugins.Find(cfg.GetValueOrDefault(ConnectorConfig.ConnectorClass) ?? "")?.Kind switch
        {
            PluginKind.Source => "source",
            PluginKind.Sink => "sink",
            _ => "unknown",
        };

    public ConnectorInfo Info(string name)
    {
        var s = configs.Snapshot();
        var cfg = RequireConfig(s, name);
        return new ConnectorInfo(name, cfg, [.. Enumerable.Range(0, s.TaskCount(name))], TypeOf(cfg));
    }

    public IReadOnlyDictionary<string, string> Config(string name) => RequireConfig(configs.Snapshot(), name);

    public IReadOnlyList<(int Id, IReadOnlyDictionary<string, string> Config)> TaskConfigs(string name)
    {
        var s = configs.Snapshot();
        RequireConfig(s, name);
        return s.Tasks.TryGetValue(name, out var t) ? [.. t.Select((c, i) => (i, c))] : [];
    }

    /// <summary>Creates or replaces a connector after validating its config; true when it was created.</summary>
    public async Task<(bool Created, ConnectorInfo Info)> PutConnectorConfigAsync(string name, IReadOnlyDictionary<string, string> config, bool allowReplace)
    {
        if (name.Trim().Length == 0)
        {
            throw new ConnectRestException(400, "Connector name must not be empty");
        }

        if (name.Contains('/', StringComparison.Ordinal) || name.Any(char.IsControl))
        {
            throw new ConnectRestException(400, $"Connector name '{name}' contains invalid characters");
        }

        var full = new Dictionary<string, string>(config, StringComparer.Ordinal) { [ConnectorConfig.Name] = name };
        if (!full.TryGetValue(ConnectorConfig.ConnectorClass, out var cls) || cls.Trim().Length == 0)
        {
            throw new ConnectRestException(400, "Connector config " + Show(full) + " contains no connector type");
        }

        ValidationResult result;
        try
        {
            result = ConnectorConfig.Validate(plugins, cls, full, this.config.ExactlyOnceSourceSupport);
        }
        catch (PluginNotFoundException e)
        {
            throw new ConnectRestException(400, e.Message);
        }

        if (result.ErrorCount > 0)
        {
            var messages = result.Configs.SelectMany(c => c.Value.ErrorMessages.Select(m => $"{c.Key.Name}: {m}"));
            throw new ConnectRestException(400, $"Connector configuration is invalid and contains the following {result.ErrorCount} error(s):\n"
                + string.Join("\n", messages) + "\nYou can also find the above list of errors at the endpoint `/connector-plugins/{connectorType}/config/validate`");
        }

        await configs.ReadToEndAsync(CancellationToken.None);
        var exists = configs.Snapshot().Connectors.ContainsKey(name);
        if (exists && !allowReplace)
        {
            throw new ConnectRestException(409, $"Connector {name} already exists");
        }

        await configs.PutConnectorConfigAsync(name, full, exists ? null : TargetState.STARTED);
        return (!exists, new ConnectorInfo(name, full, [.. Enumerable.Range(0, configs.Snapshot().TaskCount(name))], TypeOf(full)));
    }

    private static string Show(IReadOnlyDictionary<string, string> cfg) => "{" + string.Join(", ", cfg.Select(p => $"{p.Key}={p.Value}")) + "}";

    public async Task DeleteConnectorAsync(string name)
    {
        await configs.ReadToEndAsync(CancellationToken.None);
        var s = configs.Snapshot();
        RequireConfig(s, name);
        await configs.RemoveConnectorConfigAsync(name);
        statuses.DeleteConnector(name, s.TaskCount(name));
    }

    public async Task SetTargetStateAsync(string name, TargetState state)
    {
        await configs.ReadToEndAsync(CancellationToken.None);
        RequireConfig(configs.Snapshot(), name);
        await configs.PutTargetStateAsync(name, state);
    }

    public JsonObject Status(string name)
    {
        var s = configs.Snapshot();
        var cfg = RequireConfig(s, name);
        var connector = statuses.GetConnector(name);
        var tasks = new JsonArray();
        for (var i = 0; i < s.TaskCount(name); i++)
        {
            tasks.Add(TaskStatusJson(name, i));
        }

        return new JsonObject
        {
            ["name"] = name,
            ["connector"] = StateJson(connector),
            ["tasks"] = tasks,
            ["type"] = TypeOf(cfg),
        };
    }

    public JsonObject TaskStatus(string name, int id)
    {
        var s = configs.Snapshot();
        RequireConfig(s, name);
        if (id < 0 || id >= s.TaskCount(name))
        {
            throw new ConnectRestException(404, $"Task {name}-{id} not found");
        }

        return TaskStatusJson(name, id);
    }

    private JsonObject TaskStatusJson(string name, int id)
    {
        var o = StateJson(statuses.GetTask(name, id));
        var result = new JsonObject { ["id"] = id };
        foreach (var (k, v) in o.ToList())
        {
            o.Remove(k);
            result[k] = v;
        }

        return result;
    }

    private JsonObject StateJson(StatusEntry? e)
    {
        var o = new JsonObject { ["state"] = e?.State ?? States.Unassigned, ["worker_id"] = e?.WorkerId ?? WorkerId };
        if (e?.Trace is { } trace)
        {
            o["trace"] = trace;
        }

        return o;
    }

    public async Task<JsonObject?> RestartConnectorAsync(string name, bool includeTasks, bool onlyFailed)
    {
        await configs.ReadToEndAsync(CancellationToken.None);
        var s = configs.Snapshot();
        RequireConfig(s, name);
        JsonObject? plan = null;
        if (includeTasks || onlyFailed)
        {
            // Kafka answers 202 with the states the restart leaves: RESTARTING for what will restart.
            plan = Status(name);
            var connectorState = plan["connector"]!.AsObject();
            if (!onlyFailed || connectorState["state"]!.GetValue<string>() == States.Failed)
            {
                connectorState["state"] = States.Restarting;
            }

            if (includeTasks)
            {
                foreach (var t in plan["tasks"]!.AsArray())
                {
                    if (!onlyFailed || t!["state"]!.GetValue<string>() == States.Failed)
                    {
                        t!["state"] = States.Restarting;
                    }
                }
            }
        }

        await configs.PutRestartRequestAsync(new RestartRequest(0, name, null, includeTasks, onlyFailed));
        return plan;
    }

    public async Task RestartTaskAsync(string name, int id)
    {
        await configs.ReadToEndAsync(CancellationToken.None);
        var s = configs.Snapshot();
        RequireConfig(s, name);
        if (id < 0 || id >= s.TaskCount(name))
        {
            throw new ConnectRestException(404, $"Task {name}-{id} not found");
        }

        await configs.PutRestartRequestAsync(new RestartRequest(0, name, id, false, false));
    }

    // ---- offsets (KIP-875) ----

    public async Task<JsonObject> GetOffsetsAsync(string name)
    {
        var s = configs.Snapshot();
        var cfg = RequireConfig(s, name);
        var list = new JsonArray();
        if (TypeOf(cfg) == "sink")
        {
            using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = config.BootstrapServers }).Build();
            var result = await admin.ListConsumerGroupOffsetsAsync([new ConsumerGroupTopicPartitions(WorkerSinkTask.GroupIdOf(name), null)]);
            foreach (var tpo in result.SelectMany(r => r.Partitions).Where(p => p.Offset.Value >= 0).OrderBy(p => p.Topic, StringComparer.Ordinal).ThenBy(p => p.Partition.Value))
            {
                list.Add(new JsonObject
                {
                    ["partition"] = new JsonObject { ["kafka_topic"] = tpo.Topic, ["kafka_partition"] = tpo.Partition.Value },
                    ["offset"] = new JsonObject { ["kafka_offset"] = tpo.Offset.Value },
                });
            }
        }
        else
        {
            foreach (var (p, o) in await offsets.ReadAsync(name, CancellationToken.None))
            {
                list.Add(new JsonObject { ["partition"] = p, ["offset"] = o });
            }
        }

        return new JsonObject { ["offsets"] = list };
    }

    private void RequireStopped(string name, ClusterConfigState s)
    {
        if (s.TargetStateOf(name) != TargetState.STOPPED)
        {
            throw new ConnectRestException(400, "Connectors must be in the STOPPED state before their offsets can be modified. This can be done "
                + $"for the specified connector by issuing a 'PUT' request to the '/connectors/{name}/stop' endpoint");
        }
    }

    /// <summary>PATCH (alter, <paramref name="patch"/> given) or DELETE (reset, null) offsets of a stopped connector.</summary>
    public async Task<string> ModifyOffsetsAsync(string name, JsonArray? patch)
    {
        await configs.ReadToEndAsync(CancellationToken.None);
        var s = configs.Snapshot();
        var cfg = RequireConfig(s, name);
        RequireStopped(name, s);
        if (TypeOf(cfg) == "sink")
        {
            using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = config.BootstrapServers }).Build();
            var group = WorkerSinkTask.GroupIdOf(name);
            if (patch is null)
            {
                var existing = await admin.ListConsumerGroupOffsetsAsync([new ConsumerGroupTopicPartitions(group, null)]);
                var parts = existing.SelectMany(r => r.Partitions).Select(p => p.TopicPartition).ToList();
                if (parts.Count > 0)
                {
                    await admin.DeleteConsumerGroupOffsetsAsync(group, parts);
                }
            }
            else
            {
                var alter = new List<TopicPartitionOffset>();
                var delete = new List<TopicPartition>();
                foreach (var entry in patch)
                {
                    var p = entry?["partition"] as JsonObject ?? throw new ConnectRestException(400, "Each offset entry must have a 'partition'");
                    var topic = p["kafka_topic"]?.GetValue<string>() ?? throw new ConnectRestException(400, "Partitions for sink connectors must contain the key 'kafka_topic'");
                    var partition = p["kafka_partition"]?.GetValue<int>() ?? throw new ConnectRestException(400, "Partitions for sink connectors must contain the key 'kafka_partition'");
                    if (entry!["offset"] is JsonObject o)
                    {
                        var off = o["kafka_offset"]?.GetValue<long>() ?? throw new ConnectRestException(400, "Offsets for sink connectors must contain the key 'kafka_offset'");
                        alter.Add(new TopicPartitionOffset(topic, partition, off));
                    }
                    else
                    {
                        delete.Add(new TopicPartition(topic, partition));
                    }
                }

                if (alter.Count > 0)
                {
                    await admin.AlterConsumerGroupOffsetsAsync([new ConsumerGroupTopicPartitionOffsets(group, alter)]);
                }

                if (delete.Count > 0)
                {
                    await admin.DeleteConsumerGroupOffsetsAsync(group, delete);
                }
            }
        }
        else
        {
            List<(JsonObject, JsonObject?)> writes;
            if (patch is null)
            {
                writes = [.. (await offsets.ReadAsync(name, CancellationToken.None)).Select(e => (e.Partition, (JsonObject?)null))];
            }
            else
            {
                writes = [];
                foreach (var entry in patch)
                {
                    var p = entry?["partition"] as JsonObject ?? throw new ConnectRestException(400, "Each offset entry must have a non-null 'partition'");
                    writes.Add(((JsonObject)p.DeepClone(), entry!["offset"] is JsonObject o ? (JsonObject)o.DeepClone() : null));
                }
            }

            if (writes.Count > 0)
            {
                await offsets.WriteAsync(name, writes, CancellationToken.None);
            }
        }

        return patch is null
            ? "The offsets for this connector have been reset successfully"
            : "The offsets for this connector have been altered successfully";
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        if (loop is not null)
        {
            await loop.ContinueWith(_ => { }, TaskScheduler.Default);
        }

        if (group is not null)
        {
            await group.DisposeAsync();
        }

        await worker.DisposeAsync();
        await configs.DisposeAsync();
        await statuses.DisposeAsync();
        await offsets.DisposeAsync();
        stop.Dispose();
    }
}
