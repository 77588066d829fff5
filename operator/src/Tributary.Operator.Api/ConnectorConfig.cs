using System.Text.Json.Serialization;
using k8s.Models;
using Tributary.Operator.Api.Schema;

namespace Tributary.Operator.Api;

/// <summary>A connector for Tributary Connect. The operator validates it and reports status; running it lands with Connect.</summary>
[KubernetesEntity(Group = TributaryApi.Group, ApiVersion = TributaryApi.Version, Kind = "ConnectorConfig", PluralName = "connectorconfigs")]
[ShortNames("tcc")]
[Doc("A Tributary Connect connector: class, task count, configuration and desired state.")]
[PrinterColumn("Class", "string", ".spec.class")]
[PrinterColumn("Tasks", "integer", ".spec.tasksMax")]
[PrinterColumn("State", "string", ".spec.state")]
[PrinterColumn("Status", "string", ".status.conditions[?(@.type==\"Ready\")].status")]
[PrinterColumn("Age", "date", ".metadata.creationTimestamp")]
public sealed class ConnectorConfig : CustomResource<ConnectorConfigSpec, ConnectorConfigStatus>
{
    public const string KindName = "ConnectorConfig";
    public const string Plural = "connectorconfigs";

    public ConnectorConfig() => Kind = KindName;
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
    [Doc("Connector configuration, as Connect's REST API takes it.")]
    public Dictionary<string, string> Config { get; set; } = [];

    [JsonPropertyName("state")]
    [Doc("running, paused or stopped.")]
    [Pattern("^(running|paused|stopped)$")]
    [Default("running")]
    public string State { get; set; } = "running";
}

/// <summary>What the operator last saw of a connector.</summary>
public sealed class ConnectorConfigStatus : ResourceStatus;
