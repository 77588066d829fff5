using System.Text;
using Tributary.Protocol;

namespace Tributary.Raft.Tests;

/// <summary>UTF-8 strings as the records of a test quorum: the quorum is generic, so its tests need no metadata types.</summary>
internal sealed class StringSerde : IRecordSerde<string>
{
    public static readonly StringSerde Instance = new();

    public byte[] Serialize(string record) => Encoding.UTF8.GetBytes(record);

    public string Deserialize(ReadOnlyMemory<byte> bytes)
    {
        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes.Span);
        }
        catch (DecoderFallbackException e)
        {
            throw new MalformedMessageException("Not a UTF-8 string record: " + e.Message);
        }
    }
}
