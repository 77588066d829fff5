using Tributary.Storage.Cleaner;

namespace Tributary.Storage.Tests.Cleaner;

public sealed class KeyOffsetMapTests
{
    private static readonly byte[] ReferenceKey = [.. Enumerable.Range(0, 16).Select(i => (byte)i)];

    [Fact]
    public void The_key_digest_is_siphash_2_4_128_as_in_the_reference_vectors()
    {
        var map = new KeyOffsetMap(1 << 20, ReferenceKey);

        UInt128 digest = map.Digest([]);

        // Reference vector for the empty message, key 00..0f: bytes a3 81 7f 04 ba 25 a8 e6 6d f6 72 14 c7 55 02 93 (little-endian).
        byte[] bytes = new byte[16];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)digest);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(8), (ulong)(digest >> 64));
        Assert.Equal(Convert.FromHexString("a3817f04ba25a8e66df67214c7550293"), bytes);
    }

    [Fact]
    public void Later_offsets_replace_earlier_ones_and_unknown_keys_read_minus_one()
    {
        var map = new KeyOffsetMap(1 << 20);
        map.Put("a"u8, 1);
        map.Put("b"u8, 2);
        map.Put("a"u8, 3);

        Assert.Equal(3, map.Get("a"u8));
        Assert.Equal(2, map.Get("b"u8));
        Assert.Equal(-1, map.Get("c"u8));
        Assert.Equal(-1, map.Get(""u8));
    }

    [Fact]
    public void The_map_reports_full_at_its_memory_budget()
    {
        var map = new KeyOffsetMap(48 * 1024);
        for (int i = 0; i < 1023; i++)
        {
            map.Put(BitConverter.GetBytes(i), i);
        }

        Assert.False(map.IsFull);
        map.Put(BitConverter.GetBytes(5000), 5000);
        Assert.True(map.IsFull);
    }
}
