using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Tributary.SchemaRegistry.Schemas.Json;

/// <summary>One JSON Schema document and the documents it references by name, with <c>$ref</c> resolution.</summary>
internal sealed class JsonSchemaDocument
{
    internal const int MaxDepth = 128;

    private static readonly JsonSerializerOptions Compact = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        WriteIndented = false,
    };

    public JsonSchemaDocument(JsonNode root, string? referenceName, IReadOnlyList<JsonSchemaDocument> dependencies)
    {
        Root = root;
        ReferenceName = referenceName;
        Dependencies = dependencies;
        Id = root is JsonObject obj ? (Str(obj, "$id") ?? Str(obj, "id")) : null;
    }

    public JsonNode Root { get; }

    /// <summary>The name a referencing schema uses for this document (its <see cref="SchemaReference.Name"/>).</summary>
    public string? ReferenceName { get; }

    public string? Id { get; }

    public IReadOnlyList<JsonSchemaDocument> Dependencies { get; }

    public static string ToCompactString(JsonNode node) => node.ToJsonString(Compact);

    /// <summary>Resolves a <c>$ref</c> found in this document; null when nothing matches.</summary>
    public (JsonNode Node, JsonSchemaDocument Document)? Resolve(string reference)
    {
        var hash = reference.IndexOf('#', StringComparison.Ordinal);
        var location = hash < 0 ? reference : reference[..hash];
        var fragment = hash < 0 ? "" : Uri.UnescapeDataString(reference[(hash + 1)..]);
        var document = location.Length == 0 || Matches(this, location) ? this : FindDependency(location);
        if (document is null)
        {
            return IsMetaSchema(location) ? (JsonValue.Create(true), this) : null;
        }
        var target = fragment.StartsWith('/') ? Pointer(document.Root, fragment)
            : fragment.Length == 0 ? document.Root
            : FindAnchor(document.Root, fragment, 0);
        return target is null ? null : (target, document);
    }

    private bool Matches(JsonSchemaDocument doc, string location) =>
        location == doc.ReferenceName || (doc.Id is not null && (location == doc.Id || Absolute(location) == doc.Id));

    private JsonSchemaDocument? FindDependency(string location) =>
        FindDependency(location, new HashSet<JsonSchemaDocument>(ReferenceEqualityComparer.Instance));

    /// <summary>Direct references first, then theirs; each document visited once (references form a DAG).</summary>
    private JsonSchemaDocument? FindDependency(string location, HashSet<JsonSchemaDocument> visited)
    {
        foreach (var dependency in Dependencies)
        {
            if (Matches(dependency, location))
            {
                return dependency;
            }
        }
        foreach (var dependency in Dependencies)
        {
            if (visited.Add(dependency) && dependency.FindDependency(location, visited) is { } inner)
            {
                return inner;
            }
        }
        return null;
    }

    private string? Absolute(string location)
    {
        if (Id is null || !Uri.TryCreate(Id, UriKind.Absolute, out var baseUri))
        {
            return null;
        }
        return Uri.TryCreate(baseUri, location, out var absolute) ? absolute.ToString() : null;
    }

    private static bool IsMetaSchema(string location) =>
        location.Contains("json-schema.org/", StringComparison.OrdinalIgnoreCase);

    private static JsonNode? Pointer(JsonNode root, string pointer)
    {
        JsonNode? current = root;
        foreach (var raw in pointer.Split('/').Skip(1))
        {
            var token = raw.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal);
            current = current switch
            {
                JsonObject obj => obj.TryGetPropertyValue(token, out var child) ? child : null,
                JsonArray array when int.TryParse(token, out var index) && index >= 0 && index < array.Count => array[index],
                _ => null,
            };
            if (current is null)
            {
                return null;
            }
        }
        return current;
    }

    private static JsonNode? FindAnchor(JsonNode? node, string anchor, int depth)
    {
        if (depth > MaxDepth)
        {
            return null;
        }
        switch (node)
        {
            case JsonObject obj:
                if (Str(obj, "$anchor") == anchor || Str(obj, "$id") == "#" + anchor || Str(obj, "id") == "#" + anchor)
                {
                    return obj;
                }
                foreach (var (_, child) in obj)
                {
                    if (FindAnchor(child, anchor, depth + 1) is { } found)
                    {
                        return found;
                    }
                }
                return null;
            case JsonArray array:
                foreach (var child in array)
                {
                    if (FindAnchor(child, anchor, depth + 1) is { } found)
                    {
                        return found;
                    }
                }
                return null;
            default:
                return null;
        }
    }

    internal static string? Str(JsonObject obj, string key) =>
        obj[key] is JsonValue v && v.TryGetValue(out string? s) ? s : null;
}
