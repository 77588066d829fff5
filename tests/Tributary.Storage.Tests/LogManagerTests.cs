using Tributary.Storage;
using Tributary.Tests.Shared;

namespace Tributary.Storage.Tests;

public class LogManagerTests
{
    private static LogManager Open(params string[] dirs) => LogManager.Open(new LogManagerOptions { LogDirs = dirs });

    [Fact]
    public void GetOrCreateLog_creates_the_partition_directory_and_returns_the_same_log_again()
    {
        using var dir = new TempDirectory();
        using LogManager manager = Open(dir.Path);

        PartitionLog log = manager.GetOrCreateLog("orders", 3, LogConfig.Default);

        Assert.True(Directory.Exists(dir.Sub("orders-3")));
        Assert.Same(log, manager.GetOrCreateLog("orders", 3, LogConfig.Default));
        Assert.True(manager.TryGetLog("orders", 3, out PartitionLog? found));
        Assert.Same(log, found);
        Assert.False(manager.TryGetLog("orders", 4, out _));
    }

    [Fact]
    public void GetOrCreateLog_spreads_new_partitions_over_the_least_loaded_directory()
    {
        using var dir = new TempDirectory();
        using LogManager manager = Open(dir.Sub("a"), dir.Sub("b"));

        for (int partition = 0; partition < 4; partition++)
        {
            manager.GetOrCreateLog("t", partition, LogConfig.Default);
        }

        Assert.Equal(2, Directory.GetDirectories(dir.Sub("a")).Length);
        Assert.Equal(2, Directory.GetDirectories(dir.Sub("b")).Length);
    }

    [Fact]
    public void Close_writes_the_clean_shutdown_marker_and_checkpoints_and_open_removes_the_marker()
    {
        using var dir = new TempDirectory();
        LogManager manager = Open(dir.Path);
        Batches.Append(manager.GetOrCreateLog("orders", 0, LogConfig.Default));

        manager.Close();

        Assert.True(File.Exists(dir.Sub(".clean-shutdown")));
        Assert.Equal(["0", "1", "orders 0 3"], File.ReadAllLines(dir.Sub("recovery-point-offset-checkpoint")));
        Assert.Equal(["0", "1", "orders 0 0"], File.ReadAllLines(dir.Sub("log-start-offset-checkpoint")));

        using LogManager reopened = Open(dir.Path);
        Assert.False(File.Exists(dir.Sub(".clean-shutdown")));
        Assert.True(reopened.TryGetLog("orders", 0, out PartitionLog? log));
        Assert.Equal(3, log.LogEndOffset);
        Assert.Equal(0, log.SegmentsScannedAtOpen);
    }

    [Fact]
    public void Open_after_a_crash_recovers_the_logs()
    {
        using var dir = new TempDirectory();
        LogManager manager = Open(dir.Path);
        PartitionLog log = manager.GetOrCreateLog("orders", 0, LogConfig.Default);
        Batches.Append(log);
        Batches.Append(log);
        manager.CloseWithoutFlush();
        using (var stream = new FileStream(Logs.SegmentFile(dir.Sub("orders-0"), 0), FileMode.Open, FileAccess.Write,
            FileShare.ReadWrite | FileShare.Delete))
        {
            stream.SetLength(stream.Length - 1);
        }

        using LogManager reopened = Open(dir.Path);

        Assert.True(reopened.TryGetLog("orders", 0, out PartitionLog? recovered));
        Assert.Equal(1, recovered.SegmentsScannedAtOpen);
        Assert.Equal(3, recovered.LogEndOffset);
    }

    [Fact]
    public void DeleteRecordsBefore_survives_a_crash()
    {
        using var dir = new TempDirectory();
        LogManager manager = Open(dir.Path);
        PartitionLog log = manager.GetOrCreateLog("orders", 0, LogConfig.Default);
        for (int i = 0; i < 4; i++)
        {
            Batches.Append(log);
        }

        log.UpdateHighWatermark(log.LogEndOffset);
        log.DeleteRecordsBefore(5);
        manager.CloseWithoutFlush();

        using LogManager reopened = Open(dir.Path);

        Assert.True(reopened.TryGetLog("orders", 0, out PartitionLog? recovered));
        Assert.Equal(5, recovered.LogStartOffset);
        Assert.Equal(12, recovered.LogEndOffset);
        Assert.Equal(LogReadError.OffsetOutOfRange, recovered.Read(4, 100, long.MaxValue, true).Error);
    }

    [Fact]
    public void DeleteLog_removes_the_log_and_its_directory()
    {
        using var dir = new TempDirectory();
        LogManager manager = Open(dir.Path);
        Batches.Append(manager.GetOrCreateLog("orders", 0, LogConfig.Default));

        Assert.True(manager.DeleteLog("orders", 0));
        manager.Close();

        Assert.False(manager.TryGetLog("orders", 0, out _));
        Assert.Empty(Directory.GetDirectories(dir.Path));
        using LogManager reopened = Open(dir.Path);
        Assert.Empty(reopened.AllLogs);
    }

    [Fact]
    public async Task Background_flusher_flushes_logs_past_their_flush_interval()
    {
        using var dir = new TempDirectory();
        using LogManager manager = LogManager.Open(new LogManagerOptions { LogDirs = [dir.Path], FlushSchedulerIntervalMs = 10 });
        PartitionLog log = manager.GetOrCreateLog("orders", 0, LogConfig.Default with { FlushIntervalMs = 0 });

        Batches.Append(log);

        long recoveryPoint = await Eventually.ValueAsync(() => log.RecoveryPoint, point => point == 3, TimeSpan.FromSeconds(10), Eventually.DefaultInterval);

        Assert.Equal(3, recoveryPoint);
        Assert.True(log.DataSyncCount >= 1);
    }

    [Fact]
    public void Open_ignores_a_malformed_checkpoint_and_recovers_by_scanning()
    {
        using var dir = new TempDirectory();
        LogManager manager = Open(dir.Path);
        Batches.Append(manager.GetOrCreateLog("orders", 0, LogConfig.Default));
        manager.Close();
        File.Delete(dir.Sub(".clean-shutdown"));
        File.WriteAllText(dir.Sub("recovery-point-offset-checkpoint"), "0\n7\nnot a line\n");

        using LogManager reopened = Open(dir.Path);

        Assert.True(reopened.TryGetLog("orders", 0, out PartitionLog? log));
        Assert.Equal(3, log.LogEndOffset);
        Assert.Equal(1, log.SegmentsScannedAtOpen);
    }
}

public class LogManagerLockTests
{
    [Fact]
    public void Open_refuses_a_directory_already_held_by_another_manager()
    {
        using var dir = new TempDirectory();
        using LogManager first = LogManager.Open(new LogManagerOptions { LogDirs = [dir.Path] });

        Assert.Throws<IOException>(() => LogManager.Open(new LogManagerOptions { LogDirs = [dir.Path] }));
    }
}
