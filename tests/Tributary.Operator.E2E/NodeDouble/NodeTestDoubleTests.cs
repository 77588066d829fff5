using System.Diagnostics;
using System.Net;
using k8s;
using Tributary.Operator.E2E.Harness;
using Xunit.Abstractions;

namespace Tributary.Operator.E2E.NodeDouble;

/// <summary>
/// The node test double against the real API machinery, with a hand-written broker StatefulSet that follows the same
/// contract as the operator's (container broker, image …/tributary-broker, args with $(POD_NAME)/$(POD_IP), a ConfigMap of
/// &lt;pod&gt;.properties at /etc/tributary, a PVC at /var/lib/tributary, a headless Service publishing not-ready pods).
/// </summary>
[Collection(KubeCollection.Name)]
public sealed class NodeTestDoubleTests(KubeFixture kube, ITestOutputHelper output) : IAsyncLifetime
{
    private const string Ns = "double";
    private const string Cluster = "hand";
    private IDisposable? attached;

    private static string Host(int i) => $"{Cluster}-{i}.{Cluster}-brokers.{Ns}.svc.cluster.local";

    private static string Bootstrap => string.Join(',', Enumerable.Range(0, 3).Select(i => Host(i) + ":9092"));

    public async Task InitializeAsync()
    {
        attached = kube.Attach(output);
        if ((await kube.Client.CoreV1.ListNamespaceAsync()).Items.All(n => n.Metadata.Name != Ns))
        {
            await kube.CreateNamespaceAsync(Ns);
        }

        await kube.ApplyAsync(Manifests(), Ns);
    }

    public Task DisposeAsync()
    {
        attached?.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Hand_written_broker_statefulset_runs_as_three_ready_pods_that_form_one_cluster()
    {
        var clock = Stopwatch.StartNew();
        await WaitReadyReplicasAsync(3);
        output.WriteLine($"3 broker pods ready {clock.Elapsed.TotalSeconds:F1} s after apply");

        var pods = await kube.Client.CoreV1.ListNamespacedPodAsync(Ns);
        var addresses = pods.Items.Select(p => p.Status.PodIP).ToList();
        Assert.Equal(3, addresses.Distinct().Count());
        Assert.All(addresses, a => Assert.StartsWith("127.0.", a));
        Assert.All(pods.Items, p => Assert.Equal(NodeTestDouble.NodeName, p.Spec.NodeName));

        // The PVCs are bound to PVs the double provisioned, and the broker wrote its log under the PV's directory
        // although it was configured with /var/lib/tributary/data: the mount namespace made that path the volume.
        var claims = await kube.Client.CoreV1.ListNamespacedPersistentVolumeClaimAsync(Ns);
        Assert.Equal(3, claims.Items.Count(c => c.Status.Phase == "Bound"));
        foreach (var claim in claims.Items)
        {
            var volume = await kube.Client.CoreV1.ReadPersistentVolumeAsync(claim.Spec.VolumeName);
            Assert.True(File.Exists(Path.Combine(volume.Spec.HostPath.Path, "data", "meta.properties"))
                || Directory.EnumerateFileSystemEntries(Path.Combine(volume.Spec.HostPath.Path, "data")).Any(),
                $"no broker data under {volume.Spec.HostPath.Path}/data");
        }

        Assert.False(Directory.Exists("/var/lib/tributary/data") && Directory.EnumerateFileSystemEntries("/var/lib/tributary/data").Any(),
            "broker data leaked onto the host's /var/lib/tributary");

        // A real Kafka client finds the three brokers through the pod DNS names the double publishes.
        var metadata = await RetryAsync(() => KafkaProbe.Metadata(Bootstrap), m => m.Brokers.Count == 3);
        Assert.Equal(Enumerable.Range(0, 3).Select(Host).Order(), metadata.Brokers.Select(b => b.Host).Order());
    }

    [Fact]
    public async Task Deleted_pod_gets_sigterm_and_is_recreated_with_the_same_address_and_volume()
    {
        await WaitReadyReplicasAsync(3);
        var before = await kube.Client.CoreV1.ReadNamespacedPodAsync($"{Cluster}-1", Ns);
        var pid = kube.Node.ProcessId(Ns, $"{Cluster}-1", "broker");
        Assert.NotNull(pid);

        await kube.Client.CoreV1.DeleteNamespacedPodAsync($"{Cluster}-1", Ns);
        await Wait.UntilAsync("old broker process exits", () => Task.FromResult(!IsRunning(pid.Value)), TimeSpan.FromSeconds(60));
        // Controlled shutdown on SIGTERM ends with exit code 0 in the log of the old incarnation. The double writes that
        // line after it has reaped the process, which can be a moment after the PID is gone: wait for the line itself.
        await Wait.UntilAsync("the old incarnation's exit line in the pod log",
            () => Task.FromResult(kube.Node.LogTail(Ns, $"{Cluster}-1", "broker", 400).Contains("--- exited with code", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(30));
        Assert.Contains("--- exited with code 0", kube.Node.LogTail(Ns, $"{Cluster}-1", "broker", 400));

        await Wait.UntilAsync("pod re-created by the StatefulSet controller", async () =>
        {
            var pod = await kube.Client.CoreV1.ReadNamespacedPodAsync($"{Cluster}-1", Ns);
            return pod.Metadata.Uid != before.Metadata.Uid;
        }, TimeSpan.FromSeconds(60));
        await WaitReadyReplicasAsync(3);
        var after = await kube.Client.CoreV1.ReadNamespacedPodAsync($"{Cluster}-1", Ns);
        Assert.Equal(before.Status.PodIP, after.Status.PodIP);
        Assert.NotEqual(pid, kube.Node.ProcessId(Ns, $"{Cluster}-1", "broker"));
    }

    [Fact]
    public async Task Crashed_container_is_restarted_and_its_restart_counted()
    {
        await WaitReadyReplicasAsync(3);
        var pid = kube.Node.ProcessId(Ns, $"{Cluster}-2", "broker");
        Assert.NotNull(pid);

        kube.Node.Signal(Ns, $"{Cluster}-2", "broker", PosixSignals.SigKill);
        await Wait.UntilAsync("restart counted in pod status", async () =>
        {
            var pod = await kube.Client.CoreV1.ReadNamespacedPodAsync($"{Cluster}-2", Ns);
            var status = pod.Status.ContainerStatuses?.SingleOrDefault();
            return status is { RestartCount: >= 1, LastState.Terminated.ExitCode: 137 };
        }, TimeSpan.FromSeconds(30));
        await WaitReadyReplicasAsync(3, TimeSpan.FromSeconds(120));
        Assert.NotEqual(pid, kube.Node.ProcessId(Ns, $"{Cluster}-2", "broker"));
    }

    private async Task WaitReadyReplicasAsync(int replicas, TimeSpan? timeout = null) =>
        await Wait.UntilAsync($"{replicas} ready replicas of statefulset {Cluster}", async () =>
        {
            var set = await kube.Client.AppsV1.ReadNamespacedStatefulSetAsync(Cluster, Ns);
            return set.Status?.ReadyReplicas == replicas;
        }, timeout ?? TimeSpan.FromSeconds(180), async () =>
        {
            var pods = await kube.Client.CoreV1.ListNamespacedPodAsync(Ns);
            return string.Join('\n', pods.Items.Select(p => $"{p.Metadata.Name}: {p.Status?.Phase} ready={p.Status?.Conditions?.FirstOrDefault(c => c.Type == "Ready")?.Status} {p.Status?.ContainerStatuses?.FirstOrDefault()?.State?.Waiting?.Message}"))
                + "\n--- last broker lines:\n" + kube.Node.LogTail(Ns, $"{Cluster}-0", "broker", 30);
        });

    private static async Task<T> RetryAsync<T>(Func<T> read, Func<T, bool> done)
    {
        T value = default!;
        await Wait.UntilAsync("kafka metadata", () =>
        {
            value = read();
            return Task.FromResult(done(value));
        }, TimeSpan.FromSeconds(60));
        return value;
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static string Manifests()
    {
        string Properties(int i) => $"""
                node.id={i}
                process.roles=broker,controller
                cluster.id=HandWrittenDoubleTest
                controller.listener.names=CONTROLLER
                controller.quorum.voters={string.Join(',', Enumerable.Range(0, 3).Select(v => $"{v}@{Host(v)}:9093"))}
                advertised.listeners=PLAINTEXT://{Host(i)}:9092
                log.dirs=/var/lib/tributary/data
                default.replication.factor=3
                min.insync.replicas=2
                offsets.topic.replication.factor=3
            """;
        string Indent(string text) => string.Join('\n', text.Split('\n').Select(l => "    " + l.Trim()));
        return $$"""
            apiVersion: v1
            kind: Service
            metadata: { name: {{Cluster}}-brokers }
            spec:
              clusterIP: None
              publishNotReadyAddresses: true
              selector: { app: {{Cluster}} }
              ports: [{ name: kafka, port: 9092 }, { name: controller, port: 9093 }, { name: http, port: 9094 }]
            ---
            apiVersion: v1
            kind: ConfigMap
            metadata: { name: {{Cluster}}-config }
            data:
              {{Cluster}}-0.properties: |
            {{Indent(Properties(0))}}
              {{Cluster}}-1.properties: |
            {{Indent(Properties(1))}}
              {{Cluster}}-2.properties: |
            {{Indent(Properties(2))}}
            ---
            apiVersion: apps/v1
            kind: StatefulSet
            metadata: { name: {{Cluster}} }
            spec:
              replicas: 3
              serviceName: {{Cluster}}-brokers
              podManagementPolicy: Parallel
              selector: { matchLabels: { app: {{Cluster}} } }
              template:
                metadata: { labels: { app: {{Cluster}} } }
                spec:
                  terminationGracePeriodSeconds: 40
                  containers:
                  - name: broker
                    image: example.test/tributary/tributary-broker:0.1.0
                    args: ["--config", "/etc/tributary/$(POD_NAME).properties",
                           "--override", "listeners=PLAINTEXT://$(POD_IP):9092,CONTROLLER://$(POD_IP):9093",
                           "--override", "http.listeners=http://$(POD_IP):9094"]
                    env:
                    - { name: POD_NAME, valueFrom: { fieldRef: { fieldPath: metadata.name } } }
                    - { name: POD_IP, valueFrom: { fieldRef: { fieldPath: status.podIP } } }
                    ports: [{ name: http, containerPort: 9094 }]
                    readinessProbe: { httpGet: { path: /readyz, port: http }, periodSeconds: 2, timeoutSeconds: 3 }
                    livenessProbe: { httpGet: { path: /healthz, port: 9094 }, initialDelaySeconds: 30, periodSeconds: 10, timeoutSeconds: 5 }
                    volumeMounts:
                    - { name: config, mountPath: /etc/tributary }
                    - { name: data, mountPath: /var/lib/tributary }
                  volumes:
                  - { name: config, configMap: { name: {{Cluster}}-config } }
              volumeClaimTemplates:
              - metadata: { name: data }
                spec: { accessModes: [ReadWriteOnce], resources: { requests: { storage: 1Gi } } }
            """;
    }
}
