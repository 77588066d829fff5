using System.Globalization;
using Confluent.Kafka;
using Streamiz.Kafka.Net;
using Streamiz.Kafka.Net.SerDes;
using Streamiz.Kafka.Net.Table;
using Tributary.Streams.Tests.Harness;
using Xunit.Abstractions;

namespace Tributary.Streams.Tests.Stateful;

/// <summary>
/// groupBy + count/aggregate/reduce in Streamiz 1.8.2, unchanged, against a real 3-broker cluster: the re-keying goes
/// through a repartition topic Streamiz creates, the tables live in stores backed by changelog topics, and a second
/// instance started after the first closed (with no local state) restores them and continues where they stood.
/// Kafka Streams semantics: groupBy re-keys every record and repartitions; with caching off every update of a key's
/// aggregate is forwarded downstream in order.
/// </summary>
[Collection(StreamsClusterCollection.Name)]
public sealed class GroupedAggregationTests
{
    private readonly StreamsCluster cluster;

    public GroupedAggregationTests(StreamsCluster cluster, ITestOutputHelper output)
    {
        this.cluster = cluster;
        cluster.Attach(output);
    }

    [Fact]
    public async Task GroupBy_count_aggregate_and_reduce_continue_from_restored_state_after_a_restart()
    {
        var result = await RunAsync();
        // Orders by category: books 10, 5, 7 then (after the restart) 20; games 3, 9 then 1.
        Assert.Equal([("books", "1"), ("games", "1"), ("books", "2"), ("games", "2"), ("books", "3"), ("books", "4"), ("games", "3")], result.Counts);
        Assert.Equal([("books", "10"), ("games", "3"), ("books", "15"), ("games", "12"), ("books", "22"), ("books", "42"), ("games", "13")], result.Sums);
        Assert.Equal([("books", "10"), ("games", "3"), ("books", "10"), ("games", "9"), ("books", "10"), ("books", "20"), ("games", "9")], result.Maxima);
        Assert.True(result.RestoredRecords > 0, "the second instance restored the stores from their changelogs");
    }

    /// <summary>Streamiz's repartition topic gets Kafka Streams' internal-topic configs: delete policy, infinite retention
    /// (records are purged once consumed), 50 MiB segments.</summary>
    [Fact]
    public async Task Repartition_topic_is_created_with_kafka_streams_configs()
    {
        var result = await RunAsync();
        Assert.Equal("delete", result.RepartitionConfig["cleanup.policy"].Value);
        Assert.Equal("-1", result.RepartitionConfig["retention.ms"].Value);
        Assert.Equal("52428800", result.RepartitionConfig["segment.bytes"].Value);
    }

    /// <summary>A key-value store's changelog is compacted (only the latest aggregate per key matters for a restore).</summary>
    [Fact]
    public async Task Changelog_topic_of_a_table_is_compacted()
    {
        var result = await RunAsync();
        Assert.Equal("compact", result.ChangelogConfig["cleanup.policy"].Value);
    }

    private sealed record Result(
        List<(string?, string?)> Counts, List<(string?, string?)> Sums, List<(string?, string?)> Maxima, long RestoredRecords,
        IReadOnlyDictionary<string, Confluent.Kafka.Admin.ConfigEntryResult> RepartitionConfig,
        IReadOnlyDictionary<string, Confluent.Kafka.Admin.ConfigEntryResult> ChangelogConfig);

    private Task<Result> RunAsync() => cluster.ScenarioAsync("grouped", async () =>
    {
        var applicationId = "grouped-" + Guid.NewGuid().ToString("N")[..8];
        var input = applicationId + "-orders";
        string[] outputs = [applicationId + "-counts", applicationId + "-sums", applicationId + "-max"];
        await cluster.CreateTopicsAsync(1, [input, .. outputs]);

        StreamBuilder Topology()
        {
            var builder = new StreamBuilder();
            // value "category:amount", keyed by order id
            var byCategory = builder.Stream<string, string>(input).GroupBy((_, v, _) => v.Split(':')[0]);
            byCategory.Count(InMemory.As<string, long>("counts").WithValueSerdes<Int64SerDes>())
                .ToStream().MapValues((v, _) => v.ToString(CultureInfo.InvariantCulture)).To(outputs[0]);
            byCategory.Aggregate(() => 0L, (_, v, sum) => sum + Amount(v), InMemory.As<string, long>("sums").WithValueSerdes<Int64SerDes>())
                .ToStream().MapValues((v, _) => v.ToString(CultureInfo.InvariantCulture)).To(outputs[1]);
            byCategory.Reduce((a, b) => Amount(a) >= Amount(b) ? a : b, InMemory.As<string, string>("max"))
                .ToStream().MapValues((v, _) => Amount(v).ToString(CultureInfo.InvariantCulture)).To(outputs[2]);
            return builder;
        }

        await using (var first = await StreamsApp.StartAsync(cluster, Topology(), StreamsApp.Config(cluster, applicationId)))
        {
            await cluster.ProduceAsync(input, [new("o1", "books:10", 1_000), new("o2", "games:3", 2_000), new("o3", "books:5", 3_000),
                new("o4", "games:9", 4_000), new("o5", "books:7", 5_000)]);
            Assert.Equal(5, (await cluster.ConsumeAsync(outputs[0], 5, Deserializers.Utf8)).Count);
        }

        await using var second = await StreamsApp.StartAsync(cluster, Topology(), StreamsApp.Config(cluster, applicationId));
        await Eventually.TrueAsync(() => second.RestoredRecords.Values.Sum() > 0, "restoration finished", TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(50));
        await cluster.ProduceAsync(input, [new("o6", "books:20", 6_000), new("o7", "games:1", 7_000)]);
        var counts = await cluster.ConsumeAsync(outputs[0], 7, Deserializers.Utf8);
        var sums = await cluster.ConsumeAsync(outputs[1], 7, Deserializers.Utf8);
        var maxima = await cluster.ConsumeAsync(outputs[2], 7, Deserializers.Utf8);

        var repartition = cluster.ListTopics().Where(t => t.StartsWith(applicationId, StringComparison.Ordinal) && t.EndsWith("-repartition", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal).First();
        return new Result(Pairs(counts), Pairs(sums), Pairs(maxima), second.RestoredRecords.Values.Sum(),
            await cluster.DescribeTopicConfigAsync(repartition),
            await cluster.DescribeTopicConfigAsync($"{applicationId}-counts-changelog"));
    });

    private static long Amount(string value) => long.Parse(value.Split(':')[1], CultureInfo.InvariantCulture);

    private static List<(string?, string?)> Pairs(IEnumerable<OutputRecord<string>> records) => records.Select(r => (r.Key, (string?)r.Value)).ToList();
}
