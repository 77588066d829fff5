using System.Collections.Immutable;
using Tributary.Broker.Metadata;
using Tributary.Broker.Requests;
using Tributary.Protocol;
using Tributary.Protocol.Messages;

namespace Tributary.Broker.Handlers;

/// <summary>Topic lifecycle for admin clients: create, delete, add partitions, delete records.</summary>
public sealed class TopicAdminHandler(BrokerContext broker)
{
    public async ValueTask<IResponseMessage?> HandleAsync(RequestContext context, CreateTopicsRequest request, CancellationToken cancellation)
    {
        var response = new CreateTopicsResponse();
        var duplicates = request.Topics.GroupBy(t => t.Name).Where(g => g.Count() > 1).Select(g => g.Key).ToHashSet();
        // Kafka's validateTotalNumberOfPartitions: the whole request is refused before anything is placed.
        var tooMany = QuorumController.RefuseIfTooManyRecords(request.Topics.Sum(t => (long)(t.Assignments.Count > 0 ? t.Assignments.Count
            : t.NumPartitions == -1 ? broker.Config.NumPartitions : Math.Max(t.NumPartitions, 0))), "this CreateTopics request asks for");
        var strict = context.ApiVersion >= 6; // KIP-599: older versions are throttled, never refused
        foreach (var topic in request.Topics)
        {
            var result = new CreateTopicsResponse.CreatableTopicResult { Name = topic.Name, NumPartitions = -1, ReplicationFactor = -1, Configs = null };
            response.Topics.Add(result);
            if (duplicates.Contains(topic.Name))
            {
                Fail(result, ErrorCode.InvalidRequest, $"Create topics request from client `{context.ClientId}` contains multiple entries for the following topics: {topic.Name}");
                continue;
            }

            if (tooMany is not null)
            {
                Fail(result, tooMany.Error, tooMany.Message);
                continue;
            }

            Dictionary<int, int[]>? assignments = null;
            if (topic.Assignments.Count > 0)
            {
                if (topic.NumPartitions != -1 || topic.ReplicationFactor != -1)
                {
                    Fail(result, ErrorCode.InvalidRequest, "Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.");
                    continue;
                }

                assignments = topic.Assignments.ToDictionary(a => a.PartitionIndex, a => a.BrokerIds.ToArray());
            }

            var configs = new Dictionary<string, string?>(StringComparer.Ordinal);
            foreach (var config in topic.Configs)
            {
                configs[config.Name] = config.Value;
            }

            var partitions = topic.NumPartitions == -1 ? broker.Config.NumPartitions : topic.NumPartitions;
            var replication = topic.ReplicationFactor == -1 ? (short)broker.Config.DefaultReplicationFactor : topic.ReplicationFactor;
            if (!request.ValidateOnly && Throttled(strict, assignments?.Count ?? partitions, response) is { } throttled)
            {
                Fail(result, ErrorCode.ThrottlingQuotaExceeded, throttled);
                continue;
            }
            var (outcome, created) = await broker.Controller.CreateTopicAsync(new NewTopic(topic.Name, partitions, replication, assignments, configs),
                request.ValidateOnly, cancellation).ConfigureAwait(false);
            if (!outcome.IsOk)
            {
                Fail(result, outcome.Error, outcome.Message);
                continue;
            }

            // validateOnly: describe what would have been created.
            created ??= new TopicImage(topic.Name, Uuid.Zero, [],
                configs.Where(kv => kv.Value is not null).ToImmutableDictionary(kv => kv.Key, kv => kv.Value!, StringComparer.Ordinal));
            result.TopicId = created.Id;
            result.NumPartitions = created.Partitions.Length > 0 ? created.Partitions.Length : assignments?.Count ?? partitions;
            result.ReplicationFactor = created.Partitions.Length > 0
                ? (short)created.Partitions[0].Replicas.Length
                : (short)(assignments?.Values.First().Length ?? replication);
            result.Configs = broker.DescribeTopicConfigs(created)
                .Select(c => new CreateTopicsResponse.CreatableTopicConfigs
                {
                    Name = c.Name,
                    Value = c.Value,
                    ReadOnly = c.ReadOnly,
                    ConfigSource = c.Source,
                    IsSensitive = c.IsSensitive,
                })
                .ToList();
        }

        await HoldBackAsync(strict, response.ThrottleTimeMs, cancellation).ConfigureAwait(false);
        return response;
    }

    public async ValueTask<IResponseMessage?> HandleAsync(RequestContext context, DeleteTopicsRequest request, CancellationToken cancellation)
    {
        var response = new DeleteTopicsResponse();
        var strict = context.ApiVersion >= 5;
        var requested = context.ApiVersion >= 6
            ? request.Topics.Select(t => (t.Name, t.TopicId)).ToList()
            : request.TopicNames.Select(n => ((string?)n, Uuid.Zero)).ToList();
        foreach (var (name, id) in requested)
        {
            var result = new DeleteTopicsResponse.DeletableTopicResult { Name = name, TopicId = id };
            response.Responses.Add(result);
            var image = broker.Image;
            TopicImage? topic = null;
            if (name is not null && id != Uuid.Zero)
            {
                result.ErrorCode = (short)ErrorCode.InvalidRequest;
                result.ErrorMessage = "A topic must be named by name or by id, not both.";
                continue;
            }

            var found = name is not null ? image.Topics.TryGetValue(name, out topic) : image.TopicsById.TryGetValue(id, out topic);
            if (!found)
            {
                result.ErrorCode = (short)(name is null ? ErrorCode.UnknownTopicId : ErrorCode.UnknownTopicOrPartition);
                result.ErrorMessage = name is null ? "This server does not host this topic ID." : "This server does not host this topic-partition.";
                continue;
            }

            result.Name = topic!.Name;
            result.TopicId = topic.Id;
            if (Throttled(strict, topic.Partitions.Length, response) is { } throttled)
            {
                result.ErrorCode = (short)ErrorCode.ThrottlingQuotaExceeded;
                result.ErrorMessage = throttled;
                continue;
            }

            var outcome = await broker.Controller.DeleteTopicAsync(topic.Name, cancellation).ConfigureAwait(false);
            result.ErrorCode = (short)outcome.Error;
            result.ErrorMessage = outcome.Message;
        }

        await HoldBackAsync(strict, response.ThrottleTimeMs, cancellation).ConfigureAwait(false);
        return response;
    }

    public async ValueTask<IResponseMessage?> HandleAsync(RequestContext context, CreatePartitionsRequest request, CancellationToken cancellation)
    {
        var response = new CreatePartitionsResponse();
        var duplicates = request.Topics.GroupBy(t => t.Name).Where(g => g.Count() > 1).Select(g => g.Key).ToHashSet();
        var image = broker.Image;
        long Added(CreatePartitionsRequest.CreatePartitionsTopic t) =>
            image.Topics.TryGetValue(t.Name, out var existing) ? Math.Max(0L, (long)t.Count - existing.Partitions.Length) : 0;
        var tooMany = QuorumController.RefuseIfTooManyRecords(request.Topics.Sum(Added), "this CreatePartitions request adds");
        var strict = context.ApiVersion >= 3;
        foreach (var topic in request.Topics)
        {
            var result = new CreatePartitionsResponse.CreatePartitionsTopicResult { Name = topic.Name };
            response.Results.Add(result);
            if (duplicates.Contains(topic.Name))
            {
                result.ErrorCode = (short)ErrorCode.InvalidRequest;
                result.ErrorMessage = "Duplicate topic in request.";
                continue;
            }

            if (tooMany is not null)
            {
                result.ErrorCode = (short)tooMany.Error;
                result.ErrorMessage = tooMany.Message;
                continue;
            }

            if (!request.ValidateOnly && Throttled(strict, (int)Math.Min(Added(topic), int.MaxValue), response) is { } throttled)
            {
                result.ErrorCode = (short)ErrorCode.ThrottlingQuotaExceeded;
                result.ErrorMessage = throttled;
                continue;
            }

            var assignments = topic.Assignments?.Select(a => a.BrokerIds.ToArray()).ToList();
            var outcome = await broker.Controller.CreatePartitionsAsync(topic.Name, topic.Count, assignments, request.ValidateOnly, cancellation)
                .ConfigureAwait(false);
            result.ErrorCode = (short)outcome.Error;
            result.ErrorMessage = outcome.Message;
        }

        await HoldBackAsync(strict, response.ThrottleTimeMs, cancellation).ConfigureAwait(false);
        return response;
    }

    public DeleteRecordsResponse Handle(RequestContext context, DeleteRecordsRequest request)
    {
        var response = new DeleteRecordsResponse();
        foreach (var topic in request.Topics)
        {
            var topicResult = new DeleteRecordsResponse.DeleteRecordsTopicResult { Name = topic.Name };
            response.Topics.Add(topicResult);
            foreach (var p in topic.Partitions)
            {
                var result = new DeleteRecordsResponse.DeleteRecordsPartitionResult { PartitionIndex = p.PartitionIndex, LowWatermark = -1 };
                topicResult.Partitions.Add(result);
                var lookup = broker.Replicas.GetLeaderPartition(topic.Name, p.PartitionIndex, -1, out var partition);
                if (partition is null)
                {
                    result.ErrorCode = (short)lookup;
                    continue;
                }

                // -1 means "up to the high watermark" (delete everything readable).
                var target = p.Offset == -1 ? partition.HighWatermark : p.Offset;
                if (target < 0 || target > partition.HighWatermark)
                {
                    result.ErrorCode = (short)ErrorCode.OffsetOutOfRange;
                    continue;
                }

                if (target > partition.Log.LogStartOffset)
                {
                    partition.Log.DeleteRecordsBefore(target);
                    partition.LogStartOffsetMoved();
                }

                result.LowWatermark = partition.Log.LogStartOffset;
            }
        }

        return response;
    }

    /// <summary>Older (permissive) versions are never refused by the quota; as Kafka mutes such a client's channel for
    /// the throttle time, the answer is held back that long, and this connection reads nothing meanwhile.</summary>
    private static Task HoldBackAsync(bool strict, int throttleMs, CancellationToken cancellation) =>
        strict || throttleMs <= 0 ? Task.CompletedTask : Task.Delay(throttleMs, cancellation);

    /// <summary>
    /// Charges <paramref name="partitions"/> to the controller mutation quota (KIP-599). Strict versions: a message for
    /// THROTTLING_QUOTA_EXCEEDED when the quota is in debt (nothing charged), else null. Older versions are always let
    /// through. Either way the response's throttle_time_ms says how long the client should wait.
    /// </summary>
    private string? Throttled(bool strict, int partitions, IResponseMessage response)
    {
        var quota = broker.MutationQuota;
        var throttleMs = strict ? quota.TryAcquire(partitions) : quota.Record(partitions);
        var refused = strict && throttleMs > 0;
        if (!refused)
        {
            throttleMs = quota.CurrentThrottleMs();
        }

        switch (response)
        {
            case CreateTopicsResponse r: r.ThrottleTimeMs = Math.Max(r.ThrottleTimeMs, throttleMs); break;
            case DeleteTopicsResponse r: r.ThrottleTimeMs = Math.Max(r.ThrottleTimeMs, throttleMs); break;
            case CreatePartitionsResponse r: r.ThrottleTimeMs = Math.Max(r.ThrottleTimeMs, throttleMs); break;
        }

        return refused
            ? $"The controller mutation quota (tributary.controller.mutation.rate) is exceeded; retry after {throttleMs} ms."
            : null;
    }

    private static void Fail(CreateTopicsResponse.CreatableTopicResult result, ErrorCode error, string? message)
    {
        result.ErrorCode = (short)error;
        result.ErrorMessage = message ?? ErrorCodes.DefaultMessage(error);
    }
}
