using Tributary.Storage.Cleaner;
using Tributary.Storage.Tests.Cleaner;
using Tributary.Tests.Shared;

namespace Tributary.Storage.Tests.Replication;

public sealed class HighWatermarkTests
{
    private const long T0 = Batches.T0;
    private const string CheckpointName = "replication-offset-checkpoint";
    private static readonly LogConfig SmallSegments = LogConfig.Default with { SegmentBytes = 1024, IndexIntervalBytes = 256 };

    [Fact]
    public void The_high_watermark_starts_at_the_log_start_and_only_moves_up_within_the_log()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path);
        Assert.Equal(0, log.HighWatermark);
        Batches.Append(log, count: 6);

        log.UpdateHighWatermark(4);
        Assert.Equal(4, log.HighWatermark);
        log.UpdateHighWatermark(2);
        Assert.Equal(4, log.HighWatermark);
        log.UpdateHighWatermark(100);
        Assert.Equal(6, log.HighWatermark);
        log.Close();
    }

    [Fact]
    public void By_default_a_log_managers_logs_keep_the_high_watermark_at_the_log_end_as_a_single_node_does()
    {
        using var dir = new TempDirectory();
        using LogManager manager = LogManager.Open(new LogManagerOptions { LogDirs = [dir.Path] });
        PartitionLog log = manager.GetOrCreateLog("orders", 0, LogConfig.Default);

        Batches.Append(log, count: 4);
        Assert.Equal(4, log.HighWatermark);

        log.HighWatermarkFollowsLogEnd = false;
        Batches.Append(log, count: 4);
        Assert.Equal(4, log.HighWatermark);
    }

    [Fact]
    public void Truncation_below_the_high_watermark_lowers_it_to_the_new_log_end()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path);
        Batches.Append(log);
        Batches.Append(log);
        log.UpdateHighWatermark(6);

        log.TruncateTo(4);

        Assert.Equal(3, log.LogEndOffset);
        Assert.Equal(3, log.HighWatermark);
        log.Close();
    }

    [Fact]
    public void The_log_manager_checkpoints_high_watermarks_at_close_in_kafkas_format_and_loads_them_at_open()
    {
        using var dir = new TempDirectory();
        var options = new LogManagerOptions { LogDirs = [dir.Path], HighWatermarkFollowsLogEnd = false };
        using (LogManager manager = LogManager.Open(options))
        {
            PartitionLog log = manager.GetOrCreateLog("orders", 2, LogConfig.Default);
            Batches.Append(log, count: 5);
            log.UpdateHighWatermark(4);
        }

        Assert.Equal("0\n1\norders 2 4\n", File.ReadAllText(Path.Combine(dir.Path, CheckpointName)));
        using LogManager reopened = LogManager.Open(options);
        Assert.True(reopened.TryGetLog("orders", 2, out PartitionLog? recovered));
        Assert.Equal(4, recovered.HighWatermark);
    }

    [Fact]
    public void A_checkpointed_high_watermark_beyond_the_recovered_log_is_clamped_to_its_end()
    {
        using var dir = new TempDirectory();
        var options = new LogManagerOptions { LogDirs = [dir.Path], HighWatermarkFollowsLogEnd = false };
        using (LogManager manager = LogManager.Open(options))
        {
            Batches.Append(manager.GetOrCreateLog("orders", 0, LogConfig.Default), count: 5);
        }

        File.WriteAllText(Path.Combine(dir.Path, CheckpointName), "0\n1\norders 0 999\n");
        using LogManager reopened = LogManager.Open(options);

        Assert.True(reopened.TryGetLog("orders", 0, out PartitionLog? recovered));
        Assert.Equal(5, recovered.HighWatermark);
    }

    [Fact]
    public async Task The_background_checkpoint_keeps_the_high_watermark_across_a_crash()
    {
        using var dir = new TempDirectory();
        var options = new LogManagerOptions
        {
            LogDirs = [dir.Path], FlushSchedulerIntervalMs = 10, HighWatermarkCheckpointIntervalMs = 20, HighWatermarkFollowsLogEnd = false,
        };
        LogManager manager = LogManager.Open(options);
        PartitionLog log = manager.GetOrCreateLog("orders", 0, LogConfig.Default with { FlushIntervalMessages = 1 });
        Batches.Append(log, count: 5);
        log.UpdateHighWatermark(5);
        string path = Path.Combine(dir.Path, CheckpointName);
        await Eventually.TrueAsync(() => File.Exists(path) && File.ReadAllText(path).Contains("orders 0 5\n", StringComparison.Ordinal),
            "the high watermark 5 in the background checkpoint", TimeSpan.FromSeconds(10));

        manager.CloseWithoutFlush();
        using LogManager reopened = LogManager.Open(options);

        Assert.True(reopened.TryGetLog("orders", 0, out PartitionLog? recovered));
        Assert.Equal(5, recovered.HighWatermark);
    }

    [Fact]
    public void Retention_deletes_only_segments_that_end_at_or_below_the_high_watermark()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path, SmallSegments with { RetentionMs = 1_000 });
        for (int i = 0; i < 20; i++)
        {
            Batches.Append(log, count: 5, firstTimestamp: T0, nowMs: T0);
        }

        Assert.Equal(0, log.DeleteSegmentsPastRetention(T0 + 10_000));
        long thirdBase = log.Segments[2].BaseOffset;
        log.UpdateHighWatermark(thirdBase + 1);

        Assert.Equal(2, log.DeleteSegmentsPastRetention(T0 + 10_000));
        Assert.Equal(thirdBase, log.LogStartOffset);
        log.UpdateHighWatermark(log.LogEndOffset);
        Assert.True(log.DeleteSegmentsPastRetention(T0 + 10_000) > 0);
        Assert.Equal(100, log.LogStartOffset);
        log.Close();
    }

    [Fact]
    public void DeleteRecordsBefore_refuses_offsets_above_the_high_watermark()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path);
        Batches.Append(log, count: 10);
        log.UpdateHighWatermark(4);

        Assert.Throws<ArgumentOutOfRangeException>(() => log.DeleteRecordsBefore(5));
        log.DeleteRecordsBefore(4);

        Assert.Equal(4, log.LogStartOffset);
        log.Close();
    }

    [Fact]
    public void The_cleaner_compacts_only_segments_below_the_high_watermark()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path, Compaction.CompactConfig);
        for (int i = 0; i < 6; i++)
        {
            // Uncommitted appends: AppendAsLeader without moving the high watermark.
            log.AppendAsLeader(Batches.Create(4), 4, partitionLeaderEpoch: 0, T0, logAppendTime: false);
            log.ForceRoll(T0);
        }

        LogCleaner cleaner = Compaction.NewCleaner();
        Assert.Null(cleaner.Clean(log, T0 + 10));
        Assert.Equal(24, Compaction.ReadAll(log).Count);

        long committed = log.Segments[3].BaseOffset;
        log.UpdateHighWatermark(committed);
        Assert.NotNull(cleaner.Clean(log, T0 + 10));

        List<ReadRecord> records = Compaction.ReadAll(log);
        Assert.Equal(24 - committed, records.Count(record => record.Offset >= committed));
        Assert.Equal(4, records.Count(record => record.Offset < committed));
        log.Close();
    }
}
