using System.Text.Json.Serialization;
using k8s.Models;
using Tributary.Operator.Api.Schema;

namespace Tributary.Operator.Api;

/// <summary>One Tributary cluster: a StatefulSet of broker pods with their Services, configuration and disruption budget.</summary>
[KubernetesEntity(Group = TributaryApi.Group, ApiVersion = TributaryApi.Version, Kind = "Broker", PluralName = "brokers")]
[ShortNames("tbr")]
[Doc("A Tributary cluster: broker pods, their storage, configuration and services.")]
[PrinterColumn("Replicas", "integer", ".spec.replicas")]
[PrinterColumn("Ready", "integer", ".status.readyReplicas")]
[PrinterColumn("Controller", "integer", ".status.activeController", Description = "node id of the active controller")]
[PrinterColumn("Version", "string", ".status.version")]
[PrinterColumn("Status", "string", ".status.conditions[?(@.type==\"Ready\")].status")]
[PrinterColumn("Age", "date", ".metadata.creationTimestamp")]
public sealed class Broker : CustomResource<BrokerSpec, BrokerStatus>
{
    public const string KindName = "Broker";
    public const string Plural = "brokers";

    public Broker() => Kind = KindName;
}

/// <summary>What a Broker resource asks for.</summary>
public sealed class BrokerSpec
{
    [JsonPropertyName("replicas")]
    [Doc("Number of broker pods. The first three (or one, for a single-pod cluster) are the fixed KRaft controller voters; further pods are broker-only.")]
    [Minimum(1, OperatorOnly = true)]
    [Maximum(1000)]
    [Default(3)]
    public int Replicas { get; set; } = 3;

    [JsonPropertyName("version")]
    [Doc("Tributary version the pods run; the default image tag.")]
    [Pattern("^[0-9A-Za-z][0-9A-Za-z._-]*$")]
    [MaxLength(128)]
    [Default("0.1.0")]
    public string Version { get; set; } = "0.1.0";

    [JsonPropertyName("image")]
    [Doc("Full broker image reference; default tributary-broker:<version>.")]
    [MaxLength(512)]
    public string? Image { get; set; }

    [JsonPropertyName("imagePullPolicy")]
    [Doc("Always, IfNotPresent or Never.")]
    [Pattern("^(Always|IfNotPresent|Never)$")]
    [Default("IfNotPresent")]
    public string ImagePullPolicy { get; set; } = "IfNotPresent";

    [JsonPropertyName("storage")]
    [Doc("The persistent volume each pod gets.")]
    public BrokerStorage Storage { get; set; } = new();

    [JsonPropertyName("config")]
    [Doc("Broker configuration (Kafka key names, e.g. min.insync.replicas); node ids, listeners, quorum voters and log.dirs are set by the operator.")]
    public Dictionary<string, string> Config { get; set; } = [];

    [JsonPropertyName("resources")]
    [Doc("Container resource requests and limits.")]
    public ResourceRequirements? Resources { get; set; }

    [JsonPropertyName("rack")]
    [Doc("Spread pods across failure domains.")]
    public RackSpec? Rack { get; set; }

    [JsonPropertyName("topicDeletionPolicy")]
    [Doc("RequireAnnotation: deleting a Topic resource deletes the Kafka topic only when the Topic carries tributary.dev/deletion-allowed: \"true\". Allow: deleting the resource always deletes the topic.")]
    [Pattern("^(RequireAnnotation|Allow)$")]
    [Default("RequireAnnotation")]
    public string TopicDeletionPolicy { get; set; } = "RequireAnnotation";
}

/// <summary>Per-pod persistent storage.</summary>
public sealed class BrokerStorage
{
    [JsonPropertyName("size")]
    [Doc("Size of each pod's volume.")]
    [Quantity]
    [Default("10Gi")]
    public string Size { get; set; } = "10Gi";

    [JsonPropertyName("storageClassName")]
    [Doc("Storage class of the volumes; the cluster default when absent.")]
    [MaxLength(253)]
    public string? StorageClassName { get; set; }
}

/// <summary>Requests and limits of the broker container (quantities by resource name).</summary>
public sealed class ResourceRequirements
{
    [JsonPropertyName("requests")]
    public Dictionary<string, string>? Requests { get; set; }

    [JsonPropertyName("limits")]
    public Dictionary<string, string>? Limits { get; set; }
}

/// <summary>Failure-domain spreading.</summary>
public sealed class RackSpec
{
    [JsonPropertyName("topologyKey")]
    [Doc("Node label whose values are failure domains (e.g. topology.kubernetes.io/zone); pods spread evenly across them.")]
    [Required]
    [MaxLength(317)]
    public string TopologyKey { get; set; } = "";
}

/// <summary>What the operator last saw of a Broker's cluster.</summary>
public sealed class BrokerStatus : ResourceStatus
{
    [JsonPropertyName("replicas")]
    public int? Replicas { get; set; }

    [JsonPropertyName("readyReplicas")]
    public int? ReadyReplicas { get; set; }

    /// <summary>Node id of the active KRaft controller, as the quorum reports it.</summary>
    [JsonPropertyName("activeController")]
    public int? ActiveController { get; set; }

    /// <summary>Version every pod runs once a roll is done.</summary>
    [JsonPropertyName("version")]
    public string? Version { get; set; }

    [JsonPropertyName("bootstrapServers")]
    public string? BootstrapServers { get; set; }

    /// <summary>Pods still to restart in the current roll, in the order the roller will take them.</summary>
    [JsonPropertyName("pendingRestarts")]
    public List<string>? PendingRestarts { get; set; }

    /// <summary>Node ids removed by a scale-down whose registration is still to remove (UnregisterBroker, once their pod is gone).</summary>
    [JsonPropertyName("pendingUnregistrations")]
    public List<int>? PendingUnregistrations { get; set; }

    /// <summary>Node ids the operator unregistered from the cluster metadata after a scale-down.</summary>
    [JsonPropertyName("unregisteredBrokers")]
    public List<int>? UnregisteredBrokers { get; set; }
}
