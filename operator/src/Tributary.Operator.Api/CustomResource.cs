using System.Text.Json.Serialization;
using k8s;
using k8s.Models;

namespace Tributary.Operator.Api;

/// <summary>Group, version and names shared by every Tributary kind.</summary>
public static class TributaryApi
{
    public const string Group = "tributary.dev";
    public const string Version = "v1alpha1";
    public const string ApiVersion = Group + "/" + Version;

    /// <summary>Label on a Topic naming the Broker (cluster) it lives on.</summary>
    public const string ClusterLabel = "tributary.dev/cluster";

    /// <summary>Annotation that lets the operator delete the Kafka topic when its Topic resource goes.</summary>
    public const string DeletionAllowedAnnotation = "tributary.dev/deletion-allowed";

    /// <summary>Finalizer on Topic resources: the Kafka topic is dealt with before the resource disappears.</summary>
    public const string TopicFinalizer = "tributary.dev/topic";

    /// <summary>Finalizer on ConnectorConfig resources: the connector is deleted from its workers before the resource disappears.</summary>
    public const string ConnectorFinalizer = "tributary.dev/connector";
}

/// <summary>A namespaced Tributary custom resource with a spec and a status.</summary>
public abstract class CustomResource<TSpec, TStatus> : IKubernetesObject<V1ObjectMeta>
    where TSpec : new()
    where TStatus : ResourceStatus, new()
{
    [JsonPropertyName("apiVersion")]
    public string ApiVersion { get; set; } = TributaryApi.ApiVersion;

    [JsonPropertyName("kind")]
    public string Kind { get; set; } = "";

    [JsonPropertyName("metadata")]
    public V1ObjectMeta Metadata { get; set; } = new();

    [JsonPropertyName("spec")]
    public TSpec Spec { get; set; } = new();

    [JsonPropertyName("status")]
    public TStatus? Status { get; set; }
}

/// <summary>A list response for a custom resource kind.</summary>
public sealed class CustomResourceList<T>
{
    [JsonPropertyName("apiVersion")]
    public string? ApiVersion { get; set; }

    [JsonPropertyName("kind")]
    public string? Kind { get; set; }

    [JsonPropertyName("metadata")]
    public V1ListMeta Metadata { get; set; } = new();

    [JsonPropertyName("items")]
    public List<T> Items { get; set; } = [];
}

/// <summary>Status fields every Tributary kind carries.</summary>
public class ResourceStatus
{
    /// <summary>metadata.generation of the spec this status describes.</summary>
    [JsonPropertyName("observedGeneration")]
    public long? ObservedGeneration { get; set; }

    /// <summary>Ready, Reconciling and Error, each with a reason and a message.</summary>
    [JsonPropertyName("conditions")]
    public List<Condition> Conditions { get; set; } = [];
}

/// <summary>A status condition (the shape of metav1.Condition).</summary>
public sealed class Condition
{
    public const string Ready = "Ready";
    public const string Reconciling = "Reconciling";
    public const string Error = "Error";

    [JsonPropertyName("type")]
    public string Type { get; set; } = "";

    /// <summary>"True", "False" or "Unknown".</summary>
    [JsonPropertyName("status")]
    public string Status { get; set; } = "Unknown";

    [JsonPropertyName("reason")]
    public string? Reason { get; set; }

    [JsonPropertyName("message")]
    public string? Message { get; set; }

    [JsonPropertyName("observedGeneration")]
    public long? ObservedGeneration { get; set; }

    /// <summary>RFC 3339 time of the last change of <see cref="Status"/>.</summary>
    [JsonPropertyName("lastTransitionTime")]
    public string? LastTransitionTime { get; set; }
}
