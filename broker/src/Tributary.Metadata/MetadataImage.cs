using System.Collections.Immutable;
using Tributary.Metadata.Records;
using Tributary.Protocol;

namespace Tributary.Metadata;

/// <summary>A broker as the cluster knows it: id, where clients and other brokers reach it, its rack, and its state.</summary>
/// <param name="Epoch">Broker epoch: the metadata offset of its latest registration; stale epochs are refused.</param>
/// <param name="Fenced">Fenced brokers (not heartbeating, or not yet caught up) lead nothing and are in no ISR.</param>
/// <param name="InControlledShutdown">Asked to stop; its leaderships are being moved away.</param>
public sealed record BrokerRegistration(int NodeId, string Host, int Port, string? Rack, long Epoch = 0, bool Fenced = false,
    bool InControlledShutdown = false)
{
    /// <summary>May lead partitions and be in ISRs.</summary>
    public bool IsActive => !Fenced && !InControlledShutdown;
}

/// <summary>One partition's placement: its replicas, leader, leader epoch and in-sync replicas.</summary>
/// <remarks>During a reassignment <see cref="Replicas"/> is the union of old and new replicas; <see cref="AddingReplicas"/>
/// are being added and <see cref="RemovingReplicas"/> leave once the new ones are in sync (Kafka's KIP-455 model).</remarks>
public sealed record PartitionImage(int Partition, ImmutableArray<int> Replicas, int Leader, int LeaderEpoch, ImmutableArray<int> Isr,
    int PartitionEpoch = 0)
{
    public ImmutableArray<int> AddingReplicas { get; init; } = [];
    public ImmutableArray<int> RemovingReplicas { get; init; } = [];

    public bool IsOffline => Leader < 0;

    /// <summary>The replica set once the current reassignment (if any) completes.</summary>
    public IEnumerable<int> TargetReplicas => Replicas.Where(r => !RemovingReplicas.Contains(r));

    public bool IsReassigning => AddingReplicas.Length > 0 || RemovingReplicas.Length > 0;
}

/// <summary>A topic: name, id, partitions (index = partition number) and its config overrides.</summary>
public sealed record TopicImage(string Name, Uuid Id, ImmutableArray<PartitionImage> Partitions, ImmutableDictionary<string, string> Configs)
{
    public bool IsInternal => Name.StartsWith("__", StringComparison.Ordinal);
}

/// <summary>
/// An immutable snapshot of the cluster metadata. Every change produces a new image that is swapped in
/// atomically, so readers (request handlers) never see a half-applied change.
/// </summary>
public sealed class MetadataImage
{
    // Declared before Empty: static fields initialize in textual order, and Empty's constructor reads them.
    private static readonly ImmutableDictionary<string, string> NoConfigs = ImmutableDictionary<string, string>.Empty.WithComparers(StringComparer.Ordinal);

    private static readonly ImmutableDictionary<string, ImmutableDictionary<string, string>> NoBrokerConfigs =
        ImmutableDictionary<string, ImmutableDictionary<string, string>>.Empty.WithComparers(StringComparer.Ordinal);

    public static readonly MetadataImage Empty = new("", -1, ImmutableDictionary<int, BrokerRegistration>.Empty,
        ImmutableSortedDictionary<string, TopicImage>.Empty.WithComparers(StringComparer.Ordinal), 0);

    public MetadataImage(string clusterId, int controllerId, ImmutableDictionary<int, BrokerRegistration> brokers,
        ImmutableSortedDictionary<string, TopicImage> topics, long epoch, long offset = -1, long nextProducerId = 0,
        ImmutableDictionary<string, ImmutableDictionary<string, string>>? brokerConfigs = null)
    {
        BrokerConfigs = brokerConfigs ?? NoBrokerConfigs;
        ClusterId = clusterId;
        ControllerId = controllerId;
        Brokers = brokers;
        Topics = topics;
        Epoch = epoch;
        Offset = offset;
        NextProducerId = nextProducerId;
        var byId = ImmutableDictionary.CreateBuilder<Uuid, TopicImage>();
        foreach (var topic in topics.Values)
        {
            byId[topic.Id] = topic;
        }

        TopicsById = byId.ToImmutable();
    }

    public string ClusterId { get; }
    public int ControllerId { get; }
    public ImmutableDictionary<int, BrokerRegistration> Brokers { get; }
    public ImmutableSortedDictionary<string, TopicImage> Topics { get; }
    public ImmutableDictionary<Uuid, TopicImage> TopicsById { get; }

    /// <summary>Dynamic broker configs (KIP-226) by resource name: "" = the cluster-wide default, "1" = broker 1; key → value.</summary>
    public ImmutableDictionary<string, ImmutableDictionary<string, string>> BrokerConfigs { get; }

    /// <summary>The dynamic configs set for one broker resource ("" = cluster default); empty when none.</summary>
    public ImmutableDictionary<string, string> BrokerConfigsOf(string resourceName) =>
        BrokerConfigs.TryGetValue(resourceName, out var configs) ? configs : NoConfigs;

    /// <summary>Increases with every published change; lets caches know they are stale.</summary>
    public long Epoch { get; }

    /// <summary>Offset of the last metadata-log batch applied to this image (-1: none).</summary>
    public long Offset { get; }

    /// <summary>First producer id not yet handed out to any broker.</summary>
    public long NextProducerId { get; }

    /// <summary>
    /// The controller id clients are told (Metadata, DescribeCluster): any broker forwards admin requests to the active
    /// controller, so name the controller itself when it is a live broker (combined mode), else the lowest live broker
    /// (a dedicated controller is not reachable on a client listener).
    /// </summary>
    public int ClientVisibleControllerId => IsActiveBroker(ControllerId)
        ? ControllerId
        : Brokers.Values.Where(b => b.IsActive).Select(b => b.NodeId).DefaultIfEmpty(-1).Min();

    /// <summary>A registered broker that is neither fenced nor shutting down.</summary>
    public bool IsActiveBroker(int nodeId) => Brokers.TryGetValue(nodeId, out var broker) && broker.IsActive;

    public MetadataImage WithTopics(ImmutableSortedDictionary<string, TopicImage> topics) =>
        new(ClusterId, ControllerId, Brokers, topics, Epoch + 1, Offset, NextProducerId, BrokerConfigs);

    public MetadataImage WithBrokers(ImmutableDictionary<int, BrokerRegistration> brokers, int controllerId) =>
        new(ClusterId, controllerId, brokers, Topics, Epoch + 1, Offset, NextProducerId, BrokerConfigs);

    public bool TryGetTopic(string name, out TopicImage topic) => Topics.TryGetValue(name, out topic!);

    /// <summary>Records that rebuild this image when applied, in order, to <see cref="Empty"/> (a metadata snapshot,
    /// KIP-630): cluster id, brokers, dynamic broker configs, topics with their partitions and configs, the producer-id
    /// high-water mark. Offset, epoch and controller id are not part of it (the snapshot's offset and the quorum carry them).</summary>
    /// <remarks>The image keeps a broker's first endpoint only and no incarnation id, so that is what the records carry;
    /// the applier reads nothing else from a registration.</remarks>
    public IReadOnlyList<MetadataRecord> ToRecords()
    {
        var records = new List<MetadataRecord>(Brokers.Count + (Topics.Count * 2) + Topics.Values.Sum(t => t.Partitions.Length + t.Configs.Count) + 2);
        if (ClusterId.Length > 0)
        {
            records.Add(new ClusterIdRecord(ClusterId));
        }

        foreach (var broker in Brokers.Values.OrderBy(b => b.NodeId))
        {
            IReadOnlyList<BrokerEndpoint> endpoints = broker.Host.Length == 0 && broker.Port < 0
                ? []
                : [new BrokerEndpoint(SnapshotEndpointName, broker.Host, broker.Port, SecurityProtocol: 0)];
            records.Add(new RegisterBrokerRecord(broker.NodeId, Uuid.Zero, broker.Epoch, endpoints, broker.Rack, broker.Fenced));
            if (broker.InControlledShutdown)
            {
                records.Add(new BrokerRegistrationChangeRecord(broker.NodeId, broker.Epoch, Fenced: null, InControlledShutdown: true));
            }
        }

        foreach (var (resource, configs) in BrokerConfigs.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            foreach (var (key, value) in configs.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                records.Add(new ConfigRecord(BrokerConfigResourceType, resource, key, value));
            }
        }

        foreach (var topic in Topics.Values)
        {
            records.Add(new TopicRecord(topic.Name, topic.Id));
            foreach (var p in topic.Partitions)
            {
                records.Add(new PartitionRecord(topic.Id, p.Partition, [.. p.Replicas], [.. p.Isr], p.Leader, p.LeaderEpoch, p.PartitionEpoch,
                    p.AddingReplicas.IsEmpty ? null : [.. p.AddingReplicas], p.RemovingReplicas.IsEmpty ? null : [.. p.RemovingReplicas]));
            }

            foreach (var (key, value) in topic.Configs.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                records.Add(new ConfigRecord(TopicConfigResourceType, topic.Name, key, value));
            }
        }

        if (NextProducerId > 0)
        {
            records.Add(new ProducerIdsRecord(BrokerId: -1, BrokerEpoch: -1, NextProducerId));
        }

        return records;
    }

    /// <summary>Listener name written for a broker's endpoint in a snapshot (the image does not keep listener names).</summary>
    private const string SnapshotEndpointName = "CLIENT";

    private const sbyte TopicConfigResourceType = 2;
    private const sbyte BrokerConfigResourceType = 4;
}
