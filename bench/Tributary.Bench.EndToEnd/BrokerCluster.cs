using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Tributary.Bench.EndToEnd;

/// <summary>Bytes on disk of one partition replica, as one broker reports it.</summary>
internal readonly record struct ReplicaSize(int NodeId, int Partition, long Bytes);

/// <summary>
/// Several tributary-broker processes forming one cluster on loopback: every node is a broker and a metadata-quorum voter
/// (<c>process.roles=broker,controller</c>), internal topics and new topics replicated to min(3, nodes), acks=all
/// needing 2 in-sync replicas. Each broker's output is kept in <c>broker-N.out</c> beside its data directory.
/// </summary>
internal sealed partial class BrokerCluster : IDisposable
{
    private readonly List<BrokerInstance> _brokers;

    private BrokerCluster(List<BrokerInstance> brokers) => _brokers = brokers;

    public IReadOnlyList<BrokerInstance> Brokers => _brokers;

    /// <summary>Every broker's Kafka listener, comma-separated, as clients take it.</summary>
    public string BootstrapServers => string.Join(',', _brokers.Select(b => b.BootstrapServers));

    /// <summary>Starts <paramref name="nodes"/> brokers (node ids 1..N) and waits until every one answers 200 on /readyz.</summary>
    /// <param name="overrides">Extra broker settings for every node; win over the cluster's own.</param>
    public static (BrokerCluster Cluster, TimeSpan Ready) Start(string brokerDll, string directory, int nodes, TimeSpan timeout, IReadOnlyDictionary<string, string>? overrides = null)
    {
        Directory.CreateDirectory(directory);
        var brokers = Enumerable.Range(1, nodes)
            .Select(id => new BrokerInstance(brokerDll, Path.Combine(directory, $"broker-{id}"), Path.Combine(directory, $"broker-{id}.out")))
            .ToList();
        var cluster = new BrokerCluster(brokers);
        var voters = string.Join(',', brokers.Select((b, i) => $"{i + 1}@127.0.0.1:{b.QuorumPort}"));
        var replication = Math.Min(nodes, 3).ToString(CultureInfo.InvariantCulture);
        for (var i = 0; i < nodes; i++)
        {
            var b = brokers[i];
            b.Settings["node.id"] = (i + 1).ToString(CultureInfo.InvariantCulture);
            b.Settings["process.roles"] = "broker,controller";
            b.Settings["listeners"] = $"PLAINTEXT://127.0.0.1:{b.KafkaPort},CONTROLLER://127.0.0.1:{b.QuorumPort}";
            b.Settings["controller.listener.names"] = "CONTROLLER";
            b.Settings["controller.quorum.voters"] = voters;
            b.Settings["default.replication.factor"] = replication;
            b.Settings["min.insync.replicas"] = Math.Min(nodes, 2).ToString(CultureInfo.InvariantCulture);
            b.Settings["offsets.topic.replication.factor"] = replication;
            b.Settings["transaction.state.log.replication.factor"] = replication;
            b.Settings["transaction.state.log.min.isr"] = Math.Min(nodes, 2).ToString(CultureInfo.InvariantCulture);
            foreach (var (key, value) in overrides ?? new Dictionary<string, string>())
            {
                b.Settings[key] = value;
            }
        }

        try
        {
            var clock = Stopwatch.StartNew();
            brokers.ForEach(b => b.Launch());
            foreach (var b in brokers)
            {
                b.WaitReady(timeout);
            }

            return (cluster, clock.Elapsed);
        }
        catch
        {
            cluster.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Each broker's <c>kafka_log_log_size</c> for every partition of <paramref name="topic"/> it holds, from its /metrics;
    /// a broker that does not answer contributes nothing.
    /// </summary>
    public IReadOnlyList<ReplicaSize> LogSizes(string topic)
    {
        var sizes = new List<ReplicaSize>();
        for (var i = 0; i < _brokers.Count; i++)
        {
            if (_brokers[i].HttpGet("/metrics") is not { } metrics)
            {
                continue;
            }

            foreach (Match m in LogSizeLine().Matches(metrics))
            {
                var labels = m.Groups["labels"].Value;
                if (Label(labels, "topic") == topic && int.TryParse(Label(labels, "partition"), CultureInfo.InvariantCulture, out var partition)
                    && double.TryParse(m.Groups["value"].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var bytes))
                {
                    sizes.Add(new ReplicaSize(i + 1, partition, (long)bytes));
                }
            }
        }

        return sizes;
    }

    /// <summary>Per broker: how many warn/fail/crit lines it printed, and the first few of them.</summary>
    public IEnumerable<string> Problems(int examples)
    {
        for (var i = 0; i < _brokers.Count; i++)
        {
            if (_brokers[i].OutputFile is not { } file || !File.Exists(file))
            {
                continue;
            }

            var lines = File.ReadLines(file).Where(l => ProblemLine().IsMatch(l)).ToList();
            yield return $"broker {i + 1}: {lines.Count} warn/fail/crit lines" + (lines.Count == 0 ? "" : ", first: ");
            foreach (var line in lines.Take(examples))
            {
                yield return "    " + (line.Length > 400 ? line[..400] + "…" : line);
            }
        }
    }

    public void Dispose()
    {
        // The bench deletes the data afterwards, so an unclean stop is fine and does not wait on controlled shutdown.
        foreach (var broker in _brokers)
        {
            broker.Dispose();
        }
    }

    private static string? Label(string labels, string name)
    {
        var m = Regex.Match(labels, $"(?:^|,){name}=\"(?<v>[^\"]*)\"", RegexOptions.CultureInvariant);
        return m.Success ? m.Groups["v"].Value : null;
    }

    [GeneratedRegex(@"^kafka_log_log_size\{(?<labels>[^}]*)\}\s+(?<value>\S+)", RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex LogSizeLine();

    [GeneratedRegex(@"\b(warn|fail|crit):", RegexOptions.CultureInvariant)]
    private static partial Regex ProblemLine();
}
