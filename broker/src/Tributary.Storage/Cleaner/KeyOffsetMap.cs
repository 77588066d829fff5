using System.Buffers.Binary;
using System.Numerics;
using System.Security.Cryptography;

namespace Tributary.Storage.Cleaner;

/// <summary>
/// Key → offset of its latest record, keyed by a 128-bit digest of the key (Kafka's SkimpyOffsetMap uses MD5): 16 bytes per key
/// whatever the key's size. Bounded by a memory budget: <see cref="IsFull"/> tells the cleaner to stop mapping at the next
/// segment boundary.
/// </summary>
/// <remarks>
/// A digest collision would make compaction drop the newest record of another key, so the digest is SipHash-2-4 with 128-bit output
/// under a random key drawn per map: producers cannot craft colliding keys (they can for MD5, and for unkeyed fast hashes), and
/// accidental collisions need about 2^64 keys. It is also an order of magnitude faster than MD5 on short keys.
/// </remarks>
internal sealed class KeyOffsetMap
{
    // Dictionary<UInt128, long> costs about 48 bytes per entry (entry, bucket, growth slack).
    private const int BytesPerEntry = 48;

    private readonly Dictionary<UInt128, long> _latest = [];
    private readonly long _maxEntries;
    private readonly ulong _k0;
    private readonly ulong _k1;

    public KeyOffsetMap(long memoryBudgetBytes)
        : this(memoryBudgetBytes, RandomNumberGenerator.GetBytes(16))
    {
    }

    /// <summary>With a fixed 16-byte SipHash key (tests check the digest against the reference vectors).</summary>
    internal KeyOffsetMap(long memoryBudgetBytes, ReadOnlySpan<byte> sipKey)
    {
        _maxEntries = Math.Max(1024, memoryBudgetBytes / BytesPerEntry);
        _k0 = BinaryPrimitives.ReadUInt64LittleEndian(sipKey);
        _k1 = BinaryPrimitives.ReadUInt64LittleEndian(sipKey[8..]);
    }

    public int Count => _latest.Count;

    public bool IsFull => _latest.Count >= _maxEntries;

    /// <summary>Share of the dedupe buffer's entries in use (Kafka's buffer utilization).</summary>
    public double Utilization => (double)_latest.Count / _maxEntries;

    public void Put(ReadOnlySpan<byte> key, long offset) => _latest[Digest(key)] = offset;

    /// <summary>Latest offset recorded for <paramref name="key"/>, or -1.</summary>
    public long Get(ReadOnlySpan<byte> key) => _latest.TryGetValue(Digest(key), out long offset) ? offset : -1;

    /// <summary>SipHash-2-4 with 128-bit output (Aumasson and Bernstein) of <paramref name="data"/> under this map's key.</summary>
    internal UInt128 Digest(ReadOnlySpan<byte> data)
    {
        ulong v0 = _k0 ^ 0x736f6d6570736575UL;
        ulong v1 = _k1 ^ 0x646f72616e646f6dUL ^ 0xee;
        ulong v2 = _k0 ^ 0x6c7967656e657261UL;
        ulong v3 = _k1 ^ 0x7465646279746573UL;
        int whole = data.Length & ~7;
        for (int i = 0; i < whole; i += 8)
        {
            ulong m = BinaryPrimitives.ReadUInt64LittleEndian(data[i..]);
            v3 ^= m;
            Round(ref v0, ref v1, ref v2, ref v3);
            Round(ref v0, ref v1, ref v2, ref v3);
            v0 ^= m;
        }

        ulong last = (ulong)data.Length << 56;
        for (int i = whole; i < data.Length; i++)
        {
            last |= (ulong)data[i] << (8 * (i - whole));
        }

        v3 ^= last;
        Round(ref v0, ref v1, ref v2, ref v3);
        Round(ref v0, ref v1, ref v2, ref v3);
        v0 ^= last;
        v2 ^= 0xee;
        for (int i = 0; i < 4; i++)
        {
            Round(ref v0, ref v1, ref v2, ref v3);
        }

        ulong low = v0 ^ v1 ^ v2 ^ v3;
        v1 ^= 0xdd;
        for (int i = 0; i < 4; i++)
        {
            Round(ref v0, ref v1, ref v2, ref v3);
        }

        ulong high = v0 ^ v1 ^ v2 ^ v3;
        return new UInt128(high, low);
    }

    private static void Round(ref ulong v0, ref ulong v1, ref ulong v2, ref ulong v3)
    {
        v0 += v1;
        v1 = BitOperations.RotateLeft(v1, 13);
        v1 ^= v0;
        v0 = BitOperations.RotateLeft(v0, 32);
        v2 += v3;
        v3 = BitOperations.RotateLeft(v3, 16);
        v3 ^= v2;
        v0 += v3;
        v3 = BitOperations.RotateLeft(v3, 21);
        v3 ^= v0;
        v2 += v1;
        v1 = BitOperations.RotateLeft(v1, 17);
        v1 ^= v2;
        v2 = BitOperations.RotateLeft(v2, 32);
    }
}
