using System.Diagnostics;
using System.Globalization;
using System.Net;
using Xunit.Abstractions;

namespace Tributary.Integration.Tests.Harness;

/// <summary>
/// One Tributary broker running as a separate OS process (<c>dotnet tributary-broker.dll</c>) on loopback ports and a
/// private data directory, so tests can kill it, restart it and talk to it only through the wire and HTTP.
/// </summary>
public sealed class BrokerProcess : IAsyncDisposable
{
    /// <summary>The broker's node.id in every single-broker test.</summary>
    public const int NodeId = 1;

    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(35);

    private readonly IReadOnlyList<KeyValuePair<string, string>> overrides;
    private readonly HttpClient http = new() { Timeout = TimeSpan.FromSeconds(2) };
    private Process? process;
    private bool deleteDataDirectory = true;

    private BrokerProcess(TestOutputSink log, IReadOnlyDictionary<string, string>? extraOverrides)
    {
        Log = log;
        KafkaPort = FreePort.Next();
        HttpPort = FreePort.Next();
        while (HttpPort == KafkaPort)
        {
            HttpPort = FreePort.Next();
        }

        DataDirectory = Path.Combine(Path.GetTempPath(), "tributary-it-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(DataDirectory);

        var all = new List<KeyValuePair<string, string>>
        {
            new("node.id", NodeId.ToString(CultureInfo.InvariantCulture)),
            new("listeners", $"PLAINTEXT://127.0.0.1:{KafkaPort}"),
            new("advertised.listeners", $"PLAINTEXT://127.0.0.1:{KafkaPort}"),
            new("http.listeners", $"http://127.0.0.1:{HttpPort}"),
            new("log.dirs", DataDirectory),
            // A one-broker cluster, as config/server.properties sets it: Kafka's default of 3 would leave groups without a coordinator.
            new("offsets.topic.replication.factor", "1"),
        };
        if (extraOverrides is not null)
        {
            all.AddRange(extraOverrides);
        }

        overrides = all;
    }

    public int KafkaPort { get; }
    public int HttpPort { get; }
    public string DataDirectory { get; }
    public string BootstrapServers => $"127.0.0.1:{KafkaPort}";

    /// <summary>Broker stdout/stderr, forwarded to the attached test and kept for failure messages.</summary>
    public TestOutputSink Log { get; }

    /// <summary>PID of the running broker (the <c>dotnet</c> host runs the app in-process, so this is the broker).</summary>
    public int ProcessId => process?.Id ?? throw new InvalidOperationException("The broker is not running.");

    public bool IsRunning => process is { HasExited: false };

    /// <summary>Time from the last process start until <c>/readyz</c> first answered 200.</summary>
    public TimeSpan LastStartupDuration { get; private set; }

    /// <summary>Starts a broker with the standard loopback overrides plus <paramref name="extraOverrides"/> and waits for /readyz.</summary>
    public static async Task<BrokerProcess> StartAsync(
        ITestOutputHelper? output, IReadOnlyDictionary<string, string>? extraOverrides = null)
    {
        var broker = new BrokerProcess(new TestOutputSink(output), extraOverrides);
        try
        {
            await broker.LaunchAsync();
            return broker;
        }
        catch
        {
            await broker.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts the broker again on the same ports and data directory (after <see cref="Kill"/> or <see cref="StopAsync"/>).</summary>
    public Task RestartAsync()
    {
        if (IsRunning)
        {
            throw new InvalidOperationException("Restart requested while the broker is still running.");
        }

        return LaunchAsync();
    }

    /// <summary>SIGKILL: no shutdown hooks, no flush; returns once the process is gone.</summary>
    public void Kill()
    {
        var running = process ?? throw new InvalidOperationException("The broker was never started.");
        if (!running.HasExited)
        {
            PosixSignals.Send(running.Id, PosixSignals.SigKill);
        }

        if (!running.WaitForExit(ExitTimeout))
        {
            throw new TimeoutException($"Broker PID {running.Id} survived SIGKILL for {ExitTimeout}.");
        }

        running.WaitForExit(); // drains the redirected output readers
        Log.WriteLine($"[harness] broker PID {running.Id} killed with SIGKILL");
    }

    /// <summary>SIGTERM, then waits for a graceful exit; returns the exit code. Throws if it does not exit in time.</summary>
    public async Task<int> StopAsync()
    {
        var running = process ?? throw new InvalidOperationException("The broker was never started.");
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
            throw new TimeoutException($"Broker PID {running.Id} did not exit within {ExitTimeout} of SIGTERM.");
        }

        Log.WriteLine($"[harness] broker PID {running.Id} exited with code {running.ExitCode} after SIGTERM");
        return running.ExitCode;
    }

    /// <summary>GET on the broker's HTTP listener (e.g. <c>/healthz</c>); returns the status code.</summary>
    public async Task<HttpStatusCode> GetStatusAsync(string path)
    {
        using var response = await http.GetAsync(new Uri($"http://127.0.0.1:{HttpPort}{path}"));
        return response.StatusCode;
    }

    /// <summary>Peak resident set size of the broker process (VmHWM), from /proc.</summary>
    public long PeakResidentBytes()
    {
        foreach (var line in File.ReadLines($"/proc/{ProcessId}/status"))
        {
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                var kib = line["VmHWM:".Length..].Trim().Split(' ')[0];
                return long.Parse(kib, CultureInfo.InvariantCulture) * 1024;
            }
        }

        throw new InvalidOperationException($"/proc/{ProcessId}/status has no VmHWM line.");
    }

    /// <summary>Keeps the data directory after disposal (to inspect a failed run by hand).</summary>
    public void KeepDataDirectory() => deleteDataDirectory = false;

    public async ValueTask DisposeAsync()
    {
        if (process is not null)
        {
            BrokerLaunch.KillAndDispose(process, ExitTimeout);
            process = null;
        }

        AppDomain.CurrentDomain.ProcessExit -= KillOnRunnerExit;
        http.Dispose();
        if (deleteDataDirectory)
        {
            await DeleteWithRetriesAsync(DataDirectory);
        }
    }

    private async Task LaunchAsync()
    {
        process?.Dispose();
        var brokerDll = RepositoryLayout.BrokerDll;
        if (!File.Exists(brokerDll))
        {
            throw new FileNotFoundException(
                $"Broker executable not built: {brokerDll}. Build tests/Tributary.Integration.Tests (it references Tributary.Host).");
        }

        var command = new List<string> { BrokerLaunch.DotnetHost(), brokerDll };
        foreach (var (key, value) in overrides)
        {
            command.Add("--override");
            command.Add($"{key}={value}");
        }

        var clock = Stopwatch.StartNew();
        var launched = BrokerLaunch.Start(command, DataDirectory, Log, "[broker] ", started =>
        {
            process = started;
            AppDomain.CurrentDomain.ProcessExit -= KillOnRunnerExit;
            AppDomain.CurrentDomain.ProcessExit += KillOnRunnerExit;
        });
        Log.WriteLine($"[harness] started broker PID {launched.Id}: kafka {BootstrapServers}, http {HttpPort}, data {DataDirectory}");

        await WaitUntilReadyAsync(launched, clock);
        LastStartupDuration = clock.Elapsed;
        Log.WriteLine($"[harness] broker PID {launched.Id} ready after {LastStartupDuration.TotalMilliseconds:F0} ms");
    }

    /// <summary>Last line of defence against orphaned brokers when the test runner exits without disposing fixtures.</summary>
    private void KillOnRunnerExit(object? sender, EventArgs e) => BrokerLaunch.KillIfRunning(process);

    private Task WaitUntilReadyAsync(Process launched, Stopwatch clock) =>
        BrokerLaunch.WaitReadyAsync(launched, http, new Uri($"http://127.0.0.1:{HttpPort}/readyz"), clock, ReadyTimeout, Log, $"Broker PID {launched.Id}");

    private static async Task DeleteWithRetriesAsync(string directory)
    {
        for (var attempt = 0; attempt < 5; attempt++)
        {
            try
            {
                if (Directory.Exists(directory))
                {
                    Directory.Delete(directory, recursive: true);
                }

                return;
            }
            catch (IOException) when (attempt < 4)
            {
                await Task.Delay(200);
            }
            catch (UnauthorizedAccessException) when (attempt < 4)
            {
                await Task.Delay(200);
            }
        }
    }
}
