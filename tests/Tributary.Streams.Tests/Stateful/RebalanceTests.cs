using Confluent.Kafka;
using Streamiz.Kafka.Net;
using Streamiz.Kafka.Net.SerDes;
using Streamiz.Kafka.Net.Table;
using Tributary.Streams.Tests.Harness;
using Xunit.Abstractions;

namespace Tributary.Streams.Tests.Stateful;

/// <summary>
/// Two instances of one Streamiz application share a 4-partition input through their consumer group; one instance
/// stops mid-stream and the other takes over its tasks, restoring their count stores from the changelog. Every key's
/// count updates are checked one by one on the output topic.
/// </summary>
[Collection(StreamsClusterCollection.Name)]
public sealed class RebalanceTests
{
    private const int Keys = 8;
    private const int RecordsPerKey = 25;

    private readonly StreamsCluster cluster;

    public RebalanceTests(StreamsCluster cluster, ITestOutputHelper output)
    {
        this.cluster = cluster;
        cluster.Attach(output);
    }

    /// <summary>
    /// At-least-once (Kafka Streams' default): after the hand-over no count update is missing for any key: each of 1..25
    /// appears (a record processed again after a failure may repeat a value, which at-least-once allows), and the last
    /// count is at least 25, so the surviving instance continued from the restored counts instead of starting over.
    /// </summary>
    [Fact]
    public async Task Surviving_instance_takes_over_tasks_and_restored_counts_have_no_gap()
    {
        var updates = await RunAsync(ProcessingGuarantee.AT_LEAST_ONCE, readCommitted: false);
        foreach (var (key, counts) in updates)
        {
            Assert.True(Enumerable.Range(1, RecordsPerKey).All(c => counts.Contains(c)), $"{key}: counts {string.Join(',', counts)} have a gap");
            Assert.True(counts.Max() >= RecordsPerKey, $"{key}: last count {counts.Max()}");
        }
    }

    /// <summary>
    /// exactly_once_v2 (on Tributary's transactions, issue 21): read with read_committed, every key's
    /// count updates are exactly 1, 2, …, 25 in order — no duplicate, no gap — across the hand-over.
    /// </summary>
    [Fact]
    [Trait("Category", "ExactlyOnce")]
    public async Task Exactly_once_hand_over_has_no_duplicate_and_no_gap()
    {
        var updates = await RunAsync(ProcessingGuarantee.EXACTLY_ONCE, readCommitted: true);
        foreach (var (key, counts) in updates)
        {
            Assert.Equal(Enumerable.Range(1, RecordsPerKey).Select(c => (long)c), counts);
        }
    }

    private async Task<Dictionary<string, List<long>>> RunAsync(ProcessingGuarantee guarantee, bool readCommitted)
    {
        var applicationId = "rebalance-" + Guid.NewGuid().ToString("N")[..8];
        var input = applicationId + "-in";
        var output = applicationId + "-out";
        await cluster.CreateTopicsAsync(4, input);
        await cluster.CreateTopicsAsync(1, output);

        StreamBuilder Topology()
        {
            var builder = new StreamBuilder();
            builder.Stream<string, string>(input)
                .GroupByKey()
                .Count(InMemory.As<string, long>("counts").WithValueSerdes<Int64SerDes>())
                .ToStream()
                .MapValues((v, _) => v.ToString(System.Globalization.CultureInfo.InvariantCulture))
                .To(output);
            return builder;
        }

        StreamConfig<StringSerDes, StringSerDes> Config()
        {
            var config = StreamsApp.Config(cluster, applicationId);
            config.Guarantee = guarantee;
            return config;
        }

        var records = Enumerable.Range(0, Keys * RecordsPerKey).Select(i => new InputRecord($"k{i % Keys}", "v", 1_000 + i)).ToList();
        var half = records.Count / 2;
        await using var survivor = await StreamsApp.StartAsync(cluster, Topology(), Config());
        var leaving = await StreamsApp.StartAsync(cluster, Topology(), Config());
        await using (leaving)
        {
            // Both instances own tasks once the group has settled with two members.
            await Eventually.TrueAsync(() => survivor.State == KafkaStream.State.RUNNING && leaving.State == KafkaStream.State.RUNNING,
                "both instances RUNNING", TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(50));
            await cluster.ProduceAsync(input, records.Take(half));
            await cluster.ConsumeAsync(output, half / 2, Deserializers.Utf8, TimeSpan.Zero, readCommitted: readCommitted);
        }

        // The second instance has stopped mid-stream; the first one rebalances, restores its tasks and continues.
        await cluster.ProduceAsync(input, records.Skip(half));
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
        Dictionary<string, List<long>> updates;
        do
        {
            var read = await cluster.ConsumeAsync(output, records.Count, Deserializers.Utf8, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(20), readCommitted);
            updates = read.GroupBy(r => r.Key!).ToDictionary(g => g.Key, g => g.Select(r => long.Parse(r.Value, System.Globalization.CultureInfo.InvariantCulture)).ToList());
        }
        while ((updates.Count < Keys || updates.Values.Any(c => c.Max() < RecordsPerKey)) && DateTime.UtcNow < deadline);

        Assert.Equal(Keys, updates.Count);
        return updates;
    }
}
