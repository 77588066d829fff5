using Tributary.Broker.Config;

namespace Tributary.Broker.Handlers;

/// <summary>Presents topic and broker configs the way DescribeConfigs and CreateTopics report them.</summary>
public static class TopicConfigView
{
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

    /// <summary>Broker configs with Kafka's sources (dynamic per broker, dynamic default, static, default) and synonyms.</summary>
    public static IReadOnlyList<ConfigEntry> DescribeBroker(IReadOnlyList<BrokerConfigEntry> entries) =>
        entries
            .Select(e => new ConfigEntry(
                e.Definition.Name,
                e.Value,
                e.ReadOnly,
                (sbyte)e.Source,
                BrokerConfig.IsSensitive(e.Definition.Name),
                (sbyte)e.Definition.Type,
                e.Definition.Documentation,
                e.Synonyms.Select(s => new ConfigEntrySynonym(s.Name, s.Value, (sbyte)s.Source)).ToList()))
            .ToList();

    public static bool IsList(string name) =>
        TopicConfigCatalog.TryGet(name, out var definition) && definition.Type == ConfigValueType.List;

    public static string? DefaultValue(BrokerConfig broker, string name) =>
        TopicConfigCatalog.TryGet(name, out _)
            ? TopicConfigCatalog.Resolve(broker, new Dictionary<string, string>())[name]
            : null;
}
