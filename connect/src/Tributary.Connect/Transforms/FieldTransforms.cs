using System.Globalization;
using Tributary.Connect.Api.Config;
using Tributary.Connect.Api.Data;

namespace Tributary.Connect.Transforms;

/// <summary>Kafka's ExtractField: replaces the key or value with one of its fields (<c>field</c>).</summary>
public abstract class ExtractField(bool onKey) : KeyOrValueTransform(onKey)
{
    private const string Purpose = "field extraction";
    private string fieldName = "";

    public override ConfigDef Config { get; } = new ConfigDef()
        .Define("field", ConfigType.String, ConfigDef.NoDefault, Validators.NonEmptyString, Importance.Medium, "Field name to extract.");

    public override void Configure(IReadOnlyDictionary<string, string> configs) => fieldName = ParsedConfig.Of(Config, configs).GetString("field")!;

    protected override ConnectRecord ApplySchemaless(ConnectRecord record, object? value)
    {
        var map = RequireMapOrNull(value, Purpose);
        return NewRecord(record, null, map?.TryGetValue(fieldName, out var v) == true ? v : null);
    }

    protected override ConnectRecord ApplyWithSchema(ConnectRecord record, Schema schema, object? value)
    {
        var s = RequireStructOrNull(value, Purpose);
        var field = schema.Field(fieldName) ?? throw new ArgumentException("Unknown field: " + fieldName);
        return NewRecord(record, field.Schema, s?.Get(field));
    }

    public sealed class Key() : ExtractField(true);

    public sealed class Value() : ExtractField(false);
}

/// <summary>Kafka's HoistField: wraps the key or value into a struct/map with one field (<c>field</c>).</summary>
public abstract class HoistField(bool onKey) : KeyOrValueTransform(onKey)
{
    private string fieldName = "";

    public override ConfigDef Config { get; } = new ConfigDef()
        .Define("field", ConfigType.String, ConfigDef.NoDefault, Importance.Medium,
            "Field name for the single field that will be created in the resulting Struct or Map.");

    public override void Configure(IReadOnlyDictionary<string, string> configs) => fieldName = ParsedConfig.Of(Config, configs).GetString("field")!;

    protected override ConnectRecord ApplySchemaless(ConnectRecord record, object? value) =>
        NewRecord(record, null, new Dictionary<string, object?> { [fieldName] = value });

    protected override ConnectRecord ApplyWithSchema(ConnectRecord record, Schema schema, object? value)
    {
        var updated = SchemaBuilder.Struct().Field(fieldName, schema).Build();
        return NewRecord(record, updated, new Struct(updated).Put(fieldName, value));
    }

    public sealed class Key() : HoistField(true);

    public sealed class Value() : HoistField(false);
}

/// <summary>Kafka's ValueToKey: the key becomes a struct/map of the listed value fields (<c>fields</c>).</summary>
public sealed class ValueToKey : KeyOrValueTransform
{
    private const string Purpose = "copying fields from value to key";
    private IReadOnlyList<string> fields = [];

    public ValueToKey() : base(false)
    {
    }

    public override ConfigDef Config { get; } = new ConfigDef()
        .Define("fields", ConfigType.List, ConfigDef.NoDefault, Validators.NonEmptyList, Importance.High, "Field names on the record value to extract as the record key.");

    public override void Configure(IReadOnlyDictionary<string, string> configs) => fields = ParsedConfig.Of(Config, configs).GetList("fields");

    protected override ConnectRecord ApplySchemaless(ConnectRecord record, object? value)
    {
        var map = RequireMap(value, Purpose);
        var key = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var f in fields)
        {
            key[f] = map.TryGetValue(f, out var v) ? v : null;
        }

        return record.NewRecord(record.Topic, record.KafkaPartition, null, key, record.ValueSchema, record.Value, record.Timestamp);
    }

    protected override ConnectRecord ApplyWithSchema(ConnectRecord record, Schema schema, object? value)
    {
        var s = RequireStruct(value, Purpose);
        var builder = SchemaBuilder.Struct();
        foreach (var f in fields)
        {
            var field = schema.Field(f) ?? throw new DataException("Field does not exist: " + f);
            builder.Field(f, field.Schema);
        }

        var keySchema = builder.Build();
        var key = new Struct(keySchema);
        foreach (var f in fields)
        {
            key.Put(f, s.Get(f));
        }

        return record.NewRecord(record.Topic, record.KafkaPartition, keySchema, key, schema, value, record.Timestamp);
    }
}

/// <summary>Kafka's ReplaceField: keeps (<c>include</c>) or drops (<c>exclude</c>) fields and renames others (<c>renames</c>).</summary>
public abstract class ReplaceField(bool onKey) : KeyOrValueTransform(onKey)
{
    private const string Purpose = "field replacement";
    private HashSet<string> exclude = [];
    private HashSet<string> include = [];
    private Dictionary<string, string> renames = [];
    private Dictionary<string, string> reverseRenames = [];

    public override ConfigDef Config { get; } = new ConfigDef()
        .Define("exclude", ConfigType.List, "", Importance.Medium, "Fields to exclude. This takes precedence over the fields to include.")
        .Define("include", ConfigType.List, "", Importance.Medium, "Fields to include. If specified, only these fields will be used.")
        .Define("renames", ConfigType.List, "", ConfigParsing.RenamesValidator, Importance.Medium, "Field rename mappings.")
        .Define("blacklist", ConfigType.List, null, Importance.Low, "Deprecated. Use exclude instead.")
        .Define("whitelist", ConfigType.List, null, Importance.Low, "Deprecated. Use include instead.");

    public override void Configure(IReadOnlyDictionary<string, string> configs)
    {
        var c = ParsedConfig.Of(Config, configs);
        exclude = [.. configs.ContainsKey("exclude") || !configs.ContainsKey("blacklist") ? c.GetList("exclude") : c.GetList("blacklist")];
        include = [.. configs.ContainsKey("include") || !configs.ContainsKey("whitelist") ? c.GetList("include") : c.GetList("whitelist")];
        renames = ConfigParsing.ParseRenames("renames", c.GetList("renames"));
        reverseRenames = renames.ToDictionary(p => p.Value, p => p.Key);
    }

    private bool Keep(string name) => !exclude.Contains(name) && (include.Count == 0 || include.Contains(name));

    private string Renamed(string name) => renames.GetValueOrDefault(name, name);

    protected override ConnectRecord ApplySchemaless(ConnectRecord record, object? value)
    {
        if (value is null)
        {
            return record;
        }

        var map = RequireMap(value, Purpose);
        var updated = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (k, v) in map)
        {
            if (Keep(k))
            {
                updated[Renamed(k)] = v;
            }
        }

        return NewRecord(record, null, updated);
    }

    protected override ConnectRecord ApplyWithSchema(ConnectRecord record, Schema schema, object? value)
    {
        var s = RequireStructOrNull(value, Purpose);
        var builder = SchemaBuilder.CopyOf(schema);
        foreach (var f in schema.Fields)
        {
            if (Keep(f.Name))
            {
                builder.Field(Renamed(f.Name), f.Schema);
            }
        }

        var updatedSchema = builder.Build();
        if (s is null)
        {
            return NewRecord(record, updatedSchema, null);
        }

        var updated = new Struct(updatedSchema);
        foreach (var f in updatedSchema.Fields)
        {
            updated.Put(f, s.Get(reverseRenames.GetValueOrDefault(f.Name, f.Name)));
        }

        return NewRecord(record, updatedSchema, updated);
    }

    public sealed class Key() : ReplaceField(true);

    public sealed class Value() : ReplaceField(false);
}

/// <summary>Kafka's MaskField: replaces the listed fields with their type's empty value, or <c>replacement</c>.</summary>
public abstract class MaskField(bool onKey) : KeyOrValueTransform(onKey)
{
    private const string Purpose = "mask fields";
    private HashSet<string> fields = [];
    private string? replacement;

    public override ConfigDef Config { get; } = new ConfigDef()
        .Define("fields", ConfigType.List, ConfigDef.NoDefault, Validators.NonEmptyList, Importance.High, "Names of fields to mask.")
        .Define("replacement", ConfigType.String, null, Validators.Of((name, v) =>
        {
            if (v is string { Length: 0 })
            {
                throw new ConfigException(name, v, "String must be non-empty");
            }
        }), Importance.Low, "Custom value replacement, that will be applied to all 'fields' values (numeric or non-empty string values only).");

    public override void Configure(IReadOnlyDictionary<string, string> configs)
    {
        var c = ParsedConfig.Of(Config, configs);
        fields = [.. c.GetList("fields")];
        replacement = c.GetString("replacement");
    }

    protected override ConnectRecord ApplySchemaless(ConnectRecord record, object? value)
    {
        var map = RequireMap(value, Purpose);
        var updated = new Dictionary<string, object?>(map, StringComparer.Ordinal);
        foreach (var f in fields)
        {
            if (map.TryGetValue(f, out var v))
            {
                updated[f] = Masked(v);
            }
        }

        return NewRecord(record, null, updated);
    }

    protected override ConnectRecord ApplyWithSchema(ConnectRecord record, Schema schema, object? value)
    {
        var s = RequireStruct(value, Purpose);
        var updated = new Struct(schema);
        foreach (var f in schema.Fields)
        {
            var v = s.Get(f);
            updated.Put(f, fields.Contains(f.Name) ? Masked(v) : v);
        }

        return NewRecord(record, schema, updated);
    }

    private object? Masked(object? value)
    {
        if (value is null)
        {
            return null;
        }

        return replacement is null ? EmptyOf(value) : ReplacementFor(value, replacement);
    }

    private static object EmptyOf(object value) => value switch
    {
        bool => false,
        sbyte => (sbyte)0,
        short => (short)0,
        int => 0,
        long => 0L,
        float => 0f,
        double => 0d,
        decimal => 0m,
        DateTime => DateTime.UnixEpoch,
        string => "",
        byte[] => Array.Empty<byte>(),
        System.Collections.IDictionary => new Dictionary<string, object?>(),
        System.Collections.IList => new List<object?>(),
        _ => throw new DataException("Cannot mask value of type: " + value.GetType().Name),
    };

    private static object ReplacementFor(object value, string replacement)
    {
        try
        {
            var c = CultureInfo.InvariantCulture;
            return value switch
            {
                sbyte => sbyte.Parse(replacement, c),
                short => short.Parse(replacement, c),
                int => int.Parse(replacement, c),
                long => long.Parse(replacement, c),
                float => float.Parse(replacement, c),
                double => double.Parse(replacement, c),
                decimal => decimal.Parse(replacement, c),
                string => replacement,
                _ => throw new DataException("Cannot mask value of type " + value.GetType().Name + " with custom value."),
            };
        }
        catch (Exception e) when (e is FormatException or OverflowException)
        {
            throw new DataException("Unable to convert " + replacement + " (String) to number", e);
        }
    }

    public sealed class Key() : MaskField(true);

    public sealed class Value() : MaskField(false);
}

/// <summary>Kafka's InsertField: adds topic, partition, offset, timestamp and a static field (<c>name!</c> required, <c>name?</c> optional).</summary>
public abstract class InsertField(bool onKey) : KeyOrValueTransform(onKey)
{
    private const string Purpose = "field insertion";
    private (string Name, bool Optional)? topicField;
    private (string Name, bool Optional)? partitionField;
    private (string Name, bool Optional)? offsetField;
    private (string Name, bool Optional)? timestampField;
    private (string Name, bool Optional)? staticField;
    private string? staticValue;

    public override ConfigDef Config { get; } = new ConfigDef()
        .Define("topic.field", ConfigType.String, null, Importance.Medium, "Field name for Kafka topic. Suffix with ! to make this a required field, or ? to keep it optional (the default).")
        .Define("partition.field", ConfigType.String, null, Importance.Medium, "Field name for Kafka partition.")
        .Define("offset.field", ConfigType.String, null, Importance.Medium, "Field name for Kafka offset - only applicable to sink connectors.")
        .Define("timestamp.field", ConfigType.String, null, Importance.Medium, "Field name for record timestamp.")
        .Define("static.field", ConfigType.String, null, Importance.Medium, "Field name for static data field.")
        .Define("static.value", ConfigType.String, null, Importance.Medium, "Static field value, if field name configured.");

    public override void Configure(IReadOnlyDictionary<string, string> configs)
    {
        var c = ParsedConfig.Of(Config, configs);
        topicField = Spec(c.GetString("topic.field"));
        partitionField = Spec(c.GetString("partition.field"));
        offsetField = Spec(c.GetString("offset.field"));
        timestampField = Spec(c.GetString("timestamp.field"));
        staticField = Spec(c.GetString("static.field"));
        staticValue = c.GetString("static.value");
        if (topicField is null && partitionField is null && offsetField is null && timestampField is null && staticField is null)
        {
            throw new ConfigException("No field insertion configured");
        }

        if (staticField is not null && staticValue is null)
        {
            throw new ConfigException("static.value", null, "No value specified for static field: " + staticField.Value.Name);
        }
    }

    private static (string, bool)? Spec(string? raw) => raw switch
    {
        null or "" => null,
        _ when raw.EndsWith('!') => (raw[..^1], false),
        _ when raw.EndsWith('?') => (raw[..^1], true),
        _ => (raw, true),
    };

    private long Offset(ConnectRecord record) => record is SinkRecord sink
        ? sink.KafkaOffset
        : throw new DataException($"Only SinkRecord supported for [{Purpose}], found: {record.GetType().Name}");

    protected override ConnectRecord ApplySchemaless(ConnectRecord record, object? value)
    {
        if (value is null)
        {
            return record;
        }

        var updated = new Dictionary<string, object?>(RequireMap(value, Purpose), StringComparer.Ordinal);
        if (topicField is { } t)
        {
            updated[t.Name] = record.Topic;
        }

        if (partitionField is { } p)
        {
            updated[p.Name] = record.KafkaPartition;
        }

        if (offsetField is { } o)
        {
            updated[o.Name] = Offset(record);
        }

        if (timestampField is { } ts)
        {
            updated[ts.Name] = record.Timestamp;
        }

        if (staticField is { } sf)
        {
            updated[sf.Name] = staticValue;
        }

        return NewRecord(record, null, updated);
    }

    protected override ConnectRecord ApplyWithSchema(ConnectRecord record, Schema schema, object? value)
    {
        if (value is null)
        {
            return record;
        }

        var s = RequireStruct(value, Purpose);
        var builder = SchemaBuilder.CopyOf(schema);
        foreach (var f in schema.Fields)
        {
            builder.Field(f.Name, f.Schema);
        }

        if (topicField is { } t)
        {
            builder.Field(t.Name, t.Optional ? Schema.OptionalString : Schema.String);
        }

        if (partitionField is { } p)
        {
            builder.Field(p.Name, p.Optional ? Schema.OptionalInt32 : Schema.Int32);
        }

        if (offsetField is { } o)
        {
            builder.Field(o.Name, o.Optional ? Schema.OptionalInt64 : Schema.Int64);
        }

        if (timestampField is { } ts)
        {
            builder.Field(ts.Name, ts.Optional ? Logical.Timestamp.Builder().Optional().Build() : Logical.Timestamp.Schema);
        }

        if (staticField is { } sf)
        {
            builder.Field(sf.Name, sf.Optional ? Schema.OptionalString : Schema.String);
        }

        var updatedSchema = builder.Build();
        var updated = new Struct(updatedSchema);
        foreach (var f in schema.Fields)
        {
            updated.Put(f.Name, s.Get(f));
        }

        if (topicField is { } t2)
        {
            updated.Put(t2.Name, record.Topic);
        }

        if (partitionField is { } p2)
        {
            updated.Put(p2.Name, record.KafkaPartition);
        }

        if (offsetField is { } o2)
        {
            updated.Put(o2.Name, Offset(record));
        }

        if (timestampField is { } ts2)
        {
            updated.Put(ts2.Name, record.Timestamp is { } ms ? Logical.Timestamp.FromMillis(ms) : null);
        }

        if (staticField is { } sf2)
        {
            updated.Put(sf2.Name, staticValue);
        }

        return NewRecord(record, updatedSchema, updated);
    }

    public sealed class Key() : InsertField(true);

    public sealed class Value() : InsertField(false);
}
