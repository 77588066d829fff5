using System.Text;
using Confluent.Kafka;
using Tributary.Integration.Tests.Harness;
using Xunit.Abstractions;

namespace Tributary.Integration.Tests.Retention;

/// <summary>
/// Issue 15: compaction must keep running as new segments close, not stop after one pass. Rounds of updates and deletes through
/// Confluent.Kafka against a real broker, checked by reading the topic back after each round's cleaning, and the cleaner's gauges.
/// </summary>
public sealed class ContinuousCompactionTests : IClassFixture<RetentionBrokerFixture>, IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private const int SegmentMs = 400;

    private readonly BrokerProcess broker;
    private readonly KafkaClients clients;

    public ContinuousCompactionTests(RetentionBrokerFixture fixture, ITestOutputHelper output)
    {
        broker = fixture.Broker;
        broker.Log.Attach(output);
        clients = new KafkaClients(broker, broker.Log);
    }

    public void Dispose() => broker.Log.Attach(null);

    /// <summary>The topic settings, with segment.ms short enough that every round closes the previous one's segment.</summary>
    public static Dictionary<string, string> CompactedTopicConfig() => new()
    {
        ["cleanup.policy"] = "compact",
        ["segment.bytes"] = "65536",
        ["segment.ms"] = SegmentMs.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["min.cleanable.dirty.ratio"] = "0.01",
        ["delete.retention.ms"] = "1000",
        ["min.compaction.lag.ms"] = "0",
    };

    [Fact]
    public async Task Every_round_of_updates_and_deletes_is_compacted_and_tombstones_go_after_delete_retention_ms()
    {
        string topic = KafkaClients.UniqueTopic("compacted-rounds");
        await clients.CreateTopicAsync(topic, 1, CompactedTopicConfig());
        var rounds = new CompactionRounds(seed: 15);
        using var producer = clients.CreateProducer();

        for (int round = 0; round < 6; round++)
        {
            AssertPersisted(KafkaClients.ProduceAll(producer, topic, rounds.Next(updates: 300, deletes: 15, keySpace: 200), Timeout));
            // Past segment.ms the marker rolls the segment holding this round: everything but the marker becomes cleanable.
            await Task.Delay(SegmentMs + 100);
            AssertPersisted(KafkaClients.ProduceAll(producer, topic, [rounds.Marker(round)], Timeout));

            List<ReadBackRecord> read = await Eventually.ValueAsync(() => ReadAll(topic), rounds.IsCompacted, Timeout);
            rounds.AssertCompacted(read, $"after round {round}");
        }

        // With no writes at all, the tombstones still go once delete.retention.ms has passed since the cleaning that reached them.
        List<ReadBackRecord> final = await Eventually.ValueAsync(() => ReadAll(topic), read => rounds.IsCompacted(read) && read.All(r => r.Value is not null),
            Timeout);
        Assert.Equal(rounds.LiveKeys(), final.Where(r => r.Key != "marker").ToDictionary(r => r.Key, r => r.Value!));
        int cleanings = broker.Log.RecentLines().Split('\n').Count(line => line.Contains($"Cleaned {topic}-0 ", StringComparison.Ordinal));
        Assert.True(cleanings >= 6, $"expected a cleaning per round, the broker logged {cleanings}");
    }

    [Fact]
    public async Task The_log_cleaner_gauges_show_a_running_cleaner_and_what_its_last_cleaning_removed()
    {
        string topic = KafkaClients.UniqueTopic("compacted-metrics");
        await clients.CreateTopicAsync(topic, 1, CompactedTopicConfig());
        var rounds = new CompactionRounds(seed: 16);
        using (var producer = clients.CreateProducer())
        {
            AssertPersisted(KafkaClients.ProduceAll(producer, topic, rounds.Next(updates: 2000, deletes: 0, keySpace: 20), Timeout));
            await Task.Delay(SegmentMs + 100);
            AssertPersisted(KafkaClients.ProduceAll(producer, topic, [rounds.Marker(0)], Timeout));
        }

        await Eventually.ValueAsync(() => ReadAll(topic), rounds.IsCompacted, Timeout);
        string metrics = await MetricsScrape.TextAsync(broker.HttpPort);

        // 2,000 updates of 20 keys compact to 20 records: the last cleaning wrote back a small fraction of what it read.
        Assert.InRange(Sample(metrics, "kafka_log_logcleaner_cleaner_recopy_percent"), 0, 50);
        Assert.InRange(Sample(metrics, "kafka_log_logcleaner_max_clean_time_secs"), 0, 30);
        Assert.InRange(Sample(metrics, "kafka_log_logcleaner_max_buffer_utilization_percent"), 0, 100);
        Assert.Equal(0, Sample(metrics, "kafka_log_logcleaner_deadthreadcount"));
        Assert.InRange(Sample(metrics, "kafka_log_logcleanermanager_max_dirty_percent"), 0, 100);
        // log.cleaner.backoff.ms is 200 here: a live cleaner looked for work moments ago.
        Assert.InRange(Sample(metrics, "kafka_log_logcleanermanager_time_since_last_run_ms"), 0, 10_000);
        Assert.Equal(0, MetricsScrape.FindSample(metrics, "kafka_log_logcleanermanager_uncleanable_partitions_count",
            new Dictionary<string, string> { ["logDirectory"] = Path.GetFullPath(broker.DataDirectory).TrimEnd('/') }));
    }

    private static double Sample(string metrics, string name) =>
        MetricsScrape.FindSample(metrics, name, new Dictionary<string, string>()) ?? throw new Xunit.Sdk.XunitException($"{name} is not on /metrics");

    private List<ReadBackRecord> ReadAll(string topic) =>
        [.. clients.ReadToEnd(topic, 1, Timeout)[0].Select(r => new ReadBackRecord(r.Offset.Value, Encoding.UTF8.GetString(r.Message.Key!),
            r.Message.Value is null ? null : Encoding.UTF8.GetString(r.Message.Value)))];

    private static void AssertPersisted(IReadOnlyList<DeliveryReport<byte[]?, byte[]?>> reports) =>
        Assert.All(reports, report => Assert.Equal(PersistenceStatus.Persisted, report.Status));
}
