using System.Text.Json;
using System.Text.Json.Nodes;
using Tributary.SchemaRegistry.Schemas;
using Tributary.SchemaRegistry.Storage;

namespace Tributary.SchemaRegistry.Api;

/// <summary>The body of register, lookup and compatibility requests:
/// <c>{"schema":"…","schemaType":"AVRO","references":[{"name","subject","version"}],"id":…,"version":…}</c>.</summary>
public sealed record SchemaRequest(string Schema, SchemaType Type, IReadOnlyList<SchemaReference> References, int? Id, int? Version)
{
    /// <summary>Parses a request body; malformed JSON is a 400 (error code 400), a missing or empty schema or an unknown
    /// schema type is 42201, as Confluent answers them.</summary>
    public static SchemaRequest Parse(byte[] body)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(body);
        }
        catch (JsonException e)
        {
            throw new RegistryException(400, 400, $"Unrecognized JSON: {e.Message}");
        }

        if (root is not JsonObject node)
        {
            throw new RegistryException(400, 400, "The request body must be a JSON object");
        }

        try
        {
            string? schema = node["schema"] is JsonValue s && s.TryGetValue(out string? text) ? text : null;
            if (string.IsNullOrEmpty(schema))
            {
                throw RegistryException.InvalidSchema("Empty schema");
            }

            string typeName = node["schemaType"] is JsonValue t && t.TryGetValue(out string? tn) ? tn : "AVRO";
            if (!SchemaTypeNames.TryParse(typeName, out SchemaType type))
            {
                throw RegistryException.InvalidSchema($"Invalid schema type {typeName}");
            }

            var references = new List<SchemaReference>();
            if (node["references"] is JsonArray refs)
            {
                if (refs.Count > 1000)
                {
                    throw RegistryException.InvalidSchema("Too many references (at most 1000)");
                }

                foreach (var r in refs)
                {
                    if (r is not JsonObject o || o["name"]?.GetValue<string>() is not { Length: > 0 } name
                        || o["subject"]?.GetValue<string>() is not { Length: > 0 } subject || o["version"] is not JsonValue v)
                    {
                        throw RegistryException.InvalidSchema("A reference needs a name, a subject and a version");
                    }

                    references.Add(new SchemaReference(name, subject, v.GetValue<int>()));
                }
            }
            else if (node["references"] is not null)
            {
                throw RegistryException.InvalidSchema("references must be an array");
            }

            int? id = node["id"] is JsonValue idValue && idValue.GetValueKind() == JsonValueKind.Number ? idValue.GetValue<int>() : null;
            int? version = node["version"] is JsonValue vv && vv.GetValueKind() == JsonValueKind.Number ? vv.GetValue<int>() : null;
            return new SchemaRequest(schema, type, references, id is > 0 ? id : null, version is > 0 ? version : null);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            throw new RegistryException(422, 422, $"Unprocessable request body: {e.Message}");
        }
    }
}
