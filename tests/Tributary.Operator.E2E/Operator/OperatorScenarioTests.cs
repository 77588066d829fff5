using System.Diagnostics;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using k8s;
using Tributary.Operator.E2E.Harness;
using Xunit.Abstractions;
using static Tributary.Operator.E2E.Operator.TributaryInstall;

namespace Tributary.Operator.E2E.Operator;

/// <summary>
/// The issue's end-to-end scenarios, in order, on one installed chart and one 3-broker cluster: install, topics, bad
/// input, a rolling upgrade under load, the operator leader killed mid-roll. Pods run on the node test double; every
/// other part is real (apiserver, controller-manager, helm, kubectl, the operator, brokers, a librdkafka client).
/// </summary>
[Collection(KubeCollection.Name)]
[TestCaseOrderer(StepOrderer.TypeName, StepOrderer.AssemblyName)]
public sealed class OperatorScenarioTests : IClassFixture<TributaryInstall>, IDisposable
{
    private const string BrokerPods = "app.kubernetes.io/instance=" + Cluster;
    private readonly TributaryInstall install;
    private readonly KubeFixture kube;
    private readonly ITestOutputHelper output;
    private readonly IDisposable attached;

    public OperatorScenarioTests(TributaryInstall install, ITestOutputHelper output)
    {
        this.install = install;
        kube = install.Kube;
        this.output = output;
        attached = kube.Attach(output);
    }

    public void Dispose() => attached.Dispose();

    /// <summary>Where `make e2e` finds the measured figures to print (passing tests' output is not shown by the runner).</summary>
    public static string NotesFile => Path.Combine(AppContext.BaseDirectory, "e2e-notes.log");

    private void Timing(string what, TimeSpan elapsed) => Note($"TIMING {what}: {elapsed.TotalSeconds:F1} s");

    private void Note(string line)
    {
        output.WriteLine(line);
        File.AppendAllText(NotesFile, $"{DateTime.UtcNow:HH:mm:ss} {line}{Environment.NewLine}");
    }

    [Fact]
    [Step(1)]
    public async Task Helm_install_runs_the_operator_and_installs_the_crds()
    {
        await install.EnsureInstalledAsync();
        Timing("helm install to operator pod available", install.InstallToOperatorReady!.Value);

        var crds = await kube.Client.ApiextensionsV1.ListCustomResourceDefinitionAsync();
        Assert.Superset(new HashSet<string> { "brokers.tributary.dev", "topics.tributary.dev", "connectorconfigs.tributary.dev" },
            crds.Items.Select(c => c.Metadata.Name).ToHashSet());
        var lease = await Wait.UntilAsync("operator holds its lease", async () =>
            !string.IsNullOrEmpty((await kube.Client.CoordinationV1.ReadNamespacedLeaseAsync("tributary-operator", OperatorNamespace)).Spec.HolderIdentity),
            TimeSpan.FromSeconds(60), () => install.OperatorState());
        Assert.True(lease >= TimeSpan.Zero);
    }

    [Fact]
    [Step(2)]
    public async Task Broker_with_three_replicas_gets_its_objects_and_becomes_a_ready_cluster()
    {
        var elapsed = await install.EnsureBrokerReadyAsync();
        Timing("Broker apply to Ready (3 brokers)", install.ApplyToBrokerReady ?? elapsed);

        var set = await kube.Client.AppsV1.ReadNamespacedStatefulSetAsync(Cluster, Ns);
        Assert.Equal(3, set.Spec.Replicas);
        Assert.Equal("OnDelete", set.Spec.UpdateStrategy.Type);
        var headless = await kube.Client.CoreV1.ReadNamespacedServiceAsync($"{Cluster}-brokers", Ns);
        Assert.Equal("None", headless.Spec.ClusterIP);
        await kube.Client.CoreV1.ReadNamespacedServiceAsync($"{Cluster}-bootstrap", Ns);
        var config = await kube.Client.CoreV1.ReadNamespacedConfigMapAsync($"{Cluster}-config", Ns);
        Assert.Equal(Enumerable.Range(0, 3).Select(i => $"{Cluster}-{i}.properties").Order(), config.Data.Keys.Order());
        // 1.20 serves only policy/v1beta1: the operator must have found that by discovery.
        var pdb = (await kube.KubectlAsync(["get", "poddisruptionbudgets.v1beta1.policy", Cluster, "-n", Ns, "-o", "jsonpath={.spec.maxUnavailable}"])).EnsureSuccess("get pdb");
        Assert.Equal("1", pdb.Output.Trim());
        var claims = await kube.Client.CoreV1.ListNamespacedPersistentVolumeClaimAsync(Ns);
        Assert.Equal(3, claims.Items.Count(c => c.Status.Phase == "Bound"));

        var metadata = KafkaProbe.Metadata(Bootstrap());
        Assert.Equal(Enumerable.Range(0, 3).Select(Host).Order(), metadata.Brokers.Select(b => b.Host).Order());
        var broker = await install.BrokerAsync();
        Assert.Equal(3, broker!.StatusInt("readyReplicas"));
        using var admin = KafkaProbe.Admin(Bootstrap());
        var cluster = await admin.DescribeClusterAsync();
        Assert.Equal(cluster.Controller.Id, broker.StatusInt("activeController"));
    }

    [Fact]
    [Step(3)]
    public async Task Topic_applied_with_kubectl_exists_with_its_partitions_replicas_and_config()
    {
        await install.EnsureBrokerReadyAsync();
        var clock = Stopwatch.StartNew();
        await ApplyTopicAsync("orders", partitions: 3, replicas: 3, config: new() { ["retention.ms"] = "3600000", ["min.insync.replicas"] = "2" });
        await WaitTopicReadyAsync("orders");
        Timing("Topic apply to Ready", clock.Elapsed);

        var description = await KafkaProbe.DescribeTopicAsync(Bootstrap(), "orders");
        Assert.NotNull(description);
        Assert.Equal(3, description.Partitions.Count);
        Assert.All(description.Partitions, p => Assert.Equal(3, p.Replicas.Count));
        var config = await KafkaProbe.TopicConfigAsync(Bootstrap(), "orders");
        Assert.Equal("3600000", config["retention.ms"]);
        Assert.Equal("2", config["min.insync.replicas"]);
    }

    [Fact]
    [Step(4)]
    public async Task Raising_topic_partitions_adds_partitions()
    {
        await EnsureTopicAsync("orders", 3, 3, new() { ["retention.ms"] = "3600000", ["min.insync.replicas"] = "2" });
        await PatchAsync("topic", "orders", """{"spec":{"partitions":6}}""");
        await WaitTopicReadyAsync("orders");
        await Wait.UntilAsync("6 partitions in Kafka", async () => (await KafkaProbe.DescribeTopicAsync(Bootstrap(), "orders"))?.Partitions.Count == 6, TimeSpan.FromSeconds(30));
    }

    [Fact]
    [Step(5)]
    public async Task Changing_a_topic_config_applies_it_and_config_drift_is_corrected()
    {
        await EnsureTopicAsync("orders", 6, 3, new() { ["retention.ms"] = "3600000", ["min.insync.replicas"] = "2" });
        await PatchAsync("topic", "orders", """{"spec":{"config":{"retention.ms":"7200000"}}}""");
        await WaitTopicReadyAsync("orders");
        await Wait.UntilAsync("retention.ms 7200000 in Kafka", async () => (await KafkaProbe.TopicConfigAsync(Bootstrap(), "orders"))["retention.ms"] == "7200000", TimeSpan.FromSeconds(30));

        // Someone changes the topic behind the operator's back; the next reconcile (prompted here by a label change,
        // instead of waiting for the periodic resync) puts the spec's value back.
        using (var admin = KafkaProbe.Admin(Bootstrap()))
        {
            await admin.IncrementalAlterConfigsAsync(new Dictionary<ConfigResource, List<ConfigEntry>>
            {
                [new ConfigResource { Type = ResourceType.Topic, Name = "orders" }] = [new ConfigEntry { Name = "retention.ms", Value = "1000", IncrementalOperation = AlterConfigOpType.Set }],
            });
        }

        Assert.Equal("1000", (await KafkaProbe.TopicConfigAsync(Bootstrap(), "orders"))["retention.ms"]);
        (await kube.KubectlAsync(["label", "topic", "orders", "-n", Ns, "e2e/touched=1", "--overwrite"])).EnsureSuccess("kubectl label");
        await Wait.UntilAsync("drifted retention.ms restored", async () => (await KafkaProbe.TopicConfigAsync(Bootstrap(), "orders"))["retention.ms"] == "7200000", TimeSpan.FromSeconds(60));
    }

    [Fact]
    [Step(6)]
    public async Task Partition_decrease_is_refused_with_a_condition_and_changes_nothing()
    {
        await EnsureTopicAsync("orders", 6, 3, new() { ["retention.ms"] = "7200000", ["min.insync.replicas"] = "2" });
        await PatchAsync("topic", "orders", """{"spec":{"partitions":2}}""");
        var refused = await WaitTopicAsync("orders", t => t.ObservedGeneration == t.Generation && t.Conditions.Any(c => c.Reason == "PartitionDecreaseRefused"));
        Assert.Contains(refused.Conditions, c => c.Type == "Error" && c.Status == "True");
        Assert.Equal(6, (await KafkaProbe.DescribeTopicAsync(Bootstrap(), "orders"))!.Partitions.Count);

        await PatchAsync("topic", "orders", """{"spec":{"partitions":6}}""");
        await WaitTopicReadyAsync("orders");
    }

    [Fact]
    [Step(7)]
    public async Task Replication_factor_change_from_1_to_3_moves_replicas_by_reassignment()
    {
        await install.EnsureBrokerReadyAsync();
        await ApplyTopicAsync("rf-change", partitions: 3, replicas: 1, config: []);
        await WaitTopicReadyAsync("rf-change");
        Assert.All((await KafkaProbe.DescribeTopicAsync(Bootstrap(), "rf-change"))!.Partitions, p => Assert.Single(p.Replicas));

        var clock = Stopwatch.StartNew();
        await PatchAsync("topic", "rf-change", """{"spec":{"replicas":3}}""");
        await Wait.UntilAsync("3 in-sync replicas per partition", async () =>
            (await KafkaProbe.DescribeTopicAsync(Bootstrap(), "rf-change"))!.Partitions.All(p => p.Replicas.Count == 3 && p.ISR.Count == 3),
            TimeSpan.FromSeconds(120));
        var topic = await WaitTopicReadyAsync("rf-change");
        Timing("replication factor 1 -> 3 (3 partitions)", clock.Elapsed);
        Assert.Equal(3, topic.StatusInt("replicas"));
    }

    [Fact]
    [Step(8)]
    public async Task Deleting_a_topic_without_the_annotation_keeps_the_kafka_topic_and_says_why()
    {
        await EnsureTopicAsync("orders", 6, 3, new() { ["retention.ms"] = "7200000", ["min.insync.replicas"] = "2" });
        (await kube.KubectlAsync(["delete", "topic", "orders", "-n", Ns, "--wait=false"])).EnsureSuccess("kubectl delete");
        var kept = await WaitTopicAsync("orders", t => t.Deleting && t.Conditions.Any(c => c.Reason == "DeletionNotAllowed"));
        Assert.Contains("deletion-allowed", kept.Condition("Error")!.Message);
        Assert.NotNull(await KafkaProbe.DescribeTopicAsync(Bootstrap(), "orders"));

        // Allowing it afterwards lets the pending deletion finish: resource and Kafka topic go.
        (await kube.KubectlAsync(["annotate", "topic", "orders", "-n", Ns, "tributary.dev/deletion-allowed=true"])).EnsureSuccess("kubectl annotate");
        await Wait.UntilAsync("Topic resource gone", async () => await install.TopicAsync("orders") is null, TimeSpan.FromSeconds(60));
        await Wait.UntilAsync("Kafka topic gone", async () => await KafkaProbe.DescribeTopicAsync(Bootstrap(), "orders") is null, TimeSpan.FromSeconds(30));
    }

    [Fact]
    [Step(9)]
    public async Task Deleting_an_annotated_topic_deletes_the_kafka_topic()
    {
        await install.EnsureBrokerReadyAsync();
        await ApplyTopicAsync("scratch", partitions: 1, replicas: 3, config: [], annotations: new() { ["tributary.dev/deletion-allowed"] = "true" });
        await WaitTopicReadyAsync("scratch");
        Assert.NotNull(await KafkaProbe.DescribeTopicAsync(Bootstrap(), "scratch"));

        (await kube.KubectlAsync(["delete", "topic", "scratch", "-n", Ns, "--wait=false"])).EnsureSuccess("kubectl delete");
        await Wait.UntilAsync("Topic resource gone", async () => await install.TopicAsync("scratch") is null, TimeSpan.FromSeconds(60));
        Assert.Null(await KafkaProbe.DescribeTopicAsync(Bootstrap(), "scratch"));
    }

    [Fact]
    [Step(10)]
    public async Task Invalid_specs_get_error_conditions_while_the_operator_keeps_serving()
    {
        await install.EnsureBrokerReadyAsync();
        await ApplyTopicAsync("zero-partitions", partitions: 0, replicas: 3, config: []);
        await ApplyTopicAsync("no-such-cluster", partitions: 1, replicas: 1, config: [], cluster: "missing");
        await kube.ApplyAsync($$"""
            apiVersion: tributary.dev/v1alpha1
            kind: Broker
            metadata: { name: empty, namespace: {{Ns}} }
            spec: { replicas: 0 }
            """);
        // A valid object applied after the bad ones is still served.
        await ApplyTopicAsync("still-served", partitions: 1, replicas: 3, config: []);

        var zero = await WaitTopicAsync("zero-partitions", t => t.Has("Error"));
        output.WriteLine($"partitions 0: {zero}");
        var orphan = await WaitTopicAsync("no-such-cluster", t => t.Has("Error"));
        output.WriteLine($"unknown cluster: {orphan}");
        var empty = await Wait.UntilAsync("Broker with 0 replicas has an Error condition", async () => (await install.BrokerAsync("empty"))?.Has("Error") == true, TimeSpan.FromSeconds(60));
        output.WriteLine($"0 replicas: {await install.BrokerAsync("empty")}");
        Assert.False((await install.BrokerAsync("empty"))!.Has("Ready"));
        Assert.DoesNotContain((await kube.Client.AppsV1.ListNamespacedStatefulSetAsync(Ns)).Items, s => s.Metadata.Name == "empty");

        await WaitTopicReadyAsync("still-served");
        Assert.NotNull(await KafkaProbe.DescribeTopicAsync(Bootstrap(), "still-served"));
        Assert.Null(await KafkaProbe.DescribeTopicAsync(Bootstrap(), "zero-partitions"));
        Assert.True(empty > TimeSpan.Zero);
        var operatorPods = await kube.Client.CoreV1.ListNamespacedPodAsync(OperatorNamespace);
        Assert.All(operatorPods.Items, p => Assert.Equal(0, p.Status.ContainerStatuses.Single().RestartCount));

        foreach (var name in (string[])["zero-partitions", "no-such-cluster", "still-served"])
        {
            (await kube.KubectlAsync(["annotate", "topic", name, "-n", Ns, "tributary.dev/deletion-allowed=true"])).EnsureSuccess("annotate");
            (await kube.KubectlAsync(["delete", "topic", name, "-n", Ns, "--wait=false"])).EnsureSuccess("delete");
        }

        (await kube.KubectlAsync(["delete", "broker", "empty", "-n", Ns, "--wait=false"])).EnsureSuccess("delete");
    }

    [Fact]
    [Step(11)]
    public async Task Version_change_rolls_every_pod_once_controller_last_under_an_acks_all_producer_losing_nothing()
    {
        await EnsureTopicAsync("rolling", 3, 3, new() { ["min.insync.replicas"] = "2" });
        var broker = await install.BrokerAsync();
        var nextVersion = broker!.Json.GetProperty("spec").GetProperty("version").GetString() == "0.1.1" ? "0.1.2" : "0.1.1";

        var (roll, restarts, acked, lost, smallestIsr) = await RollUnderLoadAsync(
            () => PatchAsync("broker", Cluster, "{\"spec\":{\"version\":\"" + nextVersion + "\"}}"), onFirstRestart: null);
        Timing($"roll of 3 brokers under load (version -> {nextVersion})", roll.Elapsed);
        Note($"restart order: {string.Join(", ", restarts.Select(r => $"{r.Pod}@{r.At:HH:mm:ss.f} (controller then: {r.Controller})"))}; acked {acked}, lost {lost}, smallest ISR {smallestIsr}");

        Assert.Equal(Enumerable.Range(0, 3).Select(i => $"{Cluster}-{i}").Order(), restarts.Select(r => r.Pod).Order());
        Assert.All(restarts.SkipLast(1), r => Assert.NotEqual($"{Cluster}-{r.Controller}", r.Pod));
        Assert.Equal($"{Cluster}-{restarts[^1].Controller}", restarts[^1].Pod);
        Assert.True(acked > 0);
        Assert.Equal(0, lost);
        Assert.True(smallestIsr >= 2, $"a partition was seen with {smallestIsr} in-sync replicas, below min.insync.replicas 2");
        var pods = await kube.Client.CoreV1.ListNamespacedPodAsync(Ns, labelSelector: BrokerPods);
        Assert.All(pods.Items, p => Assert.EndsWith(":" + nextVersion, p.Spec.Containers.Single().Image));
        Assert.Equal(nextVersion, (await install.BrokerAsync())!.Json.GetProperty("status").GetProperty("version").GetString());
    }

    [Fact]
    [Step(12)]
    public async Task Killing_the_operator_leader_mid_roll_lets_the_other_replica_take_the_lease_and_finish()
    {
        await EnsureTopicAsync("rolling", 3, 3, new() { ["min.insync.replicas"] = "2" });
        // The chart runs two operator replicas (operator.replicas 2): one holds the lease, the other stands by.
        await Wait.UntilAsync("two operator replicas available", async () =>
            (await kube.Client.AppsV1.ReadNamespacedDeploymentAsync($"{Release}-operator", OperatorNamespace)).Status?.AvailableReplicas == 2,
            TimeSpan.FromSeconds(120), () => install.OperatorState());
        var leader = await LeaseHolderAsync();

        var killedAt = DateTime.MinValue;
        var (roll, restarts, acked, lost, smallestIsr) = await RollUnderLoadAsync(
            () => PatchAsync("broker", Cluster, "{\"spec\":{\"config\":{\"log.retention.hours\":\"" + (100 + DateTime.UtcNow.Second) + "\"}}}"),
            onFirstRestart: () =>
            {
                killedAt = DateTime.UtcNow;
                // Gone at once, without a graceful stop that could hand the lease over.
                return kube.Client.CoreV1.DeleteNamespacedPodAsync(leader, OperatorNamespace, gracePeriodSeconds: 0);
            });
        Timing("roll with the operator leader killed after the first restart", roll.Elapsed);
        Note($"leader killed at {killedAt:HH:mm:ss.f}; restart order: {string.Join(", ", restarts.Select(r => $"{r.Pod}@{r.At:HH:mm:ss.f}"))}; acked {acked}, lost {lost}, smallest ISR {smallestIsr}");

        var holder = await LeaseHolderAsync();
        Note($"operator leader {leader} deleted mid-roll; the lease is now held by {holder}");
        Assert.StartsWith($"{Release}-operator-", leader);
        Assert.StartsWith($"{Release}-operator-", holder);
        Assert.NotEqual(leader, holder);
        Assert.True(killedAt > DateTime.MinValue, "the roll never restarted a first pod");
        // Every pod restarted exactly once: the new leader resumed the roll instead of starting it over.
        Assert.Equal(Enumerable.Range(0, 3).Select(i => $"{Cluster}-{i}").Order(), restarts.Select(r => r.Pod).Order());
        Assert.Contains(restarts, r => r.At > killedAt.AddSeconds(1));
        Assert.Equal(0, lost);
        Assert.True(smallestIsr >= 2, $"a partition was seen with {smallestIsr} in-sync replicas");
    }

    [Fact]
    [Step(13)]
    public async Task Scale_down_from_4_to_3_drains_the_removed_broker_before_its_pod_goes()
    {
        await install.EnsureBrokerReadyAsync();
        var clock = Stopwatch.StartNew();
        await PatchAsync("broker", Cluster, """{"spec":{"replicas":4}}""");
        await Wait.UntilAsync("4 brokers ready", async () => (await install.BrokerAsync())!.Has("Ready") && (await install.BrokerAsync())!.StatusInt("readyReplicas") == 4,
            TimeSpan.FromSeconds(240), async () => $"{await install.BrokerAsync()}\n{await install.PodsAsync(Ns)}");
        Timing("scale up 3 -> 4 to Ready", clock.Elapsed);
        await Wait.UntilAsync("4 brokers in Kafka metadata", () => Task.FromResult(KafkaProbe.Metadata(Bootstrap(4)).Brokers.Count == 4), TimeSpan.FromSeconds(60));

        await ApplyTopicAsync("spread", partitions: 8, replicas: 2, config: []);
        await WaitTopicReadyAsync("spread");
        var before = (await KafkaProbe.DescribeTopicAsync(Bootstrap(4), "spread"))!;
        Assert.Contains(before.Partitions, p => p.Replicas.Any(r => r.Id == 3));

        await using var observer = new ClusterObserver(Bootstrap(), ["spread"]);
        await using var recorder = await PodRestartRecorder.StartAsync(kube.Client, Ns, BrokerPods);
        clock.Restart();
        await PatchAsync("broker", Cluster, """{"spec":{"replicas":3}}""");
        await Wait.UntilAsync("pod 3 gone and the Broker Ready with 3", async () =>
                (await kube.Client.CoreV1.ListNamespacedPodAsync(Ns, labelSelector: BrokerPods)).Items.All(p => p.Metadata.Name != $"{Cluster}-3")
                && (await install.BrokerAsync())!.Has("Ready") && (await install.BrokerAsync())!.StatusInt("readyReplicas") == 3,
            TimeSpan.FromSeconds(300), async () => $"{await install.BrokerAsync()}\n{await install.PodsAsync(Ns)}\n{install.OperatorLogTail()}");
        Timing("scale down 4 -> 3 with drain", clock.Elapsed);

        var removal = recorder.Restarts.Single(r => r.Pod == $"{Cluster}-3").At;
        var lastHolding = observer.LastSeenHoldingReplicas(3);
        Note($"broker 3 last seen holding replicas at {lastHolding:HH:mm:ss.f}; its pod began to go at {removal:HH:mm:ss.f}");
        Assert.True(lastHolding is null || lastHolding < removal, "pod 3 went away while broker 3 still held replicas");
        Assert.DoesNotContain(recorder.Restarts, r => r.Pod != $"{Cluster}-3");
        var after = (await KafkaProbe.DescribeTopicAsync(Bootstrap(), "spread"))!;
        Assert.All(after.Partitions, p =>
        {
            Assert.DoesNotContain(p.Replicas, r => r.Id == 3);
            Assert.Equal(p.Replicas.Count, p.ISR.Count);
        });

        // Then unregistered (KIP-856) once its pod was gone: recorded in status, absent from DescribeCluster, and a second
        // UnregisterBroker for it finds no registration.
        var status = (await install.BrokerAsync())!;
        using var admin = KafkaProbe.Admin(Bootstrap());
        var listed = (await admin.DescribeClusterAsync()).Nodes.Select(n => n.Id).Order().ToList();
        var again = await UnregisterBrokerProbe.SendAsync(Bootstrap().Split(',')[0], 3, TimeSpan.FromSeconds(15));
        Note($"after scale-down: unregisteredBrokers [{string.Join(",", status.StatusInts("unregisteredBrokers"))}], DescribeCluster [{string.Join(",", listed)}], second UnregisterBroker(3): {again.ErrorCode} {again.ErrorMessage}");
        Assert.Equal(new[] { 3 }, status.StatusInts("unregisteredBrokers"));
        Assert.Empty(status.StatusInts("pendingUnregistrations"));
        Assert.Equal(new[] { 0, 1, 2 }, listed);
        Assert.Equal(UnregisterBrokerProbe.BrokerIdNotRegistered, again.ErrorCode);
    }

    private async Task<string?> LeaseHolderAsync() =>
        (await kube.Client.CoordinationV1.ReadNamespacedLeaseAsync("tributary-operator", OperatorNamespace)).Spec.HolderIdentity;

    /// <summary>
    /// Starts an idempotent acks=all producer on topic "rolling" and an ISR/controller observer, makes the change that
    /// triggers a roll, waits until all three broker pods were restarted and the Broker is Ready again, then reads the
    /// topic back. Returns the roll's duration, the restarts in order with the controller seen when each began, the
    /// acknowledged and lost record counts, and the smallest ISR seen.
    /// </summary>
    private async Task<(Stopwatch Roll, List<(string Pod, DateTime At, int? Controller)> Restarts, int Acked, int Lost, int SmallestIsr)> RollUnderLoadAsync(
        Func<Task> change, Func<Task>? onFirstRestart)
    {
        await using var observer = new ClusterObserver(Bootstrap(), ["rolling"]);
        var producer = new ContinuousProducer(Bootstrap(), "rolling");
        await Wait.UntilAsync("producer acknowledged 200 records", () => Task.FromResult(producer.AcknowledgedCount >= 200), TimeSpan.FromSeconds(60),
            () => Task.FromResult(string.Join('\n', producer.Errors.Take(5))));
        await using var recorder = await PodRestartRecorder.StartAsync(kube.Client, Ns, BrokerPods);
        var roll = Stopwatch.StartNew();
        await change();
        if (onFirstRestart is not null)
        {
            await Wait.UntilAsync("first pod restart", () => Task.FromResult(recorder.Restarts.Count >= 1), TimeSpan.FromSeconds(120),
                async () => $"{await install.BrokerAsync()}\n{install.OperatorLogTail()}");
            await onFirstRestart();
        }

        await Wait.UntilAsync("all 3 broker pods restarted and the Broker Ready again", async () =>
                recorder.Restarts.Select(r => r.Pod).Distinct().Count() == 3 && (await install.BrokerAsync())!.Has("Ready")
                && (await install.BrokerAsync())!.Json.GetProperty("status").TryGetProperty("pendingRestarts", out var pending) is var has
                && (!has || pending.ValueKind != System.Text.Json.JsonValueKind.Array || pending.GetArrayLength() == 0),
            TimeSpan.FromSeconds(420),
            async () => $"restarts so far: {string.Join(", ", recorder.Restarts.Select(r => r.Pod))}\n{await install.BrokerAsync()}\n{await install.PodsAsync(Ns)}\n{install.OperatorLogTail()}");
        roll.Stop();
        var ackedBeforeStop = producer.AcknowledgedCount;
        await Wait.UntilAsync("producer keeps going after the roll", () => Task.FromResult(producer.AcknowledgedCount >= ackedBeforeStop + 100), TimeSpan.FromSeconds(60));
        await producer.StopAsync();
        var acked = producer.Acknowledged.Keys.ToList();
        var read = ContinuousProducer.ReadAll(Bootstrap(), "rolling", TimeSpan.FromSeconds(120));
        var lost = acked.Count(v => !read.Contains(v));
        Note($"producer: {acked.Count} acknowledged, {producer.Errors.Count} failed ({string.Join("; ", producer.Errors.Take(3))}), {read.Count} read back; observer samples {observer.Samples}");
        await producer.DisposeAsync();
        var restarts = recorder.Restarts.Select(r => (r.Pod, r.At, observer.ControllerAt(r.At))).ToList();
        var smallest = observer.SmallestIsr.Count == 0 ? 0 : observer.SmallestIsr.Values.Min();
        return (roll, restarts, acked.Count, lost, smallest);
    }

    private async Task ApplyTopicAsync(string name, int partitions, int replicas, Dictionary<string, string> config,
        string cluster = Cluster, Dictionary<string, string>? annotations = null)
    {
        var configYaml = config.Count == 0 ? "{}" : "{ " + string.Join(", ", config.Select(kv => $"\"{kv.Key}\": \"{kv.Value}\"")) + " }";
        var annotationYaml = annotations is null ? "" : ", annotations: { " + string.Join(", ", annotations.Select(kv => $"\"{kv.Key}\": \"{kv.Value}\"")) + " }";
        await kube.ApplyAsync($$"""
            apiVersion: tributary.dev/v1alpha1
            kind: Topic
            metadata: { name: {{name}}, namespace: {{Ns}}, labels: { tributary.dev/cluster: {{cluster}} }{{annotationYaml}} }
            spec: { partitions: {{partitions}}, replicas: {{replicas}}, config: {{configYaml}} }
            """);
    }

    /// <summary>For a step run alone: creates the topic earlier steps would have left behind.</summary>
    private async Task EnsureTopicAsync(string name, int partitions, int replicas, Dictionary<string, string> config)
    {
        await install.EnsureBrokerReadyAsync();
        if (await install.TopicAsync(name) is null)
        {
            await ApplyTopicAsync(name, partitions, replicas, config);
        }

        await WaitTopicReadyAsync(name);
    }

    private Task PatchAsync(string kind, string name, string mergePatch) =>
        kube.KubectlAsync(["patch", kind, name, "-n", Ns, "--type", "merge", "-p", mergePatch]).ContinueWith(t => t.Result.EnsureSuccess($"kubectl patch {kind} {name}"), TaskScheduler.Default);

    private Task<ResourceView> WaitTopicReadyAsync(string name) =>
        WaitTopicAsync(name, t => t.Has("Ready") && !t.Has("Error"));

    private async Task<ResourceView> WaitTopicAsync(string name, Func<ResourceView, bool> condition, TimeSpan? timeout = null)
    {
        ResourceView? last = null;
        await Wait.UntilAsync($"Topic {name}", async () =>
        {
            last = await install.TopicAsync(name);
            return last is not null && condition(last);
        }, timeout ?? TimeSpan.FromSeconds(90), () => Task.FromResult($"topic: {last}\n{install.OperatorLogTail()}"));
        return last!;
    }
}
