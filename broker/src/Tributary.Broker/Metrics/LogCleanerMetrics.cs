using System.Diagnostics.Metrics;
using Tributary.Storage.Cleaner;

namespace Tributary.Broker.Metrics;

/// <summary>
/// Kafka's log cleaner gauges (kafka.log:type=LogCleaner and type=LogCleanerManager) under the names Strimzi's JMX exporter rules
/// give them, so a stalled or failing cleaner is visible: time since a worker last looked for work, the dirtiest log, the last
/// cleanings' cost, dead workers and uncleanable partitions. Reported only while a cleaner is attached.
/// </summary>
public sealed class LogCleanerMetrics
{
    public const string MaxCleanTimeSecs = "kafka_log_logcleaner_max_clean_time_secs";
    public const string CleanerRecopyPercent = "kafka_log_logcleaner_cleaner_recopy_percent";
    public const string MaxBufferUtilizationPercent = "kafka_log_logcleaner_max_buffer_utilization_percent";
    public const string DeadThreadCount = "kafka_log_logcleaner_deadthreadcount";

    /// <summary>Kafka registers time-since-last-run-ms on LogCleanerManager, hence this name (not kafka_log_logcleaner_…).</summary>
    public const string TimeSinceLastRunMs = "kafka_log_logcleanermanager_time_since_last_run_ms";

    public const string MaxDirtyPercent = "kafka_log_logcleanermanager_max_dirty_percent";

    /// <summary>Per log directory, label <c>logDirectory</c> (Kafka's tag).</summary>
    public const string UncleanablePartitionsCount = "kafka_log_logcleanermanager_uncleanable_partitions_count";

    private volatile Func<LogCleanerSnapshot?>? _source;
    private volatile Func<IReadOnlyList<string>>? _logDirectories;

    public LogCleanerMetrics(Meter meter)
    {
        ArgumentNullException.ThrowIfNull(meter);
        Gauge(meter, MaxCleanTimeSecs, "Duration of the longest of the cleaner threads' last cleanings, in seconds.", s => s.MaxCleanTimeSecs);
        Gauge(meter, CleanerRecopyPercent, "Bytes written per byte read by the last cleanings, in percent (100: nothing removed).",
            s => s.RecopyPercent);
        Gauge(meter, MaxBufferUtilizationPercent, "Fullest dedupe buffer (log.cleaner.dedupe.buffer.size) among the last cleanings, in percent.",
            s => s.MaxBufferUtilizationPercent);
        Gauge(meter, DeadThreadCount, "Cleaner threads that stopped although the cleaner was not stopped.", s => s.DeadThreads);
        meter.CreateObservableGauge(TimeSinceLastRunMs,
            () => Read() is { } s ? [new Measurement<long>(s.TimeSinceLastRunMs)] : Array.Empty<Measurement<long>>(),
            unit: null, description: "Milliseconds since a cleaner thread last looked for a log to clean; grows without bound when the cleaner is stuck.");
        Gauge(meter, MaxDirtyPercent, "Dirty share of the dirtiest compacted log at the cleaner's last look, in percent.", s => s.MaxDirtyPercent);
        meter.CreateObservableGauge(UncleanablePartitionsCount, ObserveUncleanable, unit: null,
            description: "Partitions the cleaner gave up on after an unexpected failure (until restart), per log directory.");
    }

    /// <summary>Reports the cleaner behind <paramref name="source"/> (null while there is none); directories get a 0 series each.</summary>
    public void AttachSource(Func<LogCleanerSnapshot?> source, Func<IReadOnlyList<string>> logDirectories)
    {
        _logDirectories = logDirectories ?? throw new ArgumentNullException(nameof(logDirectories));
        _source = source ?? throw new ArgumentNullException(nameof(source));
    }

    public void DetachSource() => _source = null;

    private LogCleanerSnapshot? Read() => _source?.Invoke();

    private void Gauge(Meter meter, string name, string description, Func<LogCleanerSnapshot, int> read) =>
        meter.CreateObservableGauge(name, () => Read() is { } s ? [new Measurement<int>(read(s))] : Array.Empty<Measurement<int>>(),
            unit: null, description: description);

    private IEnumerable<Measurement<int>> ObserveUncleanable()
    {
        if (Read() is not { } snapshot || _logDirectories is not { } directories)
        {
            yield break;
        }

        foreach (string directory in directories())
        {
            string full = Path.GetFullPath(directory).TrimEnd(Path.DirectorySeparatorChar);
            int count = snapshot.UncleanableLogsByDirectory
                .Where(entry => string.Equals(Path.GetFullPath(entry.Key).TrimEnd(Path.DirectorySeparatorChar), full, StringComparison.Ordinal))
                .Sum(entry => entry.Value);
            yield return new Measurement<int>(count, new KeyValuePair<string, object?>("logDirectory", full));
        }
    }
}
