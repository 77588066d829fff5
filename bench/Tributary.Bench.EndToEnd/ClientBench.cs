using System.Diagnostics;
using Confluent.Kafka;
using Confluent.Kafka.Admin;

namespace Tributary.Bench.EndToEnd;

/// <summary>Throughput in messages and bytes (values only) per second.</summary>
internal readonly record struct Throughput(long Messages, long Bytes, TimeSpan Elapsed, long Errors)
{
    /// <summary>For a consume: messages the cluster still held (fewer than produced when it keeps only the newest).</summary>
    public long Retained { get; init; }

    public double MessagesPerSecond => Messages / Elapsed.TotalSeconds;
    public double MiBPerSecond => Bytes / Elapsed.TotalSeconds / (1024 * 1024);
}

/// <summary>Produce-to-acknowledgement latency percentiles in milliseconds at a paced rate.</summary>
internal readonly record struct Latency(double RatePerSecond, long Samples, double P50, double P99, double P999, long Errors);

/// <summary>The client side of the end-to-end bench: identical Confluent.Kafka code against whichever cluster it is pointed at.</summary>
internal static class ClientBench
{
    /// <summary>Creates the topic (CreateTopics, or with <paramref name="autoCreate"/> a first produce) and returns its partition count.</summary>
    /// <remarks>librdkafka's mock cluster names no controller, so an admin client's CreateTopics only times out against it;
    /// it auto-creates topics with its default partition count on the first produce instead.</remarks>
    public static int CreateTopic(string bootstrap, string topic, int partitions, bool autoCreate = false)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap }).Build();
        if (!autoCreate)
        {
            admin.CreateTopicsAsync([new TopicSpecification { Name = topic, NumPartitions = partitions, ReplicationFactor = 1 }])
                .GetAwaiter().GetResult();
        }
        else
        {
            using var producer = new ProducerBuilder<Null, byte[]>(new ProducerConfig { BootstrapServers = bootstrap }).Build();
            producer.Produce(topic, new Message<Null, byte[]> { Value = [] });
            producer.Flush(TimeSpan.FromSeconds(30));
            partitions = admin.GetMetadata(topic, TimeSpan.FromSeconds(10)).Topics.Single().Partitions.Count;
        }
        // Wait until every partition has a leader, so the first produce does not measure leader election or log creation.
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(120))
        {
            var metadata = admin.GetMetadata(topic, TimeSpan.FromSeconds(10));
            var t = metadata.Topics.SingleOrDefault(x => x.Topic == topic);
            if (t is { Error.IsError: false } && t.Partitions.Count == partitions && t.Partitions.All(p => p.Leader >= 0))
            {
                return partitions;
            }

            Thread.Sleep(50);
        }

        throw new TimeoutException($"topic {topic} has no leaders after 120 s");
    }

    private static ProducerConfig ProducerConfig(string bootstrap, double lingerMs) => new()
    {
        BootstrapServers = bootstrap,
        Acks = Acks.Leader,
        EnableIdempotence = false,
        CompressionType = CompressionType.None,
        LingerMs = lingerMs,
        BatchSize = 1_000_000,
        QueueBufferingMaxMessages = 1_000_000,
        QueueBufferingMaxKbytes = 1_048_576,
        // Only errors are needed from delivery reports; this keeps the client's per-message work at its minimum.
        DeliveryReportFields = "none",
    };

    /// <summary>acks=1 produce of <paramref name="count"/> values as fast as the client can queue them, until every one is acknowledged.</summary>
    public static Throughput Produce(string bootstrap, string topic, int valueBytes, long count)
    {
        using var producer = new ProducerBuilder<Null, byte[]>(ProducerConfig(bootstrap, lingerMs: 5)).Build();
        var message = new Message<Null, byte[]> { Value = new byte[valueBytes] };
        Random.Shared.NextBytes(message.Value);
        long errors = 0;
        void OnDelivery(DeliveryReport<Null, byte[]> report)
        {
            if (report.Error.IsError)
            {
                Interlocked.Increment(ref errors);
            }
        }

        // Warm-up: metadata and connections to every leader.
        producer.Produce(topic, message, OnDelivery);
        producer.Flush(TimeSpan.FromSeconds(30));
        Interlocked.Exchange(ref errors, 0);

        var clock = Stopwatch.StartNew();
        for (long i = 0; i < count; i++)
        {
            while (true)
            {
                try
                {
                    producer.Produce(topic, message, OnDelivery);
                    break;
                }
                catch (ProduceException<Null, byte[]> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
                {
                    producer.Poll(TimeSpan.FromMilliseconds(1));
                }
            }
        }

        if (producer.Flush(TimeSpan.FromMinutes(5)) != 0)
        {
            throw new TimeoutException("produce did not complete within 5 minutes");
        }

        return new Throughput(count, count * valueBytes, clock.Elapsed, Interlocked.Read(ref errors));
    }

    /// <summary>
    /// Reads <paramref name="target"/> messages from what every partition holds (assign, no group rebalance), seeking a
    /// partition back to its log start each time it reaches the high watermark: librdkafka's mock cluster keeps only the
    /// newest few MB per partition, so against it the retained range is read several times; Tributary keeps everything
    /// and is read once.
    /// </summary>
    public static Throughput Consume(string bootstrap, string topic, int partitions, long target)
    {
        var config = new ConsumerConfig
        {
            BootstrapServers = bootstrap,
            GroupId = "bench-" + Guid.NewGuid().ToString("N"),
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            FetchWaitMaxMs = 100,
            QueuedMinMessages = 1_000_000,
            EnablePartitionEof = false,
        };
        using var consumer = new ConsumerBuilder<Ignore, byte[]>(config).Build();
        var low = new long[partitions];
        var high = new long[partitions];
        long retained = 0;
        for (var p = 0; p < partitions; p++)
        {
            var marks = consumer.QueryWatermarkOffsets(new TopicPartition(topic, p), TimeSpan.FromSeconds(10));
            (low[p], high[p]) = (marks.Low.Value, marks.High.Value);
            retained += high[p] - low[p];
        }

        var count = Math.Max(target, retained);
        if (retained < target)
        {
            Console.WriteLine($"  {topic}: the cluster retains {retained:N0} of the messages produced; reading that range {(double)target / retained:N1} times");
        }

        var clock = Stopwatch.StartNew();
        consumer.Assign(Enumerable.Range(0, partitions).Select(p => new TopicPartitionOffset(topic, p, low[p])));
        long received = 0, bytes = 0, errors = 0;
        var idleSince = Stopwatch.StartNew();
        while (received < count && idleSince.Elapsed < TimeSpan.FromSeconds(30))
        {
            try
            {
                var result = consumer.Consume(TimeSpan.FromMilliseconds(100));
                if (result?.Message is { } message)
                {
                    received++;
                    bytes += message.Value?.Length ?? 0;
                    idleSince.Restart();
                    var p = result.Partition.Value;
                    if (result.Offset.Value == high[p] - 1 && received < count)
                    {
                        consumer.Seek(new TopicPartitionOffset(result.TopicPartition, low[p]));
                    }
                }
            }
            catch (ConsumeException)
            {
                errors++;
            }
        }

        var elapsed = clock.Elapsed;
        consumer.Close();
        return new Throughput(received, bytes, elapsed, errors + (count - received)) { Retained = retained };
    }

    /// <summary>acks=1 produce paced at <paramref name="ratePerSecond"/> for <paramref name="duration"/>; latency = send to delivery report.</summary>
    public static Latency PacedLatency(string bootstrap, string topic, int valueBytes, double ratePerSecond, TimeSpan duration)
    {
        var config = ProducerConfig(bootstrap, lingerMs: 1);
        config.DeliveryReportFields = "key";
        using var producer = new ProducerBuilder<long, byte[]>(config).Build();
        var value = new byte[valueBytes];
        var total = (long)Math.Min(ratePerSecond * duration.TotalSeconds, 20_000_000);
        var sentAt = new long[total];
        var latency = new long[total];
        long errors = 0;
        void OnDelivery(DeliveryReport<long, byte[]> report)
        {
            if (report.Error.IsError)
            {
                Interlocked.Increment(ref errors);
                latency[report.Message.Key] = -1;
                return;
            }

            latency[report.Message.Key] = Stopwatch.GetTimestamp() - sentAt[report.Message.Key];
        }

        producer.Produce(topic, new Message<long, byte[]> { Key = 0, Value = value }, _ => { });
        producer.Flush(TimeSpan.FromSeconds(30));

        var start = Stopwatch.GetTimestamp();
        long sent = 0;
        while (sent < total)
        {
            var due = Math.Min(total, (long)(Stopwatch.GetElapsedTime(start).TotalSeconds * ratePerSecond) + 1);
            while (sent < due)
            {
                sentAt[sent] = Stopwatch.GetTimestamp();
                try
                {
                    producer.Produce(topic, new Message<long, byte[]> { Key = sent, Value = value }, OnDelivery);
                    sent++;
                }
                catch (ProduceException<long, byte[]> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
                {
                    producer.Poll(TimeSpan.FromMilliseconds(1));
                }
            }

            Thread.Sleep(1);
        }

        producer.Flush(TimeSpan.FromMinutes(2));
        var samples = latency.Where(l => l > 0).Order().ToArray();
        double Percentile(double q) => samples.Length == 0 ? double.NaN
            : samples[Math.Min(samples.Length - 1, (int)(q * samples.Length))] * 1000.0 / Stopwatch.Frequency;
        return new Latency(ratePerSecond, samples.Length, Percentile(0.50), Percentile(0.99), Percentile(0.999), Interlocked.Read(ref errors));
    }

    /// <summary>Starts librdkafka's in-memory mock cluster inside this process and returns it with its bootstrap servers.</summary>
    public static (IDisposable Owner, string Bootstrap) StartMockCluster(int brokers)
    {
        // The mock cluster lives as long as the client that created it; every measured client then connects to it
        // over loopback exactly as it connects to Tributary.
        var config = new AdminClientConfig { BootstrapServers = "unused:9092" };
        config.Set("test.mock.num.brokers", brokers.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var owner = new AdminClientBuilder(config).Build();
        var metadata = owner.GetMetadata(TimeSpan.FromSeconds(10));
        var bootstrap = string.Join(',', metadata.Brokers.Select(b => $"{b.Host}:{b.Port}"));
        return (owner, bootstrap);
    }
}
