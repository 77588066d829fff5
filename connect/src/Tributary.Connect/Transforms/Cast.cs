using System.Globalization;
using Tributary.Connect.Api.Config;
using Tributary.Connect.Api.Data;

namespace Tributary.Connect.Transforms;

/// <summary>
/// Kafka's Cast: <c>spec</c> is either one type for the whole key/value (<c>int64</c>) or <c>field:type</c> pairs; target
/// types int8, int16, int32, int64, float32, float64, boolean, string.
/// </summary>
public abstract class Cast(bool onKey) : KeyOrValueTransform(onKey)
{
    private const string Purpose = "cast types";
    private const string WholeValue = "";

    private static readonly Dictionary<string, SchemaType> Targets = new(StringComparer.Ordinal)
    {
        ["int8"] = SchemaType.Int8, ["int16"] = SchemaType.Int16, ["int32"] = SchemaType.Int32, ["int64"] = SchemaType.Int64,
        ["float32"] = SchemaType.Float32, ["float64"] = SchemaType.Float64, ["boolean"] = SchemaType.Boolean, ["string"] = SchemaType.String,
    };

    private Dictionary<string, SchemaType> casts = [];

    public override ConfigDef Config { get; } = new ConfigDef()
        .Define("spec", ConfigType.List, ConfigDef.NoDefault, Validators.Of((name, v) => ParseSpec(name, (IReadOnlyList<string>)v!)), Importance.High,
            "List of fields and the type to cast them to of the form field1:type,field2:type to cast fields of Maps or Structs. A single type to cast the entire value.");

    public override void Configure(IReadOnlyDictionary<string, string> configs) =>
        casts = ParseSpec("spec", ParsedConfig.Of(Config, configs).GetList("spec"));

    private static Dictionary<string, SchemaType> ParseSpec(string name, IReadOnlyList<string> entries)
    {
        if (entries.Count == 0)
        {
            throw new ConfigException(name, "", "Must specify at least one field to cast.");
        }

        var result = new Dictionary<string, SchemaType>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            var parts = entry.Split(':');
            string field;
            string type;
            if (parts.Length == 1)
            {
                if (entries.Count > 1)
                {
                    throw new ConfigException(name, string.Join(",", entries), "Cast transformations that specify a type to cast the entire value to may only specify a single cast in their spec");
                }

                field = WholeValue;
                type = parts[0].Trim();
            }
            else if (parts.Length == 2)
            {
                field = parts[0].Trim();
                type = parts[1].Trim();
            }
            else
            {
                throw new ConfigException(name, string.Join(",", entries), "Invalid cast mapping: " + entry);
            }

            if (!Targets.TryGetValue(type, out var target))
            {
                throw new ConfigException(name, string.Join(",", entries), "Invalid type found in casting spec: " + type);
            }

            result[field] = target;
        }

        return result;
    }

    protected override ConnectRecord ApplySchemaless(ConnectRecord record, object? value)
    {
        if (value is null)
        {
            return record;
        }

        if (casts.TryGetValue(WholeValue, out var whole))
        {
            return NewRecord(record, null, CastValue(value, whole));
        }

        var map = RequireMap(value, Purpose);
        var updated = new Dictionary<string, object?>(map, StringComparer.Ordinal);
        foreach (var (field, target) in casts)
        {
            if (map.TryGetValue(field, out var v))
            {
                updated[field] = v is null ? null : CastValue(v, target);
            }
        }

        return NewRecord(record, null, updated);
    }

    protected override ConnectRecord ApplyWithSchema(ConnectRecord record, Schema schema, object? value)
    {
        if (casts.TryGetValue(WholeValue, out var whole))
        {
            var target = Build(whole, schema.IsOptional);
            return NewRecord(record, target, value is null ? null : CastValue(value, whole));
        }

        var s = RequireStructOrNull(value, Purpose);
        var builder = SchemaBuilder.CopyOf(schema);
        foreach (var f in schema.Fields)
        {
            if (casts.TryGetValue(f.Name, out var t))
            {
                if (!f.Schema.IsPrimitive)
                {
                    throw new DataException($"Cannot cast field {f.Name} of non-primitive type {f.Schema.Type.ToString().ToUpperInvariant()}");
                }

                var fb = new SchemaBuilder(t);
                if (f.Schema.IsOptional)
                {
                    fb.Optional();
                }

                if (f.Schema.DefaultValue is not null)
                {
                    fb.DefaultValue(CastValue(f.Schema.DefaultValue, t));
                }

                builder.Field(f.Name, fb.Build());
            }
            else
            {
                builder.Field(f.Name, f.Schema);
            }
        }

        var updatedSchema = builder.Build();
        if (s is null)
        {
            return NewRecord(record, updatedSchema, null);
        }

        var updated = new Struct(updatedSchema);
        foreach (var f in schema.Fields)
        {
            var v = s.GetWithoutDefault(f.Name);
            updated.Put(f.Name, v is not null && casts.TryGetValue(f.Name, out var t) ? CastValue(v, t) : v);
        }

        return NewRecord(record, updatedSchema, updated);
    }

    private static Schema Build(SchemaType type, bool optional)
    {
        var b = new SchemaBuilder(type);
        return (optional ? b.Optional() : b).Build();
    }

    /// <summary>Casts one primitive value the way Kafka's Cast does (booleans are 1/0 as numbers, numbers non-zero as true).</summary>
    public static object CastValue(object value, SchemaType target)
    {
        var c = CultureInfo.InvariantCulture;
        try
        {
            if (value is string text && target != SchemaType.String)
            {
                return target switch
                {
                    SchemaType.Int8 => sbyte.Parse(text, c),
                    SchemaType.Int16 => short.Parse(text, c),
                    SchemaType.Int32 => int.Parse(text, c),
                    SchemaType.Int64 => long.Parse(text, c),
                    SchemaType.Float32 => float.Parse(text, c),
                    SchemaType.Float64 => double.Parse(text, c),
                    SchemaType.Boolean => bool.Parse(text),
                    _ => throw new DataException("Unexpected type in Cast transformation: " + target),
                };
            }

            if (target == SchemaType.String)
            {
                return value switch
                {
                    byte[] bytes => Convert.ToBase64String(bytes),
                    bool b => b ? "true" : "false",
                    DateTime dt => dt.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", c),
                    _ => Convert.ToString(value, c)!,
                };
            }

            if (value is bool flag)
            {
                value = flag ? 1 : 0;
            }

            if (value is not (sbyte or short or int or long or float or double or decimal))
            {
                throw new DataException($"Unexpected type in Cast transformation: {value.GetType().Name}");
            }

            return target switch
            {
                SchemaType.Int8 => (object)(sbyte)Convert.ToDouble(value, c),
                SchemaType.Int16 => (short)Convert.ToDouble(value, c),
                SchemaType.Int32 => (int)Convert.ToDouble(value, c),
                SchemaType.Int64 => value is long l ? l : (long)Convert.ToDouble(value, c),
                SchemaType.Float32 => (float)Convert.ToDouble(value, c),
                SchemaType.Float64 => Convert.ToDouble(value, c),
                SchemaType.Boolean => Convert.ToDouble(value, c) != 0,
                _ => throw new DataException("Unexpected type in Cast transformation: " + target),
            };
        }
        catch (Exception e) when (e is FormatException or OverflowException)
        {
            throw new DataException($"Value ({value}) was out of range or could not be parsed for requested data type {target.ToString().ToUpperInvariant()}", e);
        }
    }

    public sealed class Key() : Cast(true);

    public sealed class Value() : Cast(false);
}
