namespace Tributary.Storage.Tests.Replication;

public sealed class LeaderEpochCacheTests
{
    private const string CheckpointName = "leader-epoch-checkpoint";

    /// <summary>Five batches of two records in epochs 0, 0, 3, 3, 5: entries 0@0, 3@4, 5@8, log end 10.</summary>
    private static PartitionLog OpenWithEpochs_0_0_3_3_5(string directory, LogConfig? config = null)
    {
        PartitionLog log = Logs.Open(directory, config);
        foreach (int epoch in new[] { 0, 0, 3, 3, 5 })
        {
            Replicas.AppendInEpoch(log, epoch);
        }

        return log;
    }

    [Fact]
    public void Appends_record_the_first_offset_of_each_new_epoch()
    {
        using var dir = new TempDirectory();
        PartitionLog log = OpenWithEpochs_0_0_3_3_5(dir.Path);

        Assert.Equal("0@0 3@4 5@8", Replicas.Describe(log.LeaderEpochEntries));
        Assert.Equal(5, log.LatestEpoch);
        log.Close();
    }

    [Theory]
    [InlineData(0, 0, 4)]
    [InlineData(1, 0, 4)]
    [InlineData(2, 0, 4)]
    [InlineData(3, 3, 8)]
    [InlineData(4, 3, 8)]
    [InlineData(5, 5, 10)]
    [InlineData(6, -1, -1)]
    [InlineData(-1, -1, -1)]
    public void EndOffsetForEpoch_returns_the_largest_epoch_at_or_below_and_where_it_ends(int requested, int epoch, long endOffset)
    {
        using var dir = new TempDirectory();
        PartitionLog log = OpenWithEpochs_0_0_3_3_5(dir.Path);

        Assert.Equal((epoch, endOffset), log.EndOffsetForEpoch(requested));
        log.Close();
    }

    [Fact]
    public void EndOffsetForEpoch_below_the_first_known_epoch_answers_with_the_first_epochs_start_offset()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path);
        Replicas.AppendInEpoch(log, 2);
        Replicas.AppendInEpoch(log, 4);
        log.UpdateHighWatermark(log.LogEndOffset);
        log.DeleteRecordsBefore(1);

        // Kafka's code (not its doc comment): the requested epoch with the start offset of the first known epoch.
        Assert.Equal((1, 1L), log.EndOffsetForEpoch(1));
        log.Close();
    }

    [Fact]
    public void A_log_without_epochs_answers_undefined()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path);

        Assert.Equal(-1, log.LatestEpoch);
        Assert.Equal((-1, -1L), log.EndOffsetForEpoch(0));
        Assert.False(File.Exists(Path.Combine(dir.Path, CheckpointName)));
        log.Close();
    }

    [Fact]
    public void The_checkpoint_file_uses_kafkas_text_format_and_is_read_back_after_a_reopen()
    {
        using var dir = new TempDirectory();
        OpenWithEpochs_0_0_3_3_5(dir.Path).Close();

        Assert.Equal("0\n3\n0 0\n3 4\n5 8\n", File.ReadAllText(Path.Combine(dir.Path, CheckpointName)));
        PartitionLog reopened = Logs.Open(dir.Path, clean: true);
        Assert.Equal("0@0 3@4 5@8", Replicas.Describe(reopened.LeaderEpochEntries));
        Assert.Equal((3, 8L), reopened.EndOffsetForEpoch(4));
        reopened.Close();
    }

    [Fact]
    public void A_deleted_checkpoint_is_rebuilt_from_the_batch_headers_at_open()
    {
        using var dir = new TempDirectory();
        OpenWithEpochs_0_0_3_3_5(dir.Path, LogConfig.Default with { SegmentBytes = 300 }).Close();
        File.Delete(Path.Combine(dir.Path, CheckpointName));

        PartitionLog reopened = Logs.Open(dir.Path, LogConfig.Default with { SegmentBytes = 300 }, clean: true);

        Assert.True(reopened.Segments.Count > 1);
        Assert.Equal("0@0 3@4 5@8", Replicas.Describe(reopened.LeaderEpochEntries));
        Assert.Equal("0\n3\n0 0\n3 4\n5 8\n", File.ReadAllText(Path.Combine(dir.Path, CheckpointName)));
        reopened.Close();
    }

    [Theory]
    [InlineData("0\n2000000000\n")]
    [InlineData("0\n2\n3 4\n0 0\n")]
    [InlineData("1\n0\n")]
    [InlineData("0\n3\n0 0\n3 four\n5 8\n")]
    public void A_malformed_or_non_monotonic_checkpoint_is_rebuilt_from_the_batch_headers(string content)
    {
        using var dir = new TempDirectory();
        OpenWithEpochs_0_0_3_3_5(dir.Path).Close();
        File.WriteAllText(Path.Combine(dir.Path, CheckpointName), content);

        PartitionLog reopened = Logs.Open(dir.Path, clean: true);

        Assert.Equal("0@0 3@4 5@8", Replicas.Describe(reopened.LeaderEpochEntries));
        reopened.Close();
    }

    [Fact]
    public void Entries_past_the_recovered_log_end_are_dropped_at_open()
    {
        using var dir = new TempDirectory();
        OpenWithEpochs_0_0_3_3_5(dir.Path).Close();
        // What a crash leaves when the epoch entry reached the disk but the batch that started the epoch did not.
        File.WriteAllText(Path.Combine(dir.Path, CheckpointName), "0\n4\n0 0\n3 4\n5 8\n7 10\n");

        PartitionLog reopened = Logs.Open(dir.Path, clean: true);

        Assert.Equal("0@0 3@4 5@8", Replicas.Describe(reopened.LeaderEpochEntries));
        // Dropping is not written back: the file may run ahead of the log (the next open drops the entry again) ...
        Assert.Equal("0\n4\n0 0\n3 4\n5 8\n7 10\n", File.ReadAllText(Path.Combine(dir.Path, CheckpointName)));

        // ... until the next epoch is recorded, which writes the whole cache.
        reopened.AssignLeaderEpochStartOffset(9, reopened.LogEndOffset);
        Assert.Equal($"0\n4\n0 0\n3 4\n5 8\n9 {reopened.LogEndOffset}\n", File.ReadAllText(Path.Combine(dir.Path, CheckpointName)));
        reopened.Close();

        // Epoch 9 wrote nothing either: the next open drops it in memory again.
        PartitionLog again = Logs.Open(dir.Path, clean: true);
        Assert.Equal("0@0 3@4 5@8", Replicas.Describe(again.LeaderEpochEntries));
        again.Close();
    }

    [Fact]
    public void After_an_unclean_shutdown_epochs_of_the_scanned_tail_missing_from_the_checkpoint_are_added()
    {
        using var dir = new TempDirectory();
        PartitionLog log = OpenWithEpochs_0_0_3_3_5(dir.Path);
        log.Flush();
        log.CloseWithoutFlush();
        File.WriteAllText(Path.Combine(dir.Path, CheckpointName), "0\n1\n0 0\n");

        PartitionLog reopened = Logs.Open(dir.Path, recoveryPoint: 0, clean: false);

        Assert.Equal("0@0 3@4 5@8", Replicas.Describe(reopened.LeaderEpochEntries));
        reopened.Close();
    }

    [Fact]
    public void TruncateTo_drops_the_epochs_starting_at_or_after_the_new_log_end()
    {
        using var dir = new TempDirectory();
        PartitionLog log = OpenWithEpochs_0_0_3_3_5(dir.Path);

        log.TruncateTo(8);
        Assert.Equal("0@0 3@4", Replicas.Describe(log.LeaderEpochEntries));
        Assert.Equal((3, 8L), log.EndOffsetForEpoch(3));

        log.TruncateTo(6);
        Assert.Equal("0@0 3@4", Replicas.Describe(log.LeaderEpochEntries));
        // Offset 5 is inside the batch [4, 5], the first batch of epoch 3: the whole batch goes, and the epoch with it.
        log.TruncateTo(5);
        Assert.Equal(4, log.LogEndOffset);
        Assert.Equal("0@0", Replicas.Describe(log.LeaderEpochEntries));
        Assert.Equal("0\n1\n0 0\n", File.ReadAllText(Path.Combine(dir.Path, CheckpointName)));
        log.Close();
    }

    [Fact]
    public void DeleteRecordsBefore_moves_the_first_surviving_epoch_to_the_new_log_start()
    {
        using var dir = new TempDirectory();
        PartitionLog log = OpenWithEpochs_0_0_3_3_5(dir.Path);
        log.UpdateHighWatermark(log.LogEndOffset);

        log.DeleteRecordsBefore(5);

        Assert.Equal("3@5 5@8", Replicas.Describe(log.LeaderEpochEntries));
        Assert.Equal("0\n2\n3 5\n5 8\n", File.ReadAllText(Path.Combine(dir.Path, CheckpointName)));
        log.Close();
    }

    [Fact]
    public void Retention_moving_the_log_start_clamps_the_first_epoch()
    {
        using var dir = new TempDirectory();
        var config = LogConfig.Default with { SegmentBytes = 300, RetentionBytes = 1 };
        PartitionLog log = OpenWithEpochs_0_0_3_3_5(dir.Path, config);
        log.UpdateHighWatermark(log.LogEndOffset);

        Assert.True(log.DeleteSegmentsPastRetention(Batches.T0) > 0);

        long start = log.LogStartOffset;
        Assert.True(start > 0);
        Assert.Equal(start, log.LeaderEpochEntries[0].StartOffset);
        Assert.All(log.LeaderEpochEntries, entry => Assert.InRange(entry.StartOffset, start, log.LogEndOffset));
        log.Close();
    }

    [Fact]
    public void A_new_leader_assigns_its_epoch_at_its_log_end_before_appending()
    {
        using var dir = new TempDirectory();
        PartitionLog log = OpenWithEpochs_0_0_3_3_5(dir.Path);

        log.AssignLeaderEpochStartOffset(7, log.LogEndOffset);

        Assert.Equal(7, log.LatestEpoch);
        Assert.Equal((5, 10L), log.EndOffsetForEpoch(5));
        Assert.Equal((7, 10L), log.EndOffsetForEpoch(7));
        Replicas.AppendInEpoch(log, 7);
        Assert.Equal("0@0 3@4 5@8 7@10", Replicas.Describe(log.LeaderEpochEntries));
        Assert.Equal((7, 12L), log.EndOffsetForEpoch(7));
        log.Close();
    }

    [Fact]
    public void An_epoch_assigned_without_data_is_replaced_by_the_next_elections_epoch()
    {
        using var dir = new TempDirectory();
        PartitionLog log = OpenWithEpochs_0_0_3_3_5(dir.Path);

        log.AssignLeaderEpochStartOffset(6, 10);
        log.AssignLeaderEpochStartOffset(8, 10);

        Assert.Equal("0@0 3@4 5@8 8@10", Replicas.Describe(log.LeaderEpochEntries));
        log.Close();
    }

    [Fact]
    public void Epochs_never_go_backwards()
    {
        using var dir = new TempDirectory();
        PartitionLog log = OpenWithEpochs_0_0_3_3_5(dir.Path);

        log.AssignLeaderEpochStartOffset(4, 10);
        Replicas.AppendInEpoch(log, 2);

        Assert.Equal("0@0 3@4 5@8", Replicas.Describe(log.LeaderEpochEntries));
        Assert.Equal(5, log.LatestEpoch);
        log.Close();
    }

    [Fact]
    public void AssignLeaderEpochStartOffset_refuses_a_start_offset_beyond_the_log_end()
    {
        using var dir = new TempDirectory();
        PartitionLog log = OpenWithEpochs_0_0_3_3_5(dir.Path);

        Assert.Throws<ArgumentOutOfRangeException>(() => log.AssignLeaderEpochStartOffset(6, 11));
        Assert.Equal(5, log.LatestEpoch);
        log.Close();
    }
}
