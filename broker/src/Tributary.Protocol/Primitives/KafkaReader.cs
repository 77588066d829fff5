using System.Buffers.Binary;
using System.Text;
using System.Text.Unicode;

namespace Tributary.Protocol;

/// <summary>Reads Kafka primitive types from a frame held in memory; passed by <c>ref</c> so the position advances.</summary>
/// <remarks>
/// Every length and count read from the wire is checked against the bytes that remain before anything is
/// allocated, so a hostile frame can never make us allocate more than a small multiple of its own size.
/// Invalid UTF-8 in strings is rejected (never replaced), so a decoded string always re-encodes to the same bytes.
/// </remarks>
public struct KafkaReader
{
    /// <summary>Longest string Kafka accepts, compact or not (its readers reject anything longer).</summary>
    public const int MaxStringBytes = short.MaxValue;

    /// <summary>Most list capacity reserved up front from a count read off the wire; larger lists grow as their
    /// elements are read, so a count that the bytes cannot back never turns into a large allocation.</summary>
    public const int MaxPresizedElements = 1024;

    /// <summary>The capacity to reserve for <paramref name="count"/> elements read from the wire.</summary>
    public static int PresizedCapacity(int count) => Math.Clamp(count, 0, MaxPresizedElements);

    private readonly ReadOnlyMemory<byte> _memory;
    private int _position;

    public KafkaReader(ReadOnlyMemory<byte> memory)
    {
        _memory = memory;
        _position = 0;
    }

    /// <summary>The whole buffer this reader walks over (not just the unread part).</summary>
    public readonly ReadOnlyMemory<byte> Memory => _memory;

    public readonly int Position => _position;

    public readonly int Remaining => _memory.Length - _position;

    public sbyte ReadInt8() => (sbyte)Take(1)[0];

    public short ReadInt16() => BinaryPrimitives.ReadInt16BigEndian(Take(2));

    public ushort ReadUInt16() => BinaryPrimitives.ReadUInt16BigEndian(Take(2));

    public int ReadInt32() => BinaryPrimitives.ReadInt32BigEndian(Take(4));

    public uint ReadUInt32() => BinaryPrimitives.ReadUInt32BigEndian(Take(4));

    public long ReadInt64() => BinaryPrimitives.ReadInt64BigEndian(Take(8));

    public double ReadFloat64() => BinaryPrimitives.ReadDoubleBigEndian(Take(8));

    /// <summary>Any non-zero byte is true, as in Kafka's own readers.</summary>
    public bool ReadBool() => Take(1)[0] != 0;

    public Uuid ReadUuid()
    {
        var bytes = Take(16);
        return new Uuid(BinaryPrimitives.ReadUInt64BigEndian(bytes), BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]));
    }

    /// <summary>An unsigned LEB128 varint of at most 5 bytes whose value fits 32 bits.</summary>
    public uint ReadUnsignedVarInt()
    {
        var span = _memory.Span;
        uint value = 0;
        for (int i = 0; i < 5; i++)
        {
            if (_position >= span.Length)
            {
                throw new MalformedMessageException($"Truncated varint at offset {_position}");
            }

            byte b = span[_position++];
            if (i == 4 && b > 0x0F)
            {
                throw new MalformedMessageException($"Varint at offset {_position - 5} does not fit 32 bits");
            }

            value |= (uint)(b & 0x7F) << (7 * i);
            if ((b & 0x80) == 0)
            {
                return value;
            }
        }

        throw new MalformedMessageException($"Varint at offset {_position - 5} is longer than 5 bytes");
    }

    /// <summary>An unsigned LEB128 varint of at most 10 bytes whose value fits 64 bits.</summary>
    public ulong ReadUnsignedVarLong()
    {
        var span = _memory.Span;
        ulong value = 0;
        for (int i = 0; i < 10; i++)
        {
            if (_position >= span.Length)
            {
                throw new MalformedMessageException($"Truncated varlong at offset {_position}");
            }

            byte b = span[_position++];
            if (i == 9 && b > 0x01)
            {
                throw new MalformedMessageException($"Varlong at offset {_position - 10} does not fit 64 bits");
            }

            value |= (ulong)(b & 0x7F) << (7 * i);
            if ((b & 0x80) == 0)
            {
                return value;
            }
        }

        throw new MalformedMessageException($"Varlong at offset {_position - 10} is longer than 10 bytes");
    }

    /// <summary>A zigzag-encoded signed varint (records use these).</summary>
    public int ReadVarInt()
    {
        uint raw = ReadUnsignedVarInt();
        return (int)(raw >> 1) ^ -(int)(raw & 1);
    }

    /// <summary>A zigzag-encoded signed varlong.</summary>
    public long ReadVarLong()
    {
        ulong raw = ReadUnsignedVarLong();
        return (long)(raw >> 1) ^ -(long)(raw & 1);
    }

    /// <summary>A string that must not be null.</summary>
    public string ReadString(bool compact)
    {
        return ReadNullableString(compact)
            ?? throw new MalformedMessageException($"Null string at offset {_position} where a non-null string is required");
    }

    public string? ReadNullableString(bool compact)
    {
        int start = _position;
        int length = compact ? ReadCompactLength() : ReadInt16();
        if (length == -1)
        {
            return null;
        }

        if (length < -1)
        {
            throw new MalformedMessageException($"Negative string length {length} at offset {start}");
        }

        if (length > MaxStringBytes)
        {
            throw new MalformedMessageException($"String length {length} at offset {start} exceeds {MaxStringBytes}");
        }

        if (length == 0)
        {
            return string.Empty;
        }

        var bytes = Take(length);
        if (!Utf8.IsValid(bytes))
        {
            throw new MalformedMessageException($"String at offset {start} is not valid UTF-8");
        }

        return Encoding.UTF8.GetString(bytes);
    }

    /// <summary>A byte array that must not be null (copied out of the frame).</summary>
    public byte[] ReadBytes(bool compact)
    {
        return ReadNullableBytes(compact)
            ?? throw new MalformedMessageException($"Null bytes at offset {_position} where non-null bytes are required");
    }

    public byte[]? ReadNullableBytes(bool compact)
    {
        var slice = ReadBytesSlice(compact);
        return slice?.ToArray();
    }

    /// <summary>Record batches as a slice of the frame (no copy); null when the length says null.</summary>
    public ReadOnlyMemory<byte>? ReadRecords(bool compact) => ReadBytesSlice(compact);

    /// <summary>An array count; -1 means null. Counts above the remaining bytes are rejected before any allocation.</summary>
    public int ReadArrayLength(bool compact)
    {
        int start = _position;
        int count = compact ? ReadCompactLength() : ReadInt32();
        if (count < -1)
        {
            throw new MalformedMessageException($"Negative array length {count} at offset {start}");
        }

        // Every element takes at least one byte on the wire, so this bounds the list we allocate.
        if (count > Remaining)
        {
            throw new MalformedMessageException(
                $"Array length {count} at offset {start} exceeds the {Remaining} bytes remaining");
        }

        return count;
    }

    /// <summary>The uvarint length of a tagged field or other size-prefixed item, bounded by the bytes remaining.</summary>
    public int ReadSize()
    {
        int start = _position;
        uint size = ReadUnsignedVarInt();
        if (size > (uint)Remaining)
        {
            throw new MalformedMessageException($"Size {size} at offset {start} exceeds the {Remaining} bytes remaining");
        }

        return (int)size;
    }

    /// <summary>A reader over the next <paramref name="length"/> bytes; this reader moves past them.</summary>
    public KafkaReader ReadSlice(int length)
    {
        EnsureAvailable(length);
        var slice = new KafkaReader(_memory.Slice(_position, length));
        _position += length;
        return slice;
    }

    public void Skip(int count)
    {
        EnsureAvailable(count);
        _position += count;
    }

    /// <summary>Skips a whole tagged-fields section (used where we know no tags, e.g. request header v2).</summary>
    public void SkipTaggedFields()
    {
        uint count = ReadUnsignedVarInt();
        for (uint i = 0; i < count; i++)
        {
            ReadUnsignedVarInt();
            Skip(ReadSize());
        }
    }

    /// <summary>Throws unless every byte has been consumed; used for size-prefixed known tagged fields.</summary>
    public readonly void EnsureFullyConsumed(string what)
    {
        if (Remaining != 0)
        {
            throw new MalformedMessageException($"{what}: {Remaining} unexpected trailing bytes");
        }
    }

    private ReadOnlyMemory<byte>? ReadBytesSlice(bool compact)
    {
        int start = _position;
        int length = compact ? ReadCompactLength() : ReadInt32();
        if (length == -1)
        {
            return null;
        }

        if (length < -1)
        {
            throw new MalformedMessageException($"Negative bytes length {length} at offset {start}");
        }

        EnsureAvailable(length);
        var slice = _memory.Slice(_position, length);
        _position += length;
        return slice;
    }

    /// <summary>Compact lengths are uvarint(length + 1) with 0 meaning null; returns -1 for null.</summary>
    private int ReadCompactLength()
    {
        int start = _position;
        uint raw = ReadUnsignedVarInt();
        if (raw > int.MaxValue)
        {
            throw new MalformedMessageException($"Compact length {raw} at offset {start} is out of range");
        }

        return (int)raw - 1;
    }

    private ReadOnlySpan<byte> Take(int count)
    {
        EnsureAvailable(count);
        var span = _memory.Span.Slice(_position, count);
        _position += count;
        return span;
    }

    private readonly void EnsureAvailable(int count)
    {
        if (count < 0)
        {
            throw new MalformedMessageException($"Negative length {count} at offset {_position}");
        }

        if (count > Remaining)
        {
            throw new MalformedMessageException(
                $"Truncated message: need {count} bytes at offset {_position}, {Remaining} remaining");
        }
    }
}
