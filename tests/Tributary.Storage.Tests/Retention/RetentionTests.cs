using Tributary.Tests.Shared;

namespace Tributary.Storage.Tests.Retention;

public sealed class RetentionTests
{
    private const long T0 = Batches.T0;
    private static readonly LogConfig SmallSegments = LogConfig.Default with { SegmentBytes = 1024, IndexIntervalBytes = 256 };

    [Fact]
    public void Segments_whose_newest_record_is_older_than_retention_ms_are_deleted_and_the_log_start_advances()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path, SmallSegments with { RetentionMs = 60_000 });
        for (int i = 0; i < 20; i++)
        {
            Batches.Append(log, count: 5, firstTimestamp: T0, nowMs: T0);
        }

        for (int i = 0; i < 5; i++)
        {
            Batches.Append(log, count: 5, firstTimestamp: T0 + 100_000, nowMs: T0 + 100_000);
        }

        log.UpdateHighWatermark(log.LogEndOffset);
        int deleted = log.DeleteSegmentsPastRetention(T0 + 100_000);

        Assert.True(deleted > 0);
        long start = log.LogStartOffset;
        Assert.Equal(log.Segments[0].BaseOffset, start);
        Assert.All(log.Segments, segment => Assert.True(segment.MaxTimestamp >= T0 + 100_000 || segment.IsActive));
        Assert.Equal(LogReadError.OffsetOutOfRange, log.Read(0, 1024, long.MaxValue, minOneBatch: true).Error);
        Assert.Equal(LogReadError.None, log.Read(start, 1024, long.MaxValue, minOneBatch: true).Error);
        Assert.Equal(125, log.LogEndOffset);
    }

    [Fact]
    public void An_expired_active_segment_is_rolled_and_deleted_so_an_idle_partition_empties()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path, SmallSegments with { RetentionMs = 1_000 });
        Batches.Append(log, count: 3, firstTimestamp: T0, nowMs: T0);

        log.UpdateHighWatermark(log.LogEndOffset);
        log.DeleteSegmentsPastRetention(T0 + 5_000);

        Assert.Equal(3, log.LogStartOffset);
        Assert.Equal(3, log.LogEndOffset);
        Assert.Single(log.Segments);
        Assert.Equal(0, log.SizeInBytes);
        Assert.Equal(3, Batches.Append(log, count: 1, firstTimestamp: T0 + 5_000, nowMs: T0 + 5_000).FirstOffset);
    }

    [Fact]
    public void Nothing_is_deleted_while_every_segment_is_within_retention_ms()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path, SmallSegments with { RetentionMs = 60_000 });
        for (int i = 0; i < 10; i++)
        {
            Batches.Append(log, count: 5, firstTimestamp: T0, nowMs: T0);
        }

        Assert.Equal(0, log.DeleteSegmentsPastRetention(T0 + 59_000));
        Assert.Equal(0, log.LogStartOffset);
    }

    [Fact]
    public void Size_retention_keeps_the_partition_within_retention_bytes_plus_one_segment()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path, SmallSegments with { RetentionBytes = 4096, RetentionMs = -1 });
        for (int i = 0; i < 100; i++)
        {
            Batches.Append(log, count: 5, firstTimestamp: T0, nowMs: T0);
        }

        Assert.True(log.SizeInBytes > 8192);
        log.UpdateHighWatermark(log.LogEndOffset);
        log.DeleteSegmentsPastRetention(T0);

        // Kafka's rule: delete oldest segments only while the log stays at or above the limit, so it ends within one segment above it.
        Assert.InRange(log.SizeInBytes, 4096, 4096 + SmallSegments.SegmentBytes);
        Assert.Equal(log.Segments[0].BaseOffset, log.LogStartOffset);
        Assert.Equal(500, log.LogEndOffset);
    }

    [Fact]
    public void A_compact_only_log_is_never_pruned_by_retention()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path, SmallSegments with { RetentionMs = 1, RetentionBytes = 1, CleanupPolicy = CleanupPolicy.Compact });
        for (int i = 0; i < 20; i++)
        {
            Batches.Append(log, count: 5, firstTimestamp: T0, nowMs: T0);
        }

        Assert.Equal(0, log.DeleteSegmentsPastRetention(T0 + 1_000_000));
        Assert.Equal(0, log.LogStartOffset);
    }

    [Fact]
    public void Compact_and_delete_together_apply_retention()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path,
            SmallSegments with { RetentionMs = 1_000, CleanupPolicy = CleanupPolicy.Compact | CleanupPolicy.Delete });
        for (int i = 0; i < 20; i++)
        {
            Batches.Append(log, count: 5, firstTimestamp: T0, nowMs: T0);
        }

        log.UpdateHighWatermark(log.LogEndOffset);
        Assert.True(log.DeleteSegmentsPastRetention(T0 + 10_000) > 0);
        Assert.Equal(100, log.LogStartOffset);
    }

    [Fact]
    public void A_retention_change_at_runtime_applies_at_the_next_check()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path, SmallSegments);
        for (int i = 0; i < 20; i++)
        {
            Batches.Append(log, count: 5, firstTimestamp: T0, nowMs: T0);
        }

        log.UpdateHighWatermark(log.LogEndOffset);
        Assert.Equal(0, log.DeleteSegmentsPastRetention(T0 + 3_600_000));
        log.UpdateConfig(log.Config with { RetentionMs = 60_000 });
        Assert.True(log.DeleteSegmentsPastRetention(T0 + 3_600_000) > 0);
    }

    [Fact]
    public void The_advanced_log_start_offset_survives_a_crash()
    {
        using var dir = new TempDirectory();
        using LogManager manager = LogManager.Open(new LogManagerOptions { LogDirs = [dir.Path], DefaultConfig = SmallSegments });
        PartitionLog log = manager.GetOrCreateLog("orders", 0, SmallSegments with { RetentionBytes = 2048, RetentionMs = -1 });
        for (int i = 0; i < 50; i++)
        {
            Batches.Append(log, count: 5, firstTimestamp: T0, nowMs: T0);
        }

        log.UpdateHighWatermark(log.LogEndOffset);
        Assert.True(manager.EnforceRetention() > 0);
        long start = log.LogStartOffset;
        manager.CloseWithoutFlush();

        using LogManager reopened = LogManager.Open(new LogManagerOptions { LogDirs = [dir.Path], DefaultConfig = SmallSegments });
        Assert.True(reopened.TryGetLog("orders", 0, out PartitionLog? recovered));
        Assert.Equal(start, recovered.LogStartOffset);
    }

    [Fact]
    public async Task The_log_manager_enforces_retention_on_its_check_interval()
    {
        using var dir = new TempDirectory();
        using LogManager manager = LogManager.Open(new LogManagerOptions
        {
            LogDirs = [dir.Path],
            FlushSchedulerIntervalMs = 10,
            RetentionCheckIntervalMs = 20,
        });
        PartitionLog log = manager.GetOrCreateLog("orders", 0, SmallSegments with { RetentionMs = 1_000 });
        for (int i = 0; i < 20; i++)
        {
            Batches.Append(log, count: 5, firstTimestamp: T0, nowMs: T0);
        }

        log.UpdateHighWatermark(log.LogEndOffset);
        // The high watermark follows the log end, so a check during the appends may already delete some segments: wait for all.
        long logStart = await Eventually.ValueAsync(() => log.LogStartOffset, start => start >= 100, TimeSpan.FromSeconds(10), Eventually.DefaultInterval);

        Assert.Equal(100, logStart);
    }
}
