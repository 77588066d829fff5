using System.Globalization;
using System.Text;

namespace Tributary.Bench.EndToEnd;

/// <summary>Sizes for one run; every one can be lowered from the environment on a slow machine, and all are printed.</summary>
internal sealed record BenchSettings(
    string BrokerDll, string ScratchRoot, string? ResultsFile, int Partitions, long Messages100, long Messages1K,
    TimeSpan LatencyDuration, int[] ScalePartitions, long RecoveryMiB, string[] Sections)
{
    /// <summary>100 B values produced (and consumed) in the replicated section (BENCH_MESSAGES_RF3).</summary>
    public long Messages100Rf3 { get; init; }

    /// <summary>1 KiB values produced (and consumed) in the replicated section (BENCH_MESSAGES_RF3_1KIB).</summary>
    public long Messages1KRf3 { get; init; }

    /// <summary>100 B values (and a fifth as many 1 KiB ones) produced and consumed before each target's measured runs (BENCH_WARMUP_MESSAGES; 0: none).</summary>
    public long WarmupMessages { get; init; }

    /// <summary>Fixed rate (msg/s) for the RF=3 latency rows instead of half the measured maximum (BENCH_RF3_LATENCY_RATE); 0: half the maximum.</summary>
    public double Rf3LatencyRate { get; init; }

    /// <summary>Extra settings for every broker of the 3-broker cluster (BENCH_RF3_BROKER_OVERRIDES="key=value,key=value"), for tuning experiments.</summary>
    public IReadOnlyDictionary<string, string> Rf3BrokerOverrides { get; init; } = new Dictionary<string, string>();

    /// <summary>Where to keep the 3-broker cluster's output (broker-N.out) after the run (BENCH_BROKER_LOGS); null: deleted with the scratch directory.</summary>
    public string? BrokerLogs { get; init; }

    /// <summary>100 B values per run of the transactions section (BENCH_TXN_MESSAGES): no transactions, commit every 100 ms, every 1,000 records.</summary>
    public long TxnMessages { get; init; }

    /// <summary>Whether BENCH_SECTIONS (comma-separated: clients, replicated, idle, transactions, scale, recovery; default all) includes <paramref name="section"/>.</summary>
    public bool Runs(string section) => Sections.Contains(section, StringComparer.OrdinalIgnoreCase);

    public static BenchSettings FromEnvironment()
    {
        static long Number(string name, long fallback) =>
            long.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : fallback;

        return new BenchSettings(
            Environment.GetEnvironmentVariable("BENCH_BROKER_DLL") ?? Path.Combine(RepositoryRoot(), "broker/src/Tributary.Host/bin/Release/net10.0/tributary-broker.dll"),
            Environment.GetEnvironmentVariable("BENCH_SCRATCH") ?? Path.GetTempPath(),
            Environment.GetEnvironmentVariable("BENCH_RESULTS"),
            (int)Number("BENCH_PARTITIONS", 4),
            Number("BENCH_MESSAGES_100B", 5_000_000),
            Number("BENCH_MESSAGES_1KIB", 2_000_000),
            TimeSpan.FromSeconds(Number("BENCH_LATENCY_SECONDS", 5)),
            [.. (Environment.GetEnvironmentVariable("BENCH_SCALE_PARTITIONS") ?? "1000,10000").Split(',').Select(p => int.Parse(p, CultureInfo.InvariantCulture))],
            Number("BENCH_RECOVERY_MIB", 10240),
            (Environment.GetEnvironmentVariable("BENCH_SECTIONS") ?? "clients,replicated,idle,transactions,scale,recovery").Split(',', StringSplitOptions.TrimEntries))
        {
            Messages100Rf3 = Number("BENCH_MESSAGES_RF3", 2_000_000),
            Messages1KRf3 = Number("BENCH_MESSAGES_RF3_1KIB", 500_000),
            BrokerLogs = Environment.GetEnvironmentVariable("BENCH_BROKER_LOGS"),
            Rf3LatencyRate = Number("BENCH_RF3_LATENCY_RATE", 0),
            WarmupMessages = Number("BENCH_WARMUP_MESSAGES", 1_000_000),
            TxnMessages = Number("BENCH_TXN_MESSAGES", 2_000_000),
            Rf3BrokerOverrides = (Environment.GetEnvironmentVariable("BENCH_RF3_BROKER_OVERRIDES") ?? "")
                .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(pair => pair.Split('=', 2))
                .ToDictionary(kv => kv[0], kv => kv.Length > 1 ? kv[1] : ""),
        };
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Cluster.sln")))
            {
                return dir.FullName;
            }
        }

        return Directory.GetCurrentDirectory();
    }
}

/// <summary>One scale measurement: start-up after a clean stop with this many partitions on disk.</summary>
internal sealed record ScaleRow(int Partitions, TimeSpan FreshStart, double CreateSeconds, TimeSpan? Restart, double RssMiB, double RssAfterCreateMiB, int OpenFiles, string? Note)
{
    public TimeSpan CleanStop { get; init; }
}

/// <summary>Collects the figures and renders the markdown table written to bench/results/latest.md.</summary>
internal sealed class Report
{
    private readonly List<string> _rows = [];

    public string Machine { get; set; } = "";
    public List<string> Limits { get; } = [];
    public List<ScaleRow> Scale { get; } = [];
    public (long Bytes, TimeSpan Ready)? Recovery { get; set; }
    public double ThroughputRss { get; set; }

    /// <summary>Lines of the replicated section's replication check (log size of every replica after the produce runs).</summary>
    public List<string> Replication { get; } = [];

    /// <summary>RSS of each broker of the 3-broker cluster after its client runs (empty when the section did not run).</summary>
    public string ReplicatedRss { get; set; } = "";

    public void Row(string metric, double ours, double mock, string format, string target, long errors, string cpu = "") =>
        _rows.Add($"| {metric} | {ours.ToString(format, CultureInfo.InvariantCulture)} | {mock.ToString(format, CultureInfo.InvariantCulture)} | " +
                  $"{(mock > 0 ? (ours / mock).ToString("0.00", CultureInfo.InvariantCulture) + "×" : "-")} | {cpu} | {target}{(errors > 0 ? $" ({errors} errors)" : "")} |");

    /// <summary>Light-load latency with idle partitions (BENCH_SECTIONS=idle), in the order measured.</summary>
    public List<IdleLatencyRow> IdleLatency { get; } = [];

    /// <summary>RF=3 acks=all throughput with idle partitions (BENCH_SECTIONS=idle).</summary>
    public List<IdleThroughputRow> IdleThroughput { get; } = [];

    /// <summary>Broker CPU and follower fetches with idle partitions and no traffic, one line per idle count.</summary>
    public List<string> IdleNotes { get; } = [];

    /// <summary>Per-step breakdown of each light-load latency row from the brokers' own histograms (tributary_produce_stage_seconds).</summary>
    public List<string> IdleBreakdown { get; } = [];

    /// <summary>The mock's light-load latency, by acks ("1", "all").</summary>
    public Dictionary<string, Latency> IdleMock { get; } = [];

    /// <summary>Turns the idle-partitions measurements into table rows (after the mock's run, for the ratios).</summary>
    public void FinishIdleRows()
    {
        foreach (var row in IdleLatency)
        {
            var mock = IdleMock.GetValueOrDefault(row.Acks == "acks=all" ? "all" : "1");
            var what = $"produce latency {{0}} (ms), 100 B at {row.Latency.RatePerSecond:N0} msg/s linger 0, {row.Acks}, RF=3, {row.IdlePartitions:N0} idle RF=3 partitions";
            var allTarget = row.Acks == "acks=all" && row.IdlePartitions >= 1000;
            Row(string.Format(CultureInfo.InvariantCulture, what, "p50"), row.Latency.P50, mock.P50, "N2",
                allTarget ? Limit(row.Latency.P50, 1.5) : "", row.Latency.Errors);
            Row(string.Format(CultureInfo.InvariantCulture, what, "p99"), row.Latency.P99, mock.P99, "N2",
                (allTarget ? Limit(row.Latency.P99, 5) + "; " : "") + row.Fetches, row.Latency.Errors);
        }

        var baseline = IdleThroughput.Where(r => r.IdlePartitions == IdleThroughput.Min(x => x.IdlePartitions)).ToDictionary(r => r.ValueBytes);
        foreach (var row in IdleThroughput)
        {
            var label = row.ValueBytes == 100 ? "100 B" : "1 KiB";
            var target = row.IdlePartitions >= 1000 && baseline.TryGetValue(row.ValueBytes, out var b)
                ? $"{row.Produced.MessagesPerSecond / b.Produced.MessagesPerSecond:0.00}× the {b.IdlePartitions:N0}-idle figure (target ≥ 0.90: " +
                  $"{(row.Produced.MessagesPerSecond >= 0.9 * b.Produced.MessagesPerSecond ? "met" : "missed")})"
                : "";
            Row($"produce {label}, acks=all, RF=3, 3 brokers, {row.IdlePartitions:N0} idle RF=3 partitions: msg/s", row.Produced.MessagesPerSecond, 0, "N0", target,
                row.Produced.Errors, row.Produced.Cpu);
        }

        static string Limit(double ms, double limit) =>
            string.Create(CultureInfo.InvariantCulture, $"target ≤ {limit} ms: {(ms <= limit ? "met" : $"{ms / limit:0.0}× the limit")}");
    }

    public void NotAvailable(string metric, string why) => _rows.Add($"| {metric} | {why} | | | | |");

    public string ToMarkdown(BenchSettings settings)
    {
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"# Tributary benchmark — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Machine: {Machine}. Broker, clients and mock cluster share these cores.");
        md.AppendLine();
        md.AppendLine("Machine limits:");
        Limits.ForEach(l => md.AppendLine("- " + l));
        md.AppendLine();
        md.AppendLine($"Clients: Confluent.Kafka, acks=1, linger.ms=5 (1 for latency), no compression, topic of {settings.Partitions} partitions RF=1, " +
            $"{settings.Messages100:N0} × 100 B and {settings.Messages1K:N0} × 1 KiB values; consume = assign from the beginning; latency = send → delivery report " +
            $"over {settings.LatencyDuration.TotalSeconds:N0} s at half of each target's measured 100 B produce rate. Mock = librdkafka's in-process mock cluster " +
            "(test.mock.num.brokers=3) driven by the same code in the same run. MiB/s counts values only. CPU: cores used during the run by the " +
            "broker process(es) and by the bench process (the client; with the mock also the mock cluster, which runs inside it), from /proc: " +
            "a side near its share of the 2 cores is what bounds the row. Consumers use fetch.queue.backoff.ms=10 (see ClientBench.Consume). " +
            $"Before its measured runs each target (Tributary and the mock alike) gets an unmeasured warm-up: {settings.WarmupMessages:N0} × 100 B and " +
            $"{settings.WarmupMessages / 5:N0} × 1 KiB produced and consumed (BENCH_WARMUP_MESSAGES), so a fresh broker process is past its JIT compilation.");
        if (settings.Runs("replicated"))
        {
            md.AppendLine();
            md.AppendLine($"RF=3 rows: 3 Tributary broker processes (each broker and Raft quorum voter, min.insync.replicas=2) vs the mock with a topic of " +
                $"replication factor 3; acks=all, otherwise the same client settings; {settings.Messages100Rf3:N0} × 100 B and {settings.Messages1KRf3:N0} × 1 KiB values " +
                "(BENCH_MESSAGES_RF3, BENCH_MESSAGES_RF3_1KIB); latency at half of each target's own acks=all 100 B rate (or BENCH_RF3_LATENCY_RATE). The mock keeps one in-memory log " +
                "per partition and does not replicate, so its acks=all costs what its acks=1 does.");
        }

        if (settings.Runs("idle"))
        {
            md.AppendLine();
            md.AppendLine("Idle-partition rows (issue 20): a second 3-broker cluster (same settings) that also hosts 1, 1,000 and 10,000 idle RF=3 partitions " +
                "(BENCH_IDLE_PARTITIONS, added to the same cluster in CreateTopics requests of ≤ 1,000 partitions); 100 B at 1,000 msg/s (BENCH_IDLE_RATE) with " +
                "linger.ms=0 for BENCH_IDLE_LATENCY_SECONDS to a fresh RF=3 topic, acks=1 and acks=all; the mock has no idle partitions. The p99 rows also " +
                "give the follower fetches the brokers served during the run (tributary_replica_fetch_*: fetches per second, partitions each carried in the " +
                "request and in the response) and the bytes the brokers allocated per follower fetch. Throughput rows: RF=3 acks=all at the idle counts in " +
                "BENCH_IDLE_THROUGHPUT_AT (BENCH_IDLE_MESSAGES_RF3, BENCH_IDLE_MESSAGES_RF3_1KIB).");
        }

        if (settings.Runs("transactions"))
        {
            md.AppendLine();
            md.AppendLine($"Transaction rows (issue 21): their own 3-broker cluster (settings as the RF=3 rows); Confluent.Kafka idempotent acks=all, linger.ms=5, 100 B values, " +
                $"{settings.TxnMessages:N0} per run (BENCH_TXN_MESSAGES) without transactions, then transactional committing every 100 ms and every 1,000 records; " +
                "commit latency = CommitTransaction's duration (flush of the transaction's records + EndTxn). Each run's topic is read back with read_committed. No mock figures.");
        }

        md.AppendLine();
        md.AppendLine("| Metric | Tributary | librdkafka mock | Ratio | CPU in cores (Tributary run / mock run) | Target |");
        md.AppendLine("|---|---:|---:|---:|---|---|");
        _rows.ForEach(r => md.AppendLine(r));
        md.AppendLine();
        if (IdleNotes.Count > 0)
        {
            md.AppendLine("Idle-partition clusters with no traffic (BENCH_IDLE_QUIET_SECONDS each):");
            md.AppendLine();
            IdleNotes.ForEach(l => md.AppendLine("- " + l));
            md.AppendLine();
        }

        if (IdleBreakdown.Count > 0)
        {
            md.AppendLine("Per-step breakdown of the light-load rows, from the brokers' `tributary_produce_stage_seconds` histograms (summed over the 3 brokers; "
                + "p50/p99 are histogram bucket upper bounds):");
            md.AppendLine();
            md.AppendLine("```");
            IdleBreakdown.ForEach(l => md.AppendLine(l));
            md.AppendLine("```");
            md.AppendLine();
        }

        if (Replication.Count > 0)
        {
            md.AppendLine("Replication check (bytes on disk of every replica, from each broker's `kafka_log_log_size`, after the acks=all produce runs):");
            md.AppendLine();
            Replication.ForEach(l => md.AppendLine("- " + l));
            md.AppendLine();
        }

        if (Scale.Count > 0)
        {
            md.AppendLine("| Partitions | Fresh start to /readyz | Create topics | Clean stop (SIGTERM) | Restart to /readyz | RSS after restart | RSS after create | Open fds | Target / note |");
            md.AppendLine("|---:|---:|---:|---:|---:|---:|---:|---:|---|");
            foreach (var s in Scale)
            {
                var target = s.Partitions == 1000 ? $"RSS ≤ 512 MiB: {(s.RssMiB <= 512 ? "met" : $"missed ({s.RssMiB / 512:P0})")}"
                    : $"starts: {(s.Restart is null ? "NO" : "yes")}";
                md.AppendLine(CultureInfo.InvariantCulture,
                    $"| {s.Partitions:N0} | {s.FreshStart.TotalSeconds:N2} s | {s.CreateSeconds:N1} s | {s.CleanStop.TotalSeconds:N1} s | {(s.Restart is { } r ? $"{r.TotalSeconds:N2} s" : "failed")} | {s.RssMiB:N0} MiB | {s.RssAfterCreateMiB:N0} MiB | {s.OpenFiles:N0} | {target}{(s.Note is null ? "" : "; file-limit check at " + s.Note.Replace("|", "/", StringComparison.Ordinal))} |");
            }
        }

        md.AppendLine();
        if (Recovery is { } rec)
        {
            md.AppendLine(CultureInfo.InvariantCulture,
                $"Recovery: {rec.Bytes / (1024.0 * 1024):N0} MiB of log in {settings.Partitions} partitions (1 KiB values; the issue's ~10 GB unless BENCH_RECOVERY_MIB or a quarter of the free disk is less), SIGKILL right after the last ack (page cache intact), restart to /readyz in **{rec.Ready.TotalSeconds:N2} s** " +
                $"(target ≤ 10 s: {(rec.Ready.TotalSeconds <= 10 ? "met" : "missed")}).");
        }

        md.AppendLine();
        if (ThroughputRss > 0)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"Broker RSS after the client runs: {ThroughputRss:N0} MiB.");
        }
        if (ReplicatedRss.Length > 0)
        {
            md.AppendLine();
            md.AppendLine(CultureInfo.InvariantCulture, $"RSS of the 3 brokers after the RF=3 runs: {ReplicatedRss}.");
        }
        return md.ToString();
    }
}
