using Tributary.Broker.Metadata;
using Tributary.Broker.Requests;
using Tributary.Protocol;
using Tributary.Protocol.Messages;

namespace Tributary.Broker.Handlers;

/// <summary>DescribeCluster (brokers, controller, cluster id) and DescribeLogDirs (where partitions live, sizes).</summary>
public sealed class ClusterInfoHandler(BrokerContext broker)
{
    public DescribeClusterResponse Handle(RequestContext context, DescribeClusterRequest request)
    {
        var image = broker.Image;
        var response = new DescribeClusterResponse
        {
            ClusterId = image.ClusterId,
            ControllerId = image.ClientVisibleControllerId,
            EndpointType = request.EndpointType,
        };
        if (request.IncludeClusterAuthorizedOperations)
        {
            response.ClusterAuthorizedOperations = broker.Authorization.AuthorizedOperations(
                Security.AclResourceType.Cluster, MetadataHandler.ClusterResourceName);
        }

        if (request.EndpointType != 1)
        {
            // 1 = brokers; 2 = controllers is for KIP-919 clients talking to a controller listener, which we don't expose.
            response.ErrorCode = (short)ErrorCode.UnsupportedEndpointType;
            response.ErrorMessage = "Only the broker endpoint type is served.";
            return response;
        }

        foreach (var b in image.Brokers.Values.Where(b => !b.Fenced).OrderBy(b => b.NodeId))
        {
            response.Brokers.Add(new DescribeClusterResponse.DescribeClusterBroker { BrokerId = b.NodeId, Host = b.Host, Port = b.Port, Rack = b.Rack });
        }

        return response;
    }

    public DescribeLogDirsResponse Handle(RequestContext context, DescribeLogDirsRequest request)
    {
        var response = new DescribeLogDirsResponse();
        HashSet<(string, int)>? wanted = request.Topics is null
            ? null
            : request.Topics.SelectMany(t => t.Partitions.Select(p => (t.Topic, p))).ToHashSet();
        foreach (var dir in broker.Logs.LogDirs)
        {
            var result = new DescribeLogDirsResponse.DescribeLogDirsResult { LogDir = dir };
            response.Results.Add(result);
            try
            {
                var drive = new DriveInfo(Path.GetFullPath(dir));
                result.TotalBytes = drive.TotalSize;
                result.UsableBytes = drive.AvailableFreeSpace;
            }
            catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException)
            {
                result.TotalBytes = -1;
                result.UsableBytes = -1;
            }

            var partitions = broker.Replicas.Partitions
                .Where(p => string.Equals(Path.GetFullPath(Path.GetDirectoryName(p.Log.Directory)!), Path.GetFullPath(dir), StringComparison.Ordinal))
                .Where(p => wanted is null || wanted.Contains((p.Topic, p.Index)))
                .GroupBy(p => p.Topic)
                .OrderBy(g => g.Key, StringComparer.Ordinal);
            foreach (var topic in partitions)
            {
                var topicResult = new DescribeLogDirsResponse.DescribeLogDirsTopic { Name = topic.Key };
                foreach (var p in topic.OrderBy(p => p.Index))
                {
                    topicResult.Partitions.Add(new DescribeLogDirsResponse.DescribeLogDirsPartition
                    {
                        PartitionIndex = p.Index,
                        PartitionSize = p.Log.SizeInBytes,
                        OffsetLag = 0,
                        IsFutureKey = false,
                    });
                }

                result.Topics.Add(topicResult);
            }
        }

        return response;
    }

    /// <summary>
    /// The metadata quorum as this node sees it (kafka-metadata-quorum describe). Only partition 0 of
    /// <c>__cluster_metadata</c> exists; anything else is UNKNOWN_TOPIC_OR_PARTITION on that partition, as Kafka answers.
    /// </summary>
    public DescribeQuorumResponse Handle(RequestContext context, DescribeQuorumRequest request)
    {
        var response = new DescribeQuorumResponse();
        var state = broker.QuorumState();
        foreach (var topic in request.Topics)
        {
            var topicData = new DescribeQuorumResponse.TopicData { TopicName = topic.TopicName };
            response.Topics.Add(topicData);
            foreach (var p in topic.Partitions)
            {
                var data = new DescribeQuorumResponse.PartitionData { PartitionIndex = p.PartitionIndex };
                topicData.Partitions.Add(data);
                if (topic.TopicName != QuorumDescription.TopicName || p.PartitionIndex != 0)
                {
                    data.ErrorCode = (short)ErrorCode.UnknownTopicOrPartition;
                    data.ErrorMessage = context.ApiVersion >= 2 ? ErrorCodes.DefaultMessage(ErrorCode.UnknownTopicOrPartition) : null;
                    continue;
                }

                data.LeaderId = state.LeaderId;
                data.LeaderEpoch = (int)Math.Min(int.MaxValue, state.Epoch);
                data.HighWatermark = state.HighWatermark;
                data.CurrentVoters = state.Voters.Select(ToReplicaState).ToList();
                data.Observers = state.Observers.Select(ToReplicaState).ToList();
            }
        }

        if (context.ApiVersion >= 2)
        {
            // v2 (KIP-853): each voter's listeners. Our voters are static (controller.quorum.voters), so, as Kafka does
            // for a static voter set, each has one endpoint named after the first controller listener, and its
            // directory id (ReplicaState.ReplicaDirectoryId) is the zero uuid.
            var config = broker.Config;
            var listenerName = config.ControllerListenerNames.Count > 0 ? config.ControllerListenerNames[0] : "CONTROLLER";
            foreach (var voter in config.ControllerQuorumVoters)
            {
                response.Nodes.Add(new DescribeQuorumResponse.Node
                {
                    NodeId = voter.NodeId,
                    Listeners = [new DescribeQuorumResponse.Listener { Name = listenerName, Host = voter.Host, Port = (ushort)voter.Port }],
                });
            }
        }

        return response;
    }

    private static DescribeQuorumResponse.ReplicaState ToReplicaState(QuorumReplicaDescription replica) => new()
    {
        ReplicaId = replica.ReplicaId,
        LogEndOffset = replica.LogEndOffset,
        LastFetchTimestamp = replica.LastFetchTimestamp,
        LastCaughtUpTimestamp = replica.LastCaughtUpTimestamp,
    };
}
