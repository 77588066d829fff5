using System.Buffers.Binary;

namespace Tributary.Protocol.Records;

/// <summary>Validates record sets received from producers before they reach the log. Sans-IO, allocation-free.</summary>
public static class RecordBatchValidator
{
    /// <summary>Disables the timestamp-skew check.</summary>
    public const long NoTimestampLimit = long.MaxValue;

    /// <summary>
    /// Checks every batch of <paramref name="records"/>: bounds, magic 2, CRC, count == lastOffsetDelta + 1, and for uncompressed
    /// batches every record's framing. Compressed batches are accepted as sent (their CRC still covers them).
    /// </summary>
    /// <param name="maxBatchBytes">largest allowed batch (the topic's max.message.bytes).</param>
    /// <param name="nowMs">broker clock, used only when <paramref name="maxTimestampDifferenceMs"/> is set.</param>
    /// <param name="maxTimestampDifferenceMs">largest allowed |CreateTime − now| (message.timestamp.difference.max.ms).</param>
    /// <remarks>Produce v3+ requires exactly one batch per partition; that rule is the caller's (see <see cref="ProduceValidation.BatchCount"/>).</remarks>
    public static RecordValidationError ValidateProduce(ReadOnlySpan<byte> records, int maxBatchBytes, out ProduceValidation result,
        long nowMs = 0, long maxTimestampDifferenceMs = NoTimestampLimit)
    {
        int position = 0;
        int batchIndex = 0;
        int recordCount = 0;
        long maxTimestamp = -1;
        long firstProducerId = -1;
        short firstProducerEpoch = -1;
        int firstBaseSequence = -1;
        bool hasTransactional = false;
        bool hasControl = false;

        if (records.IsEmpty)
        {
            return Fail(RecordValidationError.InvalidRecord, 0, "The record set contains no batch.", out result);
        }

        while (position < records.Length)
        {
            ReadOnlySpan<byte> rest = records[position..];
            if (rest.Length < RecordBatchLayout.LogOverhead)
            {
                return Fail(RecordValidationError.CorruptMessage, batchIndex, "Record batch is truncated.", out result);
            }

            int batchLength = BinaryPrimitives.ReadInt32BigEndian(rest[RecordBatchLayout.BatchLength..]);
            if (batchLength < RecordBatchLayout.MinBatchLength)
            {
                return Fail(RecordValidationError.CorruptMessage, batchIndex, "Record batch length is smaller than the batch header.", out result);
            }

            long totalSize = (long)batchLength + RecordBatchLayout.LogOverhead;
            if (totalSize > rest.Length)
            {
                return Fail(RecordValidationError.CorruptMessage, batchIndex, "Record batch length exceeds the bytes received.", out result);
            }

            if (totalSize > maxBatchBytes)
            {
                return Fail(RecordValidationError.RecordTooLarge, batchIndex, "Record batch is larger than max.message.bytes.", out result);
            }

            ReadOnlySpan<byte> batch = rest[..(int)totalSize];
            RecordBatchHeader header = RecordBatchHeader.Read(batch);
            if (header.Magic != RecordBatchLayout.CurrentMagic)
            {
                return Fail(RecordValidationError.UnsupportedMagic, batchIndex, "Only record batch magic 2 is supported.", out result);
            }

            if (RecordBatchHeader.ComputeCrc(batch) != header.Crc)
            {
                return Fail(RecordValidationError.CorruptMessage, batchIndex, "Record batch CRC does not match its contents.", out result);
            }

            if ((int)header.Compression > (int)CompressionType.Zstd)
            {
                return Fail(RecordValidationError.UnsupportedCompression, batchIndex, "Unknown compression codec.", out result);
            }

            if (header.RecordCount <= 0 || header.LastOffsetDelta < 0 || (long)header.LastOffsetDelta + 1 != header.RecordCount)
            {
                return Fail(RecordValidationError.InvalidRecord, batchIndex, "Record count does not match lastOffsetDelta + 1.", out result);
            }

            long batchMaxTimestamp = header.MaxTimestamp;
            if (header.Compression == CompressionType.None)
            {
                RecordValidationError recordsError = ValidateUncompressedRecords(batch, header, nowMs, maxTimestampDifferenceMs,
                    out batchMaxTimestamp, out string? message);
                if (recordsError != RecordValidationError.None)
                {
                    return Fail(recordsError, batchIndex, message, out result);
                }
            }
            else if (header.TimestampType == TimestampType.CreateTime && IsSkewed(header.MaxTimestamp, nowMs, maxTimestampDifferenceMs))
            {
                return Fail(RecordValidationError.InvalidTimestamp, batchIndex, "Batch timestamp is out of the accepted range.", out result);
            }

            if (recordCount > int.MaxValue - header.RecordCount)
            {
                return Fail(RecordValidationError.InvalidRecord, batchIndex, "Too many records in one request.", out result);
            }

            if (batchIndex == 0)
            {
                firstProducerId = header.ProducerId;
                firstProducerEpoch = header.ProducerEpoch;
                firstBaseSequence = header.BaseSequence;
            }

            recordCount += header.RecordCount;
            maxTimestamp = Math.Max(maxTimestamp, batchMaxTimestamp);
            hasTransactional |= header.IsTransactional;
            hasControl |= header.IsControl;
            position += (int)totalSize;
            batchIndex++;
        }

        result = new ProduceValidation
        {
            BatchCount = batchIndex,
            RecordCount = recordCount,
            TotalBytes = records.Length,
            MaxTimestamp = maxTimestamp,
            FirstProducerId = firstProducerId,
            FirstProducerEpoch = firstProducerEpoch,
            FirstBaseSequence = firstBaseSequence,
            HasTransactional = hasTransactional,
            HasControl = hasControl,
            ErrorBatchIndex = -1,
        };
        return RecordValidationError.None;
    }

    /// <summary>True if <paramref name="batch"/> (one whole batch, magic 2) carries the CRC of its contents.</summary>
    public static bool HasValidCrc(ReadOnlySpan<byte> batch) =>
        RecordBatchHeader.TryRead(batch, out RecordBatchHeader header)
        && header.BatchLength >= RecordBatchLayout.MinBatchLength
        && header.TotalSize <= batch.Length
        && RecordBatchHeader.ComputeCrc(batch[..(int)header.TotalSize]) == header.Crc;

    private static RecordValidationError ValidateUncompressedRecords(ReadOnlySpan<byte> batch, in RecordBatchHeader header, long nowMs,
        long maxTimestampDifferenceMs, out long maxTimestamp, out string? message)
    {
        ReadOnlySpan<byte> records = batch[RecordBatchLayout.Records..];
        bool checkTimestamps = header.TimestampType == TimestampType.CreateTime && maxTimestampDifferenceMs != NoTimestampLimit;
        maxTimestamp = -1;
        int position = 0;
        for (int index = 0; index < header.RecordCount; index++)
        {
            if (position >= records.Length)
            {
                message = "Record batch holds fewer records than its recordCount.";
                return RecordValidationError.InvalidRecord;
            }

            if (RecordParser.TryParse(records[position..], out ParsedRecord record) != RecordParseStatus.Ok)
            {
                message = "A record's framing is malformed.";
                return RecordValidationError.InvalidRecord;
            }

            if (record.OffsetDelta != index)
            {
                message = "Record offset deltas must be 0, 1, 2, ... in produced batches.";
                return RecordValidationError.InvalidRecord;
            }

            long timestamp = header.BaseTimestamp + record.TimestampDelta;
            if (checkTimestamps && IsSkewed(timestamp, nowMs, maxTimestampDifferenceMs))
            {
                message = "Record timestamp is out of the accepted range.";
                return RecordValidationError.InvalidTimestamp;
            }

            maxTimestamp = Math.Max(maxTimestamp, timestamp);
            position += record.Size;
        }

        if (position != records.Length)
        {
            message = "Record batch has bytes after its last record.";
            return RecordValidationError.InvalidRecord;
        }

        if (header.TimestampType == TimestampType.LogAppendTime)
        {
            maxTimestamp = header.MaxTimestamp;
        }

        message = null;
        return RecordValidationError.None;
    }

    private static bool IsSkewed(long timestamp, long nowMs, long maxDifferenceMs) =>
        maxDifferenceMs != NoTimestampLimit && Int128.Abs((Int128)timestamp - nowMs) > maxDifferenceMs;

    private static RecordValidationError Fail(RecordValidationError error, int batchIndex, string? message, out ProduceValidation result)
    {
        result = new ProduceValidation { ErrorBatchIndex = batchIndex, ErrorMessage = message, MaxTimestamp = -1 };
        return error;
    }
}
