namespace Tributary.Protocol.Records;

/// <summary>Iterates the batches of a concatenated record set, stopping at the first incomplete batch.</summary>
/// <remarks>Bounds only (no CRC): meant for batches already validated, or for counting what a buffer holds.</remarks>
public ref struct RecordBatchEnumerator
{
    private readonly ReadOnlySpan<byte> _batches;
    private int _nextPosition;

    public RecordBatchEnumerator(ReadOnlySpan<byte> batches)
    {
        _batches = batches;
        _nextPosition = 0;
        Current = default;
        CurrentHeader = default;
        CurrentPosition = -1;
    }

    /// <summary>The whole current batch.</summary>
    public ReadOnlySpan<byte> Current { get; private set; }

    public RecordBatchHeader CurrentHeader { get; private set; }

    /// <summary>Byte position of the current batch within the record set.</summary>
    public int CurrentPosition { get; private set; }

    /// <summary>Bytes of complete batches seen so far (position after the current batch).</summary>
    public readonly int ConsumedBytes => _nextPosition;

    public readonly RecordBatchEnumerator GetEnumerator() => this;

    public bool MoveNext()
    {
        ReadOnlySpan<byte> rest = _batches[_nextPosition..];
        if (!RecordBatchHeader.TryRead(rest, out RecordBatchHeader header)
            || header.BatchLength < RecordBatchLayout.MinBatchLength
            || header.TotalSize > rest.Length)
        {
            return false;
        }

        int size = (int)header.TotalSize;
        Current = rest[..size];
        CurrentHeader = header;
        CurrentPosition = _nextPosition;
        _nextPosition += size;
        return true;
    }
}
