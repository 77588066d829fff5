using Confluent.Kafka;
using Streamiz.Kafka.Net;
using Streamiz.Kafka.Net.SerDes;
using Streamiz.Kafka.Net.Table;
using Tributary.Streams.Tests.Harness;
using Xunit.Abstractions;

namespace Tributary.Streams.Tests.Faults;

/// <summary>
/// An exactly_once_v2 count application on 3 brokers (RF 3, min.insync.replicas 2) while the leader of its output
/// partition is SIGKILLed mid-stream and restarted. Kafka's contract: a new leader is elected from the ISR, the
/// application's producer and consumer follow it (retriable NOT_LEADER errors, the transaction continues or is aborted
/// and retried from the committed offsets), and a read_committed consumer sees every count update exactly once.
/// </summary>
[Collection(StreamsClusterCollection.Name)]
[Trait("Category", "ExactlyOnce")]
// Outside `make test` while it can hang: in the merged `make test` of 2026-12-08 the application stopped producing output
// after the killed broker (leader of the output partition and the application's transaction coordinator) came back, until
// the test's 5-minute cap; not yet attributed (librdkafka's known transactional hangs after a coordinator dies, seen in
// `make txn-chaos`, or the broker). streams/README.md, "Open"; `make streams-open` runs it.
[Trait("Category", "OpenBug")]
public sealed class BrokerKillTests
{
    private readonly StreamsCluster cluster;

    public BrokerKillTests(StreamsCluster cluster, ITestOutputHelper output)
    {
        this.cluster = cluster;
        cluster.Attach(output);
    }

    [Fact]
    public Task Kill_9_of_the_output_partition_leader_leaves_no_duplicate_and_no_gap_in_read_committed_counts() =>
        // Bounded as a whole, so a hang fails with the brokers' and Streamiz's log instead of stalling the run.
        RunAsync().WaitAsync(TimeSpan.FromMinutes(5));

    private async Task RunAsync()
    {
        var scenario = new CountScenario(cluster);
        await scenario.CreateTopicsAsync();
        var builder = new StreamBuilder();
        builder.Stream<string, string>(scenario.Input)
            .GroupByKey()
            .Count(InMemory.As<string, long>("counts").WithValueSerdes<Int64SerDes>())
            .ToStream()
            .MapValues((v, _) => v.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .To(scenario.Output);
        var config = StreamsApp.Config(cluster, scenario.ApplicationId);
        config.Guarantee = ProcessingGuarantee.EXACTLY_ONCE;
        config.TransactionTimeoutMs = 10_000;
        await using var app = await StreamsApp.StartAsync(cluster, builder, config);

        var producing = scenario.ProduceAsync();
        await scenario.WaitForOutputAsync(scenario.Total / 5);
        var leader = OutputLeader(scenario.Output);
        cluster.Cluster.Broker(leader).Kill();
        await cluster.Cluster.Broker(leader).RestartAsync();
        cluster.Cluster.Log.WriteLine($"[harness] broker {leader} (leader of {scenario.Output}-0) killed and restarted");
        await producing;
        cluster.Cluster.Log.WriteLine("[harness] every input record acknowledged");

        var updates = await scenario.ReadCommittedCountsAsync();
        Assert.NotEqual(KafkaStream.State.ERROR, app.State);
        CountScenario.AssertExactlyOnce(updates);
    }

    private int OutputLeader(string topic)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = cluster.BootstrapServers }).Build();
        return admin.GetMetadata(topic, TimeSpan.FromSeconds(10)).Topics.Single().Partitions.Single().Leader;
    }
}
