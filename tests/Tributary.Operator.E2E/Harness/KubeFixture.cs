using System.Diagnostics;
using k8s;
using k8s.Models;
using Xunit.Abstractions;

namespace Tributary.Operator.E2E.Harness;

/// <summary>
/// One real control plane (etcd, kube-apiserver, kube-controller-manager) and the node test double for the whole
/// end-to-end run; test classes share it and each works in its own namespace.
/// </summary>
public sealed class KubeFixture : IAsyncLifetime
{
    public TestLog Log { get; } = new();

    public string WorkDirectory { get; } = Path.Combine(Path.GetTempPath(), $"tributary-e2e-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..6]}");

    public ControlPlane ControlPlane { get; private set; } = null!;

    public NodeTestDouble Node { get; private set; } = null!;

    public Kubernetes Client => ControlPlane.Client;

    public async Task InitializeAsync()
    {
        var clock = Stopwatch.StartNew();
        Directory.CreateDirectory(WorkDirectory);
        ControlPlane = await ControlPlane.StartAsync(Path.Combine(WorkDirectory, "control-plane"), Log);
        Node = new NodeTestDouble(Client, ControlPlane.ApiServerPort, Path.Combine(WorkDirectory, "node"), Log);
        await Node.StartAsync();
        Log.WriteLine($"fixture: control plane and node test double up in {clock.Elapsed.TotalSeconds:F1} s (state in {WorkDirectory})");
    }

    public async Task DisposeAsync()
    {
        if (Node is not null)
        {
            await Node.DisposeAsync();
        }

        if (ControlPlane is not null)
        {
            await ControlPlane.DisposeAsync();
        }

        if (Environment.GetEnvironmentVariable("TRIBUTARY_E2E_KEEP") != "1")
        {
            try
            {
                Directory.Delete(WorkDirectory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    public Task<CommandLine.Result> KubectlAsync(IEnumerable<string> arguments, string? standardInput = null) =>
        CommandLine.RunAsync("kubectl", ["--kubeconfig", ControlPlane.Kubeconfig, .. arguments], Log, standardInput: standardInput);

    public async Task ApplyAsync(string yaml, string? @namespace = null)
    {
        var args = new List<string> { "apply", "-f", "-" };
        if (@namespace is not null)
        {
            args.AddRange(["-n", @namespace]);
        }

        (await KubectlAsync(args, yaml)).EnsureSuccess("kubectl apply");
    }

    public Task<CommandLine.Result> HelmAsync(IEnumerable<string> arguments) =>
        CommandLine.RunAsync(Path.Combine(RepositoryLayout.K8sBin, "helm"), [.. arguments, "--kubeconfig", ControlPlane.Kubeconfig], Log,
            environment: new Dictionary<string, string> { ["HELM_CACHE_HOME"] = Path.Combine(WorkDirectory, "helm", "cache"), ["HELM_CONFIG_HOME"] = Path.Combine(WorkDirectory, "helm", "config"), ["HELM_DATA_HOME"] = Path.Combine(WorkDirectory, "helm", "data") },
            timeout: TimeSpan.FromMinutes(5));

    public async Task CreateNamespaceAsync(string name)
    {
        await Client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = name } });
        // The ServiceAccount admission plugin refuses pods until the namespace's default account has its token.
        await Wait.UntilAsync($"default service account token in {name}", async () =>
        {
            var accounts = await Client.CoreV1.ListNamespacedServiceAccountAsync(name);
            return accounts.Items.Any(a => a.Metadata.Name == "default" && a.Secrets?.Count > 0);
        }, TimeSpan.FromSeconds(60));
    }

    /// <summary>Attaches the running test's output; returns a scope that detaches it.</summary>
    public IDisposable Attach(ITestOutputHelper output)
    {
        Log.Attach(output);
        return new Detach(Log);
    }

    private sealed class Detach(TestLog log) : IDisposable
    {
        public void Dispose() => log.Attach(null);
    }
}

[CollectionDefinition(Name)]
public sealed class KubeCollection : ICollectionFixture<KubeFixture>
{
    public const string Name = "kube";
}
