using System.Text;
using Tributary.Protocol.Records;
using Tributary.Storage.Cleaner;

namespace Tributary.Storage.Tests.Cleaner;

/// <summary>
/// Compaction of a log holding transactions (Kafka's cleaner rules): open transactions untouched, aborted data removed, committed
/// data compacted by key, markers removed only after their delete horizon, producer state kept (real files, explicit clock).
/// </summary>
public sealed class TransactionCompactionTests
{
    private const long T0 = Batches.T0;
    private const long Retention = 60_000;
    private const long P = 7;
    private const long Q = 8;

    private static readonly LogConfig Config = Compaction.CompactConfig with { DeleteRetentionMs = Retention };

    /// <summary>A log and what a read_committed consumer must end up with (latest committed value per key).</summary>
    private sealed class TxnLog(PartitionLog log)
    {
        private readonly Dictionary<long, int> _sequences = [];
        private readonly Dictionary<long, List<(long Offset, string Key, string Value)>> _open = [];
        private readonly List<(long Offset, string Key, string Value)> _committed = [];

        public PartitionLog Log { get; private set; } = log;

        /// <summary>Latest committed value per key over the whole log.</summary>
        public Dictionary<string, string> Model => Below(long.MaxValue);

        public HashSet<string> AbortedValues { get; } = [];

        /// <summary>Latest committed value per key among records below <paramref name="offset"/>.</summary>
        public Dictionary<string, string> Below(long offset)
        {
            var latest = new Dictionary<string, string>();
            foreach ((long recordOffset, string key, string value) in _committed.OrderBy(r => r.Offset))
            {
                if (recordOffset < offset)
                {
                    latest[key] = value;
                }
            }

            return latest;
        }

        public void Plain(params (string Key, string Value)[] records)
        {
            LogAppendInfo info = Compaction.Append(Log, T0, records.Select(r => (r.Key, (string?)r.Value)).ToArray());
            for (int i = 0; i < records.Length; i++)
            {
                _committed.Add((info.FirstOffset + i, records[i].Key, records[i].Value));
            }
        }

        public void Txn(long producerId, params (string Key, string Value)[] records)
        {
            int sequence = _sequences.GetValueOrDefault(producerId);
            var builder = new RecordBatchBuilder { ProducerId = producerId, ProducerEpoch = 0, BaseSequence = sequence, IsTransactional = true };
            foreach ((string key, string value) in records)
            {
                builder.Append(T0, Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(value));
            }

            LogAppendInfo info = Log.AppendAsLeader(builder.Build(), records.Length, 0, T0, false, out ProducerAppendResult result);
            Assert.Equal(ProducerAppendStatus.Appended, result.Status);
            _sequences[producerId] = sequence + records.Length;
            if (!_open.TryGetValue(producerId, out List<(long Offset, string Key, string Value)>? open))
            {
                _open[producerId] = open = [];
            }

            open.AddRange(records.Select((r, i) => (info.FirstOffset + i, r.Key, r.Value)));
            Log.UpdateHighWatermark(Log.LogEndOffset);
        }

        public void End(long producerId, bool commit)
        {
            Log.AppendTxnMarkerAsLeader(producerId, 0, new EndTransactionMarker(commit ? ControlRecordType.Commit : ControlRecordType.Abort, 0), 0,
                T0, out ProducerAppendResult result);
            Assert.Equal(ProducerAppendStatus.Appended, result.Status);
            Log.UpdateHighWatermark(Log.LogEndOffset);
            foreach ((long offset, string key, string value) in _open.GetValueOrDefault(producerId) ?? [])
            {
                if (commit)
                {
                    _committed.Add((offset, key, value));
                }
                else
                {
                    AbortedValues.Add(value);
                }
            }

            _open.Remove(producerId);
        }

        public void Roll() => Log.ForceRoll(T0);

        public CleaningResult? Clean(long nowMs) => Compaction.NewCleaner().Clean(Log, nowMs);

        public void Reopen(string directory, bool dropSnapshots = false)
        {
            Log.CloseWithoutFlush();
            if (dropSnapshots)
            {
                foreach (string snapshot in Directory.EnumerateFiles(directory, "*.snapshot"))
                {
                    File.Delete(snapshot);
                }
            }

            Log = Logs.Open(directory, Config);
            Log.UpdateHighWatermark(Log.LogEndOffset);
        }
    }

    /// <summary>What a read_committed consumer reads from the log start up to the LSO (Kafka's consumer-side filtering).</summary>
    private static List<ReadRecord> ReadCommitted(PartitionLog log)
    {
        long end = log.LastStableOffset;
        var aborted = new Queue<AbortedTransaction>(log.CollectAbortedTransactions(log.LogStartOffset, end).OrderBy(a => a.FirstOffset));
        var abortedProducers = new HashSet<long>();
        var records = new List<ReadRecord>();
        long next = log.LogStartOffset;
        while (next < end)
        {
            LogReadResult result = log.Read(next, 1 << 20, end, minOneBatch: true);
            Assert.Equal(LogReadError.None, result.Error);
            if (result.Records.IsEmpty)
            {
                break;
            }

            var batches = new RecordBatchEnumerator(result.Records.Span);
            while (batches.MoveNext())
            {
                RecordBatchHeader header = batches.CurrentHeader;
                while (aborted.TryPeek(out AbortedTransaction first) && first.FirstOffset <= header.LastOffset)
                {
                    abortedProducers.Add(aborted.Dequeue().ProducerId);
                }

                if (header.IsControl)
                {
                    if (EndTransactionMarker.TryRead(batches.Current, out EndTransactionMarker marker) && marker.Type == ControlRecordType.Abort)
                    {
                        abortedProducers.Remove(header.ProducerId);
                    }

                    continue;
                }

                if (header.IsTransactional && abortedProducers.Contains(header.ProducerId))
                {
                    continue;
                }

                records.AddRange(Compaction.Decode(batches.Current).Where(r => r.Offset >= next));
            }

            next = result.NextOffset;
        }

        return records;
    }

    private static List<RecordBatchHeader> Markers(PartitionLog log) => [.. Compaction.ReadHeaders(log).Where(h => h.IsControl)];

    private static TxnLog Open(string directory) => new(OpenLog(directory));

    private static PartitionLog OpenLog(string directory)
    {
        PartitionLog log = Logs.Open(directory, Config);
        log.UpdateHighWatermark(log.LogEndOffset);
        return log;
    }

    [Fact]
    public void An_open_transaction_is_not_cleaned_and_its_keys_hide_no_older_value()
    {
        using var dir = new TempDirectory();
        TxnLog t = Open(dir.Path);
        t.Plain(("k1", "a"), ("k2", "x"));
        t.Roll();
        t.Txn(P, ("k1", "open"));
        t.Roll();
        t.Plain(("k3", "y"));
        t.Roll();

        t.Clean(T0 + 1_000);
        Assert.Contains(Compaction.ReadAll(t.Log), r => r.Value == "a");
        Assert.Contains(Compaction.ReadAll(t.Log), r => r.Value == "open");

        t.End(P, commit: false);
        t.Plain(("k4", "z"));
        t.Roll();
        t.Clean(T0 + 2_000);

        Assert.Equal(t.Model, Compaction.Latest(ReadCommitted(t.Log)));
        Assert.Equal("a", Compaction.Latest(ReadCommitted(t.Log))["k1"]);
        t.Log.Close();
    }

    [Fact]
    public void Aborted_transaction_data_is_gone_after_cleaning_its_segment()
    {
        using var dir = new TempDirectory();
        TxnLog t = Open(dir.Path);
        t.Plain(("k1", "old"));
        t.Txn(P, ("k1", "bad1"), ("k2", "bad2"));
        t.Txn(P, ("k3", "bad3"));
        t.End(P, commit: false);
        t.Txn(P, ("k9", "keep"));
        t.End(P, commit: true);
        t.Plain(("k4", "ok"));
        t.Roll();

        CleaningResult? result = t.Clean(T0 + 1_000);

        Assert.NotNull(result);
        Assert.Equal(3, result.Value.AbortedRecordsRemoved);
        List<ReadRecord> all = Compaction.ReadAll(t.Log);
        Assert.DoesNotContain(all, r => t.AbortedValues.Contains(r.Value!));
        Assert.Contains(all, r => r.Key == "k1" && r.Value == "old");
        Assert.Equal(t.Model, Compaction.Latest(ReadCommitted(t.Log)));
        // The data was met in this pass: the ABORT marker and its index entry stay until a pass finds nothing left of it.
        Assert.Equal(2, Markers(t.Log).Count);
        Assert.Single(t.Log.AbortedTransactions);
        t.Log.Close();
    }

    [Fact]
    public void Committed_transactional_data_is_compacted_by_key_like_other_records()
    {
        using var dir = new TempDirectory();
        TxnLog t = Open(dir.Path);
        t.Plain(("k1", "v1"), ("k2", "w1"));
        t.Txn(P, ("k1", "v2"), ("k2", "w2"));
        t.End(P, commit: true);
        t.Plain(("k2", "w3"));
        t.Roll();

        t.Clean(T0 + 1_000);

        List<ReadRecord> data = Compaction.ReadAll(t.Log).Where(r => r.Key is "k1" or "k2").ToList();
        Assert.Equal(["v2", "w3"], data.Select(r => r.Value));
        Assert.Equal(t.Model, Compaction.Latest(ReadCommitted(t.Log)));
        // "v2" is still there: so is the COMMIT marker.
        Assert.Single(Markers(t.Log));
        t.Log.Close();
    }

    [Fact]
    public void Markers_are_removed_only_after_the_delete_horizon_of_the_pass_that_found_their_transaction_empty()
    {
        using var dir = new TempDirectory();
        TxnLog t = Open(dir.Path);
        t.Txn(P, ("k1", "a"));
        t.End(P, commit: true);
        t.Txn(P, ("k2", "gone"));
        t.End(P, commit: false);
        t.Txn(P, ("k5", "last"));
        t.End(P, commit: true);
        t.Plain(("k1", "b"));
        t.Roll();

        // Pass 1 removes the data ("a" is superseded, "gone" aborted) but met it: both markers stay as they are.
        t.Clean(T0 + 1_000);
        Assert.Equal(3, Markers(t.Log).Count);
        Assert.DoesNotContain(Markers(t.Log), h => h.HasDeleteHorizon);
        Assert.Single(t.Log.AbortedTransactions);

        // Pass 2 finds no data of the first two transactions: their markers get a horizon, the aborted entry goes.
        long pass2 = T0 + 2_000;
        t.Clean(pass2);
        List<RecordBatchHeader> markers = Markers(t.Log);
        Assert.Equal(3, markers.Count);
        Assert.Equal([true, true, false], markers.Select(h => h.HasDeleteHorizon));
        Assert.All(markers.Take(2), h => Assert.Equal(pass2 + Retention, h.BaseTimestamp));
        Assert.Empty(t.Log.AbortedTransactions);
        Assert.Equal(t.Model, Compaction.Latest(ReadCommitted(t.Log)));

        t.Clean(pass2 + Retention - 1);
        Assert.Equal(3, Markers(t.Log).Count);

        CleaningResult? result = t.Clean(pass2 + Retention);
        Assert.Equal(2, result!.Value.MarkersRemoved);
        Assert.Single(Markers(t.Log));
        Assert.Equal(t.Model, Compaction.Latest(ReadCommitted(t.Log)));
        t.Log.Close();
    }

    [Fact]
    public void A_producers_last_batch_survives_cleaning_so_its_sequence_is_known_after_a_rebuild()
    {
        using var dir = new TempDirectory();
        TxnLog t = Open(dir.Path);
        t.Txn(P, ("k1", "a"), ("k2", "b"));
        t.End(P, commit: false);
        t.Plain(("k3", "c"));
        t.Roll();
        t.Clean(T0 + 1_000);
        t.Clean(T0 + 2_000);
        t.Clean(T0 + 2_000 + Retention);

        Assert.DoesNotContain(Compaction.ReadAll(t.Log), r => r.Value is "a" or "b");
        t.Reopen(dir.Path, dropSnapshots: true);

        Assert.Equal(1, t.Log.FindProducer(P)!.LastSequence);
        Assert.Equal(t.Model, Compaction.Latest(ReadCommitted(t.Log)));
        t.Log.Close();
    }

    [Fact]
    public void A_read_committed_read_of_the_cleaned_log_equals_the_model_at_every_pass()
    {
        using var dir = new TempDirectory();
        TxnLog t = Open(dir.Path);
        var random = new Random(21);
        long now = T0;
        for (int round = 0; round < 12; round++)
        {
            for (int step = 0; step < 20; step++)
            {
                string key = $"k{random.Next(15)}";
                string value = $"r{round}s{step}";
                switch (random.Next(4))
                {
                    case 0:
                        t.Plain((key, value));
                        break;
                    case 1:
                        t.Txn(P, (key, value + "p"));
                        break;
                    case 2:
                        t.Txn(Q, (key, value + "q"));
                        break;
                    default:
                        t.End(random.Next(2) == 0 ? P : Q, commit: random.Next(3) != 0);
                        break;
                }
            }

            t.Roll();
            now += Retention / 3;
            t.Clean(now);
            List<ReadRecord> committed = ReadCommitted(t.Log);
            Assert.DoesNotContain(committed, r => t.AbortedValues.Contains(r.Value!));
            // Below the LSO every transaction has ended: the latest committed values there are what a read_committed consumer gets.
            Assert.Equal(t.Below(t.Log.LastStableOffset), Compaction.Latest(committed));
        }

        t.End(P, commit: true);
        t.End(Q, commit: false);
        t.Roll();
        for (int pass = 0; pass < 4; pass++)
        {
            now += Retention;
            t.Clean(now);
            Assert.Equal(t.Model, Compaction.Latest(ReadCommitted(t.Log)));
        }

        Assert.DoesNotContain(Compaction.ReadAll(t.Log), r => t.AbortedValues.Contains(r.Value!));
        t.Log.Close();
    }

    private sealed class SimulatedCrashException : Exception;

    public static TheoryData<CleanerStep> Steps => [.. Enum.GetValues<CleanerStep>()];

    [Theory]
    [MemberData(nameof(Steps))]
    public void A_crash_mid_clean_keeps_the_aborted_index_in_step_with_the_segments(CleanerStep crashAt)
    {
        using var dir = new TempDirectory();
        TxnLog t = Open(dir.Path);
        for (int i = 0; i < 6; i++)
        {
            t.Plain(($"k{i}", $"v{i}"));
            t.Txn(P, ($"k{i}", $"aborted{i}"));
            t.End(P, commit: false);
            t.Txn(Q, ($"k{i}", $"committed{i}"));
            t.End(Q, commit: true);
            t.Roll();
        }

        t.Plain(("last", "x"));
        t.Roll();
        // Pass 1 removes the aborted data; pass 2 empties the index and stamps the markers; pass 3 (crashing) removes them.
        t.Clean(T0 + 1_000);
        t.Clean(T0 + 2_000);
        LogCleaner cleaner = Compaction.NewCleaner();
        cleaner.CrashPoint = step =>
        {
            if (step == crashAt)
            {
                throw new SimulatedCrashException();
            }
        };
        Assert.Throws<SimulatedCrashException>(() => cleaner.Clean(t.Log, T0 + 2_000 + Retention));
        t.Reopen(dir.Path);

        Assert.Empty(Directory.EnumerateFiles(dir.Path, "*.cleaned"));
        Assert.Empty(Directory.EnumerateFiles(dir.Path, "*.swap"));
        // Every aborted-index entry still has its marker in the log.
        HashSet<long> markerOffsets = [.. Markers(t.Log).Select(h => h.BaseOffset)];
        Assert.All(t.Log.AbortedTransactions, entry => Assert.Contains(entry.LastOffset, markerOffsets));
        Assert.Equal(t.Model, Compaction.Latest(ReadCommitted(t.Log)));

        t.Clean(T0 + 3_000 + Retention);
        Assert.Equal(t.Model, Compaction.Latest(ReadCommitted(t.Log)));
        Assert.DoesNotContain(Compaction.ReadAll(t.Log), r => t.AbortedValues.Contains(r.Value!));
        t.Log.Close();
    }

    [Theory]
    [MemberData(nameof(Steps))]
    public void A_crash_mid_clean_of_a_merged_group_loses_no_aborted_index_entry(CleanerStep crashAt)
    {
        using var dir = new TempDirectory();
        TxnLog t = Open(dir.Path);
        // Aborted transactions whose data stays in the log (each is P's last data batch only at the end, so all but the last
        // are removed; the markers of later segments are what the merged group's index must keep).
        for (int i = 0; i < 4; i++)
        {
            t.Plain(($"k{i}", $"v{i}"));
            t.Txn(P, ($"a{i}", $"aborted{i}"));
            t.Roll();
            t.End(P, commit: false);
            t.Roll();
        }

        t.Plain(("last", "x"));
        t.Roll();
        int entriesBefore = t.Log.AbortedTransactions.Count;
        Assert.Equal(4, entriesBefore);
        LogCleaner cleaner = Compaction.NewCleaner();
        cleaner.CrashPoint = step =>
        {
            if (step == crashAt)
            {
                throw new SimulatedCrashException();
            }
        };
        Assert.Throws<SimulatedCrashException>(() => cleaner.Clean(t.Log, T0 + 1_000));
        t.Reopen(dir.Path);

        // The crash left either the old segments with their index files, or the cleaned group with its index: in both, the
        // aborted data that is still in the log is covered by an entry, so read_committed never sees it.
        Assert.DoesNotContain(ReadCommitted(t.Log), r => t.AbortedValues.Contains(r.Value!));
        Assert.Equal(t.Model, Compaction.Latest(ReadCommitted(t.Log)));
        HashSet<long> markerOffsets = [.. Markers(t.Log).Select(h => h.BaseOffset)];
        Assert.All(t.Log.AbortedTransactions, entry => Assert.Contains(entry.LastOffset, markerOffsets));
        t.Log.Close();
    }
}
