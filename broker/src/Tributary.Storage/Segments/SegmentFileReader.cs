using System.Buffers;
using Microsoft.Win32.SafeHandles;
using Tributary.Protocol.Records;

namespace Tributary.Storage;

/// <summary>
/// Reads batch headers (and whole batches, for recovery) from a segment file through a pooled read-ahead buffer, so walking
/// many small batches costs one pread per buffer rather than one per batch. Never reads at or past <c>limit</c>.
/// </summary>
internal sealed class SegmentFileReader : IDisposable
{
    private const int DefaultBufferSize = 64 * 1024;

    private readonly SafeFileHandle _file;
    private readonly long _limit;
    private byte[] _buffer;
    private long _bufferStart;
    private int _bufferLength;

    public SegmentFileReader(SafeFileHandle file, long limit, int bufferSize = DefaultBufferSize)
    {
        _file = file;
        _limit = limit;
        _buffer = ArrayPool<byte>.Shared.Rent(bufferSize);
    }

    public long Limit => _limit;

    /// <summary>Parses the batch header at <paramref name="position"/>; false if fewer than 61 bytes remain before the limit.</summary>
    public bool TryReadHeader(long position, out RecordBatchHeader header)
    {
        if (!TryGetSpan(position, RecordBatchLayout.HeaderSize, out ReadOnlySpan<byte> span))
        {
            header = default;
            return false;
        }

        header = RecordBatchHeader.Read(span);
        return true;
    }

    /// <summary>
    /// Exposes <paramref name="length"/> bytes at <paramref name="position"/>, growing the buffer if needed; false if they extend past
    /// the limit. The buffer can only grow to the limit, so a corrupt length cannot make this allocate more than the file holds.
    /// </summary>
    public bool TryGetSpan(long position, int length, out ReadOnlySpan<byte> span)
    {
        span = default;
        if (position < 0 || length < 0 || position + length > _limit)
        {
            return false;
        }

        if (position < _bufferStart || position + length > _bufferStart + _bufferLength)
        {
            if (length > _buffer.Length)
            {
                ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = ArrayPool<byte>.Shared.Rent(length);
            }

            int toRead = (int)Math.Min(_buffer.Length, _limit - position);
            int read = ReadFully(_file, _buffer.AsSpan(0, toRead), position);
            _bufferStart = position;
            _bufferLength = read;
            if (read < length)
            {
                return false;
            }
        }

        span = _buffer.AsSpan((int)(position - _bufferStart), length);
        return true;
    }

    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
    }

    /// <summary>pread until <paramref name="destination"/> is full or the file ends; returns bytes read.</summary>
    public static int ReadFully(SafeFileHandle file, Span<byte> destination, long position)
    {
        int total = 0;
        while (total < destination.Length)
        {
            int read = RandomAccess.Read(file, destination[total..], position + total);
            if (read == 0)
            {
                break;
            }

            total += read;
        }

        return total;
    }
}
