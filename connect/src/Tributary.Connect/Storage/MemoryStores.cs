using System.Text.Json;
using System.Text.Json.Nodes;

namespace Tributary.Connect.Storage;

/// <summary>Standalone mode's config store: connector configs live as long as the worker.</summary>
public sealed class MemoryConfigBackingStore : IConfigBackingStore
{
    private readonly object gate = new();
    private readonly List<RestartRequest> restarts = [];
    private ClusterConfigState state = ClusterConfigState.Empty;
    private long sequence;

    public event Action? Changed;

    public Task StartAsync(CancellationToken cancellation) => Task.CompletedTask;

    public ClusterConfigState Snapshot()
    {
        lock (gate)
        {
            return state;
        }
    }

    private Task Update(Func<ClusterConfigState, ClusterConfigState> change)
    {
        lock (gate)
        {
            state = change(state) with { Offset = ++sequence };
        }

        Changed?.Invoke();
        return Task.CompletedTask;
    }

    public Task PutConnectorConfigAsync(string connector, IReadOnlyDictionary<string, string> config, TargetState? targetState) => Update(s =>
    {
        var connectors = new Dictionary<string, IReadOnlyDictionary<string, string>>(s.Connectors) { [connector] = config };
        var targets = new Dictionary<string, TargetState>(s.TargetStates);
        if (targetState is { } t)
        {
            targets[connector] = t;
        }

        return s with { Connectors = connectors, TargetStates = targets };
    });

    public Task RemoveConnectorConfigAsync(string connector) => Update(s =>
    {
        var connectors = new Dictionary<string, IReadOnlyDictionary<string, string>>(s.Connectors);
        connectors.Remove(connector);
        var targets = new Dictionary<string, TargetState>(s.TargetStates);
        targets.Remove(connector);
        var tasks = new Dictionary<string, IReadOnlyList<IReadOnlyDictionary<string, string>>>(s.Tasks);
        tasks.Remove(connector);
        return s with { Connectors = connectors, TargetStates = targets, Tasks = tasks };
    });

    /// <summary>Standalone workers run no exactly-once source tasks (the worker refuses the setting), so nothing needs fencing.</summary>
    public Task PutTaskCountRecordAsync(string connector, int taskCount) => Task.CompletedTask;

    public Task PutTaskConfigsAsync(string connector, IReadOnlyList<IReadOnlyDictionary<string, string>> taskConfigs) => Update(s =>
        s with { Tasks = new Dictionary<string, IReadOnlyList<IReadOnlyDictionary<string, string>>>(s.Tasks) { [connector] = taskConfigs } });

    public Task PutTargetStateAsync(string connector, TargetState targetState) => Update(s =>
        s with { TargetStates = new Dictionary<string, TargetState>(s.TargetStates) { [connector] = targetState } });

    public Task PutRestartRequestAsync(RestartRequest request)
    {
        lock (gate)
        {
            restarts.Add(request with { Sequence = ++sequence });
        }

        Changed?.Invoke();
        return Task.CompletedTask;
    }

    public IReadOnlyList<RestartRequest> RestartRequestsAfter(long after)
    {
        lock (gate)
        {
            return restarts.Where(r => r.Sequence > after).ToList();
        }
    }

    public Task ReadToEndAsync(CancellationToken cancellation) => Task.CompletedTask;

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>Standalone mode's status store.</summary>
public sealed class MemoryStatusBackingStore : IStatusBackingStore
{
    private readonly Dictionary<string, StatusEntry> entries = new(StringComparer.Ordinal);

    public Task StartAsync(CancellationToken cancellation) => Task.CompletedTask;

    public void PutConnector(string connector, StatusEntry status)
    {
        lock (entries)
        {
            entries["status-connector-" + connector] = status;
        }
    }

    public void PutTask(string connector, int task, StatusEntry status)
    {
        lock (entries)
        {
            entries[$"status-task-{connector}-{task}"] = status;
        }
    }

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
        lock (entries)
        {
            entries.Remove("status-connector-" + connector);
            foreach (var k in entries.Keys.Where(k => k.StartsWith($"status-task-{connector}-", StringComparison.Ordinal)).ToList())
            {
                entries.Remove(k);
            }
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>
/// Standalone mode's offsets: <c>offset.storage.file.filename</c>, rewritten whole (temp file + rename) on every commit so a
/// crash leaves the previous or the new version, never a torn one.
/// </summary>
public sealed class FileOffsetBackingStore(string path) : IOffsetBackingStore
{
    /// <summary>Bound on the offsets file we are willing to read back.</summary>
    private const long MaxFileBytes = 64L * 1024 * 1024;

    private readonly SemaphoreSlim gate = new(1, 1);
    private readonly Dictionary<string, (string Connector, JsonObject Partition, JsonObject Offset)> entries = new(StringComparer.Ordinal);

    public async Task StartAsync(CancellationToken cancellation)
    {
        if (!File.Exists(path))
        {
            return;
        }

        var info = new FileInfo(path);
        if (info.Length > MaxFileBytes)
        {
            throw new InvalidDataException($"Offsets file {path} is {info.Length} bytes, more than the {MaxFileBytes} this worker reads.");
        }

        var json = JsonNode.Parse(await File.ReadAllTextAsync(path, cancellation)) as JsonArray
            ?? throw new InvalidDataException($"Offsets file {path} does not hold a JSON array.");
        foreach (var e in json)
        {
            if (e?["connector"]?.GetValue<string>() is { } c && e["partition"] is JsonObject p && e["offset"] is JsonObject o)
            {
                entries[c + "\n" + OffsetJson.Canonical(p)] = (c, (JsonObject)p.DeepClone(), (JsonObject)o.DeepClone());
            }
        }
    }

    public async Task<IReadOnlyList<(JsonObject Partition, JsonObject Offset)>> ReadAsync(string connector, CancellationToken cancellation)
    {
        await gate.WaitAsync(cancellation);
        try
        {
            return entries.Values.Where(e => e.Connector == connector).Select(e => ((JsonObject)e.Partition.DeepClone(), (JsonObject)e.Offset.DeepClone())).ToList();
        }
        finally
        {
            gate.Release();
        }
    }

    public async Task WriteAsync(string connector, IReadOnlyList<(JsonObject Partition, JsonObject? Offset)> offsets, CancellationToken cancellation)
    {
        await gate.WaitAsync(cancellation);
        try
        {
            foreach (var (p, o) in offsets)
            {
                var key = connector + "\n" + OffsetJson.Canonical(p);
                if (o is null)
                {
                    entries.Remove(key);
                }
                else
                {
                    entries[key] = (connector, (JsonObject)p.DeepClone(), (JsonObject)o.DeepClone());
                }
            }

            var array = new JsonArray(entries.Values.Select(e => (JsonNode)new JsonObject
            {
                ["connector"] = e.Connector, ["partition"] = e.Partition.DeepClone(), ["offset"] = e.Offset.DeepClone(),
            }).ToArray());
            var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
            Directory.CreateDirectory(dir);
            var temp = path + ".tmp";
            await using (var f = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                await JsonSerializer.SerializeAsync(f, array, cancellationToken: cancellation);
                f.Flush(flushToDisk: true);
            }

            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            gate.Release();
        }
    }

    public ValueTask DisposeAsync()
    {
        gate.Dispose();
        return ValueTask.CompletedTask;
    }
}
