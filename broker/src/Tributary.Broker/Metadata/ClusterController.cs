using System.Collections.Immutable;
using Microsoft.Extensions.Logging;
using Tributary.Protocol;

namespace Tributary.Broker.Metadata;

/// <summary>The outcome of a controller operation: Kafka's error code and, when it failed, why.</summary>
public readonly record struct ControllerResult(ErrorCode Error, string? Message = null)
{
    public static readonly ControllerResult Ok = new(ErrorCode.None);
    public bool IsOk => Error == ErrorCode.None;
}

/// <summary>What a client asked for when creating a topic (after defaults were applied by the handler).</summary>
public sealed record NewTopic(string Name, int Partitions, short ReplicationFactor,
    IReadOnlyDictionary<int, int[]>? Assignments, IReadOnlyDictionary<string, string?> Configs);

/// <summary>
/// Owns every change to cluster metadata: topic creation and deletion, partition additions, config changes and
/// placement. This single-node implementation decides locally and persists through <see cref="MetadataStore"/>
/// before publishing the new image; the Raft-backed controller of the cluster issue takes its place with the
/// same operations. Changes are serialized; readers take <see cref="Current"/> without locking.
/// </summary>
public sealed partial class ClusterController
{
    private readonly object _gate = new();
    private readonly MetadataStore _store;
    private readonly Func<string, string?, string?> _validateTopicConfig;
    private readonly ILogger _logger;
    private volatile MetadataImage _current;

    /// <param name="validateTopicConfig">Returns an error message for an invalid (key, value), else null.</param>
    public ClusterController(MetadataStore store, MetadataImage initial, Func<string, string?, string?> validateTopicConfig, ILogger logger)
    {
        _store = store;
        _current = initial;
        _validateTopicConfig = validateTopicConfig;
        _logger = logger;
    }

    /// <summary>Raised after a new image is durable, on the thread that made the change.</summary>
    public event Action<MetadataImage>? ImagePublished;

    public MetadataImage Current => _current;

    public ControllerResult CreateTopic(NewTopic topic, bool validateOnly, out TopicImage? created)
    {
        created = null;
        var nameError = TopicNames.Validate(topic.Name);
        if (nameError is not null)
        {
            return new(ErrorCode.InvalidTopicException, nameError);
        }

        lock (_gate)
        {
            var image = _current;
            if (image.Topics.ContainsKey(topic.Name))
            {
                return new(ErrorCode.TopicAlreadyExists, $"Topic '{topic.Name}' already exists.");
            }

            var collision = image.Topics.Keys.FirstOrDefault(n => n != topic.Name && Normalize(n) == Normalize(topic.Name));
            if (collision is not null)
            {
                return new(ErrorCode.InvalidTopicException,
                    $"Topic '{topic.Name}' collides with existing topic: {collision} ('.' and '_' are interchangeable in metric names)");
            }

            var configError = ValidateConfigs(topic.Configs);
            if (configError is not null)
            {
                return new(ErrorCode.InvalidConfig, configError);
            }

            var placement = topic.Assignments is { Count: > 0 }
                ? ValidateAssignments(image, topic.Assignments, 0, out var assignmentError)
                : Place(image, 0, topic.Partitions, topic.ReplicationFactor, out assignmentError);
            if (placement is null)
            {
                return assignmentError;
            }

            var configs = topic.Configs.Where(kv => kv.Value is not null)
                .ToImmutableDictionary(kv => kv.Key, kv => kv.Value!, StringComparer.Ordinal);
            created = new TopicImage(topic.Name, Uuid.NewRandom(), placement.Value, configs);
            if (validateOnly)
            {
                return ControllerResult.Ok;
            }

            Publish(image.WithTopics(image.Topics.SetItem(topic.Name, created)));
            LogTopicCreated(_logger, topic.Name, created.Id.ToString(), placement.Value.Length, placement.Value[0].Replicas.Length);
            return ControllerResult.Ok;
        }
    }

    public ControllerResult DeleteTopic(string name)
    {
        lock (_gate)
        {
            var image = _current;
            if (!image.Topics.ContainsKey(name))
            {
                return new(ErrorCode.UnknownTopicOrPartition, "This server does not host this topic-partition.");
            }

            Publish(image.WithTopics(image.Topics.Remove(name)));
            LogTopicDeleted(_logger, name);
            return ControllerResult.Ok;
        }
    }

    public ControllerResult CreatePartitions(string name, int newTotal, IReadOnlyList<int[]>? assignments, bool validateOnly)
    {
        lock (_gate)
        {
            var image = _current;
            if (!image.Topics.TryGetValue(name, out var topic))
            {
                return new(ErrorCode.UnknownTopicOrPartition, "This server does not host this topic-partition.");
            }

            var existing = topic.Partitions.Length;
            if (newTotal < existing)
            {
                return new(ErrorCode.InvalidPartitions, $"Topic currently has {existing} partitions, which is higher than the requested {newTotal}.");
            }

            if (newTotal == existing)
            {
                return new(ErrorCode.InvalidPartitions, $"Topic already has {existing} partitions.");
            }

            var added = newTotal - existing;
            ImmutableArray<PartitionImage>? placement;
            ControllerResult error;
            if (assignments is { Count: > 0 })
            {
                if (assignments.Count != added)
                {
                    return new(ErrorCode.InvalidReplicaAssignment,
                        $"Increasing the number of partitions by {added} but {assignments.Count} assignments provided.");
                }

                var map = new Dictionary<int, int[]>();
                for (var i = 0; i < assignments.Count; i++)
                {
                    map[existing + i] = assignments[i];
                }

                placement = ValidateAssignments(image, map, existing, out error);
            }
            else
            {
                placement = Place(image, existing, added, (short)topic.Partitions[0].Replicas.Length, out error);
            }

            if (placement is null)
            {
                return error;
            }

            if (validateOnly)
            {
                return ControllerResult.Ok;
            }

            var updated = topic with { Partitions = topic.Partitions.AddRange(placement.Value) };
            Publish(image.WithTopics(image.Topics.SetItem(name, updated)));
            LogPartitionsAdded(_logger, name, existing, newTotal);
            return ControllerResult.Ok;
        }
    }

    /// <summary>Replaces a topic's config overrides with <paramref name="configs"/> (AlterConfigs semantics).</summary>
    public ControllerResult ReplaceTopicConfigs(string name, IReadOnlyDictionary<string, string?> configs, bool validateOnly) =>
        ChangeTopicConfigs(name, validateOnly, _ => configs.Where(kv => kv.Value is not null)
            .ToDictionary(kv => kv.Key, kv => kv.Value!, StringComparer.Ordinal));

    /// <summary>Applies per-key changes to a topic's overrides (IncrementalAlterConfigs semantics).</summary>
    public ControllerResult ChangeTopicConfigs(string name, bool validateOnly,
        Func<IReadOnlyDictionary<string, string>, Dictionary<string, string>> change)
    {
        lock (_gate)
        {
            var image = _current;
            if (!image.Topics.TryGetValue(name, out var topic))
            {
                return new(ErrorCode.UnknownTopicOrPartition, $"Topic {name} does not exist.");
            }

            Dictionary<string, string> next;
            try
            {
                next = change(topic.Configs);
            }
            catch (ArgumentException e)
            {
                return new(ErrorCode.InvalidConfig, e.Message);
            }

            var configError = ValidateConfigs(next.ToDictionary(kv => kv.Key, kv => (string?)kv.Value));
            if (configError is not null)
            {
                return new(ErrorCode.InvalidConfig, configError);
            }

            if (validateOnly)
            {
                return ControllerResult.Ok;
            }

            var updated = topic with { Configs = next.ToImmutableDictionary(StringComparer.Ordinal) };
            Publish(image.WithTopics(image.Topics.SetItem(name, updated)));
            LogConfigsChanged(_logger, name, string.Join(",", next.Select(kv => kv.Key + "=" + kv.Value)));
            return ControllerResult.Ok;
        }
    }

    /// <summary>Registers the brokers of the cluster (one, in this single-node controller).</summary>
    public void RegisterBrokers(ImmutableDictionary<int, BrokerRegistration> brokers, int controllerId)
    {
        lock (_gate)
        {
            var image = _current.WithBrokers(brokers, controllerId);
            _current = image;
            ImagePublished?.Invoke(image);
        }
    }

    private string? ValidateConfigs(IReadOnlyDictionary<string, string?> configs)
    {
        foreach (var (key, value) in configs)
        {
            var error = _validateTopicConfig(key, value);
            if (error is not null)
            {
                return error;
            }
        }

        return null;
    }

    private void Publish(MetadataImage image)
    {
        _store.Save(image.ClusterId, image.Topics);
        _current = image;
        ImagePublished?.Invoke(image);
    }

    /// <summary>
    /// Round-robin placement starting at a partition-dependent broker so leaders spread evenly; rack-aware
    /// placement arrives with the multi-broker controller.
    /// </summary>
    private static ImmutableArray<PartitionImage>? Place(MetadataImage image, int firstPartition, int count,
        short replicationFactor, out ControllerResult error)
    {
        error = ControllerResult.Ok;
        if (count <= 0)
        {
            error = new(ErrorCode.InvalidPartitions, "Number of partitions must be larger than 0.");
            return null;
        }

        if (replicationFactor <= 0)
        {
            error = new(ErrorCode.InvalidReplicationFactor, "Replication factor must be larger than 0.");
            return null;
        }

        var brokers = image.Brokers.Keys.Order().ToArray();
        if (replicationFactor > brokers.Length)
        {
            error = new(ErrorCode.InvalidReplicationFactor,
                $"Unable to replicate the partition {replicationFactor} time(s): The target replication factor of {replicationFactor} cannot be reached because only {brokers.Length} broker(s) are registered.");
            return null;
        }

        var result = ImmutableArray.CreateBuilder<PartitionImage>(count);
        for (var i = 0; i < count; i++)
        {
            var partition = firstPartition + i;
            var replicas = ImmutableArray.CreateBuilder<int>(replicationFactor);
            for (var r = 0; r < replicationFactor; r++)
            {
                replicas.Add(brokers[(partition + r) % brokers.Length]);
            }

            var set = replicas.ToImmutable();
            result.Add(new PartitionImage(partition, set, set[0], 0, set));
        }

        return result.MoveToImmutable();
    }

    private static ImmutableArray<PartitionImage>? ValidateAssignments(MetadataImage image, IReadOnlyDictionary<int, int[]> assignments,
        int firstPartition, out ControllerResult error)
    {
        error = ControllerResult.Ok;
        var result = ImmutableArray.CreateBuilder<PartitionImage>(assignments.Count);
        int? replicationFactor = null;
        for (var partition = firstPartition; partition < firstPartition + assignments.Count; partition++)
        {
            if (!assignments.TryGetValue(partition, out var replicas) || replicas.Length == 0)
            {
                error = new(ErrorCode.InvalidReplicaAssignment, $"Partitions must be numbered consecutively from {firstPartition}; partition {partition} has no assignment.");
                return null;
            }

            if (replicas.Distinct().Count() != replicas.Length)
            {
                error = new(ErrorCode.InvalidReplicaAssignment, $"Duplicate brokers not allowed in replica assignment: {string.Join(", ", replicas)} for partition id {partition}.");
                return null;
            }

            var unknown = replicas.FirstOrDefault(b => !image.Brokers.ContainsKey(b), -1);
            if (unknown != -1 || replicas.Contains(-1))
            {
                error = new(ErrorCode.InvalidReplicaAssignment, $"The manual partition assignment includes broker {unknown}, which is not registered.");
                return null;
            }

            replicationFactor ??= replicas.Length;
            if (replicas.Length != replicationFactor)
            {
                error = new(ErrorCode.InvalidReplicaAssignment, "All partitions must have the same replication factor.");
                return null;
            }

            var set = replicas.ToImmutableArray();
            result.Add(new PartitionImage(partition, set, set[0], 0, set));
        }

        return result.MoveToImmutable();
    }

    private static string Normalize(string name) => name.Replace('.', '_');

    [LoggerMessage(EventId = 110, EventName = "TopicCreated", Level = LogLevel.Information, Message = "Created topic {Topic} (id {TopicId}) with {Partitions} partitions, replication factor {ReplicationFactor}")]
    private static partial void LogTopicCreated(ILogger logger, string topic, string topicId, int partitions, int replicationFactor);

    [LoggerMessage(EventId = 111, EventName = "TopicDeleted", Level = LogLevel.Information, Message = "Deleted topic {Topic}")]
    private static partial void LogTopicDeleted(ILogger logger, string topic);

    [LoggerMessage(EventId = 112, EventName = "PartitionsAdded", Level = LogLevel.Information, Message = "Topic {Topic} grew from {Before} to {After} partitions")]
    private static partial void LogPartitionsAdded(ILogger logger, string topic, int before, int after);

    [LoggerMessage(EventId = 113, EventName = "TopicConfigsChanged", Level = LogLevel.Information, Message = "Topic {Topic} config overrides are now [{Configs}]")]
    private static partial void LogConfigsChanged(ILogger logger, string topic, string configs);
}
