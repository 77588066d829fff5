using Tributary.Protocol.Records;

namespace Tributary.Protocol.Tests.Records;

public class VarintTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(1)]
    [InlineData(63)]
    [InlineData(-64)]
    [InlineData(64)]
    [InlineData(int.MaxValue)]
    [InlineData(int.MinValue)]
    public void Varint_round_trips_with_the_predicted_size(int value)
    {
        var buffer = new byte[Varint.MaxVarintBytes];
        int written = Varint.WriteVarint(buffer, value);
        int position = 0;
        Assert.True(Varint.TryReadVarint(buffer, ref position, out int read));
        Assert.Equal(value, read);
        Assert.Equal(written, position);
        Assert.Equal(Varint.SizeOfVarint(value), written);
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(-1L)]
    [InlineData(long.MaxValue)]
    [InlineData(long.MinValue)]
    [InlineData(1_700_000_000_000L)]
    public void Varlong_round_trips_with_the_predicted_size(long value)
    {
        var buffer = new byte[Varint.MaxVarlongBytes];
        int written = Varint.WriteVarlong(buffer, value);
        int position = 0;
        Assert.True(Varint.TryReadVarlong(buffer, ref position, out long read));
        Assert.Equal(value, read);
        Assert.Equal(Varint.SizeOfVarlong(value), written);
    }

    [Fact]
    public void TryReadVarint_rejects_more_than_five_bytes()
    {
        byte[] overlong = [0x80, 0x80, 0x80, 0x80, 0x80, 0x01];
        int position = 0;
        Assert.False(Varint.TryReadVarint(overlong, ref position, out _));
        Assert.Equal(0, position);
    }

    [Fact]
    public void TryReadVarint_rejects_truncated_input()
    {
        byte[] truncated = [0x80, 0x80];
        int position = 0;
        Assert.False(Varint.TryReadVarint(truncated, ref position, out _));
    }
}
