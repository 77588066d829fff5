using Tributary.Operator.Model;

namespace Tributary.Operator.Tests.Model;

public class BrokerManifestsTests
{
    private static BrokerResources Build(int replicas = 3, Dictionary<string, string>? config = null, PdbApi pdb = PdbApi.V1)
    {
        var broker = TestBrokers.Named(replicas: replicas, config: config);
        return BrokerManifests.Build(broker, ClusterLayout.VotersFor(replicas), pdb);
    }

    private static Dictionary<string, string> Parse(string properties) => properties
        .Split('\n', StringSplitOptions.RemoveEmptyEntries)
        .Where(l => !l.StartsWith('#'))
        .Select(l => l.Split('=', 2))
        .ToDictionary(kv => kv[0], kv => kv[1]);

    [Fact]
    public void StatefulSet_starts_pods_in_parallel_and_leaves_restarts_to_the_roller()
    {
        var sts = Build().StatefulSet;
        Assert.Equal("c", sts.Metadata.Name);
        Assert.Equal("ns", sts.Metadata.NamespaceProperty);
        Assert.Equal(3, sts.Spec.Replicas);
        Assert.Equal("Parallel", sts.Spec.PodManagementPolicy);
        Assert.Equal("OnDelete", sts.Spec.UpdateStrategy.Type);
        Assert.Equal("c-brokers", sts.Spec.ServiceName);
    }

    [Fact]
    public void Each_pod_gets_a_data_volume_of_the_spec_size_and_class()
    {
        var broker = TestBrokers.Named();
        broker.Spec.Storage = new() { Size = "5Gi", StorageClassName = "fast" };
        var claim = Assert.Single(BrokerManifests.Build(broker, 3, PdbApi.V1).StatefulSet.Spec.VolumeClaimTemplates);
        Assert.Equal("data", claim.Metadata.Name);
        Assert.Equal("5Gi", claim.Spec.Resources.Requests["storage"].ToString());
        Assert.Equal("fast", claim.Spec.StorageClassName);
        var mount = Assert.Single(BrokerManifests.Build(broker, 3, PdbApi.V1).StatefulSet.Spec.Template.Spec.Containers[0].VolumeMounts, m => m.Name == "data");
        Assert.Equal("/var/lib/tributary", mount.MountPath);
    }

    [Fact]
    public void Broker_container_reads_the_file_named_after_its_pod_and_binds_to_the_pod_ip()
    {
        var pod = Build().StatefulSet.Spec.Template.Spec;
        var container = Assert.Single(pod.Containers);
        Assert.Equal("broker", container.Name);
        Assert.Null(container.Command);
        Assert.Equal("tributary-broker:0.1.0", container.Image);
        Assert.Equal(
            ["--config", "/etc/tributary/$(POD_NAME).properties",
             "--override", "listeners=PLAINTEXT://$(POD_IP):9092,CONTROLLER://$(POD_IP):9093",
             "--override", "http.listeners=http://$(POD_IP):9094"],
            container.Args);
        Assert.Equal("metadata.name", container.Env.Single(e => e.Name == "POD_NAME").ValueFrom.FieldRef.FieldPath);
        Assert.Equal("status.podIP", container.Env.Single(e => e.Name == "POD_IP").ValueFrom.FieldRef.FieldPath);
        Assert.Equal("metadata.namespace", container.Env.Single(e => e.Name == "POD_NAMESPACE").ValueFrom.FieldRef.FieldPath);
        Assert.Equal("/etc/tributary", container.VolumeMounts.Single(m => m.Name == "config").MountPath);
        Assert.Equal("c-config", pod.Volumes.Single(v => v.Name == "config").ConfigMap.Name);
    }

    [Fact]
    public void Readiness_is_readyz_liveness_is_healthz_and_shutdown_gets_at_least_35_seconds()
    {
        var pod = Build().StatefulSet.Spec.Template.Spec;
        var container = pod.Containers[0];
        Assert.Equal("/readyz", container.ReadinessProbe.HttpGet.Path);
        Assert.Equal("9094", container.ReadinessProbe.HttpGet.Port.Value);
        Assert.Equal("/healthz", container.LivenessProbe.HttpGet.Path);
        Assert.True(pod.TerminationGracePeriodSeconds >= 35);
        Assert.Equal(65532, pod.SecurityContext.FsGroup);
    }

    [Fact]
    public void Config_map_holds_one_properties_file_per_pod_with_its_node_id_and_dns_name()
    {
        var data = Build().ConfigMap.Data;
        Assert.Equal(["c-0.properties", "c-1.properties", "c-2.properties"], data.Keys.Order());
        var pod1 = Parse(data["c-1.properties"]);
        Assert.Equal("1", pod1["node.id"]);
        Assert.Equal("PLAINTEXT://c-1.c-brokers.ns.svc.cluster.local:9092", pod1["advertised.listeners"]);
        Assert.Equal("/var/lib/tributary/data", pod1["log.dirs"]);
        Assert.Equal("2", pod1["min.insync.replicas"]);
        Assert.Equal("3", pod1["default.replication.factor"]);
        Assert.Equal(22, pod1["cluster.id"].Length);
    }

    [Fact]
    public void Quorum_voters_are_the_first_three_pods_and_later_pods_are_broker_only()
    {
        var data = Build(replicas: 4).ConfigMap.Data;
        var voters = "0@c-0.c-brokers.ns.svc.cluster.local:9093,1@c-1.c-brokers.ns.svc.cluster.local:9093,2@c-2.c-brokers.ns.svc.cluster.local:9093";
        Assert.All(data.Values, file => Assert.Equal(voters, Parse(file)["controller.quorum.voters"]));
        Assert.Equal("broker,controller", Parse(data["c-2.properties"])["process.roles"]);
        Assert.Equal("broker", Parse(data["c-3.properties"])["process.roles"]);
    }

    [Fact]
    public void A_single_pod_cluster_has_one_voter_and_replication_defaults_of_one()
    {
        var pod0 = Parse(Build(replicas: 1).ConfigMap.Data["c-0.properties"]);
        Assert.Equal("0@c-0.c-brokers.ns.svc.cluster.local:9093", pod0["controller.quorum.voters"]);
        Assert.Equal("1", pod0["min.insync.replicas"]);
        Assert.Equal("1", pod0["offsets.topic.replication.factor"]);
    }

    [Fact]
    public void Spec_config_overrides_the_defaults()
    {
        var pod0 = Parse(Build(config: new() { ["min.insync.replicas"] = "1", ["log.retention.hours"] = "1" }).ConfigMap.Data["c-0.properties"]);
        Assert.Equal("1", pod0["min.insync.replicas"]);
        Assert.Equal("1", pod0["log.retention.hours"]);
    }

    [Fact]
    public void Spec_config_that_sets_an_operator_owned_key_is_refused()
    {
        var spec = TestBrokers.Named(config: new() { ["node.id"] = "7", ["log.dirs"] = "/tmp" }).Spec;
        var errors = BrokerProperties.Validate(spec);
        Assert.Equal(2, errors.Count);
        Assert.Contains(errors, e => e.Contains("node.id", StringComparison.Ordinal));
    }

    [Fact]
    public void A_config_change_changes_the_pod_template_so_the_pods_roll()
    {
        var before = Build().StatefulSet.Spec.Template.Metadata.Annotations[BrokerManifests.ConfigHashAnnotation];
        var after = Build(config: new() { ["log.retention.hours"] = "1" }).StatefulSet.Spec.Template.Metadata.Annotations[BrokerManifests.ConfigHashAnnotation];
        Assert.NotEqual(before, after);
    }

    [Fact]
    public void Scaling_up_keeps_the_pod_template_so_existing_pods_do_not_roll()
    {
        var three = BrokerManifests.Build(TestBrokers.Named(replicas: 3), 3, PdbApi.V1);
        var five = BrokerManifests.Build(TestBrokers.Named(replicas: 5), 3, PdbApi.V1);
        Assert.Equal(three.ConfigHash, five.ConfigHash);
        Assert.Equal(5, five.ConfigMap.Data.Count);
    }

    [Fact]
    public void Disruption_budget_uses_the_policy_version_discovery_found()
    {
        Assert.Equal("policy/v1", Build(pdb: PdbApi.V1).DisruptionBudget.ApiVersion);
        var beta = Build(pdb: PdbApi.V1Beta1).DisruptionBudget;
        Assert.Equal("policy/v1beta1", beta.ApiVersion);
        Assert.Equal(1, beta.Spec.MaxUnavailable.Value == "1" ? 1 : int.Parse(beta.Spec.MaxUnavailable.Value, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal("c", beta.Metadata.Name);
    }

    [Fact]
    public void Headless_service_publishes_unready_pods_and_bootstrap_serves_kafka_only()
    {
        var resources = Build();
        Assert.Equal("c-brokers", resources.HeadlessService.Metadata.Name);
        Assert.Equal("None", resources.HeadlessService.Spec.ClusterIP);
        Assert.True(resources.HeadlessService.Spec.PublishNotReadyAddresses);
        Assert.Equal([9092, 9093, 9094], resources.HeadlessService.Spec.Ports.Select(p => p.Port));
        Assert.Equal("c-bootstrap", resources.BootstrapService.Metadata.Name);
        Assert.Equal([9092], resources.BootstrapService.Spec.Ports.Select(p => p.Port));
    }

    [Fact]
    public void Every_object_is_owned_by_the_broker_resource()
    {
        var r = Build();
        foreach (var meta in new[] { r.ConfigMap.Metadata, r.HeadlessService.Metadata, r.BootstrapService.Metadata, r.StatefulSet.Metadata, r.DisruptionBudget.Metadata })
        {
            var owner = Assert.Single(meta.OwnerReferences);
            Assert.Equal("Broker", owner.Kind);
            Assert.Equal("0f8fad5b-d9cb-469f-a165-70867728950e", owner.Uid);
            Assert.True(owner.Controller);
        }
    }

    [Fact]
    public void Cluster_id_is_stable_for_one_uid_and_differs_for_another()
    {
        var a = BrokerProperties.ClusterIdFor("0f8fad5b-d9cb-469f-a165-70867728950e");
        Assert.Equal(a, BrokerProperties.ClusterIdFor("0f8fad5b-d9cb-469f-a165-70867728950e"));
        Assert.NotEqual(a, BrokerProperties.ClusterIdFor("1f8fad5b-d9cb-469f-a165-70867728950e"));
        Assert.Matches("^[A-Za-z0-9_-]{22}$", a);
    }
}
