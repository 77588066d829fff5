using System.Diagnostics;
using Confluent.Kafka;

namespace Tributary.Bench.EndToEnd;

/// <summary>How often a transactional run commits: after a time interval or after a number of records.</summary>
internal readonly record struct CommitEvery(TimeSpan Interval, long Records)
{
    public static CommitEvery Never => new(TimeSpan.MaxValue, long.MaxValue);

    public override string ToString() =>
        Records != long.MaxValue ? $"every {Records:N0} records" : Interval != TimeSpan.MaxValue ? $"every {Interval.TotalMilliseconds:N0} ms" : "never";
}

/// <summary>One producer run: throughput, and for transactional runs each CommitTransaction's duration.</summary>
internal sealed record TransactionRun(Throughput Produced, IReadOnlyList<double> CommitMs, long ReadCommitted)
{
    public double CommitPercentile(double p)
    {
        if (CommitMs.Count == 0)
        {
            return double.NaN;
        }

        var sorted = CommitMs.Order().ToList();
        return sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];
    }
}

/// <summary>
/// Issue 21's transactional row: on 3 brokers (RF=3, min.insync.replicas=2) the same Confluent.Kafka producer settings
/// (idempotent, acks=all, linger.ms=5, 100 B values) without transactions, then transactional committing every 100 ms and
/// every 1,000 records; throughput of each against the non-transactional run and the CommitTransaction latency (the call's
/// duration: flushing the transaction's outstanding records, then EndTxn until the coordinator answered). Each run's topic
/// is read back with read_committed and must hold every record.
/// </summary>
internal static class TransactionsBench
{
    private const int ValueBytes = 100;

    public static void Run(BenchSettings settings, Report report, string brokerDll, string scratch)
    {
        var (cluster, ready) = BrokerCluster.Start(brokerDll, Path.Combine(scratch, "transactions"), 3, TimeSpan.FromSeconds(120), settings.Rf3BrokerOverrides);
        using (cluster)
        {
            Console.WriteLine($"3-broker cluster ready after {ready.TotalSeconds:N1} s: kafka {cluster.BootstrapServers}");
            var bootstrap = cluster.BootstrapServers;
            var pids = cluster.Brokers.Select(b => b.Pid).ToArray();
            string NewTopic(string name)
            {
                var topic = $"bench-txn-{name}-{Guid.NewGuid():N}";
                ClientBench.CreateTopic(bootstrap, topic, settings.Partitions, replicationFactor: 3);
                return topic;
            }

            // Unmeasured: JIT of the brokers' idempotent and transactional produce paths, __transaction_state created and loaded.
            var warm = Stopwatch.StartNew();
            var warmCount = Math.Min(settings.TxnMessages, 200_000);
            Produce(bootstrap, NewTopic("warmup"), warmCount, pids, CommitEvery.Never, readBack: false);
            Produce(bootstrap, NewTopic("warmup"), warmCount, pids, new CommitEvery(TimeSpan.FromMilliseconds(100), long.MaxValue), readBack: false);
            Produce(bootstrap, NewTopic("warmup"), warmCount / 4, pids, new CommitEvery(TimeSpan.MaxValue, 1_000), readBack: false);
            Console.WriteLine($"warm-up (transactional, not measured): {warm.Elapsed.TotalSeconds:N1} s");

            var count = settings.TxnMessages;
            var plain = Produce(bootstrap, NewTopic("plain"), count, pids, CommitEvery.Never, readBack: true);
            Print("non-transactional", plain);
            report.Row($"produce 100 B, idempotent acks=all, RF=3, 3 brokers, no transactions: msg/s ({count:N0} msgs)", plain.Produced.MessagesPerSecond, 0, "N0",
                ReadBack(plain, count), plain.Produced.Errors, plain.Produced.Cpu);
            foreach (var every in new[] { new CommitEvery(TimeSpan.FromMilliseconds(100), long.MaxValue), new CommitEvery(TimeSpan.MaxValue, 1_000) })
            {
                var run = Produce(bootstrap, NewTopic("txn"), count, pids, every, readBack: true);
                Print($"transactional, commit {every}", run);
                var ratio = run.Produced.MessagesPerSecond / plain.Produced.MessagesPerSecond;
                report.Row($"produce 100 B, transactional, commit {every}, RF=3, 3 brokers: msg/s", run.Produced.MessagesPerSecond, 0, "N0",
                    $"{ratio:0.00}× the non-transactional run; {ReadBack(run, count)}", run.Produced.Errors, run.Produced.Cpu);
                report.Row($"CommitTransaction latency p99 (ms), commit {every} (p50 {run.CommitPercentile(0.5):N1} ms, max {run.CommitMs.Max():N1} ms, {run.CommitMs.Count:N0} commits)",
                    run.CommitPercentile(0.99), 0, "N1", "", 0);
            }
        }
    }

    private static void Print(string what, TransactionRun run) =>
        Console.WriteLine($"{what,-40} {run.Produced.MessagesPerSecond,12:N0} msg/s ({run.Produced.Messages:N0} msgs in {run.Produced.Elapsed.TotalSeconds:N1} s, " +
            $"{run.Produced.Errors} errors; {run.Produced.Cpu})" +
            (run.CommitMs.Count > 0 ? $"; {run.CommitMs.Count:N0} commits, p50 {run.CommitPercentile(0.5):N1} ms, p99 {run.CommitPercentile(0.99):N1} ms, max {run.CommitMs.Max():N1} ms" : "") +
            $"; read_committed read back {run.ReadCommitted:N0}");

    private static string ReadBack(TransactionRun run, long count) =>
        run.ReadCommitted == count ? $"read_committed read back all {count:N0}" : $"read_committed read back {run.ReadCommitted:N0} of {count:N0}: MISMATCH";

    /// <summary>Produces <paramref name="count"/> 100 B values, in transactions committed <paramref name="every"/> unless never.</summary>
    private static TransactionRun Produce(string bootstrap, string topic, long count, IReadOnlyList<int> brokerPids, CommitEvery every, bool readBack)
    {
        var transactional = every != CommitEvery.Never;
        var config = new ProducerConfig
        {
            BootstrapServers = bootstrap,
            Acks = Acks.All,
            EnableIdempotence = true,
            TransactionalId = transactional ? $"bench-txn-{Guid.NewGuid():N}" : null,
            CompressionType = CompressionType.None,
            LingerMs = 5,
            BatchSize = 1_000_000,
            QueueBufferingMaxMessages = 1_000_000,
            QueueBufferingMaxKbytes = 1_048_576,
            DeliveryReportFields = "none",
        };
        using var producer = new ProducerBuilder<Null, byte[]>(config).Build();
        var message = new Message<Null, byte[]> { Value = new byte[ValueBytes] };
        Random.Shared.NextBytes(message.Value);
        long errors = 0;
        void OnDelivery(DeliveryReport<Null, byte[]> report)
        {
            if (report.Error.IsError)
            {
                Interlocked.Increment(ref errors);
            }
        }

        if (transactional)
        {
            producer.InitTransactions(TimeSpan.FromSeconds(60));
        }

        var commits = new List<double>();
        var clock = Stopwatch.StartNew();
        var cpu = new CpuMeter(brokerPids);
        long sent = 0;
        while (sent < count)
        {
            if (transactional)
            {
                producer.BeginTransaction();
            }

            var started = clock.Elapsed;
            long inTransaction = 0;
            while (sent < count && inTransaction < every.Records && clock.Elapsed - started < every.Interval)
            {
                try
                {
                    producer.Produce(topic, message, OnDelivery);
                    sent++;
                    inTransaction++;
                }
                catch (ProduceException<Null, byte[]> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
                {
                    producer.Poll(TimeSpan.FromMilliseconds(1));
                }
            }

            if (transactional)
            {
                var commit = Stopwatch.StartNew();
                producer.CommitTransaction(TimeSpan.FromSeconds(60));
                commits.Add(commit.Elapsed.TotalMilliseconds);
            }
        }

        if (producer.Flush(TimeSpan.FromMinutes(5)) != 0)
        {
            throw new TimeoutException("produce did not complete within 5 minutes");
        }

        var elapsed = clock.Elapsed;
        var (brokerCores, brokerKernel, clientCores) = cpu.Cores();
        var produced = new Throughput(count, count * ValueBytes, elapsed, Interlocked.Read(ref errors))
        {
            BrokerCores = brokerCores,
            BrokerKernelCores = brokerKernel,
            ClientCores = clientCores,
        };
        return new TransactionRun(produced, commits, readBack ? CountReadCommitted(bootstrap, topic, count) : -1);
    }

    /// <summary>Reads the topic from the beginning with read_committed until every partition reports its end; returns the records seen.</summary>
    private static long CountReadCommitted(string bootstrap, string topic, long expected)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig
        {
            BootstrapServers = bootstrap,
            GroupId = "bench-txn-check",
            IsolationLevel = IsolationLevel.ReadCommitted,
            EnableAutoCommit = false,
            EnablePartitionEof = true,
        }).Build();
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap }).Build();
        var partitions = admin.GetMetadata(topic, TimeSpan.FromSeconds(10)).Topics.Single().Partitions.Count;
        consumer.Assign(Enumerable.Range(0, partitions).Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
        long read = 0;
        var atEnd = new HashSet<int>();
        var clock = Stopwatch.StartNew();
        while ((atEnd.Count < partitions || read < expected) && clock.Elapsed < TimeSpan.FromSeconds(120))
        {
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

            atEnd.Remove(result.Partition.Value);
            read++;
        }

        return read;
    }
}
