using Tributary.Broker.Config;
using Tributary.Broker.Handlers;
using Tributary.Broker.Metadata;
using Tributary.Broker.Metrics;
using Tributary.Broker.Replication;
using Tributary.Protocol;
using Tributary.Storage;

namespace Tributary.Broker;

/// <summary>
/// What request handlers work with: this broker's config, the metadata, the controller, the replicas, the group coordinator,
/// producer ids and the one clock. Built once by the broker server when start-up has everything.
/// </summary>
public sealed class BrokerContext
{
    public BrokerContext(DynamicBrokerConfig config, ControllerGateway controller, ReplicaManager replicas, LogManager logs, BrokerMetrics metrics,
        Groups.GroupCoordinator groups, Producers.ProducerIdManager producerIds, Func<QuorumDescription> quorumState,
        Quotas.ControllerMutationQuota mutationQuota, TimeProvider time, Security.Authorization? authorization = null,
        Transactions.TransactionCoordinator? transactions = null)
    {
        DynamicConfig = config ?? throw new ArgumentNullException(nameof(config));
        Controller = controller ?? throw new ArgumentNullException(nameof(controller));
        Replicas = replicas ?? throw new ArgumentNullException(nameof(replicas));
        Logs = logs ?? throw new ArgumentNullException(nameof(logs));
        Metrics = metrics ?? throw new ArgumentNullException(nameof(metrics));
        Groups = groups ?? throw new ArgumentNullException(nameof(groups));
        ProducerIds = producerIds ?? throw new ArgumentNullException(nameof(producerIds));
        QuorumState = quorumState ?? throw new ArgumentNullException(nameof(quorumState));
        MutationQuota = mutationQuota ?? throw new ArgumentNullException(nameof(mutationQuota));
        Time = time ?? throw new ArgumentNullException(nameof(time));
        Authorization = authorization ?? Security.Authorization.AllowAll;
        Transactions = transactions;
    }

    /// <summary>This broker's effective config: dynamic broker configs (KIP-226) over the static one.</summary>
    public BrokerConfig Config => DynamicConfig.Current;

    /// <summary>The dynamic broker configs as this broker applies them (the broker server shares its instance).</summary>
    public DynamicBrokerConfig DynamicConfig { get; }
    public ControllerGateway Controller { get; }
    public ReplicaManager Replicas { get; }
    public LogManager Logs { get; }
    public BrokerMetrics Metrics { get; }
    public int NodeId => Config.NodeId;
    public MetadataImage Image => Controller.Current;

    /// <summary>The broker's one clock (the replicas and handlers read time from it).</summary>
    public TimeProvider Time { get; }

    /// <summary>Hands out producer ids for InitProducerId (idempotent producers).</summary>
    public Producers.ProducerIdManager ProducerIds { get; }

    /// <summary>The metadata quorum as this node sees it (DescribeQuorum).</summary>
    public Func<QuorumDescription> QuorumState { get; }

    /// <summary>Which operations clients may perform (the authorized-operations fields); allow-all until ACLs exist.</summary>
    public Security.Authorization Authorization { get; }

    /// <summary>The group coordinator (consumer groups and committed offsets).</summary>
    public Groups.GroupCoordinator Groups { get; }

    /// <summary>The transaction coordinator (null in setups without one: its APIs answer COORDINATOR_NOT_AVAILABLE).</summary>
    public Transactions.TransactionCoordinator? Transactions { get; }

    /// <summary>KIP-599 controller mutation quota (partitions created, added or deleted per second), broker-wide.</summary>
    public Quotas.ControllerMutationQuota MutationQuota { get; }

    /// <summary>
    /// Looks a topic up, creating it with the broker's defaults when auto-creation is allowed by both the broker
    /// (auto.create.topics.enable) and the request.
    /// </summary>
    public async Task<(TopicImage? Topic, ErrorCode Error)> GetOrAutoCreateTopicAsync(string name, bool allowAutoCreate, CancellationToken cancellation)
    {
        if (Image.Topics.TryGetValue(name, out var topic))
        {
            return (topic, ErrorCode.None);
        }

        if (TopicNames.Validate(name) is not null)
        {
            return (null, ErrorCode.InvalidTopicException);
        }

        if (!allowAutoCreate || !Config.AutoCreateTopicsEnable)
        {
            return (null, ErrorCode.UnknownTopicOrPartition);
        }

        var (outcome, created) = await Controller.CreateTopicAsync(
            new NewTopic(name, Config.NumPartitions, (short)Config.DefaultReplicationFactor, null, new Dictionary<string, string?>()),
            validateOnly: false, cancellation).ConfigureAwait(false);
        if (outcome.IsOk && created is not null)
        {
            return (created, ErrorCode.None);
        }

        // Another request may have created it in the meantime.
        if (outcome.Error == ErrorCode.TopicAlreadyExists && Image.Topics.TryGetValue(name, out topic))
        {
            return (topic, ErrorCode.None);
        }

        // Kafka answers a topic that is being created (or can't be yet, e.g. too few brokers) with LEADER_NOT_AVAILABLE,
        // which clients retry.
        return (null, outcome.Error is ErrorCode.InvalidReplicationFactor or ErrorCode.RequestTimedOut or ErrorCode.NotController
            ? ErrorCode.LeaderNotAvailable
            : outcome.Error);
    }

    public IReadOnlyList<ConfigEntry> DescribeTopicConfigs(TopicImage topic) => TopicConfigView.Describe(Config, topic.Configs);

    public IReadOnlyList<ConfigEntry> DescribeBrokerConfigs() => TopicConfigView.DescribeBroker(SyncDynamicConfig().DescribeBroker());

    public IReadOnlyList<ConfigEntry> DescribeClusterDefaultBrokerConfigs() => TopicConfigView.DescribeBroker(SyncDynamicConfig().DescribeClusterDefault());

    /// <summary>The dynamic configs as of the latest image (the image-published hook may not have run yet for a change this
    /// broker just waited for).</summary>
    public DynamicBrokerConfig SyncDynamicConfig()
    {
        var image = Image;
        DynamicConfig.Apply(image.BrokerConfigsOf(""), image.BrokerConfigsOf(DynamicConfig.BrokerResourceName), out _);
        return DynamicConfig;
    }

    public bool IsListTopicConfig(string name) => TopicConfigView.IsList(name);

    public string? DefaultTopicConfigValue(string name) => TopicConfigView.DefaultValue(Config, name);
}
