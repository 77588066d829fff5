using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Tributary.Integration.Tests.Harness;

namespace Tributary.Integration.Tests.Burrow;

/// <summary>
/// A standalone ZooKeeper from Debian's <c>zookeeper</c> package on a free loopback port with its own data directory,
/// for Burrow's own locks (Burrow 1.2 will not start without one). Not a Tributary component: Tributary needs no ZooKeeper.
/// </summary>
public sealed class ZooKeeperServer : IDisposable
{
    private const string Java = "/usr/bin/java";
    private const string ZooKeeperJar = "/usr/share/java/zookeeper.jar";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private readonly Process process;
    private readonly string directory;

    private ZooKeeperServer(Process process, string directory, int port)
    {
        this.process = process;
        this.directory = directory;
        Port = port;
        AppDomain.CurrentDomain.ProcessExit += KillOnRunnerExit;
    }

    public int Port { get; }

    public string Connect => $"127.0.0.1:{Port}";

    /// <summary>Starts ZooKeeper and returns once <c>srvr</c> says it serves requests as a standalone server.</summary>
    public static async Task<ZooKeeperServer> StartAsync(TestOutputSink log)
    {
        if (!File.Exists(ZooKeeperJar) || !File.Exists(Java))
        {
            throw new InvalidOperationException($"{ZooKeeperJar} or {Java} missing: apt-get install -y zookeeper (make deps does).");
        }

        var directory = Path.Combine(Path.GetTempPath(), "tributary-it-zk-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(directory, "data"));
        var port = FreePort.Next();
        var config = Path.Combine(directory, "zoo.cfg");
        await File.WriteAllTextAsync(config, string.Join('\n',
            "tickTime=2000",
            $"dataDir={Path.Combine(directory, "data")}",
            $"clientPort={port}",
            "clientPortAddress=127.0.0.1",
            "admin.enableServer=false", // its Jetty would take port 8080
            "4lw.commands.whitelist=srvr",
            ""));
        var process = BrokerLaunch.Start(
            [Java, "-Xmx128m", "-cp", ZooKeeperJar, "org.apache.zookeeper.server.ZooKeeperServerMain", config],
            directory, log, "[zookeeper] ", _ => { });
        var server = new ZooKeeperServer(process, directory, port);
        try
        {
            await server.WaitUntilOkAsync(log);
            return server;
        }
        catch
        {
            server.Dispose();
            throw;
        }
    }

    private async Task WaitUntilOkAsync(TestOutputSink log)
    {
        var clock = Stopwatch.StartNew();
        var last = "no answer";
        while (clock.Elapsed < StartTimeout)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"ZooKeeper exited with {process.ExitCode}. Last output:\n{log.RecentLines()}");
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync("127.0.0.1", Port);
                var stream = client.GetStream();
                // "ruok" answers imok while the server is still loading and drops sessions; "srvr" reports a mode only
                // once it serves requests.
                await stream.WriteAsync("srvr"u8.ToArray());
                using var reader = new StreamReader(stream, Encoding.ASCII);
                last = await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(2));
                if (last.Contains("Mode: standalone", StringComparison.Ordinal))
                {
                    return;
                }
            }
            catch (Exception e) when (e is SocketException or IOException or TimeoutException)
            {
                last = e.Message;
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"ZooKeeper on {Connect} not ready within {StartTimeout} (last: {last}).");
    }

    public void Dispose()
    {
        AppDomain.CurrentDomain.ProcessExit -= KillOnRunnerExit;
        BrokerLaunch.KillAndDispose(process, TimeSpan.FromSeconds(10));
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
