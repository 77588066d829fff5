using k8s;

namespace Tributary.Operator.E2E.Harness;

/// <summary>
/// A real etcd + kube-apiserver + kube-controller-manager started by scripts/k8s/start.sh on free loopback ports in a
/// temporary directory, stopped by the PIDs the script recorded.
/// </summary>
public sealed class ControlPlane : IAsyncDisposable
{
    private ControlPlane(string directory, int apiServerPort)
    {
        Directory = directory;
        ApiServerPort = apiServerPort;
        Kubeconfig = Path.Combine(directory, "kubeconfig");
        Client = new Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(Kubeconfig));
    }

    public string Directory { get; }

    public int ApiServerPort { get; }

    public string Kubeconfig { get; }

    public Kubernetes Client { get; }

    public static async Task<ControlPlane> StartAsync(string directory, TestLog log)
    {
        // start.sh uses base+0/+1 (etcd), +43 (apiserver), +44 (controller-manager).
        var portBase = FreePorts.FindBase([0, 1, 43, 44]);
        var result = await CommandLine.RunAsync(Path.Combine(RepositoryLayout.K8sScripts, "start.sh"),
            [directory, portBase.ToString(System.Globalization.CultureInfo.InvariantCulture)], log, timeout: TimeSpan.FromMinutes(2));
        if (result.ExitCode != 0)
        {
            await CommandLine.RunAsync(Path.Combine(RepositoryLayout.K8sScripts, "stop.sh"), [directory], log);
            result.EnsureSuccess("scripts/k8s/start.sh");
        }

        return new ControlPlane(directory, portBase + 43);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await CommandLine.RunAsync(Path.Combine(RepositoryLayout.K8sScripts, "stop.sh"), [Directory], new TestLog());
    }
}
