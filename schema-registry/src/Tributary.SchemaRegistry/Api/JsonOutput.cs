using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Tributary.SchemaRegistry.Api;

/// <summary>JSON as Confluent's registry writes it: no HTML-safe escaping (<c>'</c>, <c>"</c> inside strings stay as
/// Jackson writes them), compact.</summary>
internal static class JsonOutput
{
    public static readonly JsonSerializerOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static byte[] ToBytes(JsonNode? node) => JsonSerializer.SerializeToUtf8Bytes(node, Options);
}
