using System.Buffers;
using System.Diagnostics;
using Microsoft.Win32.SafeHandles;
using Tributary.Protocol.Records;
using Tributary.Protocol.Records.Compression;
using Tributary.Storage.Retention;

namespace Tributary.Storage.Cleaner;

/// <summary>What one cleaning of one log did.</summary>
/// <param name="CleanedUpTo">the new cleaner checkpoint: every offset below it has been compacted.</param>
/// <param name="TombstonesRemoved">tombstones among <paramref name="RecordsRemoved"/>.</param>
/// <param name="BufferUtilization">share of the dedupe buffer the key map filled, 0 to 1.</param>
/// <param name="ElapsedMs">wall time of the cleaning.</param>
public readonly record struct CleaningResult(long CleanedUpTo, int SegmentsIn, int SegmentsOut, long BytesIn, long BytesOut,
    long RecordsRemoved, bool Aborted, long TombstonesRemoved = 0, double BufferUtilization = 0, long ElapsedMs = 0,
    long AbortedRecordsRemoved = 0, long MarkersRemoved = 0);

/// <summary>
/// Compacts one log (Kafka's Cleaner.doClean): maps every key of the dirty range to its latest offset, then rewrites all closed
/// segments below the end of that range, group by group, keeping only the latest record per key (offsets preserved), and swaps
/// each group in through <see cref="PartitionLog.TryReplaceSegments"/>.
/// </summary>
/// <remarks>
/// Transactions, as Kafka's cleaner: nothing at or above the last stable offset is cleaned (an open transaction may still abort,
/// so its keys must not hide older values); data of aborted transactions (the aborted index says which) is removed and never enters
/// the key map; committed transactional data is compacted like any other; a marker stays while any data of its transaction is
/// left, then gets a delete horizon and is removed after delete.retention.ms (<see cref="TransactionTracker"/>). The aborted-index
/// entries of each rewritten group are replaced by those still needed, in the same swap as the segment.
/// </remarks>
internal sealed class LogCompactor(long dedupeBufferBytes, IoThrottler throttler)
{
    private const int MaxDecompressedBatchBytes = 256 * 1024 * 1024;
    private const int WriteChunkBytes = 1024 * 1024;

    /// <param name="clockMs">read once, after the segments to clean are taken: that instant is when this cleaning reaches the
    /// tombstones in them, so their delete horizon (now + delete.retention.ms) never starts before the segment holding them closed
    /// (Kafka's cleanLog reads the time for doClean after grabbing the log, too).</param>
    public CleaningResult? Clean(PartitionLog log, Func<long> clockMs, Action<CleanerStep>? crashPoint)
    {
        LogConfig config = log.Config;
        if ((config.CleanupPolicy & CleanupPolicy.Compact) == 0)
        {
            return null;
        }

        var stopwatch = Stopwatch.StartNew();
        LogSegment[] segments = log.CurrentSegments;
        long nowMs = clockMs();
        EnsureDeleteHorizonKnown(log, segments);
        CleanableRange range = CleanableRange.Compute(segments, config, log.CleanerCheckpoint, log.LogStartOffset, log.LastStableOffset,
            log.EarliestDeleteHorizonMs, nowMs);
        if (range.EndIndex == 0)
        {
            return null;
        }

        var map = new KeyOffsetMap(dedupeBufferBytes);
        int end = range.EndIndex;
        var mapTransactions = new TransactionTracker(
            log.CollectAbortedTransactions(segments[range.FirstDirtyIndex].BaseOffset, segments[range.EndIndex].BaseOffset));
        for (int i = range.FirstDirtyIndex; i < range.EndIndex; i++)
        {
            MapSegment(segments[i], map, mapTransactions);
            if (map.IsFull && i + 1 < range.EndIndex)
            {
                // Out of map memory: clean up to this segment now, the rest next time (Kafka stops at a segment boundary too).
                end = i + 1;
                break;
            }
        }

        Dictionary<long, (long Data, long Any)> lastBatchOfProducer = LastBatchOffsetPerProducer(segments);
        var filter = new BatchFilter(MaxDecompressedBatchBytes);
        var transactions = new TransactionTracker(log.CollectAbortedTransactions(segments[0].BaseOffset, segments[end].BaseOffset));
        int segmentsOut = 0;
        long bytesIn = 0;
        long bytesOut = 0;
        foreach ((int first, int count) in Groups(segments, end, config))
        {
            LogSegment[] group = segments[first..(first + count)];
            long[] sizes = [.. group.Select(segment => segment.Size)];
            long groupEnd = segments[first + count].BaseOffset;
            string cleanedPath = PartitionLog.CleanedPath(log.Directory, group[0].BaseOffset);
            long written;
            int retainedBefore = transactions.RetainedAborted.Count;
            try
            {
                written = WriteCleaned(log, group, sizes, cleanedPath, map, filter, transactions, lastBatchOfProducer, nowMs,
                    config.DeleteRetentionMs);
            }
            catch
            {
                // Not committed: the old segments stay authoritative. (A crash here leaves the file to the next open, which deletes it.)
                File.Delete(cleanedPath);
                throw;
            }

            // The group's markers are all behind it: the entries retained while writing it are its new aborted index.
            AbortedTransaction[] groupIndex = [.. transactions.RetainedAborted.Skip(retainedBefore)];
            if (!log.TryReplaceSegments(group, sizes, groupEnd, cleanedPath, groupIndex, crashPoint))
            {
                log.Logger.CleaningAborted(log.TopicPartition);
                return new CleaningResult(log.CleanerCheckpoint, 0, 0, bytesIn, bytesOut, filter.RecordsRemoved, Aborted: true,
                    filter.TombstonesRemoved, map.Utilization, stopwatch.ElapsedMilliseconds, filter.AbortedRecordsRemoved,
                    filter.MarkersRemoved);
            }

            segmentsOut++;
            bytesIn += sizes.Sum();
            bytesOut += written;
        }

        long cleanedUpTo = segments[end].BaseOffset;
        log.CleanerCheckpoint = cleanedUpTo;
        log.EarliestDeleteHorizonMs = filter.EarliestDeleteHorizonMs;
        log.Logger.LogCleaned(log.TopicPartition, cleanedUpTo, end, bytesIn, segmentsOut, bytesOut, filter.RecordsRemoved,
            filter.TombstonesRemoved, stopwatch.ElapsedMilliseconds);
        if (filter.AbortedRecordsRemoved > 0 || filter.MarkersRemoved > 0)
        {
            log.Logger.TransactionsCleaned(log.TopicPartition, filter.AbortedRecordsRemoved, filter.MarkersRemoved);
        }

        return new CleaningResult(cleanedUpTo, end, segmentsOut, bytesIn, bytesOut, filter.RecordsRemoved, Aborted: false,
            filter.TombstonesRemoved, map.Utilization, stopwatch.ElapsedMilliseconds, filter.AbortedRecordsRemoved, filter.MarkersRemoved);
    }

    /// <summary>Consecutive segments whose sizes add up to at most segment.bytes and whose offsets fit one segment's int32 range.</summary>
    private static IEnumerable<(int First, int Count)> Groups(LogSegment[] segments, int end, LogConfig config)
    {
        int first = 0;
        while (first < end)
        {
            long size = segments[first].Size;
            int count = 1;
            while (first + count < end
                   && size + segments[first + count].Size <= config.SegmentBytes
                   && segments[first + count + 1].BaseOffset - segments[first].BaseOffset - 1 <= LogSegment.MaxRelativeOffset)
            {
                size += segments[first + count].Size;
                count++;
            }

            yield return (first, count);
            first += count;
        }
    }

    private long WriteCleaned(PartitionLog log, LogSegment[] group, long[] sizes, string cleanedPath, KeyOffsetMap map, BatchFilter filter,
        TransactionTracker transactions, Dictionary<long, (long Data, long Any)> lastBatchOfProducer, long nowMs, long deleteRetentionMs)
    {
        var output = new ArrayBufferWriter<byte>(WriteChunkBytes + (64 * 1024));
        long position = 0;
        using SafeFileHandle file = File.OpenHandle(cleanedPath, FileMode.Create, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete);
        for (int g = 0; g < group.Length; g++)
        {
            using var reader = new SegmentFileReader(group[g].Handle, sizes[g]);
            long read = 0;
            while (reader.TryReadHeader(read, out RecordBatchHeader header))
            {
                if (header.BatchLength < RecordBatchLayout.MinBatchLength
                    || !reader.TryGetSpan(read, (int)header.TotalSize, out ReadOnlySpan<byte> batch))
                {
                    throw new CorruptRecordException($"Segment {group[g].LogPath} has a broken batch at position {read} below its size.");
                }

                // Kafka keeps each producer's last data batch (its last sequence) and, when a marker came after it, that marker
                // (the producer's epoch), emptied if nothing else of them stays.
                bool retainIfEmpty = header.ProducerId >= 0 && lastBatchOfProducer.TryGetValue(header.ProducerId, out var last)
                    && (header.IsControl ? last.Any == header.BaseOffset && last.Data < header.BaseOffset : last.Data == header.BaseOffset);
                BatchOutcome outcome;
                if (header.IsControl)
                {
                    EndTransactionMarker? marker = EndTransactionMarker.TryRead(batch, out EndTransactionMarker parsed) ? parsed : null;
                    bool removable = (marker is not null || header.RecordCount == 0) && transactions.OnControlBatch(header, marker);
                    outcome = removable
                        ? filter.FilterRemovableMarker(batch, nowMs, deleteRetentionMs, retainIfEmpty, output)
                        : BatchOutcome.KeepOriginal;
                }
                else
                {
                    bool aborted = transactions.OnDataBatch(header);
                    outcome = filter.Filter(batch, map, nowMs, deleteRetentionMs, retainIfEmpty, output, aborted);
                }

                if (outcome is BatchOutcome.KeepOriginal or BatchOutcome.KeptUnreadable)
                {
                    output.Write(batch);
                    if (outcome == BatchOutcome.KeptUnreadable)
                    {
                        log.Logger.BatchKeptUncompacted(log.TopicPartition, header.BaseOffset, header.Compression.ToString(),
                            RecordCompression.IsSupported(header.Compression) ? "unreadable records" : "codec not available");
                    }
                }

                read += header.TotalSize;
                if (output.WrittenCount >= WriteChunkBytes)
                {
                    position += Drain(file, output, position);
                }
            }

            throttler.Throttle(sizes[g]);
        }

        position += Drain(file, output, position);
        RandomAccess.FlushToDisk(file);
        return position;
    }

    private long Drain(SafeFileHandle file, ArrayBufferWriter<byte> output, long position)
    {
        int count = output.WrittenCount;
        if (count > 0)
        {
            RandomAccess.Write(file, output.WrittenSpan, position);
            throttler.Throttle(count);
            output.ResetWrittenCount();
        }

        return count;
    }

    private void MapSegment(LogSegment segment, KeyOffsetMap map, TransactionTracker transactions)
    {
        long size = segment.Size;
        var plain = new ArrayBufferWriter<byte>(64 * 1024);
        using var reader = new SegmentFileReader(segment.Handle, size);
        long position = 0;
        while (reader.TryReadHeader(position, out RecordBatchHeader header))
        {
            if (header.BatchLength < RecordBatchLayout.MinBatchLength
                || !reader.TryGetSpan(position, (int)header.TotalSize, out ReadOnlySpan<byte> batch))
            {
                throw new CorruptRecordException($"Segment {segment.LogPath} has a broken batch at position {position} below its size.");
            }

            position += header.TotalSize;
            if (header.IsControl)
            {
                transactions.OnControlBatch(header, EndTransactionMarker.TryRead(batch, out EndTransactionMarker marker) ? marker : null);
                continue;
            }

            if (transactions.OnDataBatch(header))
            {
                // Aborted data is removed, so its keys must not hide older values.
                continue;
            }

            if (header.Compression != CompressionType.None)
            {
                if (!RecordCompression.IsSupported(header.Compression))
                {
                    continue;
                }

                plain.ResetWrittenCount();
                plain.Write(batch[..RecordBatchLayout.HeaderSize]);
                if (RecordCompression.Decompress(header.Compression, batch[RecordBatchLayout.Records..], plain, MaxDecompressedBatchBytes)
                    != DecompressionStatus.Ok)
                {
                    // The filter keeps this batch whole; its keys stay out of the map so older values of them are kept too.
                    continue;
                }

                batch = PlainBatch(plain);
            }

            try
            {
                var records = new RecordReader(batch);
                while (records.TryReadNext(out RecordView record))
                {
                    if (record.HasKey)
                    {
                        map.Put(record.Key, record.Offset);
                    }
                }
            }
            catch (InvalidDataException)
            {
                // Same as an unreadable compressed batch: kept whole by the filter.
            }
        }

        throttler.Throttle(size);
    }

    private static ReadOnlySpan<byte> PlainBatch(ArrayBufferWriter<byte> plain)
    {
        Span<byte> written = System.Runtime.InteropServices.MemoryMarshal.AsMemory(plain.WrittenMemory).Span;
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(written[RecordBatchLayout.BatchLength..],
            written.Length - RecordBatchLayout.LogOverhead);
        short attributes = System.Buffers.Binary.BinaryPrimitives.ReadInt16BigEndian(written[RecordBatchLayout.Attributes..]);
        System.Buffers.Binary.BinaryPrimitives.WriteInt16BigEndian(written[RecordBatchLayout.Attributes..],
            (short)(attributes & ~RecordBatchAttributeBits.CompressionMask));
        return written;
    }

    /// <summary>
    /// Base offsets of each producer's newest data batch (-1 if none) and newest batch of any kind, from batch headers of the whole
    /// log (the active segment included).
    /// </summary>
    private static Dictionary<long, (long Data, long Any)> LastBatchOffsetPerProducer(LogSegment[] segments)
    {
        var last = new Dictionary<long, (long Data, long Any)>();
        foreach (LogSegment segment in segments)
        {
            using var reader = new SegmentFileReader(segment.Handle, segment.Size);
            long position = 0;
            while (reader.TryReadHeader(position, out RecordBatchHeader header) && header.BatchLength >= RecordBatchLayout.MinBatchLength)
            {
                if (header.ProducerId >= 0)
                {
                    long data = header.IsControl ? (last.TryGetValue(header.ProducerId, out var previous) ? previous.Data : -1) : header.BaseOffset;
                    last[header.ProducerId] = (data, header.BaseOffset);
                }

                position += header.TotalSize;
            }
        }

        return last;
    }

    /// <summary>After open the earliest tombstone horizon is unknown: read it from the headers of the closed segments.</summary>
    internal static void EnsureDeleteHorizonKnown(PartitionLog log, LogSegment[] segments)
    {
        if (log.EarliestDeleteHorizonMs != PartitionLog.UnknownDeleteHorizon)
        {
            return;
        }

        long earliest = long.MaxValue;
        for (int i = 0; i < segments.Length - 1; i++)
        {
            using var reader = new SegmentFileReader(segments[i].Handle, segments[i].Size);
            long position = 0;
            while (reader.TryReadHeader(position, out RecordBatchHeader header) && header.BatchLength >= RecordBatchLayout.MinBatchLength)
            {
                if (header.HasDeleteHorizon)
                {
                    earliest = Math.Min(earliest, header.BaseTimestamp);
                }

                position += header.TotalSize;
            }
        }

        log.EarliestDeleteHorizonMs = earliest;
    }
}
