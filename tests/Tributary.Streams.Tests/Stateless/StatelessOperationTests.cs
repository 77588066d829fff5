using Confluent.Kafka;
using Streamiz.Kafka.Net;
using Streamiz.Kafka.Net.SerDes;
using Streamiz.Kafka.Net.Stream;
using Tributary.Streams.Tests.Harness;
using Xunit.Abstractions;

namespace Tributary.Streams.Tests.Stateless;

/// <summary>
/// Stateless DSL operations of Streamiz 1.8.2, unchanged, against a real 3-broker Tributary cluster. One application
/// reads one single-partition input and writes each operation's result to its own single-partition topic, so the
/// expected output is an exact, ordered list (Kafka Streams processes one partition's records in offset order).
/// </summary>
[Collection(StreamsClusterCollection.Name)]
public sealed class StatelessOperationTests
{
    private static readonly InputRecord[] Input =
    [
        new("k1", "apple", 1_000),
        new("k2", "banana split", 2_000),
        new("k3", "cherry", 3_000),
        new("k4", "date plum fig", 4_000),
        new("k5", "elderberry", 5_000),
    ];

    private readonly StreamsCluster cluster;

    public StatelessOperationTests(StreamsCluster cluster, ITestOutputHelper output)
    {
        this.cluster = cluster;
        cluster.Attach(output);
    }

    [Fact]
    public void Streamiz_and_librdkafka_are_the_versions_under_test()
    {
        Assert.Equal("1.8.2.0", typeof(KafkaStream).Assembly.GetName().Version?.ToString());
        // Confluent.Kafka 2.16.0 bundles librdkafka 2.16.0 (Library.VersionString is librdkafka's own version string).
        Assert.StartsWith("2.16.", Library.VersionString, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MapValues_transforms_every_value_in_order()
    {
        var outputs = await RunAsync();
        Assert.Equal(
            [("k1", "APPLE", 1_000L), ("k2", "BANANA SPLIT", 2_000L), ("k3", "CHERRY", 3_000L), ("k4", "DATE PLUM FIG", 4_000L), ("k5", "ELDERBERRY", 5_000L)],
            outputs["upper"]);
    }

    [Fact]
    public async Task Filter_keeps_only_matching_records()
    {
        var outputs = await RunAsync();
        Assert.Equal([("k2", "banana split", 2_000L), ("k4", "date plum fig", 4_000L)], outputs["multiword"]);
    }

    [Fact]
    public async Task FlatMapValues_emits_one_record_per_word_with_the_input_timestamp()
    {
        var outputs = await RunAsync();
        Assert.Equal(
            [("k1", "apple", 1_000L), ("k2", "banana", 2_000L), ("k2", "split", 2_000L), ("k3", "cherry", 3_000L),
             ("k4", "date", 4_000L), ("k4", "plum", 4_000L), ("k4", "fig", 4_000L), ("k5", "elderberry", 5_000L)],
            outputs["words"]);
    }

    [Fact]
    public async Task Map_and_SelectKey_rekey_records()
    {
        var outputs = await RunAsync();
        Assert.Equal(
            [("a", "k1:apple", 1_000L), ("b", "k2:banana split", 2_000L), ("c", "k3:cherry", 3_000L), ("d", "k4:date plum fig", 4_000L), ("e", "k5:elderberry", 5_000L)],
            outputs["mapped"]);
        Assert.Equal(
            [("5", "apple", 1_000L), ("12", "banana split", 2_000L), ("6", "cherry", 3_000L), ("13", "date plum fig", 4_000L), ("10", "elderberry", 5_000L)],
            outputs["by-length"]);
    }

    [Fact]
    public async Task Branch_sends_each_record_to_the_first_matching_predicate_only()
    {
        // Kafka Streams' branch: a record goes to the first branch whose predicate matches, and is dropped if none does.
        var outputs = await RunAsync();
        Assert.Equal([("k1", "apple", 1_000L), ("k2", "banana split", 2_000L)], outputs["branch-short-key"]);
        Assert.Equal([("k3", "cherry", 3_000L), ("k4", "date plum fig", 4_000L), ("k5", "elderberry", 5_000L)], outputs["branch-contains-e"]);
        Assert.Empty(outputs["branch-none"]);
    }

    private Task<Dictionary<string, List<(string?, string?, long)>>> RunAsync() => cluster.ScenarioAsync("stateless", async () =>
    {
        var prefix = "stateless-" + Guid.NewGuid().ToString("N")[..8];
        string[] outputNames = ["upper", "multiword", "words", "mapped", "by-length", "branch-short-key", "branch-contains-e", "branch-none"];
        var input = prefix + "-in";
        await cluster.CreateTopicsAsync(1, [input, .. outputNames.Select(o => $"{prefix}-{o}")]);
        await cluster.ProduceAsync(input, Input);

        var builder = new StreamBuilder();
        var source = builder.Stream<string, string>(input);
        source.MapValues((v, _) => v.ToUpperInvariant()).To($"{prefix}-upper");
        source.Filter((_, v, _) => v.Contains(' ', StringComparison.Ordinal)).To($"{prefix}-multiword");
        source.FlatMapValues((v, _) => v.Split(' ')).To($"{prefix}-words");
        source.Map((k, v, _) => KeyValuePair.Create(((char)('a' + (k[1] - '1'))).ToString(), $"{k}:{v}")).To($"{prefix}-mapped");
        source.SelectKey((_, v, _) => v.Length.ToString(System.Globalization.CultureInfo.InvariantCulture)).To($"{prefix}-by-length");
        var branches = source.Branch((k, _, _) => k is "k1" or "k2", (_, v, _) => v.Contains('e', StringComparison.Ordinal), (_, v, _) => v.StartsWith('z'));
        branches[0].To($"{prefix}-branch-short-key");
        branches[1].To($"{prefix}-branch-contains-e");
        branches[2].To($"{prefix}-branch-none");

        await using var app = await StreamsApp.StartAsync(cluster, builder, StreamsApp.Config(cluster, prefix));
        var expectedCounts = new Dictionary<string, int>
        {
            ["upper"] = 5, ["multiword"] = 2, ["words"] = 8, ["mapped"] = 5, ["by-length"] = 5,
            ["branch-short-key"] = 2, ["branch-contains-e"] = 3, ["branch-none"] = 0,
        };
        var results = new Dictionary<string, List<(string?, string?, long)>>();
        foreach (var name in outputNames)
        {
            var records = await cluster.ConsumeAsync($"{prefix}-{name}", expectedCounts[name], Deserializers.Utf8, TimeSpan.FromSeconds(1));
            results[name] = records.Select(r => (r.Key, (string?)r.Value, r.TimestampMs)).ToList();
        }

        return results;
    });
}
