using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Tributary.Integration.Tests.Harness;

namespace Tributary.Integration.Tests.MakeRun;

/// <summary>
/// The real <c>scripts/run-cluster.sh</c> (what <c>make run</c> calls) as a child process: NO_BUILD=1 (the test project
/// built the broker), data in a temporary DATA_DIR, on make run's fixed ports. Collects its output (the script's own
/// lines and the brokers' prefixed ones), knows each broker's PID from the script's "started" lines, and on dispose
/// stops whatever is left (SIGTERM, then SIGKILL after a bounded wait).
/// </summary>
public sealed partial class RunClusterScript : IAsyncDisposable
{
    /// <summary>Kafka, quorum and HTTP ports of brokers 1–3 (9092 + 100·(n−1) and the two after it).</summary>
    public static readonly IReadOnlyList<int> FixedPorts =
        [.. Enumerable.Range(1, 3).SelectMany(n => Enumerable.Range(9092 + (100 * (n - 1)), 3))];

    private readonly Process process;
    private readonly List<string> lines = [];
    private readonly Dictionary<int, int> brokerPids = [];
    private readonly List<int> everyBrokerPid = [];
    private readonly Lock gate = new();
    private readonly TestOutputSink log;
    private readonly Task<int> exited;

    private RunClusterScript(Process process, string dataDirectory, TestOutputSink log)
    {
        this.process = process;
        DataDirectory = dataDirectory;
        this.log = log;
        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        exited = process.WaitForExitAsync().ContinueWith(_ => process.ExitCode, TaskScheduler.Default);
    }

    public string DataDirectory { get; }

    public int ScriptPid => process.Id;

    public bool HasExited => exited.IsCompleted;

    /// <summary>Fails (does not wait) when one of make run's ports is taken: another make run, or a leftover broker.</summary>
    public static void RequireFixedPortsFree()
    {
        foreach (var port in FixedPorts)
        {
            using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            // As the brokers' listeners do: connections of an earlier run in TIME_WAIT must not count as busy, a listener does.
            probe.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            try
            {
                probe.Bind(new IPEndPoint(IPAddress.Loopback, port));
            }
            catch (SocketException e)
            {
                throw new InvalidOperationException(
                    $"This test drives make run's fixed ports 9092-9294, but 127.0.0.1:{port} is taken ({e.SocketErrorCode}): "
                    + "stop the make run (or broker) that holds it and run the test again.", e);
            }
        }
    }

    public static RunClusterScript Start(TestOutputSink log)
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), "tributary-make-run-" + Guid.NewGuid().ToString("N")[..12]);
        var start = new ProcessStartInfo("/bin/bash")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = RepositoryLayout.Root,
        };
        start.ArgumentList.Add(Path.Combine(RepositoryLayout.Root, "scripts", "run-cluster.sh"));
        start.Environment["NO_BUILD"] = "1";
        start.Environment["CONFIG"] = RepositoryLayout.Configuration;
        start.Environment["DATA_DIR"] = dataDirectory;
        start.Environment.Remove("LD_LIBRARY_PATH");
        log.WriteLine($"[make-run] scripts/run-cluster.sh with DATA_DIR={dataDirectory}");
        return new RunClusterScript(Process.Start(start) ?? throw new InvalidOperationException("bash did not start"), dataDirectory, log);
    }

    /// <summary>The PID the script reported for broker <paramref name="node"/> (started or started again).</summary>
    public int BrokerPid(int node)
    {
        lock (gate)
        {
            return brokerPids.TryGetValue(node, out var pid) ? pid : throw new InvalidOperationException($"No PID seen for broker {node}.");
        }
    }

    public string Output()
    {
        lock (gate)
        {
            return string.Join('\n', lines);
        }
    }

    /// <summary>Waits until a line matches <paramref name="pattern"/>; throws with the output's tail if the script exits or the time is up.</summary>
    public async Task<Match> WaitForLineAsync(Regex pattern, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        var checkedLines = 0;
        while (true)
        {
            lock (gate)
            {
                for (; checkedLines < lines.Count; checkedLines++)
                {
                    var match = pattern.Match(lines[checkedLines]);
                    if (match.Success)
                    {
                        return match;
                    }
                }
            }

            if (HasExited)
            {
                throw new InvalidOperationException($"run-cluster.sh exited ({await exited}) before printing /{pattern}/; output:\n{Tail()}");
            }

            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"run-cluster.sh printed no line matching /{pattern}/ within {timeout}; output:\n{Tail()}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Sends SIGTERM to the script and waits at most <paramref name="timeout"/> for it to exit; returns its exit code.</summary>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        PosixSignals.Send(process.Id, PosixSignals.SigTerm);
        return await exited.WaitAsync(timeout);
    }

    /// <summary>True while the process <paramref name="pid"/> exists (signal 0 probes without signalling).</summary>
    public static bool IsAlive(int pid) => PosixSignals.Send(pid, 0);

    public async ValueTask DisposeAsync()
    {
        if (!HasExited)
        {
            PosixSignals.Send(process.Id, PosixSignals.SigTerm);
            try
            {
                await exited.WaitAsync(TimeSpan.FromSeconds(60));
            }
            catch (TimeoutException)
            {
                log.WriteLine("[make-run] the script did not stop within 60 s of SIGTERM; killing it and its brokers");
                PosixSignals.Send(process.Id, PosixSignals.SigKill);
            }
        }

        int[] pids;
        lock (gate)
        {
            pids = [.. everyBrokerPid];
        }

        foreach (var pid in pids.Where(IsAlive))
        {
            log.WriteLine($"[make-run] broker PID {pid} outlived the script; SIGKILL");
            PosixSignals.Send(pid, PosixSignals.SigKill);
        }

        process.Dispose();
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        log.WriteLine($"[make-run] {line}");
        var started = StartedLine().Match(line);
        lock (gate)
        {
            lines.Add(line);
            if (started.Success)
            {
                var pid = int.Parse(started.Groups["pid"].Value, System.Globalization.CultureInfo.InvariantCulture);
                brokerPids[int.Parse(started.Groups["node"].Value, System.Globalization.CultureInfo.InvariantCulture)] = pid;
                everyBrokerPid.Add(pid);
            }
        }
    }

    private string Tail()
    {
        lock (gate)
        {
            return string.Join('\n', lines.TakeLast(60));
        }
    }

    [GeneratedRegex(@"^run-cluster: broker (?<node>\d+) started(?: again)?, PID (?<pid>\d+)")]
    private static partial Regex StartedLine();
}
