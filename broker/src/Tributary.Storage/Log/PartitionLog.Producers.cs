using Tributary.Protocol.Records;

namespace Tributary.Storage;

/// <summary>Producer state of the partition (idempotent producers): checks, duplicates, snapshots and rebuilds.</summary>
/// <remarks>
/// Invariant: under the append lock, <see cref="_producers"/> reflects exactly the batches below the log end offset (those of the
/// first segment onwards). Snapshot <c>&lt;offset&gt;.snapshot</c> holds the state after the batches below its offset; one is written
/// at every roll (at the new segment's base offset) and at a clean close (at the log end offset), so a clean restart loads the state
/// without reading the log and an unclean one replays only the batches after the newest snapshot that survived recovery.
/// </remarks>
public sealed partial class PartitionLog
{
    private readonly ProducerStateTable _producers = new();

    /// <summary>Producers this partition has state for.</summary>
    public int ProducerCount
    {
        get
        {
            lock (_appendLock)
            {
                return _producers.Count;
            }
        }
    }

    /// <summary>
    /// <see cref="AppendAsLeader(Memory{byte}, int, int, long, bool, out ProducerAppendResult)"/> for callers that append no batches of
    /// idempotent producers; a refused or duplicate batch is not appended and the result's offsets are then -1 or the original ones.
    /// </summary>
    public LogAppendInfo AppendAsLeader(Memory<byte> validatedBatches, int recordCount, int partitionLeaderEpoch, long nowMs,
        bool logAppendTime) =>
        AppendAsLeader(validatedBatches, recordCount, partitionLeaderEpoch, nowMs, logAppendTime, out _);

    /// <summary>What the partition knows about one producer, or null.</summary>
    public ProducerStateView? FindProducer(long producerId)
    {
        lock (_appendLock)
        {
            return _producers.TryGet(producerId, out ProducerStateEntry entry) ? entry.ToView() : null;
        }
    }

    /// <summary>Every producer the partition has state for (DescribeProducers), in no particular order.</summary>
    public IReadOnlyList<ProducerStateView> ProducerStates()
    {
        lock (_appendLock)
        {
            return [.. _producers.Entries.Select(entry => entry.ToView())];
        }
    }

    /// <summary>
    /// Forgets producers whose latest batch timestamp is at least <paramref name="expirationMs"/> before <paramref name="nowMs"/>
    /// (producer.id.expiration.ms); returns how many were removed.
    /// </summary>
    public int RemoveExpiredProducers(long nowMs, long expirationMs)
    {
        int removed;
        lock (_appendLock)
        {
            ThrowIfClosed();
            removed = _producers.RemoveExpired(nowMs, expirationMs);
        }

        if (removed > 0)
        {
            ProducerStateLog.ProducersExpired(_logger, TopicPartition, removed);
        }

        return removed;
    }

    /// <summary>Under the append lock: the producer-state verdict on a leader append, before any offset is assigned.</summary>
    private ProducerAppendResult CheckProducerBatches(ReadOnlySpan<byte> batches, bool coordinatorOrigin) =>
        _producers.Check(batches, coordinatorOrigin);

    /// <summary>The append result of a batch that was not appended: the original offsets of a duplicate, -1 for a refusal.</summary>
    private LogAppendInfo NotAppended(in ProducerAppendResult result, bool logAppendTime)
    {
        if (result.Status != ProducerAppendStatus.Duplicate)
        {
            return new LogAppendInfo(-1, -1, -1, -1, -1, LogStartOffset, 0, 0);
        }

        ProducerBatchMetadata original = result.Duplicate;
        return new LogAppendInfo(original.FirstOffset, original.LastOffset, original.Timestamp, original.FirstOffset,
            logAppendTime ? original.Timestamp : -1, LogStartOffset, 0, 0);
    }

    /// <summary>Under the append lock, after the batches are written: records them (offsets and LogAppendTime final).</summary>
    private void RecordProducerBatches(ReadOnlySpan<byte> batches) => ApplyAppendedBatches(batches);

    /// <summary>
    /// Under the append lock: writes the snapshot at <paramref name="offset"/> (the state covers every batch below it) and deletes
    /// snapshots older than the first segment. A failure only costs a longer replay at the next open, so it is logged, not thrown.
    /// </summary>
    private void WriteProducerSnapshot(long offset, bool durable)
    {
        try
        {
            ProducerSnapshotFile.Write(ProducerSnapshotFile.PathFor(Directory, offset), _producers, durable);
            _directoryDirty = true;
            long oldestNeeded = Math.Min(offset, _segments[0].BaseOffset);
            foreach (long snapshot in ListProducerSnapshots())
            {
                if (snapshot < oldestNeeded)
                {
                    File.Delete(ProducerSnapshotFile.PathFor(Directory, snapshot));
                }
            }
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            ProducerStateLog.ProducerSnapshotWriteFailed(_logger, exception, TopicPartition, offset);
        }
    }

    /// <summary>
    /// At open and after truncation, under the append lock: deletes snapshots beyond the log end offset (their batches are gone),
    /// loads the newest readable snapshot between the first segment and the log end, and replays the batches after it.
    /// </summary>
    private void RebuildProducerState()
    {
        long end = _logEndOffset;
        long firstBase = _segments[0].BaseOffset;
        List<long> snapshots = ListProducerSnapshots();
        long from = firstBase;
        bool loaded = false;
        _producers.Clear();
        // A transaction index that could not be read is rebuilt by replaying its segment, so no snapshot above it may be used.
        long mustReplayFrom = LoadTransactionIndexOnce();
        for (int i = snapshots.Count - 1; i >= 0; i--)
        {
            long offset = snapshots[i];
            string path = ProducerSnapshotFile.PathFor(Directory, offset);
            if (offset > end)
            {
                File.Delete(path);
                continue;
            }

            if (loaded || offset < firstBase || offset > mustReplayFrom)
            {
                continue;
            }

            string? error = ProducerSnapshotFile.TryRead(path, _producers);
            if (error is null)
            {
                from = offset;
                loaded = true;
            }
            else
            {
                File.Delete(path);
                ProducerStateLog.ProducerSnapshotUnreadable(_logger, path, error);
            }
        }

        if (!loaded)
        {
            _producers.Clear();
        }

        PrepareAbortedTransactionsForReplay(from);
        int replayed = ReplayProducerBatches(from, end);
        SyncTransactionIndexFiles();
        ProducerStateLog.ProducerStateLoaded(_logger, TopicPartition, _producers.Count, loaded ? from : -1, replayed, end);
    }

    /// <summary>
    /// Applies every batch with a base offset in [<paramref name="from"/>, <paramref name="to"/>): headers, plus the marker of each
    /// control batch, so transactions open and complete (and aborted ones are indexed) exactly as when the batches were appended.
    /// </summary>
    private int ReplayProducerBatches(long from, long to)
    {
        int visited = WalkBatches(from, to, (in RecordBatchHeader header, ReadOnlySpan<byte> controlBatch) => ApplyBatch(header, controlBatch));
        OnTransactionsChanged(_completedScratch);
        return visited;
    }

    /// <summary>Offsets of the snapshot files in the partition directory, ascending.</summary>
    private List<long> ListProducerSnapshots()
    {
        var offsets = new List<long>();
        foreach (string path in System.IO.Directory.EnumerateFiles(Directory, "*" + ProducerSnapshotFile.Suffix))
        {
            if (TryParseBaseOffset(Path.GetFileName(path), ProducerSnapshotFile.Suffix, out long offset))
            {
                offsets.Add(offset);
            }
        }

        offsets.Sort();
        return offsets;
    }
}
