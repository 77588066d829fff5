using System.Text;
using Tributary.Protocol.Records;

namespace Tributary.Storage.Tests.Transactions;

/// <summary>Transactions in one partition log: markers, the last stable offset, the aborted index and their recovery (real files).</summary>
public class PartitionLogTransactionTests
{
    private const long Producer = 41;
    private const long Other = 42;

    private static byte[] TransactionalBatch(long producerId, short epoch, int baseSequence, int count = 2, bool transactional = true)
    {
        var builder = new RecordBatchBuilder
        {
            ProducerId = producerId,
            ProducerEpoch = epoch,
            BaseSequence = baseSequence,
            IsTransactional = transactional,
        };
        for (int i = 0; i < count; i++)
        {
            builder.Append(Batches.T0 + i, Encoding.UTF8.GetBytes($"k{i}"), Encoding.UTF8.GetBytes($"txn-{producerId}-{baseSequence + i}"));
        }

        return builder.Build();
    }

    /// <summary>Appends a transactional batch that must be admitted; returns its first offset.</summary>
    private static long AppendTransactional(PartitionLog log, long producerId, short epoch, int baseSequence, int count = 2)
    {
        LogAppendInfo info = log.AppendAsLeader(TransactionalBatch(producerId, epoch, baseSequence, count), count, 0, Batches.T0, false,
            out ProducerAppendResult result);
        Assert.Equal(ProducerAppendStatus.Appended, result.Status);
        return info.FirstOffset;
    }

    private static LogAppendInfo Marker(PartitionLog log, long producerId, short epoch, bool commit, int coordinatorEpoch,
        out ProducerAppendResult result) =>
        log.AppendTxnMarkerAsLeader(producerId, epoch,
            new EndTransactionMarker(commit ? ControlRecordType.Commit : ControlRecordType.Abort, coordinatorEpoch), 0, Batches.T0, out result);

    private static long MarkerAt(PartitionLog log, long producerId, short epoch, bool commit, int coordinatorEpoch = 0)
    {
        LogAppendInfo info = Marker(log, producerId, epoch, commit, coordinatorEpoch, out ProducerAppendResult result);
        Assert.Equal(ProducerAppendStatus.Appended, result.Status);
        return info.FirstOffset;
    }

    private static PartitionLog OpenReplicated(string directory, LogConfig? config = null, bool clean = false, long recoveryPoint = 0)
    {
        PartitionLog log = Logs.Open(directory, config, recoveryPoint: recoveryPoint, clean: clean);
        log.UpdateHighWatermark(log.LogEndOffset);
        return log;
    }

    [Fact]
    public void An_open_transaction_holds_the_last_stable_offset_at_its_first_offset()
    {
        using var dir = new TempDirectory();
        PartitionLog log = OpenReplicated(dir.Path);
        Batches.Append(log, count: 3);
        long first = AppendTransactional(log, Producer, 0, 0);
        Batches.Append(log, count: 3);
        log.UpdateHighWatermark(log.LogEndOffset);

        Assert.Equal(8, log.HighWatermark);
        Assert.Equal(first, log.LastStableOffset);
        Assert.Equal(first, log.FindProducer(Producer)!.CurrentTxnStartOffset);
        log.Close();
    }

    [Fact]
    public void A_commit_marker_completes_the_transaction_once_the_marker_is_below_the_high_watermark()
    {
        using var dir = new TempDirectory();
        PartitionLog log = OpenReplicated(dir.Path);
        AppendTransactional(log, Producer, 0, 0);
        log.UpdateHighWatermark(log.LogEndOffset);
        long marker = MarkerAt(log, Producer, 0, commit: true, coordinatorEpoch: 3);

        Assert.Equal(0, log.LastStableOffset);
        log.UpdateHighWatermark(log.LogEndOffset);

        Assert.Equal(marker + 1, log.LastStableOffset);
        ProducerStateView state = log.FindProducer(Producer)!;
        Assert.Equal(-1, state.CurrentTxnStartOffset);
        Assert.Equal(3, state.CoordinatorEpoch);
        Assert.Empty(log.AbortedTransactions);
        log.Close();
    }

    [Fact]
    public void The_marker_is_a_control_batch_with_kafkas_key_and_value()
    {
        using var dir = new TempDirectory();
        PartitionLog log = OpenReplicated(dir.Path);
        AppendTransactional(log, Producer, 2, 0);
        long offset = MarkerAt(log, Producer, 2, commit: false, coordinatorEpoch: 9);

        LogReadResult read = log.Read(offset, 1 << 16, log.LogEndOffset, minOneBatch: true);
        RecordBatchHeader header = RecordBatchHeader.Read(read.Records.Span);
        Assert.True(header.IsControl);
        Assert.True(header.IsTransactional);
        Assert.Equal(Producer, header.ProducerId);
        Assert.Equal(2, header.ProducerEpoch);
        Assert.Equal(1, header.RecordCount);
        var reader = new RecordReader(read.Records.Span);
        Assert.True(reader.TryReadNext(out RecordView record));
        Assert.Equal(new byte[] { 0, 0, 0, 0 }, record.Key.ToArray());
        Assert.Equal(new byte[] { 0, 0, 0, 0, 0, 9 }, record.Value.ToArray());
        log.Close();
    }

    [Fact]
    public void An_abort_marker_is_indexed_with_the_transactions_first_offset()
    {
        using var dir = new TempDirectory();
        PartitionLog log = OpenReplicated(dir.Path);
        Batches.Append(log, count: 2);
        long first = AppendTransactional(log, Producer, 0, 0);
        AppendTransactional(log, Producer, 0, 2);
        long marker = MarkerAt(log, Producer, 0, commit: false);
        log.UpdateHighWatermark(log.LogEndOffset);

        AbortedTransaction aborted = Assert.Single(log.AbortedTransactions);
        Assert.Equal(new AbortedTransaction(Producer, first, marker, marker + 1), aborted);
        Assert.Equal([aborted], log.CollectAbortedTransactions(0, log.LastStableOffset));
        Assert.Empty(log.CollectAbortedTransactions(marker + 1, log.LastStableOffset));
        Assert.Empty(log.CollectAbortedTransactions(0, first));
        Assert.Equal(TransactionIndexFile.EntrySize, new FileInfo(Logs.SegmentFile(dir.Path, 0, ".txnindex")).Length);
        log.Close();
    }

    [Fact]
    public void A_marker_of_an_older_producer_epoch_is_refused_and_writes_nothing()
    {
        using var dir = new TempDirectory();
        PartitionLog log = OpenReplicated(dir.Path);
        AppendTransactional(log, Producer, 5, 0);
        long end = log.LogEndOffset;

        Marker(log, Producer, 4, commit: true, 0, out ProducerAppendResult result);

        Assert.Equal(ProducerAppendStatus.InvalidProducerEpoch, result.Status);
        Assert.Equal(end, log.LogEndOffset);
        Assert.Equal(0, log.FindProducer(Producer)!.CurrentTxnStartOffset);
        log.Close();
    }

    [Fact]
    public void A_marker_from_an_older_coordinator_epoch_is_refused_and_writes_nothing()
    {
        using var dir = new TempDirectory();
        PartitionLog log = OpenReplicated(dir.Path);
        AppendTransactional(log, Producer, 0, 0);
        MarkerAt(log, Producer, 0, commit: true, coordinatorEpoch: 7);
        AppendTransactional(log, Producer, 0, 2);
        long end = log.LogEndOffset;

        Marker(log, Producer, 0, commit: false, coordinatorEpoch: 6, out ProducerAppendResult result);

        Assert.Equal(ProducerAppendStatus.TransactionCoordinatorFenced, result.Status);
        Assert.Equal(end, log.LogEndOffset);
        Assert.Equal(3, log.FindProducer(Producer)!.CurrentTxnStartOffset);
        log.Close();
    }

    [Fact]
    public void A_marker_with_a_bumped_epoch_fences_batches_of_the_old_epoch()
    {
        using var dir = new TempDirectory();
        PartitionLog log = OpenReplicated(dir.Path);
        AppendTransactional(log, Producer, 0, 0);
        MarkerAt(log, Producer, 1, commit: false);
        long end = log.LogEndOffset;

        log.AppendAsLeader(TransactionalBatch(Producer, 0, 2), 2, 0, Batches.T0, false, out ProducerAppendResult result);

        Assert.Equal(ProducerAppendStatus.InvalidProducerEpoch, result.Status);
        Assert.Equal(end, log.LogEndOffset);
        Assert.Equal(end, AppendTransactional(log, Producer, 1, 0));
        log.Close();
    }

    [Fact]
    public void A_non_transactional_batch_from_a_producer_with_an_open_transaction_is_refused()
    {
        using var dir = new TempDirectory();
        PartitionLog log = OpenReplicated(dir.Path);
        AppendTransactional(log, Producer, 0, 0);

        log.AppendAsLeader(TransactionalBatch(Producer, 0, 2, transactional: false), 2, 0, Batches.T0, false, out ProducerAppendResult result);

        Assert.Equal(ProducerAppendStatus.InvalidTxnState, result.Status);
        Assert.Equal(2, log.LogEndOffset);
        log.Close();
    }

    [Fact]
    public void The_last_stable_offset_follows_the_oldest_of_several_open_transactions()
    {
        using var dir = new TempDirectory();
        PartitionLog log = OpenReplicated(dir.Path);
        long first = AppendTransactional(log, Producer, 0, 0);
        long second = AppendTransactional(log, Other, 0, 0);
        MarkerAt(log, Producer, 0, commit: false);
        log.UpdateHighWatermark(log.LogEndOffset);

        Assert.Equal(second, log.LastStableOffset);
        Assert.Equal(second, Assert.Single(log.AbortedTransactions).LastStableOffset);
        Assert.Equal(0, first);
        MarkerAt(log, Other, 0, commit: true);
        log.UpdateHighWatermark(log.LogEndOffset);
        Assert.Equal(log.LogEndOffset, log.LastStableOffset);
        log.Close();
    }

    [Fact]
    public void A_clean_reopen_keeps_open_transactions_and_the_aborted_index()
    {
        using var dir = new TempDirectory();
        PartitionLog log = OpenReplicated(dir.Path);
        AppendTransactional(log, Producer, 0, 0);
        MarkerAt(log, Producer, 0, commit: false);
        long open = AppendTransactional(log, Other, 0, 0);
        log.UpdateHighWatermark(log.LogEndOffset);
        IReadOnlyList<AbortedTransaction> aborted = log.AbortedTransactions;
        log.Close();

        PartitionLog reopened = OpenReplicated(dir.Path, clean: true);

        Assert.Equal(open, reopened.LastStableOffset);
        Assert.Equal(aborted, reopened.AbortedTransactions);
        reopened.Close();
    }

    [Fact]
    public void Recovery_after_an_unclean_stop_rebuilds_the_aborted_index_and_the_last_stable_offset()
    {
        using var dir = new TempDirectory();
        PartitionLog log = OpenReplicated(dir.Path, LogConfig.Default with { SegmentBytes = 300 });
        for (int i = 0; i < 4; i++)
        {
            AppendTransactional(log, Producer, 0, i * 4);
            AppendTransactional(log, Producer, 0, (i * 4) + 2);
            MarkerAt(log, Producer, 0, commit: i % 2 == 0);
        }

        long open = AppendTransactional(log, Other, 0, 0);
        log.UpdateHighWatermark(log.LogEndOffset);
        IReadOnlyList<AbortedTransaction> aborted = log.AbortedTransactions;
        Assert.Equal(2, aborted.Count);
        Assert.True(log.Segments.Count > 2);
        log.CloseWithoutFlush();
        // An unclean stop may lose index writes and snapshots: remove them all, recovery must rebuild the same state from the log.
        foreach (string file in Directory.EnumerateFiles(dir.Path).Where(f => f.EndsWith(".txnindex", StringComparison.Ordinal)
                     || f.EndsWith(".snapshot", StringComparison.Ordinal)))
        {
            File.Delete(file);
        }

        PartitionLog reopened = OpenReplicated(dir.Path, LogConfig.Default with { SegmentBytes = 300 });

        Assert.Equal(open, reopened.LastStableOffset);
        Assert.Equal(aborted, reopened.AbortedTransactions);
        long segmentOfFirstAbort = reopened.Segments.Last(s => s.BaseOffset <= aborted[0].LastOffset).BaseOffset;
        Assert.True(File.Exists(Logs.SegmentFile(dir.Path, segmentOfFirstAbort, ".txnindex")));
        reopened.Close();
    }

    [Fact]
    public void A_corrupt_index_file_is_rebuilt_from_the_log()
    {
        using var dir = new TempDirectory();
        PartitionLog log = OpenReplicated(dir.Path);
        AppendTransactional(log, Producer, 0, 0);
        MarkerAt(log, Producer, 0, commit: false);
        IReadOnlyList<AbortedTransaction> aborted = log.AbortedTransactions;
        log.Close();
        File.WriteAllBytes(Logs.SegmentFile(dir.Path, 0, ".txnindex"), Enumerable.Repeat((byte)0xFF, TransactionIndexFile.EntrySize).ToArray());

        PartitionLog reopened = OpenReplicated(dir.Path, clean: true);

        Assert.Equal(aborted, reopened.AbortedTransactions);
        reopened.Close();
    }

    [Fact]
    public void Truncating_away_a_marker_reopens_its_transaction_and_drops_it_from_the_index()
    {
        using var dir = new TempDirectory();
        PartitionLog log = OpenReplicated(dir.Path);
        long first = AppendTransactional(log, Producer, 0, 0);
        long marker = MarkerAt(log, Producer, 0, commit: false);

        log.TruncateTo(marker);
        log.UpdateHighWatermark(log.LogEndOffset);

        Assert.Empty(log.AbortedTransactions);
        Assert.Equal(first, log.LastStableOffset);
        Assert.False(File.Exists(Logs.SegmentFile(dir.Path, 0, ".txnindex")));
        log.Close();
    }

    [Fact]
    public void Follower_appends_of_markers_maintain_the_same_transaction_state()
    {
        using var leaderDir = new TempDirectory();
        using var followerDir = new TempDirectory();
        PartitionLog leader = OpenReplicated(leaderDir.Path);
        PartitionLog follower = OpenReplicated(followerDir.Path);
        AppendTransactional(leader, Producer, 0, 0);
        MarkerAt(leader, Producer, 0, commit: false);
        AppendTransactional(leader, Other, 0, 0);

        LogReadResult all = leader.Read(0, 1 << 20, leader.LogEndOffset, minOneBatch: true);
        follower.AppendAsFollower(all.Records);
        follower.UpdateHighWatermark(follower.LogEndOffset);
        leader.UpdateHighWatermark(leader.LogEndOffset);

        Assert.Equal(leader.AbortedTransactions, follower.AbortedTransactions);
        Assert.Equal(leader.LastStableOffset, follower.LastStableOffset);
        Assert.Equal(3, follower.LastStableOffset);
        leader.Close();
        follower.Close();
    }

    [Fact]
    public void A_producer_with_an_open_transaction_does_not_expire()
    {
        using var dir = new TempDirectory();
        PartitionLog log = OpenReplicated(dir.Path);
        AppendTransactional(log, Producer, 0, 0);

        Assert.Equal(0, log.RemoveExpiredProducers(Batches.T0 + 10_000_000, 1000));
        Assert.NotNull(log.FindProducer(Producer));
        log.Close();
    }
}
