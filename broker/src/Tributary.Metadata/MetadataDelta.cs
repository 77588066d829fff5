using Tributary.Metadata.Records;
using Tributary.Protocol;

namespace Tributary.Metadata;

/// <summary>What one published step changed: the image before it, the committed records that made the change (none when
/// only the active controller changed), and whether the step was a snapshot that replaced the whole image.</summary>
public sealed class MetadataDelta
{
    private HashSet<Uuid>? _changedTopicIds;
    private HashSet<int>? _changedBrokerIds;

    public MetadataDelta(MetadataImage previous, long offset, IReadOnlyList<MetadataRecord> records, bool isSnapshot)
    {
        ArgumentNullException.ThrowIfNull(previous);
        ArgumentNullException.ThrowIfNull(records);
        Previous = previous;
        Offset = offset;
        Records = records;
        IsSnapshot = isSnapshot;
    }

    /// <summary>The image before this step.</summary>
    public MetadataImage Previous { get; }

    /// <summary>Offset of the batch (or snapshot) applied; the previous image's offset when only the controller changed.</summary>
    public long Offset { get; }

    /// <summary>The records applied, in log order (for a snapshot: the records that rebuilt the image from empty).</summary>
    public IReadOnlyList<MetadataRecord> Records { get; }

    /// <summary>The image was reset and rebuilt from a snapshot: every topic and broker may have changed, and ones missing
    /// from the new image were removed.</summary>
    public bool IsSnapshot { get; }

    /// <summary>Ids of the topics the records created, changed or removed.</summary>
    public IReadOnlySet<Uuid> ChangedTopicIds => _changedTopicIds ??= CollectTopics();

    /// <summary>Ids of the brokers the records registered, changed or unregistered.</summary>
    public IReadOnlySet<int> ChangedBrokerIds => _changedBrokerIds ??= CollectBrokers();

    private HashSet<Uuid> CollectTopics()
    {
        var ids = new HashSet<Uuid>();
        foreach (var record in Records)
        {
            switch (record)
            {
                case TopicRecord r:
                    ids.Add(r.TopicId);
                    break;
                case PartitionRecord r:
                    ids.Add(r.TopicId);
                    break;
                case PartitionChangeRecord r:
                    ids.Add(r.TopicId);
                    break;
                case RemoveTopicRecord r:
                    ids.Add(r.TopicId);
                    break;
                case ConfigRecord { ResourceType: MetadataApplier.TopicResourceType } r when Previous.Topics.TryGetValue(r.ResourceName, out var topic):
                    ids.Add(topic.Id);
                    break;
            }
        }

        return ids;
    }

    private HashSet<int> CollectBrokers()
    {
        var ids = new HashSet<int>();
        foreach (var record in Records)
        {
            var id = record switch
            {
                RegisterBrokerRecord r => r.BrokerId,
                FenceBrokerRecord r => r.BrokerId,
                UnfenceBrokerRecord r => r.BrokerId,
                BrokerRegistrationChangeRecord r => r.BrokerId,
                UnregisterBrokerRecord r => r.BrokerId,
                _ => (int?)null,
            };
            if (id is { } brokerId)
            {
                ids.Add(brokerId);
            }
        }

        return ids;
    }
}
