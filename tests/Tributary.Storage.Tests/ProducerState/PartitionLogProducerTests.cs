namespace Tributary.Storage.Tests.ProducerState;

public class PartitionLogProducerTests
{
    private const long Producer = 77;

    private static string Describe(PartitionLog log) =>
        string.Join(" | ", log.ProducerStates().OrderBy(v => v.ProducerId)
            .Select(v => $"{v.ProducerId}/{v.ProducerEpoch}/{v.LastTimestamp}:" + string.Join(",", v.Batches)));

    [Fact]
    public void A_retried_batch_is_acknowledged_with_its_original_offsets_and_not_appended_again()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path);
        IdempotentBatches.AppendNew(log, Producer, 0, 0);
        IdempotentBatches.AppendNew(log, Producer, 0, 2);
        Batches.Append(log);

        LogAppendInfo retry = IdempotentBatches.Append(log, Producer, 0, 0, out ProducerAppendResult result);

        Assert.Equal(ProducerAppendStatus.Duplicate, result.Status);
        Assert.Equal(0, retry.FirstOffset);
        Assert.Equal(1, retry.LastOffset);
        Assert.Equal(7, log.LogEndOffset);
        Assert.Equal(Enumerable.Range(0, 7).Select(i => (long)i), Batches.ReadAllOffsets(log));
        log.Close();
    }

    [Fact]
    public void A_retried_batch_under_log_append_time_answers_the_original_append_time()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path);
        IdempotentBatches.Append(log, Producer, 0, 0, out _, nowMs: Batches.T0 + 500, logAppendTime: true);

        LogAppendInfo retry = IdempotentBatches.Append(log, Producer, 0, 0, out ProducerAppendResult result, nowMs: Batches.T0 + 900,
            logAppendTime: true);

        Assert.Equal(ProducerAppendStatus.Duplicate, result.Status);
        Assert.Equal(Batches.T0 + 500, retry.LogAppendTimeMs);
        log.Close();
    }

    [Fact]
    public void An_out_of_order_batch_appends_nothing()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path);
        IdempotentBatches.AppendNew(log, Producer, 0, 0);

        LogAppendInfo info = IdempotentBatches.Append(log, Producer, 0, 5, out ProducerAppendResult result);

        Assert.Equal(ProducerAppendStatus.OutOfOrderSequence, result.Status);
        Assert.Equal(-1, info.FirstOffset);
        Assert.Equal(2, log.LogEndOffset);
        Assert.Equal(1, log.FindProducer(Producer)!.LastSequence);
        log.Close();
    }

    [Fact]
    public void A_fenced_epoch_appends_nothing()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path);
        IdempotentBatches.AppendNew(log, Producer, epoch: 5, baseSequence: 0);

        IdempotentBatches.Append(log, Producer, epoch: 4, baseSequence: 2, out ProducerAppendResult result);

        Assert.Equal(ProducerAppendStatus.InvalidProducerEpoch, result.Status);
        Assert.Equal(2, log.LogEndOffset);
        log.Close();
    }

    [Fact]
    public void A_clean_reopen_loads_the_state_from_the_close_snapshot_and_still_detects_duplicates()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path);
        for (int i = 0; i < 6; i++)
        {
            IdempotentBatches.AppendNew(log, Producer, 0, i * 2);
        }

        string before = Describe(log);
        log.Close();

        Assert.True(File.Exists(IdempotentBatches.SnapshotFile(dir.Path, 12)));
        PartitionLog reopened = Logs.Open(dir.Path, clean: true);

        Assert.Equal(before, Describe(reopened));
        LogAppendInfo retry = IdempotentBatches.Append(reopened, Producer, 0, 2, out ProducerAppendResult result);
        Assert.Equal(ProducerAppendStatus.Duplicate, result.Status);
        Assert.Equal(2, retry.FirstOffset);
        Assert.Equal(12, IdempotentBatches.AppendNew(reopened, Producer, 0, 12));
        reopened.Close();
    }

    [Fact]
    public void An_unclean_reopen_rebuilds_the_same_state_from_the_log()
    {
        using var dir = new TempDirectory();
        LogConfig config = LogConfig.Default with { SegmentBytes = 400 };
        PartitionLog log = Logs.Open(dir.Path, config);
        for (int i = 0; i < 12; i++)
        {
            IdempotentBatches.AppendNew(log, Producer + (i % 3), 0, (i / 3) * 2);
        }

        string before = Describe(log);
        Assert.True(log.Segments.Count > 2);
        log.Flush();
        log.CloseWithoutFlush();

        PartitionLog reopened = Logs.Open(dir.Path, config, recoveryPoint: 0);

        Assert.Equal(before, Describe(reopened));
        Assert.Equal(3, reopened.ProducerCount);
        reopened.Close();
    }

    [Fact]
    public void Reopening_without_any_snapshot_rebuilds_the_same_state_by_replaying_every_segment()
    {
        using var dir = new TempDirectory();
        LogConfig config = LogConfig.Default with { SegmentBytes = 400 };
        PartitionLog log = Logs.Open(dir.Path, config);
        for (int i = 0; i < 10; i++)
        {
            IdempotentBatches.AppendNew(log, Producer, 0, i * 2);
        }

        string before = Describe(log);
        log.Close();
        foreach (string snapshot in Directory.GetFiles(dir.Path, "*.snapshot"))
        {
            File.Delete(snapshot);
        }

        PartitionLog reopened = Logs.Open(dir.Path, config, clean: true);

        Assert.Equal(before, Describe(reopened));
        reopened.Close();
    }

    [Fact]
    public void Every_roll_writes_a_snapshot_at_the_new_segment_base_offset()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path, LogConfig.Default with { SegmentBytes = 400 });
        for (int i = 0; i < 10; i++)
        {
            IdempotentBatches.AppendNew(log, Producer, 0, i * 2);
        }

        long[] rolledAt = [.. log.Segments.Skip(1).Select(s => s.BaseOffset)];

        Assert.NotEmpty(rolledAt);
        Assert.All(rolledAt, offset => Assert.True(File.Exists(IdempotentBatches.SnapshotFile(dir.Path, offset))));
        log.Close();
    }

    [Fact]
    public void A_snapshot_beyond_the_recovered_log_end_is_deleted_and_the_state_rebuilt_from_the_log()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path);
        IdempotentBatches.AppendNew(log, Producer, 0, 0);
        IdempotentBatches.AppendNew(log, Producer, 0, 2);
        log.Close();
        // A snapshot claiming state at offset 50 cannot describe this log, which ends at 4.
        File.Copy(IdempotentBatches.SnapshotFile(dir.Path, 4), IdempotentBatches.SnapshotFile(dir.Path, 50));
        File.Delete(IdempotentBatches.SnapshotFile(dir.Path, 4));

        PartitionLog reopened = Logs.Open(dir.Path, recoveryPoint: 0);

        Assert.False(File.Exists(IdempotentBatches.SnapshotFile(dir.Path, 50)));
        Assert.Equal(3, reopened.FindProducer(Producer)!.LastSequence);
        reopened.Close();
    }

    [Fact]
    public void Recovery_that_truncates_below_a_roll_snapshot_rebuilds_the_state_of_the_surviving_batches()
    {
        using var dir = new TempDirectory();
        LogConfig config = LogConfig.Default with { SegmentBytes = 400 };
        PartitionLog log = Logs.Open(dir.Path, config);
        for (int i = 0; i < 10; i++)
        {
            IdempotentBatches.AppendNew(log, Producer, 0, i * 2);
        }

        long secondSegment = log.Segments[1].BaseOffset;
        log.Flush();
        log.CloseWithoutFlush();
        // Flip a byte in the last batch of the first segment: recovery cuts the log there and drops every later segment.
        string firstSegment = Logs.SegmentFile(dir.Path, 0);
        byte[] bytes = File.ReadAllBytes(firstSegment);
        bytes[^2] ^= 0xFF;
        File.WriteAllBytes(firstSegment, bytes);

        PartitionLog reopened = Logs.Open(dir.Path, config, recoveryPoint: 0);

        Assert.True(reopened.LogEndOffset < secondSegment);
        Assert.False(File.Exists(IdempotentBatches.SnapshotFile(dir.Path, secondSegment)));
        // One producer whose sequence numbers equal its offsets: the state must end exactly where the log now ends.
        Assert.Equal(reopened.LogEndOffset - 1, reopened.FindProducer(Producer)!.LastSequence);
        Assert.Equal(reopened.LogEndOffset, IdempotentBatches.AppendNew(reopened, Producer, 0, (int)reopened.LogEndOffset));
        reopened.Close();
    }

    [Fact]
    public void A_corrupt_snapshot_is_ignored_and_the_state_rebuilt_from_the_log()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path);
        IdempotentBatches.AppendNew(log, Producer, 0, 0);
        IdempotentBatches.AppendNew(log, Producer, 0, 2);
        string before = Describe(log);
        log.Close();
        File.WriteAllBytes(IdempotentBatches.SnapshotFile(dir.Path, 4), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);

        PartitionLog reopened = Logs.Open(dir.Path, clean: true);

        Assert.Equal(before, Describe(reopened));
        reopened.Close();
    }

    [Fact]
    public void Truncation_rolls_the_producer_state_back_to_the_new_log_end()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path, LogConfig.Default with { SegmentBytes = 400 });
        for (int i = 0; i < 10; i++)
        {
            IdempotentBatches.AppendNew(log, Producer, 0, i * 2);
        }

        log.TruncateTo(8);

        Assert.Equal(8, log.LogEndOffset);
        Assert.Equal(7, log.FindProducer(Producer)!.LastSequence);
        Assert.Equal(8, IdempotentBatches.AppendNew(log, Producer, 0, 8));
        log.Close();
    }

    [Fact]
    public void Follower_appends_update_the_producer_state_without_checks()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path);
        byte[] batch = IdempotentBatches.Create(Producer, 3, 10);
        Tributary.Protocol.Records.RecordBatchRewriter.AssignOffsets(batch, 0);

        log.AppendAsFollower(batch);

        Assert.Equal(11, log.FindProducer(Producer)!.LastSequence);
        log.Close();
    }
}
