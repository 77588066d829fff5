using Tributary.Protocol.Records;

namespace Tributary.Storage;

/// <summary>
/// Transactions in the partition (KIP-98): transaction markers appended by the leader, the last stable offset, and the aborted
/// transactions (kept in memory and per segment in <c>&lt;base&gt;.txnindex</c>, see <see cref="TransactionIndexFile"/>).
/// </summary>
/// <remarks>
/// Invariants, under the append lock: <see cref="_aborted"/> holds, ordered by marker offset, one entry per ABORT marker of the
/// segments that exist; each segment's file holds exactly the entries whose marker lies in that segment (reconciled by
/// <see cref="SyncTransactionIndexFiles"/> after anything that removes or merges segments). The LSO is the smallest of the high
/// watermark, the first offset of every open transaction, and the first offset of every transaction whose marker is not yet
/// below the high watermark (a consumer must not see a transaction's data before it can see how the transaction ended).
/// </remarks>
public sealed partial class PartitionLog
{
    private readonly Lock _abortedLock = new();
    private readonly List<AbortedTransaction> _aborted = [];
    private readonly Dictionary<long, int> _txnIndexFileEntries = [];
    private readonly HashSet<long> _txnIndexUnsynced = [];
    private long _txnIndexSyncCount;
    private readonly List<CompletedTransaction> _completedScratch = [];
    private volatile TransactionView _transactions = TransactionView.None;
    private bool _abortedLoaded;

    /// <summary>
    /// Offset below which every transaction has ended and its marker is replicated (the high watermark when no transaction is
    /// open): read_committed consumers read only below it (KIP-98).
    /// </summary>
    public long LastStableOffset => _transactions.LastStableOffset(HighWatermark);

    /// <summary>fsyncs of <c>.txnindex</c> files after appends (tests).</summary>
    internal long TransactionIndexSyncCount => Interlocked.Read(ref _txnIndexSyncCount);

    /// <summary>Aborted transactions, oldest marker first (diagnostics and tests).</summary>
    public IReadOnlyList<AbortedTransaction> AbortedTransactions
    {
        get
        {
            lock (_abortedLock)
            {
                return [.. _aborted];
            }
        }
    }

    /// <summary>
    /// The aborted transactions a read_committed fetch of [<paramref name="fetchOffset"/>, <paramref name="upperBoundOffset"/>)
    /// must know about: those whose data may lie in the range (marker at or after the fetch offset, first offset below the bound),
    /// oldest marker first, as Kafka's Fetch <c>aborted_transactions</c>.
    /// </summary>
    public IReadOnlyList<AbortedTransaction> CollectAbortedTransactions(long fetchOffset, long upperBoundOffset)
    {
        lock (_abortedLock)
        {
            int low = 0;
            int high = _aborted.Count;
            while (low < high)
            {
                int middle = (low + high) >>> 1;
                if (_aborted[middle].LastOffset < fetchOffset)
                {
                    low = middle + 1;
                }
                else
                {
                    high = middle;
                }
            }

            List<AbortedTransaction>? found = null;
            for (int i = low; i < _aborted.Count; i++)
            {
                if (_aborted[i].FirstOffset < upperBoundOffset)
                {
                    (found ??= []).Add(_aborted[i]);
                }
            }

            return found ?? (IReadOnlyList<AbortedTransaction>)[];
        }
    }

    /// <summary>
    /// Appends a COMMIT or ABORT marker for a producer as the leader (WriteTxnMarkers), after Kafka's checks: a marker of an older
    /// producer epoch is <see cref="ProducerAppendStatus.InvalidProducerEpoch"/>, one of an older coordinator epoch is
    /// <see cref="ProducerAppendStatus.TransactionCoordinatorFenced"/>; neither is written. Completes the producer's transaction
    /// here: the LSO moves past it once the marker is below the high watermark, and an ABORT is added to the aborted index.
    /// </summary>
    public LogAppendInfo AppendTxnMarkerAsLeader(long producerId, short producerEpoch, EndTransactionMarker marker, int partitionLeaderEpoch,
        long nowMs, out ProducerAppendResult result)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(producerId);
        lock (_appendLock)
        {
            ThrowIfClosed();
            result = _producers.CheckMarker(producerId, producerEpoch, marker.CoordinatorEpoch);
            if (result.IsRefused)
            {
                return new LogAppendInfo(-1, -1, -1, -1, -1, LogStartOffset, 0, 0);
            }

            byte[] batch = marker.BuildBatch(producerId, producerEpoch, nowMs);
            return AppendAsLeaderLocked(batch, 1, partitionLeaderEpoch, nowMs, logAppendTime: false, out _);
        }
    }

    /// <summary>Under the append lock: applies appended batches to the producer state and the transaction state.</summary>
    private void ApplyAppendedBatches(ReadOnlySpan<byte> batches)
    {
        var enumerator = new RecordBatchEnumerator(batches);
        bool transactional = false;
        while (enumerator.MoveNext())
        {
            RecordBatchHeader header = enumerator.CurrentHeader;
            transactional |= header.IsTransactional;
            ApplyBatch(header, header.IsControl ? enumerator.Current : default);
        }

        if (transactional)
        {
            OnTransactionsChanged(_completedScratch);
        }
    }

    /// <summary>
    /// Under the append lock: applies one batch (<paramref name="controlBatch"/> holds the bytes of a control batch) to the producer
    /// state; a transaction its marker completes is recorded at once, so the aborted index sees the LSO of that moment.
    /// </summary>
    private void ApplyBatch(in RecordBatchHeader header, ReadOnlySpan<byte> controlBatch)
    {
        EndTransactionMarker marker = default;
        bool isMarker = header.IsControl && EndTransactionMarker.TryRead(controlBatch, out marker);
        if (_producers.Apply(header, isMarker ? marker : null) is { } completed)
        {
            _completedScratch.Add(completed);
            OnTransactionsChanged(_completedScratch);
            _completedScratch.Clear();
        }
    }

    /// <summary>
    /// Under the append lock: records completed transactions (aborted ones in the index, unreplicated ones as holding the LSO) and
    /// publishes a new view of the transaction state.
    /// </summary>
    private void OnTransactionsChanged(List<CompletedTransaction> completed)
    {
        TransactionView current = _transactions;
        long firstOngoing = _producers.FirstOngoingOffset;
        if (completed.Count == 0 && firstOngoing == current.FirstOngoingOffset && current.Unreplicated.Length == 0)
        {
            return;
        }

        long highWatermark = _highWatermark;
        var unreplicated = new List<CompletedTransaction>(current.Unreplicated.Length + completed.Count);
        foreach (CompletedTransaction transaction in current.Unreplicated)
        {
            if (transaction.LastOffset >= highWatermark)
            {
                unreplicated.Add(transaction);
            }
        }

        foreach (CompletedTransaction transaction in completed)
        {
            if (transaction.LastOffset >= highWatermark && !_highWatermarkFollowsLogEnd)
            {
                unreplicated.Add(transaction);
            }

            if (transaction.IsAborted)
            {
                // Kafka's AbortedTxn.lastStableOffset: where the LSO stood once this transaction ended (the oldest other open
                // transaction, or just past the marker).
                long stable = OldestOtherOngoing(transaction.ProducerId) is var other and >= 0 ? other : transaction.LastOffset + 1;
                AddAbortedTransaction(new AbortedTransaction(transaction.ProducerId, transaction.FirstOffset, transaction.LastOffset, stable));
            }
        }

        _transactions = new TransactionView(firstOngoing, [.. unreplicated]);
    }

    /// <summary>Under the append lock, after the high watermark moved: forgets completed transactions now below it.</summary>
    private void OnHighWatermarkChanged()
    {
        if (_transactions.Unreplicated.Length > 0)
        {
            OnTransactionsChanged(_completedScratch);
        }
    }

    private long OldestOtherOngoing(long producerId)
    {
        foreach ((long firstOffset, long ongoingProducer) in _producers.OngoingTransactions)
        {
            if (ongoingProducer != producerId)
            {
                return firstOffset;
            }
        }

        return -1;
    }

    /// <summary>Under the append lock: a new ABORT marker, in memory and appended to its segment's index file.</summary>
    private void AddAbortedTransaction(AbortedTransaction aborted)
    {
        lock (_abortedLock)
        {
            _aborted.Add(aborted);
        }

        long segmentBase = SegmentBaseOf(aborted.LastOffset);
        try
        {
            int entries = _txnIndexFileEntries.GetValueOrDefault(segmentBase);
            TransactionIndexFile.Append(TransactionIndexFile.PathFor(Directory, segmentBase), aborted);
            _txnIndexFileEntries[segmentBase] = entries + 1;
            lock (_abortedLock)
            {
                // fsynced with the segment's data by the next flush, before the recovery point passes the marker.
                _txnIndexUnsynced.Add(segmentBase);
            }

            if (entries <= 0)
            {
                Volatile.Write(ref _directoryDirty, true);
            }
        }
        catch (IOException exception)
        {
            // The in-memory index is right; the next reconciliation rewrites the file.
            _txnIndexFileEntries[segmentBase] = -1;
            StorageTransactionLog.TransactionIndexWriteFailed(_logger, exception, TopicPartition, segmentBase);
        }
    }

    /// <summary>
    /// Under the append lock, at open: loads the index files. Returns the base offset of the first segment whose file could not be
    /// used (its transactions must be replayed from the log), long.MaxValue when all were fine or they were loaded before.
    /// </summary>
    private long LoadTransactionIndexOnce()
    {
        if (_abortedLoaded)
        {
            return long.MaxValue;
        }

        _abortedLoaded = true;
        return LoadTransactionIndexFiles();
    }

    /// <summary>
    /// Under the append lock, when producer state is rebuilt from <paramref name="replayFrom"/>: drops the entries the replay will
    /// produce again (markers at or after it).
    /// </summary>
    private void PrepareAbortedTransactionsForReplay(long replayFrom)
    {
        lock (_abortedLock)
        {
            _aborted.RemoveAll(entry => entry.LastOffset >= replayFrom);
        }

        _transactions = TransactionView.None;
    }

    private long LoadTransactionIndexFiles()
    {
        long firstUnusable = long.MaxValue;
        var loaded = new List<AbortedTransaction>();
        _txnIndexFileEntries.Clear();
        foreach (LogSegment segment in _segments)
        {
            string path = TransactionIndexFile.PathFor(Directory, segment.BaseOffset);
            if (!File.Exists(path))
            {
                continue;
            }

            int before = loaded.Count;
            string? problem = TransactionIndexFile.Read(path, segment.BaseOffset, loaded);
            if (problem is not null)
            {
                StorageTransactionLog.TransactionIndexIgnored(_logger, path, problem);
                loaded.RemoveRange(before, loaded.Count - before);
                _txnIndexFileEntries[segment.BaseOffset] = -1;
                firstUnusable = Math.Min(firstUnusable, segment.BaseOffset);
            }
            else
            {
                _txnIndexFileEntries[segment.BaseOffset] = loaded.Count - before;
            }
        }

        loaded.Sort((a, b) => a.LastOffset.CompareTo(b.LastOffset));
        lock (_abortedLock)
        {
            _aborted.Clear();
            _aborted.AddRange(loaded);
        }

        return firstUnusable;
    }

    /// <summary>
    /// Under the append lock, after segments were removed, merged or recovered: drops entries of segments that no longer exist and
    /// rewrites (or deletes) every index file whose content differs from the in-memory index.
    /// </summary>
    private void SyncTransactionIndexFiles()
    {
        LogSegment[] segments = _segments;
        var expected = new Dictionary<long, List<AbortedTransaction>>();
        lock (_abortedLock)
        {
            _aborted.RemoveAll(entry => entry.LastOffset < segments[0].BaseOffset);
            foreach (AbortedTransaction entry in _aborted)
            {
                long segmentBase = SegmentBaseOf(entry.LastOffset);
                if (!expected.TryGetValue(segmentBase, out List<AbortedTransaction>? list))
                {
                    expected[segmentBase] = list = [];
                }

                list.Add(entry);
            }
        }

        try
        {
            foreach (string path in System.IO.Directory.EnumerateFiles(Directory, "*" + TransactionIndexFile.Suffix))
            {
                if (TryParseBaseOffset(Path.GetFileName(path), TransactionIndexFile.Suffix, out long segmentBase) && !expected.ContainsKey(segmentBase))
                {
                    File.Delete(path);
                    _txnIndexFileEntries.Remove(segmentBase);
                }
            }

            foreach ((long segmentBase, List<AbortedTransaction> entries) in expected)
            {
                if (_txnIndexFileEntries.GetValueOrDefault(segmentBase) != entries.Count
                    || !File.Exists(TransactionIndexFile.PathFor(Directory, segmentBase)))
                {
                    TransactionIndexFile.Write(TransactionIndexFile.PathFor(Directory, segmentBase), entries);
                    _txnIndexFileEntries[segmentBase] = entries.Count;
                }
            }

            foreach (long segmentBase in _txnIndexFileEntries.Keys.Where(key => !expected.ContainsKey(key)).ToList())
            {
                _txnIndexFileEntries.Remove(segmentBase);
            }
        }
        catch (IOException exception)
        {
            StorageTransactionLog.TransactionIndexWriteFailed(_logger, exception, TopicPartition, segments[0].BaseOffset);
        }
    }

    /// <summary>
    /// Under the append lock, once a cleaned segment replaced [<paramref name="baseOffset"/>, <paramref name="endOffset"/>): the
    /// aborted transactions with a marker there are now <paramref name="retained"/> (the file was installed by the swap).
    /// </summary>
    private void ReplaceAbortedTransactions(long baseOffset, long endOffset, IReadOnlyList<AbortedTransaction> retained)
    {
        lock (_abortedLock)
        {
            _aborted.RemoveAll(entry => entry.LastOffset >= baseOffset && entry.LastOffset < endOffset);
            _aborted.AddRange(retained);
            _aborted.Sort((a, b) => a.LastOffset.CompareTo(b.LastOffset));
        }

        foreach (long segmentBase in _txnIndexFileEntries.Keys.Where(key => key >= baseOffset && key < endOffset).ToList())
        {
            _txnIndexFileEntries.Remove(segmentBase);
        }

        _txnIndexFileEntries[baseOffset] = retained.Count;
    }

    /// <summary>
    /// Under the flush lock, with the segments' data: fsyncs the index files appended to since the last flush (Kafka flushes a
    /// segment's transaction index with the segment), so a machine crash cannot lose an aborted range below the recovery point.
    /// </summary>
    private void SyncTransactionIndexAppends()
    {
        long[] dirty;
        lock (_abortedLock)
        {
            if (_txnIndexUnsynced.Count == 0)
            {
                return;
            }

            dirty = [.. _txnIndexUnsynced];
            _txnIndexUnsynced.Clear();
        }

        try
        {
            foreach (long segmentBase in dirty)
            {
                if (TransactionIndexFile.Sync(TransactionIndexFile.PathFor(Directory, segmentBase)))
                {
                    Interlocked.Increment(ref _txnIndexSyncCount);
                }
            }
        }
        catch (IOException)
        {
            lock (_abortedLock)
            {
                _txnIndexUnsynced.UnionWith(dirty);
            }

            throw;
        }
    }

    /// <summary>Base offset of the segment holding <paramref name="offset"/> (the first segment's for offsets below it).</summary>
    private long SegmentBaseOf(long offset)
    {
        LogSegment[] segments = _segments;
        int index = FloorSegmentIndex(segments, offset);
        return segments[Math.Max(0, index)].BaseOffset;
    }

    /// <summary>An immutable snapshot of what holds the last stable offset back, replaced under the append lock.</summary>
    /// <param name="FirstOngoingOffset">first offset of the oldest open transaction, -1 when none.</param>
    /// <param name="Unreplicated">completed transactions whose marker was not yet below the high watermark when last checked.</param>
    private sealed record TransactionView(long FirstOngoingOffset, CompletedTransaction[] Unreplicated)
    {
        public static readonly TransactionView None = new(-1, []);

        public long LastStableOffset(long highWatermark)
        {
            long stable = highWatermark;
            if (FirstOngoingOffset >= 0 && FirstOngoingOffset < stable)
            {
                stable = FirstOngoingOffset;
            }

            foreach (CompletedTransaction transaction in Unreplicated)
            {
                if (transaction.LastOffset >= highWatermark && transaction.FirstOffset < stable)
                {
                    stable = transaction.FirstOffset;
                }
            }

            return stable;
        }
    }
}
