using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;
using Tributary.SchemaRegistry.Storage;

namespace Tributary.SchemaRegistry.Api;

/// <summary>Confluent's wire conventions: content types, error bodies, bounded request bodies, response shapes.</summary>
internal static class RestSupport
{
    public const string V1Json = "application/vnd.schemaregistry.v1+json";

    /// <summary>Request content types Confluent accepts (parameters such as charset ignored).</summary>
    private static readonly string[] AcceptedContentTypes =
        [V1Json, "application/vnd.schemaregistry+json", "application/json", "application/octet-stream"];

    private static readonly string[] AcceptableResponseTypes =
        [V1Json, "application/vnd.schemaregistry+json", "application/json", "application/octet-stream", "*/*", "application/*"];

    public static bool ContentTypeAccepted(string? contentType)
    {
        if (string.IsNullOrEmpty(contentType))
        {
            return true;
        }

        return MediaTypeHeaderValue.TryParse(contentType, out var parsed)
            && AcceptedContentTypes.Any(t => string.Equals(t, parsed.MediaType.Value, StringComparison.OrdinalIgnoreCase));
    }

    public static bool AcceptSatisfiable(IList<string>? accept)
    {
        if (accept is null || accept.Count == 0)
        {
            return true;
        }

        return MediaTypeHeaderValue.TryParseList(accept, out var types)
            && types.Any(t => AcceptableResponseTypes.Any(a => string.Equals(a, t.MediaType.Value, StringComparison.OrdinalIgnoreCase)));
    }

    public static async Task WriteJsonAsync(HttpContext context, JsonNode? body, int status = 200)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = V1Json;
        await context.Response.Body.WriteAsync(JsonOutput.ToBytes(body)).ConfigureAwait(false);
    }

    public static Task WriteErrorAsync(HttpContext context, int status, int errorCode, string message) =>
        WriteJsonAsync(context, new JsonObject { ["error_code"] = errorCode, ["message"] = message }, status);

    /// <summary>Reads the whole body, refusing more than <paramref name="limit"/> bytes (413, error code 413).</summary>
    /// <remarks>An oversized body is still read (and dropped) up to <see cref="DrainFactor"/> times the limit before the
    /// 413 goes out: a server that answers mid-upload and closes makes most HTTP clients report a connection reset
    /// instead of the answer. Beyond that the connection is simply closed.</remarks>
    public static async Task<byte[]> ReadBodyAsync(HttpContext context, long limit)
    {
        long drainLimit = limit * DrainFactor;
        if (context.Request.ContentLength is long declared && declared > drainLimit)
        {
            context.Response.Headers.Connection = "close";
            throw new RegistryException(413, 413, $"Request body of {declared} bytes exceeds the limit of {limit} bytes");
        }

        using var buffer = new MemoryStream();
        byte[] chunk = new byte[16 * 1024];
        long total = 0;
        while (true)
        {
            int read = await context.Request.Body.ReadAsync(chunk, context.RequestAborted).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            total += read;
            if (total > drainLimit)
            {
                context.Response.Headers.Connection = "close";
                break;
            }

            if (total <= limit)
            {
                buffer.Write(chunk, 0, read);
            }
        }

        if (total > limit)
        {
            throw new RegistryException(413, 413, $"Request body exceeds the limit of {limit} bytes");
        }

        return buffer.ToArray();
    }

    /// <summary>How far past the limit an oversized body is still read so the client sees the 413.</summary>
    public const int DrainFactor = 16;

    public static bool Flag(HttpContext context, string name) =>
        context.Request.Query.TryGetValue(name, out var values) && bool.TryParse(values.ToString(), out bool value) && value;

    /// <summary>A subject version as Confluent returns it: subject, version, id, schemaType (not for AVRO), references
    /// (when any), schema.</summary>
    public static JsonObject VersionJson(SchemaValue value)
    {
        var node = new JsonObject { ["subject"] = value.Subject, ["version"] = value.Version, ["id"] = value.Id };
        if (value.Type != Schemas.SchemaType.Avro)
        {
            node["schemaType"] = SchemaTypeNames.ToName(value.Type);
        }

        if (value.References.Count > 0)
        {
            node["references"] = SchemaValue.ReferencesToJson(value.References);
        }

        node["schema"] = value.Schema;
        return node;
    }

    /// <summary>GET /schemas/ids/{id}: schemaType (not for AVRO), schema, references (when any).</summary>
    public static JsonObject SchemaJson(SchemaValue value)
    {
        var node = new JsonObject();
        if (value.Type != Schemas.SchemaType.Avro)
        {
            node["schemaType"] = SchemaTypeNames.ToName(value.Type);
        }

        node["schema"] = value.Schema;
        if (value.References.Count > 0)
        {
            node["references"] = SchemaValue.ReferencesToJson(value.References);
        }

        return node;
    }

    public static JsonArray Array<T>(IEnumerable<T> items)
    {
        var array = new JsonArray();
        foreach (var item in items)
        {
            array.Add(JsonValue.Create(item));
        }

        return array;
    }

    public static async Task WriteRawSchemaAsync(HttpContext context, string schema)
    {
        context.Response.StatusCode = 200;
        context.Response.ContentType = V1Json;
        await context.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(schema)).ConfigureAwait(false);
    }
}
