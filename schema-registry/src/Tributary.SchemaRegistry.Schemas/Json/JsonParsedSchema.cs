using System.Text.Json;
using System.Text.Json.Nodes;
using JsonSchemaNet = Json.Schema;

namespace Tributary.SchemaRegistry.Schemas.Json;

/// <summary>
/// A JSON Schema document (drafts 4, 6, 7, 2019-09, 2020-12 by <c>$schema</c>; draft 7 when absent, as Confluent
/// assumes), checked against its draft's meta-schema with JsonSchema.Net, every <c>$ref</c> resolved locally or to a
/// referenced subject. The canonical string is the compact JSON text (Confluent stores the parsed tree re-serialized);
/// normalizing sorts object keys.
/// </summary>
internal sealed class JsonParsedSchema : IParsedSchema, ICompatibilityRules
{
    private JsonParsedSchema(JsonSchemaDocument document, string canonical, IReadOnlyList<SchemaReference> references)
    {
        Document = document;
        CanonicalString = canonical;
        References = references;
    }

    public SchemaType Type => SchemaType.Json;

    public string CanonicalString { get; }

    public IReadOnlyList<SchemaReference> References { get; }

    internal JsonSchemaDocument Document { get; }

    public static JsonParsedSchema Parse(string text, IReadOnlyList<SchemaReference> references,
        IReadOnlyList<(SchemaReference Reference, IParsedSchema Schema)> resolved)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { MaxDepth = JsonSchemaDocument.MaxDepth });
        }
        catch (JsonException e)
        {
            throw new InvalidSchemaException($"Invalid schema: not JSON: {e.Message}");
        }
        if (root is not JsonObject && !(root is JsonValue v && v.GetValueKind() is JsonValueKind.True or JsonValueKind.False))
        {
            throw new InvalidSchemaException("Invalid schema: a JSON Schema is an object or a boolean");
        }
        var dependencies = new List<JsonSchemaDocument>();
        foreach (var (reference, schema) in resolved)
        {
            var json = schema as JsonParsedSchema
                ?? throw new InvalidSchemaException($"Invalid schema: a JSON schema can only reference JSON schemas, not {schema.Type}");
            dependencies.Add(new JsonSchemaDocument(json.Document.Root, reference.Name, json.Document.Dependencies));
        }
        ValidateAgainstMetaSchema(root);
        var document = new JsonSchemaDocument(root, null, dependencies);
        CheckReferencesResolve(document, root, "#", 0);
        return new JsonParsedSchema(document, JsonSchemaDocument.ToCompactString(root), references);
    }

    public IParsedSchema Normalize() =>
        new JsonParsedSchema(Document, JsonSchemaDocument.ToCompactString(SortKeys(Document.Root, 0)!), References);

    public bool IsEquivalentTo(IParsedSchema other) =>
        other is JsonParsedSchema json && json.CanonicalString == CanonicalString && json.References.SequenceEqual(References);

    public IReadOnlyList<string> ReadIncompatibilities(IParsedSchema writer, string readerLabel, string writerLabel) =>
        writer is JsonParsedSchema original
            ? JsonSchemaCompatibility.Check(original.Document, Document, readerLabel, writerLabel)
            : [CompatibilityChecker.DifferentTypeMessage];

    public override string ToString() => CanonicalString;

    private static void ValidateAgainstMetaSchema(JsonNode root)
    {
        var (draft, forValidation) = Draft(root);
        var meta = draft switch
        {
            6 => JsonSchemaNet.MetaSchemas.Draft6,
            7 => JsonSchemaNet.MetaSchemas.Draft7,
            2019 => JsonSchemaNet.MetaSchemas.Draft201909,
            _ => JsonSchemaNet.MetaSchemas.Draft202012,
        };
        using var instance = JsonDocument.Parse(forValidation.ToJsonString());
        var results = meta.Evaluate(instance.RootElement, new JsonSchemaNet.EvaluationOptions { OutputFormat = JsonSchemaNet.OutputFormat.List });
        if (results.IsValid)
        {
            return;
        }
        // The meta-schema's own errors name every failed branch; JsonSchema.Net's schema builder usually says it better.
        try
        {
            // A registry per parse: the default one is global and refuses a second schema with the same $id.
            JsonSchemaNet.JsonSchema.FromText(forValidation.ToJsonString(),
                new JsonSchemaNet.BuildOptions { SchemaRegistry = new JsonSchemaNet.SchemaRegistry() });
        }
        catch (Exception e) when (e is JsonSchemaNet.JsonSchemaException or JsonException or ArgumentException or FormatException
                                      or InvalidOperationException or KeyNotFoundException)
        {
            throw new InvalidSchemaException($"Invalid schema: {e.Message}");
        }
        var first = results.Details?
            .Where(d => !d.IsValid && d.Errors is { Count: > 0 })
            .Select(d => $"at '{d.InstanceLocation}': {string.Join("; ", d.Errors!.Values)}")
            .FirstOrDefault() ?? "does not match its meta-schema";
        throw new InvalidSchemaException($"Invalid schema: {first}");
    }

    /// <summary>The draft a document declares, and the copy to validate (draft 4 is checked as draft 6, see below).</summary>
    private static (int Draft, JsonNode ForValidation) Draft(JsonNode root)
    {
        if (root is not JsonObject obj || JsonSchemaDocument.Str(obj, "$schema") is not { } uri)
        {
            return (7, root);
        }
        int draft =
            uri.Contains("draft-04", StringComparison.Ordinal) ? 4
            : uri.Contains("draft-06", StringComparison.Ordinal) ? 6
            : uri.Contains("draft-07", StringComparison.Ordinal) ? 7
            : uri.Contains("draft/2019-09", StringComparison.Ordinal) ? 2019
            : uri.Contains("draft/2020-12", StringComparison.Ordinal) ? 2020
            : uri.TrimEnd('#') is "http://json-schema.org/schema" or "https://json-schema.org/schema" ? 7
            : throw new InvalidSchemaException($"Invalid schema: unsupported $schema '{uri}' (drafts 4, 6, 7, 2019-09 and 2020-12 are)");
        if (draft != 4)
        {
            return (draft, root);
        }
        // JsonSchema.Net knows drafts 6+. Draft 4 differs from 6 in boolean exclusiveMinimum/Maximum and "id": rewrite
        // those and validate the copy as draft 6 (the stored text is untouched).
        var copy = root.DeepClone();
        DraftFourToSix(copy, 0);
        ((JsonObject)copy)["$schema"] = "http://json-schema.org/draft-06/schema#";
        return (6, copy);
    }

    private static void DraftFourToSix(JsonNode? node, int depth)
    {
        if (depth > JsonSchemaDocument.MaxDepth)
        {
            return;
        }
        if (node is JsonObject obj)
        {
            foreach (var (bound, limit) in new[] { ("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum") })
            {
                if (obj[bound] is JsonValue b && b.GetValueKind() is JsonValueKind.True or JsonValueKind.False)
                {
                    var exclusive = b.GetValue<bool>();
                    obj.Remove(bound);
                    if (exclusive && obj[limit] is { } value)
                    {
                        obj[bound] = value.DeepClone();
                        obj.Remove(limit);
                    }
                }
            }
            if (obj["id"] is JsonValue id && id.GetValueKind() == JsonValueKind.String && !obj.ContainsKey("$id"))
            {
                obj.Remove("id");
                obj["$id"] = id.GetValue<string>();
            }
            foreach (var (_, child) in obj.ToList())
            {
                DraftFourToSix(child, depth + 1);
            }
        }
        else if (node is JsonArray array)
        {
            foreach (var child in array)
            {
                DraftFourToSix(child, depth + 1);
            }
        }
    }

    private static void CheckReferencesResolve(JsonSchemaDocument document, JsonNode? node, string path, int depth)
    {
        if (depth > JsonSchemaDocument.MaxDepth)
        {
            throw new InvalidSchemaException($"Invalid schema: nested deeper than {JsonSchemaDocument.MaxDepth} levels");
        }
        switch (node)
        {
            case JsonObject obj:
                if (JsonSchemaDocument.Str(obj, "$ref") is { } reference && document.Resolve(reference) is null)
                {
                    throw new InvalidSchemaException($"Invalid schema: $ref '{reference}' at '{path}' resolves neither in the schema nor to a reference");
                }
                foreach (var (key, child) in obj)
                {
                    // Values of these keywords are data, not schemas.
                    if (key is not ("enum" or "const" or "default" or "examples"))
                    {
                        CheckReferencesResolve(document, child, path + "/" + key, depth + 1);
                    }
                }
                break;
            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    CheckReferencesResolve(document, array[i], path + "/" + i, depth + 1);
                }
                break;
        }
    }

    private static JsonNode? SortKeys(JsonNode? node, int depth) => node switch
    {
        JsonObject obj when depth < JsonSchemaDocument.MaxDepth =>
            new JsonObject(obj.OrderBy(kv => kv.Key, StringComparer.Ordinal)
                .Select(kv => KeyValuePair.Create(kv.Key, SortKeys(kv.Value, depth + 1)))),
        JsonArray array when depth < JsonSchemaDocument.MaxDepth => new JsonArray(array.Select(n => SortKeys(n, depth + 1)).ToArray()),
        _ => node?.DeepClone(),
    };
}
