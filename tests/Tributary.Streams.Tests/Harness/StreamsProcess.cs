using System.Diagnostics;
using Tributary.Integration.Tests.Harness;

namespace Tributary.Streams.Tests.Harness;

/// <summary>
/// One instance of the sample's count application (<c>tributary-streams-sample count …</c>) in its own OS process, so a
/// test can SIGKILL it by PID: no Streamiz shutdown, no commit, no leave-group, an open transaction left behind.
/// Its output goes into the cluster's log; <see cref="State"/> follows the <c>count: STATE</c> lines it prints.
/// </summary>
public sealed class StreamsProcess : IAsyncDisposable
{
    private readonly Process process;
    private volatile string state = "CREATED";

    private readonly string stateDirectory;

    private StreamsProcess(Process process, string stateDirectory)
    {
        this.process = process;
        this.stateDirectory = stateDirectory;
    }

    public int ProcessId => process.Id;

    public string State => state;

    public bool HasExited => process.HasExited;

    /// <summary>The sample executable the test project's ProjectReference builds next to the tests' configuration.</summary>
    public static string SampleDll => Path.Combine(RepositoryPaths.Root, "streams", "samples", "Tributary.Streams.Sample", "bin",
        RepositoryPaths.Configuration, "net10.0", "tributary-streams-sample.dll");

    /// <summary>Starts the count application and waits (bounded) until it prints RUNNING.</summary>
    public static async Task<StreamsProcess> StartAsync(StreamsCluster cluster, string name, string applicationId, string input, string output,
        string guarantee = "exactly_once_v2", int? maxPollRecords = null)
    {
        var stateDirectory = Path.Combine(Path.GetTempPath(), "tributary-streams-" + Guid.NewGuid().ToString("N"));
        var start = new ProcessStartInfo(BrokerLaunch.DotnetHost())
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        string[] optional = maxPollRecords is { } max ? [max.ToString(System.Globalization.CultureInfo.InvariantCulture)] : [];
        foreach (var argument in new[] { SampleDll, "count", cluster.BootstrapServers, applicationId, input, output, stateDirectory, guarantee }.Concat(optional))
        {
            start.ArgumentList.Add(argument);
        }

        // LD_LIBRARY_PATH (libsasl2 for librdkafka) is inherited from the test runner, as `make streams-test` sets it.
        var launched = new Process { StartInfo = start, EnableRaisingEvents = true };
        var instance = new StreamsProcess(launched, stateDirectory);
        var log = cluster.Cluster.Log;
        launched.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }

            log.WriteLine($"[{name}] {e.Data}");
            if (e.Data.StartsWith("count: ", StringComparison.Ordinal))
            {
                instance.state = e.Data["count: ".Length..];
            }
        };
        launched.ErrorDataReceived += (_, e) => { if (e.Data is not null) { log.WriteLine($"[{name}] [err] {e.Data}"); } };
        launched.Start();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => instance.KillIfRunning();
        launched.BeginOutputReadLine();
        launched.BeginErrorReadLine();
        log.WriteLine($"[harness] started {name} PID {launched.Id} ({applicationId}, {guarantee}, state {stateDirectory})");
        try
        {
            await Eventually.TrueAsync(() => launched.HasExited || instance.state == "RUNNING", $"{name} RUNNING",
                TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(50));
            if (launched.HasExited)
            {
                throw new InvalidOperationException($"{name} exited with code {launched.ExitCode} before RUNNING:{Environment.NewLine}{log.RecentLines()}");
            }

            return instance;
        }
        catch
        {
            await instance.DisposeAsync();
            throw;
        }
    }

    /// <summary>SIGKILL by PID; returns once the process is gone.</summary>
    public void Kill()
    {
        PosixSignals.Send(process.Id, PosixSignals.SigKill);
        if (!process.WaitForExit(TimeSpan.FromSeconds(30)))
        {
            throw new TimeoutException($"PID {process.Id} survived SIGKILL.");
        }

        process.WaitForExit();
    }

    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            // A clean stop (Streamiz closes, commits, leaves the group), SIGKILL if it hangs.
            PosixSignals.Send(process.Id, PosixSignals.SigTerm);
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await process.WaitForExitAsync(wait.Token);
            }
            catch (OperationCanceledException)
            {
                KillIfRunning();
            }
        }

        process.Dispose();
        if (Directory.Exists(stateDirectory))
        {
            Directory.Delete(stateDirectory, recursive: true);
        }
    }

    private void KillIfRunning()
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill();
            }
        }
        catch (InvalidOperationException)
        {
            // already gone
        }
    }
}
