namespace Tributary.Storage.Cleaner;

/// <summary>
/// Which segments of a compacted log the cleaner may touch now: [0, <see cref="EndIndex"/>) are closed, older than
/// min.compaction.lag.ms and wholly below the high watermark; [<see cref="FirstDirtyIndex"/>, <see cref="EndIndex"/>) were appended
/// since the last cleaning.
/// </summary>
internal readonly record struct CleanableRange(int FirstDirtyIndex, int EndIndex, long CleanBytes, long DirtyBytes, bool MustClean)
{
    /// <summary>Dirty share of the cleanable bytes (Kafka's cleanableRatio).</summary>
    public double DirtyRatio => CleanBytes + DirtyBytes == 0 ? 0 : (double)DirtyBytes / (CleanBytes + DirtyBytes);

    /// <summary>True if min.cleanable.dirty.ratio, max.compaction.lag.ms or an expired tombstone horizon asks for a cleaning.</summary>
    public bool IsDue(LogConfig config) => EndIndex > 0 && (MustClean || (DirtyBytes > 0 && DirtyRatio >= config.MinCleanableDirtyRatio));

    public static CleanableRange Compute(LogSegment[] segments, LogConfig config, long cleanerCheckpoint, long logStartOffset,
        long lastStableOffset, long earliestDeleteHorizonMs, long nowMs)
    {
        // The active segment is never cleaned; nor is anything from the first segment holding records younger than the lag.
        int end = segments.Length - 1;
        if (config.MinCompactionLagMs > 0)
        {
            for (int i = 0; i < end; i++)
            {
                if (segments[i].MaxTimestampAndOffset.Timestamp > nowMs - config.MinCompactionLagMs)
                {
                    end = i;
                    break;
                }
            }
        }

        // Kafka's LogCleanerManager.cleanableOffsets never cleans past the last stable offset (which is at most the high watermark):
        // a segment is cleanable only if the next one starts at or below it. Above the high watermark records may still be truncated
        // away; above the LSO an open transaction may still abort, so its keys must not hide older values.
        for (int i = 0; i < end; i++)
        {
            if (segments[i + 1].BaseOffset > lastStableOffset)
            {
                end = i;
                break;
            }
        }

        // A checkpoint past the log end (the log was truncated below it) says nothing about the records there now.
        long firstDirty = cleanerCheckpoint > segments[^1].NextOffset ? logStartOffset : Math.Max(cleanerCheckpoint, logStartOffset);
        int firstDirtyIndex = 0;
        while (firstDirtyIndex < end && segments[firstDirtyIndex].NextOffset <= firstDirty && segments[firstDirtyIndex + 1].BaseOffset <= firstDirty)
        {
            firstDirtyIndex++;
        }

        long clean = 0;
        long dirty = 0;
        for (int i = 0; i < end; i++)
        {
            if (i < firstDirtyIndex)
            {
                clean += segments[i].Size;
            }
            else
            {
                dirty += segments[i].Size;
            }
        }

        bool lagExceeded = firstDirtyIndex < end && config.MaxCompactionLagMs != long.MaxValue
            && nowMs - FirstTimestampOf(segments[firstDirtyIndex]) > config.MaxCompactionLagMs;
        bool tombstonesExpired = end > 0 && earliestDeleteHorizonMs != PartitionLog.UnknownDeleteHorizon && earliestDeleteHorizonMs <= nowMs;
        return new CleanableRange(Math.Min(firstDirtyIndex, end), end, clean, dirty, lagExceeded || tombstonesExpired);
    }

    /// <summary>When the segment started filling: its creation or first append (RollBaseTimeMs), Kafka uses the first batch's time.</summary>
    private static long FirstTimestampOf(LogSegment segment) => segment.RollBaseTimeMs;
}
