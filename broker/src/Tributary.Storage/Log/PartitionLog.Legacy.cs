namespace Tributary.Storage;

public sealed partial class PartitionLog
{
    /// <summary>
    /// ListOffsets v0 (deprecated since Kafka 3.0, still served by 3.x): up to <paramref name="maxNumOffsets"/> offsets at
    /// segment boundaries, newest first. The candidates are each segment's base offset (not below the log start) with the
    /// segment file's modification time, plus the log end offset with the current time when the active segment holds data.
    /// -1 (latest) starts from the last candidate, -2 (earliest) from the first, a time from the newest candidate not
    /// newer than it; from there the answer walks back towards older candidates. Kafka's legacyFetchOffsetsBefore rule.
    /// </summary>
    public long[] LegacyOffsetsBefore(long timestamp, int maxNumOffsets)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxNumOffsets);
        ArgumentOutOfRangeException.ThrowIfLessThan(timestamp, -2);
        LogSegment[] segments = _segments;
        long logStart = LogStartOffset;
        bool activeHasData = segments[^1].Size > 0;
        int candidates = segments.Length + (activeHasData ? 1 : 0);

        long OffsetAt(int i) => i < segments.Length ? Math.Max(segments[i].BaseOffset, logStart) : LogEndOffset;

        int start;
        switch (timestamp)
        {
            case -1:
                start = candidates - 1;
                break;
            case -2:
                start = 0;
                break;
            default:
                long nowMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
                start = candidates - 1;
                while (start >= 0 && (start < segments.Length ? LastModifiedMs(segments[start]) : nowMs) > timestamp)
                {
                    start--;
                }

                break;
        }

        int count = Math.Min(maxNumOffsets, start + 1);
        var offsets = new long[count];
        for (int j = 0; j < count; j++)
        {
            offsets[j] = OffsetAt(start - j);
        }

        // Base offsets clamped to the log start can repeat; Kafka still lists them, newest first.
        Array.Sort(offsets, static (a, b) => b.CompareTo(a));
        return offsets;
    }

    private static long LastModifiedMs(LogSegment segment) =>
        new DateTimeOffset(File.GetLastWriteTimeUtc(segment.LogPath)).ToUnixTimeMilliseconds();
}
