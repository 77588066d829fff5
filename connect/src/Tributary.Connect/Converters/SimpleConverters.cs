using System.Globalization;
using System.Text;
using Tributary.Connect.Api.Config;
using Tributary.Connect.Api.Connectors;
using Tributary.Connect.Api.Data;

namespace Tributary.Connect.Converters;

/// <summary>Kafka's StringConverter: the value's string form as UTF-8; reads back an optional string.</summary>
public sealed class StringConverter : IConverter
{
    public ConfigDef Config { get; } = new ConfigDef()
        .Define("converter.encoding", ConfigType.String, "UTF8", Importance.High, "The name of the string encoding (UTF-8 only).")
        .Define("converter.type", ConfigType.String, "value", Importance.Low, "How this converter will be used.");

    public void Configure(IReadOnlyDictionary<string, string> configs, bool isKey)
    {
        var encoding = ParsedConfig.Of(Config, configs).GetString("converter.encoding")!;
        if (!encoding.Replace("-", "", StringComparison.Ordinal).Equals("UTF8", StringComparison.OrdinalIgnoreCase))
        {
            throw new ConfigException("converter.encoding", encoding, "only UTF-8 is supported");
        }
    }

    public byte[]? FromConnectData(string topic, Schema? schema, object? value) =>
        value is null ? null : Encoding.UTF8.GetBytes(value switch
        {
            string s => s,
            _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
        });

    public SchemaAndValue ToConnectData(string topic, byte[]? value) =>
        new(Schema.OptionalString, value is null ? null : Encoding.UTF8.GetString(value));
}

/// <summary>Kafka's ByteArrayConverter: bytes pass through unchanged.</summary>
public sealed class ByteArrayConverter : IConverter
{
    public ConfigDef Config { get; } = new ConfigDef()
        .Define("converter.type", ConfigType.String, "value", Importance.Low, "How this converter will be used.");

    public void Configure(IReadOnlyDictionary<string, string> configs, bool isKey)
    {
    }

    public byte[]? FromConnectData(string topic, Schema? schema, object? value)
    {
        if (schema is not null && schema.Type != SchemaType.Bytes)
        {
            throw new DataException("Invalid schema type for ByteArrayConverter: " + schema.Type.ToString().ToUpperInvariant());
        }

        return value switch
        {
            null => null,
            byte[] b => b,
            _ => throw new DataException("ByteArrayConverter is not compatible with objects of type " + value.GetType().Name),
        };
    }

    public SchemaAndValue ToConnectData(string topic, byte[]? value) => new(Schema.OptionalBytes, value);
}
