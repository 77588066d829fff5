namespace Tributary.Protocol.Records;

/// <summary>Zig-zag varint/varlong codec used inside records (protobuf encoding, as Kafka's ByteUtils).</summary>
public static class Varint
{
    public const int MaxVarintBytes = 5;
    public const int MaxVarlongBytes = 10;

    /// <summary>Reads a zig-zag varint at <paramref name="position"/>; false if truncated or longer than 5 bytes.</summary>
    public static bool TryReadVarint(ReadOnlySpan<byte> source, scoped ref int position, out int value)
    {
        uint raw = 0;
        int shift = 0;
        int pos = position;
        while (true)
        {
            if ((uint)pos >= (uint)source.Length || shift > 28)
            {
                value = 0;
                return false;
            }

            byte b = source[pos++];
            raw |= (uint)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                break;
            }

            shift += 7;
        }

        position = pos;
        value = (int)(raw >> 1) ^ -(int)(raw & 1);
        return true;
    }

    /// <summary>Reads a zig-zag varlong at <paramref name="position"/>; false if truncated or longer than 10 bytes.</summary>
    public static bool TryReadVarlong(ReadOnlySpan<byte> source, scoped ref int position, out long value)
    {
        ulong raw = 0;
        int shift = 0;
        int pos = position;
        while (true)
        {
            if ((uint)pos >= (uint)source.Length || shift > 63)
            {
                value = 0;
                return false;
            }

            byte b = source[pos++];
            raw |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                break;
            }

            shift += 7;
        }

        position = pos;
        value = (long)(raw >> 1) ^ -(long)(raw & 1);
        return true;
    }

    public static int SizeOfVarint(int value) => SizeOfUnsigned((uint)((value << 1) ^ (value >> 31)));

    public static int SizeOfVarlong(long value)
    {
        ulong raw = (ulong)((value << 1) ^ (value >> 63));
        int size = 1;
        while (raw >= 0x80)
        {
            raw >>= 7;
            size++;
        }

        return size;
    }

    public static int WriteVarint(Span<byte> destination, int value)
    {
        uint raw = (uint)((value << 1) ^ (value >> 31));
        int i = 0;
        while (raw >= 0x80)
        {
            destination[i++] = (byte)(raw | 0x80);
            raw >>= 7;
        }

        destination[i++] = (byte)raw;
        return i;
    }

    public static int WriteVarlong(Span<byte> destination, long value)
    {
        ulong raw = (ulong)((value << 1) ^ (value >> 63));
        int i = 0;
        while (raw >= 0x80)
        {
            destination[i++] = (byte)(raw | 0x80);
            raw >>= 7;
        }

        destination[i++] = (byte)raw;
        return i;
    }

    private static int SizeOfUnsigned(uint raw)
    {
        int size = 1;
        while (raw >= 0x80)
        {
            raw >>= 7;
            size++;
        }

        return size;
    }
}
