using Tributary.Broker.Metadata;
using Tributary.Broker.Requests;
using Tributary.Protocol;
using Tributary.Protocol.Messages;

namespace Tributary.Broker.Handlers;

/// <summary>
/// Replication-facing APIs: OffsetForLeaderEpoch (clients and tools find where an epoch ended, KIP-101/KIP-320),
/// ElectLeaders (preferred or unclean elections, KIP-460), AlterPartitionReassignments and ListPartitionReassignments
/// (KIP-455) — the last three go to the active controller.
/// </summary>
public sealed class ReplicationAdminHandler(BrokerContext broker)
{
    public OffsetForLeaderEpochResponse Handle(RequestContext context, OffsetForLeaderEpochRequest request)
    {
        var response = new OffsetForLeaderEpochResponse();
        foreach (var topic in request.Topics)
        {
            var topicResult = new OffsetForLeaderEpochResponse.OffsetForLeaderTopicResult { Topic = topic.Topic };
            response.Topics.Add(topicResult);
            foreach (var p in topic.Partitions)
            {
                var result = new OffsetForLeaderEpochResponse.EpochEndOffset { Partition = p.Partition, LeaderEpoch = -1, EndOffset = -1 };
                topicResult.Partitions.Add(result);
                // Only the leader answers, whoever asks (Kafka's lastOffsetForLeaderEpoch uses fetchOnlyFromLeader = true).
                Replication.Partition? partition = null;
                var lookup = broker.Image.Topics.ContainsKey(topic.Topic)
                    ? broker.Replicas.GetLeaderPartition(topic.Topic, p.Partition, p.CurrentLeaderEpoch, out partition)
                    : ErrorCode.UnknownTopicOrPartition;
                if (partition is null)
                {
                    result.ErrorCode = (short)lookup;
                    continue;
                }

                try
                {
                    var (epoch, endOffset) = partition.Log.EndOffsetForEpoch(p.LeaderEpoch);
                    result.LeaderEpoch = epoch;
                    result.EndOffset = endOffset;
                }
                catch (ObjectDisposedException)
                {
                    result.ErrorCode = (short)ErrorCode.NotLeaderOrFollower;
                }
            }
        }

        return response;
    }

    public async ValueTask<IResponseMessage?> HandleAsync(RequestContext context, ElectLeadersRequest request, CancellationToken cancellation)
    {
        var type = context.ApiVersion >= 1 ? (ElectionType)request.ElectionType : ElectionType.Preferred;
        var response = new ElectLeadersResponse();
        if (type is not (ElectionType.Preferred or ElectionType.Unclean))
        {
            response.ErrorCode = (short)ErrorCode.InvalidRequest;
            return response;
        }

        var partitions = request.TopicPartitions?.SelectMany(t => t.Partitions.Select(p => new TopicPartitionRef(t.Topic, p))).ToList();
        var reply = await broker.Controller.ElectLeadersAsync(type, partitions, cancellation).ConfigureAwait(false);
        // Kafka reports a request-level failure (e.g. no controller) on every partition asked about.
        var outcomes = reply.IsOk
            ? reply.Partitions
            : (partitions ?? []).Select(p => new PartitionOutcome(p.Topic, p.Partition, reply.Error, reply.Message)).ToList();
        response.ErrorCode = (short)(reply.IsOk ? ErrorCode.None : reply.Error);
        foreach (var group in outcomes.GroupBy(p => p.Topic))
        {
            response.ReplicaElectionResults.Add(new ElectLeadersResponse.ReplicaElectionResult
            {
                Topic = group.Key,
                PartitionResult = group.Select(p => new ElectLeadersResponse.PartitionResult
                {
                    PartitionId = p.Partition, ErrorCode = (short)p.Error, ErrorMessage = p.Message,
                }).ToList(),
            });
        }

        return response;
    }

    /// <summary>UnregisterBroker (KIP-856): the active controller removes the broker's registration.</summary>
    public async ValueTask<IResponseMessage?> HandleAsync(RequestContext context, UnregisterBrokerRequest request, CancellationToken cancellation)
    {
        var result = await broker.Controller.UnregisterBrokerAsync(request.BrokerId, cancellation).ConfigureAwait(false);
        return new UnregisterBrokerResponse
        {
            ErrorCode = (short)result.Error,
            ErrorMessage = result.Error == ErrorCode.None ? null : result.Message,
        };
    }

    public async ValueTask<IResponseMessage?> HandleAsync(RequestContext context, AlterPartitionReassignmentsRequest request,
        CancellationToken cancellation)
    {
        var targets = request.Topics
            .SelectMany(t => t.Partitions.Select(p => new ReassignmentTarget(t.Name, p.PartitionIndex, p.Replicas)))
            .ToList();
        var reply = await broker.Controller.AlterReassignmentsAsync(targets, cancellation).ConfigureAwait(false);
        var response = new AlterPartitionReassignmentsResponse { ErrorCode = (short)reply.Error, ErrorMessage = reply.IsOk ? null : reply.Message };
        var outcomes = reply.Partitions.ToDictionary(p => (p.Topic, p.Partition));
        foreach (var topic in request.Topics)
        {
            var topicResponse = new AlterPartitionReassignmentsResponse.ReassignableTopicResponse { Name = topic.Name };
            response.Responses.Add(topicResponse);
            foreach (var p in topic.Partitions)
            {
                var error = reply.IsOk ? ErrorCode.None : reply.Error;
                string? message = reply.IsOk ? null : reply.Message;
                if (outcomes.TryGetValue((topic.Name, p.PartitionIndex), out var outcome))
                {
                    error = outcome.Error;
                    message = outcome.Message;
                }

                topicResponse.Partitions.Add(new AlterPartitionReassignmentsResponse.ReassignablePartitionResponse
                {
                    PartitionIndex = p.PartitionIndex, ErrorCode = (short)error, ErrorMessage = message,
                });
            }
        }

        return response;
    }

    /// <summary>Ongoing reassignments as this broker's metadata image shows them.</summary>
    public ListPartitionReassignmentsResponse Handle(RequestContext context, ListPartitionReassignmentsRequest request)
    {
        var image = broker.Image;
        var response = new ListPartitionReassignmentsResponse();
        IEnumerable<(TopicImage Topic, IEnumerable<int> Partitions)> wanted = request.Topics is null
            ? image.Topics.Values.Select(t => (t, t.Partitions.Select(p => p.Partition)))
            : request.Topics.Where(t => image.Topics.ContainsKey(t.Name)).Select(t => (image.Topics[t.Name], (IEnumerable<int>)t.PartitionIndexes));
        foreach (var (topic, indexes) in wanted)
        {
            var ongoing = indexes
                .Where(i => i >= 0 && i < topic.Partitions.Length && topic.Partitions[i].IsReassigning)
                .Select(i => topic.Partitions[i])
                .Select(p => new ListPartitionReassignmentsResponse.OngoingPartitionReassignment
                {
                    PartitionIndex = p.Partition,
                    Replicas = [.. p.Replicas],
                    AddingReplicas = [.. p.AddingReplicas],
                    RemovingReplicas = [.. p.RemovingReplicas],
                })
                .ToList();
            if (ongoing.Count > 0)
            {
                response.Topics.Add(new ListPartitionReassignmentsResponse.OngoingTopicReassignment { Name = topic.Name, Partitions = ongoing });
            }
        }

        return response;
    }
}
