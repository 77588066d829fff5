using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace Tributary.Protocol.Records;

/// <summary>CRC-32C (Castagnoli), the checksum of record batch v2, using SSE4.2 / ARMv8 CRC instructions when present.</summary>
public static class Crc32C
{
    // Reflected Castagnoli polynomial.
    private const uint Polynomial = 0x82F63B78u;

    // Read-only after type initialisation: a lookup table, not mutable state.
    private static readonly uint[] Table = CreateTable();

    /// <summary>The CRC-32C of <paramref name="data"/> (initial value and final xor 0xFFFFFFFF, as Kafka computes it).</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => ~Update(0xFFFFFFFFu, data);

    private static uint Update(uint crc, ReadOnlySpan<byte> data)
    {
        if (Sse42.X64.IsSupported)
        {
            return UpdateSse42X64(crc, data);
        }

        if (Crc32.Arm64.IsSupported)
        {
            return UpdateArm64(crc, data);
        }

        return UpdateSoftware(crc, data);
    }

    private static uint UpdateSse42X64(uint crc, ReadOnlySpan<byte> data)
    {
        int wholeWords = data.Length & ~7;
        // Little-endian words: the instruction consumes the low byte first, i.e. in stream order.
        ReadOnlySpan<ulong> words = MemoryMarshal.Cast<byte, ulong>(data[..wholeWords]);
        ulong state = crc;
        foreach (ulong word in words)
        {
            state = Sse42.X64.Crc32(state, word);
        }

        crc = (uint)state;
        foreach (byte b in data[wholeWords..])
        {
            crc = Sse42.Crc32(crc, b);
        }

        return crc;
    }

    private static uint UpdateArm64(uint crc, ReadOnlySpan<byte> data)
    {
        int wholeWords = data.Length & ~7;
        ReadOnlySpan<ulong> words = MemoryMarshal.Cast<byte, ulong>(data[..wholeWords]);
        foreach (ulong word in words)
        {
            crc = Crc32.Arm64.ComputeCrc32C(crc, word);
        }

        foreach (byte b in data[wholeWords..])
        {
            crc = Crc32.ComputeCrc32C(crc, b);
        }

        return crc;
    }

    /// <summary>Byte-at-a-time table implementation; the fallback, and the reference the hardware paths are tested against.</summary>
    internal static uint UpdateSoftware(uint crc, ReadOnlySpan<byte> data)
    {
        uint[] table = Table;
        foreach (byte b in data)
        {
            crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        }

        return crc;
    }

    internal static uint ComputeSoftware(ReadOnlySpan<byte> data) => ~UpdateSoftware(0xFFFFFFFFu, data);

    private static uint[] CreateTable()
    {
        var table = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            uint value = i;
            for (int bit = 0; bit < 8; bit++)
            {
                value = (value & 1) != 0 ? (value >> 1) ^ Polynomial : value >> 1;
            }

            table[i] = value;
        }

        return table;
    }
}
