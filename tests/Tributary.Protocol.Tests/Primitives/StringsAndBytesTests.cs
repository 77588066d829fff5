using System.Runtime.InteropServices;
using Tributary.Protocol;
using static Tributary.Protocol.Tests.Primitives.Bytes;

namespace Tributary.Protocol.Tests.Primitives;

public class StringsAndBytesTests
{
    [Fact]
    public void WriteString_non_compact_prefixes_an_int16_length()
    {
        Assert.Equal(Hex("0002 6869"), Written(w => w.WriteString("hi", compact: false)));
    }

    [Fact]
    public void WriteString_compact_prefixes_uvarint_length_plus_one()
    {
        Assert.Equal(Hex("03 6869"), Written(w => w.WriteString("hi", compact: true)));
    }

    [Theory]
    [InlineData(false, "FFFF")]
    [InlineData(true, "00")]
    public void WriteNullableString_encodes_null_as_minus_one_or_compact_zero(bool compact, string hex)
    {
        byte[] bytes = Written(w => w.WriteNullableString(null, compact));

        Assert.Equal(Hex(hex), bytes);
        var reader = Reader(bytes);
        Assert.Null(reader.ReadNullableString(compact));
    }

    [Theory]
    [InlineData(false, "FFFF")]
    [InlineData(true, "00")]
    public void ReadString_throws_when_the_wire_says_null(bool compact, string hex)
    {
        var reader = Reader(Hex(hex));
        Assert.Throws<MalformedMessageException>(() => reader.ReadString(compact));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Strings_round_trip_multibyte_utf8(bool compact)
    {
        const string text = "héllo 日本 🚀";
        byte[] bytes = Written(w => w.WriteString(text, compact));

        var reader = Reader(bytes);
        Assert.Equal(text, reader.ReadString(compact));
        Assert.Equal(0, reader.Remaining);
    }

    [Fact]
    public void ReadString_rejects_invalid_utf8()
    {
        var reader = Reader(Hex("0001 FF"));
        Assert.Throws<MalformedMessageException>(() => reader.ReadString(compact: false));
    }

    [Fact]
    public void ReadNullableString_rejects_negative_lengths_other_than_minus_one()
    {
        var reader = Reader(Hex("FFFE"));
        Assert.Throws<MalformedMessageException>(() => reader.ReadNullableString(compact: false));
    }

    [Theory]
    [InlineData(false, "0005 61")]
    [InlineData(true, "06 61")]
    public void ReadString_throws_when_the_length_exceeds_the_remaining_bytes(bool compact, string hex)
    {
        var reader = Reader(Hex(hex));
        Assert.Throws<MalformedMessageException>(() => reader.ReadString(compact));
    }

    [Fact]
    public void ReadString_rejects_compact_lengths_above_kafkas_string_limit()
    {
        byte[] bytes = Written(w => w.WriteUnsignedVarInt(KafkaReader.MaxStringBytes + 2));
        var reader = Reader([.. bytes, .. new byte[KafkaReader.MaxStringBytes + 1]]);
        Assert.Throws<MalformedMessageException>(() => reader.ReadString(compact: true));
    }

    [Fact]
    public void WriteString_throws_when_longer_than_32767_utf8_bytes()
    {
        string text = new('x', KafkaReader.MaxStringBytes + 1);
        Assert.Throws<InvalidOperationException>(() => Written(w => w.WriteString(text, compact: true)));
    }

    [Fact]
    public void WriteString_throws_invalid_operation_on_null()
    {
        Assert.Throws<InvalidOperationException>(() => Written(w => w.WriteString(null!, compact: false)));
    }

    [Theory]
    [InlineData(false, "00000003 010203")]
    [InlineData(true, "04 010203")]
    public void Bytes_use_int32_or_compact_length_and_read_back(bool compact, string hex)
    {
        byte[] bytes = Written(w => w.WriteBytes([1, 2, 3], compact));

        Assert.Equal(Hex(hex), bytes);
        var reader = Reader(bytes);
        Assert.Equal(new byte[] { 1, 2, 3 }, reader.ReadBytes(compact));
    }

    [Theory]
    [InlineData(false, "FFFFFFFF")]
    [InlineData(true, "00")]
    public void NullableBytes_encode_null_as_minus_one_or_compact_zero(bool compact, string hex)
    {
        byte[] bytes = Written(w => w.WriteNullableBytes(null, compact));

        Assert.Equal(Hex(hex), bytes);
        var reader = Reader(bytes);
        Assert.Null(reader.ReadNullableBytes(compact));
        var again = Reader(bytes);
        Assert.Throws<MalformedMessageException>(() => again.ReadBytes(compact));
    }

    [Fact]
    public void ReadBytes_rejects_negative_lengths_other_than_minus_one()
    {
        var reader = Reader(Hex("FFFFFFFE"));
        Assert.Throws<MalformedMessageException>(() => reader.ReadNullableBytes(compact: false));
    }

    [Fact]
    public void ReadRecords_returns_a_slice_of_the_frame_without_copying()
    {
        byte[] frame = Hex("AA 04 010203");
        var reader = new KafkaReader(frame);
        reader.Skip(1);

        var records = reader.ReadRecords(compact: true);

        Assert.NotNull(records);
        Assert.True(MemoryMarshal.TryGetArray(records.Value, out var segment));
        Assert.Same(frame, segment.Array);
        Assert.Equal(2, segment.Offset);
        Assert.Equal(3, segment.Count);
    }

    [Theory]
    [InlineData(false, "FFFFFFFF")]
    [InlineData(true, "00")]
    public void Records_null_round_trips(bool compact, string hex)
    {
        byte[] bytes = Written(w => w.WriteRecords(null, compact));

        Assert.Equal(Hex(hex), bytes);
        var reader = Reader(bytes);
        Assert.Null(reader.ReadRecords(compact));
    }
}
