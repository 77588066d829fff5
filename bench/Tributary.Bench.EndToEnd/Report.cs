using System.Globalization;
using System.Text;

namespace Tributary.Bench.EndToEnd;

/// <summary>Sizes for one run; every one can be lowered from the environment on a slow machine, and all are printed.</summary>
internal sealed record BenchSettings(
    string BrokerDll, string ScratchRoot, string? ResultsFile, int Partitions, long Messages100, long Messages1K,
    TimeSpan LatencyDuration, int[] ScalePartitions, long RecoveryMiB, string[] Sections)
{
    /// <summary>Whether BENCH_SECTIONS (comma-separated: clients, scale, recovery; default all) includes <paramref name="section"/>.</summary>
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
            (Environment.GetEnvironmentVariable("BENCH_SECTIONS") ?? "clients,scale,recovery").Split(',', StringSplitOptions.TrimEntries));
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

    public void Row(string metric, double ours, double mock, string format, string target, long errors) =>
        _rows.Add($"| {metric} | {ours.ToString(format, CultureInfo.InvariantCulture)} | {mock.ToString(format, CultureInfo.InvariantCulture)} | " +
                  $"{(mock > 0 ? (ours / mock).ToString("0.00", CultureInfo.InvariantCulture) + "×" : "-")} | {target}{(errors > 0 ? $" ({errors} errors)" : "")} |");

    public void NotAvailable(string metric, string why) => _rows.Add($"| {metric} | {why} | | | |");

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
            "(test.mock.num.brokers=3) driven by the same code in the same run. MiB/s counts values only.");
        md.AppendLine();
        md.AppendLine("| Metric | Tributary | librdkafka mock | Ratio | Target |");
        md.AppendLine("|---|---:|---:|---:|---|");
        _rows.ForEach(r => md.AppendLine(r));
        md.AppendLine();
        md.AppendLine("| Partitions | Fresh start to /readyz | Create topics | Clean stop (SIGTERM) | Restart to /readyz | RSS after restart | RSS after create | Open fds | Target / note |");
        md.AppendLine("|---:|---:|---:|---:|---:|---:|---:|---:|---|");
        foreach (var s in Scale)
        {
            var target = s.Partitions == 1000 ? $"RSS ≤ 512 MiB: {(s.RssMiB <= 512 ? "met" : $"missed ({s.RssMiB / 512:P0})")}"
                : $"starts: {(s.Restart is null ? "NO" : "yes")}";
            md.AppendLine(CultureInfo.InvariantCulture,
                $"| {s.Partitions:N0} | {s.FreshStart.TotalSeconds:N2} s | {s.CreateSeconds:N1} s | {s.CleanStop.TotalSeconds:N1} s | {(s.Restart is { } r ? $"{r.TotalSeconds:N2} s" : "failed")} | {s.RssMiB:N0} MiB | {s.RssAfterCreateMiB:N0} MiB | {s.OpenFiles:N0} | {target}{(s.Note is null ? "" : "; file-limit check at " + s.Note.Replace("|", "/", StringComparison.Ordinal))} |");
        }

        md.AppendLine();
        if (Recovery is { } rec)
        {
            md.AppendLine(CultureInfo.InvariantCulture,
                $"Recovery: {rec.Bytes / (1024.0 * 1024):N0} MiB of log in {settings.Partitions} partitions (1 KiB values; the issue's ~10 GB unless BENCH_RECOVERY_MIB or a quarter of the free disk is less), SIGKILL right after the last ack (page cache intact), restart to /readyz in **{rec.Ready.TotalSeconds:N2} s** " +
                $"(target ≤ 10 s: {(rec.Ready.TotalSeconds <= 10 ? "met" : "missed")}).");
        }

        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Broker RSS after the client runs: {ThroughputRss:N0} MiB.");
        return md.ToString();
    }
}
