using Tributary.Broker.Handlers;
using Tributary.Protocol;
using Tributary.Protocol.Messages;

namespace Tributary.Broker.Requests;

/// <summary>
/// Routes a decoded request to the handler of its API. Every API advertised in ApiVersions (the generated
/// <see cref="ApiCatalog"/>) has a handler here; a test checks that the two lists agree.
/// </summary>
public sealed class RequestDispatcher
{
    private readonly ApiVersionsHandler _apiVersions = new();
    private readonly MetadataHandler _metadata;
    private readonly ProduceHandler _produce;
    private readonly FetchHandler _fetch;
    private readonly ListOffsetsHandler _listOffsets;
    private readonly TopicAdminHandler _topics;
    private readonly ConfigsHandler _configs;
    private readonly ClusterInfoHandler _cluster;
    private readonly Producers.InitProducerIdHandler _initProducerId;
    private readonly Groups.GroupRequestHandler _groups;
    private readonly ReplicationAdminHandler _replication;
    private readonly Transactions.TransactionRequestHandler _transactions;
    private readonly WriteTxnMarkersHandler _writeTxnMarkers;
    private readonly Groups.TxnOffsetCommitHandler _txnOffsetCommit;
    private readonly DescribeProducersHandler _describeProducers;

    public RequestDispatcher(BrokerContext broker)
    {
        _metadata = new MetadataHandler(broker);
        _produce = new ProduceHandler(broker);
        _fetch = new FetchHandler(broker);
        _listOffsets = new ListOffsetsHandler(broker);
        _topics = new TopicAdminHandler(broker);
        _configs = new ConfigsHandler(broker);
        _cluster = new ClusterInfoHandler(broker);
        _initProducerId = new Producers.InitProducerIdHandler(broker.ProducerIds, broker.Transactions);
        _groups = new Groups.GroupRequestHandler(broker);
        _replication = new ReplicationAdminHandler(broker);
        _transactions = new Transactions.TransactionRequestHandler(broker);
        _writeTxnMarkers = new WriteTxnMarkersHandler(broker);
        _txnOffsetCommit = new Groups.TxnOffsetCommitHandler(broker);
        _describeProducers = new DescribeProducersHandler(broker);
    }

    /// <summary>The API keys this dispatcher answers; must equal the catalog's.</summary>
    public static IReadOnlyList<ApiKeys> HandledApis { get; } =
    [
        ApiKeys.Produce, ApiKeys.Fetch, ApiKeys.ListOffsets, ApiKeys.Metadata, ApiKeys.ApiVersions,
        ApiKeys.CreateTopics, ApiKeys.DeleteTopics, ApiKeys.DeleteRecords, ApiKeys.DescribeConfigs,
        ApiKeys.AlterConfigs, ApiKeys.DescribeLogDirs, ApiKeys.CreatePartitions, ApiKeys.IncrementalAlterConfigs,
        ApiKeys.DescribeCluster, ApiKeys.InitProducerId,
        ApiKeys.FindCoordinator, ApiKeys.JoinGroup, ApiKeys.SyncGroup, ApiKeys.Heartbeat, ApiKeys.LeaveGroup,
        ApiKeys.OffsetCommit, ApiKeys.OffsetFetch, ApiKeys.ListGroups, ApiKeys.DescribeGroups, ApiKeys.DeleteGroups,
        ApiKeys.OffsetDelete, ApiKeys.OffsetForLeaderEpoch, ApiKeys.ElectLeaders, ApiKeys.AlterPartitionReassignments,
        ApiKeys.ListPartitionReassignments, ApiKeys.DescribeQuorum, ApiKeys.UnregisterBroker,
        ApiKeys.AddPartitionsToTxn, ApiKeys.AddOffsetsToTxn, ApiKeys.EndTxn, ApiKeys.DescribeTransactions, ApiKeys.ListTransactions,
        ApiKeys.WriteTxnMarkers, ApiKeys.TxnOffsetCommit, ApiKeys.DescribeProducers,
    ];

    /// <summary>Answers one request; null means the request expects no response (Produce with acks=0).</summary>
    public ValueTask<IResponseMessage?> HandleAsync(RequestContext context, IRequestMessage request, CancellationToken cancellation) =>
        request switch
        {
            ApiVersionsRequest r => Done(_apiVersions.Handle(context, r)),
            MetadataRequest r => _metadata.HandleAsync(context, r, cancellation),
            ProduceRequest r => _produce.HandleAsync(context, r, cancellation),
            FetchRequest r => _fetch.HandleAsync(context, r, cancellation),
            ListOffsetsRequest r => Done(_listOffsets.Handle(context, r)),
            CreateTopicsRequest r => _topics.HandleAsync(context, r, cancellation),
            DeleteTopicsRequest r => _topics.HandleAsync(context, r, cancellation),
            CreatePartitionsRequest r => _topics.HandleAsync(context, r, cancellation),
            DeleteRecordsRequest r => Done(_topics.Handle(context, r)),
            DescribeConfigsRequest r => Done(_configs.Handle(context, r)),
            AlterConfigsRequest r => _configs.HandleAsync(context, r, cancellation),
            IncrementalAlterConfigsRequest r => _configs.HandleAsync(context, r, cancellation),
            DescribeClusterRequest r => Done(_cluster.Handle(context, r)),
            DescribeLogDirsRequest r => Done(_cluster.Handle(context, r)),
            InitProducerIdRequest r => _initProducerId.HandleAsync(context, r, cancellation),
            FindCoordinatorRequest r => _groups.HandleAsync(context, r, cancellation),
            JoinGroupRequest r => _groups.HandleAsync(context, r),
            SyncGroupRequest r => _groups.HandleAsync(context, r),
            HeartbeatRequest r => Done(_groups.Handle(context, r)),
            LeaveGroupRequest r => Done(_groups.Handle(context, r)),
            OffsetCommitRequest r => _groups.HandleAsync(context, r),
            OffsetFetchRequest r => Done(_groups.Handle(context, r)),
            ListGroupsRequest r => Done(_groups.Handle(context, r)),
            DescribeGroupsRequest r => Done(_groups.Handle(context, r)),
            DeleteGroupsRequest r => _groups.HandleAsync(context, r),
            OffsetDeleteRequest r => _groups.HandleAsync(context, r),
            OffsetForLeaderEpochRequest r => Done(_replication.Handle(context, r)),
            ElectLeadersRequest r => _replication.HandleAsync(context, r, cancellation),
            AlterPartitionReassignmentsRequest r => _replication.HandleAsync(context, r, cancellation),
            ListPartitionReassignmentsRequest r => Done(_replication.Handle(context, r)),
            DescribeQuorumRequest r => Done(_cluster.Handle(context, r)),
            UnregisterBrokerRequest r => _replication.HandleAsync(context, r, cancellation),
            AddPartitionsToTxnRequest r => _transactions.HandleAsync(context, r, cancellation),
            AddOffsetsToTxnRequest r => _transactions.HandleAsync(context, r, cancellation),
            EndTxnRequest r => _transactions.HandleAsync(context, r, cancellation),
            DescribeTransactionsRequest r => Done(_transactions.Handle(context, r)),
            ListTransactionsRequest r => Done(_transactions.Handle(context, r)),
            WriteTxnMarkersRequest r => _writeTxnMarkers.HandleAsync(context, r, cancellation),
            TxnOffsetCommitRequest r => _txnOffsetCommit.HandleAsync(context, r),
            DescribeProducersRequest r => Done(_describeProducers.Handle(context, r)),
            _ => throw new InvalidOperationException($"No handler for {request.GetType().Name}"),
        };

    /// <summary>The v0 answer to an ApiVersions request of a version we don't know (KIP-511).</summary>
    public static ApiVersionsResponse UnsupportedApiVersionsResponse()
    {
        var response = ApiVersionsHandler.Build();
        response.ErrorCode = (short)ErrorCode.UnsupportedVersion;
        return response;
    }

    private static ValueTask<IResponseMessage?> Done(IResponseMessage? response) => ValueTask.FromResult(response);
}
