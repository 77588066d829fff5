using Tributary.Protocol;
using Tributary.Protocol.Messages;

namespace Tributary.Operator.Kafka;

/// <summary>A partition as Metadata reports it.</summary>
public sealed record PartitionInfo(int Index, int Leader, IReadOnlyList<int> Replicas, IReadOnlyList<int> Isr);

/// <summary>A topic as Metadata reports it.</summary>
public sealed record TopicInfo(string Name, string TopicId, IReadOnlyList<PartitionInfo> Partitions);

/// <summary>A topic config entry: its value and whether it is a per-topic override (rather than a default).</summary>
public sealed record TopicConfigEntry(string Value, bool IsTopicOverride);

/// <summary>Outcome of an admin call that can fail per topic: null error means success.</summary>
public sealed record AdminResult(ErrorCode Error, string? Message)
{
    public bool Ok => Error == ErrorCode.None;

    public override string ToString() => Ok ? "ok" : $"{Error}: {Message ?? ErrorCodes.DefaultMessage(Error)}";
}

/// <summary>The Kafka admin operations the reconcilers use, against one cluster.</summary>
public interface IClusterAdmin : IAsyncDisposable
{
    Task<IReadOnlyList<int>> BrokerIdsAsync(CancellationToken cancellationToken);

    /// <summary>Node id of the active controller (DescribeQuorum's leader), or null when the quorum has none.</summary>
    Task<int?> ActiveControllerAsync(CancellationToken cancellationToken);

    /// <summary>Every topic (null) or the named ones; a name the cluster does not know is absent from the result.</summary>
    Task<IReadOnlyList<TopicInfo>> DescribeTopicsAsync(IReadOnlyCollection<string>? names, CancellationToken cancellationToken);

    Task<IReadOnlyDictionary<string, IReadOnlyDictionary<string, TopicConfigEntry>>> DescribeTopicConfigsAsync(
        IReadOnlyCollection<string> names, CancellationToken cancellationToken);

    Task<AdminResult> CreateTopicAsync(string name, int partitions, short replicationFactor, IReadOnlyDictionary<string, string> configs, CancellationToken cancellationToken);

    Task<AdminResult> CreatePartitionsAsync(string name, int totalCount, CancellationToken cancellationToken);

    Task<AdminResult> AlterTopicConfigsAsync(string name, IReadOnlyDictionary<string, string> set, IReadOnlyCollection<string> delete, CancellationToken cancellationToken);

    Task<AdminResult> ReassignAsync(string name, IReadOnlyDictionary<int, IReadOnlyList<int>> replicasByPartition, CancellationToken cancellationToken);

    /// <summary>Partitions of <paramref name="name"/> with a reassignment in progress.</summary>
    Task<IReadOnlyList<int>> OngoingReassignmentsAsync(string name, CancellationToken cancellationToken);

    Task<AdminResult> DeleteTopicAsync(string name, CancellationToken cancellationToken);

    /// <summary>Removes a stopped broker's registration (UnregisterBroker, KIP-856).</summary>
    Task<AdminResult> UnregisterBrokerAsync(int brokerId, CancellationToken cancellationToken);
}

/// <summary>
/// <see cref="IClusterAdmin"/> over our own Kafka protocol messages (Tributary.Protocol), not librdkafka: the operator image
/// needs no native library, and librdkafka's admin API has no AlterPartitionReassignments, which RF changes need.
/// Calls go to the first broker that answers, trying each address in turn.
/// </summary>
public sealed class ClusterAdmin(IReadOnlyList<string> bootstrapAddresses, TimeSpan requestTimeout) : IClusterAdmin
{
    private const sbyte TopicResource = 2;
    private const sbyte ConfigSourceDynamicTopic = 1;
    private const sbyte OpSet = 0;
    private const sbyte OpDelete = 1;
    private const int AdminTimeoutMs = 15_000;

    private AdminConnection? _connection;

    public async Task<IReadOnlyList<int>> BrokerIdsAsync(CancellationToken cancellationToken)
    {
        var metadata = await MetadataAsync([], cancellationToken).ConfigureAwait(false);
        return metadata.Brokers.Select(b => b.NodeId).Order().ToArray();
    }

    public async Task<int?> ActiveControllerAsync(CancellationToken cancellationToken)
    {
        var connection = await ConnectionAsync(cancellationToken).ConfigureAwait(false);
        var version = connection.VersionFor(DescribeQuorumRequest.ApiKey, DescribeQuorumRequest.LowestVersion, DescribeQuorumRequest.HighestVersion);
        var request = new DescribeQuorumRequest
        {
            Topics = [new DescribeQuorumRequest.TopicData { TopicName = "__cluster_metadata", Partitions = [new DescribeQuorumRequest.PartitionData { PartitionIndex = 0 }] }],
        };
        var response = await connection.SendAsync<DescribeQuorumResponse>(request, version, cancellationToken).ConfigureAwait(false);
        var partition = response.Topics.SelectMany(t => t.Partitions).FirstOrDefault();
        if (response.ErrorCode != 0 || partition is null || partition.ErrorCode != 0)
        {
            throw new KafkaAdminException($"DescribeQuorum failed: {(ErrorCode)(response.ErrorCode != 0 ? response.ErrorCode : partition?.ErrorCode ?? 0)}");
        }

        return partition.LeaderId >= 0 ? partition.LeaderId : null;
    }

    public async Task<IReadOnlyList<TopicInfo>> DescribeTopicsAsync(IReadOnlyCollection<string>? names, CancellationToken cancellationToken)
    {
        var metadata = await MetadataAsync(names, cancellationToken).ConfigureAwait(false);
        return metadata.Topics
            .Where(t => t.ErrorCode == 0 && t.Name is not null)
            .Select(t => new TopicInfo(
                t.Name!,
                t.TopicId.ToString(),
                t.Partitions.OrderBy(p => p.PartitionIndex)
                    .Select(p => new PartitionInfo(p.PartitionIndex, p.LeaderId, p.ReplicaNodes.ToArray(), p.IsrNodes.ToArray()))
                    .ToArray()))
            .ToArray();
    }

    public async Task<IReadOnlyDictionary<string, IReadOnlyDictionary<string, TopicConfigEntry>>> DescribeTopicConfigsAsync(
        IReadOnlyCollection<string> names, CancellationToken cancellationToken)
    {
        var result = new Dictionary<string, IReadOnlyDictionary<string, TopicConfigEntry>>(StringComparer.Ordinal);
        if (names.Count == 0)
        {
            return result;
        }

        var connection = await ConnectionAsync(cancellationToken).ConfigureAwait(false);
        var version = connection.VersionFor(DescribeConfigsRequest.ApiKey, DescribeConfigsRequest.LowestVersion, DescribeConfigsRequest.HighestVersion);
        var request = new DescribeConfigsRequest
        {
            Resources = names.Select(n => new DescribeConfigsRequest.DescribeConfigsResource { ResourceType = TopicResource, ResourceName = n, ConfigurationKeys = null }).ToList(),
        };
        var response = await connection.SendAsync<DescribeConfigsResponse>(request, version, cancellationToken).ConfigureAwait(false);
        foreach (var resource in response.Results)
        {
            if (resource.ErrorCode != 0)
            {
                continue;
            }

            result[resource.ResourceName] = resource.Configs
                .Where(c => c.Value is not null)
                .ToDictionary(c => c.Name, c => new TopicConfigEntry(c.Value!, c.ConfigSource == ConfigSourceDynamicTopic), StringComparer.Ordinal);
        }

        return result;
    }

    public async Task<AdminResult> CreateTopicAsync(string name, int partitions, short replicationFactor, IReadOnlyDictionary<string, string> configs, CancellationToken cancellationToken)
    {
        var connection = await ConnectionAsync(cancellationToken).ConfigureAwait(false);
        var version = connection.VersionFor(CreateTopicsRequest.ApiKey, CreateTopicsRequest.LowestVersion, CreateTopicsRequest.HighestVersion);
        var request = new CreateTopicsRequest
        {
            TimeoutMs = AdminTimeoutMs,
            Topics =
            [
                new CreateTopicsRequest.CreatableTopic
                {
                    Name = name,
                    NumPartitions = partitions,
                    ReplicationFactor = replicationFactor,
                    Configs = configs.Select(kv => new CreateTopicsRequest.CreatableTopicConfig { Name = kv.Key, Value = kv.Value }).ToList(),
                },
            ],
        };
        var response = await connection.SendAsync<CreateTopicsResponse>(request, version, cancellationToken).ConfigureAwait(false);
        var topic = response.Topics.FirstOrDefault(t => t.Name == name);
        return topic is null ? new AdminResult(ErrorCode.UnknownServerError, "no result for the topic") : new AdminResult((ErrorCode)topic.ErrorCode, topic.ErrorMessage);
    }

    public async Task<AdminResult> CreatePartitionsAsync(string name, int totalCount, CancellationToken cancellationToken)
    {
        var connection = await ConnectionAsync(cancellationToken).ConfigureAwait(false);
        var version = connection.VersionFor(CreatePartitionsRequest.ApiKey, CreatePartitionsRequest.LowestVersion, CreatePartitionsRequest.HighestVersion);
        var request = new CreatePartitionsRequest
        {
            TimeoutMs = AdminTimeoutMs,
            Topics = [new CreatePartitionsRequest.CreatePartitionsTopic { Name = name, Count = totalCount, Assignments = null }],
        };
        var response = await connection.SendAsync<CreatePartitionsResponse>(request, version, cancellationToken).ConfigureAwait(false);
        var topic = response.Results.FirstOrDefault(t => t.Name == name);
        return topic is null ? new AdminResult(ErrorCode.UnknownServerError, "no result for the topic") : new AdminResult((ErrorCode)topic.ErrorCode, topic.ErrorMessage);
    }

    public async Task<AdminResult> AlterTopicConfigsAsync(string name, IReadOnlyDictionary<string, string> set, IReadOnlyCollection<string> delete, CancellationToken cancellationToken)
    {
        var connection = await ConnectionAsync(cancellationToken).ConfigureAwait(false);
        var version = connection.VersionFor(IncrementalAlterConfigsRequest.ApiKey, IncrementalAlterConfigsRequest.LowestVersion, IncrementalAlterConfigsRequest.HighestVersion);
        var configs = set.Select(kv => new IncrementalAlterConfigsRequest.AlterableConfig { Name = kv.Key, ConfigOperation = OpSet, Value = kv.Value })
            .Concat(delete.Select(k => new IncrementalAlterConfigsRequest.AlterableConfig { Name = k, ConfigOperation = OpDelete, Value = null }))
            .ToList();
        var request = new IncrementalAlterConfigsRequest
        {
            Resources = [new IncrementalAlterConfigsRequest.AlterConfigsResource { ResourceType = TopicResource, ResourceName = name, Configs = configs }],
        };
        var response = await connection.SendAsync<IncrementalAlterConfigsResponse>(request, version, cancellationToken).ConfigureAwait(false);
        var result = response.Responses.FirstOrDefault(r => r.ResourceName == name);
        return result is null ? new AdminResult(ErrorCode.UnknownServerError, "no result for the topic") : new AdminResult((ErrorCode)result.ErrorCode, result.ErrorMessage);
    }

    public async Task<AdminResult> ReassignAsync(string name, IReadOnlyDictionary<int, IReadOnlyList<int>> replicasByPartition, CancellationToken cancellationToken)
    {
        var connection = await ConnectionAsync(cancellationToken).ConfigureAwait(false);
        var version = connection.VersionFor(AlterPartitionReassignmentsRequest.ApiKey, AlterPartitionReassignmentsRequest.LowestVersion, AlterPartitionReassignmentsRequest.HighestVersion);
        var request = new AlterPartitionReassignmentsRequest
        {
            TimeoutMs = AdminTimeoutMs,
            Topics =
            [
                new AlterPartitionReassignmentsRequest.ReassignableTopic
                {
                    Name = name,
                    Partitions = replicasByPartition.OrderBy(kv => kv.Key)
                        .Select(kv => new AlterPartitionReassignmentsRequest.ReassignablePartition { PartitionIndex = kv.Key, Replicas = kv.Value.ToList() })
                        .ToList(),
                },
            ],
        };
        var response = await connection.SendAsync<AlterPartitionReassignmentsResponse>(request, version, cancellationToken).ConfigureAwait(false);
        if (response.ErrorCode != 0)
        {
            return new AdminResult((ErrorCode)response.ErrorCode, response.ErrorMessage);
        }

        var failed = response.Responses.SelectMany(t => t.Partitions).FirstOrDefault(p => p.ErrorCode != 0);
        return failed is null ? new AdminResult(ErrorCode.None, null) : new AdminResult((ErrorCode)failed.ErrorCode, $"partition {failed.PartitionIndex}: {failed.ErrorMessage}");
    }

    public async Task<IReadOnlyList<int>> OngoingReassignmentsAsync(string name, CancellationToken cancellationToken)
    {
        var connection = await ConnectionAsync(cancellationToken).ConfigureAwait(false);
        var version = connection.VersionFor(ListPartitionReassignmentsRequest.ApiKey, ListPartitionReassignmentsRequest.LowestVersion, ListPartitionReassignmentsRequest.HighestVersion);
        var response = await connection.SendAsync<ListPartitionReassignmentsResponse>(
            new ListPartitionReassignmentsRequest { TimeoutMs = AdminTimeoutMs, Topics = null }, version, cancellationToken).ConfigureAwait(false);
        if (response.ErrorCode != 0)
        {
            throw new KafkaAdminException($"ListPartitionReassignments failed: {(ErrorCode)response.ErrorCode} {response.ErrorMessage}");
        }

        return response.Topics.Where(t => t.Name == name).SelectMany(t => t.Partitions).Select(p => p.PartitionIndex).Order().ToArray();
    }

    public async Task<AdminResult> DeleteTopicAsync(string name, CancellationToken cancellationToken)
    {
        var connection = await ConnectionAsync(cancellationToken).ConfigureAwait(false);
        var version = connection.VersionFor(DeleteTopicsRequest.ApiKey, DeleteTopicsRequest.LowestVersion, DeleteTopicsRequest.HighestVersion);
        var request = new DeleteTopicsRequest { TimeoutMs = AdminTimeoutMs, TopicNames = [name], Topics = [new DeleteTopicsRequest.DeleteTopicState { Name = name }] };
        var response = await connection.SendAsync<DeleteTopicsResponse>(request, version, cancellationToken).ConfigureAwait(false);
        var result = response.Responses.FirstOrDefault(r => r.Name == name);
        return result is null ? new AdminResult(ErrorCode.UnknownServerError, "no result for the topic") : new AdminResult((ErrorCode)result.ErrorCode, result.ErrorMessage);
    }

    public async Task<AdminResult> UnregisterBrokerAsync(int brokerId, CancellationToken cancellationToken)
    {
        var connection = await ConnectionAsync(cancellationToken).ConfigureAwait(false);
        var version = connection.VersionFor(UnregisterBrokerRequest.ApiKey, UnregisterBrokerRequest.LowestVersion, UnregisterBrokerRequest.HighestVersion);
        var response = await connection.SendAsync<UnregisterBrokerResponse>(new UnregisterBrokerRequest { BrokerId = brokerId }, version, cancellationToken)
            .ConfigureAwait(false);
        return new AdminResult((ErrorCode)response.ErrorCode, response.ErrorMessage);
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection is not null)
        {
            await _connection.DisposeAsync().ConfigureAwait(false);
            _connection = null;
        }
    }

    private async Task<MetadataResponse> MetadataAsync(IReadOnlyCollection<string>? names, CancellationToken cancellationToken)
    {
        var connection = await ConnectionAsync(cancellationToken).ConfigureAwait(false);
        var version = connection.VersionFor(MetadataRequest.ApiKey, 1, MetadataRequest.HighestVersion);
        var request = new MetadataRequest
        {
            Topics = names?.Select(n => new MetadataRequest.MetadataRequestTopic { Name = n }).ToList(),
            AllowAutoTopicCreation = false,
        };
        return await connection.SendAsync<MetadataResponse>(request, version, cancellationToken).ConfigureAwait(false);
    }

    private async Task<AdminConnection> ConnectionAsync(CancellationToken cancellationToken)
    {
        if (_connection is { Broken: false })
        {
            return _connection;
        }

        if (_connection is not null)
        {
            await _connection.DisposeAsync().ConfigureAwait(false);
            _connection = null;
        }

        var failures = new List<string>();
        foreach (var address in bootstrapAddresses)
        {
            var colon = address.LastIndexOf(':');
            try
            {
                _connection = await AdminConnection.OpenAsync(address[..colon], int.Parse(address.AsSpan(colon + 1), System.Globalization.CultureInfo.InvariantCulture),
                    requestTimeout, cancellationToken).ConfigureAwait(false);
                return _connection;
            }
            catch (KafkaAdminException e)
            {
                failures.Add(e.Message);
            }
        }

        throw new KafkaAdminException("no broker answered: " + string.Join("; ", failures));
    }
}
