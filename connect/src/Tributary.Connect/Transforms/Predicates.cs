using System.Text.RegularExpressions;
using Tributary.Connect.Api.Config;
using Tributary.Connect.Api.Connectors;
using Tributary.Connect.Api.Data;

namespace Tributary.Connect.Transforms;

/// <summary>Kafka's TopicNameMatches: true when the topic fully matches <c>pattern</c>.</summary>
public sealed class TopicNameMatches : IPredicate
{
    private Regex? pattern;

    public ConfigDef Config { get; } = new ConfigDef()
        .Define("pattern", ConfigType.String, ConfigDef.NoDefault, Validators.Of((name, v) =>
        {
            if (v is not string { Length: > 0 } s)
            {
                throw new ConfigException(name, v, "String must be non-empty");
            }

            try
            {
                _ = new Regex(s, RegexOptions.None, TimeSpan.FromSeconds(1));
            }
            catch (ArgumentException e)
            {
                throw new ConfigException(name, v, "Invalid regex: " + e.Message);
            }
        }), Importance.Medium, "A Java regular expression for matching against the name of a record's topic.");

    public void Configure(IReadOnlyDictionary<string, string> configs) =>
        pattern = new Regex("^(?:" + ParsedConfig.Of(Config, configs).GetString("pattern") + ")$", RegexOptions.None, TimeSpan.FromSeconds(1));

    public bool Test(ConnectRecord record) => record.Topic is not null && pattern!.IsMatch(record.Topic);

    public void Dispose()
    {
    }
}

/// <summary>Kafka's HasHeaderKey: true when the record has at least one header named <c>name</c>.</summary>
public sealed class HasHeaderKey : IPredicate
{
    private string name = "";

    public ConfigDef Config { get; } = new ConfigDef()
        .Define("name", ConfigType.String, ConfigDef.NoDefault, Validators.NonEmptyString, Importance.Medium, "The header name.");

    public void Configure(IReadOnlyDictionary<string, string> configs) => name = ParsedConfig.Of(Config, configs).GetString("name")!;

    public bool Test(ConnectRecord record) => record.Headers.Any(h => h.Key == name);

    public void Dispose()
    {
    }
}

/// <summary>Kafka's RecordIsTombstone: true when the value is null.</summary>
public sealed class RecordIsTombstone : IPredicate
{
    public ConfigDef Config { get; } = new();

    public void Configure(IReadOnlyDictionary<string, string> configs)
    {
    }

    public bool Test(ConnectRecord record) => record.Value is null;

    public void Dispose()
    {
    }
}
