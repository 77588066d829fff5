using System.Globalization;
using Microsoft.Win32.SafeHandles;
using Tributary.Protocol.Records;

namespace Tributary.Storage;

/// <summary>Why a segment scan stopped before the end of its file.</summary>
internal readonly record struct SegmentScanOutcome(long BytesTruncated, long TruncatedAtOffset, string? Reason);

/// <summary>What a segment read found.</summary>
internal readonly record struct SegmentReadResult(bool Found, ReadOnlyMemory<byte> Records, long FirstOffset, long NextOffset);

/// <summary>
/// One segment: <c>&lt;base&gt;.log</c> plus its sparse <c>.index</c> and <c>.timeindex</c>. Mutations (append, truncate, scan) are
/// serialized by the owning <see cref="PartitionLog"/>; reads are lock-free positional reads bounded by the published size.
/// </summary>
internal sealed class LogSegment : IDisposable
{
    public const string LogSuffix = ".log";
    public const string OffsetIndexSuffix = ".index";
    public const string TimeIndexSuffix = ".timeindex";

    // Relative offsets and positions are int32 on disk.
    public const long MaxRelativeOffset = int.MaxValue;
    public const long MaxSegmentFileSize = int.MaxValue;

    private readonly SafeFileHandle _log;
    private readonly Lock _statsLock = new();
    private long _size;
    private long _nextOffset;
    private long _maxTimestamp = -1;
    private long _offsetOfMaxTimestamp = -1;
    private int _bytesSinceLastIndexEntry;
    private volatile bool _deleted;

    // Bytes written or removed since the last fsync. A segment opened from disk starts clean: it was fsynced by the clean close,
    // lies below the recovery point, or recovery scanned and flushed it.
    private volatile bool _unflushed;

    private LogSegment(string directory, long baseOffset, SafeFileHandle log, long size, LogConfig config, long rollBaseTimeMs)
    {
        BaseOffset = baseOffset;
        LogPath = FilePath(directory, baseOffset, LogSuffix);
        _log = log;
        _size = size;
        _nextOffset = baseOffset;
        RollBaseTimeMs = rollBaseTimeMs;
        OffsetIndex = new SparseIndex(FilePath(directory, baseOffset, OffsetIndexSuffix), IndexKind.Offset,
            config.MaxIndexSizeBytes / SparseIndex.EntrySizeOf(IndexKind.Offset));
        TimeIndex = new SparseIndex(FilePath(directory, baseOffset, TimeIndexSuffix), IndexKind.Time,
            config.MaxIndexSizeBytes / SparseIndex.EntrySizeOf(IndexKind.Time));
    }

    public long BaseOffset { get; }

    /// <summary>The data file, for positional reads by the owning log.</summary>
    public SafeFileHandle Handle => _log;

    public string LogPath { get; }

    public SparseIndex OffsetIndex { get; }

    public SparseIndex TimeIndex { get; }

    /// <summary>Bytes of complete, published batches; readers never look past it.</summary>
    public long Size => Volatile.Read(ref _size);

    /// <summary>Offset after the last batch of this segment (its base offset when empty).</summary>
    public long NextOffset => Volatile.Read(ref _nextOffset);

    /// <summary>When the segment started filling (segment.ms is measured from here).</summary>
    public long RollBaseTimeMs { get; private set; }

    public bool IsDeleted => _deleted;

    public bool IsIndexFull => OffsetIndex.IsFull || TimeIndex.IsFull;

    public static string FilePath(string directory, long baseOffset, string suffix) =>
        Path.Combine(directory, baseOffset.ToString("D20", CultureInfo.InvariantCulture) + suffix);

    /// <summary>Creates an empty segment, replacing any stale files with the same base offset.</summary>
    public static LogSegment CreateNew(string directory, long baseOffset, LogConfig config, long nowMs)
    {
        File.Delete(FilePath(directory, baseOffset, OffsetIndexSuffix));
        File.Delete(FilePath(directory, baseOffset, TimeIndexSuffix));
        SafeFileHandle log = File.OpenHandle(FilePath(directory, baseOffset, LogSuffix), FileMode.Create, FileAccess.ReadWrite,
            FileShare.ReadWrite | FileShare.Delete);
        // A new file (possibly replacing a stale one): its first flush must reach the disk even if nothing is appended.
        return new LogSegment(directory, baseOffset, log, 0, config, nowMs) { _unflushed = true };
    }

    /// <summary>Opens an existing segment file; indexes and offsets are unknown until <see cref="TryLoadIndexes"/> or <see cref="Scan"/>.</summary>
    public static LogSegment OpenExisting(string directory, long baseOffset, LogConfig config, long nowMs)
    {
        string path = FilePath(directory, baseOffset, LogSuffix);
        SafeFileHandle log = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        long size = Math.Min(RandomAccess.GetLength(log), MaxSegmentFileSize);
        long created = new DateTimeOffset(File.GetCreationTimeUtc(path)).ToUnixTimeMilliseconds();
        return new LogSegment(directory, baseOffset, log, size, config, Math.Min(created, nowMs));
    }

    public (long Timestamp, long Offset) MaxTimestampAndOffset
    {
        get
        {
            lock (_statsLock)
            {
                return (_maxTimestamp, _offsetOfMaxTimestamp);
            }
        }
    }

    /// <summary>Writes batches whose offsets are final, then indexes them and publishes the new size and next offset.</summary>
    public void Append(ReadOnlySpan<byte> batches, int indexIntervalBytes, long nowMs)
    {
        long position = _size;
        if (position + batches.Length > MaxSegmentFileSize)
        {
            throw new IOException($"Segment {LogPath} would exceed {MaxSegmentFileSize} bytes.");
        }

        _unflushed = true;
        RandomAccess.Write(_log, batches, position);
        if (position == 0)
        {
            RollBaseTimeMs = nowMs;
        }

        long next = _nextOffset;
        var batchEnumerator = new RecordBatchEnumerator(batches);
        while (batchEnumerator.MoveNext())
        {
            RecordBatchHeader header = batchEnumerator.CurrentHeader;
            TrackBatch(header, position + batchEnumerator.CurrentPosition, indexIntervalBytes);
            next = header.NextOffset;
        }

        // Size before next offset: a reader that sees the new log end offset must find the bytes.
        Volatile.Write(ref _size, position + batches.Length);
        Volatile.Write(ref _nextOffset, next);
    }

    /// <summary>
    /// Describes whole batches starting with the first whose last offset is at least <paramref name="startOffset"/>, excluding
    /// batches reaching <paramref name="maxOffsetExclusive"/> and stopping before <paramref name="maxBytes"/> would be exceeded (with
    /// <paramref name="minOneBatch"/> the first batch counts whatever its size). The bytes are not read: the result is a
    /// <see cref="SegmentFileRegion"/> copied from the file when a response is written (or materialized by whoever reads it).
    /// Found=false means the segment holds no batch at or after the offset.
    /// </summary>
    /// <remarks>
    /// The end is found without reading the batches in between: the offset index (sorted by offset and by position) gives the last
    /// indexed batch inside both bounds, and only the batches after it — at most about index.interval.bytes — are walked.
    /// </remarks>
    public SegmentReadResult Read(long startOffset, long maxOffsetExclusive, int maxBytes, bool minOneBatch)
    {
        long limit = Size;
        using var reader = new SegmentFileReader(_log, limit, 8 * 1024);
        if (!TryFindBatch(reader, startOffset, out long start, out RecordBatchHeader first))
        {
            return new SegmentReadResult(false, ReadOnlyMemory<byte>.Empty, -1, startOffset);
        }

        if (first.LastOffset >= maxOffsetExclusive || (first.TotalSize > maxBytes && !minOneBatch))
        {
            return new SegmentReadResult(true, ReadOnlyMemory<byte>.Empty, -1, startOffset);
        }

        // Every batch before scanFrom is inside both bounds; the walk from there adds batches while they fit.
        long byteBound = Math.Min(limit, start + Math.Max(maxBytes, first.TotalSize));
        long scanFrom = start;
        if (OffsetIndex.TryFindFloorByValue(byteBound - 1, out _, out int bytePosition)
            && OffsetIndex.TryFindFloor(maxOffsetExclusive - 1 - BaseOffset, out _, out int offsetPosition))
        {
            scanFrom = Math.Max(start, Math.Min(bytePosition, offsetPosition));
        }

        (long end, long next) = WalkBatches(reader, start, scanFrom, startOffset, maxOffsetExclusive, byteBound);
        if (next < 0)
        {
            // The indexed batch vanished under us (a concurrent truncation): walk from the first batch instead.
            (end, next) = WalkBatches(reader, start, start, startOffset, maxOffsetExclusive, byteBound);
        }

        if (end == start)
        {
            throw new CorruptRecordException($"Segment {LogPath} has an unreadable batch at position {start}.");
        }

        var region = new SegmentFileRegion(_log, LogPath, start, (int)(end - start));
        return new SegmentReadResult(true, region.AsMemory(), first.BaseOffset, next);
    }

    /// <summary>
    /// Extends a read whose batches from <paramref name="start"/> up to <paramref name="scanFrom"/> are already known to fit, batch by
    /// batch, while each stays below <paramref name="maxOffsetExclusive"/> and ends by <paramref name="byteBound"/>. Returns the end
    /// position and the offset after the last included batch (-1 if the batch at scanFrom could not be read).
    /// </summary>
    private static (long End, long Next) WalkBatches(SegmentFileReader reader, long start, long scanFrom, long startOffset,
        long maxOffsetExclusive, long byteBound)
    {
        long end = scanFrom;
        long next = scanFrom == start ? startOffset : -1;
        while (reader.TryReadHeader(end, out RecordBatchHeader header) && header.BatchLength >= RecordBatchLayout.MinBatchLength)
        {
            if (next < 0)
            {
                // scanFrom is the indexed batch following an included one: no offset lies between them.
                next = header.BaseOffset;
            }

            if (header.LastOffset >= maxOffsetExclusive || end + header.TotalSize > byteBound || header.BaseOffset < next && end > start)
            {
                break;
            }

            end += header.TotalSize;
            next = header.NextOffset;
        }

        return (end, next);
    }

    /// <summary>Position and header of the first batch whose last offset is at least <paramref name="targetOffset"/>.</summary>
    public bool TryFindBatch(SegmentFileReader reader, long targetOffset, out long position, out RecordBatchHeader header)
    {
        position = 0;
        if (targetOffset > BaseOffset && OffsetIndex.TryFindFloor(targetOffset - BaseOffset, out _, out int indexedPosition))
        {
            position = indexedPosition;
        }

        while (reader.TryReadHeader(position, out header))
        {
            if (header.BatchLength < RecordBatchLayout.MinBatchLength)
            {
                return false;
            }

            if (header.LastOffset >= targetOffset)
            {
                return true;
            }

            position += header.TotalSize;
        }

        return false;
    }

    /// <summary>
    /// Walks every batch from the start of the file, rebuilding both indexes, and truncates the file at the first batch that is
    /// torn, out of bounds, out of offset order or (when <paramref name="verifyCrc"/>) fails its CRC.
    /// </summary>
    public SegmentScanOutcome Scan(bool verifyCrc, long minBaseOffset, int indexIntervalBytes)
    {
        // What is scanned is not known to be on disk (a crashed machine may have held it only in its page cache).
        _unflushed = true;
        OffsetIndex.Clear();
        TimeIndex.Clear();
        lock (_statsLock)
        {
            _maxTimestamp = -1;
            _offsetOfMaxTimestamp = -1;
        }

        _bytesSinceLastIndexEntry = 0;
        long fileSize = Math.Min(RandomAccess.GetLength(_log), MaxSegmentFileSize);
        long position = 0;
        long next = Math.Max(BaseOffset, minBaseOffset);
        string? reason = null;
        using (var reader = new SegmentFileReader(_log, fileSize))
        {
            while (position < fileSize)
            {
                reason = CheckBatch(reader, position, fileSize, next, verifyCrc, out RecordBatchHeader header);
                if (reason is not null)
                {
                    break;
                }

                TrackBatch(header, position, indexIntervalBytes);
                next = header.NextOffset;
                position += header.TotalSize;
            }
        }

        long dropped = RandomAccess.GetLength(_log) - position;
        if (dropped > 0)
        {
            _unflushed = true;
            RandomAccess.SetLength(_log, position);
        }

        Volatile.Write(ref _size, position);
        Volatile.Write(ref _nextOffset, next);
        OffsetIndex.ResetFile();
        TimeIndex.ResetFile();
        return new SegmentScanOutcome(dropped, next, reason);
    }

    /// <summary>
    /// Trusted load (clean shutdown, or below the recovery point): loads both index files and walks batch headers after the last
    /// offset-index entry to find the next offset. False if an index is implausible or the headers do not end exactly at the file
    /// end; the caller then falls back to <see cref="Scan"/>.
    /// </summary>
    public bool TryLoadIndexes(int indexIntervalBytes)
    {
        long size = Size;
        bool loaded = OffsetIndex.TryLoad((relativeOffset, position) => relativeOffset >= 0 && position >= 0 && position < size)
            && TimeIndex.TryLoad((_, relativeOffset) => relativeOffset >= 0);
        if (!loaded)
        {
            OffsetIndex.Clear();
            TimeIndex.Clear();
            return false;
        }

        lock (_statsLock)
        {
            _maxTimestamp = -1;
            _offsetOfMaxTimestamp = -1;
            if (TimeIndex.TryGetLast(out long timestamp, out int relativeOffset))
            {
                _maxTimestamp = timestamp;
                _offsetOfMaxTimestamp = BaseOffset + relativeOffset;
            }
        }

        return TryWalkTail(size, indexIntervalBytes);
    }

    /// <summary>Removes every batch whose last offset is at least <paramref name="offset"/>; returns the bytes removed.</summary>
    public long TruncateTo(long offset, int indexIntervalBytes)
    {
        long size = Size;
        long position;
        RecordBatchHeader header;
        using (var reader = new SegmentFileReader(_log, size))
        {
            if (!TryFindBatch(reader, offset, out position, out header))
            {
                return 0;
            }
        }

        _unflushed = true;
        RandomAccess.SetLength(_log, position);
        long next = position == 0 ? BaseOffset : Math.Min(offset, header.BaseOffset);
        Volatile.Write(ref _size, position);
        Volatile.Write(ref _nextOffset, next);
        OffsetIndex.RemoveFromValue((int)position);
        TimeIndex.RemoveFromValue((int)Math.Min(next - BaseOffset, int.MaxValue));
        lock (_statsLock)
        {
            _maxTimestamp = -1;
            _offsetOfMaxTimestamp = -1;
            if (TimeIndex.TryGetLast(out long timestamp, out int relativeOffset))
            {
                _maxTimestamp = timestamp;
                _offsetOfMaxTimestamp = BaseOffset + relativeOffset;
            }
        }

        if (!TryWalkTail(position, indexIntervalBytes))
        {
            throw new CorruptRecordException($"Segment {LogPath} has broken batch framing below offset {offset}.");
        }

        return size - position;
    }

    /// <summary>Adds the final time-index entry so a reload knows the segment's max timestamp; done on roll and close.</summary>
    public void SealTimeIndex() => AppendTimeIndexEntry();

    /// <summary>
    /// fsync of the data file if anything changed it since the last one, then index entries written and fsynced. Skipped once
    /// deleted.
    /// </summary>
    /// <returns>true if the data file was synced.</returns>
    public bool Flush()
    {
        if (_deleted)
        {
            return false;
        }

        // Cleared before the fsync: a write racing it sets the flag again and the next flush covers it.
        bool synced = _unflushed;
        if (synced)
        {
            _unflushed = false;
            RandomAccess.FlushToDisk(_log);
        }

        OffsetIndex.Persist(fsync: true);
        TimeIndex.Persist(fsync: true);
        return synced;
    }

    /// <summary>Writes pending index entries without fsync.</summary>
    public void PersistIndexes()
    {
        OffsetIndex.Persist(fsync: false);
        TimeIndex.Persist(fsync: false);
    }

    /// <summary>Drops bytes past the published size (left by a failed write) before a clean close.</summary>
    public void TrimToSize()
    {
        if (RandomAccess.GetLength(_log) > Size)
        {
            _unflushed = true;
            RandomAccess.SetLength(_log, Size);
        }
    }

    public void Dispose()
    {
        _log.Dispose();
        OffsetIndex.Dispose();
        TimeIndex.Dispose();
    }

    /// <summary>Marks the segment deleted (in-flight flushes skip it), closes and removes its files.</summary>
    public void Delete()
    {
        _deleted = true;
        Dispose();
        File.Delete(LogPath);
        OffsetIndex.DeleteFile();
        TimeIndex.DeleteFile();
    }

    /// <summary>
    /// Marks the segment deleted and removes its files but keeps the data file open: a reader still holding this segment reads it
    /// (an unlinked file stays readable through an open handle) until the owner publishes the segments replacing it and calls
    /// <see cref="Dispose"/>.
    /// </summary>
    public void DeleteFilesKeepingReadersOpen()
    {
        _deleted = true;
        File.Delete(LogPath);
        OffsetIndex.DeleteFile();
        TimeIndex.DeleteFile();
    }

    public LogSegmentInfo ToInfo(bool isActive) => new(BaseOffset, Size, MaxTimestampAndOffset.Timestamp, isActive);

    private bool TryWalkTail(long size, int indexIntervalBytes)
    {
        long position = OffsetIndex.TryGetLast(out _, out int lastIndexedPosition) ? lastIndexedPosition : 0;
        long next = BaseOffset;
        _bytesSinceLastIndexEntry = 0;
        using var reader = new SegmentFileReader(_log, size);
        while (position < size)
        {
            if (!reader.TryReadHeader(position, out RecordBatchHeader header)
                || header.BatchLength < RecordBatchLayout.MinBatchLength
                || position + header.TotalSize > size
                || header.Magic != RecordBatchLayout.CurrentMagic
                || header.LastOffsetDelta < 0)
            {
                return false;
            }

            TrackBatch(header, position, indexIntervalBytes);
            next = header.NextOffset;
            position += header.TotalSize;
        }

        if (size > 0 && next == BaseOffset)
        {
            // Only possible if the tail walk started at 0 and found nothing: inconsistent.
            return false;
        }

        Volatile.Write(ref _nextOffset, Math.Max(next, BaseOffset));
        return true;
    }

    private string? CheckBatch(SegmentFileReader reader, long position, long fileSize, long expectedMinBaseOffset, bool verifyCrc,
        out RecordBatchHeader header)
    {
        if (!reader.TryReadHeader(position, out header))
        {
            return "torn batch header";
        }

        if (header.BatchLength < RecordBatchLayout.MinBatchLength || position + header.TotalSize > fileSize)
        {
            return "batch length out of bounds";
        }

        if (header.Magic != RecordBatchLayout.CurrentMagic)
        {
            return "unsupported magic";
        }

        if (header.LastOffsetDelta < 0 || header.BaseOffset < expectedMinBaseOffset
            || header.LastOffset - BaseOffset > MaxRelativeOffset)
        {
            return "offsets out of order";
        }

        if (verifyCrc)
        {
            if (!reader.TryGetSpan(position, (int)header.TotalSize, out ReadOnlySpan<byte> batch)
                || RecordBatchHeader.ComputeCrc(batch) != header.Crc)
            {
                return "CRC mismatch";
            }
        }

        return null;
    }

    private void TrackBatch(in RecordBatchHeader header, long position, int indexIntervalBytes)
    {
        lock (_statsLock)
        {
            if (header.MaxTimestamp > _maxTimestamp)
            {
                _maxTimestamp = header.MaxTimestamp;
                _offsetOfMaxTimestamp = header.BaseOffset;
            }
        }

        // Kafka's rule: an entry (batch last offset -> batch position) once more than index.interval.bytes were appended since the last.
        if (_bytesSinceLastIndexEntry > indexIntervalBytes)
        {
            OffsetIndex.TryAppend(header.LastOffset - BaseOffset, (int)position);
            AppendTimeIndexEntry();
            _bytesSinceLastIndexEntry = 0;
        }

        _bytesSinceLastIndexEntry += (int)header.TotalSize;
    }

    private void AppendTimeIndexEntry()
    {
        (long timestamp, long offset) = MaxTimestampAndOffset;
        if (timestamp >= 0 && offset >= BaseOffset)
        {
            TimeIndex.TryAppend(timestamp, (int)(offset - BaseOffset));
        }
    }
}
