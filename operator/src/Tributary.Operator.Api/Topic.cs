using System.Text.Json.Serialization;
using k8s.Models;
using Tributary.Operator.Api.Schema;

namespace Tributary.Operator.Api;

/// <summary>A Kafka topic on the Broker named by the tributary.dev/cluster label.</summary>
[KubernetesEntity(Group = TributaryApi.Group, ApiVersion = TributaryApi.Version, Kind = "Topic", PluralName = "topics")]
[ShortNames("tt")]
[Doc("A topic of the Tributary cluster named by the tributary.dev/cluster label.")]
[PrinterColumn("Cluster", "string", ".metadata.labels.tributary\\.dev/cluster")]
[PrinterColumn("Partitions", "integer", ".spec.partitions")]
[PrinterColumn("Replicas", "integer", ".spec.replicas")]
[PrinterColumn("Status", "string", ".status.conditions[?(@.type==\"Ready\")].status")]
[PrinterColumn("Age", "date", ".metadata.creationTimestamp")]
public sealed class Topic : CustomResource<TopicSpec, TopicStatus>
{
    public const string KindName = "Topic";
    public const string Plural = "topics";

    public Topic() => Kind = KindName;

    /// <summary>The Kafka topic name: spec.topicName, else the resource name.</summary>
    [JsonIgnore]
    public string TopicName => string.IsNullOrEmpty(Spec.TopicName) ? Metadata.Name : Spec.TopicName;
}

/// <summary>What a Topic resource asks for.</summary>
public sealed class TopicSpec
{
    [JsonPropertyName("topicName")]
    [Doc("Kafka topic name; the resource name when absent (use it for names Kubernetes does not allow, such as upper case).")]
    [Pattern("^[a-zA-Z0-9._-]+$")]
    [MaxLength(249)]
    public string? TopicName { get; set; }

    [JsonPropertyName("partitions")]
    [Doc("Number of partitions. It can grow; a decrease is refused (Kafka cannot remove partitions).")]
    [Minimum(1, OperatorOnly = true)]
    [Maximum(100000)]
    [Default(1)]
    public int Partitions { get; set; } = 1;

    [JsonPropertyName("replicas")]
    [Doc("Replication factor; a change moves replicas through a partition reassignment.")]
    [Minimum(1, OperatorOnly = true)]
    [Maximum(32767)]
    [Default(3)]
    public int Replicas { get; set; } = 3;

    [JsonPropertyName("config")]
    [Doc("Topic configuration (Kafka topic config names, e.g. retention.ms). Keys set here are kept as written; other keys are left to their defaults.")]
    public Dictionary<string, string> Config { get; set; } = [];
}

/// <summary>What the operator last saw of a topic.</summary>
public sealed class TopicStatus : ResourceStatus
{
    [JsonPropertyName("topicName")]
    public string? TopicName { get; set; }

    [JsonPropertyName("topicId")]
    public string? TopicId { get; set; }

    [JsonPropertyName("partitions")]
    public int? Partitions { get; set; }

    [JsonPropertyName("replicas")]
    public int? Replicas { get; set; }

    /// <summary>Set while a replication-factor change is moving replicas: what is still in flight.</summary>
    [JsonPropertyName("reassignment")]
    public string? Reassignment { get; set; }
}
