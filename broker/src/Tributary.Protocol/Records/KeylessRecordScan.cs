using System.Buffers;
using Tributary.Protocol.Records.Compression;

namespace Tributary.Protocol.Records;

/// <summary>
/// Finds the records without a key in one produced batch. A compacted topic keeps records by key, so Kafka's log
/// validator refuses a batch holding any record whose key is null (INVALID_RECORD, with one KIP-467 record error per
/// such record); only compacted topics pay for this walk over the records.
/// </summary>
public static class KeylessRecordScan
{
    /// <summary>
    /// Adds to <paramref name="keyless"/> (created on the first hit, so a batch of keyed records allocates nothing when
    /// uncompressed) the index within the batch of every record whose key is null.
    /// </summary>
    /// <param name="batch">one whole batch, magic 2, already validated (<see cref="RecordBatchValidator.ValidateProduce"/>).</param>
    /// <param name="maxDecompressedBytes">bound on a compressed batch's records once decompressed.</param>
    /// <returns>None, or why the records could not be read (a compressed batch that does not decompress or parse).</returns>
    public static RecordValidationError Find(ReadOnlySpan<byte> batch, int maxDecompressedBytes, ref List<int>? keyless, out string? message)
    {
        if (!RecordBatchHeader.TryRead(batch, out RecordBatchHeader header) || header.TotalSize > batch.Length
            || header.BatchLength < RecordBatchLayout.MinBatchLength)
        {
            message = "Record batch is truncated.";
            return RecordValidationError.CorruptMessage;
        }

        ReadOnlySpan<byte> records = batch[RecordBatchLayout.Records..(int)header.TotalSize];
        if (header.Compression == CompressionType.None)
        {
            return FindInRecords(records, header.RecordCount, ref keyless, out message);
        }

        if (!RecordCompression.IsSupported(header.Compression))
        {
            message = "Unknown compression codec.";
            return RecordValidationError.UnsupportedCompression;
        }

        var plain = new ArrayBufferWriter<byte>(Math.Min(maxDecompressedBytes, Math.Max(256, records.Length * 4)));
        switch (RecordCompression.Decompress(header.Compression, records, plain, maxDecompressedBytes))
        {
            case DecompressionStatus.Ok:
                return FindInRecords(plain.WrittenSpan, header.RecordCount, ref keyless, out message);
            case DecompressionStatus.TooLarge:
                message = $"The batch's records are larger than {maxDecompressedBytes} bytes once decompressed.";
                return RecordValidationError.RecordTooLarge;
            default:
                message = $"The batch's {header.Compression} records do not decompress.";
                return RecordValidationError.CorruptMessage;
        }
    }

    private static RecordValidationError FindInRecords(ReadOnlySpan<byte> records, int recordCount, ref List<int>? keyless, out string? message)
    {
        int position = 0;
        for (int index = 0; index < recordCount; index++)
        {
            if (position >= records.Length || RecordParser.TryParse(records[position..], out ParsedRecord record) != RecordParseStatus.Ok)
            {
                message = "A record's framing is malformed.";
                return RecordValidationError.InvalidRecord;
            }

            if (record.KeyIsNull)
            {
                (keyless ??= []).Add(index);
            }

            position += record.Size;
        }

        message = null;
        return RecordValidationError.None;
    }
}
