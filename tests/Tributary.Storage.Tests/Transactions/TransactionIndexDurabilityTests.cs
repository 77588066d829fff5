using System.Text;
using Tributary.Protocol.Records;

namespace Tributary.Storage.Tests.Transactions;

/// <summary>Appends to a segment's <c>.txnindex</c> are fsynced with the segment (real files).</summary>
public class TransactionIndexDurabilityTests
{
    private const long Producer = 41;

    private static void AbortedTransaction(PartitionLog log, int baseSequence)
    {
        var builder = new RecordBatchBuilder { ProducerId = Producer, ProducerEpoch = 0, BaseSequence = baseSequence, IsTransactional = true };
        builder.Append(Batches.T0, Encoding.UTF8.GetBytes("k"), Encoding.UTF8.GetBytes("v"));
        log.AppendAsLeader(builder.Build(), 1, 0, Batches.T0, false, out ProducerAppendResult appended);
        Assert.Equal(ProducerAppendStatus.Appended, appended.Status);
        log.AppendTxnMarkerAsLeader(Producer, 0, new EndTransactionMarker(ControlRecordType.Abort, 0), 0, Batches.T0, out ProducerAppendResult marked);
        Assert.Equal(ProducerAppendStatus.Appended, marked.Status);
        log.UpdateHighWatermark(log.LogEndOffset);
    }

    [Fact]
    public void A_flush_fsyncs_the_index_files_appended_to_since_the_last_flush_and_only_those()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path);
        AbortedTransaction(log, 0);
        AbortedTransaction(log, 1);
        Assert.Equal(0, log.TransactionIndexSyncCount);

        log.Flush();
        Assert.Equal(1, log.TransactionIndexSyncCount);
        log.Flush();
        Assert.Equal(1, log.TransactionIndexSyncCount);

        AbortedTransaction(log, 2);
        log.Flush();
        Assert.Equal(2, log.TransactionIndexSyncCount);
        log.Close();
    }

    [Fact]
    public void Index_entries_flushed_before_a_crash_are_loaded_from_the_file_at_reopen_without_replaying_the_log()
    {
        using var dir = new TempDirectory();
        PartitionLog log = Logs.Open(dir.Path);
        AbortedTransaction(log, 0);
        AbortedTransaction(log, 1);
        IReadOnlyList<AbortedTransaction> aborted = log.AbortedTransactions;
        log.Flush();
        long flushedTo = log.RecoveryPoint;
        log.CloseWithoutFlush();
        // The producer snapshot is lost with the crash: reopening at the recovery point reads the index file as it is on disk.
        foreach (string snapshot in Directory.EnumerateFiles(dir.Path, "*.snapshot"))
        {
            File.Delete(snapshot);
        }

        byte[] onDisk = File.ReadAllBytes(Logs.SegmentFile(dir.Path, 0, ".txnindex"));
        PartitionLog reopened = Logs.Open(dir.Path, recoveryPoint: flushedTo);

        Assert.Equal(2 * TransactionIndexFile.EntrySize, onDisk.Length);
        Assert.Equal(aborted, reopened.AbortedTransactions);
        reopened.Close();
    }
}
