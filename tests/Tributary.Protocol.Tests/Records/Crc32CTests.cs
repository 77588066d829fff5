using System.Text;
using Tributary.Protocol.Records;

namespace Tributary.Protocol.Tests.Records;

public class Crc32CTests
{
    [Fact]
    public void Compute_matches_the_standard_check_value()
    {
        Assert.Equal(0xE3069283u, Crc32C.Compute(Encoding.ASCII.GetBytes("123456789")));
    }

    [Fact]
    public void Compute_matches_rfc3720_vectors()
    {
        // RFC 3720 B.4 (iSCSI), CRC-32C of 32-byte patterns.
        Assert.Equal(0x8A9136AAu, Crc32C.Compute(new byte[32]));
        Assert.Equal(0x62A8AB43u, Crc32C.Compute(Enumerable.Repeat((byte)0xFF, 32).ToArray()));
        Assert.Equal(0x46DD794Eu, Crc32C.Compute(Enumerable.Range(0, 32).Select(i => (byte)i).ToArray()));
        Assert.Equal(0x113FDB5Cu, Crc32C.Compute(Enumerable.Range(0, 32).Select(i => (byte)(31 - i)).ToArray()));
    }

    [Fact]
    public void Compute_of_empty_input_is_zero()
    {
        Assert.Equal(0u, Crc32C.Compute([]));
    }

    [Fact]
    public void Compute_agrees_with_the_software_table_for_every_length_and_alignment()
    {
        var random = new Random(42);
        var data = new byte[300];
        random.NextBytes(data);
        for (int start = 0; start < 8; start++)
        {
            for (int length = 0; length <= data.Length - start; length += 7)
            {
                ReadOnlySpan<byte> slice = data.AsSpan(start, length);
                Assert.Equal(Crc32C.ComputeSoftware(slice), Crc32C.Compute(slice));
            }
        }
    }
}
