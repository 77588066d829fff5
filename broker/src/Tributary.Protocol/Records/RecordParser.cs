namespace Tributary.Protocol.Records;

/// <summary>Why a record inside an uncompressed batch could not be parsed.</summary>
internal enum RecordParseStatus
{
    Ok,
    Truncated,
    BadLength,
    BadKeyLength,
    BadValueLength,
    BadHeaderCount,
    BadHeader,
    TrailingBytes,
}

/// <summary>One record's fields as spans into the batch; produced without allocation.</summary>
internal readonly ref struct ParsedRecord
{
    public ParsedRecord(int size, byte attributes, long timestampDelta, int offsetDelta, ReadOnlySpan<byte> key, bool keyIsNull,
        ReadOnlySpan<byte> value, bool valueIsNull, int headerCount, ReadOnlySpan<byte> headers)
    {
        Size = size;
        Attributes = attributes;
        TimestampDelta = timestampDelta;
        OffsetDelta = offsetDelta;
        Key = key;
        KeyIsNull = keyIsNull;
        Value = value;
        ValueIsNull = valueIsNull;
        HeaderCount = headerCount;
        Headers = headers;
    }

    /// <summary>Bytes consumed, including the length varint.</summary>
    public int Size { get; }
    public byte Attributes { get; }
    public long TimestampDelta { get; }
    public int OffsetDelta { get; }
    public ReadOnlySpan<byte> Key { get; }
    public bool KeyIsNull { get; }
    public ReadOnlySpan<byte> Value { get; }
    public bool ValueIsNull { get; }
    public int HeaderCount { get; }

    /// <summary>The encoded headers (already validated), after the headerCount varint.</summary>
    public ReadOnlySpan<byte> Headers { get; }
}

/// <summary>Parses and bounds-checks individual records of an uncompressed batch.</summary>
internal static class RecordParser
{
    /// <summary>Parses the record at the start of <paramref name="source"/>; every length is checked against the record's own length.</summary>
    public static RecordParseStatus TryParse(ReadOnlySpan<byte> source, out ParsedRecord record)
    {
        record = default;
        int pos = 0;
        if (!Varint.TryReadVarint(source, ref pos, out int length))
        {
            return RecordParseStatus.Truncated;
        }

        // attributes(1) + timestampDelta(1) + offsetDelta(1) + keyLength(1) + valueLength(1) + headerCount(1) at least.
        if (length < 6 || length > source.Length - pos)
        {
            return RecordParseStatus.BadLength;
        }

        ReadOnlySpan<byte> body = source.Slice(pos, length);
        int size = pos + length;
        int p = 0;
        byte attributes = body[p++];
        if (!Varint.TryReadVarlong(body, ref p, out long timestampDelta) || !Varint.TryReadVarint(body, ref p, out int offsetDelta))
        {
            return RecordParseStatus.Truncated;
        }

        if (!TryReadBytes(body, ref p, out ReadOnlySpan<byte> key, out bool keyIsNull))
        {
            return RecordParseStatus.BadKeyLength;
        }

        if (!TryReadBytes(body, ref p, out ReadOnlySpan<byte> value, out bool valueIsNull))
        {
            return RecordParseStatus.BadValueLength;
        }

        if (!Varint.TryReadVarint(body, ref p, out int headerCount) || headerCount < 0 || headerCount > body.Length - p)
        {
            return RecordParseStatus.BadHeaderCount;
        }

        int headersStart = p;
        for (int i = 0; i < headerCount; i++)
        {
            // Header keys are non-null strings; header values may be null.
            if (!TryReadBytes(body, ref p, out _, out bool headerKeyIsNull) || headerKeyIsNull
                || !TryReadBytes(body, ref p, out _, out _))
            {
                return RecordParseStatus.BadHeader;
            }
        }

        if (p != body.Length)
        {
            return RecordParseStatus.TrailingBytes;
        }

        record = new ParsedRecord(size, attributes, timestampDelta, offsetDelta, key, keyIsNull, value, valueIsNull, headerCount,
            body[headersStart..]);
        return RecordParseStatus.Ok;
    }

    /// <summary>Reads a varint length (-1 = null) followed by that many bytes, all within <paramref name="source"/>.</summary>
    public static bool TryReadBytes(ReadOnlySpan<byte> source, scoped ref int position, out ReadOnlySpan<byte> bytes, out bool isNull)
    {
        bytes = default;
        isNull = false;
        int pos = position;
        if (!Varint.TryReadVarint(source, ref pos, out int length) || length < -1 || length > source.Length - pos)
        {
            return false;
        }

        if (length == -1)
        {
            isNull = true;
        }
        else
        {
            bytes = source.Slice(pos, length);
            pos += length;
        }

        position = pos;
        return true;
    }
}
