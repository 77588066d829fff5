namespace Tributary.Storage.Cleaner;

/// <summary>What one cleaning read, wrote and took (Kafka's CleanerStats): the figures behind the cleaner's gauges.</summary>
/// <param name="BytesRead">bytes of the segments rewritten.</param>
/// <param name="BytesWritten">bytes of the segments that replaced them.</param>
/// <param name="ElapsedMs">wall time of the cleaning.</param>
/// <param name="BufferUtilization">share of the dedupe buffer (key → offset map) the cleaning filled, 0 to 1.</param>
public readonly record struct LastCleaningStats(long BytesRead, long BytesWritten, long ElapsedMs, double BufferUtilization);

/// <summary>
/// A consistent view of the log cleaner for metrics (Kafka's LogCleaner and LogCleanerManager gauges): when a worker last looked
/// for work, the dirtiest log it saw, the last cleaning of each worker, dead workers and uncleanable logs per log directory.
/// </summary>
/// <param name="TimeSinceLastRunMs">since a worker last looked for a log to clean (grows without bound when the cleaner is stuck).</param>
/// <param name="MaxDirtyRatio">dirty share of the dirtiest compacted log at that look, 0 to 1.</param>
/// <param name="LastCleanings">the last cleaning of each worker that cleaned anything yet.</param>
/// <param name="DeadThreads">workers that stopped although the cleaner was not stopped.</param>
/// <param name="UncleanableLogsByDirectory">logs the cleaner gave up on, per log directory (the partition directory's parent).</param>
/// <param name="Cleanings">cleanings committed since start.</param>
/// <param name="TombstonesRemoved">tombstones removed since start (past their delete horizon, or superseded).</param>
public sealed record LogCleanerSnapshot(long TimeSinceLastRunMs, double MaxDirtyRatio, IReadOnlyList<LastCleaningStats> LastCleanings,
    int DeadThreads, IReadOnlyDictionary<string, int> UncleanableLogsByDirectory, long Cleanings, long TombstonesRemoved)
{
    /// <summary>Kafka's cleaner-recopy-percent: bytes written per byte read by the workers' last cleanings, averaged, in percent.</summary>
    public int RecopyPercent => LastCleanings.Count == 0
        ? 0
        : (int)(100 * LastCleanings.Average(stats => (double)stats.BytesWritten / Math.Max(1, stats.BytesRead)));

    /// <summary>Kafka's max-clean-time-secs: the longest of the workers' last cleanings.</summary>
    public int MaxCleanTimeSecs => LastCleanings.Count == 0 ? 0 : (int)(LastCleanings.Max(stats => stats.ElapsedMs) / 1000);

    /// <summary>Kafka's max-buffer-utilization-percent: the fullest dedupe buffer among the workers' last cleanings.</summary>
    public int MaxBufferUtilizationPercent => LastCleanings.Count == 0 ? 0 : (int)(100 * LastCleanings.Max(stats => stats.BufferUtilization));

    /// <summary>Kafka's max-dirty-percent.</summary>
    public int MaxDirtyPercent => (int)(100 * MaxDirtyRatio);
}
