using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Tributary.Protocol.Records;
using Tributary.Protocol.Records.Compression;

namespace Tributary.Storage.Cleaner;

/// <summary>What compaction decided for one batch.</summary>
internal enum BatchOutcome
{
    /// <summary>Every record stays and nothing needs stamping: the original bytes are copied.</summary>
    KeepOriginal,

    /// <summary>A rewritten batch (fewer records and/or a new delete horizon) was written.</summary>
    Rewritten,

    /// <summary>No record stays and the batch carries nothing worth keeping.</summary>
    Dropped,

    /// <summary>The records could not be read (codec unavailable, corrupt stream): kept byte for byte, not compacted.</summary>
    KeptUnreadable,
}

/// <summary>
/// Filters the records of one batch against the key map (Kafka's MemoryRecords.filterTo for magic 2): a record survives if it
/// has a key, is the latest for that key, and is not a tombstone whose delete horizon has passed. Offsets are preserved: the
/// rewritten batch keeps its baseOffset, lastOffsetDelta, producer id/epoch and base sequence, so producer state and sequence
/// numbers stay valid; only recordCount shrinks (gaps are allowed).
/// </summary>
internal sealed class BatchFilter(int maxDecompressedBytes)
{
    private readonly ArrayBufferWriter<byte> _plain = new(64 * 1024);
    private readonly ArrayBufferWriter<byte> _records = new(64 * 1024);
    private readonly ArrayBufferWriter<byte> _compressed = new(64 * 1024);

    /// <summary>Records removed by the filter so far.</summary>
    public long RecordsRemoved { get; private set; }

    /// <summary>Tombstones among <see cref="RecordsRemoved"/>.</summary>
    public long TombstonesRemoved { get; private set; }

    /// <summary>Records of aborted transactions among <see cref="RecordsRemoved"/>.</summary>
    public long AbortedRecordsRemoved { get; private set; }

    /// <summary>Transaction markers removed (their delete horizon had passed).</summary>
    public long MarkersRemoved { get; private set; }

    /// <summary>Earliest delete horizon among batches written with retained tombstones (long.MaxValue if none).</summary>
    public long EarliestDeleteHorizonMs { get; private set; } = long.MaxValue;

    /// <summary>
    /// Filters <paramref name="batch"/> (one whole, CRC-checked batch) into <paramref name="output"/>.
    /// </summary>
    /// <param name="retainIfEmpty">keep an empty batch when nothing stays (the last batch of a producer: its sequence must survive).</param>
    /// <param name="aborted">the batch belongs to an aborted transaction: none of its records stays.</param>
    public BatchOutcome Filter(ReadOnlySpan<byte> batch, KeyOffsetMap map, long nowMs, long deleteRetentionMs, bool retainIfEmpty,
        ArrayBufferWriter<byte> output, bool aborted = false)
    {
        RecordBatchHeader header = RecordBatchHeader.Read(batch);
        if (header.IsControl)
        {
            // Markers go through FilterMarker; a control batch of another kind is kept as it is.
            return BatchOutcome.KeepOriginal;
        }

        if (aborted)
        {
            // Kafka's cleaner removes aborted transactional data whole (no need to read the records).
            RecordsRemoved += header.RecordCount;
            AbortedRecordsRemoved += header.RecordCount;
            if (!retainIfEmpty)
            {
                return BatchOutcome.Dropped;
            }

            if (header.RecordCount == 0)
            {
                return BatchOutcome.KeepOriginal;
            }

            WriteEmptyBatch(header, output);
            return BatchOutcome.Rewritten;
        }

        ReadOnlySpan<byte> plainBatch;
        if (header.Compression == CompressionType.None)
        {
            plainBatch = batch;
        }
        else
        {
            if (!RecordCompression.IsSupported(header.Compression))
            {
                return BatchOutcome.KeptUnreadable;
            }

            _plain.ResetWrittenCount();
            _plain.Write(batch[..RecordBatchLayout.HeaderSize]);
            DecompressionStatus status = RecordCompression.Decompress(header.Compression, batch[RecordBatchLayout.Records..], _plain,
                maxDecompressedBytes);
            if (status != DecompressionStatus.Ok)
            {
                return BatchOutcome.KeptUnreadable;
            }

            plainBatch = MakePlainBatch(_plain);
        }

        bool hasHorizon = header.HasDeleteHorizon;
        long horizon = hasHorizon ? header.BaseTimestamp : nowMs + deleteRetentionMs;
        int total = 0;
        int retained = 0;
        int tombstonesRemoved = 0;
        bool retainedTombstone = false;
        long firstTimestamp = -1;
        long maxTimestamp = -1;
        _records.ResetWrittenCount();
        try
        {
            var reader = new RecordReader(plainBatch);
            // First pass decides; records are encoded in the same pass against a provisional base timestamp fixed below.
            while (reader.TryReadNext(out RecordView record))
            {
                total++;
                if (!Retain(record, map, hasHorizon, horizon, nowMs))
                {
                    tombstonesRemoved += record.HasKey && !record.HasValue ? 1 : 0;
                    continue;
                }

                retained++;
                retainedTombstone |= !record.HasValue;
                if (firstTimestamp < 0)
                {
                    firstTimestamp = record.Timestamp;
                }

                maxTimestamp = Math.Max(maxTimestamp, record.Timestamp);
            }
        }
        catch (InvalidDataException)
        {
            return BatchOutcome.KeptUnreadable;
        }

        RecordsRemoved += total - retained;
        TombstonesRemoved += tombstonesRemoved;
        bool stampHorizon = retainedTombstone && !hasHorizon;
        if (retained == total && !stampHorizon)
        {
            if (retainedTombstone)
            {
                EarliestDeleteHorizonMs = Math.Min(EarliestDeleteHorizonMs, horizon);
            }

            return BatchOutcome.KeepOriginal;
        }

        if (retained == 0)
        {
            if (!retainIfEmpty)
            {
                return BatchOutcome.Dropped;
            }

            WriteEmptyBatch(header, output);
            return BatchOutcome.Rewritten;
        }

        // KIP-534: once a tombstone has been seen by the cleaner, baseTimestamp carries the delete horizon and record timestamps are
        // deltas from it; readers add them back, so record timestamps are unchanged.
        bool withHorizon = retainedTombstone;
        long baseTimestamp = withHorizon ? horizon : firstTimestamp;
        if (withHorizon)
        {
            EarliestDeleteHorizonMs = Math.Min(EarliestDeleteHorizonMs, horizon);
        }

        var encoder = new RecordReader(plainBatch);
        while (encoder.TryReadNext(out RecordView record))
        {
            if (Retain(record, map, hasHorizon, horizon, nowMs))
            {
                RecordEncoder.Write(_records, record, baseTimestamp, header.BaseOffset);
            }
        }

        ReadOnlySpan<byte> body = _records.WrittenSpan;
        if (header.Compression != CompressionType.None)
        {
            _compressed.ResetWrittenCount();
            // Keep the producer's framing (xerial or raw snappy): every client reads both, but a rewrite should not change what it sent.
            CompressionFraming framing = RecordCompression.DetectFraming(header.Compression, batch[RecordBatchLayout.Records..]);
            RecordCompression.Compress(header.Compression, body, _compressed, framing);
            body = _compressed.WrittenSpan;
        }

        short attributes = header.Attributes;
        attributes = withHorizon
            ? (short)(attributes | RecordBatchAttributeBits.DeleteHorizon)
            : (short)(attributes & ~RecordBatchAttributeBits.DeleteHorizon);
        long batchMaxTimestamp = header.TimestampType == TimestampType.LogAppendTime ? header.MaxTimestamp : maxTimestamp;
        WriteBatch(output, header, attributes, baseTimestamp, batchMaxTimestamp, retained, body);
        return BatchOutcome.Rewritten;
    }

    /// <summary>
    /// A transaction marker none of whose transaction's data is left (<see cref="TransactionTracker"/> decided): the first time it
    /// is met it gets a delete horizon (now + delete.retention.ms) stamped; once that horizon has passed it is removed (an empty
    /// batch stays in its place when it is the producer's last, so the producer's epoch survives).
    /// </summary>
    public BatchOutcome FilterRemovableMarker(ReadOnlySpan<byte> batch, long nowMs, long deleteRetentionMs, bool retainIfEmpty,
        ArrayBufferWriter<byte> output)
    {
        RecordBatchHeader header = RecordBatchHeader.Read(batch);
        if (header.RecordCount == 0)
        {
            return retainIfEmpty ? BatchOutcome.KeepOriginal : BatchOutcome.Dropped;
        }

        if (header.HasDeleteHorizon)
        {
            if (header.BaseTimestamp <= nowMs)
            {
                MarkersRemoved++;
                if (!retainIfEmpty)
                {
                    return BatchOutcome.Dropped;
                }

                WriteEmptyBatch(header, output);
                return BatchOutcome.Rewritten;
            }

            EarliestDeleteHorizonMs = Math.Min(EarliestDeleteHorizonMs, header.BaseTimestamp);
            return BatchOutcome.KeepOriginal;
        }

        if (header.Compression != CompressionType.None)
        {
            // Markers are written uncompressed; one that is not is kept as it is.
            return BatchOutcome.KeptUnreadable;
        }

        long horizon = nowMs + deleteRetentionMs;
        int count = 0;
        _records.ResetWrittenCount();
        try
        {
            var reader = new RecordReader(batch);
            while (reader.TryReadNext(out RecordView record))
            {
                RecordEncoder.Write(_records, record, horizon, header.BaseOffset);
                count++;
            }
        }
        catch (InvalidDataException)
        {
            return BatchOutcome.KeptUnreadable;
        }

        EarliestDeleteHorizonMs = Math.Min(EarliestDeleteHorizonMs, horizon);
        WriteBatch(output, header, (short)(header.Attributes | RecordBatchAttributeBits.DeleteHorizon), horizon, header.MaxTimestamp, count,
            _records.WrittenSpan);
        return BatchOutcome.Rewritten;
    }

    private static bool Retain(in RecordView record, KeyOffsetMap map, bool hasHorizon, long horizon, long nowMs)
    {
        if (!record.HasKey)
        {
            // Compacted topics need keys; Kafka's cleaner drops keyless records.
            return false;
        }

        long latest = map.Get(record.Key);
        if (latest >= 0 && record.Offset < latest)
        {
            return false;
        }

        return record.HasValue || !hasHorizon || horizon > nowMs;
    }

    /// <summary>The decompressed records behind the original header, with the codec bits cleared so RecordReader accepts them.</summary>
    private static ReadOnlySpan<byte> MakePlainBatch(ArrayBufferWriter<byte> plain)
    {
        Span<byte> written = MemoryMarshal.AsMemory(plain.WrittenMemory).Span;
        BinaryPrimitives.WriteInt32BigEndian(written[RecordBatchLayout.BatchLength..], written.Length - RecordBatchLayout.LogOverhead);
        short attributes = BinaryPrimitives.ReadInt16BigEndian(written[RecordBatchLayout.Attributes..]);
        BinaryPrimitives.WriteInt16BigEndian(written[RecordBatchLayout.Attributes..], (short)(attributes & ~RecordBatchAttributeBits.CompressionMask));
        return written;
    }

    private static void WriteEmptyBatch(in RecordBatchHeader header, ArrayBufferWriter<byte> output)
    {
        // Kafka's writeEmptyHeader: same offsets and producer fields, no records, so the producer's last sequence is kept.
        short attributes = (short)(header.Attributes & ~(RecordBatchAttributeBits.CompressionMask | RecordBatchAttributeBits.DeleteHorizon));
        WriteBatch(output, header, attributes, header.MaxTimestamp, header.MaxTimestamp, 0, []);
    }

    private static void WriteBatch(ArrayBufferWriter<byte> output, in RecordBatchHeader header, short attributes, long baseTimestamp,
        long maxTimestamp, int recordCount, ReadOnlySpan<byte> body)
    {
        int size = RecordBatchLayout.HeaderSize + body.Length;
        Span<byte> span = output.GetSpan(size)[..size];
        BinaryPrimitives.WriteInt64BigEndian(span[RecordBatchLayout.BaseOffset..], header.BaseOffset);
        BinaryPrimitives.WriteInt32BigEndian(span[RecordBatchLayout.BatchLength..], size - RecordBatchLayout.LogOverhead);
        BinaryPrimitives.WriteInt32BigEndian(span[RecordBatchLayout.PartitionLeaderEpoch..], header.PartitionLeaderEpoch);
        span[RecordBatchLayout.Magic] = RecordBatchLayout.CurrentMagic;
        BinaryPrimitives.WriteInt16BigEndian(span[RecordBatchLayout.Attributes..], attributes);
        BinaryPrimitives.WriteInt32BigEndian(span[RecordBatchLayout.LastOffsetDelta..], header.LastOffsetDelta);
        BinaryPrimitives.WriteInt64BigEndian(span[RecordBatchLayout.BaseTimestamp..], baseTimestamp);
        BinaryPrimitives.WriteInt64BigEndian(span[RecordBatchLayout.MaxTimestamp..], maxTimestamp);
        BinaryPrimitives.WriteInt64BigEndian(span[RecordBatchLayout.ProducerId..], header.ProducerId);
        BinaryPrimitives.WriteInt16BigEndian(span[RecordBatchLayout.ProducerEpoch..], header.ProducerEpoch);
        BinaryPrimitives.WriteInt32BigEndian(span[RecordBatchLayout.BaseSequence..], header.BaseSequence);
        BinaryPrimitives.WriteInt32BigEndian(span[RecordBatchLayout.RecordCount..], recordCount);
        body.CopyTo(span[RecordBatchLayout.Records..]);
        RecordBatchRewriter.WriteCrc(span);
        output.Advance(size);
    }
}
