using System.Text.Json.Nodes;
using Tributary.Operator.Api;

namespace Tributary.Operator.Model;

/// <summary>What to ask of the workers so the connector's target state matches spec.state.</summary>
public enum ConnectorStateChange
{
    None,
    Pause,
    Resume,
    Stop,
}

/// <summary>A connector's /status, as mirrored into the ConnectorConfig's status.</summary>
public sealed record ConnectorStatusView(string State, string? WorkerId, string? Trace, string? Type, IReadOnlyList<ConnectorTaskStatus> Tasks);

/// <summary>
/// Pure functions from a ConnectorConfig (and what the workers answered) to what the reconciler sends and writes: the
/// connector config, the state change, the mirrored status and whether it is Ready. No I/O.
/// </summary>
public static class ConnectorModel
{
    /// <summary>Traces in status are cut to this many characters: the exception and its first frames, not a whole stack.</summary>
    public const int MaxTraceChars = 1024;

    /// <summary>Most tasks mirrored into status (tasksMax is at most 1024; the status object stays small).</summary>
    public const int MaxTasksInStatus = 128;

    /// <summary>The worker URL: the spec's, else the operator's default; null when neither is set.</summary>
    public static string? WorkerUrl(ConnectorConfig connector, string? operatorDefault) =>
        !string.IsNullOrWhiteSpace(connector.Spec.WorkerUrl) ? connector.Spec.WorkerUrl.TrimEnd('/')
        : !string.IsNullOrWhiteSpace(operatorDefault) ? operatorDefault.TrimEnd('/')
        : null;

    /// <summary>The config the workers should hold: spec.config with connector.class, tasks.max and name from the spec's fields.</summary>
    public static Dictionary<string, string> DesiredConfig(ConnectorConfig connector)
    {
        var config = new Dictionary<string, string>(connector.Spec.Config, StringComparer.Ordinal)
        {
            ["connector.class"] = connector.Spec.Class,
            ["tasks.max"] = connector.Spec.TasksMax.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["name"] = connector.ConnectorName,
        };
        return config;
    }

    /// <summary>The config as a JSON object for PUT /connectors/{c}/config and the validate call.</summary>
    public static JsonObject ConfigJson(IReadOnlyDictionary<string, string> config)
    {
        var json = new JsonObject();
        foreach (var (key, value) in config.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            json[key] = value;
        }

        return json;
    }

    /// <summary>The workers' config (GET /connectors/{c}/config) as strings; null when the body is not an object.</summary>
    public static Dictionary<string, string>? ParseConfig(JsonNode? body)
    {
        if (body is not JsonObject o)
        {
            return null;
        }

        var config = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in o)
        {
            config[key] = value is JsonValue v && v.TryGetValue<string>(out var s) ? s : value?.ToJsonString() ?? "";
        }

        return config;
    }

    /// <summary>True when the workers hold exactly the desired config (Connect keeps a config as it was put).</summary>
    public static bool SameConfig(IReadOnlyDictionary<string, string> desired, IReadOnlyDictionary<string, string> actual) =>
        desired.Count == actual.Count && desired.All(kv => actual.TryGetValue(kv.Key, out var v) && v == kv.Value);

    /// <summary>The errors of a validate answer (PUT /connector-plugins/{p}/config/validate) as "field: message".</summary>
    public static IReadOnlyList<string> ValidationErrors(JsonNode? body)
    {
        var errors = new List<string>();
        if (body?["configs"] is not JsonArray configs)
        {
            return errors;
        }

        foreach (var entry in configs)
        {
            var value = entry?["value"];
            var name = value?["name"]?.GetValue<string>() ?? "?";
            if (value?["errors"] is JsonArray list)
            {
                errors.AddRange(list.Select(e => $"{name}: {e?.GetValue<string>()}"));
            }
        }

        return errors;
    }

    /// <summary>The change that brings a connector in <paramref name="connectorState"/> to spec.state.</summary>
    public static ConnectorStateChange StateChange(string desiredState, string? connectorState) => (desiredState, connectorState) switch
    {
        ("paused", not "PAUSED") => ConnectorStateChange.Pause,
        ("stopped", not "STOPPED") => ConnectorStateChange.Stop,
        ("running", "PAUSED" or "STOPPED") => ConnectorStateChange.Resume,
        _ => ConnectorStateChange.None,
    };

    /// <summary>Reads GET /connectors/{c}/status; null when it is not Connect's shape.</summary>
    public static ConnectorStatusView? ParseStatus(JsonNode? body)
    {
        if (body?["connector"] is not JsonObject connector || connector["state"]?.GetValue<string>() is not { } state)
        {
            return null;
        }

        var tasks = new List<ConnectorTaskStatus>();
        if (body["tasks"] is JsonArray list)
        {
            foreach (var task in list.Take(MaxTasksInStatus))
            {
                if (task is JsonObject t && t["id"] is JsonValue id && id.TryGetValue<int>(out var taskId))
                {
                    tasks.Add(new ConnectorTaskStatus
                    {
                        Id = taskId,
                        State = t["state"]?.GetValue<string>() ?? "UNASSIGNED",
                        WorkerId = t["worker_id"]?.GetValue<string>(),
                        Trace = Truncate(t["trace"]?.GetValue<string>()),
                    });
                }
            }
        }

        return new ConnectorStatusView(state, connector["worker_id"]?.GetValue<string>(), Truncate(connector["trace"]?.GetValue<string>()),
            body["type"]?.GetValue<string>(), tasks.OrderBy(t => t.Id).ToList());
    }

    public static string? Truncate(string? trace) =>
        trace is null ? null : trace.Length <= MaxTraceChars ? trace : trace[..MaxTraceChars] + "…";

    /// <summary>Whether the connector is where spec.state wants it, and a one-line description of where it is.</summary>
    public static (bool Ready, bool Failed, string Reason, string Message) Assess(string desiredState, ConnectorStatusView status)
    {
        var failedTasks = status.Tasks.Where(t => t.State == "FAILED").ToList();
        var summary = status.Tasks.Count == 0
            ? $"connector {status.State}, no tasks"
            : $"connector {status.State}, tasks " + string.Join(", ", status.Tasks.Select(t => $"{t.Id} {t.State}"));
        if (status.State == "FAILED")
        {
            return (false, true, "ConnectorFailed", $"{summary}: {FirstLine(status.Trace)}");
        }

        if (failedTasks.Count > 0)
        {
            return (false, true, "TaskFailed", $"{summary}: task {failedTasks[0].Id}: {FirstLine(failedTasks[0].Trace)}");
        }

        var ready = desiredState switch
        {
            "paused" => status.State == "PAUSED" && status.Tasks.All(t => t.State == "PAUSED"),
            "stopped" => status.State == "STOPPED",
            _ => status.State == "RUNNING" && status.Tasks.Count > 0 && status.Tasks.All(t => t.State == "RUNNING"),
        };
        return (ready, false, ready ? "Connector" + Capitalized(desiredState) : "Converging", summary);
    }

    private static string FirstLine(string? trace) =>
        string.IsNullOrEmpty(trace) ? "no trace" : trace.Split('\n', 2)[0].TrimEnd('\r');

    private static string Capitalized(string state) => state.Length == 0 ? state : char.ToUpperInvariant(state[0]) + state[1..];
}
