using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Tributary.Bench.EndToEnd;

/// <summary>One tributary-broker process on loopback ports with its own data directory; measures start-up, RSS and open files.</summary>
internal sealed partial class BrokerInstance : IDisposable
{
    private readonly string _brokerDll;
    private readonly List<string> _output = [];
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(2) };
    private Process? _process;
    private StreamWriter? _outputWriter;
    private Stopwatch _launchClock = new();

    /// <param name="outputFile">When set, every line the broker prints is also appended there (kept for reading after a run).</param>
    public BrokerInstance(string brokerDll, string dataDirectory, string? outputFile = null)
    {
        _brokerDll = brokerDll;
        DataDirectory = dataDirectory;
        OutputFile = outputFile;
        _outputWriter = outputFile is null ? null : new StreamWriter(outputFile, append: true) { AutoFlush = true };
        Directory.CreateDirectory(dataDirectory);
        KafkaPort = FreePort();
        HttpPort = FreePort();
        QuorumPort = FreePort();
        // A single combined node; a cluster replaces these (node.id, listeners, quorum voters, replication factors).
        Settings = new Dictionary<string, string>
        {
            ["node.id"] = "1",
            ["listeners"] = $"PLAINTEXT://127.0.0.1:{KafkaPort}",
            ["advertised.listeners"] = $"PLAINTEXT://127.0.0.1:{KafkaPort}",
            ["http.listeners"] = $"http://127.0.0.1:{HttpPort}",
            ["log.dirs"] = dataDirectory,
            ["offsets.topic.replication.factor"] = "1",
        };
    }

    public string DataDirectory { get; }
    public string? OutputFile { get; }
    public int KafkaPort { get; }
    public int HttpPort { get; }

    /// <summary>A free port reserved for the CONTROLLER listener; used only when <see cref="Settings"/> names it.</summary>
    public int QuorumPort { get; }

    /// <summary>Broker configuration passed as <c>--override key=value</c>; change it before starting.</summary>
    public Dictionary<string, string> Settings { get; }

    public string BootstrapServers => $"127.0.0.1:{KafkaPort}";
    public int Pid => _process?.Id ?? -1;

    /// <summary>Starts the broker (optionally under a lowered soft open-file limit) and returns the time until /readyz answered 200.</summary>
    public TimeSpan Start(TimeSpan timeout, int? openFileLimit = null)
    {
        Launch(openFileLimit);
        return WaitReady(timeout);
    }

    /// <summary>Starts the process without waiting: a quorum voter cannot be ready before enough of its peers run.</summary>
    public void Launch() => Launch(null);

    /// <summary>Polls /readyz until 200 (bounded by <paramref name="timeout"/> from launch); returns the time since launch.</summary>
    public TimeSpan WaitReady(TimeSpan timeout)
    {
        var (clock, process) = (_launchClock, _process ?? throw new InvalidOperationException("broker not launched"));
        while (clock.Elapsed < timeout)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"broker exited with {process.ExitCode} before ready:\n{RecentOutput(20)}");
            }

            try
            {
                using var response = _http.GetAsync(new Uri($"http://127.0.0.1:{HttpPort}/readyz")).GetAwaiter().GetResult();
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return clock.Elapsed;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            Thread.Sleep(10);
        }

        throw new TimeoutException($"broker not ready within {timeout}:\n{RecentOutput(20)}");
    }

    /// <summary>Starts the broker expecting it to refuse; returns its exit code and the output line that explains why.</summary>
    public (int ExitCode, string Reason) StartExpectingRefusal(int openFileLimit, TimeSpan timeout)
    {
        var (_, process) = Launch(openFileLimit);
        if (!process.WaitForExit(timeout))
        {
            Kill();
            return (-1, "broker did not refuse to start");
        }

        process.WaitForExit();
        string reason;
        lock (_output)
        {
            reason = _output.LastOrDefault(l => l.Contains("refusing to start", StringComparison.Ordinal))
                ?? _output.LastOrDefault(l => l.Contains("open-file limit", StringComparison.OrdinalIgnoreCase)) ?? "(no explanation logged)";
        }

        return (process.ExitCode, reason.Trim());
    }

    /// <summary>SIGTERM and wait (SIGKILL after 60 s): a clean shutdown; returns how long it took.</summary>
    public TimeSpan Stop()
    {
        var clock = Stopwatch.StartNew();
        if (_process is { HasExited: false } process)
        {
            _ = SendSignal(process.Id, 15);
            if (!process.WaitForExit(TimeSpan.FromSeconds(60)))
            {
                Console.WriteLine($"  broker PID {process.Id} still running 60 s after SIGTERM; killing it");
                process.Kill();
                process.WaitForExit();
            }
        }

        return clock.Elapsed;
    }

    /// <summary>SIGKILL: an unclean stop, as a crash or power loss leaves the logs (minus the page cache).</summary>
    public void Kill()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            process.WaitForExit();
        }
    }

    /// <summary>Resident set size in MiB, from /proc/PID/status.</summary>
    public double RssMiB()
    {
        foreach (var line in File.ReadLines($"/proc/{Pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                var kb = long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
                return kb / 1024.0;
            }
        }

        return double.NaN;
    }

    /// <summary>GET on the broker's HTTP listener (e.g. /metrics); null when it does not answer 200 in time.</summary>
    public string? HttpGet(string path)
    {
        try
        {
            using var response = _http.GetAsync(new Uri($"http://127.0.0.1:{HttpPort}{path}")).GetAwaiter().GetResult();
            return response.StatusCode == HttpStatusCode.OK ? response.Content.ReadAsStringAsync().GetAwaiter().GetResult() : null;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }

    /// <summary>Open file descriptors of the broker process (everything in /proc/PID/fd: files, sockets, pipes).</summary>
    public int OpenFiles() => Directory.GetFiles($"/proc/{Pid}/fd").Length;

    public string RecentOutput(int lines)
    {
        lock (_output)
        {
            return string.Join('\n', _output.TakeLast(lines));
        }
    }

    public void Dispose()
    {
        Kill();
        _process?.Dispose();
        _http.Dispose();
        lock (_output)
        {
            _outputWriter?.Dispose();
            _outputWriter = null;
        }
    }

    private (Stopwatch Clock, Process Process) Launch(int? openFileLimit)
    {
        _process?.Dispose();
        var start = new ProcessStartInfo
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = DataDirectory,
        };
        var arguments = new List<string> { _brokerDll };
        foreach (var (key, value) in Settings)
        {
            arguments.Add("--override");
            arguments.Add($"{key}={value}");
        }

        if (openFileLimit is { } limit)
        {
            // Soft and hard, as `ulimit -n` or LimitNOFILE= do: the .NET runtime raises its soft limit to the hard one at
            // start-up, so only the hard limit binds a .NET process. Then exec the broker in the shell's place.
            start.FileName = "/bin/sh";
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add($"ulimit -n {limit} && exec \"$0\" \"$@\"");
            start.ArgumentList.Add(DotnetHost());
        }
        else
        {
            start.FileName = DotnetHost();
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment.Remove("LD_LIBRARY_PATH");
        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Remember(e.Data);
        process.ErrorDataReceived += (_, e) => Remember(e.Data);
        var clock = Stopwatch.StartNew();
        _launchClock = clock;
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        return (clock, process);
    }

    private void Remember(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _outputWriter?.WriteLine(line);

            _output.Add(line);
            if (_output.Count > 2000)
            {
                _output.RemoveRange(0, 1000);
            }
        }
    }

    private static string DotnetHost() => Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path) == "dotnet" ? path : "dotnet";

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SendSignal(int pid, int signal);
}
