using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Tributary.Connect.Api.Data;

namespace Tributary.Connect.Converters.Registry;

/// <summary>Avro's binary encoding, written into a growing buffer (zig-zag varints, little-endian floats, length-prefixed bytes).</summary>
internal sealed class AvroWriter(IBufferWriter<byte> output)
{
    public void WriteLong(long value)
    {
        var n = (ulong)((value << 1) ^ (value >> 63));
        var span = output.GetSpan(10);
        var i = 0;
        while (n >= 0x80)
        {
            span[i++] = (byte)(n | 0x80);
            n >>= 7;
        }

        span[i++] = (byte)n;
        output.Advance(i);
    }

    public void WriteInt(int value) => WriteLong(value);

    public void WriteBoolean(bool value)
    {
        output.GetSpan(1)[0] = value ? (byte)1 : (byte)0;
        output.Advance(1);
    }

    public void WriteFloat(float value)
    {
        BinaryPrimitives.WriteSingleLittleEndian(output.GetSpan(4), value);
        output.Advance(4);
    }

    public void WriteDouble(double value)
    {
        BinaryPrimitives.WriteDoubleLittleEndian(output.GetSpan(8), value);
        output.Advance(8);
    }

    public void WriteBytes(ReadOnlySpan<byte> value)
    {
        WriteLong(value.Length);
        WriteFixed(value);
    }

    public void WriteFixed(ReadOnlySpan<byte> value)
    {
        value.CopyTo(output.GetSpan(value.Length));
        output.Advance(value.Length);
    }

    public void WriteString(string value)
    {
        var count = Encoding.UTF8.GetByteCount(value);
        WriteLong(count);
        Encoding.UTF8.GetBytes(value, output.GetSpan(count));
        output.Advance(count);
    }
}

/// <summary>Reads Avro's binary encoding from a message, checking every length and count against what is left.</summary>
internal ref struct AvroReader(ReadOnlySpan<byte> data)
{
    /// <summary>Items of a zero-size type (null, an empty record) cost no bytes: a block of them is capped at this count.</summary>
    public const int MaxZeroSizeItems = 1_000_000;

    private readonly ReadOnlySpan<byte> data = data;
    private int position;

    public readonly int Remaining => data.Length - position;

    public long ReadLong()
    {
        ulong n = 0;
        var shift = 0;
        while (true)
        {
            if (position >= data.Length)
            {
                throw Truncated();
            }

            var b = data[position++];
            n |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                break;
            }

            shift += 7;
            if (shift > 63)
            {
                throw new DataException("Invalid Avro data: varint longer than 10 bytes");
            }
        }

        return (long)(n >> 1) ^ -(long)(n & 1);
    }

    public int ReadInt()
    {
        var v = ReadLong();
        return v is < int.MinValue or > int.MaxValue ? throw new DataException("Invalid Avro data: int out of range: " + v) : (int)v;
    }

    public bool ReadBoolean() => Take(1)[0] switch
    {
        0 => false,
        1 => true,
        var b => throw new DataException("Invalid Avro data: boolean byte " + b),
    };

    public float ReadFloat() => BinaryPrimitives.ReadSingleLittleEndian(Take(4));

    public double ReadDouble() => BinaryPrimitives.ReadDoubleLittleEndian(Take(8));

    public byte[] ReadBytes() => Take(ReadLength()).ToArray();

    public string ReadString()
    {
        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(Take(ReadLength()));
        }
        catch (DecoderFallbackException e)
        {
            throw new DataException("Invalid Avro data: string is not UTF-8", e);
        }
    }

    public ReadOnlySpan<byte> ReadFixed(int size) => Take(size);

    /// <summary>The item count of the next array or map block (0 ends the value); a negative count is followed by the block's size.</summary>
    public int ReadBlockCount(bool zeroSizeItems)
    {
        var count = ReadLong();
        if (count < 0)
        {
            count = -count;
            ReadLong(); // the block's byte size, which we do not need
        }

        // Every item takes at least one byte unless its type has none: a count beyond that is a corrupt or hostile message.
        var limit = zeroSizeItems ? MaxZeroSizeItems : Remaining;
        if (count > limit)
        {
            throw new DataException($"Invalid Avro data: block of {count} items with {Remaining} bytes left");
        }

        return (int)count;
    }

    private int ReadLength()
    {
        var length = ReadLong();
        if (length < 0 || length > Remaining)
        {
            throw new DataException($"Invalid Avro data: length {length} with {Remaining} bytes left");
        }

        return (int)length;
    }

    private ReadOnlySpan<byte> Take(int count)
    {
        if (count > Remaining)
        {
            throw Truncated();
        }

        var s = data.Slice(position, count);
        position += count;
        return s;
    }

    private readonly DataException Truncated() => new("Invalid Avro data: message ends early");
}
