using Tributary.Integration.Tests.Harness;

namespace Tributary.Integration.Tests.Cluster;

/// <summary>
/// Linux network namespaces for partition tests: each broker in its own namespace with one veth to a bridge (which
/// lives in a namespace of its own), a client namespace on the same bridge, and a veth from the test's namespace so the
/// harness still reaches every broker's HTTP and Kafka listeners. Addresses 10.77.0.N (broker N), .100 (client), .254
/// (harness). Needs root; everything is removed on dispose.
/// </summary>
public sealed class NetworkLab : IAsyncDisposable
{
    public const string ClientAddress = "10.77.0.100";
    private const string HarnessAddress = "10.77.0.254";
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(10);

    private readonly string prefix;
    private readonly int brokers;
    private readonly TestOutputSink log;
    private readonly List<string> namespaces = [];
    private readonly Dictionary<int, List<int>> isolated = [];
    private bool useTcFilters = true;

    private NetworkLab(string prefix, int brokers, TestOutputSink log)
    {
        this.prefix = prefix;
        this.brokers = brokers;
        this.log = log;
    }

    /// <summary>Namespace of the test clients (python scripts run there with <see cref="ClientCommand"/>).</summary>
    public string ClientNamespace => $"{prefix}-cl";

    /// <summary>
    /// Builds the namespaces and links; returns null with the reason when namespaces cannot be created here (not root,
    /// no <c>ip netns</c>), which is the one case a partition test may skip.
    /// </summary>
    public static async Task<(NetworkLab? Lab, string? Unavailable)> TryCreateAsync(int brokers, TestOutputSink log)
    {
        // Short: interface names are limited to 15 characters and carry this prefix.
        var prefix = "tn" + Guid.NewGuid().ToString("N")[..5];
        var lab = new NetworkLab(prefix, brokers, log);
        ExternalResult probe;
        try
        {
            probe = await lab.TryRunAsync("ip", ["netns", "add", $"{prefix}-br"]);
        }
        catch (InvalidOperationException e)
        {
            return (null, $"`ip` cannot run here: {e.Message}");
        }

        if (probe.ExitCode != 0)
        {
            return (null, $"`ip netns add` failed (exit {probe.ExitCode}): {probe.StandardError.Trim()}");
        }

        lab.namespaces.Add($"{prefix}-br");
        try
        {
            await lab.BuildAsync();
            return (lab, null);
        }
        catch
        {
            await lab.DisposeAsync();
            throw;
        }
    }

    /// <summary>Where broker <paramref name="nodeId"/> runs: its namespace and address.</summary>
    public BrokerPlacement Placement(int nodeId) => new(BrokerAddress(nodeId), ["ip", "netns", "exec", BrokerNamespace(nodeId)]);

    public static string BrokerAddress(int nodeId) => $"10.77.0.{nodeId}";

    /// <summary>The command prefix that runs a program inside the client namespace.</summary>
    public IReadOnlyList<string> ClientCommand => ["netns", "exec", ClientNamespace];

    /// <summary>
    /// Cuts every packet between broker <paramref name="nodeId"/> and the other brokers, both ways, while the client and
    /// harness addresses still reach it: tc clsact u32 drop filters on its veth, or, where the kernel has no tc drop
    /// action (act_gact), blackhole routes on both sides, which discard the same packets.
    /// </summary>
    public async Task IsolateAsync(int nodeId)
    {
        var others = Enumerable.Range(1, brokers).Where(n => n != nodeId).ToList();
        if (useTcFilters)
        {
            try
            {
                await RunAsync("ip", ["netns", "exec", BrokerNamespace(nodeId), "tc", "qdisc", "add", "dev", "eth0", "clsact"]);
                foreach (var other in others)
                {
                    await RunAsync("ip", ["netns", "exec", BrokerNamespace(nodeId), "tc", "filter", "add", "dev", "eth0", "egress",
                        "protocol", "ip", "prio", "1", "u32", "match", "ip", "dst", $"{BrokerAddress(other)}/32", "action", "drop"]);
                    await RunAsync("ip", ["netns", "exec", BrokerNamespace(nodeId), "tc", "filter", "add", "dev", "eth0", "ingress",
                        "protocol", "ip", "prio", "1", "u32", "match", "ip", "src", $"{BrokerAddress(other)}/32", "action", "drop"]);
                }
            }
            catch (InvalidOperationException e)
            {
                log.WriteLine($"[netns] tc drop filters unavailable ({e.Message.Trim()}); isolating with blackhole routes instead");
                await TryRunAsync("ip", ["netns", "exec", BrokerNamespace(nodeId), "tc", "qdisc", "del", "dev", "eth0", "clsact"]);
                useTcFilters = false;
            }
        }

        if (!useTcFilters)
        {
            foreach (var other in others)
            {
                await RunAsync("ip", ["-n", BrokerNamespace(nodeId), "route", "add", "blackhole", $"{BrokerAddress(other)}/32"]);
                await RunAsync("ip", ["-n", BrokerNamespace(other), "route", "add", "blackhole", $"{BrokerAddress(nodeId)}/32"]);
            }
        }

        isolated[nodeId] = others;
        log.WriteLine($"[netns] broker {nodeId} isolated from brokers {string.Join(',', others)}");
    }

    /// <summary>Undoes <see cref="IsolateAsync"/> for <paramref name="nodeId"/>.</summary>
    public async Task HealAsync(int nodeId)
    {
        if (!isolated.Remove(nodeId, out var others))
        {
            return;
        }

        await TryRunAsync("ip", ["netns", "exec", BrokerNamespace(nodeId), "tc", "qdisc", "del", "dev", "eth0", "clsact"]);
        foreach (var other in others)
        {
            await TryRunAsync("ip", ["-n", BrokerNamespace(nodeId), "route", "del", "blackhole", $"{BrokerAddress(other)}/32"]);
            await TryRunAsync("ip", ["-n", BrokerNamespace(other), "route", "del", "blackhole", $"{BrokerAddress(nodeId)}/32"]);
        }

        log.WriteLine($"[netns] broker {nodeId} healed");
    }

    /// <summary>Whether a TCP connection from inside <paramref name="fromNamespace"/> to <paramref name="host"/>:<paramref name="port"/> succeeds within a second.</summary>
    public async Task<bool> CanConnectAsync(string fromNamespace, string host, int port)
    {
        var probe = $"import socket; socket.create_connection(('{host}', {port}), timeout=1).close()";
        var result = await TryRunAsync("ip", ["netns", "exec", fromNamespace, "/usr/bin/python3", "-c", probe]);
        return result.ExitCode == 0;
    }

    /// <summary>The namespace broker <paramref name="nodeId"/> runs in.</summary>
    public string BrokerNamespace(int nodeId) => $"{prefix}-b{nodeId}";

    public async ValueTask DisposeAsync()
    {
        foreach (var name in Enumerable.Reverse(namespaces))
        {
            // Deleting a namespace destroys the veth ends inside it, and with them their peers.
            await TryRunAsync("ip", ["netns", "del", name]);
        }

        await TryRunAsync("ip", ["link", "del", $"{prefix}h"]);
    }

    private async Task BuildAsync()
    {
        // Two labs at once (or one left behind by a killed test run) would put two routes to 10.77.0.0/24 in the
        // harness's namespace and send probes to the wrong bridge.
        var existing = await TryRunAsync("ip", ["-4", "route", "show", "10.77.0.0/24"]);
        if (existing.StandardOutput.Trim().Length > 0)
        {
            throw new InvalidOperationException(
                $"10.77.0.0/24 is already routed here ({existing.StandardOutput.Trim()}): another lab is up or a killed run left one " +
                "(see `ip netns list | grep ^tn` and `ip -br link | grep ^tn`).");
        }

        var bridgeNs = $"{prefix}-br";
        await RunAsync("ip", ["-n", bridgeNs, "link", "add", "br0", "type", "bridge"]);
        await RunAsync("ip", ["-n", bridgeNs, "link", "set", "br0", "up"]);

        var members = Enumerable.Range(1, brokers).Select(n => (Ns: BrokerNamespace(n), Address: BrokerAddress(n), Tag: $"{n}"))
            .Append((Ns: ClientNamespace, Address: ClientAddress, Tag: "c"));
        foreach (var (ns, address, tag) in members)
        {
            await RunAsync("ip", ["netns", "add", ns]);
            namespaces.Add(ns);
            var inner = $"{prefix}a{tag}";
            var outer = $"{prefix}z{tag}";
            await RunAsync("ip", ["link", "add", inner, "type", "veth", "peer", "name", outer]);
            await RunAsync("ip", ["link", "set", inner, "netns", ns]);
            await RunAsync("ip", ["link", "set", outer, "netns", bridgeNs]);
            await RunAsync("ip", ["-n", ns, "link", "set", inner, "name", "eth0"]);
            await RunAsync("ip", ["-n", ns, "addr", "add", $"{address}/24", "dev", "eth0"]);
            await RunAsync("ip", ["-n", ns, "link", "set", "eth0", "up"]);
            await RunAsync("ip", ["-n", ns, "link", "set", "lo", "up"]);
            await RunAsync("ip", ["-n", bridgeNs, "link", "set", outer, "name", $"v{tag}"]);
            await RunAsync("ip", ["-n", bridgeNs, "link", "set", $"v{tag}", "master", "br0", "up"]);
        }

        // The harness's own door onto the bridge: readiness, metrics and admin metadata from the test process.
        await RunAsync("ip", ["link", "add", $"{prefix}h", "type", "veth", "peer", "name", $"{prefix}y"]);
        await RunAsync("ip", ["link", "set", $"{prefix}y", "netns", bridgeNs]);
        await RunAsync("ip", ["-n", bridgeNs, "link", "set", $"{prefix}y", "name", "vh"]);
        await RunAsync("ip", ["-n", bridgeNs, "link", "set", "vh", "master", "br0", "up"]);
        await RunAsync("ip", ["addr", "add", $"{HarnessAddress}/24", "dev", $"{prefix}h"]);
        await RunAsync("ip", ["link", "set", $"{prefix}h", "up"]);
        log.WriteLine($"[netns] lab {prefix}: brokers 10.77.0.1-{brokers}, client {ClientAddress} in {ClientNamespace}, harness {HarnessAddress}");
    }

    private async Task RunAsync(string fileName, IReadOnlyList<string> arguments)
    {
        var result = await TryRunAsync(fileName, arguments);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"{fileName} {string.Join(' ', arguments)} failed with {result.ExitCode}: {result.StandardError}");
        }
    }

    private Task<ExternalResult> TryRunAsync(string fileName, IReadOnlyList<string> arguments) =>
        ExternalProcess.RunAsync(fileName, arguments, log, CommandTimeout);
}
