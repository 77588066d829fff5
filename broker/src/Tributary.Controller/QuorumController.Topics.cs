using Microsoft.Extensions.Logging;
using Tributary.Metadata.Records;
using Tributary.Protocol;

namespace Tributary.Controller;

/// <summary>Topic creation and deletion, partition additions and config overrides, each written as one batch.</summary>
public sealed partial class QuorumController
{
    private const sbyte TopicResource = 2; // Kafka's ConfigResource.Type.TOPIC

    private async Task<ControllerReply> CreateTopicAsync(CreateTopicCommand command)
    {
        var topic = command.Topic;
        var nameError = TopicNames.Validate(topic.Name);
        if (nameError is not null)
        {
            return new ControllerReply(ErrorCode.InvalidTopicException, nameError);
        }

        var image = _state.Current;
        if (image.Topics.ContainsKey(topic.Name))
        {
            return new ControllerReply(ErrorCode.TopicAlreadyExists, $"Topic '{topic.Name}' already exists.");
        }

        var collision = image.Topics.Keys.FirstOrDefault(n => Normalize(n) == Normalize(topic.Name));
        if (collision is not null)
        {
            return new ControllerReply(ErrorCode.InvalidTopicException,
                $"Topic '{topic.Name}' collides with existing topic: {collision} ('.' and '_' are interchangeable in metric names)");
        }

        var configError = ValidateConfigs(topic.Configs);
        if (configError is not null)
        {
            return new ControllerReply(ErrorCode.InvalidConfig, configError);
        }

        if (RefuseIfTooManyRecords(topic.Assignments is { Count: > 0 } a ? a.Count : topic.Partitions, $"topic '{topic.Name}' asks for") is { } tooMany)
        {
            return tooMany;
        }

        var placement = topic.Assignments is { Count: > 0 }
            ? ReplicaPlacement.ValidateAssignments(image, topic.Assignments, 0)
            : _placement.PlaceReplicas(image, 0, topic.Partitions, topic.ReplicationFactor);
        if (placement.Error is { } placementError)
        {
            return placementError;
        }

        if (RefuseIfOverBrokerCapacity(image, placement.Replicas!) is { } overCapacity)
        {
            return overCapacity;
        }

        if (command.ValidateOnly)
        {
            return new ControllerReply(ErrorCode.None);
        }

        var topicId = Uuid.NewRandom();
        while (image.TopicsById.ContainsKey(topicId))
        {
            topicId = Uuid.NewRandom();
        }

        var records = new List<MetadataRecord> { new TopicRecord(topic.Name, topicId) };
        records.AddRange(NewPartitionRecords(image, topicId, 0, placement.Replicas!));
        records.AddRange(topic.Configs.Where(kv => kv.Value is not null).OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => new ConfigRecord(TopicResource, topic.Name, kv.Key, kv.Value)));
        var (error, offset) = await WriteAsync(records).ConfigureAwait(false);
        if (error != ErrorCode.None)
        {
            return new ControllerReply(error, "Leadership of the metadata quorum moved; retry.");
        }

        LogTopicCreated(_logger, topic.Name, topicId.ToString(), placement.Replicas!.Count, placement.Replicas[0].Length);
        WarnIfReplicationBelowMinIsr(topic.Name, placement.Replicas[0].Length,
            topic.Configs.Where(kv => kv.Value is not null).ToDictionary(kv => kv.Key, kv => kv.Value!, StringComparer.Ordinal), previous: null);
        WarnAboutRemovedTopicConfigs(topic.Name, topic.Configs.Select(kv => (kv.Key, kv.Value)));
        return new ControllerReply(ErrorCode.None, Offset: offset);
    }

    private async Task<ControllerReply> DeleteTopicAsync(DeleteTopicCommand command)
    {
        var image = _state.Current;
        if (!image.Topics.TryGetValue(command.Name, out var topic))
        {
            return new ControllerReply(ErrorCode.UnknownTopicOrPartition, "This server does not host this topic-partition.");
        }

        var (error, offset) = await WriteAsync([new RemoveTopicRecord(topic.Id)]).ConfigureAwait(false);
        if (error != ErrorCode.None)
        {
            return new ControllerReply(error, "Leadership of the metadata quorum moved; retry.");
        }

        LogTopicDeleted(_logger, topic.Name);
        return new ControllerReply(ErrorCode.None, Offset: offset);
    }

    private async Task<ControllerReply> CreatePartitionsAsync(CreatePartitionsCommand command)
    {
        var image = _state.Current;
        if (!image.Topics.TryGetValue(command.Name, out var topic))
        {
            return new ControllerReply(ErrorCode.UnknownTopicOrPartition, "This server does not host this topic-partition.");
        }

        var existing = topic.Partitions.Length;
        if (command.NewTotal < existing)
        {
            return new ControllerReply(ErrorCode.InvalidPartitions,
                $"Topic currently has {existing} partitions, which is higher than the requested {command.NewTotal}.");
        }

        if (command.NewTotal == existing)
        {
            return new ControllerReply(ErrorCode.InvalidPartitions, $"Topic already has {existing} partitions.");
        }

        var added = command.NewTotal - existing;
        if (RefuseIfTooManyRecords(added, $"adding to topic '{command.Name}'") is { } tooMany)
        {
            return tooMany;
        }

        Placement placement;
        if (command.Assignments is { Count: > 0 } assignments)
        {
            if (assignments.Count != added)
            {
                return new ControllerReply(ErrorCode.InvalidReplicaAssignment,
                    $"Increasing the number of partitions by {added} but {assignments.Count} assignments provided.");
            }

            var byPartition = new Dictionary<int, int[]>();
            for (var i = 0; i < assignments.Count; i++)
            {
                byPartition[existing + i] = assignments[i];
            }

            placement = ReplicaPlacement.ValidateAssignments(image, byPartition, existing);
        }
        else
        {
            var replicationFactor = topic.Partitions.Length == 0 ? 1 : topic.Partitions[0].TargetReplicas.Count();
            placement = _placement.PlaceReplicas(image, existing, added, (short)replicationFactor);
        }

        if (placement.Error is { } placementError)
        {
            return placementError;
        }

        if (RefuseIfOverBrokerCapacity(image, placement.Replicas!) is { } overCapacity)
        {
            return overCapacity;
        }

        if (command.ValidateOnly)
        {
            return new ControllerReply(ErrorCode.None);
        }

        var (error, offset) = await WriteAsync(NewPartitionRecords(image, topic.Id, existing, placement.Replicas!).ToList()).ConfigureAwait(false);
        if (error != ErrorCode.None)
        {
            return new ControllerReply(error, "Leadership of the metadata quorum moved; retry.");
        }

        LogPartitionsAdded(_logger, topic.Name, existing, command.NewTotal);
        return new ControllerReply(ErrorCode.None, Offset: offset);
    }

    /// <summary>Makes the topic's overrides exactly <see cref="ReplaceTopicConfigsCommand.Overrides"/>: one ConfigRecord per
    /// key set or changed, and one with a null value per key removed.</summary>
    private async Task<ControllerReply> ReplaceTopicConfigsAsync(ReplaceTopicConfigsCommand command)
    {
        var image = _state.Current;
        if (!image.Topics.TryGetValue(command.Name, out var topic))
        {
            return new ControllerReply(ErrorCode.UnknownTopicOrPartition, $"Topic {command.Name} does not exist.");
        }

        var configError = ValidateConfigs(command.Overrides.ToDictionary(kv => kv.Key, kv => (string?)kv.Value, StringComparer.Ordinal));
        if (configError is not null)
        {
            return new ControllerReply(ErrorCode.InvalidConfig, configError);
        }

        if (command.ValidateOnly)
        {
            return new ControllerReply(ErrorCode.None);
        }

        var records = new List<MetadataRecord>();
        foreach (var (key, value) in command.Overrides.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (!topic.Configs.TryGetValue(key, out var old) || old != value)
            {
                records.Add(new ConfigRecord(TopicResource, topic.Name, key, value));
            }
        }

        foreach (var key in topic.Configs.Keys.Where(k => !command.Overrides.ContainsKey(k)).Order(StringComparer.Ordinal))
        {
            records.Add(new ConfigRecord(TopicResource, topic.Name, key, null));
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

        LogConfigsChanged(_logger, topic.Name, string.Join(",", command.Overrides.Select(kv => kv.Key + "=" + kv.Value)));
        if (topic.Partitions.Length > 0)
        {
            WarnIfReplicationBelowMinIsr(topic.Name, topic.Partitions[0].TargetReplicas.Count(), command.Overrides, previous: topic.Configs);
        }
        WarnAboutRemovedTopicConfigs(topic.Name, records.OfType<ConfigRecord>().Select(r => (r.Name, r.Value)));
        return new ControllerReply(ErrorCode.None, Offset: offset);
    }

    /// <summary>New partitions: ISR = the replicas that are active now, leader = the first of them.</summary>
    private static IEnumerable<MetadataRecord> NewPartitionRecords(MetadataImage image, Uuid topicId, int firstPartition,
        IReadOnlyList<int[]> replicas)
    {
        for (var i = 0; i < replicas.Count; i++)
        {
            var isr = replicas[i].Where(image.IsActiveBroker).ToArray();
            yield return new PartitionRecord(topicId, firstPartition + i, replicas[i], isr, isr[0], LeaderEpoch: 0, PartitionEpoch: 0);
        }
    }

    private string? ValidateConfigs(IReadOnlyDictionary<string, string?> configs)
    {
        foreach (var (key, value) in configs)
        {
            var error = _options.ValidateTopicConfig(key, value);
            if (error is not null)
            {
                return error;
            }
        }

        return null;
    }

    /// <summary>
    /// Kafka accepts a topic whose replication factor is below its min.insync.replicas, and then refuses every acks=all
    /// produce to it with NOT_ENOUGH_REPLICAS, which clients retry silently until they time out; say so where the user
    /// looks (the broker log), at creation and when a config change (min.insync.replicas raised) brings it about.
    /// </summary>
    private void WarnIfReplicationBelowMinIsr(string topic, int replicationFactor, IReadOnlyDictionary<string, string> overrides,
        IReadOnlyDictionary<string, string>? previous)
    {
        var minInsyncReplicas = _options.MinInsyncReplicasFor(overrides);
        if (replicationFactor >= minInsyncReplicas
            || (previous is not null && replicationFactor < _options.MinInsyncReplicasFor(previous)))
        {
            return;
        }

        LogReplicationBelowMinIsr(_logger, topic, replicationFactor, minInsyncReplicas);
    }

    private static string Normalize(string name) => name.Replace('.', '_');

    [LoggerMessage(EventId = 1280, EventName = "ControllerTopicCreated", Level = LogLevel.Information, Message = "Created topic {Topic} (id {TopicId}) with {Partitions} partitions, replication factor {ReplicationFactor}")]
    private static partial void LogTopicCreated(ILogger logger, string topic, string topicId, int partitions, int replicationFactor);

    [LoggerMessage(EventId = 1281, EventName = "ControllerTopicDeleted", Level = LogLevel.Information, Message = "Deleted topic {Topic}")]
    private static partial void LogTopicDeleted(ILogger logger, string topic);

    [LoggerMessage(EventId = 1282, EventName = "ControllerPartitionsAdded", Level = LogLevel.Information, Message = "Topic {Topic} grew from {Before} to {After} partitions")]
    private static partial void LogPartitionsAdded(ILogger logger, string topic, int before, int after);

    [LoggerMessage(EventId = 1290, EventName = "ControllerTopicReplicationBelowMinIsr", Level = LogLevel.Warning,
        Message = "Topic {Topic} has replication factor {ReplicationFactor}, below its min.insync.replicas {MinInsyncReplicas}: every acks=all "
            + "produce to it will fail with NOT_ENOUGH_REPLICAS (clients retry until they time out). Produce with acks=1, or set the topic's "
            + "min.insync.replicas to at most {ReplicationFactor}")]
    private static partial void LogReplicationBelowMinIsr(ILogger logger, string topic, int replicationFactor, int minInsyncReplicas);

    [LoggerMessage(EventId = 1283, EventName = "ControllerTopicConfigsChanged", Level = LogLevel.Information, Message = "Topic {Topic} config overrides are now [{Configs}]")]
    private static partial void LogConfigsChanged(ILogger logger, string topic, string configs);
}
