using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Tributary.Connect.Api.Config;
using Tributary.Connect.Api.Connectors;
using Tributary.Connect.Api.Data;

namespace Tributary.Connect.Converters;

/// <summary>
/// Kafka's JsonConverter: with <c>schemas.enable=true</c> (the default) each message is the envelope
/// <c>{"schema": …, "payload": …}</c>; without it the bare JSON value, read back schemaless (objects as maps, integers as int64).
/// </summary>
public sealed class JsonConverter : IConverter
{
    public const string SchemasEnableConfig = "schemas.enable";

    /// <summary>Bounds what a message may hold: nesting depth of JSON and schemas.</summary>
    private static readonly JsonDocumentOptions ReadOptions = new() { MaxDepth = Schema.MaxNestingDepth };

    private bool schemasEnabled = true;

    public ConfigDef Config { get; } = new ConfigDef()
        .Define(SchemasEnableConfig, ConfigType.Boolean, true, Importance.High, "Include schemas within each of the serialized values and keys.")
        .Define("converter.type", ConfigType.String, "value", Validators.In("key", "value", "header"), Importance.Low, "How this converter will be used.");

    public void Configure(IReadOnlyDictionary<string, string> configs, bool isKey)
    {
        var parsed = ParsedConfig.Of(Config, configs);
        schemasEnabled = parsed.GetBoolean(SchemasEnableConfig);
    }

    public byte[]? FromConnectData(string topic, Schema? schema, object? value)
    {
        if (schema is null && value is null)
        {
            return null;
        }

        JsonNode? node;
        try
        {
            var payload = ToJson(schema, value);
            node = schemasEnabled ? new JsonObject { ["schema"] = schema is null ? null : SchemaToJson(schema), ["payload"] = payload } : payload;
        }
        catch (InvalidCastException e)
        {
            throw new DataException($"Converting Connect data to JSON failed due to serialization error of topic {topic}: {e.Message}", e);
        }

        return node is null ? Encoding.UTF8.GetBytes("null") : JsonSerializer.SerializeToUtf8Bytes(node);
    }

    public SchemaAndValue ToConnectData(string topic, byte[]? value)
    {
        if (value is null)
        {
            return SchemaAndValue.Null;
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(value, ReadOptions);
        }
        catch (JsonException e)
        {
            throw new DataException($"Converting byte[] to Kafka Connect data failed due to serialization error of topic {topic}: {e.Message}", e);
        }

        using (document)
        {
            var root = document.RootElement;
            if (!schemasEnabled)
            {
                return new SchemaAndValue(null, Schemaless(root));
            }

            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("schema", out var schemaJson)
                || !root.TryGetProperty("payload", out var payload) || root.EnumerateObject().Count() != 2)
            {
                throw new DataException("JsonConverter with schemas.enable requires \"schema\" and \"payload\" fields and may not contain additional fields."
                    + " If you are trying to deserialize plain JSON data, set schemas.enable=false in your converter configuration.");
            }

            if (schemaJson.ValueKind == JsonValueKind.Null)
            {
                return new SchemaAndValue(null, Schemaless(payload));
            }

            var schema = SchemaFromJson(schemaJson, 0);
            return new SchemaAndValue(schema, FromJson(schema, payload, 0));
        }
    }

    // ---- schema <-> JSON ----

    private static readonly Dictionary<SchemaType, string> TypeNames = new()
    {
        [SchemaType.Int8] = "int8", [SchemaType.Int16] = "int16", [SchemaType.Int32] = "int32", [SchemaType.Int64] = "int64",
        [SchemaType.Float32] = "float", [SchemaType.Float64] = "double", [SchemaType.Boolean] = "boolean", [SchemaType.String] = "string",
        [SchemaType.Bytes] = "bytes", [SchemaType.Array] = "array", [SchemaType.Map] = "map", [SchemaType.Struct] = "struct",
    };

    private static readonly Dictionary<string, SchemaType> TypesByName = TypeNames.ToDictionary(p => p.Value, p => p.Key);

    public static JsonObject SchemaToJson(Schema schema)
    {
        var o = new JsonObject { ["type"] = TypeNames[schema.Type] };
        switch (schema.Type)
        {
            case SchemaType.Array:
                o["items"] = SchemaToJson(schema.ValueSchema!);
                break;
            case SchemaType.Map:
                o["keys"] = SchemaToJson(schema.KeySchema!);
                o["values"] = SchemaToJson(schema.ValueSchema!);
                break;
            case SchemaType.Struct:
                var fields = new JsonArray();
                foreach (var f in schema.Fields)
                {
                    var fj = SchemaToJson(f.Schema);
                    fj["field"] = f.Name;
                    fields.Add(fj);
                }

                o["fields"] = fields;
                break;
        }

        o["optional"] = schema.IsOptional;
        if (schema.Name is not null)
        {
            o["name"] = schema.Name;
        }

        if (schema.Version is not null)
        {
            o["version"] = schema.Version;
        }

        if (schema.Doc is not null)
        {
            o["doc"] = schema.Doc;
        }

        if (schema.Parameters.Count > 0)
        {
            var p = new JsonObject();
            foreach (var kv in schema.Parameters)
            {
                p[kv.Key] = kv.Value;
            }

            o["parameters"] = p;
        }

        if (schema.DefaultValue is not null)
        {
            o["default"] = ToJson(schema, schema.DefaultValue);
        }

        return o;
    }

    public static Schema SchemaFromJson(JsonElement json, int depth)
    {
        if (depth > Schema.MaxNestingDepth)
        {
            throw new DataException("Schema nested deeper than " + Schema.MaxNestingDepth);
        }

        if (json.ValueKind != JsonValueKind.Object || !json.TryGetProperty("type", out var typeJson) || typeJson.ValueKind != JsonValueKind.String)
        {
            throw new DataException("Schema must contain 'type' field");
        }

        if (!TypesByName.TryGetValue(typeJson.GetString()!, out var type))
        {
            throw new DataException("Unknown schema type: " + typeJson.GetString());
        }

        SchemaBuilder b;
        switch (type)
        {
            case SchemaType.Array:
                if (!json.TryGetProperty("items", out var items))
                {
                    throw new DataException("Array schema did not specify the element type");
                }

                b = SchemaBuilder.Array(SchemaFromJson(items, depth + 1));
                break;
            case SchemaType.Map:
                if (!json.TryGetProperty("keys", out var keys) || !json.TryGetProperty("values", out var values))
                {
                    throw new DataException("Map schema did not specify the key and value types");
                }

                b = SchemaBuilder.Map(SchemaFromJson(keys, depth + 1), SchemaFromJson(values, depth + 1));
                break;
            case SchemaType.Struct:
                b = SchemaBuilder.Struct();
                if (!json.TryGetProperty("fields", out var fields) || fields.ValueKind != JsonValueKind.Array)
                {
                    throw new DataException("Struct schema's \"fields\" argument is not an array.");
                }

                foreach (var f in fields.EnumerateArray())
                {
                    if (!f.TryGetProperty("field", out var fname) || fname.ValueKind != JsonValueKind.String)
                    {
                        throw new DataException("Struct schema's field name not specified properly");
                    }

                    b.Field(fname.GetString()!, SchemaFromJson(f, depth + 1));
                }

                break;
            default:
                b = new SchemaBuilder(type);
                break;
        }

        if (json.TryGetProperty("optional", out var opt) && opt.ValueKind == JsonValueKind.True)
        {
            b.Optional();
        }

        if (json.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String)
        {
            b.Name(name.GetString());
        }

        if (json.TryGetProperty("version", out var version) && version.ValueKind == JsonValueKind.Number)
        {
            b.Version(version.GetInt32());
        }

        if (json.TryGetProperty("doc", out var doc) && doc.ValueKind == JsonValueKind.String)
        {
            b.Doc(doc.GetString());
        }

        if (json.TryGetProperty("parameters", out var parameters) && parameters.ValueKind == JsonValueKind.Object)
        {
            foreach (var p in parameters.EnumerateObject())
            {
                b.Parameter(p.Name, p.Value.ToString());
            }
        }

        if (json.TryGetProperty("default", out var dflt) && dflt.ValueKind != JsonValueKind.Null)
        {
            b.DefaultValue(FromJson(b.Build(), dflt, depth + 1));
        }

        return b.Build();
    }

    // ---- values ----

    public static JsonNode? ToJson(Schema? schema, object? value)
    {
        if (value is null)
        {
            if (schema is null)
            {
                return null;
            }

            if (schema.DefaultValue is not null)
            {
                return ToJson(schema, schema.DefaultValue);
            }

            if (schema.IsOptional)
            {
                return null;
            }

            throw new DataException("Conversion error: null value for field that is required and has no default value");
        }

        if (schema is null)
        {
            return value switch
            {
                sbyte or short or int or long or float or double or bool or string => JsonValue.Create(value),
                byte[] bytes => JsonValue.Create(Convert.ToBase64String(bytes)),
                DateTime dt => JsonValue.Create(Logical.Timestamp.ToMillis(dt)),
                Struct s => ToJson(s.Schema, s),
                System.Collections.IDictionary map => MapToJson(null, map),
                System.Collections.IList list => new JsonArray(list.Cast<object?>().Select(i => ToJson(null, i)).ToArray()),
                _ => throw new DataException("Couldn't convert " + value + " to JSON."),
            };
        }

        switch (schema.Type)
        {
            case SchemaType.Int8:
            case SchemaType.Int16:
            case SchemaType.Int32:
                if (value is DateTime date)
                {
                    return schema.Name == Logical.Date.LogicalName
                        ? JsonValue.Create((int)(date.Date - DateTime.UnixEpoch).TotalDays)
                        : JsonValue.Create((int)date.TimeOfDay.TotalMilliseconds);
                }

                return JsonValue.Create(Convert.ToInt32(value, CultureInfo.InvariantCulture));
            case SchemaType.Int64:
                return value is DateTime ts ? JsonValue.Create(Logical.Timestamp.ToMillis(ts)) : JsonValue.Create(Convert.ToInt64(value, CultureInfo.InvariantCulture));
            case SchemaType.Float32:
                return JsonValue.Create((float)value);
            case SchemaType.Float64:
                return JsonValue.Create((double)value);
            case SchemaType.Boolean:
                return JsonValue.Create((bool)value);
            case SchemaType.String:
                return JsonValue.Create((string)value);
            case SchemaType.Bytes:
                return JsonValue.Create(Convert.ToBase64String((byte[])value));
            case SchemaType.Array:
                return new JsonArray(((System.Collections.IList)value).Cast<object?>().Select(i => ToJson(schema.ValueSchema, i)).ToArray());
            case SchemaType.Map:
                return MapToJson(schema, (System.Collections.IDictionary)value);
            case SchemaType.Struct:
                var s = (Struct)value;
                if (!s.Schema.Equals(schema))
                {
                    throw new DataException("Mismatching schema.");
                }

                var o = new JsonObject();
                foreach (var f in schema.Fields)
                {
                    o[f.Name] = ToJson(f.Schema, s.Get(f));
                }

                return o;
            default:
                throw new DataException("Couldn't convert " + value + " to JSON.");
        }
    }

    private static JsonNode MapToJson(Schema? schema, System.Collections.IDictionary map)
    {
        var stringKeys = schema is null ? map.Keys.Cast<object>().All(k => k is string) : schema.KeySchema!.Type == SchemaType.String;
        if (stringKeys)
        {
            var o = new JsonObject();
            foreach (System.Collections.DictionaryEntry e in map)
            {
                o[(string)e.Key] = ToJson(schema?.ValueSchema, e.Value);
            }

            return o;
        }

        // Non-string keys: an array of [key, value] pairs, as Kafka writes them.
        var a = new JsonArray();
        foreach (System.Collections.DictionaryEntry e in map)
        {
            a.Add(new JsonArray(ToJson(schema?.KeySchema, e.Key), ToJson(schema?.ValueSchema, e.Value)));
        }

        return a;
    }

    /// <summary>A JSON value without a schema: objects become maps, integers int64, other numbers double.</summary>
    public static object? Schemaless(JsonElement json) => json.ValueKind switch
    {
        JsonValueKind.Null or JsonValueKind.Undefined => null,
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.String => json.GetString(),
        JsonValueKind.Number => json.TryGetInt64(out var l) ? (object)l : json.GetDouble(),
        JsonValueKind.Array => json.EnumerateArray().Select(Schemaless).ToList(),
        JsonValueKind.Object => json.EnumerateObject().ToDictionary(p => p.Name, p => Schemaless(p.Value)),
        _ => throw new DataException("Unknown JSON value kind " + json.ValueKind),
    };

    private static object? FromJson(Schema schema, JsonElement json, int depth)
    {
        if (depth > Schema.MaxNestingDepth)
        {
            throw new DataException("Value nested deeper than " + Schema.MaxNestingDepth);
        }

        if (json.ValueKind == JsonValueKind.Null)
        {
            if (schema.DefaultValue is not null)
            {
                return schema.DefaultValue;
            }

            if (schema.IsOptional)
            {
                return null;
            }

            throw new DataException("Invalid null value for required " + schema.Type.ToString().ToUpperInvariant() + " field");
        }

        try
        {
            switch (schema.Type)
            {
                case SchemaType.Int8:
                    return checked((sbyte)json.GetInt32());
                case SchemaType.Int16:
                    return json.GetInt16();
                case SchemaType.Int32:
                    return schema.Name == Logical.Date.LogicalName ? DateTime.UnixEpoch.AddDays(json.GetInt32())
                        : schema.Name == Logical.Time.LogicalName ? DateTime.UnixEpoch.AddMilliseconds(json.GetInt32())
                        : json.GetInt32();
                case SchemaType.Int64:
                    return schema.Name == Logical.Timestamp.LogicalName ? Logical.Timestamp.FromMillis(json.GetInt64()) : json.GetInt64();
                case SchemaType.Float32:
                    return json.GetSingle();
                case SchemaType.Float64:
                    return json.GetDouble();
                case SchemaType.Boolean:
                    return json.GetBoolean();
                case SchemaType.String:
                    return json.ValueKind == JsonValueKind.String ? json.GetString() : throw new DataException("Expected a JSON string for a STRING schema, got " + json.ValueKind);
                case SchemaType.Bytes:
                    return json.GetBytesFromBase64();
                case SchemaType.Array:
                    return json.EnumerateArray().Select(e => FromJson(schema.ValueSchema!, e, depth + 1)).ToList();
                case SchemaType.Map:
                    var map = new Dictionary<object, object?>();
                    if (json.ValueKind == JsonValueKind.Object)
                    {
                        foreach (var p in json.EnumerateObject())
                        {
                            map[p.Name] = FromJson(schema.ValueSchema!, p.Value, depth + 1);
                        }
                    }
                    else
                    {
                        foreach (var pair in json.EnumerateArray())
                        {
                            if (pair.ValueKind != JsonValueKind.Array || pair.GetArrayLength() != 2)
                            {
                                throw new DataException("Found invalid map entry instead of array tuple: " + pair.ValueKind);
                            }

                            map[FromJson(schema.KeySchema!, pair[0], depth + 1)!] = FromJson(schema.ValueSchema!, pair[1], depth + 1);
                        }
                    }

                    return map;
                case SchemaType.Struct:
                    if (json.ValueKind != JsonValueKind.Object)
                    {
                        throw new DataException("Structs should be encoded as JSON objects, but found " + json.ValueKind);
                    }

                    var s = new Struct(schema);
                    foreach (var f in schema.Fields)
                    {
                        s.Put(f, json.TryGetProperty(f.Name, out var fv) ? FromJson(f.Schema, fv, depth + 1) : FromJson(f.Schema, NullElement, depth + 1));
                    }

                    return s;
                default:
                    throw new DataException("Unknown schema type: " + schema.Type);
            }
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or OverflowException)
        {
            throw new DataException($"Invalid JSON for {schema.Type.ToString().ToUpperInvariant()} schema: {e.Message}", e);
        }
    }

    private static readonly JsonElement NullElement = JsonDocument.Parse("null").RootElement;
}
