using System.Buffers;
using System.Buffers.Binary;

namespace Tributary.Protocol.Framing;

/// <summary>What <see cref="FrameDecoder.TryReadSize"/> found at the head of a byte stream.</summary>
public enum FrameSizeStatus
{
    /// <summary>Fewer than four bytes are buffered.</summary>
    NeedMoreData,
    /// <summary>A size within bounds was read and consumed.</summary>
    Ok,
    /// <summary>The declared size exceeds the configured maximum (socket.request.max.bytes).</summary>
    TooLarge,
    /// <summary>The declared size is negative or too small to hold a request header.</summary>
    Invalid,
}

/// <summary>
/// Sans-IO reader of Kafka's length-prefixed frames: a big-endian int32 size followed by that many bytes.
/// The size is validated before anything is allocated for the frame, so a peer can't make us reserve more
/// than the configured bound.
/// </summary>
public static class FrameDecoder
{
    /// <summary>api_key + api_version + correlation_id + client_id length: the smallest possible request.</summary>
    public const int MinimumRequestSize = 10;

    /// <summary>Reads the 4-byte size prefix at the start of <paramref name="buffer"/> and slices it off when valid.</summary>
    public static FrameSizeStatus TryReadSize(ref ReadOnlySequence<byte> buffer, int maxFrameBytes, out int size)
    {
        size = 0;
        if (buffer.Length < 4)
        {
            return FrameSizeStatus.NeedMoreData;
        }

        Span<byte> prefix = stackalloc byte[4];
        buffer.Slice(0, 4).CopyTo(prefix);
        size = BinaryPrimitives.ReadInt32BigEndian(prefix);
        if (size < MinimumRequestSize)
        {
            return FrameSizeStatus.Invalid;
        }

        if (size > maxFrameBytes)
        {
            return FrameSizeStatus.TooLarge;
        }

        buffer = buffer.Slice(4);
        return FrameSizeStatus.Ok;
    }
}
