using System.Collections.Concurrent;
using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Tributary.Operator.E2E.Harness;

/// <summary>
/// A test double for the node (kubelet + scheduler + volume provisioner + cluster DNS) in front of the real API machinery:
/// it registers a Node, binds Pending Pods to it, provisions a local-directory PV for each Pending PVC (the real PV
/// controller binds them), runs each bound Pod through a <see cref="PodRuntime"/> with its own loopback address
/// 127.0.1.N (stable per pod name), and plays cluster DNS for Services by keeping tagged lines in /etc/hosts. Everything above the node (StatefulSet, endpoints, PV binder, GC, disruption controllers)
/// is the real kube-controller-manager.
/// </summary>
public sealed class NodeTestDouble : IAsyncDisposable
{
    public const string NodeName = "node-test-double";
    private const string OwnedLabel = "tributary.dev/node-test-double";
    private readonly Kubernetes client;
    private readonly TestLog log;
    private readonly HostsFile hosts;
    private readonly CancellationTokenSource stop = new();
    private readonly SemaphoreSlim kick = new(0);
    private readonly ConcurrentDictionary<string, PodRuntime> runtimes = new();
    private readonly ConcurrentDictionary<string, string> addresses = new();
    private readonly ConcurrentDictionary<string, bool> createdMountPoints = new();
    private readonly List<Task> loops = [];
    private int nextAddress = 10;

    public NodeTestDouble(Kubernetes client, int apiServerPort, string workDirectory, TestLog log, string hostsPath = "/etc/hosts")
    {
        this.client = client;
        this.log = log;
        ApiServerPort = apiServerPort;
        WorkDirectory = workDirectory;
        hosts = new HostsFile(hostsPath);
        ProbeHttp = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.Zero, UseProxy = false });
    }

    public int ApiServerPort { get; }

    public string WorkDirectory { get; }

    internal HttpClient ProbeHttp { get; }

    public async Task StartAsync()
    {
        Directory.CreateDirectory(WorkDirectory);
        hosts.RemoveStaleLines();
        await RegisterNodeAsync();
        loops.Add(WatchLoopAsync("pods", ct => client.CoreV1.WatchListPodForAllNamespacesAsync(cancellationToken: ct)));
        loops.Add(WatchLoopAsync("pvcs", ct => client.CoreV1.WatchListPersistentVolumeClaimForAllNamespacesAsync(cancellationToken: ct)));
        loops.Add(WatchLoopAsync("services", ct => client.CoreV1.WatchListServiceForAllNamespacesAsync(cancellationToken: ct)));
        loops.Add(WatchLoopAsync("configmaps", ct => client.CoreV1.WatchListConfigMapForAllNamespacesAsync(cancellationToken: ct), refreshVolumes: true));
        loops.Add(Task.Run(ReconcileLoopAsync));
    }

    /// <summary>The loopback address given to pod <paramref name="name"/> (kept across its restarts and re-creations).</summary>
    public string AddressOf(string @namespace, string name) =>
        addresses.GetOrAdd($"{@namespace}/{name}", _ =>
        {
            var n = Interlocked.Increment(ref nextAddress);
            return $"127.0.{1 + (n / 250)}.{n % 250}";
        });

    /// <summary>The PID of a running container's process, or null.</summary>
    public int? ProcessId(string @namespace, string pod, string container) =>
        RuntimeOf(@namespace, pod)?.ProcessId(container);

    /// <summary>Sends a signal to a container's process, as a crash or an OOM kill would end it.</summary>
    public void Signal(string @namespace, string pod, string container, int signal) =>
        RuntimeOf(@namespace, pod)?.Signal(container, signal);

    /// <summary>The last lines a container's process wrote (all incarnations of that pod name).</summary>
    public string LogTail(string @namespace, string pod, string container, int lines = 60)
    {
        var files = Directory.Exists(Path.Combine(WorkDirectory, "pods"))
            ? Directory.GetDirectories(Path.Combine(WorkDirectory, "pods"), $"{@namespace}_{pod}_*")
                .Select(d => Path.Combine(d, "logs", container + ".log")).Where(File.Exists).OrderBy(File.GetLastWriteTimeUtc).ToList()
            : [];
        var all = files.SelectMany(f =>
        {
            using var stream = new FileStream(f, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            return reader.ReadToEnd().Split('\n');
        }).ToList();
        return string.Join('\n', all.Skip(Math.Max(0, all.Count - lines)));
    }

    internal void NoteMountTarget(string mountPath)
    {
        // Mount points must exist on the host; remember the first directory we create so disposal removes it again.
        var missing = mountPath;
        for (var parent = Path.GetDirectoryName(missing); parent is not null && !Directory.Exists(parent) && !File.Exists(parent); parent = Path.GetDirectoryName(parent))
        {
            missing = parent;
        }

        lock (createdMountPoints)
        {
            if (!Directory.Exists(missing) && !File.Exists(missing))
            {
                createdMountPoints.TryAdd(missing, true);
            }

            // Created here, one pod at a time, rather than by each pod's mount script at once.
            if (!File.Exists(mountPath))
            {
                Directory.CreateDirectory(mountPath);
            }
        }
    }

    private PodRuntime? RuntimeOf(string @namespace, string pod) =>
        runtimes.Values.Where(r => r.Namespace == @namespace && r.Name == pod && !r.Finished).LastOrDefault();

    private async Task RegisterNodeAsync()
    {
        var resources = new Dictionary<string, ResourceQuantity>
        {
            ["cpu"] = new("16"),
            ["memory"] = new("64Gi"),
            ["pods"] = new("110"),
            ["ephemeral-storage"] = new("100Gi"),
        };
        var node = new V1Node
        {
            Metadata = new V1ObjectMeta { Name = NodeName, Labels = new Dictionary<string, string> { ["kubernetes.io/hostname"] = NodeName, ["kubernetes.io/os"] = "linux" } },
        };
        try
        {
            await client.CoreV1.CreateNodeAsync(node);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
        {
        }

        var status = new V1NodeStatus
        {
            Capacity = resources,
            Allocatable = resources,
            Addresses = [new V1NodeAddress { Type = "InternalIP", Address = "127.0.0.1" }, new V1NodeAddress { Type = "Hostname", Address = NodeName }],
            Conditions = [new V1NodeCondition { Type = "Ready", Status = "True", Reason = "NodeTestDoubleReady", LastHeartbeatTime = DateTime.UtcNow, LastTransitionTime = DateTime.UtcNow }],
            NodeInfo = new V1NodeSystemInfo
            {
                Architecture = "amd64", OperatingSystem = "linux", KubeletVersion = "v1.20.2-node-test-double", KubeProxyVersion = "none",
                ContainerRuntimeVersion = "node-test-double://1", OsImage = "local processes", KernelVersion = "n/a",
                MachineID = "node-test-double", SystemUUID = "node-test-double", BootID = Guid.NewGuid().ToString(),
            },
        };
        await client.CoreV1.PatchNodeStatusAsync(new V1Patch(new { status }, V1Patch.PatchType.MergePatch), NodeName);
        log.WriteLine($"node-double: node {NodeName} registered");
    }

    private Task WatchLoopAsync<T>(string what, Func<CancellationToken, IAsyncEnumerable<(WatchEventType, T)>> open, bool refreshVolumes = false) =>
        Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await foreach (var _ in open(stop.Token))
                    {
                        Kick();
                        if (refreshVolumes)
                        {
                            foreach (var runtime in runtimes.Values)
                            {
                                await runtime.RefreshProjectedVolumesAsync();
                            }
                        }
                    }
                }
                catch (Exception) when (stop.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e)
                {
                    // A dropped or expired (410 Gone) watch: start a new one; the level-based reconcile loses nothing.
                    log.WriteLine($"node-double: {what} watch ended ({e.GetType().Name}: {e.Message}); re-opening");
                    await Task.Delay(500);
                }

                Kick();
            }
        });

    private void Kick()
    {
        if (kick.CurrentCount == 0)
        {
            kick.Release();
        }
    }

    private async Task ReconcileLoopAsync()
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await kick.WaitAsync(TimeSpan.FromSeconds(2), stop.Token);
                await ReconcilePodsAsync();
                await ReconcileVolumesAsync();
                await ReconcileDnsAsync();
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                log.WriteLine($"node-double: reconcile failed ({e.GetType().Name}: {e.Message}); retrying");
                await Task.Delay(500);
            }
        }
    }

    private async Task ReconcilePodsAsync()
    {
        var pods = await client.CoreV1.ListPodForAllNamespacesAsync(cancellationToken: stop.Token);
        var seen = new HashSet<string>();
        foreach (var pod in pods.Items)
        {
            var uid = pod.Metadata.Uid;
            seen.Add(uid);
            if (string.IsNullOrEmpty(pod.Spec.NodeName))
            {
                if (pod.Metadata.DeletionTimestamp is null)
                {
                    await BindAsync(pod);
                }

                continue;
            }

            if (pod.Spec.NodeName != NodeName)
            {
                continue;
            }

            if (runtimes.TryGetValue(uid, out var runtime))
            {
                runtime.Observe(pod);
                continue;
            }

            if (pod.Metadata.DeletionTimestamp is not null)
            {
                // Bound here but never run (deleted before its first pass) or already stopped: nothing left to stop,
                // so finish the deletion as the kubelet would.
                await ForceRemoveAsync(pod);
                continue;
            }

            if (pod.Status?.Phase is "Succeeded" or "Failed")
            {
                continue;
            }

            runtime = new PodRuntime(client, this, pod, AddressOf(pod.Metadata.NamespaceProperty, pod.Metadata.Name), log);
            runtimes[uid] = runtime;
            log.WriteLine($"node-double: starting pod {pod.Metadata.NamespaceProperty}/{pod.Metadata.Name} on {runtime.Address}");
            runtime.Start();
        }

        foreach (var (uid, runtime) in runtimes)
        {
            if (!seen.Contains(uid))
            {
                runtime.ObjectGone();
            }

            if (runtime.Finished)
            {
                runtimes.TryRemove(uid, out _);
            }
        }
    }

    private async Task ForceRemoveAsync(V1Pod pod)
    {
        try
        {
            await client.CoreV1.DeleteNamespacedPodAsync(pod.Metadata.Name, pod.Metadata.NamespaceProperty,
                new V1DeleteOptions { GracePeriodSeconds = 0, Preconditions = new V1Preconditions { Uid = pod.Metadata.Uid } }, cancellationToken: stop.Token);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Conflict)
        {
        }
    }

    private async Task BindAsync(V1Pod pod)
    {
        var binding = new V1Binding
        {
            Metadata = new V1ObjectMeta { Name = pod.Metadata.Name, NamespaceProperty = pod.Metadata.NamespaceProperty },
            Target = new V1ObjectReference { ApiVersion = "v1", Kind = "Node", Name = NodeName },
        };
        try
        {
            await client.CoreV1.CreateNamespacedPodBindingAsync(binding, pod.Metadata.Name, pod.Metadata.NamespaceProperty, cancellationToken: stop.Token);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
        {
            // Already bound by an earlier pass.
        }
        catch (System.Text.Json.JsonException)
        {
            // The apiserver answers a binding with a Status object, which the typed client may fail to read; the
            // binding is done (the next pass sees the pod bound).
        }

        log.WriteLine($"node-double: bound pod {pod.Metadata.NamespaceProperty}/{pod.Metadata.Name}");
        Kick();
    }

    private async Task ReconcileVolumesAsync()
    {
        var claims = await client.CoreV1.ListPersistentVolumeClaimForAllNamespacesAsync(cancellationToken: stop.Token);
        foreach (var claim in claims.Items)
        {
            if (claim.Status?.Phase != "Pending" || !string.IsNullOrEmpty(claim.Spec.VolumeName) || claim.Metadata.DeletionTimestamp is not null)
            {
                continue;
            }

            var name = $"pv-{claim.Metadata.NamespaceProperty}-{claim.Metadata.Name}-{claim.Metadata.Uid[..8]}";
            if (name.Length > 253)
            {
                name = "pv-" + claim.Metadata.Uid;
            }

            var directory = Path.Combine(WorkDirectory, "volumes", name);
            Directory.CreateDirectory(directory);
            var volume = new V1PersistentVolume
            {
                Metadata = new V1ObjectMeta { Name = name, Labels = new Dictionary<string, string> { [OwnedLabel] = "true" } },
                Spec = new V1PersistentVolumeSpec
                {
                    Capacity = new Dictionary<string, ResourceQuantity> { ["storage"] = claim.Spec.Resources?.Requests?.TryGetValue("storage", out var size) == true ? size : new ResourceQuantity("1Gi") },
                    AccessModes = claim.Spec.AccessModes ?? ["ReadWriteOnce"],
                    StorageClassName = claim.Spec.StorageClassName ?? "",
                    VolumeMode = claim.Spec.VolumeMode ?? "Filesystem",
                    PersistentVolumeReclaimPolicy = "Retain",
                    HostPath = new V1HostPathVolumeSource { Path = directory, Type = "DirectoryOrCreate" },
                    // Pre-bound to its claim: the real PV controller completes the binding.
                    ClaimRef = new V1ObjectReference
                    {
                        Kind = "PersistentVolumeClaim", ApiVersion = "v1", NamespaceProperty = claim.Metadata.NamespaceProperty,
                        Name = claim.Metadata.Name, Uid = claim.Metadata.Uid,
                    },
                },
            };
            try
            {
                await client.CoreV1.CreatePersistentVolumeAsync(volume, cancellationToken: stop.Token);
                log.WriteLine($"node-double: provisioned PV {name} at {directory} for claim {claim.Metadata.NamespaceProperty}/{claim.Metadata.Name}");
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
            {
            }
        }

        var volumes = await client.CoreV1.ListPersistentVolumeAsync(labelSelector: OwnedLabel + "=true", cancellationToken: stop.Token);
        foreach (var volume in volumes.Items.Where(v => v.Status?.Phase == "Released"))
        {
            // Its claim is gone (a scale-down that deleted PVCs, a namespace removed): reclaim like a Delete policy would.
            await client.CoreV1.DeletePersistentVolumeAsync(volume.Metadata.Name, cancellationToken: stop.Token);
            var path = volume.Spec.HostPath?.Path;
            if (path is not null && path.StartsWith(WorkDirectory, StringComparison.Ordinal) && Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }

            log.WriteLine($"node-double: reclaimed released PV {volume.Metadata.Name}");
        }
    }

    /// <summary>
    /// Cluster DNS for Services, computed as the endpoints controller + CoreDNS would: a Service name resolves to the
    /// pods its selector picks (ready ones, or all running ones with publishNotReadyAddresses), and on a headless Service
    /// a pod whose hostname/subdomain name it gets &lt;hostname&gt;.&lt;svc&gt;.&lt;ns&gt;.svc[.cluster.local]. (The real
    /// Endpoints objects cannot be used: their validation refuses loopback addresses, which the double's pods have.)
    /// </summary>
    private async Task ReconcileDnsAsync()
    {
        var services = (await client.CoreV1.ListServiceForAllNamespacesAsync(cancellationToken: stop.Token)).Items;
        var pods = (await client.CoreV1.ListPodForAllNamespacesAsync(cancellationToken: stop.Token)).Items
            .Where(p => p.Spec.NodeName == NodeName && !string.IsNullOrEmpty(p.Status?.PodIP) && p.Status.Phase is "Pending" or "Running")
            .ToList();
        var entries = new SortedDictionary<string, SortedSet<string>>(StringComparer.Ordinal);
        void Add(string name, string address)
        {
            if (!entries.TryGetValue(name, out var set))
            {
                entries[name] = set = new SortedSet<string>(StringComparer.Ordinal);
            }

            set.Add(address);
        }

        foreach (var service in services)
        {
            var ns = service.Metadata.NamespaceProperty;
            var name = service.Metadata.Name;
            if (service.Spec.Selector is not { Count: > 0 } selector || service.Spec.Type == "ExternalName")
            {
                continue;
            }

            var headless = service.Spec.ClusterIP == "None";
            var publishNotReady = service.Spec.PublishNotReadyAddresses == true;
            foreach (var pod in pods.Where(p => p.Metadata.NamespaceProperty == ns && selector.All(kv => p.Metadata.Labels?.TryGetValue(kv.Key, out var v) == true && v == kv.Value)))
            {
                var ready = pod.Status.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true;
                if (!(ready && pod.Metadata.DeletionTimestamp is null) && !publishNotReady)
                {
                    continue;
                }

                // A ClusterIP Service would resolve to its cluster IP, which routes nowhere without kube-proxy; the
                // double resolves it to the pods instead (right where the Service port equals the target port).
                var address = pod.Status.PodIP;
                Add($"{name}.{ns}.svc.cluster.local", address);
                Add($"{name}.{ns}.svc", address);
                if (headless && !string.IsNullOrEmpty(pod.Spec.Hostname) && pod.Spec.Subdomain == name)
                {
                    Add($"{pod.Spec.Hostname}.{name}.{ns}.svc.cluster.local", address);
                    Add($"{pod.Spec.Hostname}.{name}.{ns}.svc", address);
                }
            }
        }

        // One line per (name, address): a name with several endpoints gets several lines, and glibc returns them all.
        var lines = entries
            .SelectMany(e => e.Value.Select(address => (Address: address, Names: (IReadOnlyList<string>)[e.Key])))
            .ToList();
        hosts.SetEntries(lines);
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        foreach (var runtime in runtimes.Values)
        {
            runtime.ObjectGone();
        }

        try
        {
            await Task.WhenAll(runtimes.Values.Select(r => r.Lifecycle)).WaitAsync(TimeSpan.FromSeconds(90));
        }
        catch (TimeoutException)
        {
            log.WriteLine("node-double: some pods did not stop within 90 s");
        }

        try
        {
            await Task.WhenAll(loops).WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
        }

        hosts.RemoveOwnLines();
        foreach (var path in createdMountPoints.Keys)
        {
            RemoveIfOnlyEmptyDirectories(path);
        }

        ProbeHttp.Dispose();
    }

    private static void RemoveIfOnlyEmptyDirectories(string path)
    {
        if (!Directory.Exists(path) || Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories).Any())
        {
            return;
        }

        Directory.Delete(path, recursive: true);
    }
}
