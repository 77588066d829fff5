using Tributary.Broker.Metadata;
using Tributary.Broker.Requests;
using Tributary.Broker.Security;
using Tributary.Protocol;
using Tributary.Protocol.Messages;

namespace Tributary.Broker.Handlers;

/// <summary>Describes brokers, the controller and topics; creates requested topics when auto-creation is on.</summary>
public sealed class MetadataHandler(BrokerContext broker)
{
    /// <summary>Kafka's name of the one CLUSTER resource ("kafka-cluster").</summary>
    public const string ClusterResourceName = "kafka-cluster";

    public async ValueTask<IResponseMessage?> HandleAsync(RequestContext context, MetadataRequest request, CancellationToken cancellation)
    {
        var version = context.ApiVersion;
        var response = new MetadataResponse();
        IEnumerable<(TopicImage? Topic, string? Name, Uuid Id, ErrorCode Error)> topics;

        // v0: an empty list means all topics; v1+: null means all topics.
        var all = request.Topics is null || (version == 0 && request.Topics.Count == 0);
        if (all)
        {
            topics = broker.Image.Topics.Values.Select(t => ((TopicImage?)t, (string?)t.Name, t.Id, ErrorCode.None)).ToList();
        }
        else
        {
            var list = new List<(TopicImage?, string?, Uuid, ErrorCode)>();
            var allowAutoCreate = request.AllowAutoTopicCreation;
            foreach (var requested in request.Topics!)
            {
                if (requested.Name is null)
                {
                    var found = broker.Image.TopicsById.TryGetValue(requested.TopicId, out var byId);
                    list.Add(found ? (byId, byId!.Name, byId.Id, ErrorCode.None) : (null, null, requested.TopicId, ErrorCode.UnknownTopicId));
                    continue;
                }

                var (topic, error) = await broker.GetOrAutoCreateTopicAsync(requested.Name, allowAutoCreate, cancellation).ConfigureAwait(false);
                list.Add((topic, requested.Name, topic?.Id ?? Uuid.Zero, error));
            }

            topics = list;
        }

        var image = broker.Image;
        // Fenced brokers (not heartbeating, or still catching up) are not offered to clients, as in KRaft.
        foreach (var registration in image.Brokers.Values.Where(b => !b.Fenced).OrderBy(b => b.NodeId))
        {
            response.Brokers.Add(new MetadataResponse.MetadataResponseBroker
            {
                NodeId = registration.NodeId,
                Host = registration.Host,
                Port = registration.Port,
                Rack = registration.Rack,
            });
        }

        response.ClusterId = image.ClusterId;
        if (version is >= 8 and <= 10 && request.IncludeClusterAuthorizedOperations)
        {
            response.ClusterAuthorizedOperations = broker.Authorization.AuthorizedOperations(AclResourceType.Cluster, ClusterResourceName);
        }

        response.ControllerId = image.ClientVisibleControllerId;
        foreach (var (topic, name, id, error) in topics)
        {
            var entry = new MetadataResponse.MetadataResponseTopic
            {
                ErrorCode = (short)error,
                Name = name,
                TopicId = id,
                IsInternal = topic?.IsInternal ?? false,
            };
            if (version >= 8 && request.IncludeTopicAuthorizedOperations && name is not null)
            {
                entry.TopicAuthorizedOperations = broker.Authorization.AuthorizedOperations(AclResourceType.Topic, name);
            }

            if (topic is not null)
            {
                foreach (var partition in topic.Partitions)
                {
                    entry.Partitions.Add(new MetadataResponse.MetadataResponsePartition
                    {
                        ErrorCode = (short)(partition.IsOffline ? ErrorCode.LeaderNotAvailable : ErrorCode.None),
                        PartitionIndex = partition.Partition,
                        LeaderId = partition.Leader,
                        LeaderEpoch = partition.LeaderEpoch,
                        ReplicaNodes = [.. partition.Replicas],
                        IsrNodes = [.. partition.Isr],
                        OfflineReplicas = [.. partition.Replicas.Where(r => !image.Brokers.TryGetValue(r, out var b) || b.Fenced)],
                    });
                }
            }

            response.Topics.Add(entry);
        }

        return response;
    }
}
