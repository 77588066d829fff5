namespace Tributary.Broker.Config;

/// <summary>Where a broker configuration value came from, lowest to highest precedence after <see cref="Default"/>.</summary>
public enum BrokerConfigSource
{
    Default,
    ConfigFile,
    Environment,
    CommandLine,
}

/// <summary>Where a topic's effective configuration value came from; the numeric values are Kafka's DescribeConfigs <c>ConfigSource</c> codes.</summary>
public enum TopicConfigSource : sbyte
{
    /// <summary>Set on the topic itself (DYNAMIC_TOPIC_CONFIG).</summary>
    TopicOverride = 1,
    /// <summary>Taken from the broker's configuration file, environment or command line (STATIC_BROKER_CONFIG).</summary>
    BrokerConfig = 4,
    /// <summary>Neither the topic nor the broker sets it (DEFAULT_CONFIG).</summary>
    Default = 5,
}
