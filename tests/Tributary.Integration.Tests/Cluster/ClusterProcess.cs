using System.Diagnostics;
using Tributary.Integration.Tests.Harness;
using Xunit.Abstractions;

namespace Tributary.Integration.Tests.Cluster;

/// <summary>Where one broker runs: the address its listeners bind and the command prefix that puts it there.</summary>
/// <param name="Host">Listener address (127.0.0.1, or the broker's address inside its network namespace).</param>
/// <param name="LaunchPrefix">Prepended to the <c>dotnet</c> command line, e.g. <c>ip netns exec trib-b1</c>; empty for the host namespace.</param>
public sealed record BrokerPlacement(string Host, IReadOnlyList<string> LaunchPrefix)
{
    public static BrokerPlacement Loopback { get; } = new("127.0.0.1", []);
}

/// <summary>Shape of a <see cref="ClusterProcess"/>.</summary>
public sealed record ClusterOptions
{
    /// <summary>How many broker processes; node ids are 1..Brokers.</summary>
    public int Brokers { get; init; } = 3;

    /// <summary>How many of them (the lowest node ids) are controller-quorum voters; default min(Brokers, 3). The rest are observers.</summary>
    public int? Voters { get; init; }

    /// <summary>Voters run as dedicated controllers (<c>process.roles=controller</c>: quorum and controller only, no Kafka
    /// listener, no logs); only the observers are brokers.</summary>
    public bool DedicatedControllers { get; init; }

    /// <summary>Extra broker configuration for every broker; wins over the cluster defaults.</summary>
    public IReadOnlyDictionary<string, string> Overrides { get; init; } = new Dictionary<string, string>();

    /// <summary>Where broker N runs; default loopback in the test's own network namespace.</summary>
    public Func<int, BrokerPlacement> Placement { get; init; } = _ => BrokerPlacement.Loopback;

    /// <summary>Bound on the wait for every broker's <c>/readyz</c> at start-up.</summary>
    public TimeSpan ReadyTimeout { get; init; } = ClusterProcess.DefaultReadyTimeout;
}

/// <summary>
/// N real broker processes forming one cluster on free ports and temporary data directories: the first V are
/// controller-quorum voters, the others observers. Disposing kills every process it started (by PID) and deletes the
/// data directories.
/// </summary>
public sealed class ClusterProcess : IAsyncDisposable
{
    /// <summary>Start-up of a whole cluster includes a quorum election; generous, but bounded.</summary>
    public static readonly TimeSpan DefaultReadyTimeout = TimeSpan.FromSeconds(60);

    /// <summary>controller.quorum.election.timeout.ms of test clusters (Kafka's 1000 ms default suits production, not a 60 s test).</summary>
    public const int ElectionTimeoutMs = 500;

    private readonly List<ClusterBroker> brokers;
    private readonly string rootDirectory;

    private ClusterProcess(List<ClusterBroker> brokers, string rootDirectory, TestOutputSink log, string clusterId)
    {
        this.brokers = brokers;
        this.rootDirectory = rootDirectory;
        Log = log;
        ClusterId = clusterId;
    }

    public IReadOnlyList<ClusterBroker> Brokers => brokers;

    /// <summary>Log shared by every broker process (lines prefixed <c>[bN]</c>) and the harness.</summary>
    public TestOutputSink Log { get; }

    public string ClusterId { get; }

    /// <summary>Every broker's Kafka listener, comma-separated, as clients take it.</summary>
    public string BootstrapServers => string.Join(',', brokers.Where(b => !b.IsControllerOnly).Select(b => b.BootstrapServer));

    /// <summary>The broker with node id <paramref name="nodeId"/>.</summary>
    public ClusterBroker Broker(int nodeId) =>
        brokers.SingleOrDefault(b => b.NodeId == nodeId) ?? throw new ArgumentOutOfRangeException(nameof(nodeId), nodeId, "No such broker.");

    /// <summary>Starts the brokers and waits (bounded) until every one answers 200 on <c>/readyz</c>.</summary>
    public static async Task<ClusterProcess> StartAsync(ITestOutputHelper? output, ClusterOptions? options = null)
    {
        options ??= new ClusterOptions();
        var voterCount = options.Voters ?? Math.Min(options.Brokers, 3);
        if (options.Brokers < 1 || voterCount < 1 || voterCount > options.Brokers)
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"{options.Brokers} brokers with {voterCount} voters is not a cluster.");
        }

        var log = new TestOutputSink(output);
        var root = Path.Combine(Path.GetTempPath(), "tributary-cluster-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        var clusterId = NewClusterId();

        var taken = new HashSet<int>();
        int Port()
        {
            int port;
            do
            {
                port = FreePort.Next();
            }
            while (!taken.Add(port));
            return port;
        }

        var placements = Enumerable.Range(1, options.Brokers).ToDictionary(id => id, options.Placement);
        var ports = Enumerable.Range(1, options.Brokers)
            .ToDictionary(id => id, id => new BrokerPorts(Port(), id <= voterCount ? Port() : 0, Port()));
        var voters = string.Join(',', Enumerable.Range(1, voterCount).Select(id => $"{id}@{placements[id].Host}:{ports[id].Quorum}"));

        var brokers = new List<ClusterBroker>();
        foreach (var id in Enumerable.Range(1, options.Brokers))
        {
            var host = placements[id].Host;
            var isVoter = id <= voterCount;
            var controllerOnly = isVoter && options.DedicatedControllers;
            var dataDirectory = Path.Combine(root, $"broker-{id}");
            Directory.CreateDirectory(dataDirectory);
            var brokerCount = options.DedicatedControllers ? options.Brokers - voterCount : options.Brokers;
            var replication = ClusterBroker.Text(Math.Max(1, Math.Min(brokerCount, 3)));
            var settings = new Dictionary<string, string>
            {
                ["node.id"] = ClusterBroker.Text(id),
                ["cluster.id"] = clusterId,
                ["process.roles"] = controllerOnly ? "controller" : isVoter ? "broker,controller" : "broker",
                ["listeners"] = controllerOnly
                    ? $"CONTROLLER://{host}:{ports[id].Quorum}"
                    : isVoter
                        ? $"PLAINTEXT://{host}:{ports[id].Kafka},CONTROLLER://{host}:{ports[id].Quorum}"
                        : $"PLAINTEXT://{host}:{ports[id].Kafka}",
                ["controller.listener.names"] = "CONTROLLER",
                ["controller.quorum.voters"] = voters,
                ["http.listeners"] = $"http://{host}:{ports[id].Http}",
                ["log.dirs"] = dataDirectory,
                ["offsets.topic.replication.factor"] = replication,
                ["default.replication.factor"] = replication,
                ["transaction.state.log.replication.factor"] = replication,
                ["transaction.state.log.min.isr"] = ClusterBroker.Text(Math.Min(options.Brokers, 2)),
                ["controller.quorum.election.timeout.ms"] = ClusterBroker.Text(ElectionTimeoutMs),
                ["controller.quorum.heartbeat.interval.ms"] = "100",
                ["broker.heartbeat.interval.ms"] = "250",
                ["broker.session.timeout.ms"] = "1500",
                ["replica.lag.time.max.ms"] = "2000",
            };
            if (!controllerOnly)
            {
                settings["advertised.listeners"] = $"PLAINTEXT://{host}:{ports[id].Kafka}";
            }

            foreach (var (key, value) in options.Overrides)
            {
                settings[key] = value;
            }

            brokers.Add(new ClusterBroker(id, host, ports[id], isVoter, dataDirectory, settings.ToList(), placements[id].LaunchPrefix, log)
            {
                IsControllerOnly = controllerOnly,
            });
        }

        var cluster = new ClusterProcess(brokers, root, log, clusterId);
        try
        {
            var clock = Stopwatch.StartNew();
            foreach (var broker in brokers)
            {
                broker.Launch();
            }

            await Task.WhenAll(brokers.Select(b => b.WaitReadyAsync(options.ReadyTimeout)));
            log.WriteLine($"[harness] cluster of {options.Brokers} ({voterCount} voters) ready after {clock.ElapsedMilliseconds} ms; bootstrap {cluster.BootstrapServers}");
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>Each running, unpaused broker's <c>activecontrollercount</c> (null where it did not answer).</summary>
    public async Task<IReadOnlyDictionary<int, double?>> ActiveControllerCountsAsync()
    {
        var live = brokers.Where(b => b.IsRunning && !b.IsPaused).ToList();
        var counts = await Task.WhenAll(live.Select(b => b.MetricAsync(ClusterMetrics.ActiveControllerCount)));
        return live.Select((b, i) => (b.NodeId, counts[i])).ToDictionary(p => p.NodeId, p => p.Item2);
    }

    /// <summary>Polls until exactly one live broker reports itself the active controller; returns its node id.</summary>
    public async Task<int> ActiveControllerIdAsync(TimeSpan? timeout = null)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(15);
        var clock = Stopwatch.StartNew();
        IReadOnlyDictionary<int, double?> counts = new Dictionary<int, double?>();
        while (clock.Elapsed < limit)
        {
            counts = await ActiveControllerCountsAsync();
            var active = counts.Where(c => c.Value == 1).Select(c => c.Key).ToList();
            if (active.Count == 1)
            {
                return active[0];
            }

            await Task.Delay(50);
        }

        throw new TimeoutException(
            $"No single active controller within {limit}: {string.Join(", ", counts.Select(c => $"b{c.Key}={c.Value?.ToString() ?? "?"}"))}");
    }

    /// <summary>Restarts every broker that is not running and resumes every paused one; waits for all /readyz.</summary>
    public async Task HealAllAsync()
    {
        foreach (var broker in brokers.Where(b => b.IsPaused))
        {
            broker.Resume();
        }

        foreach (var broker in brokers.Where(b => !b.IsRunning))
        {
            broker.Launch();
        }

        await Task.WhenAll(brokers.Select(b => b.WaitReadyAsync(DefaultReadyTimeout)));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var broker in brokers)
        {
            await broker.DisposeAsync();
        }

        for (var attempt = 0; attempt < 5 && Directory.Exists(rootDirectory); attempt++)
        {
            try
            {
                Directory.Delete(rootDirectory, recursive: true);
            }
            catch (IOException)
            {
                await Task.Delay(200);
            }
            catch (UnauthorizedAccessException)
            {
                await Task.Delay(200);
            }
        }
    }

    /// <summary>A Kafka-style cluster id: a random UUID as 22 characters of URL-safe base64.</summary>
    private static string NewClusterId() =>
        Convert.ToBase64String(Guid.NewGuid().ToByteArray()).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
