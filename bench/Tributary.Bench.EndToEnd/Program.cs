using System.Diagnostics;
using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Tributary.Bench.EndToEnd;

// End-to-end bench: Tributary vs librdkafka's mock cluster with the same client code in the same run, then scale and
// recovery on one broker. Sizes come from the environment so a slow machine can scale them down (all printed).
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
var settings = BenchSettings.FromEnvironment();
var report = new Report();

AssertBundledLibrdkafka();
var brokerDll = settings.BrokerDll;
if (!File.Exists(brokerDll))
{
    Console.Error.WriteLine($"broker not built: {brokerDll} (make bench builds it)");
    return 2;
}

if (args is ["restarts", ..])
{
    // Issue 19's restart proof runs alone (make bench-restarts): no machine-limit probes, its own cluster and table.
    return RestartsBench.Run(brokerDll, settings.ScratchRoot);
}

var scratch = Path.Combine(settings.ScratchRoot, "tributary-bench-" + Guid.NewGuid().ToString("N"));
Directory.CreateDirectory(scratch);
try
{
    Section("Machine limits");
    var loopback = MachineLimits.LoopbackMiBPerSecond(2L << 30);
    var diskWrite = MachineLimits.SequentialWriteMiBPerSecond(scratch, 1L << 30);
    var fsyncs = MachineLimits.FsyncsPerSecond(scratch, 300);
    var (newPages, cachedPages) = MachineLimits.PageCacheWriteMiBPerSecond(scratch, 1L << 30);
    report.Machine = $"{Environment.ProcessorCount} cores, {Math.Round(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 1e9)} GB RAM, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}, librdkafka {Library.VersionString}";
    report.Limits.Add($"loopback TCP copy (1 connection): {loopback:N0} MiB/s");
    report.Limits.Add($"sequential write + fsync (1 GiB in {settings.ScratchRoot}): {diskWrite:N0} MiB/s");
    report.Limits.Add($"4 KiB write + fsync: {fsyncs:N0} fsyncs/s");
    report.Limits.Add($"page-cache write without fsync (1 GiB): {newPages:N0} MiB/s into new pages, {cachedPages:N0} MiB/s over cached ones " +
        "(a log append pays the first; RF=3 writes every byte on 3 brokers)");
    report.Limits.ForEach(Console.WriteLine);
    var oneKiBLimit = Math.Min(loopback, diskWrite);

    if (settings.Runs("clients"))
    {
        Clients(loopback, oneKiBLimit);
    }

    if (settings.Runs("replicated"))
    {
        Replicated(newPages);
    }

    if (settings.Runs("idle"))
    {
        Section("Idle partitions: light-load latency and RF=3 throughput on 3 brokers hosting many idle RF=3 partitions (issue 20)");
        IdlePartitionsBench.Run(settings, report, brokerDll, scratch);
    }

    if (settings.Runs("transactions"))
    {
        Section("Transactions: 3 Tributary brokers (RF=3, min.insync.replicas=2), idempotent acks=all vs transactional producers (issue 21)");
        TransactionsBench.Run(settings, report, brokerDll, scratch);
    }

    if (settings.Runs("scale"))
    {
        Section("Scale: partitions on one broker");
        foreach (var partitions in settings.ScalePartitions)
        {
            Scale(partitions);
        }
    }

    if (settings.Runs("recovery"))
    {
        // The issue asks for ~10 GB; take at most a quarter of the free space so a small disk still runs the bench.
        var freeMiB = new DriveInfo(scratch).AvailableFreeSpace / (1024 * 1024);
        var recoveryMiB = Math.Min(settings.RecoveryMiB, freeMiB / 4);
        Section($"Recovery after SIGKILL with {recoveryMiB:N0} MiB of log (asked {settings.RecoveryMiB:N0}, {freeMiB:N0} MiB free)");
        Recovery(recoveryMiB);
    }
}
finally
{
    Directory.Delete(scratch, recursive: true);
}

var markdown = report.ToMarkdown(settings);
Console.WriteLine();
Console.WriteLine(markdown);
if (settings.ResultsFile is { } file)
{
    Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(file))!);
    File.WriteAllText(file, markdown);
    Console.WriteLine($"written to {file}");
}

return 0;

void Clients(double loopback, double oneKiBLimit)
{
    Section("Clients: Tributary (1 broker) vs librdkafka mock cluster (test.mock.num.brokers=3)");
    var tributary = new BrokerInstance(brokerDll, Path.Combine(scratch, "throughput"));
    Dictionary<string, Throughput> ours, mock;
    Latency oursLatency, mockLatency;
    using (tributary)
    {
        tributary.Start(TimeSpan.FromSeconds(60));
        (ours, oursLatency) = RunClients("tributary", tributary.BootstrapServers, settings, autoCreate: false, [tributary.Pid]);
        report.ThroughputRss = tributary.RssMiB();
        tributary.Stop();
    }

    var (mockOwner, mockBootstrap) = ClientBench.StartMockCluster(3);
    using (mockOwner)
    {
        (mock, mockLatency) = RunClients("mock", mockBootstrap, settings, autoCreate: true, []);
    }

    foreach (var size in new[] { 100, 1024 })
    {
        var label = size == 100 ? "100 B" : "1 KiB";
        foreach (var kind in new[] { "produce", "consume" })
        {
            var o = ours[$"{kind}-{size}"];
            var m = mock[$"{kind}-{size}"];
            string MsgTarget() => size == 100
                ? kind == "produce" ? Target(o.MessagesPerSecond / m.MessagesPerSecond, 1.0, "× mock") + "; " + Target(o.MessagesPerSecond / 1_000_000, 1.0, "× 1,000,000 msg/s")
                : Target(o.MessagesPerSecond / m.MessagesPerSecond, 1.0, "× mock")
                : "";
            string MbTarget() => size == 1024 ? Target(o.MiBPerSecond / (kind == "produce" ? oneKiBLimit : loopback), 0.70, kind == "produce" ? "of min(loopback, disk)" : "of loopback") : "";
            // The mock keeps only the newest few MB per partition: its consume re-reads that window, one seek per pass.
            var caveat = kind == "consume" && m.Retained < m.Messages
                ? $" [mock held {m.Retained:N0} msgs, read {(double)m.Messages / m.Retained:N0}× with a seek per partition pass: its figure is a lower bound]" : "";
            report.Row($"{kind} {label}, acks=1, 1 broker: msg/s", o.MessagesPerSecond, m.MessagesPerSecond, "N0", MsgTarget() + caveat, o.Errors, o.Cpu + " / " + m.Cpu);
            report.Row($"{kind} {label}, acks=1, 1 broker: MiB/s", o.MiBPerSecond, m.MiBPerSecond, "N1", MbTarget(), o.Errors);
        }
    }

    report.Row($"produce latency p50 (ms), 100 B at 50 % of max ({oursLatency.RatePerSecond:N0} vs {mockLatency.RatePerSecond:N0} msg/s)", oursLatency.P50, mockLatency.P50, "N2", "", oursLatency.Errors);
    report.Row("produce latency p99 (ms)", oursLatency.P99, mockLatency.P99, "N2", "", oursLatency.Errors);
    report.Row("produce latency p99.9 (ms)", oursLatency.P999, mockLatency.P999, "N2", "", oursLatency.Errors);
}

void Replicated(double newPageMiBPerSecond)
{
    Section("Replicated: 3 Tributary brokers (RF=3, min.insync.replicas=2) vs librdkafka mock cluster (3 brokers, RF=3 topic), acks=all");
    Dictionary<string, Throughput> ours, mock;
    Latency oursLatency, mockLatency;
    var (cluster, ready) = BrokerCluster.Start(brokerDll, Path.Combine(scratch, "replicated"), 3, TimeSpan.FromSeconds(120), settings.Rf3BrokerOverrides);
    if (settings.Rf3BrokerOverrides.Count > 0)
    {
        Console.WriteLine("broker overrides (BENCH_RF3_BROKER_OVERRIDES): " + string.Join(", ", settings.Rf3BrokerOverrides.Select(kv => $"{kv.Key}={kv.Value}")));
    }

    using (cluster)
    {
        Console.WriteLine($"3-broker cluster ready (all /readyz 200) after {ready.TotalSeconds:N1} s: kafka {cluster.BootstrapServers}, http (/metrics) " +
            string.Join(',', cluster.Brokers.Select(b => b.HttpPort)));
        try
        {
            (ours, oursLatency) = RunReplicated("tributary", cluster.BootstrapServers, cluster);
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
                    File.Copy(file, Path.Combine(keep, Path.GetFileName(file)), overwrite: true);
                }

                Console.WriteLine($"  broker output kept in {keep}");
            }
        }

        report.ReplicatedRss = string.Join(", ", cluster.Brokers.Select((b, i) => $"broker {i + 1} {b.RssMiB():N0} MiB"));
        Console.WriteLine("RSS: " + report.ReplicatedRss);
    }

    var (mockOwner, mockBootstrap) = ClientBench.StartMockCluster(3);
    using (mockOwner)
    {
        (mock, mockLatency) = RunReplicated("mock", mockBootstrap, cluster: null);
    }

    foreach (var size in new[] { 100, 1024 })
    {
        var label = size == 100 ? "100 B" : "1 KiB";
        foreach (var kind in new[] { "produce", "consume" })
        {
            var o = ours[$"{kind}-{size}"];
            var m = mock[$"{kind}-{size}"];
            var target = kind == "produce" ? Target(o.MessagesPerSecond / m.MessagesPerSecond, 0.5, "× mock") : "";
            if (kind == "produce" && size == 1024)
            {
                target += $"; the 3 brokers wrote ≈ {3 * o.MiBPerSecond:N0} MiB/s of values into their page caches (machine: {newPageMiBPerSecond:N0} MiB/s into new pages)";
            }

            var caveat = kind == "consume" && m.Retained < m.Messages
                ? $" [mock held {m.Retained:N0} msgs, read {(double)m.Messages / m.Retained:N0}× with a seek per partition pass: its figure is a lower bound]" : "";
            var acks = kind == "produce" ? "acks=all, " : "";
            report.Row($"{kind} {label}, {acks}RF=3, 3 brokers: msg/s", o.MessagesPerSecond, m.MessagesPerSecond, "N0", target + caveat, o.Errors, o.Cpu + " / " + m.Cpu);
            report.Row($"{kind} {label}, {acks}RF=3, 3 brokers: MiB/s", o.MiBPerSecond, m.MiBPerSecond, "N1", "", o.Errors);
        }
    }

    report.Row($"produce latency p50 (ms), acks=all RF=3, 100 B at {(settings.Rf3LatencyRate > 0 ? "a fixed rate" : "50 % of max")} ({oursLatency.RatePerSecond:N0} vs {mockLatency.RatePerSecond:N0} msg/s asked; " +
        $"{oursLatency.AchievedPerSecond:N0} vs {mockLatency.AchievedPerSecond:N0} acknowledged)", oursLatency.P50, mockLatency.P50, "N2", "", oursLatency.Errors);
    report.Row("produce latency p99 (ms), acks=all RF=3", oursLatency.P99, mockLatency.P99, "N2", TargetAtMost(oursLatency.P99, 5, "ms"), oursLatency.Errors);
    report.Row("produce latency p99.9 (ms), acks=all RF=3", oursLatency.P999, mockLatency.P999, "N2", "", oursLatency.Errors);
}

// The same client code against either cluster; with a Tributary cluster, also checks after each produce run that every
// replica holds as many bytes as its leader (acknowledged means replicated, not just leader-appended).
(Dictionary<string, Throughput>, Latency) RunReplicated(string name, string bootstrap, BrokerCluster? cluster)
{
    const short replicationFactor = 3;
    int Create(string topic)
    {
        if (cluster is not null)
        {
            return ClientBench.CreateTopic(bootstrap, topic, settings.Partitions, replicationFactor: replicationFactor);
        }

        var partitions = ClientBench.CreateReplicatedTopicOnMock(bootstrap, topic, replicationFactor);
        Console.WriteLine($"  mock topic {topic} (auto-created): {ClientBench.DescribeReplicas(bootstrap, topic)}");
        return partitions;
    }

    WarmUp(name, bootstrap, Create, Acks.All, cluster?.Brokers.Select(b => b.Pid).ToArray() ?? []);
    var results = new Dictionary<string, Throughput>();
    foreach (var size in new[] { 100, 1024 })
    {
        var topic = $"bench-rf3-{size}-{Guid.NewGuid():N}";
        var partitions = Create(topic);
        var count = size == 100 ? settings.Messages100Rf3 : settings.Messages1KRf3;
        var brokerPids = cluster?.Brokers.Select(b => b.Pid).ToArray() ?? [];
        var produced = ClientBench.Produce(bootstrap, topic, size, count, brokerPids, Acks.All);
        Console.WriteLine($"{name,-10} produce {size,5} B acks=all RF=3: {produced.MessagesPerSecond,12:N0} msg/s {produced.MiBPerSecond,8:N1} MiB/s ({count:N0} msgs in {produced.Elapsed.TotalSeconds:N1} s to {partitions} partitions, {produced.Errors} errors; {produced.Cpu} cores)");
        if (cluster is not null)
        {
            ReplicationCheck(cluster, bootstrap, topic, partitions, count + 1); // + the producer's warm-up message
        }

        var consumed = ClientBench.Consume(bootstrap, topic, partitions, count, brokerPids);
        Console.WriteLine($"{name,-10} consume {size,5} B RF=3:          {consumed.MessagesPerSecond,12:N0} msg/s {consumed.MiBPerSecond,8:N1} MiB/s ({consumed.Messages:N0} msgs in {consumed.Elapsed.TotalSeconds:N1} s, {consumed.Errors} missing/errors; {consumed.Cpu} cores)");
        results[$"produce-{size}"] = produced;
        results[$"consume-{size}"] = consumed;
    }

    var latencyTopic = $"bench-rf3-latency-{Guid.NewGuid():N}";
    Create(latencyTopic);
    var rate = settings.Rf3LatencyRate > 0 ? settings.Rf3LatencyRate : results["produce-100"].MessagesPerSecond * 0.5;
    var latency = ClientBench.PacedLatency(bootstrap, latencyTopic, 100, rate, settings.LatencyDuration, Acks.All);
    Console.WriteLine($"{name,-10} acks=all RF=3 latency at {latency.RatePerSecond:N0} msg/s (achieved {latency.AchievedPerSecond:N0}): p50 {latency.P50:N2} ms, p99 {latency.P99:N2} ms, p99.9 {latency.P999:N2} ms ({latency.Samples:N0} samples, {latency.Errors} errors)");
    if (latency.SlowSeconds.Length > 0)
    {
        Console.WriteLine($"  acknowledgements over 50 ms, by second of sending: {latency.SlowSeconds}");
    }

    return (results, latency);
}

void ReplicationCheck(BrokerCluster cluster, string bootstrap, string topic, int partitions, long expectedMessages)
{
    // Right after the last acks=all acknowledgement every in-sync replica holds the data; a follower outside the ISR may
    // still be catching up, so poll (bounded) until the replicas agree and say how long that took.
    var clock = Stopwatch.StartNew();
    IReadOnlyList<ReplicaSize> sizes;
    bool agree;
    do
    {
        sizes = cluster.LogSizes(topic);
        agree = sizes.Count == partitions * cluster.Brokers.Count
            && sizes.GroupBy(s => s.Partition).All(g => g.Select(s => s.Bytes).Distinct().Count() == 1);
        if (!agree)
        {
            Thread.Sleep(200);
        }
    }
    while (!agree && clock.Elapsed < TimeSpan.FromSeconds(30));

    var hw = ClientBench.HighWatermarks(bootstrap, topic, partitions);
    var perPartition = string.Join("; ", sizes.GroupBy(s => s.Partition).OrderBy(g => g.Key)
        .Select(g => $"p{g.Key}: " + string.Join(" / ", g.OrderBy(s => s.NodeId).Select(s => $"b{s.NodeId} {s.Bytes:N0}"))));
    var verdict = agree
        ? $"all {sizes.Count} replicas equal{(clock.Elapsed > TimeSpan.FromSeconds(1) ? $" after {clock.Elapsed.TotalSeconds:N1} s" : "")}"
        : $"replicas DIFFER after {clock.Elapsed.TotalSeconds:N0} s ({sizes.Count} of {partitions * cluster.Brokers.Count} reported)";
    var line = $"{topic[..Math.Min(topic.Length, 19)]}…: {verdict}; high watermarks sum {hw:N0} (produced {expectedMessages:N0}{(hw == expectedMessages ? "" : ", MISMATCH")}); {perPartition}";
    Console.WriteLine("replication check " + line);
    report.Replication.Add(line);
}

(Dictionary<string, Throughput>, Latency) RunClients(string name, string bootstrap, BenchSettings s, bool autoCreate, int[] brokerPids)
{
    WarmUp(name, bootstrap, topic => ClientBench.CreateTopic(bootstrap, topic, s.Partitions, autoCreate), Acks.Leader, brokerPids);
    var results = new Dictionary<string, Throughput>();
    foreach (var size in new[] { 100, 1024 })
    {
        var topic = $"bench-{size}-{Guid.NewGuid():N}";
        var partitions = ClientBench.CreateTopic(bootstrap, topic, s.Partitions, autoCreate);
        var count = size == 100 ? s.Messages100 : s.Messages1K;
        var produced = ClientBench.Produce(bootstrap, topic, size, count, brokerPids);
        Console.WriteLine($"{name,-10} produce {size,5} B: {produced.MessagesPerSecond,12:N0} msg/s {produced.MiBPerSecond,8:N1} MiB/s ({count:N0} msgs in {produced.Elapsed.TotalSeconds:N1} s to {partitions} partitions, {produced.Errors} errors; {produced.Cpu} cores)");
        var consumed = ClientBench.Consume(bootstrap, topic, partitions, count, brokerPids);
        Console.WriteLine($"{name,-10} consume {size,5} B: {consumed.MessagesPerSecond,12:N0} msg/s {consumed.MiBPerSecond,8:N1} MiB/s ({consumed.Messages:N0} msgs in {consumed.Elapsed.TotalSeconds:N1} s, {consumed.Errors} missing/errors; {consumed.Cpu} cores)");
        results[$"produce-{size}"] = produced;
        results[$"consume-{size}"] = consumed;
    }

    var latencyTopic = $"bench-latency-{Guid.NewGuid():N}";
    ClientBench.CreateTopic(bootstrap, latencyTopic, s.Partitions, autoCreate);
    var latency = ClientBench.PacedLatency(bootstrap, latencyTopic, 100, results["produce-100"].MessagesPerSecond * 0.5, s.LatencyDuration);
    Console.WriteLine($"{name,-10} latency at {latency.RatePerSecond:N0} msg/s: p50 {latency.P50:N2} ms, p99 {latency.P99:N2} ms, p99.9 {latency.P999:N2} ms ({latency.Samples:N0} samples, {latency.Errors} errors)");
    if (latency.SlowSeconds.Length > 0)
    {
        Console.WriteLine($"  acknowledgements over 50 ms, by second of sending: {latency.SlowSeconds}");
    }

    return (results, latency);
}

// Not measured: a fresh broker process compiles its hot paths (tiered JIT, several compilations per method) during its first
// seconds, on the same 2 cores the client needs; the mock is native code. Both targets get the same warm-up, then the
// measured runs see steady state, as a long-running broker would.
void WarmUp(string name, string bootstrap, Func<string, int> create, Acks acks, int[] brokerPids)
{
    if (settings.WarmupMessages <= 0)
    {
        return;
    }

    var clock = Stopwatch.StartNew();
    foreach (var (size, count) in new[] { (100, settings.WarmupMessages), (1024, settings.WarmupMessages / 5) })
    {
        var topic = $"bench-warmup-{size}-{Guid.NewGuid():N}";
        var partitions = create(topic);
        ClientBench.Produce(bootstrap, topic, size, count, brokerPids, acks);
        ClientBench.Consume(bootstrap, topic, partitions, count, brokerPids);
    }

    Console.WriteLine($"{name,-10} warm-up ({settings.WarmupMessages:N0} × 100 B and {settings.WarmupMessages / 5:N0} × 1 KiB produced and consumed, not measured): {clock.Elapsed.TotalSeconds:N1} s");
}

void Scale(int partitions)
{
    var topics = Math.Max(1, partitions / 1000);
    using var broker = new BrokerInstance(brokerDll, Path.Combine(scratch, $"scale-{partitions}"));
    var fresh = broker.Start(TimeSpan.FromSeconds(120));
    var create = Stopwatch.StartNew();
    for (var t = 0; t < topics; t++)
    {
        ClientBench.CreateTopic(broker.BootstrapServers, $"scale-{t}", partitions / topics);
    }

    var createSeconds = create.Elapsed.TotalSeconds;
    var rssAfterCreate = broker.RssMiB();
    var stop = broker.Stop();
    TimeSpan restart;
    try
    {
        restart = broker.Start(TimeSpan.FromSeconds(600));
    }
    catch (Exception e) when (e is InvalidOperationException or TimeoutException)
    {
        Console.WriteLine($"{partitions:N0} partitions: restart FAILED: {e.Message}");
        report.Scale.Add(new ScaleRow(partitions, fresh, createSeconds, null, rssAfterCreate, double.NaN, -1, e.Message.Split('\n')[0]));
        return;
    }

    Thread.Sleep(2000); // let start-up garbage settle before reading RSS
    var rss = broker.RssMiB();
    var files = broker.OpenFiles();
    Console.WriteLine($"{partitions:N0} partitions ({topics} topics): create {createSeconds:N1} s, clean stop {stop.TotalSeconds:N1} s, restart to /readyz {restart.TotalSeconds:N2} s, RSS {rss:N0} MiB (after create {rssAfterCreate:N0}), open fds {files:N0}");
    string? refusal = null;
    broker.Stop();
    if (partitions >= 10_000)
    {
        // Too low a limit must be named at start, not discovered later as "Too many open files".
        var limit = partitions / 2;
        var (exit, reason) = broker.StartExpectingRefusal(limit, TimeSpan.FromSeconds(60));
        refusal = $"`ulimit -n {limit}`: exit {exit}: {reason}";
        Console.WriteLine("file-limit check: " + refusal);
    }

    report.Scale.Add(new ScaleRow(partitions, fresh, createSeconds, restart, rss, rssAfterCreate, files, refusal) { CleanStop = stop });
}

void Recovery(long recoveryMiB)
{
    using var broker = new BrokerInstance(brokerDll, Path.Combine(scratch, "recovery"));
    broker.Start(TimeSpan.FromSeconds(60));
    ClientBench.CreateTopic(broker.BootstrapServers, "recovery", settings.Partitions);
    var count = recoveryMiB * 1024L;
    var produced = ClientBench.Produce(broker.BootstrapServers, "recovery", 1024, count, [broker.Pid]);
    broker.Kill();
    var onDisk = Directory.EnumerateFiles(broker.DataDirectory, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
    var ready = broker.Start(TimeSpan.FromSeconds(600));
    Console.WriteLine($"recovery: {onDisk / (1024.0 * 1024):N0} MiB on disk ({produced.Messages:N0} msgs, written at {produced.MiBPerSecond:N0} MiB/s), SIGKILL, restart to /readyz {ready.TotalSeconds:N2} s");
    report.Recovery = (onDisk, ready);
    broker.Stop();
}

static void Section(string title) => Console.WriteLine($"{Environment.NewLine}== {title} ({DateTime.UtcNow:HH:mm:ss} UTC)");

static string Target(double achieved, double target, string unit) =>
    $"{achieved:0.00} {unit} (target ≥ {target:0.00}: {(achieved >= target ? "met" : $"{achieved / target:P0} of target")})";

static string TargetAtMost(double achieved, double limit, string unit) =>
    $"{achieved:0.00} {unit} (target ≤ {limit:0.##} {unit}: {(achieved <= limit ? "met" : $"{achieved / limit:0.0}× the limit")})";

static void AssertBundledLibrdkafka()
{
    var loaded = Library.VersionString;
    var package = typeof(Library).Assembly.GetName().Version!;
    var expected = $"{package.Major}.{package.Minor}.";
    if (!loaded.StartsWith(expected, StringComparison.Ordinal))
    {
        throw new InvalidOperationException($"Confluent.Kafka {package} loaded librdkafka {loaded}, not its bundled {expected}x: " +
            "run with LD_LIBRARY_PATH=<bench output>/runtimes/linux-x64/native:<repo>/.tools/sasl (make sasl)");
    }

    Console.WriteLine($"librdkafka {loaded} (bundled with Confluent.Kafka {package.ToString(3)})");
}
