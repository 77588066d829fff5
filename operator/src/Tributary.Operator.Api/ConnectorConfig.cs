using System.Text.Json.Serialization;
using k8s.Models;
using Tributary.Operator.Api.Schema;

namespace Tributary.Operator.Api;

/// <summary>
/// A connector of a Tributary Connect worker set: the operator creates, updates, pauses, resumes, stops and deletes it through
/// the workers' REST API (spec.workerUrl, else the operator's --connect-url) and mirrors the connector's /status.
/// </summary>
[KubernetesEntity(Group = TributaryApi.Group, ApiVersion = TributaryApi.Version, Kind = "ConnectorConfig", PluralName = "connectorconfigs")]
[ShortNames("tcc")]
[Doc("A Tributary Connect connector: class, task count, configuration and desired state, run through the workers' REST API.")]
[PrinterColumn("Class", "string", ".spec.class")]
[PrinterColumn("Tasks", "integer", ".spec.tasksMax")]
[PrinterColumn("State", "string", ".spec.state")]
[PrinterColumn("Connector", "string", ".status.connectorState")]
[PrinterColumn("Status", "string", ".status.conditions[?(@.type==\"Ready\")].status")]
[PrinterColumn("Age", "date", ".metadata.creationTimestamp")]
public sealed class ConnectorConfig : CustomResource<ConnectorConfigSpec, ConnectorConfigStatus>
{
    public const string KindName = "ConnectorConfig";
    public const string Plural = "connectorconfigs";

    public ConnectorConfig() => Kind = KindName;

    /// <summary>The connector's name on the workers: the resource name.</summary>
    [JsonIgnore]
    public string ConnectorName => Metadata.Name;
}

/// <summary>What a ConnectorConfig asks for.</summary>
public sealed class ConnectorConfigSpec
{
    [JsonPropertyName("class")]
    [Doc("Fully qualified connector class.")]
    [Required]
    [Pattern("^[A-Za-z_][A-Za-z0-9_.$+-]*$")]
    [MaxLength(512)]
    public string Class { get; set; } = "";

    [JsonPropertyName("tasksMax")]
    [Doc("Most tasks the connector may run.")]
    [Minimum(1, OperatorOnly = true)]
    [Maximum(1024)]
    [Default(1)]
    public int TasksMax { get; set; } = 1;

    [JsonPropertyName("config")]
    [Doc("Connector configuration, as Connect's REST API takes it (connector.class, tasks.max and name come from the fields above).")]
    public Dictionary<string, string> Config { get; set; } = [];

    [JsonPropertyName("state")]
    [Doc("running, paused or stopped.")]
    [Pattern("^(running|paused|stopped)$")]
    [Default("running")]
    public string State { get; set; } = "running";

    [JsonPropertyName("workerUrl")]
    [Doc("REST URL of the Connect worker set running this connector (any worker: they forward to their leader). Absent: the operator's --connect-url (chart value connect.url, or the chart's own Connect Service when connect.enabled).")]
    [Pattern("^https?://[^\\s/?#]+(/[^\\s?#]*)?$")]
    [MaxLength(2048)]
    public string? WorkerUrl { get; set; }
}

/// <summary>What the operator last saw of a connector on its workers.</summary>
public sealed class ConnectorConfigStatus : ResourceStatus
{
    /// <summary>The worker REST URL the operator used.</summary>
    [JsonPropertyName("workerUrl")]
    public string? WorkerUrl { get; set; }

    /// <summary>source or sink, as the workers report it.</summary>
    [JsonPropertyName("type")]
    public string? Type { get; set; }

    /// <summary>UNASSIGNED, RUNNING, PAUSED, STOPPED, FAILED or RESTARTING, from the connector's /status.</summary>
    [JsonPropertyName("connectorState")]
    public string? ConnectorState { get; set; }

    /// <summary>The worker (host:port) running the connector.</summary>
    [JsonPropertyName("workerId")]
    public string? WorkerId { get; set; }

    /// <summary>The start of a FAILED connector's stack trace (truncated).</summary>
    [JsonPropertyName("trace")]
    public string? Trace { get; set; }

    /// <summary>Each task's state and worker, from the connector's /status.</summary>
    [JsonPropertyName("tasks")]
    public List<ConnectorTaskStatus>? Tasks { get; set; }
}

/// <summary>One task of a connector as its /status shows it.</summary>
public sealed class ConnectorTaskStatus
{
    [JsonPropertyName("id")]
    public int Id { get; set; }

    [JsonPropertyName("state")]
    public string State { get; set; } = "";

    [JsonPropertyName("workerId")]
    public string? WorkerId { get; set; }

    /// <summary>The start of a FAILED task's stack trace (truncated).</summary>
    [JsonPropertyName("trace")]
    public string? Trace { get; set; }
}
