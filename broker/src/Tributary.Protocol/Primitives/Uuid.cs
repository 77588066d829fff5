using System.Buffers.Binary;
using System.Buffers.Text;
using System.Security.Cryptography;

namespace Tributary.Protocol;

/// <summary>Kafka's 128-bit id (topic ids, cluster ids): 16 big-endian bytes on the wire, URL-safe base64 as text.</summary>
public readonly record struct Uuid(ulong MostSignificantBits, ulong LeastSignificantBits)
{
    /// <summary>The null/unset id ("AAAAAAAAAAAAAAAAAAAAAA"); Kafka never generates it.</summary>
    public static readonly Uuid Zero;

    /// <summary>Reserved by Kafka for the KRaft metadata topic; never generated.</summary>
    public static readonly Uuid One = new(0, 1);

    /// <summary>A random version-4 id, never <see cref="Zero"/> or <see cref="One"/> and never printed with a leading
    /// '-' (Kafka avoids those so the text form is never mistaken for a command-line flag).</summary>
    public static Uuid NewRandom()
    {
        Span<byte> bytes = stackalloc byte[16];
        while (true)
        {
            RandomNumberGenerator.Fill(bytes);
            bytes[6] = (byte)((bytes[6] & 0x0F) | 0x40); // version 4
            bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80); // IETF variant
            var candidate = FromBytes(bytes);
            if (candidate != Zero && candidate != One && !candidate.ToString().StartsWith('-'))
            {
                return candidate;
            }
        }
    }

    /// <summary>Parses the 22-character URL-safe base64 form produced by <see cref="ToString"/>.</summary>
    /// <exception cref="FormatException">The text is not base64url of exactly 16 bytes.</exception>
    public static Uuid Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!TryParse(text, out var uuid))
        {
            throw new FormatException($"'{text}' is not a base64url-encoded 16-byte Kafka Uuid");
        }

        return uuid;
    }

    public static bool TryParse(string? text, out Uuid uuid)
    {
        uuid = Zero;
        if (text is null || text.Length is < 22 or > 24)
        {
            return false;
        }

        Span<byte> bytes = stackalloc byte[18];
        if (!Base64Url.TryDecodeFromChars(text, bytes, out int written) || written != 16)
        {
            return false;
        }

        uuid = FromBytes(bytes);
        return true;
    }

    public override string ToString()
    {
        Span<byte> bytes = stackalloc byte[16];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, MostSignificantBits);
        BinaryPrimitives.WriteUInt64BigEndian(bytes[8..], LeastSignificantBits);
        return Base64Url.EncodeToString(bytes);
    }

    private static Uuid FromBytes(ReadOnlySpan<byte> bytes) =>
        new(BinaryPrimitives.ReadUInt64BigEndian(bytes), BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]));
}
