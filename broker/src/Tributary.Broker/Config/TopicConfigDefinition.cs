namespace Tributary.Broker.Config;

/// <summary>One topic-level config: its Kafka name, type and validation, and the broker keys that supply its default.</summary>
public sealed class TopicConfigDefinition
{
    private readonly Func<BrokerConfig, string?>? _brokerValue;

    internal TopicConfigDefinition(ConfigDefinition definition, IReadOnlyList<string> brokerSynonyms, Func<BrokerConfig, string?>? brokerValue = null)
    {
        Definition = definition;
        BrokerSynonyms = brokerSynonyms;
        _brokerValue = brokerValue;
    }

    /// <summary>Name, type, static default, range and allowed values.</summary>
    public ConfigDefinition Definition { get; }

    public string Name => Definition.Name;

    public ConfigValueType Type => Definition.Type;

    /// <summary>Allowed values for enum-like strings (e.g. message.timestamp.type) and list items (cleanup.policy); empty = any.</summary>
    public IReadOnlyList<string> AllowedValues => Definition.AllowedValues;

    public bool IsSensitive => Definition.IsSensitive;

    /// <summary>Broker keys that set this config's default, most specific first (retention.ms: log.retention.ms, .minutes, .hours); may be empty.</summary>
    public IReadOnlyList<string> BrokerSynonyms { get; }

    /// <summary>The primary broker-level key (<c>log.retention.ms</c> for retention.ms), null for topic-only configs.</summary>
    public string? BrokerDefaultKey => BrokerSynonyms.Count > 0 ? BrokerSynonyms[0] : null;

    /// <summary>Checks a value; returns null when valid, otherwise a message naming the config, the value and what is expected.</summary>
    public string? Validate(string? value)
    {
        if (value is null)
        {
            return $"Invalid value null for configuration '{Name}': expected {Definition.Expectation}.";
        }

        var error = Definition.Validate(value);
        return error is null ? null : Definition.InvalidValueMessage(value, error);
    }

    /// <summary>The value a topic without an override gets from this broker.</summary>
    internal string? BrokerValue(BrokerConfig broker) =>
        _brokerValue is not null ? _brokerValue(broker)
        : BrokerDefaultKey is { } key ? broker.GetString(key)
        : Definition.DefaultValue;
}
