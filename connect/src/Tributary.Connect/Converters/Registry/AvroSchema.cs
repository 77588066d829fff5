using System.Text.Json;
using System.Text.Json.Nodes;
using Tributary.Connect.Api.Data;

namespace Tributary.Connect.Converters.Registry;

/// <summary>Avro's types (the spec's names, lower-cased, are what schemas spell).</summary>
internal enum AvroType
{
    Null,
    Boolean,
    Int,
    Long,
    Float,
    Double,
    Bytes,
    String,
    Record,
    Enum,
    Fixed,
    Array,
    Map,
    Union,
}

/// <summary>One field of an Avro record.</summary>
internal sealed class AvroField(string name, AvroSchema schema)
{
    public string Name { get; } = name;
    public AvroSchema Schema { get; set; } = schema;
    public string? Doc { get; init; }
    public bool HasDefault { get; init; }
    public JsonNode? Default { get; init; }
}

/// <summary>
/// An Avro schema as the converters need it: the type tree (named types shared by reference, so a recursive schema is a cycle)
/// and each node's extra attributes (<c>logicalType</c>, <c>connect.*</c>), kept in order.
/// </summary>
internal sealed class AvroSchema
{
    public AvroSchema(AvroType type) => Type = type;

    public AvroType Type { get; }

    /// <summary>Full name of a record, enum or fixed.</summary>
    public string? FullName { get; init; }

    public string? Doc { get; set; }
    public List<AvroField> Fields { get; } = [];
    public List<string> Symbols { get; } = [];
    public int Size { get; init; }
    public AvroSchema? Items { get; init; }
    public AvroSchema? Values { get; init; }
    public List<AvroSchema> Branches { get; } = [];

    /// <summary>Attributes beyond the spec's reserved ones (<c>logicalType</c>, <c>precision</c>, <c>connect.name</c> …).</summary>
    public JsonObject Props { get; } = [];

    public string? LogicalType => Props["logicalType"] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    public string? StringProp(string name) => Props[name] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    public int? IntProp(string name) => Props[name] is JsonValue v && v.TryGetValue<int>(out var i) ? i : null;

    public bool IsNamed => Type is AvroType.Record or AvroType.Enum or AvroType.Fixed;

    /// <summary>The name a union branch goes by: a named type's full name, otherwise the type name.</summary>
    public string BranchName => IsNamed ? FullName! : TypeName(Type);

    public static string TypeName(AvroType t) => t.ToString().ToLowerInvariant();

    public static AvroSchema Primitive(AvroType t) => new(t);

    /// <summary>Parses Avro schema text (the registry's <c>schema</c> string), bounding nesting.</summary>
    public static AvroSchema Parse(string text)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { MaxDepth = Api.Data.Schema.MaxNestingDepth * 4 });
        }
        catch (JsonException e)
        {
            throw new DataException("Invalid Avro schema: " + e.Message, e);
        }

        return new AvroSchemaParser().Parse(root, null, 0);
    }

    /// <summary>The schema's JSON text; each named type is defined at its first use and referred to by full name afterwards.</summary>
    public string ToJson() => ToJsonNode(this, null, new HashSet<string>(StringComparer.Ordinal))!.ToJsonString();

    private static JsonNode ToJsonNode(AvroSchema s, string? enclosingNamespace, HashSet<string> defined)
    {
        if (s.IsNamed && !defined.Add(s.FullName!))
        {
            return JsonValue.Create(RelativeName(s.FullName!, enclosingNamespace))!;
        }

        if (s.Type == AvroType.Union)
        {
            return new JsonArray(s.Branches.Select(b => ToJsonNode(b, enclosingNamespace, defined)).ToArray());
        }

        if (!s.IsNamed && s.Type is not (AvroType.Array or AvroType.Map) && s.Props.Count == 0)
        {
            return JsonValue.Create(TypeName(s.Type))!;
        }

        var o = new JsonObject { ["type"] = TypeName(s.Type) };
        var ns = enclosingNamespace;
        if (s.IsNamed)
        {
            var dot = s.FullName!.LastIndexOf('.');
            o["name"] = dot < 0 ? s.FullName : s.FullName[(dot + 1)..];
            ns = dot < 0 ? null : s.FullName[..dot];
            if (ns != enclosingNamespace)
            {
                o["namespace"] = ns ?? "";
            }

            if (s.Doc is not null)
            {
                o["doc"] = s.Doc;
            }
        }

        switch (s.Type)
        {
            case AvroType.Record:
                var fields = new JsonArray();
                foreach (var f in s.Fields)
                {
                    var fo = new JsonObject { ["name"] = f.Name, ["type"] = ToJsonNode(f.Schema, ns, defined) };
                    if (f.Doc is not null)
                    {
                        fo["doc"] = f.Doc;
                    }

                    if (f.HasDefault)
                    {
                        fo["default"] = f.Default?.DeepClone();
                    }

                    fields.Add(fo);
                }

                o["fields"] = fields;
                break;
            case AvroType.Enum:
                o["symbols"] = new JsonArray(s.Symbols.Select(x => (JsonNode)JsonValue.Create(x)!).ToArray());
                break;
            case AvroType.Fixed:
                o["size"] = s.Size;
                break;
            case AvroType.Array:
                o["items"] = ToJsonNode(s.Items!, ns, defined);
                break;
            case AvroType.Map:
                o["values"] = ToJsonNode(s.Values!, ns, defined);
                break;
        }

        foreach (var (k, v) in s.Props)
        {
            o[k] = v?.DeepClone();
        }

        return o;
    }

    private static string RelativeName(string fullName, string? ns)
    {
        var dot = fullName.LastIndexOf('.');
        return dot >= 0 && ns is not null && fullName[..dot] == ns ? fullName[(dot + 1)..] : fullName;
    }

    /// <summary>Avro's name rule: [A-Za-z_][A-Za-z0-9_]*.</summary>
    public static bool IsValidName(string name)
    {
        if (name.Length == 0 || !(char.IsAsciiLetter(name[0]) || name[0] == '_'))
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c == '_'))
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary>Avro schema JSON → <see cref="AvroSchema"/>, resolving named-type references and namespaces as the spec says.</summary>
internal sealed class AvroSchemaParser
{
    private static readonly HashSet<string> Reserved = new(StringComparer.Ordinal)
    {
        "type", "name", "namespace", "doc", "aliases", "fields", "symbols", "size", "items", "values", "default", "order",
    };

    private readonly Dictionary<string, AvroSchema> named = new(StringComparer.Ordinal);

    public AvroSchema Parse(JsonNode? node, string? ns, int depth)
    {
        if (depth > Schema.MaxNestingDepth)
        {
            throw new DataException("Avro schema nested deeper than " + Schema.MaxNestingDepth);
        }

        switch (node)
        {
            case JsonValue v when v.TryGetValue<string>(out var name):
                return PrimitiveOrReference(name, ns);
            case JsonArray branches:
                var union = new AvroSchema(AvroType.Union);
                foreach (var b in branches)
                {
                    var branch = Parse(b, ns, depth + 1);
                    if (branch.Type == AvroType.Union)
                    {
                        throw new DataException("Invalid Avro schema: a union may not immediately contain another union");
                    }

                    union.Branches.Add(branch);
                }

                return union;
            case JsonObject o:
                return ParseObject(o, ns, depth);
            default:
                throw new DataException("Invalid Avro schema: " + (node?.ToJsonString() ?? "null"));
        }
    }

    private AvroSchema PrimitiveOrReference(string name, string? ns)
    {
        if (TryPrimitive(name) is { } t)
        {
            return new AvroSchema(t);
        }

        var full = name.Contains('.') || ns is null or "" ? name : ns + "." + name;
        if (named.TryGetValue(full, out var s) || named.TryGetValue(name, out s))
        {
            return s;
        }

        throw new DataException($"Invalid Avro schema: undefined name: {name}");
    }

    private static AvroType? TryPrimitive(string name) => name switch
    {
        "null" => AvroType.Null,
        "boolean" => AvroType.Boolean,
        "int" => AvroType.Int,
        "long" => AvroType.Long,
        "float" => AvroType.Float,
        "double" => AvroType.Double,
        "bytes" => AvroType.Bytes,
        "string" => AvroType.String,
        _ => null,
    };

    private AvroSchema ParseObject(JsonObject o, string? ns, int depth)
    {
        var typeNode = o["type"];
        if (typeNode is not JsonValue tv || !tv.TryGetValue<string>(out var type))
        {
            // {"type": {...}} or {"type": [...]}: the attribute holds a whole schema.
            return typeNode is null ? throw new DataException("Invalid Avro schema: no type in " + o.ToJsonString()) : Parse(typeNode, ns, depth + 1);
        }

        AvroSchema result;
        switch (type)
        {
            case "record" or "error" or "enum" or "fixed":
                var name = Str(o, "name") ?? throw new DataException("Invalid Avro schema: a " + type + " needs a name");
                var space = name.Contains('.') ? null : Str(o, "namespace") ?? ns;
                var full = name.Contains('.') || string.IsNullOrEmpty(space) ? name : space + "." + name;
                foreach (var part in full.Split('.'))
                {
                    if (!AvroSchema.IsValidName(part))
                    {
                        throw new DataException($"Invalid Avro schema: illegal name {full}");
                    }
                }

                if (named.ContainsKey(full))
                {
                    throw new DataException($"Invalid Avro schema: can't redefine {full}");
                }

                var innerNs = full.Contains('.') ? full[..full.LastIndexOf('.')] : null;
                if (type == "fixed")
                {
                    var size = o["size"] is JsonValue sv && sv.TryGetValue<int>(out var n) && n >= 0 ? n : throw new DataException("Invalid Avro schema: fixed " + full + " needs a size");
                    result = new AvroSchema(AvroType.Fixed) { FullName = full, Size = size, Doc = Str(o, "doc") };
                    named[full] = result;
                }
                else if (type == "enum")
                {
                    result = new AvroSchema(AvroType.Enum) { FullName = full, Doc = Str(o, "doc") };
                    if (o["symbols"] is not JsonArray symbols)
                    {
                        throw new DataException("Invalid Avro schema: enum " + full + " needs symbols");
                    }

                    foreach (var sym in symbols)
                    {
                        result.Symbols.Add(sym is JsonValue v && v.TryGetValue<string>(out var ss) ? ss : throw new DataException("Invalid Avro schema: enum symbol " + sym?.ToJsonString()));
                    }

                    named[full] = result;
                }
                else
                {
                    result = new AvroSchema(AvroType.Record) { FullName = full, Doc = Str(o, "doc") };
                    named[full] = result; // before the fields: a field may refer to its own record
                    if (o["fields"] is not JsonArray fields)
                    {
                        throw new DataException("Invalid Avro schema: record " + full + " needs fields");
                    }

                    foreach (var f in fields)
                    {
                        if (f is not JsonObject fo || Str(fo, "name") is not { } fname)
                        {
                            throw new DataException("Invalid Avro schema: bad field in " + full);
                        }

                        if (!AvroSchema.IsValidName(fname))
                        {
                            throw new DataException($"Invalid Avro schema: illegal field name {fname} in {full}");
                        }

                        var fieldSchema = Parse(fo["type"], innerNs, depth + 1);
                        result.Fields.Add(new AvroField(fname, fieldSchema) { Doc = Str(fo, "doc"), HasDefault = fo.ContainsKey("default"), Default = fo["default"]?.DeepClone() });
                    }
                }

                break;
            case "array":
                result = new AvroSchema(AvroType.Array) { Items = Parse(o["items"] ?? throw new DataException("Invalid Avro schema: array needs items"), ns, depth + 1) };
                break;
            case "map":
                result = new AvroSchema(AvroType.Map) { Values = Parse(o["values"] ?? throw new DataException("Invalid Avro schema: map needs values"), ns, depth + 1) };
                break;
            default:
                var primitive = TryPrimitive(type);
                if (primitive is null)
                {
                    // {"type": "SomeRecord"}: a reference to a named type.
                    return PrimitiveOrReference(type, ns);
                }

                result = new AvroSchema(primitive.Value);
                break;
        }

        foreach (var (k, v) in o)
        {
            if (!Reserved.Contains(k))
            {
                result.Props[k] = v?.DeepClone();
            }
        }

        return result;
    }

    private static string? Str(JsonObject o, string key) => o[key] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
}
