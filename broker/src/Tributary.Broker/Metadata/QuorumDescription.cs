namespace Tributary.Broker.Metadata;

/// <summary>One member of the metadata quorum as the describing node knows it; -1 where it doesn't know.</summary>
public readonly record struct QuorumReplicaDescription(int ReplicaId, long LogEndOffset, long LastFetchTimestamp, long LastCaughtUpTimestamp);

/// <summary>The metadata quorum for DescribeQuorum: leader, epoch, committed offset, voters and observers.</summary>
public sealed record QuorumDescription(int LeaderId, long Epoch, long HighWatermark, IReadOnlyList<QuorumReplicaDescription> Voters,
    IReadOnlyList<QuorumReplicaDescription> Observers)
{
    /// <summary>Kafka's name for the metadata log's topic, which tools ask about.</summary>
    public const string TopicName = "__cluster_metadata";

    public static readonly QuorumDescription Unknown = new(-1, -1, -1, [], []);
}
