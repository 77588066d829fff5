using Tributary.Protocol.Records;
using Tributary.Storage;

namespace Tributary.Storage.Tests;

public class PartitionLogAppendReadTests
{
    [Fact]
    public void AppendAsLeader_assigns_consecutive_offsets_from_the_log_end()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path);

        LogAppendInfo first = Batches.Append(log, count: 3);
        LogAppendInfo second = Batches.Append(log, count: 2);

        Assert.Equal((0L, 2L), (first.FirstOffset, first.LastOffset));
        Assert.Equal((3L, 4L), (second.FirstOffset, second.LastOffset));
        Assert.Equal(5, log.LogEndOffset);
        Assert.Equal(-1, first.LogAppendTimeMs);
        log.Close();
    }

    [Fact]
    public void Read_round_trips_every_offset_across_segment_rolls()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path, LogConfig.Default with { SegmentBytes = 1024 });
        for (int i = 0; i < 60; i++)
        {
            Batches.Append(log, count: 3);
        }

        Assert.True(log.Segments.Count > 5);
        Assert.Equal(Enumerable.Range(0, 180).Select(i => (long)i), Batches.ReadAllOffsets(log, maxBytes: 700));
        log.Close();
    }

    [Fact]
    public void Read_returns_the_whole_batch_containing_a_mid_batch_offset()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path);
        Batches.Append(log, count: 5);
        Batches.Append(log, count: 5);

        LogReadResult result = log.Read(7, 1 << 20, long.MaxValue, minOneBatch: true);

        Assert.Equal(5, result.FirstOffset);
        Assert.Equal(10, result.NextOffset);
        Assert.Single(Batches.Headers(result.Records));
        log.Close();
    }

    [Fact]
    public void Read_finds_the_right_batch_through_the_offset_index()
    {
        using var dir = new TempDirectory();
        // Interval 0: an index entry for every batch after the first, so lookups go through the index, not a scan from 0.
        PartitionLog log = Logs.Open(dir.Path, LogConfig.Default with { IndexIntervalBytes = 0 });
        for (int i = 0; i < 200; i++)
        {
            Batches.Append(log, count: 2);
        }

        for (long offset = 0; offset < 400; offset += 13)
        {
            LogReadResult result = log.Read(offset, 1, long.MaxValue, minOneBatch: true);
            Assert.Equal(offset - (offset % 2), result.FirstOffset);
        }

        log.Flush();
        Assert.True(new FileInfo(Logs.SegmentFile(dir.Path, 0, ".index")).Length >= 199 * 8);
        log.Close();
    }

    [Fact]
    public void Read_stops_before_max_bytes_is_exceeded()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path);
        Batches.Append(log);
        Batches.Append(log);
        int batchSize = log.Read(0, 1 << 20, long.MaxValue, true).Records.Length / 2;

        LogReadResult result = log.Read(0, batchSize + (batchSize / 2), long.MaxValue, minOneBatch: false);

        Assert.Single(Batches.Headers(result.Records));
        Assert.Equal(3, result.NextOffset);
        log.Close();
    }

    [Fact]
    public void Read_returns_one_oversized_batch_when_min_one_batch()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path);
        Batches.Append(log);
        Batches.Append(log);

        LogReadResult result = log.Read(0, 1, long.MaxValue, minOneBatch: true);

        Assert.Single(Batches.Headers(result.Records));
        log.Close();
    }

    [Fact]
    public void Read_returns_nothing_for_an_oversized_batch_without_min_one_batch()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path);
        Batches.Append(log);

        LogReadResult result = log.Read(0, 1, long.MaxValue, minOneBatch: false);

        Assert.Equal(LogReadError.None, result.Error);
        Assert.True(result.Records.IsEmpty);
        log.Close();
    }

    [Fact]
    public void Read_never_returns_batches_at_or_beyond_the_max_offset()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path);
        Batches.Append(log);
        Batches.Append(log);
        Batches.Append(log);

        LogReadResult belowWatermark = log.Read(0, 1 << 20, maxOffsetExclusive: 6, minOneBatch: true);
        LogReadResult atWatermark = log.Read(6, 1 << 20, maxOffsetExclusive: 6, minOneBatch: true);

        Assert.Equal([0L, 3L], Batches.Headers(belowWatermark.Records).Select(h => h.BaseOffset));
        Assert.True(atWatermark.Records.IsEmpty);
        Assert.Equal(LogReadError.None, atWatermark.Error);
        log.Close();
    }

    [Fact]
    public void Read_reports_offset_out_of_range_outside_the_log()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path);
        Batches.Append(log);

        Assert.Equal(LogReadError.OffsetOutOfRange, log.Read(4, 100, long.MaxValue, true).Error);
        Assert.Equal(LogReadError.OffsetOutOfRange, log.Read(-1, 100, long.MaxValue, true).Error);
        LogReadResult atEnd = log.Read(3, 100, long.MaxValue, true);
        Assert.Equal(LogReadError.None, atEnd.Error);
        Assert.True(atEnd.Records.IsEmpty);
        log.Close();
    }

    [Fact]
    public void AppendAsLeader_stamps_log_append_time_with_a_valid_crc()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path);

        LogAppendInfo info = Batches.Append(log, nowMs: 5_000, logAppendTime: true);

        RecordBatchHeader header = Batches.Headers(log.Read(0, 1 << 20, long.MaxValue, true).Records).Single();
        Assert.Equal(TimestampType.LogAppendTime, header.TimestampType);
        Assert.Equal(5_000, header.MaxTimestamp);
        Assert.Equal(5_000, info.LogAppendTimeMs);
        log.Close();
    }

    [Fact]
    public void AppendAsLeader_stamps_the_partition_leader_epoch()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path);

        log.AppendAsLeader(Batches.Create(2), 2, partitionLeaderEpoch: 9, Batches.T0, logAppendTime: false);

        Assert.Equal(9, Batches.Headers(log.Read(0, 1 << 20, long.MaxValue, true).Records).Single().PartitionLeaderEpoch);
        log.Close();
    }

    [Fact]
    public void AppendAsLeader_rolls_when_the_active_segment_is_older_than_segment_ms()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path, LogConfig.Default with { SegmentMs = 1_000 });
        Batches.Append(log, nowMs: 10_000);
        Batches.Append(log, nowMs: 10_500);
        Assert.Single(log.Segments);

        Batches.Append(log, nowMs: 11_001);

        Assert.Equal([0L, 6L], log.Segments.Select(s => s.BaseOffset));
        log.Close();
    }

    [Fact]
    public void FindOffsetByTimestamp_returns_the_first_record_at_or_after_the_timestamp()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path, LogConfig.Default with { SegmentBytes = 600, IndexIntervalBytes = 0 });
        for (int batch = 0; batch < 20; batch++)
        {
            // Records at T0 + 10*batch + {0,1,2,3}.
            log.AppendAsLeader(Batches.Create(4, Batches.T0 + (batch * 10)), 4, 0, Batches.T0, false);
        }

        Assert.True(log.Segments.Count > 2);
        Assert.Equal(0, log.FindOffsetByTimestamp(0));
        Assert.Equal(4 * 7, log.FindOffsetByTimestamp(Batches.T0 + 70));
        Assert.Equal((4 * 7) + 2, log.FindOffsetByTimestamp(Batches.T0 + 72));
        Assert.Equal(4 * 8, log.FindOffsetByTimestamp(Batches.T0 + 75));
        Assert.Null(log.FindOffsetByTimestamp(Batches.T0 + 1_000));
        log.Close();
    }

    [Fact]
    public void FindMaxTimestamp_returns_the_record_holding_the_largest_timestamp()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path);
        log.AppendAsLeader(Batches.Create(3, Batches.T0 + 100), 3, 0, Batches.T0, false);
        log.AppendAsLeader(Batches.Create(3, Batches.T0), 3, 0, Batches.T0, false);

        Assert.Equal((2L, Batches.T0 + 102), log.FindMaxTimestamp());
        log.Close();
    }

    [Fact]
    public void FindMaxTimestamp_is_null_for_an_empty_log()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path);

        Assert.Null(log.FindMaxTimestamp());
        log.Close();
    }
}

public class PartitionLogTimestampTests
{
    [Fact]
    public void FindRecordByTimestamp_returns_the_record_timestamp_alongside_the_offset()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path);
        log.AppendAsLeader(Batches.Create(4, Batches.T0, timestampStep: 10), 4, 0, Batches.T0, false);

        Assert.Equal((2L, Batches.T0 + 20), log.FindRecordByTimestamp(Batches.T0 + 15));
        log.Close();
    }

    [Fact]
    public void FindRecordByTimestamp_uses_the_append_time_of_log_append_time_batches()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path);
        Batches.Append(log, nowMs: 9_000, logAppendTime: true);

        Assert.Equal((0L, 9_000L), log.FindRecordByTimestamp(8_000));
        log.Close();
    }
}
