using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Confluent.Kafka;

namespace Tributary.Connect.Storage;

/// <summary>
/// The config topic (one partition, compacted), with Kafka's record keys: <c>connector-{c}</c> → <c>{"properties":{…}}</c>,
/// <c>task-{c}-{n}</c> → <c>{"properties":{…}}</c>, <c>commit-{c}</c> → <c>{"tasks":n}</c> (task configs become visible only once
/// committed), <c>target-state-{c}</c> → <c>{"state":"PAUSED"}</c>, <c>restart-connector-{c}</c> →
/// <c>{"include-tasks":…,"only-failed":…}</c>, <c>task-count-{c}</c> → <c>{"task-count":n}</c> (KIP-618: the previous generation is
/// fenced); ours: <c>restart-task-{c}-{n}</c>. A null value deletes.
/// </summary>
public sealed class KafkaConfigBackingStore(string bootstrap, string topic, short replicationFactor, string clientId) : IConfigBackingStore
{
    private const int MaxTasks = 10_000;

    private readonly object gate = new();
    private readonly Dictionary<string, IReadOnlyDictionary<string, string>> connectors = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TargetState> targets = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IReadOnlyList<IReadOnlyDictionary<string, string>>> tasks = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Dictionary<int, IReadOnlyDictionary<string, string>>> pendingTasks = new(StringComparer.Ordinal);
    private readonly List<RestartRequest> restarts = [];
    private readonly Dictionary<string, int> taskCountRecords = new(StringComparer.Ordinal);
    private readonly HashSet<string> pendingFencing = new(StringComparer.Ordinal);
    private KafkaBasedLog? log;
    private long offset = -1;
    private long startedAt = long.MaxValue;
    private ClusterConfigState? snapshot;

    public event Action? Changed;

    public async Task StartAsync(CancellationToken cancellation)
    {
        log = new KafkaBasedLog(bootstrap, topic, 1, replicationFactor, Apply);
        await log.StartAsync(clientId, cancellation);
        lock (gate)
        {
            startedAt = offset;
        }
    }

    private void Apply(ConsumeResult<byte[]?, byte[]?> r)
    {
        var key = r.Message.Key is null ? "" : Encoding.UTF8.GetString(r.Message.Key);
        JsonObject? value = null;
        if (r.Message.Value is not null)
        {
            try
            {
                value = JsonNode.Parse(r.Message.Value) as JsonObject;
            }
            catch (JsonException)
            {
                value = null; // an unreadable record is skipped (and logged by the caller's absence of change)
            }
        }

        lock (gate)
        {
            offset = r.Offset.Value;
            snapshot = null;
            if (key.StartsWith("connector-", StringComparison.Ordinal))
            {
                var name = key["connector-".Length..];
                if (r.Message.Value is null)
                {
                    connectors.Remove(name);
                    targets.Remove(name);
                    tasks.Remove(name);
                    pendingTasks.Remove(name);
                    taskCountRecords.Remove(name);
                    pendingFencing.Remove(name);
                }
                else if (value?["properties"] is JsonObject props)
                {
                    connectors[name] = ToMap(props);
                }
            }
            else if (key.StartsWith("target-state-", StringComparison.Ordinal))
            {
                var name = key["target-state-".Length..];
                if (value?["state"]?.GetValue<string>() is { } s && Enum.TryParse<TargetState>(s, out var t))
                {
                    targets[name] = t;
                }
                else
                {
                    targets.Remove(name);
                }
            }
            else if (key.StartsWith("task-count-", StringComparison.Ordinal))
            {
                var name = key["task-count-".Length..];
                if (value?["task-count"] is JsonValue n && n.TryGetValue<int>(out var count) && count >= 0 && count <= MaxTasks)
                {
                    taskCountRecords[name] = count;
                    pendingFencing.Remove(name);
                }
            }
            else if (key.StartsWith("task-", StringComparison.Ordinal))
            {
                var rest = key["task-".Length..];
                var dash = rest.LastIndexOf('-');
                if (dash > 0 && int.TryParse(rest[(dash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var id) && id < MaxTasks
                    && value?["properties"] is JsonObject props)
                {
                    var name = rest[..dash];
                    if (!pendingTasks.TryGetValue(name, out var pending))
                    {
                        pendingTasks[name] = pending = [];
                    }

                    pending[id] = ToMap(props);
                }
            }
            else if (key.StartsWith("commit-", StringComparison.Ordinal))
            {
                var name = key["commit-".Length..];
                var count = value?["tasks"]?.GetValue<int>() ?? 0;
                pendingTasks.TryGetValue(name, out var pending);
                var list = new List<IReadOnlyDictionary<string, string>>();
                for (var i = 0; i < count && i < MaxTasks; i++)
                {
                    if (pending is null || !pending.TryGetValue(i, out var cfg))
                    {
                        list = null;
                        break;
                    }

                    list.Add(cfg);
                }

                if (list is not null)
                {
                    tasks[name] = list;
                    pendingTasks.Remove(name);
                    pendingFencing.Add(name);
                }
            }
            else if (key.StartsWith("restart-connector-", StringComparison.Ordinal) && value is not null)
            {
                restarts.Add(new RestartRequest(r.Offset.Value, key["restart-connector-".Length..], null,
                    value["include-tasks"]?.GetValue<bool>() ?? false, value["only-failed"]?.GetValue<bool>() ?? false));
            }
            else if (key.StartsWith("restart-task-", StringComparison.Ordinal) && value is not null)
            {
                var rest = key["restart-task-".Length..];
                var dash = rest.LastIndexOf('-');
                if (dash > 0 && int.TryParse(rest[(dash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var id))
                {
                    restarts.Add(new RestartRequest(r.Offset.Value, rest[..dash], id, false, false));
                }
            }

            if (restarts.Count > 1000)
            {
                restarts.RemoveRange(0, restarts.Count - 1000);
            }
        }

        Changed?.Invoke();
    }

    private static Dictionary<string, string> ToMap(JsonObject o) =>
        o.Where(p => p.Value is not null).ToDictionary(p => p.Key, p => p.Value is JsonValue v && v.TryGetValue<string>(out var s) ? s : p.Value!.ToJsonString(), StringComparer.Ordinal);

    private static byte[] Props(IReadOnlyDictionary<string, string> map)
    {
        var props = new JsonObject();
        foreach (var (k, v) in map)
        {
            props[k] = v;
        }

        return JsonSerializer.SerializeToUtf8Bytes(new JsonObject { ["properties"] = props });
    }

    public ClusterConfigState Snapshot()
    {
        lock (gate)
        {
            return snapshot ??= new ClusterConfigState(offset,
                new Dictionary<string, IReadOnlyDictionary<string, string>>(connectors),
                new Dictionary<string, TargetState>(targets),
                new Dictionary<string, IReadOnlyList<IReadOnlyDictionary<string, string>>>(tasks),
                new Dictionary<string, int>(taskCountRecords), new HashSet<string>(pendingFencing, StringComparer.Ordinal));
        }
    }

    private static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);

    public async Task PutConnectorConfigAsync(string connector, IReadOnlyDictionary<string, string> config, TargetState? targetState)
    {
        if (targetState is { } t)
        {
            await log!.SendAsync(Utf8("target-state-" + connector), JsonSerializer.SerializeToUtf8Bytes(new JsonObject { ["state"] = t.ToString() }));
        }

        await log!.SendAsync(Utf8("connector-" + connector), Props(config));
        await ReadToEndAsync(CancellationToken.None);
    }

    public async Task RemoveConnectorConfigAsync(string connector)
    {
        await log!.SendAsync(Utf8("connector-" + connector), null);
        await log.SendAsync(Utf8("target-state-" + connector), null);
        await ReadToEndAsync(CancellationToken.None);
    }

    public async Task PutTaskConfigsAsync(string connector, IReadOnlyList<IReadOnlyDictionary<string, string>> taskConfigs)
    {
        for (var i = 0; i < taskConfigs.Count; i++)
        {
            await log!.SendAsync(Utf8($"task-{connector}-{i}"), Props(taskConfigs[i]));
        }

        await log!.SendAsync(Utf8("commit-" + connector), JsonSerializer.SerializeToUtf8Bytes(new JsonObject { ["tasks"] = taskConfigs.Count }));
        await ReadToEndAsync(CancellationToken.None);
    }

    public async Task PutTargetStateAsync(string connector, TargetState state)
    {
        await log!.SendAsync(Utf8("target-state-" + connector), JsonSerializer.SerializeToUtf8Bytes(new JsonObject { ["state"] = state.ToString() }));
        await ReadToEndAsync(CancellationToken.None);
    }

    public async Task PutTaskCountRecordAsync(string connector, int taskCount)
    {
        await log!.SendAsync(Utf8("task-count-" + connector), JsonSerializer.SerializeToUtf8Bytes(new JsonObject { ["task-count"] = taskCount }));
        await ReadToEndAsync(CancellationToken.None);
    }

    public async Task PutRestartRequestAsync(RestartRequest request)
    {
        if (request.Task is { } task)
        {
            await log!.SendAsync(Utf8($"restart-task-{request.Connector}-{task}"), JsonSerializer.SerializeToUtf8Bytes(new JsonObject()));
        }
        else
        {
            await log!.SendAsync(Utf8("restart-connector-" + request.Connector), JsonSerializer.SerializeToUtf8Bytes(new JsonObject
            {
                ["include-tasks"] = request.IncludeTasks, ["only-failed"] = request.OnlyFailed,
            }));
        }

        await ReadToEndAsync(CancellationToken.None);
    }

    public IReadOnlyList<RestartRequest> RestartRequestsAfter(long after)
    {
        lock (gate)
        {
            var from = Math.Max(after, startedAt);
            return restarts.Where(r => r.Sequence > from).ToList();
        }
    }

    public Task ReadToEndAsync(CancellationToken cancellation) => log!.ReadToEndAsync(cancellation);

    public async ValueTask DisposeAsync()
    {
        if (log is not null)
        {
            await log.DisposeAsync();
        }
    }
}

/// <summary>The status topic: <c>status-connector-{c}</c> and <c>status-task-{c}-{n}</c> → <c>{"state","trace","worker_id","generation"}</c>.</summary>
public sealed class KafkaStatusBackingStore(string bootstrap, string topic, int partitions, short replicationFactor, string clientId) : IStatusBackingStore
{
    private readonly Dictionary<string, StatusEntry> entries = new(StringComparer.Ordinal);
    private KafkaBasedLog? log;

    public async Task StartAsync(CancellationToken cancellation)
    {
        log = new KafkaBasedLog(bootstrap, topic, partitions, replicationFactor, r =>
        {
            var key = r.Message.Key is null ? "" : Encoding.UTF8.GetString(r.Message.Key);
            lock (entries)
            {
                if (r.Message.Value is null)
                {
                    entries.Remove(key);
                    return;
                }

                try
                {
                    if (JsonNode.Parse(r.Message.Value) is JsonObject o && o["state"]?.GetValue<string>() is { } state)
                    {
                        entries[key] = new StatusEntry(state, o["trace"]?.GetValue<string>(), o["worker_id"]?.GetValue<string>() ?? "", o["generation"]?.GetValue<int>() ?? 0);
                    }
                }
                catch (JsonException)
                {
                }
            }
        });
        await log.StartAsync(clientId, cancellation);
    }

    private void Put(string key, StatusEntry? status)
    {
        lock (entries)
        {
            if (status is null)
            {
                entries.Remove(key);
            }
            else
            {
                entries[key] = status;
            }
        }

        var value = status is null ? null : JsonSerializer.SerializeToUtf8Bytes(new JsonObject
        {
            ["state"] = status.State, ["trace"] = status.Trace, ["worker_id"] = status.WorkerId, ["generation"] = status.Generation,
        });
        // Written in the background: a status is advisory and is rewritten on the next transition.
        _ = log!.SendAsync(Encoding.UTF8.GetBytes(key), value).ContinueWith(t => _ = t.Exception, TaskScheduler.Default);
    }

    public void PutConnector(string connector, StatusEntry status) => Put("status-connector-" + connector, status);

    public void PutTask(string connector, int task, StatusEntry status) => Put($"status-task-{connector}-{task}", status);

    public StatusEntry? GetConnector(string connector)
    {
        lock (entries)
        {
            return entries.GetValueOrDefault("status-connector-" + connector);
        }
    }

    public StatusEntry? GetTask(string connector, int task)
    {
        lock (entries)
        {
            return entries.GetValueOrDefault($"status-task-{connector}-{task}");
        }
    }

    public void DeleteConnector(string connector, int taskCount)
    {
        Put("status-connector-" + connector, null);
        for (var i = 0; i < taskCount; i++)
        {
            Put($"status-task-{connector}-{i}", null);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (log is not null)
        {
            await log.DisposeAsync();
        }
    }
}

/// <summary>The offsets topic (compacted): key <c>["connector",{partition}]</c>, value the offset as JSON (null removes it).</summary>
public sealed class KafkaOffsetBackingStore(string bootstrap, string topic, int partitions, short replicationFactor, string clientId) : IOffsetBackingStore
{
    private readonly Dictionary<string, (string Connector, JsonObject Partition, JsonObject Offset)> entries = new(StringComparer.Ordinal);
    private KafkaBasedLog? log;

    public async Task StartAsync(CancellationToken cancellation)
    {
        log = new KafkaBasedLog(bootstrap, topic, partitions, replicationFactor, r =>
        {
            if (r.Message.Key is null)
            {
                return;
            }

            try
            {
                if (JsonNode.Parse(r.Message.Key) is not JsonArray { Count: 2 } key || key[0]?.GetValue<string>() is not { } connector || key[1] is not JsonObject partition)
                {
                    return;
                }

                var id = connector + "\n" + OffsetJson.Canonical(partition);
                lock (entries)
                {
                    if (r.Message.Value is null)
                    {
                        entries.Remove(id);
                    }
                    else if (JsonNode.Parse(r.Message.Value) is JsonObject offset)
                    {
                        entries[id] = (connector, (JsonObject)partition.DeepClone(), offset);
                    }
                }
            }
            catch (JsonException)
            {
            }
        });
        await log.StartAsync(clientId, cancellation);
    }

    public async Task<IReadOnlyList<(JsonObject Partition, JsonObject Offset)>> ReadAsync(string connector, CancellationToken cancellation)
    {
        await log!.ReadToEndAsync(cancellation);
        lock (entries)
        {
            return entries.Values.Where(e => e.Connector == connector).Select(e => ((JsonObject)e.Partition.DeepClone(), (JsonObject)e.Offset.DeepClone())).ToList();
        }
    }

    public async Task WriteAsync(string connector, IReadOnlyList<(JsonObject Partition, JsonObject? Offset)> offsets, CancellationToken cancellation)
    {
        var sends = offsets.Select(o => log!.SendAsync(OffsetJson.Key(connector, o.Partition), o.Offset is null ? null : JsonSerializer.SerializeToUtf8Bytes(o.Offset))).ToList();
        await Task.WhenAll(sends);
        foreach (var (p, o) in offsets)
        {
            var id = connector + "\n" + OffsetJson.Canonical(p);
            lock (entries)
            {
                if (o is null)
                {
                    entries.Remove(id);
                }
                else
                {
                    entries[id] = (connector, (JsonObject)p.DeepClone(), (JsonObject)o.DeepClone());
                }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (log is not null)
        {
            await log.DisposeAsync();
        }
    }
}
