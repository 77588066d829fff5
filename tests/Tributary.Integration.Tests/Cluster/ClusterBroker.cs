using System.Diagnostics;
using System.Globalization;
using System.Net;
using Tributary.Integration.Tests.Harness;

namespace Tributary.Integration.Tests.Cluster;

/// <summary>
/// One broker of a <see cref="ClusterProcess"/>: a separate <c>tributary-broker.dll</c> process with its own node id,
/// ports and data directory, which a test can kill, stop, pause and restart on the same ports and data.
/// </summary>
public sealed class ClusterBroker : IAsyncDisposable
{
    // Linux signal numbers (x86-64 and arm64 agree); PosixSignals only names the two the single-broker tests need.
    private const int SigStop = 19;
    private const int SigCont = 18;

    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(35);

    private readonly IReadOnlyList<KeyValuePair<string, string>> overrides;
    private readonly IReadOnlyList<string> launchPrefix;
    private readonly HttpClient http = new() { Timeout = TimeSpan.FromSeconds(2) };
    private Process? process;

    internal ClusterBroker(
        int nodeId,
        string host,
        BrokerPorts ports,
        bool isVoter,
        string dataDirectory,
        IReadOnlyList<KeyValuePair<string, string>> overrides,
        IReadOnlyList<string> launchPrefix,
        TestOutputSink log)
    {
        NodeId = nodeId;
        Host = host;
        Ports = ports;
        IsVoter = isVoter;
        DataDirectory = dataDirectory;
        this.overrides = overrides;
        this.launchPrefix = launchPrefix;
        Log = log;
    }

    public int NodeId { get; }

    /// <summary>The address every listener binds: 127.0.0.1, or the broker's own address inside a network namespace.</summary>
    public string Host { get; }

    public BrokerPorts Ports { get; }

    /// <summary>True for controller-quorum voters (<c>process.roles=broker,controller</c>), false for observers.</summary>
    public bool IsVoter { get; }

    /// <summary>A dedicated controller (<c>process.roles=controller</c>): no Kafka listener.</summary>
    public bool IsControllerOnly { get; init; }

    public string DataDirectory { get; }

    public string BootstrapServer => $"{Host}:{Ports.Kafka}";

    /// <summary>Shared cluster log; this broker's lines carry a <c>[bN]</c> prefix.</summary>
    public TestOutputSink Log { get; }

    public int ProcessId => process?.Id ?? throw new InvalidOperationException($"Broker {NodeId} is not running.");

    public bool IsRunning => process is { HasExited: false };

    /// <summary>True between <see cref="Pause"/> and <see cref="Resume"/>.</summary>
    public bool IsPaused { get; private set; }

    /// <summary>Exit code of the last process that ended, null while running or never started.</summary>
    public int? LastExitCode { get; private set; }

    /// <summary>Starts the broker process; does not wait for /readyz (a voter cannot be ready before a quorum forms).</summary>
    internal void Launch()
    {
        if (IsRunning)
        {
            throw new InvalidOperationException($"Broker {NodeId} is already running.");
        }

        process?.Dispose();
        var brokerDll = RepositoryLayout.BrokerDll;
        if (!File.Exists(brokerDll))
        {
            throw new FileNotFoundException(
                $"Broker executable not built: {brokerDll}. Build tests/Tributary.Integration.Tests (it references Tributary.Host).");
        }

        var command = new List<string>(launchPrefix) { BrokerLaunch.DotnetHost(), brokerDll };
        foreach (var (key, value) in overrides)
        {
            command.Add("--override");
            command.Add($"{key}={value}");
        }

        IsPaused = false;
        LastExitCode = null;
        var launched = BrokerLaunch.Start(command, DataDirectory, Log, $"[b{NodeId}] ", started =>
        {
            process = started;
            AppDomain.CurrentDomain.ProcessExit -= KillOnRunnerExit;
            AppDomain.CurrentDomain.ProcessExit += KillOnRunnerExit;
        });
        // `ip netns exec` execs the command in place, so the PID is the broker's in both launch modes.
        Log.WriteLine($"[harness] started broker {NodeId} PID {launched.Id}: kafka {BootstrapServer}, quorum {Ports.Quorum}, http {Ports.Http}, data {DataDirectory}");
    }

    /// <summary>Polls <c>/readyz</c> every 100 ms until it answers 200; throws with the broker's last output otherwise.</summary>
    public async Task WaitReadyAsync(TimeSpan timeout)
    {
        var running = process ?? throw new InvalidOperationException($"Broker {NodeId} was never started.");
        await BrokerLaunch.WaitReadyAsync(running, http, Endpoint("/readyz"), Stopwatch.StartNew(), timeout, Log, $"Broker {NodeId}");
        Log.WriteLine($"[harness] broker {NodeId} ready");
    }

    /// <summary>SIGKILL: no controlled shutdown, no flush; returns once the process is gone.</summary>
    public void Kill()
    {
        var running = process ?? throw new InvalidOperationException($"Broker {NodeId} was never started.");
        if (!running.HasExited)
        {
            PosixSignals.Send(running.Id, PosixSignals.SigKill);
        }

        if (!running.WaitForExit(ExitTimeout))
        {
            throw new TimeoutException($"Broker {NodeId} PID {running.Id} survived SIGKILL for {ExitTimeout}.");
        }

        running.WaitForExit(); // drains the redirected output readers
        IsPaused = false;
        LastExitCode = running.ExitCode;
        Log.WriteLine($"[harness] broker {NodeId} PID {running.Id} killed with SIGKILL");
    }

    /// <summary>SIGTERM (controlled shutdown), then waits for the exit; returns the exit code.</summary>
    public async Task<int> StopAsync()
    {
        var running = process ?? throw new InvalidOperationException($"Broker {NodeId} was never started.");
        if (IsPaused)
        {
            Resume(); // a stopped process would sit on the SIGTERM until the timeout
        }

        if (!running.HasExited)
        {
            PosixSignals.Send(running.Id, PosixSignals.SigTerm);
        }

        using var timeout = new CancellationTokenSource(ExitTimeout);
        try
        {
            await running.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"Broker {NodeId} PID {running.Id} did not exit within {ExitTimeout} of SIGTERM.");
        }

        LastExitCode = running.ExitCode;
        Log.WriteLine($"[harness] broker {NodeId} PID {running.Id} exited with code {running.ExitCode} after SIGTERM");
        return running.ExitCode;
    }

    /// <summary>SIGSTOP: the process keeps its sockets but answers nothing (a GC pause or a hung VM, as peers see it).</summary>
    public void Pause()
    {
        PosixSignals.Send(ProcessId, SigStop);
        IsPaused = true;
        Log.WriteLine($"[harness] broker {NodeId} PID {ProcessId} paused with SIGSTOP");
    }

    /// <summary>SIGCONT after <see cref="Pause"/>.</summary>
    public void Resume()
    {
        PosixSignals.Send(ProcessId, SigCont);
        IsPaused = false;
        Log.WriteLine($"[harness] broker {NodeId} PID {ProcessId} resumed with SIGCONT");
    }

    /// <summary>Starts the broker again on the same ports and data directory and waits for /readyz.</summary>
    public async Task RestartAsync(TimeSpan? readyTimeout = null)
    {
        Launch();
        await WaitReadyAsync(readyTimeout ?? ClusterProcess.DefaultReadyTimeout);
    }

    /// <summary>The Prometheus exposition text of this broker's <c>/metrics</c>.</summary>
    public async Task<string> ScrapeAsync()
    {
        using var response = await http.GetAsync(Endpoint("/metrics"));
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadAsStringAsync();
    }

    /// <summary>One unlabelled-or-any-labelled sample of <paramref name="name"/>, or null if absent or the broker does not answer.</summary>
    public async Task<double?> MetricAsync(string name)
    {
        try
        {
            return MetricsScrape.FindSample(await ScrapeAsync(), name, new Dictionary<string, string>());
        }
        catch (HttpRequestException)
        {
            return null;
        }
        catch (TaskCanceledException)
        {
            return null;
        }
    }

    /// <summary>GET on the broker's HTTP listener; returns the status code.</summary>
    public async Task<HttpStatusCode> GetStatusAsync(string path)
    {
        using var response = await http.GetAsync(Endpoint(path));
        return response.StatusCode;
    }

    public ValueTask DisposeAsync()
    {
        if (process is not null)
        {
            BrokerLaunch.KillAndDispose(process, ExitTimeout);
            process = null;
        }

        AppDomain.CurrentDomain.ProcessExit -= KillOnRunnerExit;
        http.Dispose();
        return ValueTask.CompletedTask;
    }

    private Uri Endpoint(string path) => new($"http://{Host}:{Ports.Http}{path}");

    /// <summary>Last line of defence against orphaned brokers when the test runner exits without disposing the cluster.</summary>
    private void KillOnRunnerExit(object? sender, EventArgs e) => BrokerLaunch.KillIfRunning(process);

    /// <summary>Formats an int for a config value.</summary>
    internal static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}

/// <summary>The three ports of one broker: Kafka clients, the controller quorum (0 for observers), HTTP.</summary>
public sealed record BrokerPorts(int Kafka, int Quorum, int Http);
