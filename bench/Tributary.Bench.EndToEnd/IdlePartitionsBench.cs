using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Confluent.Kafka;
using Confluent.Kafka.Admin;

namespace Tributary.Bench.EndToEnd;

/// <summary>Sizes of the idle-partitions section (BENCH_SECTIONS=idle); every one comes from the environment.</summary>
internal sealed record IdleSettings(int[] IdlePartitions, double Rate, TimeSpan Duration, int[] ThroughputAt, long Messages100, long Messages1K,
    TimeSpan Quiet)
{
    public static IdleSettings FromEnvironment(BenchSettings bench)
    {
        static string Text(string name, string fallback) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : fallback;
        static int[] Numbers(string text) => [.. text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(p => int.Parse(p, CultureInfo.InvariantCulture))];

        return new IdleSettings(
            Numbers(Text("BENCH_IDLE_PARTITIONS", "1,1000,10000")),
            double.Parse(Text("BENCH_IDLE_RATE", "1000"), CultureInfo.InvariantCulture),
            TimeSpan.FromSeconds(double.Parse(Text("BENCH_IDLE_LATENCY_SECONDS", "10"), CultureInfo.InvariantCulture)),
            Numbers(Text("BENCH_IDLE_THROUGHPUT_AT", "1,1000")),
            long.Parse(Text("BENCH_IDLE_MESSAGES_RF3", bench.Messages100Rf3.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture),
            long.Parse(Text("BENCH_IDLE_MESSAGES_RF3_1KIB", bench.Messages1KRf3.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture),
            TimeSpan.FromSeconds(double.Parse(Text("BENCH_IDLE_QUIET_SECONDS", "5"), CultureInfo.InvariantCulture)));
    }
}

/// <summary>
/// Issue 20's rows: light-load produce latency (1,000 msg/s, linger.ms=0, acks=1 and acks=all, 100 B) on a 3-broker cluster
/// that also hosts 1, 1,000 and 10,000 idle RF=3 partitions (added cumulatively to the same cluster), and RF=3 acks=all
/// throughput with 1 and 1,000 idle partitions. Each step also reads the brokers' follower-fetch counters, so the report
/// says how many partitions each replica fetch carried in and out and how many fetches were sent per second.
/// </summary>
internal static partial class IdlePartitionsBench
{
    /// <summary>Partitions created per CreateTopics request: well under the controller's 10,000 records per operation.</summary>
    private const int PartitionsPerCreateRequest = 1000;

    private const int PartitionsPerIdleTopic = 4;

    public static void Run(BenchSettings settings, Report report, string brokerDll, string scratch)
    {
        var idle = IdleSettings.FromEnvironment(settings);
        Console.WriteLine($"idle partitions {string.Join('/', idle.IdlePartitions)}; {idle.Rate:N0} msg/s for {idle.Duration.TotalSeconds:N0} s, linger.ms=0; " +
            $"throughput at {string.Join('/', idle.ThroughputAt)} idle ({idle.Messages100:N0} × 100 B, {idle.Messages1K:N0} × 1 KiB)");
        var overrides = new Dictionary<string, string>(settings.Rf3BrokerOverrides)
        {
            // Creating thousands of partitions is the set-up here, not what is measured: lift KIP-599's mutation rate.
            ["tributary.controller.mutation.rate"] = "1000000",
        };
        var (cluster, ready) = BrokerCluster.Start(brokerDll, Path.Combine(scratch, "idle"), 3, TimeSpan.FromSeconds(120), overrides);
        using (cluster)
        {
            var bootstrap = cluster.BootstrapServers;
            Console.WriteLine($"3-broker cluster ready after {ready.TotalSeconds:N1} s: {bootstrap}");
            WarmUp(settings, bootstrap, cluster);
            var created = 0;
            try
            {
                foreach (var target in idle.IdlePartitions.Order())
                {
                    var clock = Stopwatch.StartNew();
                    try
                    {
                        created = CreateIdle(bootstrap, created, target);
                    }
                    catch (Exception e) when (e is CreateTopicsException or TimeoutException or KafkaException)
                    {
                        // E.g. max.broker.partitions, which a combined node lowers to what its open-file limit holds.
                        var reason = e is CreateTopicsException c
                            ? string.Join("; ", c.Results.Where(r => r.Error.IsError).Select(r => r.Error.Reason).Distinct().Take(2))
                            : e.Message;
                        Console.WriteLine($"{target:N0} idle partitions not reached: {reason}");
                        report.NotAvailable($"produce latency with {target:N0} idle RF=3 partitions", "not measured: " + reason.Replace("|", "/", StringComparison.Ordinal));
                        break;
                    }

                    Console.WriteLine($"{created:N0} idle RF=3 partitions ({clock.Elapsed.TotalSeconds:N1} s to create and see full ISRs)");
                    IdleCost(cluster, created, report, idle.Quiet);
                    foreach (var acks in new[] { Acks.Leader, Acks.All })
                    {
                        Latency(settings, idle, report, cluster, created, acks);
                    }

                    if (idle.ThroughputAt.Contains(target))
                    {
                        Throughput(settings, idle, report, cluster, created);
                    }
                }
            }
            finally
            {
                foreach (var line in cluster.Problems(examples: 5))
                {
                    Console.WriteLine("  " + line);
                }

                if (settings.BrokerLogs is { } keep)
                {
                    Directory.CreateDirectory(keep);
                    foreach (var file in cluster.Brokers.Select(b => b.OutputFile).OfType<string>().Where(File.Exists))
                    {
                        File.Copy(file, Path.Combine(keep, "idle-" + Path.GetFileName(file)), overwrite: true);
                    }
                }
            }
        }

        // The mock keeps no replicas and has no idle partitions to carry: the same client run against it is the floor.
        var (mockOwner, mockBootstrap) = ClientBench.StartMockCluster(3);
        using (mockOwner)
        {
            foreach (var acks in new[] { Acks.Leader, Acks.All })
            {
                var topic = $"bench-idle-mock-{Guid.NewGuid():N}";
                ClientBench.CreateReplicatedTopicOnMock(mockBootstrap, topic, 3);
                var latency = ClientBench.PacedLatency(mockBootstrap, topic, 100, idle.Rate, idle.Duration, acks, lingerMs: 0);
                Console.WriteLine($"mock       {AcksName(acks)} latency at {idle.Rate:N0} msg/s linger 0: p50 {latency.P50:N2} ms, p99 {latency.P99:N2} ms ({latency.Samples:N0} samples)");
                report.IdleMock[acks == Acks.All ? "all" : "1"] = latency;
            }
        }

        report.FinishIdleRows();
    }

    private static void WarmUp(BenchSettings settings, string bootstrap, BrokerCluster cluster)
    {
        if (settings.WarmupMessages <= 0)
        {
            return;
        }

        var clock = Stopwatch.StartNew();
        var topic = $"bench-idle-warmup-{Guid.NewGuid():N}";
        var partitions = ClientBench.CreateTopic(bootstrap, topic, settings.Partitions, replicationFactor: 3);
        var pids = cluster.Brokers.Select(b => b.Pid).ToArray();
        ClientBench.Produce(bootstrap, topic, 100, settings.WarmupMessages, pids, Acks.All);
        ClientBench.Consume(bootstrap, topic, partitions, settings.WarmupMessages, pids);
        Console.WriteLine($"warm-up ({settings.WarmupMessages:N0} × 100 B acks=all produced and consumed, not measured): {clock.Elapsed.TotalSeconds:N1} s");
    }

    /// <summary>Creates RF=3 topics until <paramref name="target"/> idle partitions exist (several requests of ≤ 1,000 partitions), waits for full ISRs.</summary>
    private static int CreateIdle(string bootstrap, int existing, int target)
    {
        // A loaded machine can take more than librdkafka's default 60 s socket timeout to create 1,000 RF=3 partitions.
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap, SocketTimeoutMs = 300_000 }).Build();
        var names = new List<string>();
        var next = existing;
        while (next < target)
        {
            var batch = new List<TopicSpecification>();
            var inBatch = 0;
            while (next < target && inBatch < PartitionsPerCreateRequest)
            {
                var partitions = Math.Min(PartitionsPerIdleTopic, target - next);
                var name = $"idle-{next:D6}";
                batch.Add(new TopicSpecification { Name = name, NumPartitions = partitions, ReplicationFactor = 3 });
                names.Add(name);
                next += partitions;
                inBatch += partitions;
            }

            for (var attempt = 1; batch.Count > 0; attempt++)
            {
                try
                {
                    admin.CreateTopicsAsync(batch, new CreateTopicsOptions { RequestTimeout = TimeSpan.FromMinutes(2), OperationTimeout = TimeSpan.FromMinutes(2) })
                        .GetAwaiter().GetResult();
                    batch.Clear();
                }
                catch (CreateTopicsException e) when (attempt < 5)
                {
                    // A controller that timed out on a loaded machine: ask again for what was not created.
                    var failed = e.Results.Where(r => r.Error.IsError && r.Error.Code != ErrorCode.TopicAlreadyExists).Select(r => r.Topic).ToHashSet();
                    if (e.Results.Any(r => r.Error.Code == ErrorCode.PolicyViolation))
                    {
                        throw;
                    }

                    batch.RemoveAll(t => !failed.Contains(t.Name));
                }
                catch (KafkaException e) when (e.Error.Code == ErrorCode.Local_TimedOut && attempt < 5)
                {
                    // The request timed out on our side; the controller may have created some: the retry's TOPIC_ALREADY_EXISTS says which.
                    Console.WriteLine($"  CreateTopics of {batch.Count} topics timed out (attempt {attempt}); asking again");
                }
            }
        }

        var deadline = Stopwatch.StartNew();
        var pending = names.ToHashSet();
        while (pending.Count > 0)
        {
            if (deadline.Elapsed > TimeSpan.FromMinutes(5))
            {
                throw new TimeoutException($"{pending.Count} idle topics without leaders or full ISRs after 5 minutes, e.g. {pending.First()}");
            }

            var metadata = admin.GetMetadata(TimeSpan.FromSeconds(30));
            foreach (var t in metadata.Topics)
            {
                if (pending.Contains(t.Topic) && t.Error is { IsError: false } && t.Partitions.Count > 0
                    && t.Partitions.All(p => p.Leader >= 0 && p.InSyncReplicas.Length >= 3))
                {
                    pending.Remove(t.Topic);
                }
            }

            if (pending.Count > 0)
            {
                Thread.Sleep(500);
            }
        }

        return next;
    }

    /// <summary>What the idle partitions cost with no traffic at all: broker CPU, allocation and follower fetches over <paramref name="quiet"/>.</summary>
    private static void IdleCost(BrokerCluster cluster, int idlePartitions, Report report, TimeSpan quiet)
    {
        Thread.Sleep(1000);
        var cpu = new CpuMeter(cluster.Brokers.Select(b => b.Pid).ToArray());
        var before = FetchCounters.Read(cluster);
        Console.WriteLine($"quiet phase ({quiet.TotalSeconds:N0} s, load average {LoadAverage()}), broker PIDs {string.Join(',', cluster.Brokers.Select(b => b.Pid))}");
        Thread.Sleep(quiet);
        var fetches = FetchCounters.Read(cluster) - before;
        var (broker, kernel, _) = cpu.Cores();
        var seconds = quiet.TotalSeconds;
        var line = $"{idlePartitions:N0} idle partitions, no traffic: brokers used {broker:0.000} cores (kernel {kernel:0.000}), allocated " +
            $"{fetches.AllocatedBytes / seconds / 1024 / cluster.Brokers.Count:N1} KiB/s per broker; {fetches.Describe(seconds)}";
        Console.WriteLine(line);
        report.IdleNotes.Add(line);
    }

    /// <summary>The 1-minute load average (/proc/loadavg), printed beside every latency figure: on a shared machine it decides them.</summary>
    internal static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "unknown";

    private static void Latency(BenchSettings settings, IdleSettings idle, Report report, BrokerCluster cluster, int idlePartitions, Acks acks)
    {
        var topic = $"bench-idle-latency-{Guid.NewGuid():N}";
        ClientBench.CreateTopic(cluster.BootstrapServers, topic, settings.Partitions, replicationFactor: 3);
        var before = FetchCounters.Read(cluster);
        var stagesBefore = StageBreakdown.Read(cluster);
        var cpu = new CpuMeter(cluster.Brokers.Select(b => b.Pid).ToArray());
        var latency = ClientBench.PacedLatency(cluster.BootstrapServers, topic, 100, idle.Rate, idle.Duration, acks, lingerMs: 0);
        var (brokerCores, _, _) = cpu.Cores();
        var fetches = FetchCounters.Read(cluster) - before;
        var stages = StageBreakdown.Read(cluster) - stagesBefore;
        var seconds = idle.Duration.TotalSeconds;
        var cpuText = $"brokers used {brokerCores:0.00} cores, {brokerCores * 1000 / Math.Max(1, latency.AchievedPerSecond):0.000} ms of broker CPU per message";
        Console.WriteLine($"{idlePartitions,6:N0} idle, {AcksName(acks)}: p50 {latency.P50:N2} ms, p99 {latency.P99:N2} ms, p99.9 {latency.P999:N2} ms " +
            $"({latency.Samples:N0} samples, {latency.Errors} errors, load average {LoadAverage()}); {cpuText}; {fetches.Describe(seconds)}");
        if (latency.SlowSeconds.Length > 0)
        {
            Console.WriteLine($"  acknowledgements over 50 ms, by second of sending: {latency.SlowSeconds}");
        }

        var heading = $"{idlePartitions:N0} idle, {AcksName(acks)} (p50 {latency.P50:N2} ms, p99 {latency.P99:N2} ms, load average {LoadAverage()}):";
        Console.WriteLine("  per-step breakdown, " + heading);
        report.IdleBreakdown.Add(heading);
        foreach (var line in stages.Describe())
        {
            Console.WriteLine("    " + line);
            report.IdleBreakdown.Add("  " + line);
        }

        report.IdleLatency.Add(new IdleLatencyRow(idlePartitions, AcksName(acks), latency, cpuText + "; " + fetches.Describe(seconds)));
    }

    private static void Throughput(BenchSettings settings, IdleSettings idle, Report report, BrokerCluster cluster, int idlePartitions)
    {
        var pids = cluster.Brokers.Select(b => b.Pid).ToArray();
        foreach (var (size, count) in new[] { (100, idle.Messages100), (1024, idle.Messages1K) })
        {
            var topic = $"bench-idle-rf3-{size}-{Guid.NewGuid():N}";
            var partitions = ClientBench.CreateTopic(cluster.BootstrapServers, topic, settings.Partitions, replicationFactor: 3);
            var produced = ClientBench.Produce(cluster.BootstrapServers, topic, size, count, pids, Acks.All);
            Console.WriteLine($"{idlePartitions,6:N0} idle, produce {size,5} B acks=all RF=3: {produced.MessagesPerSecond,12:N0} msg/s {produced.MiBPerSecond,8:N1} MiB/s " +
                $"({count:N0} msgs to {partitions} partitions, {produced.Errors} errors; {produced.Cpu} cores)");
            report.IdleThroughput.Add(new IdleThroughputRow(idlePartitions, size, produced));
        }
    }

    private static string AcksName(Acks acks) => acks == Acks.All ? "acks=all" : "acks=1";

    /// <summary>The brokers' follower-fetch counters summed over the cluster (tributary_replica_fetch_*).</summary>
    private readonly record struct FetchCounters(double Requests, double RequestPartitions, double ResponsePartitions, double AllocatedBytes,
        double PartitionsRead)
    {
        public static FetchCounters Read(BrokerCluster cluster)
        {
            var sum = new FetchCounters();
            foreach (var broker in cluster.Brokers)
            {
                if (broker.HttpGet("/metrics") is not { } text)
                {
                    continue;
                }

                sum += new FetchCounters(Value(text, "tributary_replica_fetch_requests_total"), Value(text, "tributary_replica_fetch_request_partitions_total"),
                    Value(text, "tributary_replica_fetch_response_partitions_total"), Value(text, "process_runtime_dotnet_gc_allocations_size_bytes_total") + Value(text, "dotnet_gc_heap_total_allocated_bytes_total"),
                    Value(text, "tributary_replica_fetch_partitions_read_total"));
            }

            return sum;
        }

        public static FetchCounters operator +(FetchCounters a, FetchCounters b) =>
            new(a.Requests + b.Requests, a.RequestPartitions + b.RequestPartitions, a.ResponsePartitions + b.ResponsePartitions, a.AllocatedBytes + b.AllocatedBytes,
                a.PartitionsRead + b.PartitionsRead);

        public static FetchCounters operator -(FetchCounters a, FetchCounters b) =>
            new(a.Requests - b.Requests, a.RequestPartitions - b.RequestPartitions, a.ResponsePartitions - b.ResponsePartitions, a.AllocatedBytes - b.AllocatedBytes,
                a.PartitionsRead - b.PartitionsRead);

        public string Describe(double seconds) => Requests <= 0
            ? "no follower-fetch counters (broker without tributary_replica_fetch_*)"
            : $"follower fetches {Requests / seconds:N0}/s, partitions per fetch: {RequestPartitions / Requests:N1} sent, {ResponsePartitions / Requests:N1} answered, {PartitionsRead / Requests:N1} read by the leader; " +
              $"brokers allocated {AllocatedBytes / Requests / 1024:N1} KiB per follower fetch (all work, produce included)";

        private static double Value(string metrics, string name)
        {
            double total = 0;
            foreach (Match m in Regex.Matches(metrics, $@"^{Regex.Escape(name)}(?:\{{[^}}]*\}})?\s+(?<v>\S+)", RegexOptions.Multiline | RegexOptions.CultureInvariant))
            {
                total += double.Parse(m.Groups["v"].Value, NumberStyles.Float, CultureInfo.InvariantCulture);
            }

            return total;
        }
    }
}

/// <summary>One light-load latency measurement with this many idle partitions on the cluster.</summary>
internal sealed record IdleLatencyRow(int IdlePartitions, string Acks, Latency Latency, string Fetches);

/// <summary>One RF=3 acks=all throughput measurement with this many idle partitions on the cluster.</summary>
internal sealed record IdleThroughputRow(int IdlePartitions, int ValueBytes, Throughput Produced);
