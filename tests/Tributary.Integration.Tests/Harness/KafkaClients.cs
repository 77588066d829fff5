using System.Diagnostics;
using Confluent.Kafka;
using Confluent.Kafka.Admin;

namespace Tributary.Integration.Tests.Harness;

/// <summary>Confluent.Kafka clients configured for one broker process, with their logs routed into the test output.</summary>
public sealed class KafkaClients(BrokerProcess broker, TestOutputSink log)
{
    /// <summary>Consumers need a group.id to be constructed; these tests only ever Assign, never Subscribe or Commit.</summary>
    public const string UnusedGroupId = "tributary-it-assign-only";

    public static readonly TimeSpan AdminTimeout = TimeSpan.FromSeconds(15);

    public BrokerProcess Broker { get; } = broker;

    /// <summary>A topic name no other test (or earlier run against the same directory) uses.</summary>
    public static string UniqueTopic(string purpose) => $"{purpose}-{Guid.NewGuid():N}"[..Math.Min(purpose.Length + 13, 200)];

    public ProducerConfig ProducerConfig() => new()
    {
        BootstrapServers = Broker.BootstrapServers,
        BrokerAddressFamily = BrokerAddressFamily.V4,
        Acks = Acks.All,
        // Idempotence needs InitProducerId; these tests exercise plain produce, and with one request in flight
        // librdkafka cannot reorder batches on retry, so produce order per partition is still guaranteed.
        EnableIdempotence = false,
        MaxInFlight = 1,
        LingerMs = 5,
        MessageTimeoutMs = 30_000,
        QueueBufferingMaxMessages = 1_000_000,
    };

    public ConsumerConfig ConsumerConfig() => new()
    {
        BootstrapServers = Broker.BootstrapServers,
        BrokerAddressFamily = BrokerAddressFamily.V4,
        GroupId = UnusedGroupId,
        EnableAutoCommit = false,
        EnableAutoOffsetStore = false,
        EnablePartitionEof = true,
        CheckCrcs = true,
        FetchWaitMaxMs = 100,
        AutoOffsetReset = AutoOffsetReset.Error,
    };

    public IProducer<byte[]?, byte[]?> CreateProducer(ProducerConfig? config = null) =>
        new ProducerBuilder<byte[]?, byte[]?>(config ?? ProducerConfig())
            .SetLogHandler((_, m) => log.WriteLine($"[rdkafka producer {m.Level}] {m.Facility}: {m.Message}"))
            .SetErrorHandler((_, e) => log.WriteLine($"[rdkafka producer error] {e.Code}: {e.Reason}"))
            .Build();

    public IConsumer<byte[]?, byte[]?> CreateConsumer(ConsumerConfig? config = null) =>
        new ConsumerBuilder<byte[]?, byte[]?>(config ?? ConsumerConfig())
            .SetLogHandler((_, m) => log.WriteLine($"[rdkafka consumer {m.Level}] {m.Facility}: {m.Message}"))
            .SetErrorHandler((_, e) => log.WriteLine($"[rdkafka consumer error] {e.Code}: {e.Reason}"))
            .Build();

    public IAdminClient CreateAdmin() =>
        new AdminClientBuilder(new AdminClientConfig
        {
            BootstrapServers = Broker.BootstrapServers,
            BrokerAddressFamily = BrokerAddressFamily.V4,
        })
            .SetLogHandler((_, m) => log.WriteLine($"[rdkafka admin {m.Level}] {m.Facility}: {m.Message}"))
            .SetErrorHandler((_, e) => log.WriteLine($"[rdkafka admin error] {e.Code}: {e.Reason}"))
            .Build();

    /// <summary>Creates a topic through the AdminClient (replication factor 1: one broker).</summary>
    public async Task CreateTopicAsync(string topic, int partitions, IDictionary<string, string>? configs = null)
    {
        using var admin = CreateAdmin();
        await admin.CreateTopicsAsync(
            [new TopicSpecification { Name = topic, NumPartitions = partitions, ReplicationFactor = 1, Configs = configs?.ToDictionary() }],
            new CreateTopicsOptions { RequestTimeout = AdminTimeout, OperationTimeout = AdminTimeout });
    }

    /// <summary>
    /// Assigns every partition from <see cref="Offset.Beginning"/> and reads until each has reported end-of-partition.
    /// Any consume error (including a CRC failure, check.crcs is on) propagates as <see cref="ConsumeException"/>.
    /// </summary>
    public IReadOnlyDictionary<int, List<ConsumeResult<byte[]?, byte[]?>>> ReadToEnd(
        string topic, int partitionCount, TimeSpan timeout, ConsumerConfig? config = null)
    {
        using var consumer = CreateConsumer(config);
        consumer.Assign(Enumerable.Range(0, partitionCount).Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));

        var records = Enumerable.Range(0, partitionCount).ToDictionary(p => p, _ => new List<ConsumeResult<byte[]?, byte[]?>>());
        var atEnd = new HashSet<int>();
        var clock = Stopwatch.StartNew();
        while (atEnd.Count < partitionCount)
        {
            if (clock.Elapsed > timeout)
            {
                var progress = string.Join(", ", records.Select(kv => $"p{kv.Key}={kv.Value.Count}{(atEnd.Contains(kv.Key) ? " (end)" : "")}"));
                throw new TimeoutException($"Reading {topic} to the end took longer than {timeout}; read so far: {progress}.");
            }

            var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (result is null)
            {
                continue;
            }

            if (result.IsPartitionEOF)
            {
                atEnd.Add(result.Partition.Value);
                continue;
            }

            records[result.Partition.Value].Add(result);
        }

        return records;
    }

    /// <summary>Produces and waits for every delivery report; returns them in produce order.</summary>
    public static IReadOnlyList<DeliveryReport<byte[]?, byte[]?>> ProduceAll(
        IProducer<byte[]?, byte[]?> producer, string topic, IReadOnlyList<Message<byte[]?, byte[]?>> messages, TimeSpan timeout)
    {
        var reports = new DeliveryReport<byte[]?, byte[]?>?[messages.Count];
        for (var i = 0; i < messages.Count; i++)
        {
            var index = i;
            producer.Produce(topic, messages[i], report => reports[index] = report);
        }

        var undelivered = producer.Flush(timeout);
        if (undelivered != 0)
        {
            throw new TimeoutException($"{undelivered} of {messages.Count} records to {topic} had no delivery report after {timeout}.");
        }

        return reports.Select((r, i) => r ?? throw new InvalidOperationException($"Record {i} has no delivery report after Flush.")).ToList();
    }

    /// <summary>Record values that are all text, numbered from zero, with a distinct CreateTime each.</summary>
    public static List<Message<byte[]?, byte[]?>> NumberedMessages(int count, long firstTimestampMs, long timestampStepMs) =>
        Enumerable.Range(0, count).Select(i => new Message<byte[]?, byte[]?>
        {
            Key = System.Text.Encoding.UTF8.GetBytes($"k{i}"),
            Value = System.Text.Encoding.UTF8.GetBytes($"v{i}"),
            Timestamp = new Timestamp(firstTimestampMs + (i * timestampStepMs), TimestampType.CreateTime),
        }).ToList();
}
