namespace Tributary.Broker.Config;

/// <summary>Where a broker configuration value came from, lowest to highest precedence after <see cref="Default"/>.</summary>
public enum BrokerConfigSource
{
    Default,
    ConfigFile,
    Environment,
    CommandLine,
    /// <summary>The cluster-wide dynamic default (KIP-226), set with AlterConfigs on the broker resource "".</summary>
    DynamicDefaultBroker,
    /// <summary>This broker's own dynamic config (KIP-226), set with AlterConfigs on the broker resource named by its id.</summary>
    DynamicBroker,
}

/// <summary>Where a topic's effective configuration value came from; the numeric values are Kafka's DescribeConfigs <c>ConfigSource</c> codes.</summary>
public enum TopicConfigSource : sbyte
{
    /// <summary>Set on the topic itself (DYNAMIC_TOPIC_CONFIG).</summary>
    TopicOverride = 1,
    /// <summary>A dynamic config of this broker (DYNAMIC_BROKER_CONFIG).</summary>
    DynamicBrokerConfig = 2,
    /// <summary>The cluster-wide dynamic broker default (DYNAMIC_DEFAULT_BROKER_CONFIG).</summary>
    DynamicDefaultBrokerConfig = 3,
    /// <summary>Taken from the broker's configuration file, environment or command line (STATIC_BROKER_CONFIG).</summary>
    BrokerConfig = 4,
    /// <summary>Neither the topic nor the broker sets it (DEFAULT_CONFIG).</summary>
    Default = 5,
}
