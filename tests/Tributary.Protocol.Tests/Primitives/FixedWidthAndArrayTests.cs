using Tributary.Protocol;
using static Tributary.Protocol.Tests.Primitives.Bytes;

namespace Tributary.Protocol.Tests.Primitives;

public class FixedWidthAndArrayTests
{
    [Fact]
    public void Fixed_width_values_are_big_endian_and_read_back()
    {
        byte[] bytes = Written(w =>
        {
            w.WriteInt8(-2);
            w.WriteInt16(0x0102);
            w.WriteUInt16(0xFFFE);
            w.WriteInt32(0x01020304);
            w.WriteUInt32(0xFFFFFFFE);
            w.WriteInt64(0x0102030405060708);
            w.WriteFloat64(1.5);
            w.WriteBool(true);
        });

        Assert.Equal(Hex("FE 0102 FFFE 01020304 FFFFFFFE 0102030405060708 3FF8000000000000 01"), bytes);
        var reader = Reader(bytes);
        Assert.Equal(-2, reader.ReadInt8());
        Assert.Equal(0x0102, reader.ReadInt16());
        Assert.Equal(0xFFFE, reader.ReadUInt16());
        Assert.Equal(0x01020304, reader.ReadInt32());
        Assert.Equal(0xFFFFFFFE, reader.ReadUInt32());
        Assert.Equal(0x0102030405060708, reader.ReadInt64());
        Assert.Equal(1.5, reader.ReadFloat64());
        Assert.True(reader.ReadBool());
        Assert.Equal(0, reader.Remaining);
    }

    [Fact]
    public void ReadBool_treats_any_non_zero_byte_as_true()
    {
        var reader = Reader(0x00, 0x02);
        Assert.False(reader.ReadBool());
        Assert.True(reader.ReadBool());
    }

    [Fact]
    public void ReadInt32_throws_when_fewer_than_four_bytes_remain()
    {
        var reader = Reader(1, 2, 3);
        Assert.Throws<MalformedMessageException>(() => reader.ReadInt32());
    }

    [Fact]
    public void WrittenBytes_counts_every_byte_written()
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        var writer = new KafkaWriter(buffer);

        writer.WriteInt32(1);
        writer.WriteString("abc", compact: true);
        writer.WriteUnsignedVarInt(300);

        Assert.Equal(buffer.WrittenCount, writer.WrittenBytes);
        Assert.Equal(4 + 4 + 2, writer.WrittenBytes);
    }

    [Theory]
    [InlineData(false, "00000002")]
    [InlineData(true, "03")]
    public void WriteArrayLength_uses_int32_or_compact_count_plus_one(bool compact, string hex)
    {
        Assert.Equal(Hex(hex), Written(w => w.WriteArrayLength(2, compact)));
    }

    [Theory]
    [InlineData(false, "FFFFFFFF")]
    [InlineData(true, "00")]
    public void ReadArrayLength_returns_minus_one_for_null(bool compact, string hex)
    {
        var reader = Reader(Hex(hex));
        Assert.Equal(-1, reader.ReadArrayLength(compact));
    }

    [Theory]
    [InlineData(false, "00000005 01020304")]
    [InlineData(true, "06 01020304")]
    public void ReadArrayLength_throws_when_the_count_exceeds_the_remaining_bytes(bool compact, string hex)
    {
        var reader = Reader(Hex(hex));
        Assert.Throws<MalformedMessageException>(() => reader.ReadArrayLength(compact));
    }

    [Fact]
    public void ReadArrayLength_throws_on_a_huge_count_before_anything_is_allocated()
    {
        var reader = Reader(Hex("7FFFFFFF"));
        Assert.Throws<MalformedMessageException>(() => reader.ReadArrayLength(compact: false));
    }

    [Fact]
    public void ReadArrayLength_rejects_negative_counts_other_than_minus_one()
    {
        var reader = Reader(Hex("FFFFFFFE 00"));
        Assert.Throws<MalformedMessageException>(() => reader.ReadArrayLength(compact: false));
    }

    [Fact]
    public void Skip_throws_when_past_the_end()
    {
        var reader = Reader(1, 2);
        Assert.Throws<MalformedMessageException>(() => reader.Skip(3));
    }

    [Fact]
    public void ReadSlice_bounds_the_sub_reader_and_advances_past_it()
    {
        var reader = Reader(1, 2, 3, 4);

        var slice = reader.ReadSlice(2);

        Assert.Equal(2, slice.Remaining);
        Assert.Equal(2, reader.Position);
        Assert.Equal(0x0102, slice.ReadInt16());
        Assert.Throws<MalformedMessageException>(() => slice.ReadInt8());
    }

    [Fact]
    public void SkipTaggedFields_skips_every_tag_by_its_size()
    {
        var reader = Reader(Hex("02 05 02 AAAA 09 00 7F"));

        reader.SkipTaggedFields();

        Assert.Equal(0x7F, reader.ReadInt8());
    }

    [Fact]
    public void SkipTaggedFields_throws_when_a_size_exceeds_the_remaining_bytes()
    {
        var reader = Reader(Hex("01 05 09 AA"));
        Assert.Throws<MalformedMessageException>(() => reader.SkipTaggedFields());
    }
}
