using Tributary.Broker.Config;

namespace Tributary.Broker.Handlers;

/// <summary>Presents topic and broker configs the way DescribeConfigs and CreateTopics report them.</summary>
public static class TopicConfigView
{
    /// <summary>Kafka's DescribeConfigs ConfigSource codes for broker resources.</summary>
    private const sbyte StaticBrokerConfig = 4;
    private const sbyte DefaultConfig = 5;

    public static IReadOnlyList<ConfigEntry> Describe(BrokerConfig broker, IReadOnlyDictionary<string, string> overrides)
    {
        var effective = TopicConfigCatalog.Resolve(broker, overrides);
        return effective.Entries.Values
            .OrderBy(v => v.Name, StringComparer.Ordinal)
            .Select(v => new ConfigEntry(
                v.Name,
                v.Value,
                ReadOnly: false,
                (sbyte)v.Source,
                v.IsSensitive,
                (sbyte)v.Definition.Type,
                v.Definition.Definition.Documentation,
                v.Synonyms.Select(s => new ConfigEntrySynonym(s.Name, s.Value, (sbyte)s.Source)).ToList()))
            .ToList();
    }

    /// <summary>Broker configs are static (file, environment, command line), so all are read-only here.</summary>
    public static IReadOnlyList<ConfigEntry> DescribeBroker(BrokerConfig broker) =>
        broker.Effective
            .OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv =>
            {
                var source = broker.IsDefault(kv.Key) ? DefaultConfig : StaticBrokerConfig;
                var definition = BrokerConfigDefinitions.TryGet(kv.Key, out var d) ? d : null;
                return new ConfigEntry(
                    kv.Key,
                    kv.Value,
                    ReadOnly: true,
                    source,
                    BrokerConfig.IsSensitive(kv.Key),
                    definition is null ? (sbyte)0 : (sbyte)definition.Type,
                    definition?.Documentation,
                    [new ConfigEntrySynonym(kv.Key, kv.Value, source)]);
            })
            .ToList();

    public static bool IsList(string name) =>
        TopicConfigCatalog.TryGet(name, out var definition) && definition.Type == ConfigValueType.List;

    public static string? DefaultValue(BrokerConfig broker, string name) =>
        TopicConfigCatalog.TryGet(name, out _)
            ? TopicConfigCatalog.Resolve(broker, new Dictionary<string, string>())[name]
            : null;
}
