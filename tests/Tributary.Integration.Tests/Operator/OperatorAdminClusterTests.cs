using System.Diagnostics;
using Tributary.Integration.Tests.Cluster;
using Tributary.Operator.Kafka;
using Xunit.Abstractions;

namespace Tributary.Integration.Tests.Operator;

/// <summary>
/// The operator's own Kafka admin client (the Topic reconciler's and roller's only way into a cluster) against real broker
/// processes: every call the reconcilers make, with the outcome read back through the same protocol.
/// </summary>
public sealed class OperatorAdminClusterTests(ITestOutputHelper output)
{
    private static readonly TimeSpan StateTimeout = TimeSpan.FromSeconds(30);

    private static async Task<T> PollAsync<T>(Func<Task<T>> read, Func<T, bool> done)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var value = await read();
            if (done(value) || clock.Elapsed > StateTimeout)
            {
                return value;
            }

            await Task.Delay(200);
        }
    }

    [Fact]
    public async Task Admin_client_creates_grows_configures_replicates_and_deletes_a_topic()
    {
        await using var cluster = await ClusterProcess.StartAsync(output);
        await using var admin = new ClusterAdmin(cluster.BootstrapServers.Split(','), TimeSpan.FromSeconds(10));
        var topic = $"operator-admin-{Guid.NewGuid():N}"[..30];

        var created = await admin.CreateTopicAsync(topic, 2, 1, new Dictionary<string, string> { ["retention.ms"] = "3600000" }, CancellationToken.None);
        Assert.True(created.Ok, created.ToString());
        var described = await PollAsync(() => admin.DescribeTopicsAsync([topic], CancellationToken.None), t => t.Count == 1 && t[0].Partitions.Count == 2);
        Assert.All(Assert.Single(described).Partitions, p => Assert.Single(p.Replicas));

        Assert.True((await admin.CreatePartitionsAsync(topic, 4, CancellationToken.None)).Ok);
        var grown = await PollAsync(() => admin.DescribeTopicsAsync([topic], CancellationToken.None), t => t.Count == 1 && t[0].Partitions.Count == 4);
        Assert.Equal(4, grown[0].Partitions.Count);

        var before = (await admin.DescribeTopicConfigsAsync([topic], CancellationToken.None))[topic];
        Assert.Equal(new TopicConfigEntry("3600000", IsTopicOverride: true), before["retention.ms"]);
        Assert.True((await admin.AlterTopicConfigsAsync(topic, new Dictionary<string, string> { ["cleanup.policy"] = "compact" }, ["retention.ms"], CancellationToken.None)).Ok);
        var after = (await admin.DescribeTopicConfigsAsync([topic], CancellationToken.None))[topic];
        Assert.Equal(new TopicConfigEntry("compact", IsTopicOverride: true), after["cleanup.policy"]);
        Assert.False(after["retention.ms"].IsTopicOverride);

        var brokers = await admin.BrokerIdsAsync(CancellationToken.None);
        Assert.Equal(3, brokers.Count);
        var plan = Tributary.Operator.Model.ReplicaAssignments.ChangeReplicationFactor(
            grown[0].Partitions.ToDictionary(p => p.Index, p => p.Replicas), 3, brokers)!;
        Assert.True((await admin.ReassignAsync(topic, plan, CancellationToken.None)).Ok);
        var replicated = await PollAsync(async () => (Ongoing: await admin.OngoingReassignmentsAsync(topic, CancellationToken.None),
                Topic: (await admin.DescribeTopicsAsync([topic], CancellationToken.None))[0]),
            s => s.Ongoing.Count == 0 && s.Topic.Partitions.All(p => p.Replicas.Count == 3 && p.Isr.Count == 3));
        output.WriteLine(string.Join(" ", replicated.Topic.Partitions.Select(p => $"{p.Index}:[{string.Join(",", p.Replicas)}]/[{string.Join(",", p.Isr)}]")));
        Assert.Empty(replicated.Ongoing);
        Assert.All(replicated.Topic.Partitions, p => Assert.Equal(3, p.Isr.Count));

        Assert.Equal(await cluster.ActiveControllerIdAsync(), await admin.ActiveControllerAsync(CancellationToken.None));

        Assert.True((await admin.DeleteTopicAsync(topic, CancellationToken.None)).Ok);
        var gone = await PollAsync(() => admin.DescribeTopicsAsync([topic], CancellationToken.None), t => t.Count == 0);
        Assert.Empty(gone);
    }

    [Fact]
    public async Task Admin_client_reports_a_partition_decrease_as_an_error_code_not_an_exception()
    {
        await using var cluster = await ClusterProcess.StartAsync(output, new ClusterOptions { Brokers = 1 });
        await using var admin = new ClusterAdmin(cluster.BootstrapServers.Split(','), TimeSpan.FromSeconds(10));
        Assert.True((await admin.CreateTopicAsync("shrink-me", 3, 1, new Dictionary<string, string>(), CancellationToken.None)).Ok);
        var result = await admin.CreatePartitionsAsync("shrink-me", 2, CancellationToken.None);
        Assert.False(result.Ok);
        output.WriteLine(result.ToString());
    }
}
