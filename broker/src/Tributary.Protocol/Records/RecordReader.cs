namespace Tributary.Protocol.Records;

/// <summary>Reads the records of one uncompressed batch without allocating; used by tests, internal topics and (later) compaction.</summary>
public ref struct RecordReader
{
    private readonly ReadOnlySpan<byte> _records;
    private int _position;
    private int _index;

    /// <summary>Starts reading <paramref name="batch"/> (one whole batch, magic 2, uncompressed).</summary>
    /// <exception cref="InvalidDataException">the batch is truncated, of another magic, or compressed.</exception>
    public RecordReader(ReadOnlySpan<byte> batch)
    {
        if (!RecordBatchHeader.TryRead(batch, out RecordBatchHeader header))
        {
            throw new InvalidDataException("Record batch is shorter than its header.");
        }

        if (header.Magic != RecordBatchLayout.CurrentMagic)
        {
            throw new InvalidDataException($"Unsupported record batch magic {header.Magic}.");
        }

        if (header.Compression != CompressionType.None)
        {
            throw new InvalidDataException($"Record batch is compressed ({header.Compression}); only uncompressed batches can be read.");
        }

        if (header.BatchLength < RecordBatchLayout.MinBatchLength || header.TotalSize > batch.Length)
        {
            throw new InvalidDataException("Record batch length is out of bounds.");
        }

        Header = header;
        _records = batch[RecordBatchLayout.Records..(int)header.TotalSize];
        _position = 0;
        _index = 0;
    }

    public RecordBatchHeader Header { get; }

    /// <summary>Reads the next record; false after the last one.</summary>
    /// <exception cref="InvalidDataException">a record is malformed.</exception>
    public bool TryReadNext(out RecordView record)
    {
        if (_index >= Header.RecordCount || _position >= _records.Length)
        {
            record = default;
            return false;
        }

        if (RecordParser.TryParse(_records[_position..], out ParsedRecord parsed) != RecordParseStatus.Ok)
        {
            throw new InvalidDataException($"Record {_index} of the batch at offset {Header.BaseOffset} is malformed.");
        }

        long timestamp = Header.TimestampType == TimestampType.LogAppendTime
            ? Header.MaxTimestamp
            : Header.BaseTimestamp + parsed.TimestampDelta;
        record = new RecordView(Header.BaseOffset + parsed.OffsetDelta, timestamp, parsed.Key, !parsed.KeyIsNull, parsed.Value,
            !parsed.ValueIsNull, new RecordHeaders(parsed.HeaderCount, parsed.Headers));
        _position += parsed.Size;
        _index++;
        return true;
    }
}
