using Tributary.Protocol.Records;
using Tributary.Storage;

namespace Tributary.Storage.Tests;

public class PartitionLogMaintenanceTests
{
    [Fact]
    public void Append_fsyncs_before_returning_when_flush_messages_is_one()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path, LogConfig.Default with { FlushIntervalMessages = 1 });

        Batches.Append(log);
        long afterFirst = log.DataSyncCount;
        Batches.Append(log);

        Assert.True(afterFirst >= 1);
        Assert.True(log.DataSyncCount > afterFirst);
        Assert.Equal(6, log.RecoveryPoint);
        log.Close();
    }

    [Fact]
    public void Close_fsyncs_data_written_since_the_last_flush_and_nothing_else()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path, LogConfig.Default with { SegmentBytes = 1024 });
        for (int i = 0; i < 20; i++)
        {
            Batches.Append(log);
        }

        log.Flush();
        long afterFlush = log.DataSyncCount;
        Batches.Append(log);
        log.Close();

        // Only the active segment changed after the flush.
        Assert.True(log.Segments.Count > 2);
        Assert.Equal(afterFlush + 1, log.DataSyncCount);

        // Reopened after the clean close and closed again unchanged: no data fsync at all.
        PartitionLog reopened = Logs.Open(dir.Path, LogConfig.Default with { SegmentBytes = 1024 }, clean: true);
        reopened.Close();
        Assert.Equal(0, reopened.DataSyncCount);
        PartitionLog again = Logs.Open(dir.Path, clean: true);
        Assert.Equal(Enumerable.Range(0, 63).Select(o => (long)o), Batches.ReadAllOffsets(again));
        again.Close();
    }

    [Fact]
    public void Close_writes_a_producer_snapshot_only_when_the_log_holds_batches()
    {
        using var empty = new TempDirectory();
        Logs.Open(empty.Path).Close();
        Assert.Empty(Directory.GetFiles(empty.Path, "*.snapshot"));

        using var written = new TempDirectory();
        PartitionLog log = Logs.Open(written.Path);
        Batches.Append(log);
        log.Close();
        Assert.Single(Directory.GetFiles(written.Path, "*.snapshot"));
    }

    [Fact]
    public void Append_does_not_fsync_under_the_default_flush_policy()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path);

        Batches.Append(log);
        Batches.Append(log);

        Assert.Equal(0, log.DataSyncCount);
        Assert.Equal(0, log.RecoveryPoint);
        log.Close();
    }

    [Fact]
    public void Append_fsyncs_once_flush_messages_have_accumulated()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path, LogConfig.Default with { FlushIntervalMessages = 5 });

        Batches.Append(log);
        Assert.Equal(0, log.DataSyncCount);
        Batches.Append(log);

        Assert.Equal(1, log.DataSyncCount);
        Assert.Equal(6, log.RecoveryPoint);
        log.Close();
    }

    [Fact]
    public void DeleteRecordsBefore_moves_the_start_offset_and_deletes_whole_segments_below_it()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path, LogConfig.Default with { SegmentBytes = 600 });
        for (int i = 0; i < 30; i++)
        {
            Batches.Append(log);
        }

        long thirdBase = log.Segments[2].BaseOffset;
        log.UpdateHighWatermark(log.LogEndOffset);

        log.DeleteRecordsBefore(thirdBase + 1);

        Assert.Equal(thirdBase + 1, log.LogStartOffset);
        Assert.Equal(thirdBase, log.Segments[0].BaseOffset);
        Assert.False(File.Exists(Logs.SegmentFile(dir.Path, 0)));
        Assert.Equal(LogReadError.OffsetOutOfRange, log.Read(thirdBase, 100, long.MaxValue, true).Error);
        Assert.Equal(LogReadError.None, log.Read(thirdBase + 1, 100, long.MaxValue, true).Error);
        log.Close();
    }

    [Fact]
    public void DeleteRecordsBefore_the_log_end_empties_the_log_and_appends_continue()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path);
        Batches.Append(log);
        log.UpdateHighWatermark(log.LogEndOffset);

        log.DeleteRecordsBefore(3);

        Assert.Equal(3, log.LogStartOffset);
        Assert.Equal([3L], log.Segments.Select(s => s.BaseOffset));
        Assert.Equal(3, Batches.Append(log).FirstOffset);
        log.Close();
    }

    [Fact]
    public void TruncateTo_removes_batches_from_the_one_containing_the_offset()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path, LogConfig.Default with { SegmentBytes = 600 });
        for (int i = 0; i < 30; i++)
        {
            Batches.Append(log);
        }

        log.TruncateTo(31);

        Assert.Equal(30, log.LogEndOffset);
        Assert.Equal(Enumerable.Range(0, 30).Select(i => (long)i), Batches.ReadAllOffsets(log));
        Assert.Equal(30, Batches.Append(log).FirstOffset);
        log.Close();

        PartitionLog reopened = Logs.Open(dir.Path, LogConfig.Default with { SegmentBytes = 600 }, clean: true);
        Assert.Equal(33, reopened.LogEndOffset);
        reopened.Close();
    }

    [Fact]
    public void AppendAsFollower_keeps_the_leader_offsets()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path);
        byte[] batch = Batches.Create(4);
        RecordBatchRewriter.AssignOffsets(batch, 0);

        LogAppendInfo info = log.AppendAsFollower(batch);

        Assert.Equal((0L, 3L), (info.FirstOffset, info.LastOffset));
        Assert.Equal(4, log.LogEndOffset);
        Assert.Equal(batch, log.Read(0, 1 << 20, long.MaxValue, true).Records.ToArray());
        log.Close();
    }

    [Fact]
    public void AppendAsFollower_rejects_offsets_below_the_log_end()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path);
        Batches.Append(log);
        byte[] batch = Batches.Create(2);
        RecordBatchRewriter.AssignOffsets(batch, 1);

        Assert.Throws<UnexpectedAppendOffsetException>(() => log.AppendAsFollower(batch));
        Assert.Equal(3, log.LogEndOffset);
        log.Close();
    }

    [Fact]
    public void AppendAsFollower_rejects_a_crc_bad_batch()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path);
        byte[] batch = Batches.Create(2);
        batch[^2] ^= 0x10;

        Assert.Throws<CorruptRecordException>(() => log.AppendAsFollower(batch));
        Assert.Equal(0, log.LogEndOffset);
        log.Close();
    }
}
