using System.Globalization;
using Microsoft.Extensions.Logging;
using Tributary.Metadata.Records;
using Tributary.Protocol;

namespace Tributary.Controller;

/// <summary>Dynamic broker configs (KIP-226): stored in the metadata log as ConfigRecords of the BROKER resource type.</summary>
public sealed partial class QuorumController
{
    /// <summary>
    /// Makes the broker resource's dynamic configs exactly <see cref="ReplaceBrokerConfigsCommand.Configs"/>. As in Kafka's
    /// ControllerConfigurationValidator, the controller checks only the resource name (empty for the cluster-wide default,
    /// else a non-negative broker id); the keys and values were validated by the broker that took the request.
    /// </summary>
    private async Task<ControllerReply> ReplaceBrokerConfigsAsync(ReplaceBrokerConfigsCommand command)
    {
        var name = command.ResourceName;
        if (name.Length > 0)
        {
            if (!int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out _))
            {
                return new ControllerReply(ErrorCode.InvalidRequest, "Unable to parse broker name as a base 10 number.");
            }
        }

        if (command.ValidateOnly)
        {
            return new ControllerReply(ErrorCode.None);
        }

        var current = _state.Current.BrokerConfigsOf(name);
        var records = new List<MetadataRecord>();
        foreach (var (key, value) in command.Configs.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (!current.TryGetValue(key, out var old) || old != value)
            {
                records.Add(new ConfigRecord(MetadataApplier.BrokerResourceType, name, key, value));
            }
        }

        foreach (var key in current.Keys.Where(k => !command.Configs.ContainsKey(k)).Order(StringComparer.Ordinal))
        {
            records.Add(new ConfigRecord(MetadataApplier.BrokerResourceType, name, key, null));
        }

        if (records.Count == 0)
        {
            return new ControllerReply(ErrorCode.None);
        }

        var (error, offset) = await WriteAsync(records).ConfigureAwait(false);
        if (error != ErrorCode.None)
        {
            return new ControllerReply(error, "Leadership of the metadata quorum moved; retry.");
        }

        LogBrokerConfigsChanged(_logger, name.Length == 0 ? "cluster default" : "broker " + name,
            string.Join(",", command.Configs.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Key + "=" + kv.Value)));
        return new ControllerReply(ErrorCode.None, Offset: offset);
    }

    [LoggerMessage(EventId = 1291, EventName = "ControllerBrokerConfigsChanged", Level = LogLevel.Information, Message = "Dynamic configs of {Resource} are now [{Configs}]")]
    private static partial void LogBrokerConfigsChanged(ILogger logger, string resource, string configs);
}
