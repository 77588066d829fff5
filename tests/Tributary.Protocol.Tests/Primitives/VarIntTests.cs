using Tributary.Protocol;
using static Tributary.Protocol.Tests.Primitives.Bytes;

namespace Tributary.Protocol.Tests.Primitives;

public class VarIntTests
{
    [Theory]
    [InlineData(0u, "00")]
    [InlineData(1u, "01")]
    [InlineData(127u, "7F")]
    [InlineData(128u, "8001")]
    [InlineData(16383u, "FF7F")]
    [InlineData(16384u, "808001")]
    [InlineData(2097151u, "FFFF7F")]
    [InlineData(268435455u, "FFFFFF7F")]
    [InlineData(268435456u, "8080808001")]
    [InlineData(uint.MaxValue, "FFFFFFFF0F")]
    public void UnsignedVarInt_uses_the_fewest_seven_bit_groups_and_reads_back(uint value, string hex)
    {
        byte[] bytes = Written(w => w.WriteUnsignedVarInt(value));

        Assert.Equal(Hex(hex), bytes);
        var reader = Reader(bytes);
        Assert.Equal(value, reader.ReadUnsignedVarInt());
        Assert.Equal(0, reader.Remaining);
    }

    [Theory]
    [InlineData(0, "00")]
    [InlineData(-1, "01")]
    [InlineData(1, "02")]
    [InlineData(-2, "03")]
    [InlineData(63, "7E")]
    [InlineData(-64, "7F")]
    [InlineData(64, "8001")]
    [InlineData(int.MaxValue, "FEFFFFFF0F")]
    [InlineData(int.MinValue, "FFFFFFFF0F")]
    public void VarInt_zigzags_so_small_magnitudes_stay_short(int value, string hex)
    {
        byte[] bytes = Written(w => w.WriteVarInt(value));

        Assert.Equal(Hex(hex), bytes);
        var reader = Reader(bytes);
        Assert.Equal(value, reader.ReadVarInt());
    }

    [Theory]
    [InlineData(0L, "00")]
    [InlineData(-1L, "01")]
    [InlineData(1L, "02")]
    [InlineData(long.MaxValue, "FEFFFFFFFFFFFFFFFF01")]
    [InlineData(long.MinValue, "FFFFFFFFFFFFFFFFFF01")]
    public void VarLong_zigzags_across_the_full_64_bit_range(long value, string hex)
    {
        byte[] bytes = Written(w => w.WriteVarLong(value));

        Assert.Equal(Hex(hex), bytes);
        var reader = Reader(bytes);
        Assert.Equal(value, reader.ReadVarLong());
    }

    [Fact]
    public void ReadUnsignedVarInt_throws_when_longer_than_five_bytes()
    {
        var reader = Reader(Hex("FFFFFFFFFF01"));
        Assert.Throws<MalformedMessageException>(() => reader.ReadUnsignedVarInt());
    }

    [Fact]
    public void ReadUnsignedVarInt_throws_when_the_fifth_byte_overflows_32_bits()
    {
        var reader = Reader(Hex("FFFFFFFF1F"));
        Assert.Throws<MalformedMessageException>(() => reader.ReadUnsignedVarInt());
    }

    [Fact]
    public void ReadUnsignedVarInt_throws_when_the_continuation_bit_runs_off_the_end()
    {
        var reader = Reader(Hex("8080"));
        Assert.Throws<MalformedMessageException>(() => reader.ReadUnsignedVarInt());
    }

    [Fact]
    public void ReadVarLong_throws_when_longer_than_ten_bytes()
    {
        var reader = Reader(Hex("FFFFFFFFFFFFFFFFFFFF01"));
        Assert.Throws<MalformedMessageException>(() => reader.ReadVarLong());
    }

    [Fact]
    public void ReadVarLong_throws_when_the_tenth_byte_overflows_64_bits()
    {
        var reader = Reader(Hex("FFFFFFFFFFFFFFFFFF02"));
        Assert.Throws<MalformedMessageException>(() => reader.ReadVarLong());
    }
}
