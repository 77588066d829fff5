using System.Text.Json;
using System.Text.Json.Nodes;

namespace Tributary.SchemaRegistry.Schemas.Avro;

/// <summary>
/// Builds our <see cref="AvroNode"/> view from a schema text that Apache.Avro has already accepted, resolving names
/// per the Avro spec (a simple name is looked up in the enclosing namespace, then in the null namespace).
/// Apache.Avro does not expose aliases of named types nor custom attributes, which resolution and the canonical
/// string need, hence this second walk.
/// </summary>
internal sealed class AvroModelReader
{
    private const int MaxDepth = 128;

    private static readonly HashSet<string> Primitives =
        ["null", "boolean", "int", "long", "float", "double", "bytes", "string"];

    private static readonly HashSet<string> RecordKeys = ["type", "name", "namespace", "doc", "fields", "aliases"];
    private static readonly HashSet<string> EnumKeys = ["type", "name", "namespace", "doc", "symbols", "aliases", "default"];
    private static readonly HashSet<string> FixedKeys = ["type", "name", "namespace", "doc", "size", "aliases"];
    private static readonly HashSet<string> FieldKeys = ["name", "type", "doc", "default", "order", "aliases"];

    private readonly Dictionary<string, AvroNamed> _named;

    /// <param name="known">Named types defined by referenced schemas, visible to this one.</param>
    public AvroModelReader(IReadOnlyDictionary<string, AvroNamed> known)
    {
        _named = new Dictionary<string, AvroNamed>(known, StringComparer.Ordinal);
    }

    /// <summary>Named types defined by the text read (not the referenced ones), in definition order.</summary>
    public List<AvroNamed> Defined { get; } = [];

    public static bool IsPrimitive(string name) => Primitives.Contains(name);

    public static void CheckJsonSyntax(string text)
    {
        try
        {
            using var _ = JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = MaxDepth });
        }
        catch (JsonException e)
        {
            throw new InvalidSchemaException($"Invalid schema: not JSON: {e.Message}");
        }
    }

    public AvroNode Read(string text)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { MaxDepth = MaxDepth });
        }
        catch (JsonException e)
        {
            throw new InvalidSchemaException($"Invalid schema: not JSON: {e.Message}");
        }
        return ReadNode(root, null, 0);
    }

    private AvroNode ReadNode(JsonNode? node, string? ns, int depth)
    {
        if (depth > MaxDepth)
        {
            throw new InvalidSchemaException($"Invalid schema: nested deeper than {MaxDepth} levels");
        }
        switch (node)
        {
            case JsonValue v when v.TryGetValue(out string? name):
                return Primitives.Contains(name) ? new AvroPrimitive(name) : Lookup(name, ns);
            case JsonArray branches:
                return new AvroUnion(branches.Select(b => ReadNode(b, ns, depth + 1)).ToList());
            case JsonObject obj:
                return ReadObject(obj, ns, depth);
            default:
                throw new InvalidSchemaException($"Invalid schema: unexpected JSON {node?.ToJsonString() ?? "null"}");
        }
    }

    private AvroNode ReadObject(JsonObject obj, string? ns, int depth)
    {
        var typeNode = obj["type"];
        if (typeNode is not JsonValue tv || !tv.TryGetValue(out string? type))
        {
            // {"type": {...}} or {"type": [...]}: the nested schema is the type.
            return ReadNode(typeNode, ns, depth + 1);
        }
        switch (type)
        {
            case "record":
            case "error":
                {
                    var record = new AvroRecord(FullName(obj, ns), type == "error");
                    Define(record, obj);
                    var fields = obj["fields"] as JsonArray ?? [];
                    var position = 0;
                    foreach (var f in fields.OfType<JsonObject>())
                    {
                        var field = new AvroField(GetString(f, "name") ?? "", position++)
                        {
                            Doc = GetString(f, "doc"),
                            Order = GetString(f, "order"),
                        };
                        field.Type = ReadNode(f["type"], record.Namespace, depth + 1);
                        if (f.TryGetPropertyValue("default", out var def))
                        {
                            field.HasDefault = true;
                            field.Default = def?.DeepClone();
                            if (!AvroDefaults.IsValid(field.Type, field.Default))
                            {
                                throw new InvalidSchemaException(
                                    $"Invalid default for field {field.Name}: {def?.ToJsonString() ?? "null"} not a {Describe(field.Type)}");
                            }
                        }
                        if (f["aliases"] is JsonArray aliases)
                        {
                            field.Aliases.AddRange(aliases.Select(a => a?.GetValue<string>() ?? ""));
                        }
                        CopyProps(f, FieldKeys, field.Props);
                        record.Fields.Add(field);
                    }
                    CopyProps(obj, RecordKeys, record.Props);
                    return record;
                }
            case "enum":
                {
                    var e = new AvroEnum(FullName(obj, ns));
                    Define(e, obj);
                    if (obj["symbols"] is JsonArray symbols)
                    {
                        e.Symbols.AddRange(symbols.Select(s => s?.GetValue<string>() ?? ""));
                    }
                    // Avro spec: every symbol must match [A-Za-z_][A-Za-z0-9_]* (the reference implementation enforces it).
                    if (e.Symbols.FirstOrDefault(s => !IsAvroName(s)) is { } bad)
                    {
                        throw new InvalidSchemaException($"Invalid schema: enum {e.FullName} has an invalid symbol: \"{bad}\"");
                    }
                    e.Default = GetString(obj, "default");
                    CopyProps(obj, EnumKeys, e.Props);
                    return e;
                }
            case "fixed":
                {
                    var size = obj["size"] is JsonValue sv && sv.TryGetValue(out int s) ? s : 0;
                    var f = new AvroFixed(FullName(obj, ns), size);
                    Define(f, obj);
                    CopyProps(obj, FixedKeys, f.Props);
                    return f;
                }
            case "array":
                {
                    var a = new AvroArray(ReadNode(obj["items"], ns, depth + 1));
                    CopyProps(obj, ["type", "items"], a.Props);
                    return a;
                }
            case "map":
                {
                    var m = new AvroMap(ReadNode(obj["values"], ns, depth + 1));
                    CopyProps(obj, ["type", "values"], m.Props);
                    return m;
                }
            default:
                if (Primitives.Contains(type))
                {
                    var p = new AvroPrimitive(type);
                    CopyProps(obj, ["type"], p.Props);
                    return p;
                }
                return Lookup(type, ns);
        }
    }

    private void Define(AvroNamed named, JsonObject obj)
    {
        named.Doc = GetString(obj, "doc");
        if (obj["aliases"] is JsonArray aliases)
        {
            foreach (var alias in aliases.Select(a => a?.GetValue<string>() ?? ""))
            {
                named.Aliases.Add(alias.Contains('.') || named.Namespace is null ? alias : named.Namespace + "." + alias);
            }
        }
        if (!_named.TryAdd(named.FullName, named))
        {
            throw new InvalidSchemaException($"Invalid schema: the name {named.FullName} is defined twice");
        }
        Defined.Add(named);
    }

    private AvroNamed Lookup(string name, string? ns)
    {
        if (!name.Contains('.') && ns is not null && _named.TryGetValue(ns + "." + name, out var inNamespace))
        {
            return inNamespace;
        }
        if (_named.TryGetValue(name, out var found))
        {
            return found;
        }
        throw new InvalidSchemaException($"Invalid schema: undefined name: {name}");
    }

    private static string FullName(JsonObject obj, string? enclosing)
    {
        var name = GetString(obj, "name") ?? throw new InvalidSchemaException("Invalid schema: a named type has no name");
        if (name.Contains('.'))
        {
            return name;
        }
        var ns = obj.ContainsKey("namespace") ? GetString(obj, "namespace") : enclosing;
        return string.IsNullOrEmpty(ns) ? name : ns + "." + name;
    }

    private static bool IsAvroName(string s) =>
        s.Length > 0 && (char.IsAsciiLetter(s[0]) || s[0] == '_') && s.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');

    private static string? GetString(JsonObject obj, string key) =>
        obj[key] is JsonValue v && v.TryGetValue(out string? s) ? s : null;

    private static void CopyProps(JsonObject obj, HashSet<string> reserved, List<KeyValuePair<string, JsonNode?>> into)
    {
        foreach (var (key, value) in obj)
        {
            if (!reserved.Contains(key))
            {
                into.Add(new(key, value?.DeepClone()));
            }
        }
    }

    internal static string Describe(AvroNode node) => node switch
    {
        AvroNamed n => $"{n.Kind} {n.FullName}",
        AvroUnion u => "union [" + string.Join(", ", u.Branches.Select(Describe)) + "]",
        _ => node.Kind,
    };
}
