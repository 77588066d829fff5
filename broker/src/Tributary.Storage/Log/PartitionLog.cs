using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Tributary.Protocol;
using Tributary.Protocol.IO;
using Tributary.Protocol.Records;

namespace Tributary.Storage;

/// <summary>Where a log's durable metadata (log start offset) is checkpointed; implemented by the log directory.</summary>
internal interface ILogCheckpointSink
{
    /// <summary>Writes the log-start-offset checkpoint of the directory now (temp file, fsync, rename).</summary>
    void CheckpointLogStartOffsets();
}

/// <summary>State recovered from a log directory's checkpoint files, needed to open one partition log.</summary>
/// <param name="RecoveryPoint">offset below which data is known to be fsynced (recovery-point-offset-checkpoint).</param>
/// <param name="LogStartOffset">log-start-offset-checkpoint value (0 if absent).</param>
/// <param name="HadCleanShutdown">the directory carried the clean-shutdown marker: skip data scans.</param>
/// <param name="HighWatermark">replication-offset-checkpoint value (0 if absent); clamped into the recovered log.</param>
internal readonly record struct LogLoadState(long RecoveryPoint, long LogStartOffset, bool HadCleanShutdown, long HighWatermark = 0);

/// <summary>
/// The log of one partition: an ordered list of segments in <c>&lt;log.dir&gt;/&lt;topic&gt;-&lt;partition&gt;/</c>. Appends, rolls,
/// truncation and deletion are serialized by an internal lock; reads are lock-free and see only fully appended batches.
/// </summary>
/// <remarks>
/// Lock order: append lock, then flush lock. Segment files are removed only while both are held, so a flush never touches a
/// deleted segment; a concurrent reader that loses the race retries on the new segment list.
/// The leader-epoch cache and the high watermark live in PartitionLog.Replication.cs, producer state in PartitionLog.Producers.cs,
/// retention and the cleaner's segment swap in PartitionLog.Retention.cs.
/// </remarks>
public sealed partial class PartitionLog
{
    private readonly Lock _appendLock = new();
    private readonly Lock _flushLock = new();
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly ILogCheckpointSink? _checkpointSink;
    private readonly LeaderEpochCache _epochs;
    private volatile LogSegment[] _segments;
    private volatile LogConfig _config;
    private long _logEndOffset;
    private long _logStartOffset;
    private long _recoveryPoint;
    private long _lastFlushTimeMs;
    private long _dataSyncCount;
    private bool _directoryDirty;
    private volatile bool _closed;
    private volatile IOException? _offlineCause;

    private PartitionLog(TopicPartition topicPartition, string directory, LogConfig config, LogSegment[] segments, ILogger logger,
        TimeProvider time, ILogCheckpointSink? checkpointSink)
    {
        TopicPartition = topicPartition;
        Directory = directory;
        _config = config;
        _segments = segments;
        _logger = logger;
        _time = time;
        _checkpointSink = checkpointSink;
        _epochs = new LeaderEpochCache(directory);
        _lastFlushTimeMs = time.GetUtcNow().ToUnixTimeMilliseconds();
    }

    public TopicPartition TopicPartition { get; }

    /// <summary>The partition's directory.</summary>
    public string Directory { get; }

    public LogConfig Config => _config;

    /// <summary>First offset a consumer may read; moved by <see cref="DeleteRecordsBefore"/> (and later retention).</summary>
    public long LogStartOffset => Volatile.Read(ref _logStartOffset);

    /// <summary>Offset the next appended record gets; everything below is readable.</summary>
    public long LogEndOffset => Volatile.Read(ref _logEndOffset);

    /// <summary>Offset below which the log is fsynced; recovery after a crash scans only from here.</summary>
    public long RecoveryPoint => Volatile.Read(ref _recoveryPoint);

    /// <summary>Unix ms of the last completed flush (the background flusher compares it to flush.ms).</summary>
    public long LastFlushTimeMs => Volatile.Read(ref _lastFlushTimeMs);

    /// <summary>
    /// True once a write or fsync failed: after a failed fsync the on-disk state is unknown (the kernel may have dropped the dirty
    /// pages), so the log refuses further writes until the broker reopens it and recovery rebuilds a known state.
    /// </summary>
    public bool IsOffline => _offlineCause is not null;

    /// <summary>Segment data-file fsyncs performed by this log: the observable side of the flush policy.</summary>
    public long DataSyncCount => Interlocked.Read(ref _dataSyncCount);

    public long SizeInBytes
    {
        get
        {
            long total = 0;
            foreach (LogSegment segment in _segments)
            {
                total += segment.Size;
            }

            return total;
        }
    }

    /// <summary>Snapshot of the segments, oldest first; the last is the active one.</summary>
    public IReadOnlyList<LogSegmentInfo> Segments
    {
        get
        {
            LogSegment[] segments = _segments;
            var infos = new LogSegmentInfo[segments.Length];
            for (int i = 0; i < segments.Length; i++)
            {
                infos[i] = segments[i].ToInfo(i == segments.Length - 1);
            }

            return infos;
        }
    }

    private LogSegment Active => _segments[^1];

    /// <summary>Opens (creating if needed) the log in <paramref name="directory"/>, recovering it if the shutdown was not clean.</summary>
    internal static PartitionLog Open(string directory, TopicPartition topicPartition, LogConfig config, LogLoadState state,
        ILogger? logger = null, TimeProvider? time = null, ILogCheckpointSink? checkpointSink = null)
    {
        logger ??= NullLogger.Instance;
        time ??= TimeProvider.System;
        config.Validate();
        var stopwatch = Stopwatch.StartNew();
        long nowMs = time.GetUtcNow().ToUnixTimeMilliseconds();
        System.IO.Directory.CreateDirectory(directory);
        CompleteInterruptedCleaning(directory, topicPartition, logger);
        List<long> baseOffsets = FindSegmentsAndRemoveStrays(directory, topicPartition, logger);
        var segments = new List<LogSegment>(baseOffsets.Count + 1);
        long recoveryPoint = state.HadCleanShutdown ? long.MaxValue : Math.Max(0, state.RecoveryPoint);
        var scanned = new List<LogSegment>();
        try
        {
            long minNextBase = 0;
            for (int i = 0; i < baseOffsets.Count; i++)
            {
                LogSegment segment = LogSegment.OpenExisting(directory, baseOffsets[i], config, nowMs);
                segments.Add(segment);
                bool isLast = i == baseOffsets.Count - 1;
                long nextBase = isLast ? long.MaxValue : baseOffsets[i + 1];
                bool needsScan = nextBase > recoveryPoint;
                if (!needsScan && !segment.TryLoadIndexes(config.IndexIntervalBytes))
                {
                    logger.IndexRebuilt(topicPartition, segment.BaseOffset);
                    needsScan = true;
                }

                if (!needsScan && segment.Size > 0 && segment.NextOffset > nextBase)
                {
                    needsScan = true;
                }

                if (needsScan)
                {
                    scanned.Add(segment);
                    SegmentScanOutcome outcome = segment.Scan(verifyCrc: true, minNextBase, config.IndexIntervalBytes);
                    bool corrupt = outcome.Reason is not null || segment.NextOffset > nextBase;
                    if (outcome.BytesTruncated > 0)
                    {
                        logger.LogRecoveryTruncated(topicPartition, segment.BaseOffset, outcome.TruncatedAtOffset, outcome.BytesTruncated,
                            outcome.Reason ?? "unknown");
                    }

                    if (corrupt && !isLast)
                    {
                        // Everything after a corrupt batch is unreachable: offsets must be contiguous.
                        for (int j = i + 1; j < baseOffsets.Count; j++)
                        {
                            string path = LogSegment.FilePath(directory, baseOffsets[j], LogSegment.LogSuffix);
                            long bytes = new FileInfo(path).Length;
                            LogSegment later = LogSegment.OpenExisting(directory, baseOffsets[j], config, nowMs);
                            later.Delete();
                            logger.SegmentDeletedAfterCorruption(topicPartition, baseOffsets[j], bytes);
                        }

                        break;
                    }
                }

                minNextBase = segment.NextOffset;
            }

            if (segments.Count == 0)
            {
                segments.Add(LogSegment.CreateNew(directory, Math.Max(0, state.LogStartOffset), config, nowMs));
                // The new file's directory entry must be durable before an fsynced append can count on it.
                DirectorySync.TrySync(directory);
            }

            var log = new PartitionLog(topicPartition, directory, config, [.. segments], logger, time, checkpointSink);
            long logEndOffset = segments[^1].NextOffset;
            log._logEndOffset = logEndOffset;
            log._logStartOffset = Math.Min(Math.Max(state.LogStartOffset, segments[0].BaseOffset), logEndOffset);
            if (scanned.Count > 0)
            {
                // Scanned data may sit only in the page cache of a crashed machine: make it durable before trusting it.
                foreach (LogSegment segment in scanned)
                {
                    segment.Flush();
                }

                DirectorySync.TrySync(directory);
            }

            log._recoveryPoint = logEndOffset;
            log.SegmentsScannedAtOpen = scanned.Count;
            log.RebuildProducerState();
            log.LoadLeaderEpochs(scanned.Count > 0 ? scanned[0].BaseOffset : null);
            log.LoadHighWatermark(state.HighWatermark);
            logger.LogLoaded(scanned.Count > 0 ? LogLevel.Information : LogLevel.Debug, topicPartition, log._logStartOffset, logEndOffset,
                segments.Count, state.HadCleanShutdown, scanned.Count, stopwatch.ElapsedMilliseconds);
            return log;
        }
        catch
        {
            foreach (LogSegment segment in segments)
            {
                segment.Dispose();
            }

            throw;
        }
    }

    /// <summary>Swaps the configuration; size and time limits apply from the next append, index limits to new segments.</summary>
    public void UpdateConfig(LogConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        _config = config.Validate();
    }

    /// <summary>
    /// Appends producer batches (already validated by <see cref="RecordBatchValidator"/>) as the leader: assigns offsets from the log
    /// end offset in place, stamps the leader epoch and, if asked, LogAppendTime; rolls first if needed; flushes per flush.messages
    /// (with flush.messages=1 the data is fsynced before this returns).
    /// </summary>
    /// <param name="validatedBatches">whole batches; rewritten in place.</param>
    /// <param name="recordCount">offsets the batches consume (sum of lastOffsetDelta + 1), as the validator reported.</param>
    /// <param name="producerResult">the idempotent-producer verdict: a duplicate or refused batch is not appended (the result then
    /// carries the original offsets of the duplicate, or -1).</param>
    /// <param name="coordinatorOrigin">the batches are a coordinator's own writes (transactional offset commits): the producer's
    /// epoch is checked but not its sequence (Kafka's AppendOrigin.COORDINATOR).</param>
    public LogAppendInfo AppendAsLeader(Memory<byte> validatedBatches, int recordCount, int partitionLeaderEpoch, long nowMs,
        bool logAppendTime, out ProducerAppendResult producerResult, bool coordinatorOrigin = false)
    {
        if (validatedBatches.IsEmpty || recordCount <= 0)
        {
            throw new ArgumentException("An append needs at least one batch and one record.", nameof(validatedBatches));
        }

        lock (_appendLock)
        {
            ThrowIfClosed();
            return AppendAsLeaderLocked(validatedBatches, recordCount, partitionLeaderEpoch, nowMs, logAppendTime, out producerResult,
                coordinatorOrigin);
        }
    }

    /// <summary>The body of <see cref="AppendAsLeader(Memory{byte}, int, int, long, bool, out ProducerAppendResult)"/>, under the append lock.</summary>
    private LogAppendInfo AppendAsLeaderLocked(Memory<byte> validatedBatches, int recordCount, int partitionLeaderEpoch, long nowMs,
        bool logAppendTime, out ProducerAppendResult producerResult, bool coordinatorOrigin = false)
    {
        {
            // The sequence check and the append it admits are atomic under this lock (PartitionLog.Producers.cs).
            producerResult = CheckProducerBatches(validatedBatches.Span, coordinatorOrigin);
            if (producerResult.Status != ProducerAppendStatus.Appended)
            {
                return NotAppended(producerResult, logAppendTime);
            }

            LogConfig config = _config;
            Span<byte> span = validatedBatches.Span;
            long firstOffset = _logEndOffset;
            long nextOffset = RecordBatchRewriter.AssignOffsets(span, firstOffset);
            if (nextOffset - firstOffset != recordCount)
            {
                throw new ArgumentException(
                    $"Batches span {nextOffset - firstOffset} offsets but recordCount is {recordCount}.", nameof(recordCount));
            }

            long maxTimestamp = -1;
            long offsetOfMaxTimestamp = firstOffset;
            int position = 0;
            while (position < span.Length)
            {
                Span<byte> batch = span[position..];
                RecordBatchHeader header = RecordBatchHeader.Read(batch);
                batch = batch[..(int)header.TotalSize];
                RecordBatchRewriter.SetPartitionLeaderEpoch(batch, partitionLeaderEpoch);
                long batchMaxTimestamp = header.MaxTimestamp;
                if (logAppendTime)
                {
                    RecordBatchRewriter.SetLogAppendTime(batch, nowMs);
                    batchMaxTimestamp = nowMs;
                }

                if (batchMaxTimestamp > maxTimestamp)
                {
                    maxTimestamp = batchMaxTimestamp;
                    offsetOfMaxTimestamp = header.BaseOffset;
                }

                position += batch.Length;
            }

            // Kafka records a new epoch before the data: the cache may run ahead of the log after a crash, never behind it.
            AssignEpochOfLeaderAppend(partitionLeaderEpoch, firstOffset);
            WriteAndPublish(span, firstOffset, nextOffset, nowMs, config);
            RecordProducerBatches(span);
            return new LogAppendInfo(firstOffset, nextOffset - 1, maxTimestamp, offsetOfMaxTimestamp, logAppendTime ? nowMs : -1,
                LogStartOffset, recordCount, span.Length);
        }
    }

    /// <summary>
    /// Appends batches that already carry offsets (replication): checks bounds, magic and CRC of every batch and that offsets increase
    /// from the log end offset (gaps allowed, as compaction leaves them). The batches are written byte for byte; each batch whose
    /// PartitionLeaderEpoch is new starts that epoch in the epoch cache, and the producer state is updated exactly as the leader's was.
    /// </summary>
    /// <exception cref="CorruptRecordException">a batch is malformed or fails its CRC.</exception>
    /// <exception cref="UnexpectedAppendOffsetException">offsets do not continue the log.</exception>
    public LogAppendInfo AppendAsFollower(ReadOnlyMemory<byte> batchesWithOffsets)
    {
        ReadOnlySpan<byte> span = batchesWithOffsets.Span;
        lock (_appendLock)
        {
            ThrowIfClosed();
            LogConfig config = _config;
            long nowMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
            long expected = _logEndOffset;
            if (span.IsEmpty)
            {
                return new LogAppendInfo(-1, -1, -1, -1, -1, LogStartOffset, 0, 0);
            }

            long firstOffset = -1;
            long next = expected;
            long maxTimestamp = -1;
            long offsetOfMaxTimestamp = -1;
            int position = 0;
            int records = 0;
            while (position < span.Length)
            {
                ReadOnlySpan<byte> rest = span[position..];
                if (!RecordBatchHeader.TryRead(rest, out RecordBatchHeader header)
                    || header.BatchLength < RecordBatchLayout.MinBatchLength || header.TotalSize > rest.Length)
                {
                    throw new CorruptRecordException($"Follower append to {TopicPartition} holds a truncated batch at byte {position}.");
                }

                ReadOnlySpan<byte> batch = rest[..(int)header.TotalSize];
                if (header.Magic != RecordBatchLayout.CurrentMagic || RecordBatchHeader.ComputeCrc(batch) != header.Crc
                    || header.LastOffsetDelta < 0)
                {
                    throw new CorruptRecordException($"Follower append to {TopicPartition} holds a corrupt batch at offset {header.BaseOffset}.");
                }

                if (header.BaseOffset < next)
                {
                    throw new UnexpectedAppendOffsetException(
                        $"Follower append to {TopicPartition} starts at {header.BaseOffset}, expected at least {next}.", next, header.BaseOffset);
                }

                if (firstOffset < 0)
                {
                    firstOffset = header.BaseOffset;
                }

                if (header.MaxTimestamp > maxTimestamp)
                {
                    maxTimestamp = header.MaxTimestamp;
                    offsetOfMaxTimestamp = header.BaseOffset;
                }

                records += header.RecordCount;
                next = header.NextOffset;
                position += batch.Length;
            }

            AssignEpochsOfFollowerAppend(span);
            WriteAndPublish(span, firstOffset, next, nowMs, config);
            RecordProducerBatches(span);
            return new LogAppendInfo(firstOffset, next - 1, maxTimestamp, offsetOfMaxTimestamp, -1, LogStartOffset, records, span.Length);
        }
    }

    /// <summary>
    /// Reads whole batches starting with the batch that contains <paramref name="startOffset"/>, from a single segment, stopping
    /// before any batch reaching <paramref name="maxOffsetExclusive"/> (the high watermark) and once <paramref name="maxBytes"/> would
    /// be exceeded — except that with <paramref name="minOneBatch"/> the first batch is returned whatever its size (KIP-74). The
    /// records are read before this returns, into an array of their own.
    /// </summary>
    public LogReadResult Read(long startOffset, int maxBytes, long maxOffsetExclusive, bool minOneBatch)
    {
        LogReadResult result = ReadRegion(startOffset, maxBytes, maxOffsetExclusive, minOneBatch);
        return MemoryMarshal.TryGetMemoryManager(result.Records, out DeferredBytes? region)
            ? result with { Records = region.Materialize() }
            : result;
    }

    /// <summary>
    /// Like <see cref="Read"/>, but the records are a region of the segment file (<see cref="DeferredBytes"/>), copied from the file
    /// only when written into a response: the fetch path's bytes go from the page cache into the connection's output once,
    /// with no array per read. Reading a region whose segment was deleted or truncated meanwhile throws <see cref="IOException"/>.
    /// </summary>
    public LogReadResult ReadRegion(long startOffset, int maxBytes, long maxOffsetExclusive, bool minOneBatch)
    {
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                return ReadOnce(startOffset, maxBytes, maxOffsetExclusive, minOneBatch);
            }
            catch (ObjectDisposedException) when (attempt < 3 && !_closed)
            {
                // A segment was deleted (start offset moved, truncation) while we read it: retry on the new segment list.
            }
        }
    }

    /// <summary>First offset whose record timestamp is at least <paramref name="timestampMs"/>, or null if none (ListOffsets by time).</summary>
    /// <remarks>Inside compressed batches the batch's first offset is returned (records are not decompressed here).</remarks>
    public long? FindOffsetByTimestamp(long timestampMs) => FindRecordByTimestamp(timestampMs)?.Offset;

    /// <summary>
    /// Like <see cref="FindOffsetByTimestamp"/>, also returning the found record's timestamp (the ListOffsets response carries it).
    /// For compressed or LogAppendTime batches the timestamp is the batch's maxTimestamp.
    /// </summary>
    public (long Offset, long Timestamp)? FindRecordByTimestamp(long timestampMs)
    {
        long logStartOffset = LogStartOffset;
        long logEndOffset = LogEndOffset;
        foreach (LogSegment segment in _segments)
        {
            if (segment.NextOffset <= logStartOffset || segment.MaxTimestampAndOffset.Timestamp < timestampMs)
            {
                continue;
            }

            // Largest entry strictly below the target: every batch before its offset has a smaller max timestamp.
            long scanFrom = Math.Max(segment.BaseOffset, logStartOffset);
            if (timestampMs > long.MinValue && segment.TimeIndex.TryFindFloor(timestampMs - 1, out _, out int relativeOffset))
            {
                scanFrom = Math.Max(scanFrom, segment.BaseOffset + relativeOffset);
            }

            (long, long)? found = FindInSegment(segment, scanFrom, timestampMs, logStartOffset, logEndOffset);
            if (found is not null)
            {
                return found;
            }
        }

        return null;
    }

    /// <summary>The largest timestamp in the log and the offset of the record carrying it (ListOffsets MAX_TIMESTAMP, KIP-734).</summary>
    public (long Offset, long Timestamp)? FindMaxTimestamp()
    {
        LogSegment? best = null;
        long bestTimestamp = -1;
        long bestBatchOffset = -1;
        foreach (LogSegment segment in _segments)
        {
            (long timestamp, long offset) = segment.MaxTimestampAndOffset;
            if (timestamp > bestTimestamp && offset >= LogStartOffset)
            {
                best = segment;
                bestTimestamp = timestamp;
                bestBatchOffset = offset;
            }
        }

        if (best is null)
        {
            return null;
        }

        (long Offset, long Timestamp)? record = FindInSegment(best, bestBatchOffset, bestTimestamp, LogStartOffset, LogEndOffset);
        return (record?.Offset ?? bestBatchOffset, bestTimestamp);
    }

    /// <summary>
    /// Moves the log start offset forward to <paramref name="offset"/> (DeleteRecords) and deletes segments wholly below it; the new
    /// start offset is checkpointed before this returns.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="offset"/> is above the high watermark.</exception>
    public void DeleteRecordsBefore(long offset)
    {
        int deleted;
        lock (_appendLock)
        {
            ThrowIfClosed();
            if (offset <= _logStartOffset)
            {
                return;
            }

            if (offset > _highWatermark)
            {
                // Kafka's DeleteRecords bound: records above the high watermark are not committed and may still be replicated.
                throw new ArgumentOutOfRangeException(nameof(offset), offset, $"Beyond the high watermark {_highWatermark}.");
            }

            Volatile.Write(ref _logStartOffset, offset);
            if (offset == _logEndOffset && Active.Size > 0)
            {
                // Everything is deleted: start a fresh segment so the old active one can go too.
                Roll(_logEndOffset, _time.GetUtcNow().ToUnixTimeMilliseconds(), "log start offset reached the log end");
            }

            deleted = DeleteSegmentsBelowStartOffset();
            TruncateEpochsFromStart(offset);
            OnLogStartOffsetAdvanced(offset);
        }

        _checkpointSink?.CheckpointLogStartOffsets();
        _logger.LogStartOffsetAdvanced(TopicPartition, offset, deleted);
    }

    /// <summary>
    /// Removes every batch from the one containing <paramref name="offset"/> onwards (follower truncation). The log end offset
    /// becomes the first removed batch's base offset; epoch entries starting at or after it are dropped, the high watermark is
    /// lowered to it, and the producer state is rebuilt from the newest snapshot at or below it plus the batches after that
    /// snapshot. At or below the first segment's base offset (or below the log start) the log is emptied and restarted at the
    /// offset, as <see cref="TruncateFullyAndStartAt"/> does (Kafka's truncateTo makes the same choice).
    /// </summary>
    /// <remarks>Not safe against concurrent reads of the removed range; replication truncates only when not serving it.</remarks>
    public void TruncateTo(long offset)
    {
        bool emptied;
        lock (_appendLock)
        {
            ThrowIfClosed();
            long previousEnd = _logEndOffset;
            if (offset >= previousEnd)
            {
                // Nothing to remove, but an epoch may start at the end with nothing in it (this replica was elected and replaced
                // before it appended): Kafka's truncateTo drops it, or the follower keeps sending it as its last fetched epoch
                // and the leader keeps answering the diverging epoch that ends at this very offset.
                if (_epochs.TruncateFromEnd(previousEnd))
                {
                    PersistEpochsOrGoOffline();
                }

                return;
            }

            lock (_flushLock)
            {
                LogConfig config = _config;
                LogSegment[] segments = _segments;
                emptied = offset < _logStartOffset || offset <= segments[0].BaseOffset;
                if (emptied)
                {
                    ResetToEmptyAt(Math.Max(0, offset));
                }
                else
                {
                    int keep = segments.Length;
                    while (keep > 1 && segments[keep - 1].BaseOffset >= offset)
                    {
                        keep--;
                    }

                    _segments = segments[..keep];
                    for (int i = keep; i < segments.Length; i++)
                    {
                        segments[i].Delete();
                        _directoryDirty = true;
                    }

                    LogSegment active = segments[keep - 1];
                    active.TruncateTo(offset, config.IndexIntervalBytes);
                    active.Flush();
                    _dataSyncCount++;
                    long newEnd = active.NextOffset;
                    Volatile.Write(ref _logEndOffset, newEnd);
                    Volatile.Write(ref _recoveryPoint, Math.Min(_recoveryPoint, newEnd));
                    if (_directoryDirty && DirectorySync.TrySync(Directory))
                    {
                        _directoryDirty = false;
                    }

                    OnTruncatedTo(newEnd);
                    RebuildProducerState();
                }

                _logger.LogTruncated(TopicPartition, offset, previousEnd, _logEndOffset);
            }
        }

        if (emptied)
        {
            _checkpointSink?.CheckpointLogStartOffsets();
        }
    }

    /// <summary>fsyncs everything appended so far and advances the recovery point to the log end offset.</summary>
    public void Flush()
    {
        long upTo;
        LogSegment[] toFlush;
        lock (_appendLock)
        {
            if (_closed)
            {
                return;
            }

            (upTo, toFlush) = CaptureUnflushed();
        }

        FlushSegments(upTo, toFlush);
    }

    /// <summary>Flushes, seals the indexes and closes all files; the log must not be used afterwards.</summary>
    /// <exception cref="IOException">the final flush failed (files are closed anyway; the next open recovers).</exception>
    public void Close()
    {
        lock (_appendLock)
        {
            if (_closed)
            {
                return;
            }

            lock (_flushLock)
            {
                try
                {
                    if (_offlineCause is { } cause)
                    {
                        throw new IOException($"The log of {TopicPartition} is offline; closing without flush.", cause);
                    }

                    LogSegment active = Active;
                    active.SealTimeIndex();
                    active.TrimToSize();
                    foreach (LogSegment segment in _segments)
                    {
                        if (segment.Flush())
                        {
                            _dataSyncCount++;
                        }
                    }

                    SyncTransactionIndexAppends();

                    // After the data is durable: a clean restart loads the producer state from here without reading the log.
                    // A log with no batches and no producers has nothing to keep (as Kafka, which snapshots only new state).
                    if (_logEndOffset != _segments[0].BaseOffset || _producers.Count > 0)
                    {
                        WriteProducerSnapshot(_logEndOffset, durable: true);
                    }

                    if (_directoryDirty)
                    {
                        DirectorySync.TrySync(Directory);
                        _directoryDirty = false;
                    }

                    Volatile.Write(ref _recoveryPoint, _logEndOffset);
                }
                finally
                {
                    foreach (LogSegment segment in _segments)
                    {
                        segment.Dispose();
                    }

                    DisposeRetiredSegments();
                    _closed = true;
                }
            }
        }
    }

    /// <summary>Closes the files without flushing and removes the partition directory with everything in it.</summary>
    public void Delete()
    {
        CloseWithoutFlush();
        System.IO.Directory.Delete(Directory, recursive: true);
    }

    /// <summary>Releases file handles without flushing or sealing: what a crash leaves behind (tests), or a log about to be deleted.</summary>
    internal void CloseWithoutFlush()
    {
        lock (_appendLock)
        {
            lock (_flushLock)
            {
                if (_closed)
                {
                    return;
                }

                foreach (LogSegment segment in _segments)
                {
                    segment.Dispose();
                }

                DisposeRetiredSegments();
                _closed = true;
            }
        }
    }

    internal bool IsClosed => _closed;

    /// <summary>Segments whose data was scanned (CRC-checked) when the log was opened; 0 after a clean shutdown.</summary>
    internal int SegmentsScannedAtOpen { get; private set; }

    private LogReadResult ReadOnce(long startOffset, int maxBytes, long maxOffsetExclusive, bool minOneBatch)
    {
        // Log end offset before segments: every segment holding data below it is already in the list we take next.
        long logEndOffset = LogEndOffset;
        LogSegment[] segments = _segments;
        long logStartOffset = LogStartOffset;
        if (_closed)
        {
            throw new ObjectDisposedException(nameof(PartitionLog), $"The log of {TopicPartition} is closed.");
        }

        if (startOffset < logStartOffset || startOffset > logEndOffset)
        {
            return new LogReadResult(LogReadError.OffsetOutOfRange, ReadOnlyMemory<byte>.Empty, -1, startOffset, logStartOffset, logEndOffset);
        }

        long limit = Math.Min(maxOffsetExclusive, logEndOffset);
        if (startOffset >= limit || (maxBytes <= 0 && !minOneBatch))
        {
            return Empty(startOffset, logStartOffset, logEndOffset);
        }

        for (int i = FloorSegmentIndex(segments, startOffset); i < segments.Length; i++)
        {
            SegmentReadResult read = segments[i].Read(startOffset, limit, Math.Max(0, maxBytes), minOneBatch);
            if (read.Found)
            {
                return read.Records.IsEmpty
                    ? Empty(startOffset, logStartOffset, logEndOffset)
                    : new LogReadResult(LogReadError.None, read.Records, read.FirstOffset, read.NextOffset, logStartOffset, logEndOffset);
            }
        }

        return Empty(startOffset, logStartOffset, logEndOffset);
    }

    private static LogReadResult Empty(long startOffset, long logStartOffset, long logEndOffset) =>
        new(LogReadError.None, ReadOnlyMemory<byte>.Empty, -1, startOffset, logStartOffset, logEndOffset);

    private static int FloorSegmentIndex(LogSegment[] segments, long offset)
    {
        int low = 0;
        int high = segments.Length - 1;
        int found = 0;
        while (low <= high)
        {
            int mid = (low + high) >>> 1;
            if (segments[mid].BaseOffset <= offset)
            {
                found = mid;
                low = mid + 1;
            }
            else
            {
                high = mid - 1;
            }
        }

        return found;
    }

    private (long Offset, long Timestamp)? FindInSegment(LogSegment segment, long scanFromOffset, long timestampMs, long logStartOffset, long logEndOffset)
    {
        long limit = segment.Size;
        using var reader = new SegmentFileReader(segment.Handle, limit);
        if (!segment.TryFindBatch(reader, scanFromOffset, out long position, out RecordBatchHeader header))
        {
            return null;
        }

        while (true)
        {
            if (header.BaseOffset >= logEndOffset)
            {
                return null;
            }

            if (header.MaxTimestamp >= timestampMs && header.LastOffset >= logStartOffset)
            {
                long firstEligible = Math.Max(header.BaseOffset, logStartOffset);
                if (header.Compression != CompressionType.None || header.TimestampType == TimestampType.LogAppendTime)
                {
                    return (firstEligible, header.MaxTimestamp);
                }

                if (!reader.TryGetSpan(position, (int)header.TotalSize, out ReadOnlySpan<byte> batch))
                {
                    return null;
                }

                var records = new RecordReader(batch);
                while (records.TryReadNext(out RecordView record))
                {
                    if (record.Timestamp >= timestampMs && record.Offset >= firstEligible)
                    {
                        return (record.Offset, record.Timestamp);
                    }
                }
            }

            position += header.TotalSize;
            if (!reader.TryReadHeader(position, out header) || header.BatchLength < RecordBatchLayout.MinBatchLength)
            {
                return null;
            }
        }
    }

    /// <summary>Under the append lock: roll if needed, write, publish the new log end offset, flush per policy.</summary>
    private void WriteAndPublish(ReadOnlySpan<byte> batches, long firstOffset, long nextOffset, long nowMs, LogConfig config)
    {
        try
        {
            MaybeRoll(batches.Length, firstOffset, nextOffset - 1, nowMs, config);
            Active.Append(batches, config.IndexIntervalBytes, nowMs);
        }
        catch (IOException exception)
        {
            _offlineCause = exception;
            throw;
        }

        Volatile.Write(ref _logEndOffset, nextOffset);
        if (_highWatermarkFollowsLogEnd)
        {
            Volatile.Write(ref _highWatermark, nextOffset);
        }

        FlushIfDue(config);
    }

    private void MaybeRoll(int appendSize, long firstOffset, long lastOffset, long nowMs, LogConfig config)
    {
        LogSegment active = Active;
        string? reason = null;
        if (active.Size > 0)
        {
            if (active.Size + appendSize > config.SegmentBytes)
            {
                reason = "segment.bytes";
            }
            else if (nowMs - active.RollBaseTimeMs > RollIntervalMs(config, active.BaseOffset))
            {
                reason = "segment.ms";
            }
            else if (active.IsIndexFull)
            {
                reason = "segment.index.bytes";
            }
            else if (lastOffset - active.BaseOffset > LogSegment.MaxRelativeOffset)
            {
                reason = "relative offset overflow";
            }
        }
        else if (lastOffset - active.BaseOffset > LogSegment.MaxRelativeOffset || firstOffset < active.BaseOffset)
        {
            reason = "empty segment cannot hold the offsets";
        }

        if (reason is not null)
        {
            Roll(firstOffset, nowMs, reason);
        }
    }

    private void Roll(long baseOffset, long nowMs, string reason)
    {
        LogSegment previous = Active;
        if (previous.Size == 0 && previous.BaseOffset == baseOffset)
        {
            return;
        }

        previous.SealTimeIndex();
        previous.PersistIndexes();
        var next = LogSegment.CreateNew(Directory, baseOffset, _config, nowMs);
        LogSegment[] current = _segments;
        if (previous.Size == 0)
        {
            // An empty active segment is replaced rather than kept (its offsets would overlap the new one's).
            lock (_flushLock)
            {
                _segments = [.. current[..^1], next];
                previous.Delete();
            }
        }
        else
        {
            _segments = [.. current, next];
        }

        _directoryDirty = true;
        // Kafka snapshots the producer state on every roll: a restart replays at most the active segment.
        WriteProducerSnapshot(baseOffset, durable: false);
        _logger.SegmentRolled(TopicPartition, baseOffset, reason);
    }

    private int DeleteSegmentsBelowStartOffset()
    {
        LogSegment[] segments = _segments;
        int removable = 0;
        while (removable < segments.Length - 1 && segments[removable + 1].BaseOffset <= _logStartOffset)
        {
            removable++;
        }

        if (removable == 0)
        {
            return 0;
        }

        lock (_flushLock)
        {
            _segments = segments[removable..];
            for (int i = 0; i < removable; i++)
            {
                segments[i].Delete();
            }

            SyncTransactionIndexFiles();

            _directoryDirty = true;
            if (DirectorySync.TrySync(Directory))
            {
                _directoryDirty = false;
            }
        }

        return removable;
    }

    private void FlushIfDue(LogConfig config)
    {
        if (_logEndOffset - _recoveryPoint >= config.FlushIntervalMessages)
        {
            (long upTo, LogSegment[] toFlush) = CaptureUnflushed();
            FlushSegments(upTo, toFlush);
        }
    }

    /// <summary>Under the append lock: the log end offset and the segments that may hold data above the recovery point.</summary>
    private (long UpTo, LogSegment[] Segments) CaptureUnflushed()
    {
        LogSegment[] segments = _segments;
        int first = FloorSegmentIndex(segments, _recoveryPoint);
        return (_logEndOffset, segments[first..]);
    }

    private void FlushSegments(long upTo, LogSegment[] segments)
    {
        lock (_flushLock)
        {
            if (_closed)
            {
                return;
            }

            try
            {
                foreach (LogSegment segment in segments)
                {
                    if (segment.Flush())
                    {
                        Interlocked.Increment(ref _dataSyncCount);
                    }
                }

                SyncTransactionIndexAppends();

                // New segment files are durable only once their directory entry is.
                if (Volatile.Read(ref _directoryDirty))
                {
                    _directoryDirty = false;
                    DirectorySync.TrySync(Directory);
                }
            }
            catch (IOException exception)
            {
                // fsync failures are not retryable (the kernel may already have marked the pages clean): stop writing.
                _offlineCause = exception;
                throw;
            }

            long current = Volatile.Read(ref _recoveryPoint);
            if (upTo > current)
            {
                Volatile.Write(ref _recoveryPoint, upTo);
            }

            Volatile.Write(ref _lastFlushTimeMs, _time.GetUtcNow().ToUnixTimeMilliseconds());
        }
    }

    private void ThrowIfClosed()
    {
        if (_closed)
        {
            throw new ObjectDisposedException(nameof(PartitionLog), $"The log of {TopicPartition} is closed.");
        }

        if (_offlineCause is { } cause)
        {
            throw new IOException($"The log of {TopicPartition} is offline after an I/O error.", cause);
        }
    }

    private static List<long> FindSegmentsAndRemoveStrays(string directory, TopicPartition topicPartition, ILogger logger)
    {
        var baseOffsets = new List<long>();
        var withLog = new HashSet<long>();
        foreach (string path in System.IO.Directory.EnumerateFiles(directory))
        {
            string name = Path.GetFileName(path);
            if (name.EndsWith(".tmp", StringComparison.Ordinal) || name.EndsWith(".deleted", StringComparison.Ordinal))
            {
                File.Delete(path);
                logger.StrayFileDeleted(path, topicPartition);
                continue;
            }

            if (name.EndsWith(LogSegment.LogSuffix, StringComparison.Ordinal) && TryParseBaseOffset(name, LogSegment.LogSuffix, out long baseOffset))
            {
                baseOffsets.Add(baseOffset);
                withLog.Add(baseOffset);
            }
        }

        // Index files without a log file are leftovers of an interrupted deletion.
        foreach (string suffix in new[] { LogSegment.OffsetIndexSuffix, LogSegment.TimeIndexSuffix })
        {
            foreach (string path in System.IO.Directory.EnumerateFiles(directory, "*" + suffix))
            {
                if (TryParseBaseOffset(Path.GetFileName(path), suffix, out long baseOffset) && !withLog.Contains(baseOffset))
                {
                    File.Delete(path);
                    logger.StrayFileDeleted(path, topicPartition);
                }
            }
        }

        baseOffsets.Sort();
        return baseOffsets;
    }

    private static bool TryParseBaseOffset(string fileName, string suffix, out long baseOffset)
    {
        baseOffset = -1;
        if (!fileName.EndsWith(suffix, StringComparison.Ordinal) || fileName.Length != 20 + suffix.Length)
        {
            return false;
        }

        return long.TryParse(fileName.AsSpan(0, 20), NumberStyles.None, CultureInfo.InvariantCulture, out baseOffset);
    }
}
