using System.Buffers;
using Tributary.Protocol;

namespace Tributary.Protocol.Tests.Primitives;

/// <summary>Small helpers shared by the primitive tests: write with a fresh writer, read from a byte array.</summary>
internal static class Bytes
{
    public static byte[] Written(Action<KafkaWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        write(new KafkaWriter(buffer));
        return buffer.WrittenSpan.ToArray();
    }

    public static KafkaReader Reader(params byte[] bytes) => new(bytes);

    public static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace(" ", string.Empty, StringComparison.Ordinal));
}
