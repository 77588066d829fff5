using System.Diagnostics;
using Confluent.Kafka;
using Confluent.Kafka.Admin;

namespace Tributary.Bench.EndToEnd;

/// <summary>Throughput in messages and bytes (values only) per second.</summary>
internal readonly record struct Throughput(long Messages, long Bytes, TimeSpan Elapsed, long Errors)
{
    /// <summary>For a consume: messages the cluster still held (fewer than produced when it keeps only the newest).</summary>
    public long Retained { get; init; }

    /// <summary>CPU the broker processes used during the run, in cores (NaN when the broker is this process: the mock).</summary>
    public double BrokerCores { get; init; } = double.NaN;

    /// <summary>CPU this process (the client, and the mock cluster when it is the target) used during the run, in cores.</summary>
    public double ClientCores { get; init; } = double.NaN;

    public double MessagesPerSecond => Messages / Elapsed.TotalSeconds;
    public double MiBPerSecond => Bytes / Elapsed.TotalSeconds / (1024 * 1024);

    /// <summary>Of <see cref="BrokerCores"/>, the part spent in the kernel (socket copies, page-cache writes).</summary>
    public double BrokerKernelCores { get; init; } = double.NaN;

    /// <summary>"broker 0.31 (kernel 0.12) + client 1.40", or "client + mock 1.62".</summary>
    public string Cpu => double.IsNaN(BrokerCores) ? $"client + mock {ClientCores:0.00}"
        : $"broker {BrokerCores:0.00} (kernel {BrokerKernelCores:0.00}) + client {ClientCores:0.00}";
}

/// <summary>CPU time of processes, from /proc: what bounds a run (broker, client, or neither) on these shared cores.</summary>
internal sealed class CpuMeter
{
    private readonly IReadOnlyList<int> _brokerPids;
    private readonly (double User, double Kernel) _broker0;
    private readonly double _self0;
    private readonly long _started = Stopwatch.GetTimestamp();

    /// <summary>Starts measuring this process and <paramref name="brokerPids"/> (none: the broker runs in this process).</summary>
    public CpuMeter(IReadOnlyList<int> brokerPids)
    {
        _brokerPids = brokerPids;
        _broker0 = BrokerSeconds();
        _self0 = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
    }

    /// <summary>Cores used since the start: brokers (NaN without broker processes), the brokers' kernel part, this process.</summary>
    public (double Broker, double BrokerKernel, double Client) Cores()
    {
        var elapsed = Stopwatch.GetElapsedTime(_started).TotalSeconds;
        var (user, kernel) = BrokerSeconds();
        var client = (Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds - _self0) / elapsed;
        return _brokerPids.Count == 0
            ? (double.NaN, double.NaN, client)
            : ((user - _broker0.User + kernel - _broker0.Kernel) / elapsed, (kernel - _broker0.Kernel) / elapsed, client);
    }

    private (double User, double Kernel) BrokerSeconds()
    {
        double user = 0, kernel = 0;
        foreach (var pid in _brokerPids)
        {
            var (u, k) = ProcessSeconds(pid);
            user += u;
            kernel += k;
        }

        return (user, kernel);
    }

    /// <summary>User and system CPU seconds of a process (fields 14 and 15 of /proc/PID/stat, in clock ticks of 1/100 s).</summary>
    private static (double User, double Kernel) ProcessSeconds(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture) / 100.0,
            long.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture) / 100.0);
    }
}

/// <summary>Produce-to-acknowledgement latency percentiles in milliseconds at a paced rate.</summary>
internal readonly record struct Latency(double RatePerSecond, long Samples, double P50, double P99, double P999, long Errors)
{
    /// <summary>Messages acknowledged per second from the first send to the last acknowledgement; below the asked rate when the cluster could not keep up.</summary>
    public double AchievedPerSecond { get; init; }

    /// <summary>Seconds of the run (from its start, by send time) in which some acknowledgement took over 50 ms, with their worst latency: stalls versus spread-out tails.</summary>
    public string SlowSeconds { get; init; } = "";
}

/// <summary>The client side of the end-to-end bench: identical Confluent.Kafka code against whichever cluster it is pointed at.</summary>
internal static class ClientBench
{
    /// <summary>
    /// Creates the topic (CreateTopics, or with <paramref name="autoCreate"/> a first produce) and waits until every partition
    /// has a leader and, for a replicated topic, <paramref name="replicationFactor"/> in-sync replicas; returns its partition count.
    /// </summary>
    /// <remarks>librdkafka's mock cluster names no controller, so an admin client's CreateTopics only times out against it;
    /// it auto-creates topics with its default partition count (4) and replication factor (min(3, brokers)) on the first
    /// produce instead.</remarks>
    public static int CreateTopic(string bootstrap, string topic, int partitions, bool autoCreate = false, short replicationFactor = 1)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap }).Build();
        if (!autoCreate)
        {
            admin.CreateTopicsAsync([new TopicSpecification { Name = topic, NumPartitions = partitions, ReplicationFactor = replicationFactor }])
                .GetAwaiter().GetResult();
        }
        else
        {
            using var producer = new ProducerBuilder<Null, byte[]>(new ProducerConfig { BootstrapServers = bootstrap }).Build();
            producer.Produce(topic, new Message<Null, byte[]> { Value = [] });
            producer.Flush(TimeSpan.FromSeconds(30));
            partitions = admin.GetMetadata(topic, TimeSpan.FromSeconds(10)).Topics.Single().Partitions.Count;
        }

        WaitForReplicas(admin, topic, partitions, replicationFactor);
        return partitions;
    }

    /// <summary>
    /// Creates a topic with <paramref name="replicationFactor"/> replicas on librdkafka's mock cluster and returns its
    /// partition count; throws unless the mock lists that many in-sync replicas for every partition.
    /// </summary>
    /// <remarks>
    /// Its CreateTopics would take the replication factor, but the admin client first waits for a controller the mock
    /// never names (librdkafka 2.16: "Failed while waiting for controller: Local: Timed out"). Auto-creation gives
    /// min(3, brokers) replicas, which with 3 mock brokers is the RF=3 wanted.
    /// </remarks>
    public static int CreateReplicatedTopicOnMock(string bootstrap, string topic, short replicationFactor) =>
        CreateTopic(bootstrap, topic, partitions: 0, autoCreate: true, replicationFactor);

    private static void WaitForReplicas(IAdminClient admin, string topic, int partitions, short replicationFactor)
    {
        // Wait until every partition has a leader (and a full ISR), so the first produce does not measure leader election,
        // log creation or followers catching up.
        var deadline = Stopwatch.StartNew();
        var seen = "no metadata";
        while (deadline.Elapsed < TimeSpan.FromSeconds(120))
        {
            var metadata = admin.GetMetadata(topic, TimeSpan.FromSeconds(10));
            var t = metadata.Topics.SingleOrDefault(x => x.Topic == topic);
            if (t is { Error.IsError: false } && t.Partitions.Count == partitions && t.Partitions.All(p => p.Leader >= 0))
            {
                seen = string.Join("; ", t.Partitions.Select(p => $"p{p.PartitionId} replicas [{string.Join(',', p.Replicas)}] isr [{string.Join(',', p.InSyncReplicas)}]"));
                if (t.Partitions.All(p => p.Replicas.Length >= replicationFactor && p.InSyncReplicas.Length >= replicationFactor))
                {
                    return;
                }
            }

            Thread.Sleep(50);
        }

        throw new TimeoutException($"topic {topic} has no leaders or no full ISR after 120 s: {seen}");
    }

    /// <summary>Replicas of each partition of <paramref name="topic"/>, as the cluster's metadata lists them.</summary>
    public static string DescribeReplicas(string bootstrap, string topic)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap }).Build();
        var t = admin.GetMetadata(topic, TimeSpan.FromSeconds(10)).Topics.Single(x => x.Topic == topic);
        return string.Join("; ", t.Partitions.OrderBy(p => p.PartitionId)
            .Select(p => $"p{p.PartitionId} leader {p.Leader} replicas [{string.Join(',', p.Replicas)}] isr [{string.Join(',', p.InSyncReplicas)}]"));
    }

    /// <summary>Sum over the partitions of <paramref name="topic"/> of their high watermarks (messages readable, from offset 0).</summary>
    public static long HighWatermarks(string bootstrap, string topic, int partitions)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = bootstrap, GroupId = "bench-watermarks" }).Build();
        return Enumerable.Range(0, partitions)
            .Sum(p => consumer.QueryWatermarkOffsets(new TopicPartition(topic, p), TimeSpan.FromSeconds(10)).High.Value);
    }

    private static ProducerConfig ProducerConfig(string bootstrap, double lingerMs, Acks acks) => new()
    {
        BootstrapServers = bootstrap,
        Acks = acks,
        EnableIdempotence = false,
        CompressionType = CompressionType.None,
        LingerMs = lingerMs,
        BatchSize = 1_000_000,
        QueueBufferingMaxMessages = 1_000_000,
        QueueBufferingMaxKbytes = 1_048_576,
        // Only errors are needed from delivery reports; this keeps the client's per-message work at its minimum.
        DeliveryReportFields = "none",
    };

    /// <summary>Produce (acks=1 unless told) of <paramref name="count"/> values as fast as the client can queue them, until every one is acknowledged.</summary>
    public static Throughput Produce(string bootstrap, string topic, int valueBytes, long count, IReadOnlyList<int> brokerPids, Acks acks = Acks.Leader)
    {
        using var producer = new ProducerBuilder<Null, byte[]>(ProducerConfig(bootstrap, lingerMs: 5, acks)).Build();
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
        var cpu = new CpuMeter(brokerPids);
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

        var (brokerCores, brokerKernel, clientCores) = cpu.Cores();
        return new Throughput(count, count * valueBytes, clock.Elapsed, Interlocked.Read(ref errors))
        {
            BrokerCores = brokerCores,
            BrokerKernelCores = brokerKernel,
            ClientCores = clientCores,
        };
    }

    /// <summary>
    /// Reads <paramref name="target"/> messages from what every partition holds (assign, no group rebalance), seeking a
    /// partition back to its log start each time it reaches the high watermark: librdkafka's mock cluster keeps only the
    /// newest few MB per partition, so against it the retained range is read several times; Tributary keeps everything
    /// and is read once.
    /// </summary>
    public static Throughput Consume(string bootstrap, string topic, int partitions, long target, IReadOnlyList<int> brokerPids)
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
            // librdkafka (2.4+) stops fetching a partition for fetch.queue.backoff.ms (default 1,000 ms) whenever its local queue
            // holds queued.min.messages or queued.max.messages.kbytes (64 MiB): against a broker holding more than that, a
            // reader faster than the application idles half of every second. The mock holds less than the limits, so only
            // the other target was paying for it; 10 ms keeps the fetcher busy for both.
            FetchQueueBackoffMs = 10,
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
        var cpu = new CpuMeter(brokerPids);
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
        var (brokerCores, brokerKernel, clientCores) = cpu.Cores();
        consumer.Close();
        return new Throughput(received, bytes, elapsed, errors + (count - received))
        {
            Retained = retained,
            BrokerCores = brokerCores,
            BrokerKernelCores = brokerKernel,
            ClientCores = clientCores,
        };
    }

    /// <summary>Produce (acks=1 unless told) paced at <paramref name="ratePerSecond"/> for <paramref name="duration"/>; latency = send to delivery report.</summary>
    public static Latency PacedLatency(string bootstrap, string topic, int valueBytes, double ratePerSecond, TimeSpan duration, Acks acks = Acks.Leader,
        double lingerMs = 1)
    {
        var config = ProducerConfig(bootstrap, lingerMs, acks);
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

        // Warm-up outside the measured window: one acknowledged message to every partition, so each partition's replicas
        // are fetching (a fresh partition's followers join at their next fetch round) before the clock starts.
        using (var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap }).Build())
        {
            var partitions = admin.GetMetadata(topic, TimeSpan.FromSeconds(10)).Topics.Single().Partitions.Count;
            for (var p = 0; p < partitions; p++)
            {
                producer.Produce(new TopicPartition(topic, new Partition(p)), new Message<long, byte[]> { Key = 0, Value = value }, _ => { });
            }
        }

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
        var achieved = total / Stopwatch.GetElapsedTime(start).TotalSeconds;
        var slow = Enumerable.Range(0, (int)sent)
            .Where(i => latency[i] > Stopwatch.Frequency / 20)
            .GroupBy(i => (sentAt[i] - start) / Stopwatch.Frequency)
            .OrderBy(g => g.Key)
            .Select(g => $"t={g.Key} s: {g.Count():N0} msgs, worst {g.Max(i => latency[i]) * 1000.0 / Stopwatch.Frequency:N0} ms");
        var samples = latency.Where(l => l > 0).Order().ToArray();
        double Percentile(double q) => samples.Length == 0 ? double.NaN
            : samples[Math.Min(samples.Length - 1, (int)(q * samples.Length))] * 1000.0 / Stopwatch.Frequency;
        return new Latency(ratePerSecond, samples.Length, Percentile(0.50), Percentile(0.99), Percentile(0.999), Interlocked.Read(ref errors)) { AchievedPerSecond = achieved, SlowSeconds = string.Join("; ", slow) };
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
