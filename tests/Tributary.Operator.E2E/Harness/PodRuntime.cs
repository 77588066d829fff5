using System.Globalization;
using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Tributary.Operator.E2E.Harness;

/// <summary>
/// The node test double's handling of one bound Pod, as a kubelet would: wait for its volumes, materialise them, run each
/// container as a <see cref="PodProcess"/> (restarting it per restartPolicy with back-off), probe readiness/liveness as
/// the container's probes say, write pods/status, and on deletion stop the containers (SIGTERM, SIGKILL after the grace
/// period) and remove the Pod object.
/// </summary>
internal sealed class PodRuntime
{
    private readonly Kubernetes client;
    private readonly NodeTestDouble node;
    private readonly TestLog log;
    private readonly string podDirectory;
    private readonly CancellationTokenSource deleted = new();
    private readonly CancellationTokenSource gone = new();
    private readonly SemaphoreSlim statusChanged = new(0);
    private readonly Lock gate = new();
    private readonly Dictionary<string, ContainerState> containers = new();
    private readonly Dictionary<string, string> volumeSources = new();
    private V1Pod pod;
    private DateTime startTime = DateTime.UtcNow;

    public PodRuntime(Kubernetes client, NodeTestDouble node, V1Pod pod, string address, TestLog log)
    {
        this.client = client;
        this.node = node;
        this.pod = pod;
        this.log = log;
        Address = address;
        podDirectory = Path.Combine(node.WorkDirectory, "pods", $"{Namespace}_{Name}_{Uid[..8]}");
        foreach (var container in pod.Spec.Containers)
        {
            containers[container.Name] = new ContainerState(container.Name, container.Image);
        }
    }

    public string Namespace => pod.Metadata.NamespaceProperty;

    public string Name => pod.Metadata.Name;

    public string Uid => pod.Metadata.Uid;

    public string Address { get; }

    public Task Lifecycle { get; private set; } = Task.CompletedTask;

    public bool Finished => Lifecycle.IsCompleted;

    public string LogPath(string container) => Path.Combine(podDirectory, "logs", container + ".log");

    public int? ProcessId(string container)
    {
        lock (gate)
        {
            return containers.TryGetValue(container, out var state) && state.Process is { HasExited: false } p ? p.Id : null;
        }
    }

    public void Signal(string container, int signal)
    {
        lock (gate)
        {
            if (containers.TryGetValue(container, out var state))
            {
                state.Process?.Signal(signal);
            }
        }
    }

    public void Start() => Lifecycle = Task.Run(RunAsync);

    /// <summary>The latest Pod object from the API; a deletion timestamp starts the graceful stop.</summary>
    public void Observe(V1Pod latest)
    {
        pod = latest;
        if (latest.Metadata.DeletionTimestamp is not null)
        {
            deleted.Cancel();
        }
    }

    /// <summary>The Pod object is gone (force-deleted, or its namespace went): stop everything.</summary>
    public void ObjectGone()
    {
        deleted.Cancel();
        gone.Cancel();
    }

    private async Task RunAsync()
    {
        var containerTasks = new List<Task>();
        var statusWriter = Task.Run(WriteStatusLoopAsync);
        try
        {
            if (await PrepareVolumesAsync())
            {
                containerTasks.AddRange(pod.Spec.Containers.Select(c => Task.Run(async () =>
                {
                    try
                    {
                        await RunContainerAsync(c);
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        // A spec this double cannot run (unsupported env source, …): say so in the pod's status.
                        log.WriteLine($"node-double: pod {Namespace}/{Name} container {c.Name} cannot run: {e.Message}");
                        SetWaiting("CreateContainerConfigError: " + e.Message, c.Name);
                    }
                })));
            }

            await Task.Delay(Timeout.Infinite, deleted.Token).ContinueWith(_ => { }, TaskScheduler.Default);
            await Task.WhenAll(containerTasks);
        }
        catch (OperationCanceledException) when (deleted.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            log.WriteLine($"node-double: pod {Namespace}/{Name} failed: {e}");
            await Task.Delay(Timeout.Infinite, deleted.Token).ContinueWith(_ => { }, TaskScheduler.Default);
        }
        finally
        {
            statusChanged.Release();
        }

        // The kubelet's last word: containers are stopped; remove the Pod object (grace 0, only this incarnation).
        if (!gone.IsCancellationRequested)
        {
            try
            {
                await WriteStatusAsync();
                await client.CoreV1.DeleteNamespacedPodAsync(Name, Namespace,
                    new V1DeleteOptions { GracePeriodSeconds = 0, Preconditions = new V1Preconditions { Uid = Uid } });
            }
            catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Conflict)
            {
            }
        }

        gone.Cancel();
        await statusWriter;
        CleanUpPodDirectory();
        log.WriteLine($"node-double: pod {Namespace}/{Name} stopped and removed");
    }

    /// <summary>Materialises every volume (waiting for PVCs to bind); false when a mount names no volume.</summary>
    private async Task<bool> PrepareVolumesAsync()
    {
        foreach (var volume in pod.Spec.Volumes ?? [])
        {
            while (true)
            {
                deleted.Token.ThrowIfCancellationRequested();
                var (path, waiting) = await MaterializeAsync(volume);
                if (path is not null)
                {
                    volumeSources[volume.Name] = path;
                    break;
                }

                SetWaiting(waiting ?? "ContainerCreating");
                await Task.Delay(500, deleted.Token);
            }
        }

        foreach (var container in pod.Spec.Containers)
        {
            foreach (var mount in container.VolumeMounts ?? [])
            {
                if (!volumeSources.ContainsKey(mount.Name))
                {
                    SetWaiting($"CreateContainerConfigError: volume {mount.Name} not defined", container.Name);
                    return false;
                }
            }
        }

        return true;
    }

    /// <summary>The local directory (or null and why not yet) backing a volume.</summary>
    private async Task<(string? Path, string? Waiting)> MaterializeAsync(V1Volume volume)
    {
        var directory = Path.Combine(podDirectory, "volumes", volume.Name);
        if (volume.EmptyDir is not null)
        {
            Directory.CreateDirectory(directory);
            return (directory, null);
        }

        if (volume.HostPath is not null)
        {
            Directory.CreateDirectory(volume.HostPath.Path);
            return (volume.HostPath.Path, null);
        }

        if (volume.PersistentVolumeClaim is not null)
        {
            var claim = await client.CoreV1.ReadNamespacedPersistentVolumeClaimAsync(volume.PersistentVolumeClaim.ClaimName, Namespace);
            if (claim.Status?.Phase != "Bound" || string.IsNullOrEmpty(claim.Spec.VolumeName))
            {
                return (null, $"ContainerCreating: waiting for PVC {claim.Metadata.Name} to be bound");
            }

            var pv = await client.CoreV1.ReadPersistentVolumeAsync(claim.Spec.VolumeName);
            var path = pv.Spec.HostPath?.Path ?? pv.Spec.Local?.Path
                ?? throw new InvalidOperationException($"PV {pv.Metadata.Name} is neither hostPath nor local");
            Directory.CreateDirectory(path);
            return (path, null);
        }

        if (volume.ConfigMap is not null)
        {
            var map = await ReadOptionalAsync(() => client.CoreV1.ReadNamespacedConfigMapAsync(volume.ConfigMap.Name, Namespace));
            if (map is null)
            {
                return volume.ConfigMap.Optional == true ? (WriteFiles(directory, new Dictionary<string, byte[]>(), null), null) : (null, $"ContainerCreating: configmap {volume.ConfigMap.Name} not found");
            }

            var data = (map.Data ?? new Dictionary<string, string>()).ToDictionary(kv => kv.Key, kv => System.Text.Encoding.UTF8.GetBytes(kv.Value));
            foreach (var (key, value) in map.BinaryData ?? new Dictionary<string, byte[]>())
            {
                data[key] = value;
            }

            return (WriteFiles(directory, data, volume.ConfigMap.Items), null);
        }

        if (volume.Secret is not null)
        {
            var secret = await ReadOptionalAsync(() => client.CoreV1.ReadNamespacedSecretAsync(volume.Secret.SecretName, Namespace));
            if (secret is null)
            {
                return volume.Secret.Optional == true ? (WriteFiles(directory, new Dictionary<string, byte[]>(), null), null) : (null, $"ContainerCreating: secret {volume.Secret.SecretName} not found");
            }

            return (WriteFiles(directory, new Dictionary<string, byte[]>(secret.Data ?? new Dictionary<string, byte[]>()), volume.Secret.Items), null);
        }

        if (volume.DownwardAPI is not null)
        {
            var files = new Dictionary<string, byte[]>();
            foreach (var item in volume.DownwardAPI.Items ?? [])
            {
                var value = item.FieldRef is null ? null : FieldValue(item.FieldRef.FieldPath);
                files[item.Path] = System.Text.Encoding.UTF8.GetBytes(value ?? "");
            }

            return (WriteFiles(directory, files, null), null);
        }

        throw new NotSupportedException($"volume {volume.Name} of pod {Namespace}/{Name}: only emptyDir, hostPath, persistentVolumeClaim, configMap, secret and downwardAPI volumes are supported by the node test double");
    }

    private static string WriteFiles(string directory, IReadOnlyDictionary<string, byte[]> data, IList<V1KeyToPath>? items)
    {
        Directory.CreateDirectory(directory);
        var wanted = items is null
            ? data.Select(kv => (Path: kv.Key, Value: kv.Value)).ToList()
            : items.Where(i => data.ContainsKey(i.Key)).Select(i => (Path: i.Path, Value: data[i.Key])).ToList();
        foreach (var (relative, value) in wanted)
        {
            var target = Path.Combine(directory, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.WriteAllBytes(target + ".tmp", value);
            File.Move(target + ".tmp", target, overwrite: true);
        }

        return directory;
    }

    /// <summary>Rewrites configMap/secret volumes of a running pod after the object changed, as the kubelet's sync does.</summary>
    public async Task RefreshProjectedVolumesAsync()
    {
        if (deleted.IsCancellationRequested || !Directory.Exists(podDirectory))
        {
            return;
        }

        foreach (var volume in pod.Spec.Volumes ?? [])
        {
            if (volume.ConfigMap is not null || volume.Secret is not null)
            {
                await MaterializeAsync(volume);
            }
        }
    }

    private static async Task<T?> ReadOptionalAsync<T>(Func<Task<T>> read) where T : class
    {
        try
        {
            return await read();
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    private async Task RunContainerAsync(V1Container container)
    {
        var state = containers[container.Name];
        var backoff = TimeSpan.FromSeconds(10);
        while (!deleted.IsCancellationRequested)
        {
            var environment = await BuildEnvironmentAsync(container);
            string Lookup(string name) => environment.TryGetValue(name, out var v) ? v : null!;
            var command = (container.Command ?? []).Select(c => KubernetesExpansion.Expand(c, Lookup)).ToList();
            var args = (container.Args ?? []).Select(a => KubernetesExpansion.Expand(a, Lookup)).ToList();
            var (program, unsupported) = ContainerImages.Resolve(container.Image, command, args);
            if (program is null)
            {
                log.WriteLine($"node-double: pod {Namespace}/{Name} container {container.Name}: {unsupported}");
                SetWaiting("ImageNotRunnableByNodeTestDouble: " + unsupported, container.Name);
                await Task.Delay(Timeout.Infinite, deleted.Token).ContinueWith(_ => { }, TaskScheduler.Default);
                return;
            }

            var mounts = new List<PodMount>();
            foreach (var mount in container.VolumeMounts ?? [])
            {
                var source = volumeSources[mount.Name];
                if (!string.IsNullOrEmpty(mount.SubPath))
                {
                    source = Path.Combine(source, mount.SubPath);
                    if (!File.Exists(source))
                    {
                        Directory.CreateDirectory(source);
                    }
                }

                if (Directory.Exists(source))
                {
                    node.NoteMountTarget(mount.MountPath);
                }
                mounts.Add(new PodMount(source, mount.MountPath));
            }

            var workingDirectory = string.IsNullOrEmpty(container.WorkingDir) ? Path.Combine(podDirectory, "work", container.Name) : container.WorkingDir;
            var process = PodProcess.Start(program, environment, mounts, workingDirectory, LogPath(container.Name));
            log.WriteLine($"node-double: pod {Namespace}/{Name} container {container.Name} started as PID {process.Id} on {Address}: {string.Join(' ', program.Skip(1))}");
            lock (gate)
            {
                state.Process = process;
                state.Waiting = null;
                state.Ready = false;
                state.Started = process.StartedAt;
            }

            statusChanged.Release();
            using var running = CancellationTokenSource.CreateLinkedTokenSource(deleted.Token);
            var probes = Task.Run(() => ProbeLoopAsync(container, state, process, running.Token));
            var exited = process.WaitForExitAsync(CancellationToken.None);
            await Task.WhenAny(exited, Task.Delay(Timeout.Infinite, deleted.Token).ContinueWith(_ => { }, TaskScheduler.Default));
            if (!exited.IsCompleted)
            {
                await process.StopAsync(GracePeriod());
            }

            var code = await exited;
            await running.CancelAsync();
            await probes;
            var ranFor = DateTime.UtcNow - process.StartedAt;
            lock (gate)
            {
                state.Ready = false;
                state.LastExit = (code, process.StartedAt, DateTime.UtcNow);
                state.Process = null;
            }

            log.WriteLine($"node-double: pod {Namespace}/{Name} container {container.Name} (PID {process.Id}) exited with {code}");
            if (deleted.IsCancellationRequested)
            {
                lock (gate)
                {
                    state.Terminated = true;
                }

                statusChanged.Release();
                return;
            }

            var policy = pod.Spec.RestartPolicy ?? "Always";
            if (policy == "Never" || (policy == "OnFailure" && code == 0))
            {
                lock (gate)
                {
                    state.Terminated = true;
                }

                statusChanged.Release();
                await Task.Delay(Timeout.Infinite, deleted.Token).ContinueWith(_ => { }, TaskScheduler.Default);
                return;
            }

            // The kubelet's crash-loop back-off: 10 s doubling to 5 min, reset after 10 min of running.
            if (ranFor > TimeSpan.FromMinutes(10))
            {
                backoff = TimeSpan.FromSeconds(10);
            }

            lock (gate)
            {
                state.RestartCount++;
                state.Waiting = "CrashLoopBackOff";
            }

            statusChanged.Release();
            await Task.Delay(backoff, deleted.Token).ContinueWith(_ => { }, TaskScheduler.Default);
            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromMinutes(5).Ticks));
        }
    }

    private TimeSpan GracePeriod()
    {
        var seconds = pod.Metadata.DeletionGracePeriodSeconds ?? pod.Spec.TerminationGracePeriodSeconds ?? 30;
        return TimeSpan.FromSeconds(Math.Max(seconds, 1));
    }

    private async Task ProbeLoopAsync(V1Container container, ContainerState state, PodProcess process, CancellationToken stop)
    {
        var startup = container.StartupProbe;
        var readiness = container.ReadinessProbe;
        var liveness = container.LivenessProbe;
        var started = startup is null;
        var readyStreak = 0;
        var readyFailures = 0;
        var liveFailures = 0;
        var startupFailures = 0;
        var nextReadiness = process.StartedAt.AddSeconds(readiness?.InitialDelaySeconds ?? 0);
        var nextLiveness = process.StartedAt.AddSeconds(liveness?.InitialDelaySeconds ?? 0);
        var nextStartup = process.StartedAt.AddSeconds(startup?.InitialDelaySeconds ?? 0);
        if (readiness is null && startup is null)
        {
            SetReady(state, true);
        }

        try
        {
            while (!stop.IsCancellationRequested && !process.HasExited)
            {
                var now = DateTime.UtcNow;
                if (!started && now >= nextStartup)
                {
                    nextStartup = now.AddSeconds(startup!.PeriodSeconds ?? 10);
                    if (await ProbeAsync(container, startup, stop))
                    {
                        started = true;
                        nextReadiness = now;
                        nextLiveness = now;
                        if (readiness is null)
                        {
                            SetReady(state, true);
                        }
                    }
                    else if (++startupFailures >= (startup.FailureThreshold ?? 3))
                    {
                        log.WriteLine($"node-double: pod {Namespace}/{Name} container {container.Name} failed its startup probe; restarting it");
                        await process.StopAsync(TimeSpan.FromSeconds(pod.Spec.TerminationGracePeriodSeconds ?? 30));
                        return;
                    }
                }

                if (started && readiness is not null && now >= nextReadiness)
                {
                    nextReadiness = now.AddSeconds(readiness.PeriodSeconds ?? 10);
                    if (await ProbeAsync(container, readiness, stop))
                    {
                        readyFailures = 0;
                        if (++readyStreak >= (readiness.SuccessThreshold ?? 1))
                        {
                            SetReady(state, true);
                        }
                    }
                    else
                    {
                        readyStreak = 0;
                        if (++readyFailures >= (readiness.FailureThreshold ?? 3) || !state.Ready)
                        {
                            SetReady(state, false);
                        }
                    }
                }

                if (started && liveness is not null && now >= nextLiveness)
                {
                    nextLiveness = now.AddSeconds(liveness.PeriodSeconds ?? 10);
                    if (await ProbeAsync(container, liveness, stop))
                    {
                        liveFailures = 0;
                    }
                    else if (++liveFailures >= (liveness.FailureThreshold ?? 3))
                    {
                        log.WriteLine($"node-double: pod {Namespace}/{Name} container {container.Name} failed its liveness probe; restarting it");
                        await process.StopAsync(TimeSpan.FromSeconds(pod.Spec.TerminationGracePeriodSeconds ?? 30));
                        return;
                    }
                }

                await Task.Delay(200, stop);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task<bool> ProbeAsync(V1Container container, V1Probe probe, CancellationToken stop)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop);
        timeout.CancelAfter(TimeSpan.FromSeconds(probe.TimeoutSeconds ?? 1));
        try
        {
            if (probe.HttpGet is { } get)
            {
                var port = ResolvePort(container, get.Port);
                var scheme = (get.Scheme ?? "HTTP").ToLowerInvariant();
                var uri = new Uri($"{scheme}://{get.Host ?? Address}:{port}{get.Path ?? "/"}");
                using var response = await node.ProbeHttp.GetAsync(uri, timeout.Token);
                return (int)response.StatusCode is >= 200 and < 400;
            }

            if (probe.TcpSocket is { } tcp)
            {
                using var socket = new System.Net.Sockets.TcpClient();
                await socket.ConnectAsync(tcp.Host ?? Address, ResolvePort(container, tcp.Port), timeout.Token);
                return true;
            }

            log.WriteLine($"node-double: pod {Namespace}/{Name}: exec and grpc probes are not supported by the node test double; counted as failed");
            return false;
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or System.Net.Sockets.SocketException)
        {
            return false;
        }
    }

    private static int ResolvePort(V1Container container, IntOrString port)
    {
        var text = port.Value;
        if (int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var number))
        {
            return number;
        }

        return (container.Ports ?? []).FirstOrDefault(p => p.Name == text)?.ContainerPort
            ?? throw new InvalidOperationException($"container {container.Name} has no port named {text}");
    }

    private void SetReady(ContainerState state, bool ready)
    {
        bool changed;
        lock (gate)
        {
            changed = state.Ready != ready;
            state.Ready = ready;
        }

        if (changed)
        {
            log.WriteLine($"node-double: pod {Namespace}/{Name} container {state.Name} ready={ready}");
            statusChanged.Release();
        }
    }

    private void SetWaiting(string reason, string? container = null)
    {
        lock (gate)
        {
            foreach (var state in containers.Values.Where(s => container is null || s.Name == container))
            {
                state.Waiting = reason;
            }
        }

        statusChanged.Release();
    }

    private async Task<Dictionary<string, string>> BuildEnvironmentAsync(V1Container container)
    {
        var environment = new Dictionary<string, string>
        {
            ["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            ["HOME"] = "/root",
            ["HOSTNAME"] = pod.Spec.Hostname ?? Name,
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
            // What a kubelet injects from the `kubernetes` Service; here the apiserver's own loopback endpoint,
            // because the Service's cluster IP routes nowhere without kube-proxy.
            ["KUBERNETES_SERVICE_HOST"] = "127.0.0.1",
            ["KUBERNETES_SERVICE_PORT"] = node.ApiServerPort.ToString(CultureInfo.InvariantCulture),
            ["KUBERNETES_SERVICE_PORT_HTTPS"] = node.ApiServerPort.ToString(CultureInfo.InvariantCulture),
            ["KUBERNETES_PORT"] = $"tcp://127.0.0.1:{node.ApiServerPort}",
        };
        if (Environment.GetEnvironmentVariable("DOTNET_ROOT") is { Length: > 0 } dotnetRoot)
        {
            environment["DOTNET_ROOT"] = dotnetRoot;
        }

        foreach (var source in container.EnvFrom ?? [])
        {
            var values = source.ConfigMapRef is not null
                ? (await ReadOptionalAsync(() => client.CoreV1.ReadNamespacedConfigMapAsync(source.ConfigMapRef.Name, Namespace)))?.Data
                : source.SecretRef is not null
                    ? (await ReadOptionalAsync(() => client.CoreV1.ReadNamespacedSecretAsync(source.SecretRef.Name, Namespace)))?.Data
                        ?.ToDictionary(kv => kv.Key, kv => System.Text.Encoding.UTF8.GetString(kv.Value))
                    : null;
            foreach (var (key, value) in values ?? new Dictionary<string, string>())
            {
                environment[(source.Prefix ?? "") + key] = value;
            }
        }

        foreach (var variable in container.Env ?? [])
        {
            string? value;
            if (variable.ValueFrom is null)
            {
                value = KubernetesExpansion.Expand(variable.Value ?? "", n => environment.TryGetValue(n, out var v) ? v : null);
            }
            else if (variable.ValueFrom.FieldRef is { } field)
            {
                value = FieldValue(field.FieldPath) ?? throw new NotSupportedException($"fieldRef {field.FieldPath} is not supported by the node test double");
            }
            else if (variable.ValueFrom.ConfigMapKeyRef is { } mapKey)
            {
                var map = await ReadOptionalAsync(() => client.CoreV1.ReadNamespacedConfigMapAsync(mapKey.Name, Namespace));
                value = map?.Data?.TryGetValue(mapKey.Key, out var v) == true ? v : null;
            }
            else if (variable.ValueFrom.SecretKeyRef is { } secretKey)
            {
                var secret = await ReadOptionalAsync(() => client.CoreV1.ReadNamespacedSecretAsync(secretKey.Name, Namespace));
                value = secret?.Data?.TryGetValue(secretKey.Key, out var v) == true ? System.Text.Encoding.UTF8.GetString(v) : null;
            }
            else
            {
                throw new NotSupportedException($"env {variable.Name}: only value, fieldRef, configMapKeyRef and secretKeyRef are supported by the node test double");
            }

            if (value is not null)
            {
                environment[variable.Name] = value;
            }
        }

        return environment;
    }

    private string? FieldValue(string fieldPath) => fieldPath switch
    {
        "metadata.name" => Name,
        "metadata.namespace" => Namespace,
        "metadata.uid" => Uid,
        "spec.nodeName" => pod.Spec.NodeName,
        "spec.serviceAccountName" => pod.Spec.ServiceAccountName,
        "status.hostIP" => "127.0.0.1",
        "status.podIP" or "status.podIPs" => Address,
        _ when fieldPath.StartsWith("metadata.labels['", StringComparison.Ordinal) =>
            pod.Metadata.Labels?.TryGetValue(fieldPath[17..^2], out var label) == true ? label : "",
        _ when fieldPath.StartsWith("metadata.annotations['", StringComparison.Ordinal) =>
            pod.Metadata.Annotations?.TryGetValue(fieldPath[22..^2], out var annotation) == true ? annotation : "",
        _ => null,
    };

    private async Task WriteStatusLoopAsync()
    {
        while (!gone.IsCancellationRequested)
        {
            try
            {
                await statusChanged.WaitAsync(gone.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            // Coalesce bursts of changes into one write.
            while (statusChanged.CurrentCount > 0)
            {
                await statusChanged.WaitAsync();
            }

            for (var attempt = 0; attempt < 20 && !gone.IsCancellationRequested; attempt++)
            {
                try
                {
                    await WriteStatusAsync();
                    break;
                }
                catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
                {
                    return;
                }
                catch (Exception e) when (e is HttpOperationException or HttpRequestException)
                {
                    log.WriteLine($"node-double: status write for {Namespace}/{Name} failed ({e.Message}); retrying");
                    await Task.Delay(500);
                }
            }
        }
    }

    private async Task WriteStatusAsync()
    {
        V1PodStatus status;
        lock (gate)
        {
            var now = DateTime.UtcNow;
            var statuses = new List<V1ContainerStatus>();
            foreach (var container in pod.Spec.Containers)
            {
                var state = containers[container.Name];
                var current = state.Process is not null && !state.Terminated
                    ? new V1ContainerState { Running = new V1ContainerStateRunning { StartedAt = state.Started } }
                    : state.Terminated && state.LastExit is { } exit
                        ? new V1ContainerState { Terminated = Terminated(exit) }
                        : new V1ContainerState { Waiting = new V1ContainerStateWaiting { Reason = (state.Waiting ?? "ContainerCreating").Split(':')[0], Message = state.Waiting } };
                statuses.Add(new V1ContainerStatus
                {
                    Name = container.Name,
                    Image = container.Image,
                    ImageID = "node-test-double://" + container.Image,
                    ContainerID = state.Process is { } p ? $"node-test-double://{p.Id}" : null,
                    Ready = state.Ready && state.Process is not null,
                    Started = state.Process is not null,
                    RestartCount = state.RestartCount,
                    State = current,
                    LastState = !state.Terminated && state.LastExit is { } last ? new V1ContainerState { Terminated = Terminated(last) } : new V1ContainerState(),
                });
            }

            var allReady = statuses.All(s => s.Ready) && !deleted.IsCancellationRequested;
            var anyRunning = statuses.Any(s => s.State.Running is not null);
            var allTerminated = statuses.All(s => s.State.Terminated is not null);
            var phase = allTerminated
                ? statuses.All(s => s.State.Terminated.ExitCode == 0) ? "Succeeded" : "Failed"
                : anyRunning || containers.Values.Any(c => c.RestartCount > 0) ? "Running" : "Pending";
            string Condition(bool value) => value ? "True" : "False";
            status = new V1PodStatus
            {
                Phase = phase,
                HostIP = "127.0.0.1",
                PodIP = Address,
                PodIPs = [new V1PodIP { Ip = Address }],
                StartTime = startTime,
                QosClass = pod.Status?.QosClass,
                Conditions =
                [
                    new V1PodCondition { Type = "Initialized", Status = "True", LastTransitionTime = startTime },
                    new V1PodCondition { Type = "Ready", Status = Condition(allReady), LastTransitionTime = now },
                    new V1PodCondition { Type = "ContainersReady", Status = Condition(allReady), LastTransitionTime = now },
                    new V1PodCondition { Type = "PodScheduled", Status = "True", LastTransitionTime = startTime },
                ],
                ContainerStatuses = statuses,
            };
        }

        // A merge patch replaces the lists (conditions, containerStatuses) wholesale: the double owns them.
        var patch = new V1Patch(new { status }, V1Patch.PatchType.MergePatch);
        var updated = await client.CoreV1.PatchNamespacedPodStatusAsync(patch, Name, Namespace);
        if (updated.Metadata.DeletionTimestamp is not null)
        {
            Observe(updated);
        }
    }

    private static V1ContainerStateTerminated Terminated((int Code, DateTime Started, DateTime Finished) exit) => new()
    {
        ExitCode = exit.Code,
        Reason = exit.Code == 0 ? "Completed" : "Error",
        StartedAt = exit.Started,
        FinishedAt = exit.Finished,
    };

    private void CleanUpPodDirectory()
    {
        // emptyDir, configMap and secret contents live and die with the pod; PV directories live elsewhere.
        try
        {
            var volumes = Path.Combine(podDirectory, "volumes");
            if (Directory.Exists(volumes))
            {
                Directory.Delete(volumes, recursive: true);
            }
        }
        catch (IOException e)
        {
            log.WriteLine($"node-double: could not remove volumes of {Namespace}/{Name}: {e.Message}");
        }
    }

    private sealed class ContainerState(string name, string image)
    {
        public string Name { get; } = name;

        public string Image { get; } = image;

        public PodProcess? Process { get; set; }

        public DateTime Started { get; set; }

        public bool Ready { get; set; }

        public bool Terminated { get; set; }

        public string? Waiting { get; set; }

        public int RestartCount { get; set; }

        public (int Code, DateTime Started, DateTime Finished)? LastExit { get; set; }
    }
}
