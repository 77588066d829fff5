using System.Collections.Immutable;
using Tributary.Protocol;

namespace Tributary.Broker.Metadata;

/// <summary>A broker as the cluster knows it: id, where clients reach it, its rack.</summary>
public sealed record BrokerRegistration(int NodeId, string Host, int Port, string? Rack);

/// <summary>One partition's placement: its replicas, leader, leader epoch and in-sync replicas.</summary>
public sealed record PartitionImage(int Partition, ImmutableArray<int> Replicas, int Leader, int LeaderEpoch, ImmutableArray<int> Isr)
{
    public bool IsOffline => Leader < 0;
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
    public static readonly MetadataImage Empty = new("", -1, ImmutableDictionary<int, BrokerRegistration>.Empty,
        ImmutableSortedDictionary<string, TopicImage>.Empty.WithComparers(StringComparer.Ordinal), 0);

    public MetadataImage(string clusterId, int controllerId, ImmutableDictionary<int, BrokerRegistration> brokers,
        ImmutableSortedDictionary<string, TopicImage> topics, long epoch)
    {
        ClusterId = clusterId;
        ControllerId = controllerId;
        Brokers = brokers;
        Topics = topics;
        Epoch = epoch;
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

    /// <summary>Increases with every published change; lets caches know they are stale.</summary>
    public long Epoch { get; }

    public MetadataImage WithTopics(ImmutableSortedDictionary<string, TopicImage> topics) =>
        new(ClusterId, ControllerId, Brokers, topics, Epoch + 1);

    public MetadataImage WithBrokers(ImmutableDictionary<int, BrokerRegistration> brokers, int controllerId) =>
        new(ClusterId, controllerId, brokers, Topics, Epoch + 1);

    public bool TryGetTopic(string name, out TopicImage topic) => Topics.TryGetValue(name, out topic!);
}
