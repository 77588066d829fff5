using Tributary.Protocol;
using static Tributary.Protocol.Tests.Primitives.Bytes;

namespace Tributary.Protocol.Tests.Primitives;

public class UuidTests
{
    [Fact]
    public void Uuid_is_sixteen_big_endian_bytes_on_the_wire()
    {
        var uuid = new Uuid(0x0123456789ABCDEF, 0xFEDCBA9876543210);

        byte[] bytes = Written(w => w.WriteUuid(uuid));

        Assert.Equal(Hex("0123456789ABCDEF FEDCBA9876543210"), bytes);
        var reader = Reader(bytes);
        Assert.Equal(uuid, reader.ReadUuid());
    }

    [Theory]
    [InlineData(0x0123456789ABCDEFUL, 0xFEDCBA9876543210UL, "ASNFZ4mrze_-3LqYdlQyEA")]
    [InlineData(0xFBFBFBFBFBFBFBFBUL, 0xFBFBFBFBFBFBFBFBUL, "-_v7-_v7-_v7-_v7-_v7-w")]
    [InlineData(0UL, 0UL, "AAAAAAAAAAAAAAAAAAAAAA")]
    public void ToString_is_url_safe_base64_without_padding_like_kafka(ulong most, ulong least, string text)
    {
        var uuid = new Uuid(most, least);

        Assert.Equal(text, uuid.ToString());
        Assert.Equal(uuid, Uuid.Parse(text));
    }

    [Theory]
    [InlineData("")]
    [InlineData("AAAA")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("!!!!!!!!!!!!!!!!!!!!!!")]
    public void Parse_rejects_text_that_is_not_sixteen_bytes_of_base64url(string text)
    {
        Assert.Throws<FormatException>(() => Uuid.Parse(text));
    }

    [Fact]
    public void NewRandom_never_returns_a_reserved_id_or_one_printed_with_a_leading_dash()
    {
        for (int i = 0; i < 2000; i++)
        {
            var uuid = Uuid.NewRandom();
            Assert.NotEqual(Uuid.Zero, uuid);
            Assert.NotEqual(Uuid.One, uuid);
            Assert.False(uuid.ToString().StartsWith('-'), uuid.ToString());
            Assert.Equal(4UL, (uuid.MostSignificantBits >> 12) & 0xF);
        }
    }

    [Fact]
    public void Zero_is_the_default_value()
    {
        Assert.Equal(default, Uuid.Zero);
    }
}
