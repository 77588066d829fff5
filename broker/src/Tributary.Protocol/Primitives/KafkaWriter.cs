using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;

namespace Tributary.Protocol;

/// <summary>Writes Kafka primitive types into an <see cref="IBufferWriter{T}"/>; strings are encoded straight into it.</summary>
public sealed class KafkaWriter
{
    private readonly IBufferWriter<byte> _output;

    public KafkaWriter(IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        _output = output;
    }

    /// <summary>Bytes written through this writer so far.</summary>
    public long WrittenBytes { get; private set; }

    public void WriteInt8(sbyte value)
    {
        _output.GetSpan(1)[0] = (byte)value;
        Advance(1);
    }

    public void WriteInt16(short value)
    {
        BinaryPrimitives.WriteInt16BigEndian(_output.GetSpan(2), value);
        Advance(2);
    }

    public void WriteUInt16(ushort value)
    {
        BinaryPrimitives.WriteUInt16BigEndian(_output.GetSpan(2), value);
        Advance(2);
    }

    public void WriteInt32(int value)
    {
        BinaryPrimitives.WriteInt32BigEndian(_output.GetSpan(4), value);
        Advance(4);
    }

    public void WriteUInt32(uint value)
    {
        BinaryPrimitives.WriteUInt32BigEndian(_output.GetSpan(4), value);
        Advance(4);
    }

    public void WriteInt64(long value)
    {
        BinaryPrimitives.WriteInt64BigEndian(_output.GetSpan(8), value);
        Advance(8);
    }

    public void WriteFloat64(double value)
    {
        BinaryPrimitives.WriteDoubleBigEndian(_output.GetSpan(8), value);
        Advance(8);
    }

    public void WriteBool(bool value)
    {
        _output.GetSpan(1)[0] = value ? (byte)1 : (byte)0;
        Advance(1);
    }

    public void WriteUuid(Uuid value)
    {
        var span = _output.GetSpan(16);
        BinaryPrimitives.WriteUInt64BigEndian(span, value.MostSignificantBits);
        BinaryPrimitives.WriteUInt64BigEndian(span[8..], value.LeastSignificantBits);
        Advance(16);
    }

    public void WriteUnsignedVarInt(uint value)
    {
        var span = _output.GetSpan(5);
        int i = 0;
        while (value >= 0x80)
        {
            span[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        span[i++] = (byte)value;
        Advance(i);
    }

    public void WriteUnsignedVarLong(ulong value)
    {
        var span = _output.GetSpan(10);
        int i = 0;
        while (value >= 0x80)
        {
            span[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        span[i++] = (byte)value;
        Advance(i);
    }

    /// <summary>Zigzag-encoded signed varint.</summary>
    public void WriteVarInt(int value) => WriteUnsignedVarInt((uint)((value << 1) ^ (value >> 31)));

    /// <summary>Zigzag-encoded signed varlong.</summary>
    public void WriteVarLong(long value) => WriteUnsignedVarLong((ulong)((value << 1) ^ (value >> 63)));

    /// <exception cref="InvalidOperationException">The value is null (a bug in the caller) or longer than 32767 UTF-8 bytes.</exception>
    public void WriteString(string value, bool compact)
    {
        if (value is null)
        {
            throw new InvalidOperationException("A non-nullable string was null when writing");
        }

        int byteCount = Encoding.UTF8.GetByteCount(value);
        if (byteCount > KafkaReader.MaxStringBytes)
        {
            throw new InvalidOperationException($"String of {byteCount} UTF-8 bytes exceeds Kafka's {KafkaReader.MaxStringBytes}");
        }

        WriteLength(byteCount, compact, shortLength: true);
        if (byteCount > 0)
        {
            int written = Encoding.UTF8.GetBytes(value, _output.GetSpan(byteCount));
            Advance(written);
        }
    }

    public void WriteNullableString(string? value, bool compact)
    {
        if (value is null)
        {
            WriteLength(-1, compact, shortLength: true);
            return;
        }

        WriteString(value, compact);
    }

    public void WriteBytes(ReadOnlySpan<byte> value, bool compact)
    {
        WriteLength(value.Length, compact, shortLength: false);
        WriteRaw(value);
    }

    public void WriteNullableBytes(byte[]? value, bool compact)
    {
        if (value is null)
        {
            WriteLength(-1, compact, shortLength: false);
            return;
        }

        WriteBytes(value, compact);
    }

    /// <summary>
    /// Record batches, written like nullable bytes. Memory backed by a whole <see cref="DeferredBytes"/> region is copied from its
    /// source straight into the output.
    /// </summary>
    public void WriteRecords(ReadOnlyMemory<byte>? records, bool compact)
    {
        if (records is not { } value)
        {
            WriteLength(-1, compact, shortLength: false);
            return;
        }

        if (MemoryMarshal.TryGetMemoryManager(value, out DeferredBytes? deferred, out int start, out int length)
            && start == 0 && length == deferred.Length)
        {
            WriteLength(length, compact, shortLength: false);
            deferred.WriteTo(_output);
            WrittenBytes += length;
            return;
        }

        WriteBytes(value.Span, compact);
    }

    /// <summary>An array count, or -1 for a null array.</summary>
    public void WriteArrayLength(int countOrMinus1, bool compact)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(countOrMinus1, -1);
        WriteLength(countOrMinus1, compact, shortLength: false);
    }

    /// <summary>An empty tagged-fields section (count 0).</summary>
    public void WriteEmptyTaggedFields() => WriteUnsignedVarInt(0);

    public void WriteRaw(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty)
        {
            return;
        }

        bytes.CopyTo(_output.GetSpan(bytes.Length));
        Advance(bytes.Length);
    }

    private void WriteLength(int lengthOrMinus1, bool compact, bool shortLength)
    {
        if (compact)
        {
            WriteUnsignedVarInt((uint)(lengthOrMinus1 + 1));
        }
        else if (shortLength)
        {
            WriteInt16((short)lengthOrMinus1);
        }
        else
        {
            WriteInt32(lengthOrMinus1);
        }
    }

    private void Advance(int count)
    {
        _output.Advance(count);
        WrittenBytes += count;
    }
}
