using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Tributary.Integration.Tests.Harness;

namespace Tributary.Integration.Tests.Burrow;

/// <summary>
/// Debian 12's Burrow (package <c>burrow</c>, 1.2.1 on sarama 1.22) watching one Kafka cluster, named
/// <see cref="ClusterName"/>, through its "kafka" cluster module (topic offsets by ListOffsets v0) and "kafka" consumer
/// module (reads <c>__consumer_offsets</c>), with its HTTP API on a free loopback port.
/// </summary>
public sealed class BurrowServer : IDisposable
{
    public const string ClusterName = "tributary";
    private const string Executable = "/usr/bin/Burrow";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private readonly Process process;
    private readonly string directory;
    private readonly HttpClient http = new() { Timeout = TimeSpan.FromSeconds(5) };

    private BurrowServer(Process process, string directory, int httpPort)
    {
        this.process = process;
        this.directory = directory;
        HttpPort = httpPort;
        AppDomain.CurrentDomain.ProcessExit += KillOnRunnerExit;
    }

    public int HttpPort { get; }

    /// <summary>Burrow's own log file (it writes there, not to stdout).</summary>
    public string LogFile => Path.Combine(directory, "burrow.log");

    /// <summary>
    /// Starts Burrow against <paramref name="bootstrap"/> with <paramref name="zooKeeper"/> for its locks. sarama is told
    /// Kafka 2.0.0, the newest version Burrow 1.2.1 accepts: sarama then fetches with record batches (Fetch v4+), while
    /// Burrow's own topic-offset requests stay ListOffsets v0.
    /// </summary>
    public static async Task<BurrowServer> StartAsync(string bootstrap, ZooKeeperServer zooKeeper, TestOutputSink log)
    {
        if (!File.Exists(Executable))
        {
            throw new InvalidOperationException($"{Executable} missing: apt-get install -y burrow (make deps does).");
        }

        var directory = Path.Combine(Path.GetTempPath(), "tributary-it-burrow-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        var httpPort = FreePort.Next();
        var toml = string.Join('\n',
            "[general]",
            $"pidfile=\"{Path.Combine(directory, "burrow.pid")}\"",
            "[logging]",
            $"filename=\"{Path.Combine(directory, "burrow.log")}\"",
            "level=\"info\"",
            "[zookeeper]",
            $"servers=[\"{zooKeeper.Connect}\"]",
            "timeout=6",
            "root-path=\"/burrow\"",
            "[client-profile.it]",
            "client-id=\"burrow-it\"",
            "kafka-version=\"2.0.0\"",
            $"[cluster.{ClusterName}]",
            "class-name=\"kafka\"",
            $"servers=[\"{bootstrap}\"]",
            "client-profile=\"it\"",
            "topic-refresh=2",
            "offset-refresh=1",
            $"[consumer.{ClusterName}]",
            "class-name=\"kafka\"",
            $"cluster=\"{ClusterName}\"",
            $"servers=[\"{bootstrap}\"]",
            "client-profile=\"it\"",
            "offsets-topic=\"__consumer_offsets\"",
            "start-latest=false",
            "[httpserver.default]",
            $"address=\"127.0.0.1:{httpPort.ToString(CultureInfo.InvariantCulture)}\"",
            "[storage.default]",
            "class-name=\"inmemory\"",
            "workers=2",
            "intervals=10",
            "min-distance=1",
            "");
        await File.WriteAllTextAsync(Path.Combine(directory, "burrow.toml"), toml);
        var process = BrokerLaunch.Start([Executable, "-config-dir", directory], directory, log, "[burrow] ", _ => { });
        var server = new BurrowServer(process, directory, httpPort);
        try
        {
            await server.WaitUntilServingAsync();
            return server;
        }
        catch
        {
            log.WriteLine("[burrow] log file:\n" + server.ReadLog());
            server.Dispose();
            throw;
        }
    }

    /// <summary>GET on Burrow's HTTP API; the parsed body, or null while it answers no 200.</summary>
    public async Task<JsonElement?> GetAsync(string path)
    {
        try
        {
            using var response = await http.GetAsync(new Uri($"http://127.0.0.1:{HttpPort}{path}"));
            if (!response.IsSuccessStatusCode)
            {
                return null;
            }

            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            return body.RootElement.Clone();
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }

    /// <summary>Burrow's log so far (for failure messages).</summary>
    public string ReadLog()
    {
        try
        {
            var text = File.ReadAllText(LogFile);
            return text.Length <= 12_000 ? text : "…" + text[^12_000..];
        }
        catch (IOException e)
        {
            return $"(no log: {e.Message})";
        }
    }

    private async Task WaitUntilServingAsync()
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < StartTimeout)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"Burrow exited with {process.ExitCode} before serving HTTP.");
            }

            if (await GetAsync("/v3/kafka") is not null)
            {
                return;
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"Burrow's HTTP API on port {HttpPort} did not answer within {StartTimeout}.");
    }

    public void Dispose()
    {
        AppDomain.CurrentDomain.ProcessExit -= KillOnRunnerExit;
        BrokerLaunch.KillAndDispose(process, TimeSpan.FromSeconds(10));
        http.Dispose();
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a temp directory left behind is harmless.
        }
    }

    private void KillOnRunnerExit(object? sender, EventArgs e) => BrokerLaunch.KillIfRunning(process);
}
