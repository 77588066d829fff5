using System.Text.Json;
using System.Text.Json.Nodes;

namespace Tributary.SchemaRegistry.Schemas.Avro;

/// <summary>Whether a field's default value is a valid JSON encoding of its type (Avro spec, "Complex Types / Records").</summary>
internal static class AvroDefaults
{
    public static bool IsValid(AvroNode type, JsonNode? value) => IsValid(type, value, 0);

    private static bool IsValid(AvroNode type, JsonNode? value, int depth)
    {
        if (depth > 64)
        {
            return true;
        }
        switch (type)
        {
            case AvroPrimitive p:
                return p.Kind switch
                {
                    "null" => value is null,
                    "boolean" => value is JsonValue b && b.GetValueKind() is JsonValueKind.True or JsonValueKind.False,
                    "int" => value is JsonValue i && i.GetValueKind() == JsonValueKind.Number && i.TryGetValue(out int _),
                    "long" => value is JsonValue l && l.GetValueKind() == JsonValueKind.Number && l.TryGetValue(out long _),
                    "float" or "double" => value is JsonValue d
                        && (d.GetValueKind() == JsonValueKind.Number
                            || (d.TryGetValue(out string? s) && s is "NaN" or "Infinity" or "-Infinity")),
                    "bytes" or "string" => value is JsonValue t && t.GetValueKind() == JsonValueKind.String,
                    _ => false,
                };
            case AvroFixed:
                return value is JsonValue fx && fx.GetValueKind() == JsonValueKind.String;
            case AvroEnum e:
                return value is JsonValue ev && ev.TryGetValue(out string? symbol) && e.Symbols.Contains(symbol);
            case AvroArray a:
                return value is JsonArray items && items.All(item => IsValid(a.Items, item, depth + 1));
            case AvroMap m:
                return value is JsonObject map && map.All(kv => IsValid(m.Values, kv.Value, depth + 1));
            case AvroRecord r:
                return value is JsonObject obj && r.Fields.All(f =>
                    obj.TryGetPropertyValue(f.Name, out var fieldValue) ? IsValid(f.Type, fieldValue, depth + 1) : f.HasDefault);
            case AvroUnion u:
                // The spec says the default matches the first branch; like newer Avro releases we accept any branch, so a
                // schema the reference implementation accepts is never refused here.
                return u.Branches.Any(branch => IsValid(branch, value, depth + 1));
            default:
                return false;
        }
    }
}
