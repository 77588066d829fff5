using System.Diagnostics;
using System.Text.Json;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Tributary.Integration.Tests.Harness;
using Xunit.Abstractions;

namespace Tributary.Integration.Tests.Cluster;

/// <summary>
/// A partition leader cut off from the other brokers (but not from clients): it cannot acknowledge acks=all writes, the
/// majority elects a new leader, and after the heal the old leader truncates its unacknowledged tail and rejoins the ISR.
/// Brokers run in their own network namespaces; the producing and consuming client runs in another one.
/// </summary>
public sealed class NetworkPartitionTests(ITestOutputHelper output)
{
    private static readonly TimeSpan ClientRun = TimeSpan.FromSeconds(90);
    private static string Script => Path.Combine(RepositoryLayout.Root, "tests", "Tributary.Integration.Tests", "Cluster", "partition_client.py");

    [NetnsFact]
    public async Task Isolated_leader_cannot_acknowledge_a_majority_leader_takes_over_and_the_old_leader_truncates_and_rejoins()
    {
        var log = new TestOutputSink(output);
        var (created, unavailable) = await NetworkLab.TryCreateAsync(brokers: 3, log);
        Assert.True(created is not null, $"network namespaces probed fine at discovery but not now: {unavailable}");
        await using var lab = created;
        await using var cluster = await ClusterProcess.StartAsync(output, new ClusterOptions { Brokers = 3, Placement = lab.Placement });
        var clients = new ClusterClients(cluster);
        var topic = $"partition-{Guid.NewGuid():N}"[..26];
        await CreateTopicLedByBroker1Async(clients, topic);
        var before = clients.Partition(topic, 0)!;
        var oldLeader = before.Leader;
        var majority = cluster.Brokers.Where(b => b.NodeId != oldLeader).ToList();
        output.WriteLine($"before the partition: {before}");

        var first = await ProduceFromClientAsync(lab, cluster.BootstrapServers, topic, "acked-before", 100, messageTimeoutMs: 30_000);
        Assert.Equal(100, first.Acked.Count);

        await lab.IsolateAsync(oldLeader);
        try
        {
            // Only the old leader as bootstrap and no retries: every record goes to it, in the first request after the cut.
            var cutOff = await ProduceFromClientAsync(lab, cluster.Broker(oldLeader).BootstrapServer, topic, "cut-off", 20, messageTimeoutMs: 4_000, retries: 0);
            output.WriteLine($"produce to the isolated leader: acked {cutOff.Acked.Count}, failed {cutOff.Failed}");
            Assert.Empty(cutOff.Acked);

            var newLeaderState = await WaitForMajorityViewAsync(
                majority[0], topic, s => s.Leader >= 0 && s.Leader != oldLeader && !s.Isr.Contains(oldLeader), TimeSpan.FromSeconds(20));
            output.WriteLine($"majority view during the partition: {newLeaderState}");
            Assert.Contains(newLeaderState.Leader, before.Isr);

            var majorityBootstrap = string.Join(',', majority.Select(b => b.BootstrapServer));
            var during = await ProduceFromClientAsync(lab, majorityBootstrap, topic, "acked-during", 100, messageTimeoutMs: 30_000);
            Assert.Equal(100, during.Acked.Count);
            first.Acked.AddRange(during.Acked);
        }
        finally
        {
            await lab.HealAsync(oldLeader);
        }

        var rejoined = await WaitForMajorityViewAsync(majority[0], topic, s => s.Isr.Contains(oldLeader) && s.Isr.Count == 3, TimeSpan.FromSeconds(30));
        output.WriteLine($"after the heal: {rejoined}");

        // Hand leadership back to the old leader (the preferred replica) so the final read comes from its log: an
        // untruncated tail would show the cut-off records there, and hide acked ones at the same offsets.
        await ElectPreferredLeaderAsync(clients, topic);
        await WaitForMajorityViewAsync(majority[0], topic, s => s.Leader == oldLeader, TimeSpan.FromSeconds(20));

        var read = await ReadFromClientAsync(lab, cluster.BootstrapServers, topic);
        var readSet = read.ToHashSet(StringComparer.Ordinal);
        var lost = first.Acked.Where(k => !readSet.Contains(k)).ToList();
        Assert.Empty(lost);
        Assert.DoesNotContain(read, k => k.StartsWith("cut-off-", StringComparison.Ordinal));
        Assert.Equal(read.Count, readSet.Count);
    }

    /// <summary>Replicas [1,2,3]: broker 1 is the preferred leader, so the test knows whom it isolates and whom it elects back.</summary>
    private static async Task CreateTopicLedByBroker1Async(ClusterClients clients, string topic)
    {
        using (var admin = clients.CreateAdmin())
        {
            await admin.CreateTopicsAsync(
                [new TopicSpecification
                {
                    Name = topic,
                    // librdkafka wants the real partition count and no replication factor next to an assignment.
                    NumPartitions = 1,
                    ReplicationFactor = -1,
                    ReplicasAssignments = new Dictionary<int, List<int>> { [0] = [1, 2, 3] },
                    Configs = new Dictionary<string, string> { ["min.insync.replicas"] = "2" },
                }],
                new CreateTopicsOptions { RequestTimeout = ClusterClients.AdminTimeout, OperationTimeout = ClusterClients.AdminTimeout });
        }

        await clients.WaitForPartitionAsync(topic, 0, s => s.Leader == 1 && s.Isr.Count == 3, TimeSpan.FromSeconds(20));
    }

    private static async Task ElectPreferredLeaderAsync(ClusterClients clients, string topic)
    {
        using var admin = clients.CreateAdmin();
        await admin.ElectLeadersAsync(ElectionType.Preferred, [new TopicPartition(topic, 0)],
            new ElectLeadersOptions { RequestTimeout = ClusterClients.AdminTimeout, OperationTimeout = ClusterClients.AdminTimeout });
    }

    /// <summary>Polls one majority broker's own metadata (not librdkafka's pick, which might be the isolated broker).</summary>
    private async Task<PartitionState> WaitForMajorityViewAsync(ClusterBroker broker, string topic, Func<PartitionState, bool> done, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        PartitionState? last = null;
        while (clock.Elapsed < timeout)
        {
            var view = await MetadataProbe.PartitionsAsync(broker.Host, broker.Ports.Kafka, topic, TimeSpan.FromSeconds(2));
            if (view is not null && view.TryGetValue(0, out var state))
            {
                last = state;
                if (done(state))
                {
                    return state;
                }
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"broker {broker.NodeId}'s view of {topic}-0 did not reach the expected state within {timeout}; last: {last?.ToString() ?? "no answer"}");
    }

    private async Task<(List<string> Acked, string Failed)> ProduceFromClientAsync(
        NetworkLab lab, string bootstrap, string topic, string prefix, int count, int messageTimeoutMs, int? retries = null)
    {
        List<string> arguments =
        [
            .. lab.ClientCommand, "/usr/bin/python3", Script, "produce", "--bootstrap", bootstrap, "--topic", topic,
            "--prefix", prefix, "--count", count.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--message-timeout-ms", messageTimeoutMs.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ];
        if (retries is { } r)
        {
            arguments.AddRange(["--retries", r.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        }

        using var summary = await RunClientAsync(arguments);
        var acked = summary.RootElement.GetProperty("acked").EnumerateArray().Select(e => e.GetString()!).ToList();
        return (acked, summary.RootElement.GetProperty("failed").GetRawText());
    }

    private async Task<List<string>> ReadFromClientAsync(NetworkLab lab, string bootstrap, string topic)
    {
        using var summary = await RunClientAsync([.. lab.ClientCommand, "/usr/bin/python3", Script, "read", "--bootstrap", bootstrap, "--topic", topic]);
        return summary.RootElement.GetProperty("keys").EnumerateArray().Select(e => e.GetString()!).ToList();
    }

    private async Task<JsonDocument> RunClientAsync(IReadOnlyList<string> arguments)
    {
        var result = await ExternalProcess.RunAsync("ip", arguments, new TestOutputSink(output), ClientRun);
        Assert.True(result.ExitCode == 0, $"client exited with {result.ExitCode}: {result.StandardError.Trim()}");
        return JsonDocument.Parse(result.StandardOutput.TrimEnd().Split('\n')[^1]);
    }
}
