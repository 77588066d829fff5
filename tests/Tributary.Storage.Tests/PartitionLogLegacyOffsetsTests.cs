using Tributary.Storage;

namespace Tributary.Storage.Tests;

/// <summary>
/// ListOffsets v0's answer (Kafka's legacyFetchOffsetsBefore): segment base offsets with their files' modification times,
/// plus the log end when the active segment holds data, newest first.
/// </summary>
public class PartitionLogLegacyOffsetsTests
{
    private const long Latest = -1;
    private const long Earliest = -2;
    private static readonly DateTime Day = new(2024, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    /// <summary>Three closed segments (modified on day 1, 2, 3) and an active one with data; returns the base offsets.</summary>
    private static (PartitionLog Log, long[] Bases) ThreeRolledSegments(string directory)
    {
        PartitionLog log = Logs.Open(directory, LogConfig.Default with { SegmentBytes = 600 });
        while (log.Segments.Count < 4 || log.Segments[^1].SizeInBytes == 0)
        {
            Batches.Append(log, count: 4);
        }

        var bases = log.Segments.Select(s => s.BaseOffset).ToArray();
        for (var i = 0; i < 3; i++)
        {
            File.SetLastWriteTimeUtc(Logs.SegmentFile(directory, bases[i]), Day.AddDays(i + 1));
        }

        return (log, bases);
    }

    private static long Ms(DateTime time) => new DateTimeOffset(time).ToUnixTimeMilliseconds();

    [Fact]
    public void Latest_with_room_for_every_offset_lists_the_log_end_then_every_segment_base_newest_first()
    {
        using var dir = new TempDirectory();
        var (log, bases) = ThreeRolledSegments(dir.Path);

        long[] offsets = log.LegacyOffsetsBefore(Latest, maxNumOffsets: 100);

        Assert.Equal([log.LogEndOffset, .. bases.Reverse()], offsets);
        log.Close();
    }

    [Fact]
    public void Latest_with_one_offset_is_the_log_end_and_earliest_is_the_log_start()
    {
        using var dir = new TempDirectory();
        var (log, _) = ThreeRolledSegments(dir.Path);

        Assert.Equal([log.LogEndOffset], log.LegacyOffsetsBefore(Latest, 1));
        Assert.Equal([0L], log.LegacyOffsetsBefore(Earliest, 1));
        Assert.Equal([0L], log.LegacyOffsetsBefore(Earliest, 5));
        log.Close();
    }

    [Fact]
    public void A_time_starts_at_the_newest_segment_modified_by_then_and_walks_back()
    {
        using var dir = new TempDirectory();
        var (log, bases) = ThreeRolledSegments(dir.Path);

        Assert.Equal([bases[1], bases[0]], log.LegacyOffsetsBefore(Ms(Day.AddDays(2.5)), 10));
        Assert.Equal([bases[1]], log.LegacyOffsetsBefore(Ms(Day.AddDays(2.5)), 1));
        Assert.Empty(log.LegacyOffsetsBefore(Ms(Day), 10));
        log.Close();
    }

    [Fact]
    public void Base_offsets_below_the_log_start_answer_the_log_start()
    {
        using var dir = new TempDirectory();
        var (log, bases) = ThreeRolledSegments(dir.Path);
        log.UpdateHighWatermark(log.LogEndOffset);
        log.DeleteRecordsBefore(bases[0] + 2);

        Assert.Equal([bases[0] + 2], log.LegacyOffsetsBefore(Earliest, 1));
        log.Close();
    }

    [Fact]
    public void An_empty_log_answers_offset_zero_for_latest_and_earliest()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path);

        Assert.Equal([0L], log.LegacyOffsetsBefore(Latest, 1));
        Assert.Equal([0L], log.LegacyOffsetsBefore(Earliest, 1));
        Assert.Empty(log.LegacyOffsetsBefore(Latest, 0));
        log.Close();
    }
}
