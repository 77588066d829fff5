using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Tributary.Integration.Tests.Harness;
using Tributary.Tests.Shared;
using Xunit.Abstractions;

namespace Tributary.Connect.Tests.Harness;

/// <summary>An HTTP answer of the worker: status code and parsed JSON body (null when empty).</summary>
public sealed record RestAnswer(HttpStatusCode Status, JsonNode? Body, HttpResponseMessage Raw)
{
    public int Code => (int)Status;
}

/// <summary>
/// One <c>tributary-connect</c> worker running as its own OS process (distributed mode unless told otherwise) against a test
/// broker, with the file connectors on its plugin path; tests talk to it only through REST and kill it with SIGKILL.
/// </summary>
public sealed class ConnectWorkerProcess : IAsyncDisposable
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(60);
    private readonly string propertiesFile;
    private readonly string mode;
    private readonly IReadOnlyList<string> extraArgs;
    private readonly TestOutputSink log;
    private readonly string name;
    private Process? process;

    private ConnectWorkerProcess(string directory, string propertiesFile, string mode, IReadOnlyList<string> extraArgs, int port, TestOutputSink log, string name)
    {
        Directory = directory;
        this.propertiesFile = propertiesFile;
        this.mode = mode;
        this.extraArgs = extraArgs;
        Port = port;
        this.log = log;
        this.name = name;
        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(60) };
    }

    public int Port { get; }
    public string Directory { get; }
    public HttpClient Http { get; }
    public string WorkerId => $"127.0.0.1:{Port}";
    public bool IsRunning => process is { HasExited: false };

    public static string WorkerDll => Path.Combine(RepositoryPaths.Root, "connect", "src", "Tributary.Connect", "bin", RepositoryPaths.Configuration, "net10.0", "tributary-connect.dll");

    public static string FilePluginDirectory => Path.Combine(RepositoryPaths.Root, "connect", "plugins", "Tributary.Connect.File", "bin", RepositoryPaths.Configuration, "net10.0");

    /// <summary>Worker settings for a one-broker test cluster: replication factor 1, quick group timeouts and offset flushes.</summary>
    public static Dictionary<string, string> DistributedDefaults(string bootstrap, string group) => new()
    {
        ["bootstrap.servers"] = bootstrap,
        ["group.id"] = group,
        ["config.storage.topic"] = group + "-configs",
        ["offset.storage.topic"] = group + "-offsets",
        ["status.storage.topic"] = group + "-status",
        ["config.storage.replication.factor"] = "1",
        ["offset.storage.replication.factor"] = "1",
        ["status.storage.replication.factor"] = "1",
        ["offset.storage.partitions"] = "3",
        ["status.storage.partitions"] = "2",
        ["offset.flush.interval.ms"] = "300",
        ["session.timeout.ms"] = "6000",
        ["heartbeat.interval.ms"] = "500",
        ["rebalance.timeout.ms"] = "20000",
        // A dead worker's work moves at once unless a test asks for KIP-415's delay.
        ["scheduled.rebalance.max.delay.ms"] = "0",
        ["consumer.session.timeout.ms"] = "6000",
        ["consumer.heartbeat.interval.ms"] = "500",
        ["plugin.path"] = FilePluginDirectory,
        ["key.converter"] = "org.apache.kafka.connect.storage.StringConverter",
        ["value.converter"] = "org.apache.kafka.connect.storage.StringConverter",
    };

    public static async Task<ConnectWorkerProcess> StartAsync(ITestOutputHelper? output, IReadOnlyDictionary<string, string> properties,
        string mode = "distributed", IReadOnlyList<string>? connectorFiles = null, string name = "worker")
    {
        var port = FreePort.Next();
        var directory = Path.Combine(Path.GetTempPath(), "tributary-connect-it-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(directory);
        var all = new Dictionary<string, string>(properties) { ["listeners"] = $"http://127.0.0.1:{port}" };
        var file = Path.Combine(directory, "worker.properties");
        await File.WriteAllLinesAsync(file, all.Select(p => $"{p.Key}={p.Value}"));
        var worker = new ConnectWorkerProcess(directory, file, mode, connectorFiles ?? [], port, new TestOutputSink(output), name);
        await worker.LaunchAsync();
        return worker;
    }

    private async Task LaunchAsync()
    {
        var start = new ProcessStartInfo(BrokerLaunch.DotnetHost()) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Directory };
        start.ArgumentList.Add(WorkerDll);
        start.ArgumentList.Add(mode);
        start.ArgumentList.Add(propertiesFile);
        foreach (var a in extraArgs)
        {
            start.ArgumentList.Add(a);
        }

        // librdkafka (Confluent.Kafka) needs libsasl2.so.3, which `make sasl` links under .tools/sasl.
        var native = Path.Combine(Path.GetDirectoryName(WorkerDll)!, "runtimes", "linux-x64", "native");
        start.Environment["LD_LIBRARY_PATH"] = native + ":" + Path.Combine(RepositoryPaths.Root, ".tools", "sasl");
        var p = new Process { StartInfo = start, EnableRaisingEvents = true };
        var prefix = $"[{name}:{Port}] ";
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) { log.WriteLine(prefix + e.Data); } };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) { log.WriteLine(prefix + "[err] " + e.Data); } };
        p.Start();
        process = p;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => BrokerLaunch.KillIfRunning(p);
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();

        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (p.HasExited)
            {
                throw new InvalidOperationException($"Worker exited with {p.ExitCode} before answering. Last output:{Environment.NewLine}{log.RecentLines()}");
            }

            try
            {
                using var r = await Http.GetAsync("/");
                if (r.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            if (clock.Elapsed > ReadyTimeout)
            {
                throw new TimeoutException($"Worker not answering GET / within {ReadyTimeout}. Last output:{Environment.NewLine}{log.RecentLines()}");
            }

            await Task.Delay(200);
        }
    }

    /// <summary>SIGKILL: no shutdown, no leave-group, no final offset commit.</summary>
    public void Kill()
    {
        if (process is { } p)
        {
            BrokerLaunch.KillAndDispose(p, TimeSpan.FromSeconds(10));
            process = null;
        }
    }

    /// <summary>SIGSTOP: the process freezes with everything it holds (group membership, open transactions) — a zombie in the making.</summary>
    public void Suspend() => PosixSignals.Send(process?.Id ?? throw new InvalidOperationException("not running"), 19);

    /// <summary>SIGCONT: the frozen process carries on as if nothing happened.</summary>
    public void Resume() => PosixSignals.Send(process?.Id ?? throw new InvalidOperationException("not running"), 18);

    /// <summary>Starts the worker again on the same port and properties.</summary>
    public Task RestartAsync() => LaunchAsync();

    public string RecentLog() => log.RecentLines();

    public Task<RestAnswer> GetAsync(string path) => SendAsync(HttpMethod.Get, path, null);

    public Task<RestAnswer> PostAsync(string path, JsonNode? body = null) => SendAsync(HttpMethod.Post, path, body);

    public Task<RestAnswer> PutAsync(string path, JsonNode? body = null) => SendAsync(HttpMethod.Put, path, body);

    public Task<RestAnswer> PatchAsync(string path, JsonNode body) => SendAsync(HttpMethod.Patch, path, body);

    public Task<RestAnswer> DeleteAsync(string path) => SendAsync(HttpMethod.Delete, path, null);

    public async Task<RestAnswer> SendAsync(HttpMethod method, string path, JsonNode? body)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        }

        var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return new RestAnswer(response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text), response);
    }

    /// <summary>Creates a connector through POST /connectors and fails the test with the answer unless it is 201.</summary>
    public async Task CreateConnectorAsync(string connector, IReadOnlyDictionary<string, string> config)
    {
        var cfg = new JsonObject();
        foreach (var (k, v) in config)
        {
            cfg[k] = v;
        }

        var answer = await PostAsync("/connectors", new JsonObject { ["name"] = connector, ["config"] = cfg });
        Assert.True(answer.Code == 201, $"POST /connectors {connector}: {answer.Code} {answer.Body?.ToJsonString()}");
    }

    /// <summary>Waits until the connector and <paramref name="tasks"/> tasks all show <paramref name="state"/> in /status.</summary>
    public Task WaitForStateAsync(string connector, string state, int tasks, TimeSpan? limit = null) =>
        Eventually.TrueAsync(async () =>
        {
            var s = await GetAsync($"/connectors/{connector}/status");
            return s.Code == 200 && s.Body!["connector"]!["state"]!.GetValue<string>() == state
                && s.Body["tasks"]!.AsArray().Count == tasks
                && s.Body["tasks"]!.AsArray().All(t => t!["state"]!.GetValue<string>() == state);
        }, $"{connector} and {tasks} task(s) {state}", limit ?? TimeSpan.FromSeconds(60));

    public async ValueTask DisposeAsync()
    {
        if (process is { HasExited: false } p)
        {
            PosixSignals.Send(p.Id, PosixSignals.SigTerm);
            if (!p.WaitForExit(TimeSpan.FromSeconds(15)))
            {
                BrokerLaunch.KillAndDispose(p, TimeSpan.FromSeconds(5));
            }
        }

        process?.Dispose();
        process = null;
        Http.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }

        await Task.CompletedTask;
    }
}
