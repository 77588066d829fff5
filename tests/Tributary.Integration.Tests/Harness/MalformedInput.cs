using System.Buffers.Binary;

namespace Tributary.Integration.Tests.Harness;

/// <summary>Byte sequences no Kafka client sends, each a different way of breaking the framing or the request header.</summary>
public static class MalformedInput
{
    /// <summary>
    /// 1 KiB of seeded random bytes, framed so the whole body is one request: the size prefix says 1020, so a broker
    /// has all the bytes it was promised and must reject the garbage header rather than wait for more.
    /// </summary>
    public static byte[] RandomGarbageFrame()
    {
        var bytes = new byte[1024];
        new Random(20261125).NextBytes(bytes);
        BinaryPrimitives.WriteInt32BigEndian(bytes, bytes.Length - 4);
        return bytes;
    }

    /// <summary>A size prefix of 0x7FFFFFFF (2 GiB - 1) followed by the start of a plausible header, then nothing.</summary>
    public static byte[] TwoGibFrameHeader()
    {
        var bytes = new byte[12];
        BinaryPrimitives.WriteInt32BigEndian(bytes, int.MaxValue);
        BinaryPrimitives.WriteInt16BigEndian(bytes.AsSpan(4), 0); // Produce
        BinaryPrimitives.WriteInt16BigEndian(bytes.AsSpan(6), 9);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(8), 1);
        return bytes;
    }

    /// <summary>A complete, well-formed request header v1 whose api key (999) Kafka does not define.</summary>
    public static byte[] UnknownApiKeyFrame()
    {
        const string clientId = "tributary-it";
        var body = new byte[2 + 2 + 4 + 2 + clientId.Length];
        BinaryPrimitives.WriteInt16BigEndian(body, 999);
        BinaryPrimitives.WriteInt16BigEndian(body.AsSpan(2), 0);
        BinaryPrimitives.WriteInt32BigEndian(body.AsSpan(4), 42);
        BinaryPrimitives.WriteInt16BigEndian(body.AsSpan(8), (short)clientId.Length);
        System.Text.Encoding.ASCII.GetBytes(clientId, body.AsSpan(10));
        var frame = new byte[4 + body.Length];
        BinaryPrimitives.WriteInt32BigEndian(frame, body.Length);
        body.CopyTo(frame, 4);
        return frame;
    }

    /// <summary>A size prefix promising 100 bytes followed by only 10 (the sender then half-closes).</summary>
    public static byte[] TruncatedFrame()
    {
        var bytes = new byte[14];
        BinaryPrimitives.WriteInt32BigEndian(bytes, 100);
        BinaryPrimitives.WriteInt16BigEndian(bytes.AsSpan(4), 18); // ApiVersions
        BinaryPrimitives.WriteInt16BigEndian(bytes.AsSpan(6), 0);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(8), 7);
        return bytes;
    }
}
