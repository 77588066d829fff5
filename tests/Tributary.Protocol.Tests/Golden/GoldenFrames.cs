using System.Buffers;
using Tributary.Protocol.Messages;

namespace Tributary.Protocol.Tests.Golden;

/// <summary>
/// Vectors under tests/golden: request frames captured from real clients (capture.py, top level) and message bodies
/// encoded with kafka-python's schemas (encode_kafka_python.py, kafka-python-schemas/); helpers to decode and re-encode them.
/// </summary>
internal static class GoldenFrames
{
    /// <summary>Subdirectory holding the bodies encoded by kafka-python's schemas.</summary>
    public const string KafkaPythonSchemas = "kafka-python-schemas";

    /// <summary>Names (without extension) of the vectors in <paramref name="subdirectory"/>, e.g. "kcat-Metadata-v4".</summary>
    public static IEnumerable<string> Names(string subdirectory = "") =>
        Directory.EnumerateFiles(Path.Combine(FindGoldenDirectory(), subdirectory), "*.hex")
            .Select(Path.GetFileNameWithoutExtension)
            .OfType<string>()
            .Order(StringComparer.Ordinal);

    /// <summary>A vector's bytes; for captured frames, the request without its 4-byte size prefix.</summary>
    public static byte[] Load(string name, string subdirectory = "") =>
        Convert.FromHexString(File.ReadAllText(Path.Combine(FindGoldenDirectory(), subdirectory, name + ".hex")).Trim());

    /// <summary>Decodes header and body the way the broker will: header version from the catalog, body by api key.</summary>
    public static DecodedRequest Decode(byte[] frame)
    {
        var reader = new KafkaReader(frame);
        short apiKey = RequestHeader.PeekApiKey(frame);
        short version = RequestHeader.PeekApiVersion(frame);
        bool flexible = ApiCatalog.IsFlexible(apiKey, version);
        RequestHeader header = RequestHeader.Read(ref reader, flexible);
        IRequestMessage body = ApiCatalog.ReadRequest(apiKey, version, ref reader);
        return new DecodedRequest(header, body, flexible, reader.Remaining);
    }

    /// <summary>Writes header and body back into a frame with our encoder.</summary>
    public static byte[] Encode(DecodedRequest request)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new KafkaWriter(buffer);
        request.Header.Write(writer, request.Flexible);
        request.Body.Write(writer, request.Header.ApiVersion);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Encodes a response body alone (no header), as the broker's encoder will produce it.</summary>
    public static byte[] EncodeBody(IKafkaMessage message, short version)
    {
        var buffer = new ArrayBufferWriter<byte>();
        message.Write(new KafkaWriter(buffer), version);
        return buffer.WrittenSpan.ToArray();
    }

    private static string FindGoldenDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "tests", "golden");
            if (File.Exists(Path.Combine(candidate, "capture.py")))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException($"tests/golden not found above {AppContext.BaseDirectory}");
    }
}

/// <summary>A captured request after decoding: its header, its body and how many bytes were left unread.</summary>
internal sealed record DecodedRequest(RequestHeader Header, IRequestMessage Body, bool Flexible, int UnreadBytes);
