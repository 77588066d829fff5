using System.Diagnostics;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Tributary.Integration.Tests.Harness;

namespace Tributary.Integration.Tests.Cluster;

/// <summary>Leader, replicas and ISR of one partition as a Metadata response reported them.</summary>
public sealed record PartitionState(int Leader, IReadOnlyList<int> Replicas, IReadOnlyList<int> Isr)
{
    public override string ToString() => $"leader {Leader}, replicas [{string.Join(',', Replicas)}], isr [{string.Join(',', Isr)}]";
}

/// <summary>Confluent.Kafka (bundled librdkafka) clients for a whole cluster, with their logs routed into the cluster log.</summary>
public sealed class ClusterClients(string bootstrapServers, TestOutputSink log)
{
    public static readonly TimeSpan AdminTimeout = TimeSpan.FromSeconds(15);

    public ClusterClients(ClusterProcess cluster)
        : this(cluster.BootstrapServers, cluster.Log)
    {
    }

    public string BootstrapServers { get; } = bootstrapServers;

    /// <summary>acks=all; idempotent unless <paramref name="idempotent"/> is false (then one request in flight keeps order).</summary>
    public ProducerConfig ProducerConfig(bool idempotent = true) => new()
    {
        BootstrapServers = BootstrapServers,
        BrokerAddressFamily = BrokerAddressFamily.V4,
        Acks = Acks.All,
        EnableIdempotence = idempotent,
        MaxInFlight = idempotent ? 5 : 1,
        LingerMs = 5,
        MessageTimeoutMs = 60_000,
        QueueBufferingMaxMessages = 1_000_000,
        // Fail over quickly: librdkafka re-reads metadata this soon after a leader error.
        TopicMetadataRefreshFastIntervalMs = 100,
    };

    public ConsumerConfig ConsumerConfig() => new()
    {
        BootstrapServers = BootstrapServers,
        BrokerAddressFamily = BrokerAddressFamily.V4,
        GroupId = KafkaClients.UnusedGroupId,
        EnableAutoCommit = false,
        EnableAutoOffsetStore = false,
        EnablePartitionEof = true,
        CheckCrcs = true,
        FetchWaitMaxMs = 100,
        AutoOffsetReset = AutoOffsetReset.Error,
    };

    public IProducer<string, string> CreateProducer(ProducerConfig? config = null) =>
        new ProducerBuilder<string, string>(config ?? ProducerConfig())
            .SetLogHandler((_, m) => log.WriteLine($"[rdkafka producer {m.Level}] {m.Facility}: {m.Message}"))
            .SetErrorHandler((_, e) => log.WriteLine($"[rdkafka producer error] {e.Code}: {e.Reason}"))
            .Build();

    public IConsumer<string, string> CreateConsumer(ConsumerConfig? config = null) =>
        new ConsumerBuilder<string, string>(config ?? ConsumerConfig())
            .SetLogHandler((_, m) => log.WriteLine($"[rdkafka consumer {m.Level}] {m.Facility}: {m.Message}"))
            .SetErrorHandler((_, e) => log.WriteLine($"[rdkafka consumer error] {e.Code}: {e.Reason}"))
            .Build();

    public IAdminClient CreateAdmin() =>
        new AdminClientBuilder(new AdminClientConfig { BootstrapServers = BootstrapServers, BrokerAddressFamily = BrokerAddressFamily.V4 })
            .SetLogHandler((_, m) => log.WriteLine($"[rdkafka admin {m.Level}] {m.Facility}: {m.Message}"))
            .SetErrorHandler((_, e) => log.WriteLine($"[rdkafka admin error] {e.Code}: {e.Reason}"))
            .Build();

    /// <summary>Creates a topic and waits until every partition has a leader in the metadata.</summary>
    public async Task CreateTopicAsync(string topic, int partitions, short replicationFactor, IDictionary<string, string>? configs = null)
    {
        using (var admin = CreateAdmin())
        {
            await admin.CreateTopicsAsync(
                [new TopicSpecification { Name = topic, NumPartitions = partitions, ReplicationFactor = replicationFactor, Configs = configs?.ToDictionary() }],
                new CreateTopicsOptions { RequestTimeout = AdminTimeout, OperationTimeout = AdminTimeout });
        }

        for (var p = 0; p < partitions; p++)
        {
            await WaitForPartitionAsync(topic, p, s => s.Leader >= 0 && s.Isr.Count == replicationFactor, TimeSpan.FromSeconds(20));
        }
    }

    /// <summary>Leader/replicas/ISR of one partition from a fresh Metadata request; null if the topic or partition is unknown.</summary>
    public PartitionState? Partition(string topic, int partition)
    {
        using var admin = CreateAdmin();
        return Partition(admin, topic, partition);
    }

    /// <summary>Every partition's state of <paramref name="topic"/> from one Metadata request, by partition id; empty if the topic is unknown.</summary>
    public IReadOnlyDictionary<int, PartitionState> Partitions(string topic)
    {
        using var admin = CreateAdmin();
        var metadata = admin.GetMetadata(topic, TimeSpan.FromSeconds(5));
        return metadata.Topics.Where(t => t.Topic == topic && t.Error.Code == ErrorCode.NoError)
            .SelectMany(t => t.Partitions)
            .ToDictionary(p => p.PartitionId, p => new PartitionState(p.Leader, p.Replicas, p.InSyncReplicas));
    }

    /// <summary>Polls <see cref="Partition(string,int)"/> until <paramref name="done"/> holds; throws with the last state after <paramref name="timeout"/>.</summary>
    public async Task<PartitionState> WaitForPartitionAsync(string topic, int partition, Func<PartitionState, bool> done, TimeSpan timeout)
    {
        using var admin = CreateAdmin();
        var clock = Stopwatch.StartNew();
        PartitionState? last = null;
        string lastError = "";
        while (clock.Elapsed < timeout)
        {
            try
            {
                last = Partition(admin, topic, partition);
                if (last is not null && done(last))
                {
                    return last;
                }
            }
            catch (KafkaException e)
            {
                lastError = $" (last error {e.Error.Code})";
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"{topic}-{partition} did not reach the expected state within {timeout}; last: {last?.ToString() ?? "unknown"}{lastError}");
    }

    /// <summary>
    /// Reads every partition from the beginning until each reports end-of-partition; returns each record's key with
    /// its partition and offset, in partition-then-offset order.
    /// </summary>
    public IReadOnlyList<(string Key, int Partition, long Offset)> ReadAll(string topic, int partitionCount, TimeSpan timeout)
    {
        using var consumer = CreateConsumer();
        consumer.Assign(Enumerable.Range(0, partitionCount).Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
        var records = new List<(string Key, int Partition, long Offset)>();
        var atEnd = new HashSet<int>();
        var clock = Stopwatch.StartNew();
        while (atEnd.Count < partitionCount)
        {
            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"Reading {topic} to the end took longer than {timeout}; {records.Count} records so far.");
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

            records.Add((result.Message.Key, result.Partition.Value, result.Offset.Value));
        }

        return records;
    }

    /// <summary>Produces <paramref name="keys"/> (value = key) and waits for every delivery report; returns the error code of each.</summary>
    public static IReadOnlyList<ErrorCode> ProduceAndWait(IProducer<string, string> producer, string topic, IReadOnlyList<string> keys, TimeSpan timeout)
    {
        var codes = new ErrorCode?[keys.Count];
        for (var i = 0; i < keys.Count; i++)
        {
            var index = i;
            producer.Produce(topic, new Message<string, string> { Key = keys[i], Value = keys[i] }, r => codes[index] = r.Error.Code);
        }

        var undelivered = producer.Flush(timeout);
        if (undelivered != 0)
        {
            throw new TimeoutException($"{undelivered} of {keys.Count} records to {topic} had no delivery report after {timeout}.");
        }

        return codes.Select((c, i) => c ?? throw new InvalidOperationException($"Record {i} has no delivery report after Flush.")).ToList();
    }

    /// <summary>Keys <c>{prefix}-{n:D7}</c> for n in [first, first+count): sortable, and each names its own sequence number.</summary>
    public static List<string> SequenceKeys(string prefix, int first, int count) =>
        Enumerable.Range(first, count).Select(n => $"{prefix}-{n:D7}").ToList();

    private static PartitionState? Partition(IAdminClient admin, string topic, int partition)
    {
        var metadata = admin.GetMetadata(topic, TimeSpan.FromSeconds(5));
        var topicMetadata = metadata.Topics.SingleOrDefault(t => t.Topic == topic);
        var partitionMetadata = topicMetadata?.Partitions.SingleOrDefault(p => p.PartitionId == partition);
        return partitionMetadata is null
            ? null
            : new PartitionState(partitionMetadata.Leader, partitionMetadata.Replicas, partitionMetadata.InSyncReplicas);
    }
}
