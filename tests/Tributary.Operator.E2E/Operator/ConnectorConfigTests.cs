using System.Net;
using System.Text.Json;
using k8s;
using Tributary.Connect.Tests.Harness;
using Tributary.Operator.E2E.Harness;
using Xunit.Abstractions;
using BrokerProcess = Tributary.Integration.Tests.Harness.BrokerProcess;

namespace Tributary.Operator.E2E.Operator;

/// <summary>
/// One real broker and one real distributed Connect worker (local processes, the file connectors on its plugin path) that
/// the ConnectorConfig tests point their resources at with spec.workerUrl; the operator is the chart's, run by the node
/// test double against the shared control plane.
/// </summary>
public sealed class ConnectWorkerFixture : IAsyncLifetime
{
    private BrokerProcess? broker;
    private ConnectWorkerProcess? worker;

    public ConnectWorkerProcess Worker => worker ?? throw new InvalidOperationException("not started");

    public string DataDirectory { get; } = Directory.CreateTempSubdirectory("tributary-e2e-connect-").FullName;

    public async Task InitializeAsync()
    {
        broker = await BrokerProcess.StartAsync(output: null);
        worker = await ConnectWorkerProcess.StartAsync(null, ConnectWorkerProcess.DistributedDefaults(broker.BootstrapServers, "operator-e2e"));
    }

    public async Task DisposeAsync()
    {
        if (worker is not null)
        {
            await worker.DisposeAsync();
        }

        if (broker is not null)
        {
            await broker.DisposeAsync();
        }

        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>
/// ConnectorConfig resources applied with kubectl against the real apiserver: the chart's operator creates, pauses, resumes
/// and deletes the connector on a real Connect worker and mirrors its /status; refusals and unreachable workers are
/// conditions.
/// </summary>
[Collection(KubeCollection.Name)]
public sealed class ConnectorConfigTests : IClassFixture<TributaryInstall>, IClassFixture<ConnectWorkerFixture>, IDisposable
{
    private const string Ns = "connect-e2e";
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(120);
    private readonly TributaryInstall install;
    private readonly ConnectWorkerFixture connect;
    private readonly KubeFixture kube;
    private readonly IDisposable attached;

    public ConnectorConfigTests(TributaryInstall install, ConnectWorkerFixture connect, ITestOutputHelper output)
    {
        this.install = install;
        this.connect = connect;
        kube = install.Kube;
        attached = kube.Attach(output);
    }

    public void Dispose() => attached.Dispose();

    private ConnectWorkerProcess Worker => connect.Worker;

    private string WorkerUrl => $"http://127.0.0.1:{Worker.Port}";

    [Fact]
    public async Task ConnectorConfig_applied_with_kubectl_runs_the_connector_and_mirrors_its_status()
    {
        await PrepareAsync();
        await ApplySourceAsync("lines-in", topic: "lines-in");

        var view = await WaitAsync("lines-in", v => v.Has("Ready") && StatusString(v, "connectorState") == "RUNNING");
        var status = (await Worker.GetAsync("/connectors/lines-in/status")).Body!;
        Assert.Equal("RUNNING", status["connector"]!["state"]!.GetValue<string>());
        var task = Assert.Single(Tasks(view));
        Assert.Equal("RUNNING", task.State);
        Assert.Equal(Worker.WorkerId, task.WorkerId);
        Assert.Equal(Worker.WorkerId, StatusString(view, "workerId"));
        Assert.Equal("source", StatusString(view, "type"));
        var config = (await Worker.GetAsync("/connectors/lines-in/config")).Body!;
        Assert.Equal("FileStreamSource", config["connector.class"]!.GetValue<string>());
        Assert.Equal("lines-in", config["topic"]!.GetValue<string>());
        Assert.Equal("1", config["tasks.max"]!.GetValue<string>());
    }

    [Fact]
    public async Task Changing_the_spec_config_updates_the_connector_on_the_workers()
    {
        await PrepareAsync();
        await ApplySourceAsync("lines-change", topic: "lines-a");
        await WaitAsync("lines-change", v => v.Has("Ready"));

        await PatchAsync("lines-change", """{"spec":{"config":{"topic":"lines-b"}}}""");
        await Wait.UntilAsync("the worker's config names topic lines-b", async () =>
            (await Worker.GetAsync("/connectors/lines-change/config")).Body?["topic"]?.GetValue<string>() == "lines-b", Settle, DescribeAsync("lines-change"));
        await WaitAsync("lines-change", v => v.Has("Ready"));
    }

    [Fact]
    public async Task Pausing_through_the_CR_pauses_the_connector_and_running_resumes_it()
    {
        await PrepareAsync();
        await ApplySourceAsync("lines-pause", topic: "lines-pause");
        await WaitAsync("lines-pause", v => v.Has("Ready") && StatusString(v, "connectorState") == "RUNNING");

        await PatchAsync("lines-pause", """{"spec":{"state":"paused"}}""");
        var paused = await WaitAsync("lines-pause", v => v.Has("Ready") && StatusString(v, "connectorState") == "PAUSED");
        Assert.All(Tasks(paused), t => Assert.Equal("PAUSED", t.State));
        Assert.Equal("PAUSED", (await Worker.GetAsync("/connectors/lines-pause/status")).Body!["connector"]!["state"]!.GetValue<string>());

        await PatchAsync("lines-pause", """{"spec":{"state":"running"}}""");
        await WaitAsync("lines-pause", v => v.Has("Ready") && StatusString(v, "connectorState") == "RUNNING");
        Assert.Equal("RUNNING", (await Worker.GetAsync("/connectors/lines-pause/status")).Body!["connector"]!["state"]!.GetValue<string>());
    }

    [Fact]
    public async Task Deleting_the_CR_deletes_the_connector_from_the_workers()
    {
        await PrepareAsync();
        await ApplySourceAsync("lines-delete", topic: "lines-delete");
        var ready = await WaitAsync("lines-delete", v => v.Has("Ready"));
        Assert.Contains("tributary.dev/connector", ready.Json.GetProperty("metadata").GetProperty("finalizers").EnumerateArray().Select(f => f.GetString()));
        Assert.Equal(HttpStatusCode.OK, (await Worker.GetAsync("/connectors/lines-delete")).Status);

        (await kube.KubectlAsync(["delete", "connectorconfig", "lines-delete", "-n", Ns, "--wait=false"])).EnsureSuccess("kubectl delete");
        await Wait.UntilAsync("ConnectorConfig lines-delete gone", async () => await GetAsync("lines-delete") is null, Settle, DescribeAsync("lines-delete"));
        Assert.Equal(HttpStatusCode.NotFound, (await Worker.GetAsync("/connectors/lines-delete")).Status);
        Assert.DoesNotContain("lines-delete", (await Worker.GetAsync("/connectors")).Body!.AsArray().Select(n => n!.GetValue<string>()));
    }

    [Fact]
    public async Task A_config_the_workers_find_invalid_is_an_error_condition_naming_the_field()
    {
        await PrepareAsync();
        // FileStreamSource requires topic.
        await kube.ApplyAsync($$"""
            apiVersion: tributary.dev/v1alpha1
            kind: ConnectorConfig
            metadata: { name: lines-bad, namespace: {{Ns}} }
            spec:
              class: FileStreamSource
              workerUrl: {{WorkerUrl}}
              config: { file: {{Path.Combine(connect.DataDirectory, "bad.txt")}} }
            """);
        var view = await WaitAsync("lines-bad", v => v.Has("Error"));
        var error = view.Condition("Error")!;
        Assert.Equal("ConfigRejected", error.Reason);
        Assert.Contains("topic", error.Message, StringComparison.Ordinal);
        Assert.Equal("False", view.Condition("Ready")!.Status);
        Assert.Equal(HttpStatusCode.NotFound, (await Worker.GetAsync("/connectors/lines-bad")).Status);
    }

    [Fact]
    public async Task An_unreachable_worker_is_a_condition_with_the_message_and_the_operator_keeps_serving()
    {
        await PrepareAsync();
        var nobody = Tributary.Integration.Tests.Harness.FreePort.Next();
        await kube.ApplyAsync($$"""
            apiVersion: tributary.dev/v1alpha1
            kind: ConnectorConfig
            metadata: { name: lines-nowhere, namespace: {{Ns}} }
            spec:
              class: FileStreamSource
              workerUrl: http://127.0.0.1:{{nobody}}
              config: { topic: nowhere }
            """);
        var view = await WaitAsync("lines-nowhere", v => v.Has("Error"));
        Assert.Equal("WorkerUnreachable", view.Condition("Error")!.Reason);
        Assert.Contains($"127.0.0.1:{nobody}", view.Condition("Error")!.Message, StringComparison.Ordinal);

        // The same operator still runs other connectors.
        await ApplySourceAsync("lines-after-nowhere", topic: "lines-after");
        await WaitAsync("lines-after-nowhere", v => v.Has("Ready"));
        (await kube.KubectlAsync(["delete", "connectorconfig", "lines-nowhere", "-n", Ns, "--wait=false"])).EnsureSuccess("kubectl delete");
        (await kube.KubectlAsync(["patch", "connectorconfig", "lines-nowhere", "-n", Ns, "--type", "merge", "-p", """{"metadata":{"finalizers":null}}"""])).EnsureSuccess("kubectl patch finalizers");
    }

    private async Task PrepareAsync()
    {
        await install.EnsureInstalledAsync();
        if ((await kube.Client.CoreV1.ListNamespaceAsync()).Items.All(n => n.Metadata.Name != Ns))
        {
            try
            {
                await kube.CreateNamespaceAsync(Ns);
            }
            catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
            {
            }
        }
    }

    private async Task ApplySourceAsync(string name, string topic)
    {
        var file = Path.Combine(connect.DataDirectory, name + ".txt");
        await File.WriteAllTextAsync(file, "one\ntwo\n");
        await kube.ApplyAsync($$"""
            apiVersion: tributary.dev/v1alpha1
            kind: ConnectorConfig
            metadata: { name: {{name}}, namespace: {{Ns}} }
            spec:
              class: FileStreamSource
              tasksMax: 1
              workerUrl: {{WorkerUrl}}
              config: { file: {{file}}, topic: {{topic}} }
            """);
    }

    private Task PatchAsync(string name, string mergePatch) =>
        kube.KubectlAsync(["patch", "connectorconfig", name, "-n", Ns, "--type", "merge", "-p", mergePatch])
            .ContinueWith(t => t.Result.EnsureSuccess($"kubectl patch connectorconfig {name}"), TaskScheduler.Default);

    private Task<ResourceView?> GetAsync(string name) => CustomResources.GetAsync(kube.Client, "connectorconfigs", Ns, name);

    private async Task<ResourceView> WaitAsync(string name, Func<ResourceView, bool> condition)
    {
        ResourceView? last = null;
        await Wait.UntilAsync($"ConnectorConfig {name}", async () => (last = await GetAsync(name)) is { } v && v.ObservedGeneration == v.Generation && condition(v),
            Settle, DescribeAsync(name));
        return last!;
    }

    private Func<Task<string>> DescribeAsync(string name) => async () =>
    {
        var view = await GetAsync(name);
        var status = view?.Status is { } s ? s.GetRawText() : "(no status)";
        return $"connectorconfig {name}: {view}\nstatus: {status}\n{install.OperatorLogTail()}\n--- worker:\n{Worker.RecentLog()}";
    };

    private static string? StatusString(ResourceView view, string field) =>
        view.Status is { } s && s.TryGetProperty(field, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static List<(int Id, string State, string? WorkerId)> Tasks(ResourceView view) =>
        view.Status is { } s && s.TryGetProperty("tasks", out var tasks) && tasks.ValueKind == JsonValueKind.Array
            ? tasks.EnumerateArray().Select(t => (t.GetProperty("id").GetInt32(), t.GetProperty("state").GetString()!,
                t.TryGetProperty("workerId", out var w) ? w.GetString() : null)).ToList()
            : [];
}
