using System.Buffers.Binary;
using Confluent.Kafka;
using Streamiz.Kafka.Net.SerDes;
using Streamiz.Kafka.Net.State;
using Tributary.Streams.Windows;

namespace Tributary.Streams.SerDes;

/// <summary>
/// A session-windowed key in Kafka Streams' layout (SessionWindowedSerializer): the inner key's bytes, then the session
/// end and start as 8-byte big-endian integers, so Java consumers read our session outputs unchanged.
/// </summary>
public sealed class SessionWindowedSerDes<K>(ISerDes<K> inner) : AbstractSerDes<Windowed<K>>
{
    private const int Suffix = 16;

    public override byte[] Serialize(Windowed<K> data, SerializationContext context)
    {
        ArgumentNullException.ThrowIfNull(data);
        var key = inner.Serialize(data.Key, context) ?? [];
        var bytes = new byte[key.Length + Suffix];
        key.CopyTo(bytes, 0);
        BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(key.Length), data.Window.EndMs);
        BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(key.Length + 8), data.Window.StartMs);
        return bytes;
    }

    public override Windowed<K> Deserialize(byte[] data, SerializationContext context)
    {
        if (data is null || data.Length < Suffix)
        {
            throw new InvalidDataException($"A session-windowed key holds at least {Suffix} bytes, got {data?.Length ?? 0}.");
        }

        var keyLength = data.Length - Suffix;
        var end = BinaryPrimitives.ReadInt64BigEndian(data.AsSpan(keyLength));
        var start = BinaryPrimitives.ReadInt64BigEndian(data.AsSpan(keyLength + 8));
        return new Windowed<K>(inner.Deserialize(data[..keyLength], context), new SessionWindow(start, end));
    }
}
