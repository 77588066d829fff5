using System.Collections.Immutable;
using Microsoft.Extensions.Logging;
using Tributary.Metadata.Records;
using Tributary.Protocol;

namespace Tributary.Metadata;

/// <summary>Turns an image and one committed metadata-log batch into the next image (KRaft's replay semantics).</summary>
/// <remarks>
/// Deterministic: every node applies the same batches in the same order and reaches the same image. Committed data is
/// never refused: a record naming an unknown topic or broker (or a partition out of order) is skipped with a Debug log,
/// because the log cannot be rewritten and one bad record must not stop a broker from following the cluster.
/// Broker-level config records (resource type 4) are kept by resource name ("" = cluster default, else a broker id).
/// </remarks>
public sealed partial class MetadataApplier
{
    /// <summary>Kafka's ConfigResource.Type for topics.</summary>
    public const sbyte TopicResourceType = 2;

    /// <summary>Kafka's ConfigResource.Type for brokers.</summary>
    public const sbyte BrokerResourceType = 4;

    private readonly ILogger _logger;

    public MetadataApplier(ILogger logger)
    {
        _logger = logger;
    }

    /// <summary>The image after <paramref name="batch"/>: Offset = the batch's offset, Epoch one higher, ControllerId unchanged.</summary>
    public MetadataImage Apply(MetadataImage image, MetadataBatch batch)
    {
        ArgumentNullException.ThrowIfNull(image);
        var state = new WorkingState(image);
        foreach (var record in batch.Records)
        {
            Apply(state, record, batch.Offset);
        }

        return new MetadataImage(state.ClusterId, image.ControllerId, state.Brokers.ToImmutable(), state.Topics.ToImmutable(),
            image.Epoch + 1, batch.Offset, state.NextProducerId, state.BrokerConfigs);
    }

    private void Apply(WorkingState state, MetadataRecord record, long offset)
    {
        switch (record)
        {
            case RegisterBrokerRecord r:
                RegisterBroker(state, r);
                break;
            case FenceBrokerRecord r:
                ChangeBroker(state, r.BrokerId, r.BrokerEpoch, fenced: true, inControlledShutdown: null, record, offset);
                break;
            case UnfenceBrokerRecord r:
                ChangeBroker(state, r.BrokerId, r.BrokerEpoch, fenced: false, inControlledShutdown: null, record, offset);
                break;
            case BrokerRegistrationChangeRecord r:
                ChangeBroker(state, r.BrokerId, r.BrokerEpoch, r.Fenced, r.InControlledShutdown, record, offset);
                break;
            case UnregisterBrokerRecord r:
                // No epoch check: the controller writes this only for the registration it currently knows.
                if (!state.Brokers.Remove(r.BrokerId))
                {
                    LogSkipped(_logger, record.Type, offset, $"broker {r.BrokerId} is not registered");
                }

                break;
            case TopicRecord r:
                AddTopic(state, r, offset);
                break;
            case PartitionRecord r:
                SetPartition(state, r, offset);
                break;
            case PartitionChangeRecord r:
                ChangePartition(state, r, offset);
                break;
            case ConfigRecord r:
                SetConfig(state, r, offset);
                break;
            case RemoveTopicRecord r:
                if (state.TopicName(r.TopicId) is { } name)
                {
                    state.Topics.Remove(name);
                    state.ForgetTopic(r.TopicId);
                }
                else
                {
                    LogSkipped(_logger, record.Type, offset, $"topic id {r.TopicId} is unknown");
                }

                break;
            case ProducerIdsRecord r:
                state.NextProducerId = r.NextProducerId;
                break;
            case ClusterIdRecord r:
                // Written once by the first active controller; a later one (a racing controller) must not rename the cluster.
                if (state.ClusterId.Length == 0)
                {
                    state.ClusterId = r.ClusterId;
                }

                break;
            default:
                LogSkipped(_logger, record.Type, offset, "record type has no effect on the image");
                break;
        }
    }

    private static void RegisterBroker(WorkingState state, RegisterBrokerRecord r)
    {
        // Clients reach a broker through its first listener (the broker registers its client listener first).
        var endpoint = r.Endpoints.Count > 0 ? r.Endpoints[0] : null;
        state.Brokers[r.BrokerId] = new BrokerRegistration(r.BrokerId, endpoint?.Host ?? "", endpoint?.Port ?? -1, r.Rack,
            r.BrokerEpoch, r.Fenced, InControlledShutdown: false);
    }

    private void ChangeBroker(WorkingState state, int brokerId, long brokerEpoch, bool? fenced, bool? inControlledShutdown,
        MetadataRecord record, long offset)
    {
        if (!state.Brokers.TryGetValue(brokerId, out var broker))
        {
            LogSkipped(_logger, record.Type, offset, $"broker {brokerId} is not registered");
            return;
        }

        // A change written for an earlier registration must not touch the broker's new incarnation.
        if (broker.Epoch != brokerEpoch)
        {
            LogSkipped(_logger, record.Type, offset, $"broker {brokerId} epoch {brokerEpoch} is stale (current {broker.Epoch})");
            return;
        }

        state.Brokers[brokerId] = broker with
        {
            Fenced = fenced ?? broker.Fenced,
            InControlledShutdown = inControlledShutdown ?? broker.InControlledShutdown,
        };
    }

    private void AddTopic(WorkingState state, TopicRecord r, long offset)
    {
        if (state.Topics.ContainsKey(r.Name) || state.TopicName(r.TopicId) is not null)
        {
            LogSkipped(_logger, r.Type, offset, $"topic {r.Name} (id {r.TopicId}) already exists");
            return;
        }

        state.Topics[r.Name] = new TopicImage(r.Name, r.TopicId, [], ImmutableDictionary<string, string>.Empty.WithComparers(StringComparer.Ordinal));
        state.RememberTopic(r.TopicId, r.Name);
    }

    private void SetPartition(WorkingState state, PartitionRecord r, long offset)
    {
        if (state.TopicName(r.TopicId) is not { } name)
        {
            LogSkipped(_logger, r.Type, offset, $"topic id {r.TopicId} is unknown");
            return;
        }

        var topic = state.Topics[name];
        if (r.PartitionId < 0 || r.PartitionId > topic.Partitions.Length)
        {
            LogSkipped(_logger, r.Type, offset, $"partition {r.PartitionId} of {name} would leave a gap after {topic.Partitions.Length} partitions");
            return;
        }

        var partition = new PartitionImage(r.PartitionId, [.. r.Replicas], r.Leader, r.LeaderEpoch, [.. r.Isr], r.PartitionEpoch)
        {
            AddingReplicas = [.. r.AddingReplicas ?? []],
            RemovingReplicas = [.. r.RemovingReplicas ?? []],
        };
        var partitions = r.PartitionId == topic.Partitions.Length
            ? topic.Partitions.Add(partition)
            : topic.Partitions.SetItem(r.PartitionId, partition);
        state.Topics[name] = topic with { Partitions = partitions };
    }

    private void ChangePartition(WorkingState state, PartitionChangeRecord r, long offset)
    {
        if (state.TopicName(r.TopicId) is not { } name)
        {
            LogSkipped(_logger, r.Type, offset, $"topic id {r.TopicId} is unknown");
            return;
        }

        var topic = state.Topics[name];
        if (r.PartitionId < 0 || r.PartitionId >= topic.Partitions.Length)
        {
            LogSkipped(_logger, r.Type, offset, $"partition {r.PartitionId} of {name} does not exist");
            return;
        }

        var current = topic.Partitions[r.PartitionId];
        var leaderChanged = r.Leader != PartitionChangeRecord.LeaderNoChange;

        // As in Kafka's PartitionRegistration.merge: a record that names a leader (even the same one) starts a new
        // leader epoch, and every change record starts a new partition epoch.
        var changed = current with
        {
            Leader = leaderChanged ? r.Leader : current.Leader,
            LeaderEpoch = leaderChanged ? current.LeaderEpoch + 1 : current.LeaderEpoch,
            PartitionEpoch = current.PartitionEpoch + 1,
            Isr = r.Isr is null ? current.Isr : [.. r.Isr],
            Replicas = r.Replicas is null ? current.Replicas : [.. r.Replicas],
            AddingReplicas = r.AddingReplicas is null ? current.AddingReplicas : [.. r.AddingReplicas],
            RemovingReplicas = r.RemovingReplicas is null ? current.RemovingReplicas : [.. r.RemovingReplicas],
        };
        state.Topics[name] = topic with { Partitions = topic.Partitions.SetItem(r.PartitionId, changed) };
    }

    private void SetConfig(WorkingState state, ConfigRecord r, long offset)
    {
        if (r.ResourceType == BrokerResourceType)
        {
            var current = state.BrokerConfigs.TryGetValue(r.ResourceName, out var existing)
                ? existing
                : ImmutableDictionary<string, string>.Empty.WithComparers(StringComparer.Ordinal);
            var next = r.Value is null ? current.Remove(r.Name) : current.SetItem(r.Name, r.Value);
            state.BrokerConfigs = next.IsEmpty ? state.BrokerConfigs.Remove(r.ResourceName) : state.BrokerConfigs.SetItem(r.ResourceName, next);
            return;
        }

        if (r.ResourceType != TopicResourceType)
        {
            LogSkipped(_logger, r.Type, offset, $"config of resource type {r.ResourceType} ({r.ResourceName}) is not kept in the image");
            return;
        }

        if (!state.Topics.TryGetValue(r.ResourceName, out var topic))
        {
            LogSkipped(_logger, r.Type, offset, $"topic {r.ResourceName} is unknown");
            return;
        }

        var configs = r.Value is null ? topic.Configs.Remove(r.Name) : topic.Configs.SetItem(r.Name, r.Value);
        state.Topics[r.ResourceName] = topic with { Configs = configs };
    }

    [LoggerMessage(EventId = 1200, EventName = "MetadataRecordSkipped", Level = LogLevel.Debug,
        Message = "Skipped {RecordType} record in metadata batch {Offset}: {Reason}")]
    private static partial void LogSkipped(ILogger logger, MetadataRecordType recordType, long offset, string reason);

    /// <summary>Mutable builders over one image while a batch is applied; topic ids added or removed in the batch are
    /// tracked on the side so lookups by id stay cheap without rebuilding the id index per record.</summary>
    private sealed class WorkingState
    {
        private readonly MetadataImage _image;
        private Dictionary<Uuid, string?>? _idChanges;

        public WorkingState(MetadataImage image)
        {
            _image = image;
            ClusterId = image.ClusterId;
            NextProducerId = image.NextProducerId;
            BrokerConfigs = image.BrokerConfigs;
            Brokers = image.Brokers.ToBuilder();
            Topics = image.Topics.ToBuilder();
        }

        public string ClusterId { get; set; }

        public long NextProducerId { get; set; }

        public ImmutableDictionary<string, ImmutableDictionary<string, string>> BrokerConfigs { get; set; }

        public ImmutableDictionary<int, BrokerRegistration>.Builder Brokers { get; }

        public ImmutableSortedDictionary<string, TopicImage>.Builder Topics { get; }

        public string? TopicName(Uuid id)
        {
            if (_idChanges is not null && _idChanges.TryGetValue(id, out var changed))
            {
                return changed;
            }

            return _image.TopicsById.TryGetValue(id, out var topic) ? topic.Name : null;
        }

        public void RememberTopic(Uuid id, string name) => (_idChanges ??= [])[id] = name;

        public void ForgetTopic(Uuid id) => (_idChanges ??= [])[id] = null;
    }
}
