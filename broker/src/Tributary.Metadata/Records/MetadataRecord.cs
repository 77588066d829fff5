using Tributary.Protocol;

namespace Tributary.Metadata.Records;

/// <summary>Kind of a metadata record; the value is stored in every serialized record and must never be reused.</summary>
public enum MetadataRecordType : short
{
    RegisterBroker = 0,
    Topic = 1,
    Partition = 2,
    PartitionChange = 3,
    Config = 4,
    RemoveTopic = 5,
    ProducerIds = 6,
    FenceBroker = 7,
    UnfenceBroker = 8,
    BrokerRegistrationChange = 9,
    ClusterId = 10,
    UnregisterBroker = 11,
}

/// <summary>One entry of the cluster metadata log, agreed by the quorum and applied in order on every node.</summary>
/// <remarks>Shapes follow Kafka's KRaft metadata records (KIP-631) but the encoding is ours (see
/// <see cref="MetadataRecordSerde"/>); each type carries its own version so fields can be added later.</remarks>
public abstract record MetadataRecord
{
    public abstract MetadataRecordType Type { get; }
}

/// <summary>A listener a broker registered: where clients reach it and with which security protocol.</summary>
public sealed record BrokerEndpoint(string Name, string Host, int Port, short SecurityProtocol);

/// <summary>A broker joined (or re-joined with a new incarnation) the cluster.</summary>
public sealed record RegisterBrokerRecord(
    int BrokerId,
    Uuid IncarnationId,
    long BrokerEpoch,
    IReadOnlyList<BrokerEndpoint> Endpoints,
    string? Rack,
    bool Fenced) : MetadataRecord
{
    public override MetadataRecordType Type => MetadataRecordType.RegisterBroker;
}

/// <summary>A topic was created; its partitions follow as <see cref="PartitionRecord"/>s.</summary>
public sealed record TopicRecord(string Name, Uuid TopicId) : MetadataRecord
{
    public override MetadataRecordType Type => MetadataRecordType.Topic;
}

/// <summary>The full state of one partition: assignment, in-sync replicas and leadership.</summary>
public sealed record PartitionRecord(
    Uuid TopicId,
    int PartitionId,
    IReadOnlyList<int> Replicas,
    IReadOnlyList<int> Isr,
    int Leader,
    int LeaderEpoch,
    int PartitionEpoch,
    IReadOnlyList<int>? AddingReplicas = null,
    IReadOnlyList<int>? RemovingReplicas = null) : MetadataRecord
{
    public override MetadataRecordType Type => MetadataRecordType.Partition;
}

/// <summary>A delta to a partition; null lists and <see cref="LeaderNoChange"/> mean "unchanged".</summary>
/// <remarks>A reassignment sets <see cref="AddingReplicas"/>/<see cref="RemovingReplicas"/> (empty lists end it).</remarks>
/// <remarks>As in Kafka, a leader change bumps the leader epoch and every change bumps the partition epoch; the
/// applier derives both, so the record does not carry them.</remarks>
public sealed record PartitionChangeRecord(
    Uuid TopicId,
    int PartitionId,
    int Leader,
    IReadOnlyList<int>? Isr,
    IReadOnlyList<int>? Replicas,
    IReadOnlyList<int>? AddingReplicas = null,
    IReadOnlyList<int>? RemovingReplicas = null) : MetadataRecord
{
    /// <summary>Kafka's sentinel for "leader unchanged" (-1 already means "no leader").</summary>
    public const int LeaderNoChange = -2;

    public override MetadataRecordType Type => MetadataRecordType.PartitionChange;
}

/// <summary>A config key set (or, with a null value, removed) on a topic or broker resource.</summary>
/// <remarks><see cref="ResourceType"/> uses Kafka's ConfigResource.Type codes (2 = topic, 4 = broker).</remarks>
public sealed record ConfigRecord(sbyte ResourceType, string ResourceName, string Name, string? Value) : MetadataRecord
{
    public override MetadataRecordType Type => MetadataRecordType.Config;
}

/// <summary>A topic and all its partitions were deleted.</summary>
public sealed record RemoveTopicRecord(Uuid TopicId) : MetadataRecord
{
    public override MetadataRecordType Type => MetadataRecordType.RemoveTopic;
}

/// <summary>A block of producer ids was handed to a broker; <see cref="NextProducerId"/> is the first id not yet given out.</summary>
public sealed record ProducerIdsRecord(int BrokerId, long BrokerEpoch, long NextProducerId) : MetadataRecord
{
    public override MetadataRecordType Type => MetadataRecordType.ProducerIds;
}

/// <summary>A broker stopped heartbeating (or shut down) and must not lead or be in an ISR.</summary>
public sealed record FenceBrokerRecord(int BrokerId, long BrokerEpoch) : MetadataRecord
{
    public override MetadataRecordType Type => MetadataRecordType.FenceBroker;
}

/// <summary>A registered broker caught up and may lead partitions again.</summary>
public sealed record UnfenceBrokerRecord(int BrokerId, long BrokerEpoch) : MetadataRecord
{
    public override MetadataRecordType Type => MetadataRecordType.UnfenceBroker;
}

/// <summary>A registered broker's state changed; null means "unchanged".</summary>
/// <remarks>InControlledShutdown = true: the broker asked to stop and is losing its leaderships; it is fenced once done.</remarks>
public sealed record BrokerRegistrationChangeRecord(int BrokerId, long BrokerEpoch, bool? Fenced, bool? InControlledShutdown) : MetadataRecord
{
    public override MetadataRecordType Type => MetadataRecordType.BrokerRegistrationChange;
}

/// <summary>The cluster's id, written once by the first active controller; later ones are ignored by appliers.</summary>
public sealed record ClusterIdRecord(string ClusterId) : MetadataRecord
{
    public override MetadataRecordType Type => MetadataRecordType.ClusterId;
}

/// <summary>A broker left the cluster for good (scale-down); it no longer appears in metadata.</summary>
public sealed record UnregisterBrokerRecord(int BrokerId, long BrokerEpoch) : MetadataRecord
{
    public override MetadataRecordType Type => MetadataRecordType.UnregisterBroker;
}
