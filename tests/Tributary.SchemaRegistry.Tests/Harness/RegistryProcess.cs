using System.Diagnostics;
using Tributary.Integration.Tests.Harness;
using Tributary.Tests.Shared;
using Xunit.Abstractions;

namespace Tributary.SchemaRegistry.Tests.Harness;

/// <summary>One <c>tributary-schema-registry</c> process on a free loopback port, talking to real brokers; tests reach it
/// only over HTTP (and kill it with SIGKILL).</summary>
public sealed class RegistryProcess : IAsyncDisposable
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(60);
    private readonly HttpClient _probe = new() { Timeout = TimeSpan.FromSeconds(2) };
    private readonly string _workingDirectory;
    private Process? _process;

    private RegistryProcess(TestOutputSink log, string name)
    {
        Log = log;
        Name = name;
        Port = FreePort.Next();
        _workingDirectory = Path.Combine(Path.GetTempPath(), "tributary-sr-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_workingDirectory);
    }

    public string Name { get; }
    public int Port { get; }
    public string Url => $"http://127.0.0.1:{Port}";
    public TestOutputSink Log { get; }
    public int ProcessId => _process?.Id ?? throw new InvalidOperationException("not running");
    public bool IsRunning => _process is { HasExited: false };

    public static string RegistryDll => Path.Combine(RepositoryPaths.Root, "schema-registry", "src", "Tributary.SchemaRegistry.Host", "bin",
        RepositoryPaths.Configuration, "net10.0", "tributary-schema-registry.dll");

    /// <summary>Starts a registry on <paramref name="bootstrapServers"/> with <paramref name="overrides"/> (Confluent key names)
    /// and waits until it answers <c>GET /</c> (it listens only after replaying its topic).</summary>
    public static async Task<RegistryProcess> StartAsync(string bootstrapServers, ITestOutputHelper? output,
        IReadOnlyDictionary<string, string>? overrides = null, string name = "registry")
    {
        var registry = new RegistryProcess(new TestOutputSink(output), name);
        try
        {
            await registry.LaunchAsync(bootstrapServers, overrides);
            return registry;
        }
        catch
        {
            await registry.DisposeAsync();
            throw;
        }
    }

    private async Task LaunchAsync(string bootstrapServers, IReadOnlyDictionary<string, string>? overrides)
    {
        if (!File.Exists(RegistryDll))
        {
            throw new FileNotFoundException($"Registry executable not built: {RegistryDll}");
        }

        var settings = new Dictionary<string, string>
        {
            ["listeners"] = Url,
            ["host.name"] = "127.0.0.1",
            ["kafkastore.bootstrap.servers"] = bootstrapServers,
            // Quick take-over in tests: the broker's minimum group session is 6 s.
            ["kafkagroup.session.timeout.ms"] = "6000",
            ["kafkagroup.heartbeat.interval.ms"] = "500",
        };
        foreach (var (k, v) in overrides ?? new Dictionary<string, string>())
        {
            settings[k] = v;
        }

        var command = new List<string> { BrokerLaunch.DotnetHost(), RegistryDll };
        foreach (var (k, v) in settings)
        {
            command.Add("--override");
            command.Add($"{k}={v}");
        }

        var clock = Stopwatch.StartNew();
        var launched = BrokerLaunch.Start(command, _workingDirectory, Log, $"[{Name}] ", p => _process = p);
        await BrokerLaunch.WaitReadyAsync(launched, _probe, new Uri(Url + "/"), clock, ReadyTimeout, Log, $"Registry {Name} PID {launched.Id}");
        Log.WriteLine($"[harness] registry {Name} PID {launched.Id} ready on {Url} after {clock.ElapsedMilliseconds} ms");
    }

    /// <summary>SIGKILL, returns once the process is gone.</summary>
    public void Kill()
    {
        var running = _process ?? throw new InvalidOperationException("never started");
        if (!running.HasExited)
        {
            PosixSignals.Send(running.Id, PosixSignals.SigKill);
        }

        running.WaitForExit(30_000);
        Log.WriteLine($"[harness] registry {Name} PID {running.Id} killed with SIGKILL");
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is not null)
        {
            BrokerLaunch.KillAndDispose(_process, TimeSpan.FromSeconds(30));
            _process = null;
        }

        _probe.Dispose();
        try
        {
            Directory.Delete(_workingDirectory, recursive: true);
        }
        catch (IOException)
        {
        }

        await Task.CompletedTask;
    }
}
