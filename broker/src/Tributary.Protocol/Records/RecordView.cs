namespace Tributary.Protocol.Records;

/// <summary>A record of an uncompressed batch, as spans into the batch bytes (valid only as long as those bytes are).</summary>
public readonly ref struct RecordView
{
    internal RecordView(long offset, long timestamp, ReadOnlySpan<byte> key, bool hasKey, ReadOnlySpan<byte> value, bool hasValue,
        RecordHeaders headers)
    {
        Offset = offset;
        Timestamp = timestamp;
        Key = key;
        HasKey = hasKey;
        Value = value;
        HasValue = hasValue;
        Headers = headers;
    }

    /// <summary>Absolute offset (batch baseOffset + offsetDelta).</summary>
    public long Offset { get; }

    /// <summary>Effective timestamp: baseTimestamp + delta, or the batch maxTimestamp under LogAppendTime.</summary>
    public long Timestamp { get; }

    public ReadOnlySpan<byte> Key { get; }

    /// <summary>False when the key is null (distinct from an empty key).</summary>
    public bool HasKey { get; }

    public ReadOnlySpan<byte> Value { get; }

    /// <summary>False when the value is null, i.e. a tombstone on compacted topics.</summary>
    public bool HasValue { get; }

    public RecordHeaders Headers { get; }
}

/// <summary>The headers of one record; enumerate with foreach.</summary>
public readonly ref struct RecordHeaders
{
    private readonly ReadOnlySpan<byte> _encoded;

    internal RecordHeaders(int count, ReadOnlySpan<byte> encoded)
    {
        Count = count;
        _encoded = encoded;
    }

    public int Count { get; }

    public Enumerator GetEnumerator() => new(Count, _encoded);

    /// <summary>Walks headers already validated by the record parser.</summary>
    public ref struct Enumerator
    {
        private readonly ReadOnlySpan<byte> _encoded;
        private int _remaining;
        private int _position;

        internal Enumerator(int count, ReadOnlySpan<byte> encoded)
        {
            _encoded = encoded;
            _remaining = count;
            _position = 0;
            Current = default;
        }

        public RecordHeaderView Current { get; private set; }

        public bool MoveNext()
        {
            if (_remaining == 0)
            {
                return false;
            }

            if (!RecordParser.TryReadBytes(_encoded, ref _position, out ReadOnlySpan<byte> key, out _)
                || !RecordParser.TryReadBytes(_encoded, ref _position, out ReadOnlySpan<byte> value, out bool valueIsNull))
            {
                throw new InvalidDataException("Record header is malformed.");
            }

            _remaining--;
            Current = new RecordHeaderView(key, value, !valueIsNull);
            return true;
        }
    }
}

/// <summary>One record header: UTF-8 key bytes and an optional value.</summary>
public readonly ref struct RecordHeaderView
{
    internal RecordHeaderView(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, bool hasValue)
    {
        Key = key;
        Value = value;
        HasValue = hasValue;
    }

    public ReadOnlySpan<byte> Key { get; }
    public ReadOnlySpan<byte> Value { get; }
    public bool HasValue { get; }
}
