using Microsoft.Extensions.Logging;
using Tributary.Protocol.IO;
using Tributary.Protocol.Records;

namespace Tributary.Storage;

/// <summary>The storage side of replication: the leader-epoch cache, the high watermark and full truncation.</summary>
/// <remarks>
/// Invariants: epoch entries are strictly increasing in epoch and start offset, and every entry starts in [LogStartOffset,
/// LogEndOffset]; LogStartOffset ≤ HighWatermark ≤ LogEndOffset; nothing at or above the high watermark is deleted by retention,
/// DeleteRecords or compaction (a follower may still have to truncate it away, and a new leader may be elected without it).
/// </remarks>
public sealed partial class PartitionLog
{
    private long _highWatermark;
    private volatile bool _highWatermarkFollowsLogEnd;

    /// <summary>
    /// Offset below which every record is replicated to the in-sync replicas (committed). Set by the replica layer through
    /// <see cref="UpdateHighWatermark"/>; lowered only by truncation; checkpointed per log directory in
    /// <c>replication-offset-checkpoint</c>.
    /// </summary>
    public long HighWatermark => Volatile.Read(ref _highWatermark);

    /// <summary>
    /// When true, every append (and setting this) moves the high watermark to the log end offset: the single-node behaviour, where
    /// a record is committed as soon as it is written. A replica layer that tracks follower progress sets it to false and calls
    /// <see cref="UpdateHighWatermark"/> itself. Off for logs opened directly; the log manager applies
    /// <see cref="LogManagerOptions.HighWatermarkFollowsLogEnd"/>.
    /// </summary>
    public bool HighWatermarkFollowsLogEnd
    {
        get => _highWatermarkFollowsLogEnd;
        set
        {
            lock (_appendLock)
            {
                _highWatermarkFollowsLogEnd = value;
                if (value)
                {
                    Volatile.Write(ref _highWatermark, _logEndOffset);
                }
            }
        }
    }

    /// <summary>The newest leader epoch with a recorded start offset, or -1 when none.</summary>
    public int LatestEpoch => _epochs.LatestEpoch;

    /// <summary>The leader-epoch cache, oldest first (diagnostics and tests).</summary>
    public IReadOnlyList<EpochEntry> LeaderEpochEntries => _epochs.Entries;

    /// <summary>
    /// Moves the high watermark up to <paramref name="highWatermark"/>, clamped to [LogStartOffset, LogEndOffset]. A lower value is
    /// ignored (only truncation lowers it); so is a call on a closed log (a replica layer racing shutdown).
    /// </summary>
    public void UpdateHighWatermark(long highWatermark)
    {
        lock (_appendLock)
        {
            if (_closed)
            {
                return;
            }

            long clamped = Math.Clamp(highWatermark, _logStartOffset, _logEndOffset);
            if (clamped > _highWatermark)
            {
                Volatile.Write(ref _highWatermark, clamped);
                OnHighWatermarkChanged();
            }
        }
    }

    /// <summary>
    /// Records that <paramref name="epoch"/> starts at <paramref name="startOffset"/>: what a newly elected leader does with its log
    /// end offset, before it appends anything, so OffsetForLeaderEpoch and fetch divergence checks see the new epoch at once. An
    /// epoch at or below <see cref="LatestEpoch"/> changes nothing. The checkpoint file is written before this returns.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">a negative epoch, or a start offset outside [0, LogEndOffset].</exception>
    /// <exception cref="IOException">the checkpoint could not be written; the log is then offline.</exception>
    public void AssignLeaderEpochStartOffset(int epoch, long startOffset)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        lock (_appendLock)
        {
            ThrowIfClosed();
            if (startOffset < 0 || startOffset > _logEndOffset)
            {
                throw new ArgumentOutOfRangeException(nameof(startOffset), startOffset, $"Outside [0, {_logEndOffset}].");
            }

            if (_epochs.TryAssign(epoch, startOffset))
            {
                PersistEpochsOrGoOffline();
                _logger.LeaderEpochAssigned(TopicPartition, epoch, startOffset);
            }
        }
    }

    /// <summary>
    /// Kafka's OffsetForLeaderEpoch answer from this log: the largest known epoch ≤ <paramref name="requestedEpoch"/> and its end
    /// offset (the next epoch's start, or the log end offset for the latest epoch); (-1, -1) when undefined. See
    /// <see cref="LeaderEpochCache.EndOffsetFor"/> for the edge cases.
    /// </summary>
    public (int Epoch, long EndOffset) EndOffsetForEpoch(int requestedEpoch)
    {
        // Log end offset before the entries: an append publishes its epoch entry before its end offset, so this order never pairs
        // an end offset holding a new epoch's records with entries that do not know that epoch yet.
        long logEndOffset = LogEndOffset;
        return _epochs.EndOffsetFor(requestedEpoch, logEndOffset);
    }

    /// <summary>
    /// Deletes every segment, producer snapshot and epoch entry and restarts the log, empty, at <paramref name="offset"/>: log start,
    /// log end, recovery point and high watermark all become <paramref name="offset"/> (Kafka's truncateFullyAndStartAt: a follower
    /// whose fetch offset fell below the leader's log start, or whose log diverged beyond repair after an unclean election).
    /// </summary>
    public void TruncateFullyAndStartAt(long offset)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        long previousStart;
        long previousEnd;
        lock (_appendLock)
        {
            ThrowIfClosed();
            previousStart = _logStartOffset;
            previousEnd = _logEndOffset;
            lock (_flushLock)
            {
                ResetToEmptyAt(offset);
            }
        }

        _checkpointSink?.CheckpointLogStartOffsets();
        _logger.LogTruncatedFully(TopicPartition, offset, previousStart, previousEnd);
    }

    /// <summary>
    /// Under both locks: replaces every segment by one empty segment at <paramref name="offset"/> and resets the offsets, the epoch
    /// cache, the producer state (snapshots included) and the cleaner checkpoint to match an empty log.
    /// </summary>
    private void ResetToEmptyAt(long offset)
    {
        LogSegment[] segments = _segments;
        try
        {
            foreach (LogSegment segment in segments)
            {
                segment.Delete();
            }

            _segments = [LogSegment.CreateNew(Directory, offset, _config, _time.GetUtcNow().ToUnixTimeMilliseconds())];
            foreach (long snapshot in ListProducerSnapshots())
            {
                File.Delete(ProducerSnapshotFile.PathFor(Directory, snapshot));
            }

            _producers.Clear();
            _transactions = TransactionView.None;
            lock (_abortedLock)
            {
                _aborted.Clear();
            }

            SyncTransactionIndexFiles();
            if (_epochs.Clear() || File.Exists(_epochs.FilePath))
            {
                _epochs.Persist();
            }

            DirectorySync.TrySync(Directory);
            _directoryDirty = false;
        }
        catch (IOException exception)
        {
            // Half-deleted: the segment list no longer matches the files. Reopening recovers whatever is left.
            _offlineCause = exception;
            throw;
        }

        Volatile.Write(ref _logStartOffset, offset);
        Volatile.Write(ref _logEndOffset, offset);
        Volatile.Write(ref _recoveryPoint, offset);
        Volatile.Write(ref _highWatermark, offset);
        if (CleanerCheckpoint > offset)
        {
            CleanerCheckpoint = offset;
        }
    }

    /// <summary>Under the append lock, before a leader append is written: the epoch of its batches starts at its first offset.</summary>
    private void AssignEpochOfLeaderAppend(int partitionLeaderEpoch, long firstOffset)
    {
        int latest = _epochs.LatestEpoch;
        if (partitionLeaderEpoch == latest || partitionLeaderEpoch < 0)
        {
            return;
        }

        if (partitionLeaderEpoch < latest)
        {
            _logger.StaleLeaderEpochIgnored(TopicPartition, firstOffset, partitionLeaderEpoch, latest);
            return;
        }

        _epochs.TryAssign(partitionLeaderEpoch, firstOffset);
        PersistEpochsOrGoOffline();
        _logger.LeaderEpochAssigned(TopicPartition, partitionLeaderEpoch, firstOffset);
    }

    /// <summary>
    /// Under the append lock, after a follower append was validated and before it is written: every batch whose PartitionLeaderEpoch
    /// is newer than the latest epoch starts that epoch (Kafka assigns from each batch header). Persisted once per append.
    /// </summary>
    private void AssignEpochsOfFollowerAppend(ReadOnlySpan<byte> batches)
    {
        bool changed = false;
        bool staleReported = false;
        var enumerator = new RecordBatchEnumerator(batches);
        while (enumerator.MoveNext())
        {
            RecordBatchHeader header = enumerator.CurrentHeader;
            int epoch = header.PartitionLeaderEpoch;
            int latest = _epochs.LatestEpoch;
            if (epoch > latest)
            {
                _epochs.TryAssign(epoch, header.BaseOffset);
                _logger.LeaderEpochAssigned(TopicPartition, epoch, header.BaseOffset);
                changed = true;
            }
            else if (epoch < latest && epoch >= 0 && !staleReported)
            {
                _logger.StaleLeaderEpochIgnored(TopicPartition, header.BaseOffset, epoch, latest);
                staleReported = true;
            }
        }

        if (changed)
        {
            PersistEpochsOrGoOffline();
        }
    }

    /// <summary>Under the append lock, after truncation: epochs starting at or after the new end are gone; HW ≤ LEO again.</summary>
    private void OnTruncatedTo(long logEndOffset)
    {
        if (_epochs.TruncateFromEnd(logEndOffset))
        {
            PersistEpochsOrGoOffline();
        }

        if (_highWatermark > logEndOffset)
        {
            Volatile.Write(ref _highWatermark, logEndOffset);
        }

        if (CleanerCheckpoint > logEndOffset)
        {
            // Kafka truncates the cleaner checkpoint with the log: everything below the new end was already compacted.
            CleanerCheckpoint = logEndOffset;
        }
    }

    /// <summary>
    /// Under the append lock, after the log start offset moved forward (retention, DeleteRecords): the first surviving epoch now
    /// starts at the new log start (Kafka's truncateFromStart). A failed rewrite is only logged: the next open trims the file again.
    /// </summary>
    private void TruncateEpochsFromStart(long logStartOffset)
    {
        if (!_epochs.TruncateFromStart(logStartOffset))
        {
            return;
        }

        try
        {
            _epochs.Persist();
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            _logger.LeaderEpochCheckpointWriteFailed(exception, TopicPartition);
        }
    }

    /// <summary>Epoch entries guard appended data: if they cannot be made durable the log stops taking writes, like a failed fsync.</summary>
    private void PersistEpochsOrGoOffline()
    {
        try
        {
            _epochs.Persist();
        }
        catch (IOException exception)
        {
            _offlineCause = exception;
            throw;
        }
    }

    /// <summary>
    /// At open, after the segments and producer state are loaded: reads <c>leader-epoch-checkpoint</c> and fits it to the log (drops
    /// entries at or past the log end, moves the first to the log start). A missing or unreadable file is rebuilt from the
    /// PartitionLeaderEpoch of every batch header; after an unclean shutdown the scanned tail (from
    /// <paramref name="scannedFrom"/>) is replayed too, in case the file's last write was lost.
    /// </summary>
    private void LoadLeaderEpochs(long? scannedFrom)
    {
        string? rebuildReason = null;
        List<EpochEntry>? stored = null;
        bool fileExisted = File.Exists(_epochs.FilePath);
        try
        {
            stored = LeaderEpochCheckpointFile.Read(_epochs.FilePath);
            rebuildReason = stored is null ? "no checkpoint file" : null;
        }
        catch (Exception exception) when (exception is InvalidDataException or IOException)
        {
            rebuildReason = exception.Message;
        }

        // Only entries the file lacks are written now. Dropping entries (epochs at or past the log end that never wrote data,
        // epochs wholly below the log start) leaves the file ahead of the log, which the cache's invariant allows and the next
        // open repeats in memory; Kafka likewise does not fsync truncations. A broker opening 10,000 logs that each led an
        // epoch without data would otherwise rewrite and fsync 10,000 files.
        bool write;
        if (stored is null)
        {
            // Missing or unreadable: the rebuilt cache replaces whatever file there was.
            _epochs.Reset([]);
            AssignEpochsFromLog(_segments[0].BaseOffset);
            write = fileExisted || _epochs.Entries.Count > 0;
            if (write)
            {
                _logger.LeaderEpochCacheRebuilt(TopicPartition, rebuildReason ?? "unknown", _epochs.Entries.Count);
            }
        }
        else
        {
            _epochs.Reset(stored);
            bool truncated = _epochs.TruncateFromEnd(_logEndOffset);
            write = scannedFrom is { } from && AssignEpochsFromLog(from);
            if (truncated || write)
            {
                _logger.LeaderEpochCacheRepaired(write ? LogLevel.Information : LogLevel.Debug, TopicPartition, _logStartOffset, _logEndOffset,
                    _epochs.Entries.Count);
            }
        }

        _epochs.TruncateFromStart(_logStartOffset);
        if (write)
        {
            _epochs.Persist();
        }
    }

    /// <summary>Assigns the epochs of the batches from <paramref name="from"/> to the log end, as a follower append would.</summary>
    private bool AssignEpochsFromLog(long from)
    {
        bool changed = false;
        WalkBatchHeaders(from, _logEndOffset, (in RecordBatchHeader header) =>
        {
            if (header.PartitionLeaderEpoch > _epochs.LatestEpoch)
            {
                changed |= _epochs.TryAssign(header.PartitionLeaderEpoch, header.BaseOffset);
            }
        });
        return changed;
    }

    /// <summary>At open: the checkpointed high watermark, clamped into the recovered log.</summary>
    private void LoadHighWatermark(long checkpointed)
    {
        long highWatermark = Math.Clamp(checkpointed, _logStartOffset, _logEndOffset);
        Volatile.Write(ref _highWatermark, highWatermark);
        OnHighWatermarkChanged();
        StorageTransactionLog.TransactionStateLoaded(_logger, TopicPartition, _transactions.FirstOngoingOffset >= 0 ? _producers.OngoingTransactions.Count() : 0,
            _aborted.Count, LastStableOffset);
        _logger.HighWatermarkLoaded(TopicPartition, highWatermark, checkpointed, _logStartOffset, _logEndOffset);
    }

    private delegate void BatchHeaderVisitor(in RecordBatchHeader header);

    private delegate void BatchVisitor(in RecordBatchHeader header, ReadOnlySpan<byte> controlBatch);

    /// <summary>Control batches are one small record; a larger one is not a marker and is visited without its bytes.</summary>
    private const int MaxControlBatchBytes = 4096;

    /// <summary>Visits the header of every batch with a base offset in [<paramref name="from"/>, <paramref name="to"/>), in order.</summary>
    private int WalkBatchHeaders(long from, long to, BatchHeaderVisitor visit) =>
        WalkBatches(from, to, (in RecordBatchHeader header, ReadOnlySpan<byte> _) => visit(header));

    /// <summary>
    /// Visits every batch with a base offset in [<paramref name="from"/>, <paramref name="to"/>), in order: its header, and for a
    /// control batch its bytes (empty for data batches, which are not read).
    /// </summary>
    private int WalkBatches(long from, long to, BatchVisitor visit)
    {
        int visited = 0;
        foreach (LogSegment segment in _segments)
        {
            if (segment.NextOffset <= from || segment.BaseOffset >= to || segment.Size == 0)
            {
                continue;
            }

            using var reader = new SegmentFileReader(segment.Handle, segment.Size);
            if (!segment.TryFindBatch(reader, from, out long position, out RecordBatchHeader header))
            {
                continue;
            }

            while (header.BaseOffset < to)
            {
                if (header.BaseOffset >= from)
                {
                    ReadOnlySpan<byte> controlBatch = default;
                    if (header.IsControl && header.TotalSize <= MaxControlBatchBytes
                        && reader.TryGetSpan(position, (int)header.TotalSize, out ReadOnlySpan<byte> bytes))
                    {
                        controlBatch = bytes;
                    }

                    visit(header, controlBatch);
                    visited++;
                }

                position += header.TotalSize;
                if (!reader.TryReadHeader(position, out header) || header.BatchLength < RecordBatchLayout.MinBatchLength)
                {
                    break;
                }
            }
        }

        return visited;
    }
}
