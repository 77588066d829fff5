using System.Collections;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Tributary.Connect.Api.Data;

namespace Tributary.Connect.Converters.Registry;

/// <summary>
/// Connect schemas and values ↔ JSON Schema and plain JSON, as Confluent's JsonSchemaData maps them: structs are objects
/// (name in <c>title</c>, field order in <c>connect.index</c>), optional schemas are <c>oneOf</c> with null, integer and
/// number widths in <c>connect.type</c>, bytes are base64 strings, maps are objects (string keys) or arrays of
/// <c>{key, value}</c>. Reading also takes schemas written elsewhere (NJsonSchema's <c>format</c>, <c>type</c> arrays with
/// null, local <c>$ref</c>s into <c>definitions</c>/<c>$defs</c>).
/// </summary>
internal static class JsonSchemaData
{
    private const string ConnectType = "connect.type";
    private const string ConnectIndex = "connect.index";
    private const string ConnectVersion = "connect.version";
    private const string ConnectParameters = "connect.parameters";

    // ---------------- Connect → JSON Schema ----------------

    public static JsonObject FromConnectSchema(Schema schema, int depth = 0)
    {
        if (depth > Schema.MaxNestingDepth)
        {
            throw new DataException("Schema nested deeper than " + Schema.MaxNestingDepth);
        }

        var o = Required(schema, depth);
        return schema.IsOptional ? new JsonObject { ["oneOf"] = new JsonArray(new JsonObject { ["type"] = "null" }, o) } : o;
    }

    private static JsonObject Required(Schema schema, int depth)
    {
        JsonObject o;
        switch (schema.Type)
        {
            case SchemaType.Int8:
            case SchemaType.Int16:
            case SchemaType.Int32:
            case SchemaType.Int64:
                o = new JsonObject { ["type"] = "integer", [ConnectType] = schema.Type.ToString().ToLowerInvariant() };
                break;
            case SchemaType.Float32:
            case SchemaType.Float64:
                o = schema.Name == Logical.Decimal.LogicalName ? new JsonObject { ["type"] = "number" }
                    : new JsonObject { ["type"] = "number", [ConnectType] = schema.Type.ToString().ToLowerInvariant() };
                break;
            case SchemaType.Boolean:
                o = new JsonObject { ["type"] = "boolean" };
                break;
            case SchemaType.String:
                o = new JsonObject { ["type"] = "string" };
                break;
            case SchemaType.Bytes:
                o = schema.Name == Logical.Decimal.LogicalName ? new JsonObject { ["type"] = "number" } : new JsonObject { ["type"] = "string", [ConnectType] = "bytes" };
                break;
            case SchemaType.Array:
                o = new JsonObject { ["type"] = "array", ["items"] = FromConnectSchema(schema.ValueSchema!, depth + 1) };
                break;
            case SchemaType.Map:
                if (schema.KeySchema!.Type == SchemaType.String && !schema.KeySchema.IsOptional)
                {
                    o = new JsonObject { ["type"] = "object", ["additionalProperties"] = FromConnectSchema(schema.ValueSchema!, depth + 1), [ConnectType] = "map" };
                }
                else
                {
                    var entry = new JsonObject
                    {
                        ["type"] = "object",
                        ["properties"] = new JsonObject
                        {
                            ["key"] = WithIndex(FromConnectSchema(schema.KeySchema, depth + 1), 0),
                            ["value"] = WithIndex(FromConnectSchema(schema.ValueSchema!, depth + 1), 1),
                        },
                    };
                    o = new JsonObject { ["type"] = "array", ["items"] = entry, [ConnectType] = "map" };
                }

                break;
            case SchemaType.Struct:
                var properties = new JsonObject();
                foreach (var f in schema.Fields)
                {
                    var fs = WithIndex(FromConnectSchema(f.Schema, depth + 1), f.Index);
                    if (f.Schema.DefaultValue is { } d)
                    {
                        fs["default"] = ValueToJson(f.Schema, d, depth + 1);
                    }

                    properties[f.Name] = fs;
                }

                o = new JsonObject { ["type"] = "object", ["properties"] = properties };
                break;
            default:
                throw new DataException("Unknown Connect schema type " + schema.Type);
        }

        if (schema.Name is not null)
        {
            o["title"] = schema.Name;
        }

        if (schema.Version is { } v)
        {
            o[ConnectVersion] = v;
        }

        if (schema.Doc is not null)
        {
            o["description"] = schema.Doc;
        }

        if (schema.Parameters.Count > 0)
        {
            var p = new JsonObject();
            foreach (var (k, val) in schema.Parameters)
            {
                p[k] = val;
            }

            o[ConnectParameters] = p;
        }

        return o;
    }

    private static JsonObject WithIndex(JsonObject o, int index)
    {
        o[ConnectIndex] = index;
        return o;
    }

    // ---------------- JSON Schema → Connect ----------------

    public static Schema ToConnectSchema(JsonObject root) => ToConnect(root, root, false, 0);

    private static Schema ToConnect(JsonObject root, JsonObject s, bool optional, int depth)
    {
        if (depth > Schema.MaxNestingDepth)
        {
            throw new DataException("JSON Schema nested deeper than " + Schema.MaxNestingDepth + " (recursive schemas have no Connect form)");
        }

        if (s["$ref"] is JsonValue refValue && refValue.TryGetValue<string>(out var reference))
        {
            var target = Resolve(root, reference);
            return ToConnect(root, target, optional, depth + 1);
        }

        foreach (var combiner in new[] { "oneOf", "anyOf" })
        {
            if (s[combiner] is JsonArray alternatives)
            {
                var nonNull = alternatives.OfType<JsonObject>().Where(a => !IsNullType(a)).ToList();
                var hasNull = nonNull.Count < alternatives.Count;
                if (nonNull.Count != 1)
                {
                    throw new DataException($"JSON Schema {combiner} with {nonNull.Count} non-null alternatives has no Connect form");
                }

                var inner = ToConnect(root, nonNull[0], hasNull || optional, depth + 1);
                return inner;
            }
        }

        var type = s["type"];
        string typeName;
        if (type is JsonArray types)
        {
            var names = types.Select(t => t?.GetValue<string>()).ToList();
            optional |= names.Remove("null");
            typeName = names.Count == 1 ? names[0]! : throw new DataException("JSON Schema type list " + type.ToJsonString() + " has no Connect form");
        }
        else if (type is JsonValue tv && tv.TryGetValue<string>(out var single))
        {
            typeName = single;
        }
        else if (s["properties"] is JsonObject)
        {
            typeName = "object";
        }
        else
        {
            throw new DataException("JSON Schema without a type has no Connect form: " + Shorten(s.ToJsonString()));
        }

        var connectType = Str(s, ConnectType);
        var title = Str(s, "title");
        SchemaBuilder b;
        switch (typeName)
        {
            case "integer":
                b = (connectType ?? Str(s, "format")) switch
                {
                    "int8" => SchemaBuilder.Int8(),
                    "int16" => SchemaBuilder.Int16(),
                    "int32" => SchemaBuilder.Int32(),
                    _ => SchemaBuilder.Int64(),
                };
                break;
            case "number":
                b = title == Logical.Decimal.LogicalName ? SchemaBuilder.Bytes()
                    : (connectType ?? Str(s, "format")) is "float32" or "float" ? SchemaBuilder.Float32() : SchemaBuilder.Float64();
                break;
            case "boolean":
                b = SchemaBuilder.Bool();
                break;
            case "string":
                b = connectType == "bytes" ? SchemaBuilder.Bytes() : SchemaBuilder.String();
                break;
            case "array":
                if (s["items"] is not JsonObject items)
                {
                    throw new DataException("JSON Schema array without an items schema has no Connect form");
                }

                if (connectType == "map")
                {
                    var entry = items["$ref"] is not null ? Resolve(root, Str(items, "$ref")!) : items;
                    if (entry["properties"] is not JsonObject ep || ep["key"] is not JsonObject k || ep["value"] is not JsonObject v)
                    {
                        throw new DataException("JSON Schema map entries need key and value properties");
                    }

                    b = SchemaBuilder.Map(ToConnect(root, k, false, depth + 1), ToConnect(root, v, false, depth + 1));
                }
                else
                {
                    b = SchemaBuilder.Array(ToConnect(root, items, false, depth + 1));
                }

                break;
            case "object":
                if (connectType == "map" || (s["properties"] is null && s["additionalProperties"] is JsonObject))
                {
                    b = SchemaBuilder.Map(Schema.String, ToConnect(root, s["additionalProperties"] as JsonObject ?? throw new DataException("JSON Schema map without additionalProperties"), false, depth + 1));
                }
                else
                {
                    b = SchemaBuilder.Struct();
                    var props = (s["properties"] as JsonObject)?.ToList() ?? [];
                    var ordered = props.Select((p, i) => (p.Key, Schema: p.Value as JsonObject ?? throw new DataException("Bad property schema " + p.Key), Order: IntOf(p.Value, ConnectIndex) ?? 1_000_000 + i))
                        .OrderBy(p => p.Order).ToList();
                    foreach (var (name, ps, _) in ordered)
                    {
                        b.Field(name, ToConnect(root, ps, false, depth + 1));
                    }
                }

                break;
            default:
                throw new DataException($"JSON Schema type {typeName} has no Connect form");
        }

        if (title is not null)
        {
            b.Name(title);
        }

        if (IntOf(s, ConnectVersion) is { } version)
        {
            b.Version(version);
        }

        if (Str(s, "description") is { } doc)
        {
            b.Doc(doc);
        }

        if (s[ConnectParameters] is JsonObject parameters)
        {
            foreach (var (k, v) in parameters)
            {
                if (v is JsonValue pv && pv.TryGetValue<string>(out var ps))
                {
                    b.Parameter(k, ps);
                }
            }
        }

        if (optional)
        {
            b.Optional();
        }

        if (s["default"] is { } dflt && dflt.GetValueKind() != JsonValueKind.Null)
        {
            b.DefaultValue(ValueFromJson(b.Build(), dflt, depth + 1));
        }

        return b.Build();
    }

    private static JsonObject Resolve(JsonObject root, string reference)
    {
        if (reference == "#")
        {
            return root;
        }

        if (!reference.StartsWith("#/", StringComparison.Ordinal))
        {
            throw new DataException($"JSON Schema reference {reference} is not local (schema references are not supported by the converter)");
        }

        JsonNode? node = root;
        foreach (var part in reference[2..].Split('/'))
        {
            node = node is JsonObject o ? o[part.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal)] : null;
        }

        return node as JsonObject ?? throw new DataException($"JSON Schema reference {reference} does not resolve");
    }

    private static bool IsNullType(JsonObject o) => o.Count == 1 && Str(o, "type") == "null";

    private static string? Str(JsonObject o, string key) => o[key] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    private static int? IntOf(JsonNode? o, string key) => o is JsonObject obj && obj[key] is JsonValue v && v.TryGetValue<int>(out var i) ? i : null;

    private static string Shorten(string s) => s.Length > 200 ? s[..200] + "…" : s;

    // ---------------- values ----------------

    public static JsonNode? ValueToJson(Schema schema, object? value, int depth = 0)
    {
        if (depth > Schema.MaxNestingDepth)
        {
            throw new DataException("Value nested deeper than " + Schema.MaxNestingDepth);
        }

        if (value is null)
        {
            if (schema.DefaultValue is { } d)
            {
                return ValueToJson(schema, d, depth);
            }

            return schema.IsOptional ? null : throw new DataException("Conversion error: null value for field that is required and has no default value");
        }

        try
        {
            switch (schema.Type)
            {
                case SchemaType.Int8:
                case SchemaType.Int16:
                case SchemaType.Int32:
                    return value switch
                    {
                        DateTime date when schema.Name == Logical.Date.LogicalName => JsonValue.Create((int)(date.Date - DateTime.UnixEpoch).TotalDays),
                        DateTime time => JsonValue.Create((int)time.TimeOfDay.TotalMilliseconds),
                        _ => JsonValue.Create(Convert.ToInt32(value, CultureInfo.InvariantCulture)),
                    };
                case SchemaType.Int64:
                    return JsonValue.Create(value is DateTime ts ? Logical.Timestamp.ToMillis(ts) : Convert.ToInt64(value, CultureInfo.InvariantCulture));
                case SchemaType.Float32:
                    return JsonValue.Create(Convert.ToSingle(value, CultureInfo.InvariantCulture));
                case SchemaType.Float64:
                    return JsonValue.Create(Convert.ToDouble(value, CultureInfo.InvariantCulture));
                case SchemaType.Boolean:
                    return JsonValue.Create((bool)value);
                case SchemaType.String:
                    return JsonValue.Create((string)value);
                case SchemaType.Bytes:
                    return value is decimal dec ? JsonValue.Create(dec) : JsonValue.Create(Convert.ToBase64String((byte[])value));
                case SchemaType.Array:
                    return new JsonArray(((IList)value).Cast<object?>().Select(i => ValueToJson(schema.ValueSchema!, i, depth + 1)).ToArray());
                case SchemaType.Map:
                    var map = (IDictionary)value;
                    if (schema.KeySchema!.Type == SchemaType.String && !schema.KeySchema.IsOptional)
                    {
                        var o = new JsonObject();
                        foreach (DictionaryEntry e in map)
                        {
                            o[(string)e.Key] = ValueToJson(schema.ValueSchema!, e.Value, depth + 1);
                        }

                        return o;
                    }

                    var entries = new JsonArray();
                    foreach (DictionaryEntry e in map)
                    {
                        entries.Add(new JsonObject { ["key"] = ValueToJson(schema.KeySchema, e.Key, depth + 1), ["value"] = ValueToJson(schema.ValueSchema!, e.Value, depth + 1) });
                    }

                    return entries;
                case SchemaType.Struct:
                    var s = (Struct)value;
                    var result = new JsonObject();
                    foreach (var f in schema.Fields)
                    {
                        var cf = s.Schema.Field(f.Name) ?? throw new DataException($"Struct has no field {f.Name}");
                        result[f.Name] = ValueToJson(f.Schema, s.Get(cf), depth + 1);
                    }

                    return result;
                default:
                    throw new DataException("Unknown Connect schema type " + schema.Type);
            }
        }
        catch (InvalidCastException e)
        {
            throw new DataException($"A {value.GetType().Name} is not a value of a {schema.Type} schema", e);
        }
    }

    public static object? ValueFromJson(Schema schema, JsonNode? json, int depth = 0)
    {
        if (depth > Schema.MaxNestingDepth)
        {
            throw new DataException("Value nested deeper than " + Schema.MaxNestingDepth);
        }

        if (json is null || json.GetValueKind() == JsonValueKind.Null)
        {
            return schema.DefaultValue ?? (schema.IsOptional ? null : throw new DataException($"Invalid null value for required {schema.Type} field"));
        }

        try
        {
            switch (schema.Type)
            {
                case SchemaType.Int8:
                    return json.GetValue<sbyte>();
                case SchemaType.Int16:
                    return json.GetValue<short>();
                case SchemaType.Int32:
                    var i = json.GetValue<int>();
                    return schema.Name == Logical.Date.LogicalName ? DateTime.UnixEpoch.AddDays(i)
                        : schema.Name == Logical.Time.LogicalName ? DateTime.UnixEpoch.AddMilliseconds(i) : i;
                case SchemaType.Int64:
                    var l = json.GetValue<long>();
                    return schema.Name == Logical.Timestamp.LogicalName ? Logical.Timestamp.FromMillis(l) : l;
                case SchemaType.Float32:
                    return json.GetValue<float>();
                case SchemaType.Float64:
                    return json.GetValue<double>();
                case SchemaType.Boolean:
                    return json.GetValue<bool>();
                case SchemaType.String:
                    return json.GetValue<string>();
                case SchemaType.Bytes:
                    return schema.Name == Logical.Decimal.LogicalName ? json.GetValue<decimal>() : Convert.FromBase64String(json.GetValue<string>());
                case SchemaType.Array:
                    return (json as JsonArray ?? throw new DataException("Expected a JSON array")).Select(e => ValueFromJson(schema.ValueSchema!, e, depth + 1)).ToList();
                case SchemaType.Map:
                    var map = new Dictionary<object, object?>();
                    if (json is JsonObject mo)
                    {
                        foreach (var (k, v) in mo)
                        {
                            map[k] = ValueFromJson(schema.ValueSchema!, v, depth + 1);
                        }
                    }
                    else
                    {
                        foreach (var entry in json as JsonArray ?? throw new DataException("Expected a JSON object or array for a map"))
                        {
                            var eo = entry as JsonObject ?? throw new DataException("Map entries must be {key, value} objects");
                            map[ValueFromJson(schema.KeySchema!, eo["key"], depth + 1) ?? throw new DataException("Null map key")] = ValueFromJson(schema.ValueSchema!, eo["value"], depth + 1);
                        }
                    }

                    return map;
                case SchemaType.Struct:
                    var o = json as JsonObject ?? throw new DataException("Structs should be encoded as JSON objects, but found " + json.GetValueKind());
                    var s = new Struct(schema);
                    foreach (var f in schema.Fields)
                    {
                        s.Put(f, ValueFromJson(f.Schema, o[f.Name], depth + 1));
                    }

                    return s;
                default:
                    throw new DataException("Unknown Connect schema type " + schema.Type);
            }
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or OverflowException)
        {
            throw new DataException($"Invalid JSON for a {schema.Type} schema: {e.Message}", e);
        }
    }
}
