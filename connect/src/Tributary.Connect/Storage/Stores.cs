using System.Text.Json;
using System.Text.Json.Nodes;
using Tributary.Connect.Converters;

namespace Tributary.Connect.Storage;

/// <summary>What the user asked a connector to be (Kafka's TargetState; STOPPED is KIP-875's).</summary>
public enum TargetState
{
    STARTED,
    PAUSED,
    STOPPED,
}

/// <summary>Everything the config store holds at one point: connector configs, target states and committed task configs.</summary>
public sealed record ClusterConfigState(
    long Offset,
    IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> Connectors,
    IReadOnlyDictionary<string, TargetState> TargetStates,
    IReadOnlyDictionary<string, IReadOnlyList<IReadOnlyDictionary<string, string>>> Tasks,
    IReadOnlyDictionary<string, int>? TaskCountRecords = null,
    IReadOnlySet<string>? PendingFencing = null)
{
    public static readonly ClusterConfigState Empty = new(-1, new Dictionary<string, IReadOnlyDictionary<string, string>>(),
        new Dictionary<string, TargetState>(), new Dictionary<string, IReadOnlyList<IReadOnlyDictionary<string, string>>>());

    public TargetState TargetStateOf(string connector) => TargetStates.GetValueOrDefault(connector, TargetState.STARTED);

    public int TaskCount(string connector) => Tasks.TryGetValue(connector, out var t) ? t.Count : 0;

    /// <summary>The task count of the generation whose zombies were last fenced (KIP-618's task-count record), null when none.</summary>
    public int? TaskCountRecord(string connector) => TaskCountRecords?.TryGetValue(connector, out var n) == true ? n : null;

    /// <summary>New task configs were committed after the last task-count record: the previous generation is not fenced yet.</summary>
    public bool IsPendingFencing(string connector) => PendingFencing?.Contains(connector) == true;
}

/// <summary>A restart asked for through REST (POST …/restart), delivered to whichever worker runs the connector or task.</summary>
public sealed record RestartRequest(long Sequence, string Connector, int? Task, bool IncludeTasks, bool OnlyFailed);

/// <summary>Where connector configs, target states and task configs live (memory in standalone mode, the config topic in distributed).</summary>
public interface IConfigBackingStore : IAsyncDisposable
{
    event Action? Changed;

    Task StartAsync(CancellationToken cancellation);

    ClusterConfigState Snapshot();

    Task PutConnectorConfigAsync(string connector, IReadOnlyDictionary<string, string> config, TargetState? targetState);

    Task RemoveConnectorConfigAsync(string connector);

    Task PutTaskConfigsAsync(string connector, IReadOnlyList<IReadOnlyDictionary<string, string>> taskConfigs);

    Task PutTargetStateAsync(string connector, TargetState state);

    /// <summary>Records that the previous generation of the connector's tasks is fenced and the current one has <paramref name="taskCount"/> tasks (KIP-618).</summary>
    Task PutTaskCountRecordAsync(string connector, int taskCount);

    Task PutRestartRequestAsync(RestartRequest request);

    /// <summary>Restart requests that arrived after this worker started, with sequence above <paramref name="after"/>.</summary>
    IReadOnlyList<RestartRequest> RestartRequestsAfter(long after);

    Task ReadToEndAsync(CancellationToken cancellation);
}

/// <summary>The state of a connector or task as /status shows it.</summary>
public sealed record StatusEntry(string State, string? Trace, string WorkerId, int Generation);

/// <summary>Where connector and task states live (memory in standalone mode, the status topic in distributed).</summary>
public interface IStatusBackingStore : IAsyncDisposable
{
    Task StartAsync(CancellationToken cancellation);

    void PutConnector(string connector, StatusEntry status);

    void PutTask(string connector, int task, StatusEntry status);

    StatusEntry? GetConnector(string connector);

    StatusEntry? GetTask(string connector, int task);

    void DeleteConnector(string connector, int taskCount);
}

/// <summary>Source offsets by (connector, source partition): a local file in standalone mode, the offsets topic in distributed.</summary>
public interface IOffsetBackingStore : IAsyncDisposable
{
    Task StartAsync(CancellationToken cancellation);

    /// <summary>Every committed (partition, offset) of <paramref name="connector"/>, read up to date first.</summary>
    Task<IReadOnlyList<(JsonObject Partition, JsonObject Offset)>> ReadAsync(string connector, CancellationToken cancellation);

    /// <summary>Writes offsets; a null offset removes the partition's offset.</summary>
    Task WriteAsync(string connector, IReadOnlyList<(JsonObject Partition, JsonObject? Offset)> offsets, CancellationToken cancellation);
}

/// <summary>Conversions between source partition/offset maps and their stored JSON (keys sorted, so equal maps store equal).</summary>
public static class OffsetJson
{
    public static JsonObject ToJson(IReadOnlyDictionary<string, object?> map)
    {
        var o = new JsonObject();
        foreach (var (k, v) in map.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            o[k] = JsonConverter.ToJson(null, v);
        }

        return o;
    }

    public static IReadOnlyDictionary<string, object?> FromJson(JsonObject json)
    {
        using var doc = JsonDocument.Parse(json.ToJsonString());
        return (Dictionary<string, object?>)JsonConverter.Schemaless(doc.RootElement)!;
    }

    /// <summary>Kafka's offsets-topic key: <c>["connector", {partition}]</c>.</summary>
    public static byte[] Key(string connector, JsonObject partition) =>
        JsonSerializer.SerializeToUtf8Bytes(new JsonArray(connector, Sorted(partition)));

    public static string Canonical(JsonObject partition) => Sorted(partition).ToJsonString();

    private static JsonObject Sorted(JsonObject o)
    {
        var sorted = new JsonObject();
        foreach (var (k, v) in o.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            sorted[k] = v?.DeepClone();
        }

        return sorted;
    }
}
