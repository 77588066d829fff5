using Tributary.Broker.Requests;
using Tributary.Protocol;
using Tributary.Protocol.Messages;

namespace Tributary.Broker.Transactions;

/// <summary>
/// Translates the transaction coordinator's client APIs (AddPartitionsToTxn, AddOffsetsToTxn, EndTxn,
/// DescribeTransactions, ListTransactions; InitProducerId and FindCoordinator reach the coordinator through their own
/// handlers) between their wire versions and the <see cref="TransactionCoordinator"/>.
/// </summary>
public sealed class TransactionRequestHandler(BrokerContext broker)
{
    /// <summary>Most partitions one AddPartitionsToTxn may name (a bound on what one request makes us write).</summary>
    private const int MaxPartitionsPerRequest = 100_000;

    private TransactionCoordinator? Coordinator => broker.Transactions;

    /// <summary>KIP-588: PRODUCER_FENCED exists from these versions on; older clients get INVALID_PRODUCER_EPOCH.</summary>
    private static ErrorCode ForVersion(ErrorCode error, short version, short firstFencedVersion) =>
        error == ErrorCode.ProducerFenced && version < firstFencedVersion ? ErrorCode.InvalidProducerEpoch : error;

    public async ValueTask<IResponseMessage?> HandleAsync(RequestContext context, AddPartitionsToTxnRequest request, CancellationToken cancellation)
    {
        var version = context.ApiVersion;
        var response = new AddPartitionsToTxnResponse();
        if (version < 4)
        {
            var results = await AddAsync(request.V3AndBelowTransactionalId, request.V3AndBelowProducerId, request.V3AndBelowProducerEpoch,
                verifyOnly: false, request.V3AndBelowTopics.Select(t => (t.Name, t.Partitions)), version, cancellation).ConfigureAwait(false);
            foreach (var topic in results.GroupBy(r => r.Partition.Topic, StringComparer.Ordinal))
            {
                var result = new AddPartitionsToTxnResponse.AddPartitionsToTxnTopicResult { Name = topic.Key };
                foreach (var (partition, error) in topic)
                {
                    result.ResultsByPartition.Add(new AddPartitionsToTxnResponse.AddPartitionsToTxnPartitionResult
                    {
                        PartitionIndex = partition.Partition,
                        PartitionErrorCode = (short)error,
                    });
                }

                response.ResultsByTopicV3AndBelow.Add(result);
            }

            return response;
        }

        foreach (var transaction in request.Transactions)
        {
            var results = await AddAsync(transaction.TransactionalId, transaction.ProducerId, transaction.ProducerEpoch, transaction.VerifyOnly,
                transaction.Topics.Select(t => (t.Name, t.Partitions)), version, cancellation).ConfigureAwait(false);
            var entry = new AddPartitionsToTxnResponse.AddPartitionsToTxnResult { TransactionalId = transaction.TransactionalId };
            foreach (var topic in results.GroupBy(r => r.Partition.Topic, StringComparer.Ordinal))
            {
                var result = new AddPartitionsToTxnResponse.AddPartitionsToTxnTopicResult { Name = topic.Key };
                foreach (var (partition, error) in topic)
                {
                    result.ResultsByPartition.Add(new AddPartitionsToTxnResponse.AddPartitionsToTxnPartitionResult
                    {
                        PartitionIndex = partition.Partition,
                        PartitionErrorCode = (short)error,
                    });
                }

                entry.TopicResults.Add(result);
            }

            response.ResultsByTransaction.Add(entry);
        }

        return response;
    }

    /// <summary>
    /// One transaction's partitions: unknown ones answer UNKNOWN_TOPIC_OR_PARTITION and the others OPERATION_NOT_ATTEMPTED,
    /// with nothing written (Kafka); otherwise the coordinator's answer for all of them. One result per distinct partition.
    /// </summary>
    private async Task<List<(TopicPartitionKey Partition, ErrorCode Error)>> AddAsync(string transactionalId, long producerId,
        short producerEpoch, bool verifyOnly, IEnumerable<(string Name, List<int> Partitions)> topics, short version,
        CancellationToken cancellation)
    {
        var requested = new List<TopicPartitionKey>();
        var unknown = new HashSet<TopicPartitionKey>();
        var image = broker.Image;
        foreach (var (name, partitions) in topics)
        {
            foreach (var partition in partitions)
            {
                var key = new TopicPartitionKey(name, partition);
                if (requested.Count > MaxPartitionsPerRequest)
                {
                    break;
                }

                requested.Add(key);
                if (!image.Topics.TryGetValue(name, out var known) || partition < 0 || partition >= known.Partitions.Length)
                {
                    unknown.Add(key);
                }
            }
        }

        requested = requested.Distinct().ToList();
        var errors = new Dictionary<TopicPartitionKey, ErrorCode>();
        if (Coordinator is null)
        {
            requested.ForEach(p => errors[p] = ErrorCode.CoordinatorNotAvailable);
        }
        else if (requested.Count > MaxPartitionsPerRequest)
        {
            requested.ForEach(p => errors[p] = ErrorCode.InvalidRequest);
        }
        else if (unknown.Count > 0)
        {
            requested.ForEach(p => errors[p] = unknown.Contains(p) ? ErrorCode.UnknownTopicOrPartition : ErrorCode.OperationNotAttempted);
        }
        else if (verifyOnly)
        {
            var (_, verified) = Coordinator.VerifyPartitions(transactionalId, producerId, producerEpoch, requested);
            foreach (var (partition, error) in verified)
            {
                errors[partition] = error;
            }
        }
        else
        {
            var error = await Coordinator.AddPartitionsAsync(transactionalId, producerId, producerEpoch, requested, cancellation).ConfigureAwait(false);
            requested.ForEach(p => errors[p] = error);
        }

        return requested.Select(p => (p, ForVersion(errors[p], version, 2))).ToList();
    }

    public async ValueTask<IResponseMessage?> HandleAsync(RequestContext context, AddOffsetsToTxnRequest request, CancellationToken cancellation)
    {
        ErrorCode error;
        if (Coordinator is null)
        {
            error = ErrorCode.CoordinatorNotAvailable;
        }
        else if (string.IsNullOrEmpty(request.GroupId))
        {
            error = ErrorCode.InvalidGroupId;
        }
        else
        {
            // The group's __consumer_offsets partition joins the transaction: the marker written there makes the
            // transaction's offset commits (TxnOffsetCommit) visible or drops them.
            var offsets = new TopicPartitionKey(Groups.OffsetsTopic.Name, broker.Groups.PartitionFor(request.GroupId));
            error = await Coordinator.AddPartitionsAsync(request.TransactionalId, request.ProducerId, request.ProducerEpoch, [offsets], cancellation)
                .ConfigureAwait(false);
        }

        return new AddOffsetsToTxnResponse { ErrorCode = (short)ForVersion(error, context.ApiVersion, 2) };
    }

    public async ValueTask<IResponseMessage?> HandleAsync(RequestContext context, EndTxnRequest request, CancellationToken cancellation)
    {
        var error = Coordinator is null
            ? ErrorCode.CoordinatorNotAvailable
            : await Coordinator.EndTransactionAsync(request.TransactionalId, request.ProducerId, request.ProducerEpoch, request.Committed, cancellation)
                .ConfigureAwait(false);
        return new EndTxnResponse { ErrorCode = (short)ForVersion(error, context.ApiVersion, 2) };
    }

    public IResponseMessage Handle(RequestContext context, DescribeTransactionsRequest request)
    {
        var response = new DescribeTransactionsResponse();
        foreach (var id in request.TransactionalIds.Distinct(StringComparer.Ordinal))
        {
            var described = Coordinator?.Describe(id)
                ?? new TransactionCoordinator.TransactionDescription(ErrorCode.CoordinatorNotAvailable, id, "", 0, -1, -1, -1, []);
            var entry = new DescribeTransactionsResponse.TransactionStateEntry
            {
                ErrorCode = (short)described.Error,
                TransactionalId = id,
                TransactionState = described.State,
                TransactionTimeoutMs = described.TimeoutMs,
                TransactionStartTimeMs = described.StartTimeMs,
                ProducerId = described.ProducerId,
                ProducerEpoch = described.ProducerEpoch,
            };
            foreach (var topic in described.Partitions.GroupBy(p => p.Topic, StringComparer.Ordinal))
            {
                entry.Topics.Add(new DescribeTransactionsResponse.TopicData { Topic = topic.Key, Partitions = topic.Select(p => p.Partition).ToList() });
            }

            response.TransactionStates.Add(entry);
        }

        return response;
    }

    public IResponseMessage Handle(RequestContext context, ListTransactionsRequest request)
    {
        var response = new ListTransactionsResponse();
        if (Coordinator is null)
        {
            response.ErrorCode = (short)ErrorCode.CoordinatorNotAvailable;
            return response;
        }

        var (error, unknownStates, transactions) = Coordinator.List(request.StateFilters, request.ProducerIdFilters,
            context.ApiVersion >= 1 ? request.DurationFilter : -1);
        response.ErrorCode = (short)error;
        response.UnknownStateFilters = unknownStates.ToList();
        foreach (var listed in transactions)
        {
            response.TransactionStates.Add(new ListTransactionsResponse.TransactionStateEntry
            {
                TransactionalId = listed.TransactionalId,
                ProducerId = listed.ProducerId,
                TransactionState = listed.State,
            });
        }

        return response;
    }
}
