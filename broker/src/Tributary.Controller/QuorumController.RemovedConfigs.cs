using Microsoft.Extensions.Logging;

namespace Tributary.Controller;

/// <summary>Warns when a topic gets a config that Kafka 4.0 removed and Tributary accepts for Kafka 3.x tools.</summary>
public sealed partial class QuorumController
{
    /// <summary>Logs one warning per removed config among <paramref name="written"/> (keys set, not keys cleared).</summary>
    private void WarnAboutRemovedTopicConfigs(string topic, IEnumerable<(string Key, string? Value)> written)
    {
        foreach (var (key, value) in written)
        {
            if (value is not null && _options.RemovedTopicConfigEffect(key) is { } effect)
            {
                LogRemovedTopicConfig(_logger, topic, key, value, effect);
            }
        }
    }

    [LoggerMessage(EventId = 1295, EventName = "ControllerRemovedTopicConfigAccepted", Level = LogLevel.Warning,
        Message = "Topic {Topic}: config {Key}={Value} was removed in Kafka 4.0; accepted for Kafka 3.x tools, but {Effect}")]
    private static partial void LogRemovedTopicConfig(ILogger logger, string topic, string key, string value, string effect);
}
