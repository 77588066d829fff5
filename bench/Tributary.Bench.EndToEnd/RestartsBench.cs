using System.Diagnostics;
using System.Globalization;
using Confluent.Kafka;
using Confluent.Kafka.Admin;

namespace Tributary.Bench.EndToEnd;

/// <summary>
/// Issue 19's restart proof (<c>make bench-restarts</c>): a 3-broker cluster with many partitions is stopped (SIGTERM) and
/// started again N times on the same data. Each restart prints the time from launch until every broker answers /readyz
/// and every partition has a leader again, each broker's RSS once ready, and what the metadata log holds on disk (the
/// latest snapshot and the log's start), so a reader sees whether a start reads a snapshot plus a tail or replays the log
/// from 0. Sizes from the environment: BENCH_RESTART_PARTITIONS (10000), BENCH_RESTARTS (10), BENCH_RESTART_RF (1),
/// BENCH_RESTART_SNAPSHOT_BYTES (metadata.log.max.record.bytes.between.snapshots, 1 MiB).
/// </summary>
internal static class RestartsBench
{
    private const int Brokers = 3;
    private const int PartitionsPerTopic = 100;
    private const int PartitionsPerCreateRequest = 1000;
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromMinutes(10);

    public static int Run(string brokerDll, string scratchRoot)
    {
        var partitions = EnvInt("BENCH_RESTART_PARTITIONS", 10_000);
        var restarts = EnvInt("BENCH_RESTARTS", 10);
        var replication = (short)EnvInt("BENCH_RESTART_RF", 1);
        var snapshotBytes = EnvInt("BENCH_RESTART_SNAPSHOT_BYTES", 1 << 20);
        var scratch = Path.Combine(scratchRoot, "tributary-restarts-" + Guid.NewGuid().ToString("N"));
        Console.WriteLine($"{Brokers} brokers, {partitions:N0} partitions RF={replication}, {restarts} restarts, " +
                          $"metadata snapshot every {snapshotBytes:N0} bytes of records; open-file limit {OpenFileLimit()}");
        var overrides = new Dictionary<string, string>
        {
            ["tributary.controller.mutation.rate"] = "1000000", // creating the partitions is set-up, not what is measured
            ["metadata.log.max.record.bytes.between.snapshots"] = snapshotBytes.ToString(CultureInfo.InvariantCulture),
            ["default.replication.factor"] = replication.ToString(CultureInfo.InvariantCulture),
            ["min.insync.replicas"] = "1",
        };
        var (cluster, firstReady) = BrokerCluster.Start(brokerDll, scratch, Brokers, ReadyTimeout, overrides);
        try
        {
            using (cluster)
            {
                Console.WriteLine($"cluster ready after {firstReady.TotalSeconds:N1} s: {cluster.BootstrapServers}");
                var create = Stopwatch.StartNew();
                CreatePartitions(cluster.BootstrapServers, partitions, replication);
                var led = WaitForLeaders(cluster.BootstrapServers, partitions, ReadyTimeout);
                Console.WriteLine($"{led:N0} partitions with leaders after {create.Elapsed.TotalSeconds:N1} s; " +
                                  $"RSS {string.Join(" / ", cluster.Brokers.Select(b => $"{b.RssMiB():N0}"))} MiB; metadata: {MetadataOnDisk(cluster.Brokers[0])}");
                Console.WriteLine();
                Console.WriteLine("| restart | stop (s) | ready (s) | all partitions led (s) | RSS b1/b2/b3 (MiB) | metadata on disk (b1) |");
                Console.WriteLine("|---:|---:|---:|---:|---|---|");
                for (var round = 1; round <= restarts; round++)
                {
                    var stop = Stopwatch.StartNew();
                    Parallel.ForEach(cluster.Brokers, b => b.Stop());
                    var stopped = stop.Elapsed;
                    var start = Stopwatch.StartNew();
                    foreach (var broker in cluster.Brokers)
                    {
                        broker.Launch();
                    }

                    foreach (var broker in cluster.Brokers)
                    {
                        broker.WaitReady(ReadyTimeout);
                    }

                    var ready = start.Elapsed;
                    var ledNow = WaitForLeaders(cluster.BootstrapServers, partitions, ReadyTimeout);
                    var allLed = start.Elapsed;
                    var rss = string.Join(" / ", cluster.Brokers.Select(b => $"{b.RssMiB():N0}"));
                    Console.WriteLine($"| {round} | {stopped.TotalSeconds:N1} | {ready.TotalSeconds:N1} | {allLed.TotalSeconds:N1}{(ledNow < partitions ? $" ({ledNow:N0} led)" : "")} | {rss} | {MetadataOnDisk(cluster.Brokers[0])} |");
                }
            }
        }
        finally
        {
            try
            {
                Directory.Delete(scratch, recursive: true);
            }
            catch (IOException)
            {
            }
        }

        return 0;
    }

    private static void CreatePartitions(string bootstrap, int partitions, short replication)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap }).Build();
        var next = 0;
        while (next < partitions)
        {
            var batch = new List<TopicSpecification>();
            for (var inBatch = 0; next < partitions && inBatch < PartitionsPerCreateRequest;)
            {
                var count = Math.Min(PartitionsPerTopic, partitions - next);
                batch.Add(new TopicSpecification { Name = $"restart-{next:D6}", NumPartitions = count, ReplicationFactor = replication });
                next += count;
                inBatch += count;
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
                    batch.RemoveAll(t => !failed.Contains(t.Name));
                }
            }
        }
    }

    /// <summary>Polls the cluster's metadata until every bench partition has a leader (bounded); returns how many have one.</summary>
    private static int WaitForLeaders(string bootstrap, int partitions, TimeSpan timeout)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap }).Build();
        var clock = Stopwatch.StartNew();
        var led = 0;
        while (clock.Elapsed < timeout)
        {
            try
            {
                var metadata = admin.GetMetadata(TimeSpan.FromSeconds(30));
                led = metadata.Topics.Where(t => t.Topic.StartsWith("restart-", StringComparison.Ordinal))
                    .Sum(t => t.Partitions.Count(p => p.Leader >= 0));
                if (led >= partitions)
                {
                    return led;
                }
            }
            catch (KafkaException)
            {
            }

            Thread.Sleep(200);
        }

        return led;
    }

    /// <summary>The latest metadata snapshot and the quorum log segments of one node, from its data directory; the node
    /// runs, so a file it cuts away while this looks is tried again.</summary>
    private static string MetadataOnDisk(BrokerInstance broker)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return DescribeMetadataFiles(broker);
            }
            catch (FileNotFoundException) when (attempt < 5)
            {
            }
        }
    }

    private static string DescribeMetadataFiles(BrokerInstance broker)
    {
        var files = Directory.EnumerateFiles(broker.DataDirectory, "*", SearchOption.AllDirectories).ToList();
        var snapshots = files.Where(f => f.EndsWith(".checkpoint", StringComparison.Ordinal) && f.Contains("snapshot", StringComparison.Ordinal))
            .Select(f => new FileInfo(f)).OrderBy(f => f.Name, StringComparer.Ordinal).ToList();
        var logs = files.Where(f => Path.GetFileName(f).StartsWith("quorum-", StringComparison.Ordinal) && f.EndsWith(".log", StringComparison.Ordinal))
            .Select(f => new FileInfo(f)).ToList();
        var latest = snapshots.LastOrDefault();
        return $"{snapshots.Count} snapshot(s), latest {(latest is null ? "none" : $"{latest.Name} ({latest.Length / 1024:N0} KiB)")}; " +
               $"log {string.Join(", ", logs.Select(l => $"{l.Name} ({l.Length / 1024:N0} KiB)"))}";
    }

    private static string OpenFileLimit()
    {
        foreach (var line in File.ReadLines("/proc/self/limits"))
        {
            if (line.StartsWith("Max open files", StringComparison.Ordinal))
            {
                return string.Join(' ', line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries).Take(2));
            }
        }

        return "?";
    }

    private static int EnvInt(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : fallback;
}
