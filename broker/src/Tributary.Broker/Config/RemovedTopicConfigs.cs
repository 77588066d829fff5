using System.Collections.Frozen;
using System.Text.RegularExpressions;

namespace Tributary.Broker.Config;

/// <summary>
/// Topic configs Kafka 3.x accepts and Kafka 4.0 removed. Tools and tests written for 3.x still set them, so Tributary
/// accepts them with Kafka 3.9's validation instead of refusing them as unknown (INVALID_CONFIG), stores them as
/// overrides and reports them in DescribeConfigs only where a topic set them (Kafka 4.0's list of configs otherwise);
/// the controller logs a warning when a topic gets one.
/// </summary>
public static partial class RemovedTopicConfigs
{
    public const string MessageFormatVersion = "message.format.version";
    public const string MessageDownConversionEnable = "message.downconversion.enable";
    public const string MessageTimestampDifferenceMaxMs = "message.timestamp.difference.max.ms";

    /// <summary>The removed configs by name, with Kafka 3.9's type, default and validation.</summary>
    public static FrozenDictionary<string, TopicConfigDefinition> All { get; } = new TopicConfigDefinition[]
    {
        new(new ConfigDefinition(MessageFormatVersion, ConfigValueType.String, "3.0-IV1",
            "Removed in Kafka 4.0 (KIP-724). Ignored: logs always hold record batches (message format v2), as in Kafka 3.x " +
            "with an inter-broker protocol of 3.0 or later.",
            extraValidation: ValidateKafkaVersion), []),
        new(new ConfigDefinition(MessageDownConversionEnable, ConfigValueType.Boolean, "true",
            "Removed in Kafka 4.0 (KIP-896). Ignored: Tributary never down-converts, because it serves no Fetch version " +
            "older than 4 (message format v0/v1)."), []),
        new(new ConfigDefinition(MessageTimestampDifferenceMaxMs, ConfigValueType.Long, long.MaxValue.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "Removed in Kafka 4.0 (KIP-937). As in Kafka 3.x: the limit for message.timestamp.before.max.ms and " +
            "message.timestamp.after.max.ms where the topic does not set those.",
            minimum: 0), []),
    }.ToFrozenDictionary(d => d.Name, StringComparer.Ordinal);

    public static bool IsRemoved(string name) => All.ContainsKey(name);

    /// <summary>What setting <paramref name="name"/> does in Tributary, for the warning log line.</summary>
    public static string Effect(string name) => name switch
    {
        MessageTimestampDifferenceMaxMs => "it applies only where message.timestamp.before.max.ms / after.max.ms are not set; set those instead",
        _ => "it has no effect",
    };

    /// <summary>
    /// Kafka 3.9's MetadataVersion names: 0.8.0–0.11.0 with three parts, 1.0–3.9 with two, each optionally followed by
    /// further ".n" parts (ignored, as Kafka does) and an "-IVn" suffix.
    /// </summary>
    private static string? ValidateKafkaVersion(string value) =>
        KafkaVersion().IsMatch(value) ? null : "a Kafka version such as 2.8, 3.0-IV1 or 0.10.2";

    [GeneratedRegex(@"^(0\.8\.[0-2]|0\.9\.0|0\.10\.[0-2]|0\.11\.0|1\.[01]|2\.[0-8]|3\.[0-9])(\.\d+)*(-IV\d+)?$", RegexOptions.CultureInvariant)]
    private static partial Regex KafkaVersion();
}
