namespace Tributary.Broker.Config;

/// <summary>The type of a configuration value; the numeric values are Kafka's DescribeConfigs <c>ConfigType</c> codes.</summary>
public enum ConfigValueType : sbyte
{
    Boolean = 1,
    /// <summary>Free text, or one of <see cref="ConfigDefinition.AllowedValues"/> when those are given (Kafka's ValidString).</summary>
    String = 2,
    Int = 3,
    Short = 4,
    Long = 5,
    Double = 6,
    /// <summary>Comma-separated; each item one of <see cref="ConfigDefinition.AllowedValues"/> when those are given.</summary>
    List = 7,
    Class = 8,
    Password = 9,
}
