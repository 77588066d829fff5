using Microsoft.Extensions.Logging;
using Tributary.Broker.Config;
using Tributary.Broker.Replication;

namespace Tributary.Broker.Metadata;

/// <summary>The broker's side of the metadata log (Kafka's BrokerMetadataPublisher): every new image first updates the
/// dynamic broker configs (topic configs resolve over them), then the replica manager (logs created or deleted, leader
/// or follower of each replica).</summary>
/// <remarks>Runs on the broker's own loader. It may be slow (log creation, epoch-checkpoint fsyncs) without holding back
/// the active controller, which replays the log on a loader of its own.</remarks>
public sealed partial class BrokerMetadataPublisher : IMetadataPublisher
{
    private readonly DynamicBrokerConfig _dynamicConfig;
    private readonly ReplicaManager _replicas;
    private readonly ILogger _logger;

    public BrokerMetadataPublisher(DynamicBrokerConfig dynamicConfig, ReplicaManager replicas, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(dynamicConfig);
        ArgumentNullException.ThrowIfNull(replicas);
        _dynamicConfig = dynamicConfig;
        _replicas = replicas;
        _logger = logger;
    }

    public string Name => "BrokerMetadataPublisher";

    public void OnMetadataUpdate(MetadataDelta delta, MetadataImage newImage) => Publish(newImage);

    /// <summary>Brings the broker up to <paramref name="image"/> (also used once at start-up, before the loader's next image).</summary>
    public void Publish(MetadataImage image)
    {
        ApplyDynamicConfig(_dynamicConfig, image, _logger);
        _replicas.ApplyImage(image);
    }

    /// <summary>Applies the image's dynamic broker configs (KIP-226): the cluster default and this broker's own.</summary>
    public static void ApplyDynamicConfig(DynamicBrokerConfig dynamicConfig, MetadataImage image, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(dynamicConfig);
        ArgumentNullException.ThrowIfNull(image);
        if (dynamicConfig.Apply(image.BrokerConfigsOf(""), image.BrokerConfigsOf(dynamicConfig.BrokerResourceName), out var error))
        {
            LogDynamicConfigApplied(logger, string.Join(",", dynamicConfig.ClusterDefault.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Key + "=" + kv.Value)),
                string.Join(",", dynamicConfig.PerBroker.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Key + "=" + kv.Value)));
        }
        else if (error is not null)
        {
            LogDynamicConfigRejected(logger, error);
        }
    }

    [LoggerMessage(EventId = 11, EventName = "DynamicBrokerConfigApplied", Level = LogLevel.Information, Message = "Dynamic broker configs applied: cluster default [{ClusterDefault}], this broker [{PerBroker}]")]
    private static partial void LogDynamicConfigApplied(ILogger logger, string clusterDefault, string perBroker);

    [LoggerMessage(EventId = 12, EventName = "DynamicBrokerConfigRejected", Level = LogLevel.Error, Message = "Dynamic broker configs from the metadata log not applied (the previous ones stay): {Reason}")]
    private static partial void LogDynamicConfigRejected(ILogger logger, string reason);
}
