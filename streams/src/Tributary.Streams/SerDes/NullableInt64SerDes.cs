using System.Buffers.Binary;
using Confluent.Kafka;
using Streamiz.Kafka.Net.SerDes;

namespace Tributary.Streams.SerDes;

/// <summary>A nullable 64-bit integer as Kafka's LongSerializer writes it: 8 bytes big-endian, null for a tombstone.
/// (Streamiz's Int64SerDes writes the machine's byte order and cannot carry null.)</summary>
public sealed class NullableInt64SerDes : AbstractSerDes<long?>
{
    public override byte[] Serialize(long? data, SerializationContext context)
    {
        if (data is not { } value)
        {
            return null!;
        }

        var bytes = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(bytes, value);
        return bytes;
    }

    public override long? Deserialize(byte[] data, SerializationContext context) => data switch
    {
        null => null,
        { Length: 8 } => BinaryPrimitives.ReadInt64BigEndian(data),
        _ => throw new InvalidDataException($"A 64-bit integer is 8 bytes, got {data.Length}."),
    };
}
