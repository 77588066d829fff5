using Tributary.Broker.Config;
using Tributary.Broker.Handlers;
using Tributary.Broker.Metadata;
using Tributary.Broker.Metrics;
using Tributary.Broker.Replication;
using Tributary.Protocol;
using Tributary.Storage;

namespace Tributary.Broker;

/// <summary>What request handlers work with: this broker's config, the metadata, the controller and the replicas.</summary>
public sealed class BrokerContext
{
    public BrokerContext(BrokerConfig config, ClusterController controller, ReplicaManager replicas, LogManager logs, BrokerMetrics metrics)
    {
        Config = config;
        Controller = controller;
        Replicas = replicas;
        Logs = logs;
        Metrics = metrics;
    }

    public BrokerConfig Config { get; }
    public ClusterController Controller { get; }
    public ReplicaManager Replicas { get; }
    public LogManager Logs { get; }
    public BrokerMetrics Metrics { get; }
    public int NodeId => Config.NodeId;
    public MetadataImage Image => Controller.Current;

    /// <summary>Hands out producer ids for InitProducerId (idempotent producers).</summary>
    public Producers.ProducerIdManager ProducerIds { get; init; } = null!;

    /// <summary>The group coordinator (consumer groups and committed offsets).</summary>
    public Groups.GroupCoordinator Groups { get; init; } = null!;

    /// <summary>
    /// Looks a topic up, creating it with the broker's defaults when auto-creation is allowed by both the broker
    /// (auto.create.topics.enable) and the request.
    /// </summary>
    public TopicImage? GetOrAutoCreateTopic(string name, bool allowAutoCreate, out ErrorCode error)
    {
        error = ErrorCode.None;
        if (Image.Topics.TryGetValue(name, out var topic))
        {
            return topic;
        }

        if (TopicNames.Validate(name) is not null)
        {
            error = ErrorCode.InvalidTopicException;
            return null;
        }

        if (!allowAutoCreate || !Config.AutoCreateTopicsEnable)
        {
            error = ErrorCode.UnknownTopicOrPartition;
            return null;
        }

        var outcome = Controller.CreateTopic(
            new NewTopic(name, Config.NumPartitions, (short)Config.DefaultReplicationFactor, null, new Dictionary<string, string?>()),
            validateOnly: false, out var created);
        if (outcome.IsOk)
        {
            return created;
        }

        // Another request may have created it in the meantime.
        if (outcome.Error == ErrorCode.TopicAlreadyExists && Image.Topics.TryGetValue(name, out topic))
        {
            return topic;
        }

        error = outcome.Error;
        return null;
    }

    public IReadOnlyList<ConfigEntry> DescribeTopicConfigs(TopicImage topic) => TopicConfigView.Describe(Config, topic.Configs);

    public IReadOnlyList<ConfigEntry> DescribeBrokerConfigs() => TopicConfigView.DescribeBroker(Config);

    public bool IsListTopicConfig(string name) => TopicConfigView.IsList(name);

    public string? DefaultTopicConfigValue(string name) => TopicConfigView.DefaultValue(Config, name);
}
