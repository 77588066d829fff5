using k8s.Models;
using Tributary.Operator.Api;

namespace Tributary.Operator.Model;

/// <summary>Which PodDisruptionBudget API the cluster serves (found by API discovery).</summary>
public enum PdbApi
{
    /// <summary>policy/v1 (Kubernetes 1.21+).</summary>
    V1,

    /// <summary>policy/v1beta1 (before 1.21; gone in 1.25).</summary>
    V1Beta1,
}

/// <summary>Everything a Broker resource turns into, computed without I/O.</summary>
public sealed record BrokerResources(
    V1ConfigMap ConfigMap,
    V1Service HeadlessService,
    V1Service BootstrapService,
    V1StatefulSet StatefulSet,
    V1PodDisruptionBudget DisruptionBudget,
    string ConfigHash);

/// <summary>Pure builders: Broker spec → desired Kubernetes objects (Strimzi's model classes, in small).</summary>
public static class BrokerManifests
{
    public const string ConfigHashAnnotation = "tributary.dev/config-hash";

    /// <summary>On the StatefulSet: the voter count fixed when the cluster was created.</summary>
    public const string VotersAnnotation = "tributary.dev/voters";

    public const string ContainerName = "broker";
    public const string DefaultImageRepository = "tributary-broker";
    public const string FieldManager = "tributary-operator";

    /// <summary>Builds the desired objects. <paramref name="voters"/> comes from the existing StatefulSet, or
    /// <see cref="ClusterLayout.VotersFor"/> for a new cluster.</summary>
    public static BrokerResources Build(Broker broker, int voters, PdbApi pdbApi, string clusterDomain = "cluster.local")
    {
        var layout = ClusterLayout.For(broker, clusterDomain);
        var spec = broker.Spec;
        var common = BrokerProperties.Common(layout, spec, BrokerProperties.ClusterIdFor(broker.Metadata.Uid), voters);
        var hash = BrokerProperties.Hash(common);
        var owner = OwnerOf(broker);

        var configMap = new V1ConfigMap
        {
            ApiVersion = "v1",
            Kind = "ConfigMap",
            Metadata = Meta(layout, layout.ConfigMapName, owner),
            Data = Enumerable.Range(0, Math.Max(0, spec.Replicas))
                .ToDictionary(layout.PropertiesKey, i => BrokerProperties.ForPod(layout, common, i, voters)),
        };

        var headless = new V1Service
        {
            ApiVersion = "v1",
            Kind = "Service",
            Metadata = Meta(layout, layout.HeadlessServiceName, owner),
            Spec = new V1ServiceSpec
            {
                ClusterIP = "None",
                // Quorum peers must find each other before any of them is ready.
                PublishNotReadyAddresses = true,
                Selector = layout.SelectorLabels(),
                Ports =
                [
                    new V1ServicePort { Name = "kafka", Port = ClusterLayout.KafkaPort, TargetPort = ClusterLayout.KafkaPort, Protocol = "TCP" },
                    new V1ServicePort { Name = "controller", Port = ClusterLayout.ControllerPort, TargetPort = ClusterLayout.ControllerPort, Protocol = "TCP" },
                    new V1ServicePort { Name = "http", Port = ClusterLayout.HttpPort, TargetPort = ClusterLayout.HttpPort, Protocol = "TCP" },
                ],
            },
        };

        var bootstrap = new V1Service
        {
            ApiVersion = "v1",
            Kind = "Service",
            Metadata = Meta(layout, layout.BootstrapServiceName, owner),
            Spec = new V1ServiceSpec
            {
                Type = "ClusterIP",
                Selector = layout.SelectorLabels(),
                Ports = [new V1ServicePort { Name = "kafka", Port = ClusterLayout.KafkaPort, TargetPort = ClusterLayout.KafkaPort, Protocol = "TCP" }],
            },
        };

        var statefulSetMeta = Meta(layout, layout.StatefulSetName, owner);
        statefulSetMeta.Annotations = new Dictionary<string, string> { [VotersAnnotation] = voters.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        var statefulSet = new V1StatefulSet
        {
            ApiVersion = "apps/v1",
            Kind = "StatefulSet",
            Metadata = statefulSetMeta,
            Spec = new V1StatefulSetSpec
            {
                Replicas = Math.Max(0, spec.Replicas),
                ServiceName = layout.HeadlessServiceName,
                // A quorum needs its voters up together; OrderedReady would wait for pod 0 to be ready alone, which it never is.
                PodManagementPolicy = "Parallel",
                // The roller restarts pods one at a time, in an order only it can judge (ISR, controller last).
                UpdateStrategy = new V1StatefulSetUpdateStrategy { Type = "OnDelete" },
                Selector = new V1LabelSelector { MatchLabels = layout.SelectorLabels() },
                Template = PodTemplate(layout, spec, hash),
                VolumeClaimTemplates =
                [
                    new V1PersistentVolumeClaim
                    {
                        ApiVersion = "v1",
                        Kind = "PersistentVolumeClaim",
                        Metadata = new V1ObjectMeta { Name = "data", Labels = layout.SelectorLabels() },
                        Spec = new V1PersistentVolumeClaimSpec
                        {
                            AccessModes = ["ReadWriteOnce"],
                            StorageClassName = string.IsNullOrEmpty(spec.Storage.StorageClassName) ? null : spec.Storage.StorageClassName,
                            Resources = new V1VolumeResourceRequirements
                            {
                                Requests = new Dictionary<string, ResourceQuantity> { ["storage"] = new(spec.Storage.Size) },
                            },
                        },
                    },
                ],
            },
        };

        var pdb = new V1PodDisruptionBudget
        {
            ApiVersion = pdbApi == PdbApi.V1 ? "policy/v1" : "policy/v1beta1",
            Kind = "PodDisruptionBudget",
            Metadata = Meta(layout, layout.DisruptionBudgetName, owner),
            Spec = new V1PodDisruptionBudgetSpec
            {
                MaxUnavailable = 1,
                Selector = new V1LabelSelector { MatchLabels = layout.SelectorLabels() },
            },
        };

        return new BrokerResources(configMap, headless, bootstrap, statefulSet, pdb, hash);
    }

    /// <summary>The broker image: spec.image, else tributary-broker:&lt;version&gt;.</summary>
    public static string ImageOf(BrokerSpec spec) =>
        string.IsNullOrWhiteSpace(spec.Image) ? $"{DefaultImageRepository}:{spec.Version}" : spec.Image.Trim();

    private static V1PodTemplateSpec PodTemplate(ClusterLayout layout, BrokerSpec spec, string configHash)
    {
        var container = new V1Container
        {
            Name = ContainerName,
            Image = ImageOf(spec),
            ImagePullPolicy = spec.ImagePullPolicy,
            // No command: the image's entrypoint is the broker. Per-pod settings come from the file named after the pod;
            // bind addresses from the pod's IP, which Kubernetes expands in args from the env below.
            Args =
            [
                "--config", $"{ClusterLayout.ConfigDirectory}/$(POD_NAME).properties",
                "--override", $"listeners=PLAINTEXT://$(POD_IP):{ClusterLayout.KafkaPort},CONTROLLER://$(POD_IP):{ClusterLayout.ControllerPort}",
                "--override", $"http.listeners=http://$(POD_IP):{ClusterLayout.HttpPort}",
            ],
            Env =
            [
                new V1EnvVar { Name = "POD_NAME", ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = "metadata.name" } } },
                new V1EnvVar { Name = "POD_IP", ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = "status.podIP" } } },
                new V1EnvVar { Name = "POD_NAMESPACE", ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = "metadata.namespace" } } },
            ],
            Ports =
            [
                new V1ContainerPort { Name = "kafka", ContainerPort = ClusterLayout.KafkaPort, Protocol = "TCP" },
                new V1ContainerPort { Name = "controller", ContainerPort = ClusterLayout.ControllerPort, Protocol = "TCP" },
                new V1ContainerPort { Name = "http", ContainerPort = ClusterLayout.HttpPort, Protocol = "TCP" },
            ],
            VolumeMounts =
            [
                new V1VolumeMount { Name = "config", MountPath = ClusterLayout.ConfigDirectory, ReadOnlyProperty = true },
                new V1VolumeMount { Name = "data", MountPath = ClusterLayout.DataMountPath },
            ],
            // /readyz: caught up and serving; /healthz: the process is up.
            ReadinessProbe = new V1Probe
            {
                HttpGet = new V1HTTPGetAction { Path = "/readyz", Port = ClusterLayout.HttpPort },
                PeriodSeconds = 5, TimeoutSeconds = 3, FailureThreshold = 3,
            },
            LivenessProbe = new V1Probe
            {
                HttpGet = new V1HTTPGetAction { Path = "/healthz", Port = ClusterLayout.HttpPort },
                InitialDelaySeconds = 30, PeriodSeconds = 10, TimeoutSeconds = 5, FailureThreshold = 6,
            },
            Resources = spec.Resources is null ? null : new V1ResourceRequirements
            {
                Requests = spec.Resources.Requests?.ToDictionary(kv => kv.Key, kv => new ResourceQuantity(kv.Value)),
                Limits = spec.Resources.Limits?.ToDictionary(kv => kv.Key, kv => new ResourceQuantity(kv.Value)),
            },
        };

        var podSpec = new V1PodSpec
        {
            Containers = [container],
            // Controlled shutdown waits up to 20 s inside the host's 30 s stop budget; give it all of that and some.
            TerminationGracePeriodSeconds = 40,
            // The image runs as 65532 (make image); fsGroup makes the data volume writable by it.
            SecurityContext = new V1PodSecurityContext { RunAsNonRoot = true, RunAsUser = 65532, RunAsGroup = 65532, FsGroup = 65532 },
            Volumes =
            [
                new V1Volume { Name = "config", ConfigMap = new V1ConfigMapVolumeSource { Name = layout.ConfigMapName } },
            ],
        };
        if (spec.Rack is { TopologyKey.Length: > 0 } rack)
        {
            podSpec.TopologySpreadConstraints =
            [
                new V1TopologySpreadConstraint
                {
                    MaxSkew = 1,
                    TopologyKey = rack.TopologyKey,
                    WhenUnsatisfiable = "ScheduleAnyway",
                    LabelSelector = new V1LabelSelector { MatchLabels = layout.SelectorLabels() },
                },
            ];
        }

        return new V1PodTemplateSpec
        {
            Metadata = new V1ObjectMeta
            {
                Labels = layout.Labels(),
                Annotations = new Dictionary<string, string> { [ConfigHashAnnotation] = configHash },
            },
            Spec = podSpec,
        };
    }

    private static V1ObjectMeta Meta(ClusterLayout layout, string name, V1OwnerReference owner) => new()
    {
        Name = name,
        NamespaceProperty = layout.Namespace,
        Labels = layout.Labels(),
        OwnerReferences = [owner],
    };

    private static V1OwnerReference OwnerOf(Broker broker) => new()
    {
        ApiVersion = TributaryApi.ApiVersion,
        Kind = Broker.KindName,
        Name = broker.Metadata.Name,
        Uid = broker.Metadata.Uid,
        Controller = true,
        BlockOwnerDeletion = true,
    };
}
