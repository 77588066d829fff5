using System.Diagnostics;
using k8s;
using Tributary.Operator.E2E.Harness;

namespace Tributary.Operator.E2E.Operator;

/// <summary>
/// The chart installed once (operator Deployment run by the node test double) and one 3-broker Broker in its own
/// namespace, shared by the ordered operator scenarios. Each step makes sure of what it needs, so a step also runs alone.
/// </summary>
public sealed class TributaryInstall(KubeFixture kube)
{
    public const string Release = "tributary";
    public const string OperatorNamespace = "tributary-system";
    public const string Ns = "e2e";
    public const string Cluster = "demo";
    private readonly SemaphoreSlim gate = new(1);
    private bool installed;
    private bool brokerApplied;

    public KubeFixture Kube => kube;

    public static string Host(int ordinal) => $"{Cluster}-{ordinal}.{Cluster}-brokers.{Ns}.svc.cluster.local";

    public static string Bootstrap(int replicas = 3) => string.Join(',', Enumerable.Range(0, replicas).Select(i => Host(i) + ":9092"));

    public TimeSpan? InstallToOperatorReady { get; private set; }

    public TimeSpan? ApplyToBrokerReady { get; private set; }

    public async Task EnsureInstalledAsync()
    {
        await gate.WaitAsync();
        try
        {
            if (installed)
            {
                return;
            }

            var clock = Stopwatch.StartNew();
            // Another test class may have installed the release on the shared control plane already: use that one.
            var listed = (await kube.HelmAsync(["list", "--namespace", OperatorNamespace, "--short"])).EnsureSuccess("helm list");
            if (!listed.Output.Split('\n').Any(line => line.Trim() == Release))
            {
                (await kube.HelmAsync(["install", Release, RepositoryLayout.Chart, "--namespace", OperatorNamespace, "--create-namespace",
                    "--set", "operator.logLevel=Debug"])).EnsureSuccess("helm install");
            }

            await Wait.UntilAsync("operator deployment available", async () =>
            {
                var deployment = await kube.Client.AppsV1.ReadNamespacedDeploymentAsync($"{Release}-operator", OperatorNamespace);
                return deployment.Status?.AvailableReplicas >= 1;
            }, TimeSpan.FromSeconds(180), () => OperatorState());
            InstallToOperatorReady = clock.Elapsed;
            installed = true;
        }
        finally
        {
            gate.Release();
        }
    }

    public async Task<TimeSpan> EnsureBrokerReadyAsync()
    {
        await EnsureInstalledAsync();
        await gate.WaitAsync();
        try
        {
            var clock = Stopwatch.StartNew();
            if (!brokerApplied)
            {
                if ((await kube.Client.CoreV1.ListNamespaceAsync()).Items.All(n => n.Metadata.Name != Ns))
                {
                    await kube.CreateNamespaceAsync(Ns);
                }

                await kube.ApplyAsync($$"""
                    apiVersion: tributary.dev/v1alpha1
                    kind: Broker
                    metadata: { name: {{Cluster}}, namespace: {{Ns}} }
                    spec:
                      replicas: 3
                      version: "0.1.0"
                      storage: { size: 1Gi }
                    """);
                brokerApplied = true;
            }

            await WaitBrokerReadyAsync(TimeSpan.FromSeconds(300));
            ApplyToBrokerReady ??= clock.Elapsed;
            return clock.Elapsed;
        }
        finally
        {
            gate.Release();
        }
    }

    public Task<ResourceView?> BrokerAsync(string name = Cluster, string @namespace = Ns) =>
        CustomResources.GetAsync(kube.Client, "brokers", @namespace, name);

    public Task<ResourceView?> TopicAsync(string name, string @namespace = Ns) =>
        CustomResources.GetAsync(kube.Client, "topics", @namespace, name);

    public async Task WaitBrokerReadyAsync(TimeSpan timeout) =>
        await Wait.UntilAsync($"Broker {Ns}/{Cluster} Ready", async () => (await BrokerAsync())?.Has("Ready") == true, timeout,
            async () => $"broker: {await BrokerAsync()}\n{await PodsAsync(Ns)}\n{OperatorLogTail()}\n--- {Cluster}-0:\n{kube.Node.LogTail(Ns, $"{Cluster}-0", "broker", 20)}");

    public async Task<string> PodsAsync(string @namespace)
    {
        var pods = await kube.Client.CoreV1.ListNamespacedPodAsync(@namespace);
        return string.Join('\n', pods.Items.Select(p =>
            $"{p.Metadata.Name} uid={p.Metadata.Uid[..8]} {p.Status?.Phase} ready={p.Status?.Conditions?.FirstOrDefault(c => c.Type == "Ready")?.Status} " +
            $"restarts={p.Status?.ContainerStatuses?.FirstOrDefault()?.RestartCount} {p.Status?.ContainerStatuses?.FirstOrDefault()?.State?.Waiting?.Message}"));
    }

    public async Task<string> OperatorState() =>
        await PodsAsync(OperatorNamespace) + "\n" + OperatorLogTail();

    public string OperatorLogTail()
    {
        var pods = kube.Client.CoreV1.ListNamespacedPod(OperatorNamespace).Items;
        return string.Join('\n', pods.Select(p => $"--- operator pod {p.Metadata.Name}:\n{kube.Node.LogTail(OperatorNamespace, p.Metadata.Name, "operator", 40)}"));
    }
}
