using System.Buffers.Binary;
using Tributary.Protocol.Messages;

namespace Tributary.Protocol;

/// <summary>The request header: v1 normally, v2 (v1 + tagged fields) when the request version is flexible.</summary>
/// <remarks>
/// ClientId keeps its INT16 length even in header v2: the header was frozen before KIP-482 so that a broker can
/// always read api key, version and client id without knowing the API.
/// </remarks>
public readonly record struct RequestHeader(short ApiKey, short ApiVersion, int CorrelationId, string? ClientId)
{
    /// <summary>Fixed-width prefix every request starts with: api key, api version, correlation id.</summary>
    public const int FixedPrefixLength = 8;

    public static RequestHeader Read(ref KafkaReader reader, bool flexible)
    {
        short apiKey = reader.ReadInt16();
        short apiVersion = reader.ReadInt16();
        int correlationId = reader.ReadInt32();
        string? clientId = reader.ReadNullableString(compact: false);
        if (flexible)
        {
            // Header v2 defines no tags of its own; skip whatever a newer client sends.
            reader.SkipTaggedFields();
        }

        return new RequestHeader(apiKey, apiVersion, correlationId, clientId);
    }

    public void Write(KafkaWriter writer, bool flexible)
    {
        writer.WriteInt16(ApiKey);
        writer.WriteInt16(ApiVersion);
        writer.WriteInt32(CorrelationId);
        writer.WriteNullableString(ClientId, compact: false);
        if (flexible)
        {
            writer.WriteEmptyTaggedFields();
        }
    }

    /// <summary>The api key of a request frame (without its 4-byte length prefix), before the header is parsed.</summary>
    public static short PeekApiKey(ReadOnlySpan<byte> frame) => BinaryPrimitives.ReadInt16BigEndian(Prefix(frame));

    public static short PeekApiVersion(ReadOnlySpan<byte> frame) => BinaryPrimitives.ReadInt16BigEndian(Prefix(frame)[2..]);

    /// <summary>The correlation id, so even an unparseable request can be answered or logged against it.</summary>
    public static int PeekCorrelationId(ReadOnlySpan<byte> frame) => BinaryPrimitives.ReadInt32BigEndian(Prefix(frame)[4..]);

    private static ReadOnlySpan<byte> Prefix(ReadOnlySpan<byte> frame)
    {
        if (frame.Length < FixedPrefixLength)
        {
            throw new MalformedMessageException($"Request frame of {frame.Length} bytes is shorter than a request header");
        }

        return frame;
    }
}

/// <summary>The response header: v0 = correlation id; v1 (flexible) adds a tagged-fields section.</summary>
public readonly record struct ResponseHeader(int CorrelationId)
{
    public static ResponseHeader Read(ref KafkaReader reader, bool flexible)
    {
        int correlationId = reader.ReadInt32();
        if (flexible)
        {
            reader.SkipTaggedFields();
        }

        return new ResponseHeader(correlationId);
    }

    public void Write(KafkaWriter writer, bool flexible)
    {
        writer.WriteInt32(CorrelationId);
        if (flexible)
        {
            writer.WriteEmptyTaggedFields();
        }
    }
}

/// <summary>Which header version goes with a given API key and version.</summary>
public static class HeaderVersions
{
    private const short ApiVersionsKey = 18;

    /// <summary>True when the request header is v2 (the request version is flexible).</summary>
    public static bool RequestHeaderIsFlexible(short apiKey, short version) => ApiCatalog.IsFlexible(apiKey, version);

    /// <summary>True when the response header is v1. ApiVersions responses always use header v0 (KIP-511) so a
    /// client can read them whatever version it asked for, even one the broker rejects.</summary>
    public static bool ResponseHeaderIsFlexible(short apiKey, short version) =>
        apiKey != ApiVersionsKey && ApiCatalog.IsFlexible(apiKey, version);
}
