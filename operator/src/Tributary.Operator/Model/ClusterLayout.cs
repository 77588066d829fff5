using Tributary.Operator.Api;

namespace Tributary.Operator.Model;

/// <summary>
/// Names, ports and node ids of one Broker's cluster: the contract between the manifests, the broker configuration and
/// whoever plays the node (a kubelet, or the test double). Pod <c>&lt;c&gt;-i</c> is KRaft node <c>i</c>.
/// </summary>
public sealed record ClusterLayout(string Name, string Namespace, string ClusterDomain = "cluster.local")
{
    public const int KafkaPort = 9092;
    public const int ControllerPort = 9093;
    public const int HttpPort = 9094;

    /// <summary>Most voters a cluster gets: the first three pods (or fewer for a smaller cluster) form the quorum.</summary>
    public const int MaxVoters = 3;

    public const string ConfigDirectory = "/etc/tributary";
    public const string DataMountPath = "/var/lib/tributary";

    /// <summary>log.dirs: a directory under the volume's mount, so a file system's lost+found never sits in a log dir.</summary>
    public const string LogDir = DataMountPath + "/data";

    public static ClusterLayout For(Broker broker, string clusterDomain = "cluster.local") =>
        new(broker.Metadata.Name, broker.Metadata.NamespaceProperty ?? "default", clusterDomain);

    public string StatefulSetName => Name;
    public string HeadlessServiceName => $"{Name}-brokers";
    public string BootstrapServiceName => $"{Name}-bootstrap";
    public string ConfigMapName => $"{Name}-config";
    public string DisruptionBudgetName => Name;

    public string PodName(int ordinal) => $"{Name}-{ordinal}";

    /// <summary>Stable DNS name of a pod through the headless Service.</summary>
    public string PodHost(int ordinal) => $"{PodName(ordinal)}.{HeadlessServiceName}.{Namespace}.svc.{ClusterDomain}";

    public string PropertiesKey(int ordinal) => $"{PodName(ordinal)}.properties";

    /// <summary>Kafka address of a pod, which the operator dials (not the client Service: no kube-proxy needed).</summary>
    public string KafkaAddress(int ordinal) => $"{PodHost(ordinal)}:{KafkaPort}";

    public string BootstrapServers(int replicas) =>
        string.Join(",", Enumerable.Range(0, replicas).Select(KafkaAddress));

    /// <summary>Number of voters for a new cluster of <paramref name="replicas"/> pods.</summary>
    public static int VotersFor(int replicas) => Math.Clamp(replicas, 1, MaxVoters);

    /// <summary>controller.quorum.voters for the first <paramref name="voters"/> pods.</summary>
    public string QuorumVoters(int voters) =>
        string.Join(",", Enumerable.Range(0, voters).Select(i => $"{i}@{PodHost(i)}:{ControllerPort}"));

    /// <summary>Labels every object of this cluster carries; the first two select the pods.</summary>
    public Dictionary<string, string> Labels() => new()
    {
        ["app.kubernetes.io/name"] = "tributary-broker",
        ["app.kubernetes.io/instance"] = Name,
        ["app.kubernetes.io/managed-by"] = "tributary-operator",
        [TributaryApi.ClusterLabel] = Name,
    };

    public Dictionary<string, string> SelectorLabels() => new()
    {
        ["app.kubernetes.io/name"] = "tributary-broker",
        ["app.kubernetes.io/instance"] = Name,
    };

    /// <summary>The pod ordinal from a pod name of this cluster, or null for a foreign name.</summary>
    public int? OrdinalOf(string podName) =>
        podName.StartsWith(Name + "-", StringComparison.Ordinal)
        && int.TryParse(podName.AsSpan(Name.Length + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var ordinal)
            ? ordinal
            : null;
}
