using System.Text;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Tributary.Integration.Tests.Harness;
using Xunit.Abstractions;

namespace Tributary.Integration.Tests.Retention;

/// <summary>A broker that checks retention and looks for logs to clean several times a second.</summary>
public sealed class RetentionBrokerFixture : BrokerFixture
{
    protected override IReadOnlyDictionary<string, string> Overrides { get; } = new Dictionary<string, string>
    {
        ["log.retention.check.interval.ms"] = "200",
        ["log.cleaner.backoff.ms"] = "200",
    };
}

/// <summary>Time and size retention and log compaction, configured and observed through Confluent.Kafka.</summary>
public sealed class RetentionAndCompactionTests : IClassFixture<RetentionBrokerFixture>, IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private readonly BrokerProcess broker;
    private readonly KafkaClients clients;

    public RetentionAndCompactionTests(RetentionBrokerFixture fixture, ITestOutputHelper output)
    {
        broker = fixture.Broker;
        broker.Log.Attach(output);
        clients = new KafkaClients(broker, broker.Log);
    }

    public void Dispose() => broker.Log.Attach(null);

    [Fact]
    public async Task Lowering_retention_ms_at_runtime_deletes_old_segments_and_a_consumer_before_the_log_start_is_reset()
    {
        string topic = KafkaClients.UniqueTopic("retention-time");
        await clients.CreateTopicAsync(topic, 1, new Dictionary<string, string> { ["segment.bytes"] = "1024" });
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        using (var producer = clients.CreateProducer(SmallBatches()))
        {
            AssertPersisted(KafkaClients.ProduceAll(producer, topic, KafkaClients.NumberedMessages(200, now - 3_600_000, 1), Timeout));
            AssertPersisted(KafkaClients.ProduceAll(producer, topic, KafkaClients.NumberedMessages(20, now, 1), Timeout));
        }

        await AlterTopicConfigAsync(topic, "retention.ms", "600000");
        WatermarkOffsets watermarks = await Eventually.ValueAsync(() => Watermarks(topic), w => w.Low > 0, Timeout);

        Assert.InRange(watermarks.Low.Value, 1, 200);
        Assert.Equal(220, watermarks.High.Value);

        // auto.offset.reset=error: the out-of-range position surfaces as an error...
        using (var strict = clients.CreateConsumer())
        {
            strict.Assign(new TopicPartitionOffset(topic, 0, 0));
            var error = Assert.Throws<ConsumeException>(() => ConsumeUntilError(strict));
            Assert.Equal(ErrorCode.Local_AutoOffsetReset, error.Error.Code);
        }

        // ...and with earliest the consumer restarts at the new log start and still gets the recent records.
        var config = clients.ConsumerConfig();
        config.AutoOffsetReset = AutoOffsetReset.Earliest;
        using var consumer = clients.CreateConsumer(config);
        consumer.Assign(new TopicPartitionOffset(topic, 0, 0));
        List<ConsumeResult<byte[]?, byte[]?>> records = ConsumeToEnd(consumer);
        Assert.Equal(watermarks.Low.Value, records[0].Offset.Value);
        Assert.Equal(219, records[^1].Offset.Value);
    }

    [Fact]
    public async Task Size_retention_keeps_the_partition_within_retention_bytes_and_one_segment()
    {
        string topic = KafkaClients.UniqueTopic("retention-size");
        await clients.CreateTopicAsync(topic, 1, new Dictionary<string, string>
        {
            ["segment.bytes"] = "2048",
            ["retention.bytes"] = "8192",
        });
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        using (var producer = clients.CreateProducer(SmallBatches()))
        {
            AssertPersisted(KafkaClients.ProduceAll(producer, topic, KafkaClients.NumberedMessages(2000, now, 0), Timeout));
        }

        string partitionDirectory = Path.Combine(broker.DataDirectory, topic + "-0");
        long size = await Eventually.ValueAsync(() => LogBytes(partitionDirectory), bytes => bytes <= 8192 + 2048, Timeout);

        Assert.InRange(size, 8192, 8192 + 2048);
        Assert.True(Watermarks(topic).Low > 0);
    }

    [Theory]
    [InlineData(CompressionType.None)]
    [InlineData(CompressionType.Gzip)]
    [InlineData(CompressionType.Snappy)]
    [InlineData(CompressionType.Lz4)]
    [InlineData(CompressionType.Zstd)]
    public async Task A_compacted_topic_keeps_the_latest_value_per_key_and_drops_tombstoned_keys(CompressionType codec)
    {
        string topic = KafkaClients.UniqueTopic("compacted-" + codec.ToString().ToLowerInvariant());
        await clients.CreateTopicAsync(topic, 1, new Dictionary<string, string>
        {
            ["cleanup.policy"] = "compact",
            ["segment.bytes"] = "4096",
            ["min.cleanable.dirty.ratio"] = "0.01",
            ["delete.retention.ms"] = "500",
            ["segment.ms"] = "1000",
        });
        var model = new Dictionary<string, string>();
        var messages = new List<Message<byte[]?, byte[]?>>();
        void Put(string key, string? value)
        {
            messages.Add(new Message<byte[]?, byte[]?> { Key = Encoding.UTF8.GetBytes(key), Value = value is null ? null : Encoding.UTF8.GetBytes(value) });
            if (value is null)
            {
                model.Remove(key);
            }
            else
            {
                model[key] = value;
            }
        }

        for (int i = 0; i < 2000; i++)
        {
            Put($"key-{i % 50}", $"value-{i}");
        }

        for (int k = 0; k < 5; k++)
        {
            Put($"key-{k}", null);
        }

        // Later updates of other keys push the tombstones out of the active segment, where the cleaner can reach them.
        for (int i = 0; i < 2000; i++)
        {
            Put($"key-{5 + (i % 45)}", $"later-{i}");
        }

        var producerConfig = clients.ProducerConfig();
        producerConfig.CompressionType = codec;
        producerConfig.BatchNumMessages = 20;
        using (var producer = clients.CreateProducer(producerConfig))
        {
            AssertPersisted(KafkaClients.ProduceAll(producer, topic, messages, Timeout));
            // segment.ms has passed by the time this lands, so it rolls the segment holding the updates: all of them become cleanable.
            await Task.Delay(1500);
            messages.Clear();
            Put("marker", "last");
            AssertPersisted(KafkaClients.ProduceAll(producer, topic, messages, Timeout));
        }

        // Compaction leaves one record per live key; a second pass after delete.retention.ms removes the tombstones.
        List<ConsumeResult<byte[]?, byte[]?>> records = await Eventually.ValueAsync(
            () => clients.ReadToEnd(topic, 1, Timeout)[0], read => read.Count == model.Count, Timeout);

        Assert.Equal(model.Count, records.Count);
        Assert.True(records.Zip(records.Skip(1)).All(pair => pair.First.Offset < pair.Second.Offset));
        var latest = new Dictionary<string, string>();
        foreach (var record in records)
        {
            string key = Encoding.UTF8.GetString(record.Message.Key!);
            if (record.Message.Value is null)
            {
                latest.Remove(key);
            }
            else
            {
                latest[key] = Encoding.UTF8.GetString(record.Message.Value);
            }
        }

        Assert.Equal(model, latest);
    }

    /// <summary>Batches of at most 10 records stay below the tiny segment.bytes these tests use (a larger batch is refused).</summary>
    private ProducerConfig SmallBatches()
    {
        var config = clients.ProducerConfig();
        config.BatchNumMessages = 10;
        return config;
    }

    private static void AssertPersisted(IReadOnlyList<DeliveryReport<byte[]?, byte[]?>> reports) =>
        Assert.All(reports, report => Assert.Equal(PersistenceStatus.Persisted, report.Status));

    private WatermarkOffsets Watermarks(string topic)
    {
        using var consumer = clients.CreateConsumer();
        return consumer.QueryWatermarkOffsets(new TopicPartition(topic, 0), TimeSpan.FromSeconds(10));
    }

    private async Task AlterTopicConfigAsync(string topic, string name, string value)
    {
        using var admin = clients.CreateAdmin();
        var change = new ConfigEntry { Name = name, Value = value, IncrementalOperation = AlterConfigOpType.Set };
        await admin.IncrementalAlterConfigsAsync(
            new Dictionary<ConfigResource, List<ConfigEntry>> { [new ConfigResource { Type = ResourceType.Topic, Name = topic }] = [change] },
            new IncrementalAlterConfigsOptions { RequestTimeout = KafkaClients.AdminTimeout });
    }

    private static void ConsumeUntilError(IConsumer<byte[]?, byte[]?> consumer)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < Timeout)
        {
            consumer.Consume(TimeSpan.FromMilliseconds(200));
        }
    }

    private static List<ConsumeResult<byte[]?, byte[]?>> ConsumeToEnd(IConsumer<byte[]?, byte[]?> consumer)
    {
        var records = new List<ConsumeResult<byte[]?, byte[]?>>();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < Timeout)
        {
            var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (result is null)
            {
                continue;
            }

            if (result.IsPartitionEOF)
            {
                return records;
            }

            records.Add(result);
        }

        throw new TimeoutException($"No end of partition within {Timeout}; read {records.Count} records.");
    }

    private static long LogBytes(string partitionDirectory) =>
        Directory.EnumerateFiles(partitionDirectory, "*.log").Sum(path => new FileInfo(path).Length);
}
