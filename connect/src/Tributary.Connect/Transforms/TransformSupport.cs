using Tributary.Connect.Api.Config;
using Tributary.Connect.Api.Connectors;
using Tributary.Connect.Api.Data;

namespace Tributary.Connect.Transforms;

/// <summary>
/// Base of the transforms that come in a <c>$Key</c> and a <c>$Value</c> form in Kafka: operates on the record's key or
/// value, with or without a schema.
/// </summary>
public abstract class KeyOrValueTransform : ITransform
{
    protected KeyOrValueTransform(bool onKey) => OnKey = onKey;

    protected bool OnKey { get; }

    public abstract ConfigDef Config { get; }

    public abstract void Configure(IReadOnlyDictionary<string, string> configs);

    public ConnectRecord? Apply(ConnectRecord record)
    {
        var schema = OnKey ? record.KeySchema : record.ValueSchema;
        var value = OnKey ? record.Key : record.Value;
        return schema is null ? ApplySchemaless(record, value) : ApplyWithSchema(record, schema, value);
    }

    protected abstract ConnectRecord? ApplySchemaless(ConnectRecord record, object? value);

    protected abstract ConnectRecord? ApplyWithSchema(ConnectRecord record, Schema schema, object? value);

    protected ConnectRecord NewRecord(ConnectRecord record, Schema? schema, object? value) => OnKey
        ? record.NewRecord(record.Topic, record.KafkaPartition, schema, value, record.ValueSchema, record.Value, record.Timestamp)
        : record.NewRecord(record.Topic, record.KafkaPartition, record.KeySchema, record.Key, schema, value, record.Timestamp);

    public void Dispose() => GC.SuppressFinalize(this);

    protected static IDictionary<string, object?> RequireMap(object? value, string purpose) =>
        value switch
        {
            IDictionary<string, object?> map => map,
            System.Collections.IDictionary raw => raw.Cast<System.Collections.DictionaryEntry>().ToDictionary(e => Convert.ToString(e.Key, System.Globalization.CultureInfo.InvariantCulture)!, e => e.Value),
            _ => throw new DataException($"Only Map objects supported in absence of schema for [{purpose}], found: {TypeName(value)}"),
        };

    protected static IDictionary<string, object?>? RequireMapOrNull(object? value, string purpose) => value is null ? null : RequireMap(value, purpose);

    protected static Struct RequireStruct(object? value, string purpose) =>
        value as Struct ?? throw new DataException($"Only Struct objects supported for [{purpose}], found: {TypeName(value)}");

    protected static Struct? RequireStructOrNull(object? value, string purpose) => value is null ? null : RequireStruct(value, purpose);

    protected static string TypeName(object? value) => value is null ? "null" : value.GetType().Name;
}

/// <summary>Parses Kafka's <c>old:new</c> list entries (ReplaceField renames).</summary>
internal static class ConfigParsing
{
    public static Dictionary<string, string> ParseRenames(string key, IReadOnlyList<string> entries)
    {
        var renames = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            var parts = entry.Split(':');
            if (parts.Length != 2 || parts[0].Length == 0 || parts[1].Length == 0)
            {
                throw new ConfigException(key, string.Join(",", entries), "Invalid rename mapping: " + entry);
            }

            renames[parts[0]] = parts[1];
        }

        return renames;
    }

    public static IConfigValidator RenamesValidator { get; } = Validators.Of((name, v) => ParseRenames(name, (IReadOnlyList<string>)v!));
}
