using System.Globalization;
using System.Text.Json;
using Tributary.Integration.Tests.Cluster;
using Xunit.Abstractions;

namespace Tributary.Integration.Tests.KafkaJs;

/// <summary>
/// A second, independent client's transactional API: kafkajs 2.2.4 (pure JavaScript, its own protocol code) against a
/// real 3-broker cluster, topics RF 3 with min.insync.replicas 2. The scripts (tests/clients/kafkajs/txn.js) print what
/// they read as JSON; the assertions here are on that.
/// </summary>
public sealed class KafkaJsTransactionTests : IClassFixture<KafkaJsClusterFixture>, IDisposable
{
    private const int Partitions = 3;
    private static readonly TimeSpan ScriptTimeout = TimeSpan.FromSeconds(90);
    private static readonly Dictionary<string, string> MinIsrTwo = new() { ["min.insync.replicas"] = "2" };

    private readonly KafkaJsClusterFixture fixture;

    public KafkaJsTransactionTests(KafkaJsClusterFixture fixture, ITestOutputHelper output)
    {
        this.fixture = fixture;
        fixture.Cluster.Log.Attach(output);
    }

    public void Dispose() => fixture.Cluster.Log.Attach(null);

    [Fact]
    public async Task Kafkajs_committed_transaction_over_several_partitions_is_read_whole_by_read_committed()
    {
        var result = await RunCaseAsync("commit");

        var produced = KafkaJsScript.Strings(result.GetProperty("produced"));
        var committed = KafkaJsScript.PerPartition(result.GetProperty("committed"));
        Assert.All(committed, keys => Assert.NotEmpty(keys));
        Assert.Equal(produced.Order(StringComparer.Ordinal), committed.SelectMany(k => k).Order(StringComparer.Ordinal));
        Assert.Equal(committed, KafkaJsScript.PerPartition(result.GetProperty("uncommitted")));
    }

    [Fact]
    public async Task Kafkajs_aborted_transaction_is_invisible_to_read_committed_and_visible_to_read_uncommitted()
    {
        var result = await RunCaseAsync("abort");

        var produced = KafkaJsScript.Strings(result.GetProperty("produced"));
        Assert.All(KafkaJsScript.PerPartition(result.GetProperty("committed")), keys => Assert.Empty(keys));
        Assert.Equal(produced.Order(StringComparer.Ordinal),
            KafkaJsScript.PerPartition(result.GetProperty("uncommitted")).SelectMany(k => k).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Kafkajs_alternating_commits_and_aborts_read_committed_is_read_uncommitted_without_the_aborted_records()
    {
        var result = await RunCaseAsync("mixed");

        var committedKeys = KafkaJsScript.Strings(result.GetProperty("committedKeys"));
        var abortedKeys = KafkaJsScript.Strings(result.GetProperty("abortedKeys")).ToHashSet();
        var committed = KafkaJsScript.PerPartition(result.GetProperty("committed"));
        var uncommitted = KafkaJsScript.PerPartition(result.GetProperty("uncommitted"));
        Assert.Equal(committedKeys.Count + abortedKeys.Count, uncommitted.Sum(k => k.Count));
        for (var p = 0; p < Partitions; p++)
        {
            // Record by record, in offset order: the aborted transactions cut out and nothing else.
            Assert.Equal(uncommitted[p].Where(k => !abortedKeys.Contains(k)), committed[p]);
        }

        Assert.Equal(committedKeys.Order(StringComparer.Ordinal), committed.SelectMany(k => k).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Kafkajs_consume_transform_produce_commits_group_offsets_only_with_the_transaction()
    {
        var topic = ClusterSteps.UniqueTopic("kjs-ctp");
        await fixture.Clients.CreateTopicAsync(topic + "-out", Partitions, replicationFactor: 3, MinIsrTwo);
        var result = await RunCaseAsync("send-offsets", topic);

        var inputKeys = KafkaJsScript.Strings(result.GetProperty("inputKeys"));
        Assert.Equal(inputKeys.Order(StringComparer.Ordinal), KafkaJsScript.Strings(result.GetProperty("transformed")).Order(StringComparer.Ordinal));
        var beforeCommit = result.GetProperty("offsetsBeforeCommit").EnumerateArray().ToList();
        Assert.NotEmpty(beforeCommit);
        foreach (var open in beforeCommit)
        {
            // While the transaction is open the group shows its previous offset (or none), never the pending one.
            Assert.True(open.GetProperty("visible").GetInt64() < open.GetProperty("pending").GetInt64(), open.ToString());
        }

        // 30 input records round-robin over 3 partitions: 10 each, so every partition's next offset is 10 after the run.
        var perPartition = inputKeys.Count / Partitions;
        Assert.Equal(Enumerable.Repeat((long)perPartition, Partitions), Offsets(result.GetProperty("offsetsAfterCommit")));
        Assert.Equal(Enumerable.Repeat((long)perPartition, Partitions), Offsets(result.GetProperty("offsetsAfterAbort")));
        var output = KafkaJsScript.PerPartition(result.GetProperty("output"));
        Assert.Equal(inputKeys.Order(StringComparer.Ordinal), output.SelectMany(k => k).Order(StringComparer.Ordinal));
        Assert.DoesNotContain("aborted-out", output.SelectMany(k => k));
    }

    [Fact]
    public async Task Kafkajs_second_producer_with_the_same_transactional_id_fences_the_first()
    {
        var result = await RunCaseAsync("fence");

        var zombieError = result.GetProperty("zombieError");
        Assert.Equal(JsonValueKind.Object, zombieError.ValueKind);
        var types = zombieError.GetProperty("chain").EnumerateArray()
            .Select(e => e.GetProperty("type")).Where(t => t.ValueKind == JsonValueKind.String).Select(t => t.GetString()).ToList();
        // EndTxn from the fenced epoch: Kafka answers PRODUCER_FENCED (EndTxn v2+) or INVALID_PRODUCER_EPOCH (older versions).
        Assert.Contains(types, t => t is "PRODUCER_FENCED" or "INVALID_PRODUCER_EPOCH");
        var successorKeys = KafkaJsScript.Strings(result.GetProperty("successorKeys"));
        Assert.Equal(successorKeys.Order(StringComparer.Ordinal),
            KafkaJsScript.PerPartition(result.GetProperty("committed")).SelectMany(k => k).Order(StringComparer.Ordinal));
        // The zombie's records reached the log and were aborted when the successor initialised.
        Assert.Contains(KafkaJsScript.PerPartition(result.GetProperty("uncommitted")).SelectMany(k => k), k => k.StartsWith("zombie", StringComparison.Ordinal));
    }

    /// <summary>Creates the case's topic (a fresh one unless given) and runs the case against it.</summary>
    private async Task<JsonElement> RunCaseAsync(string caseName, string? topic = null)
    {
        topic ??= ClusterSteps.UniqueTopic("kjs-" + caseName);
        await fixture.Clients.CreateTopicAsync(topic, Partitions, replicationFactor: 3, MinIsrTwo);
        return await KafkaJsScript.RunAsync("txn.js",
            [caseName, fixture.Cluster.BootstrapServers, topic, Partitions.ToString(CultureInfo.InvariantCulture)], fixture.Cluster.Log, ScriptTimeout);
    }

    private static List<long> Offsets(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetInt64())];
}
