using System.Text;
using Tributary.Integration.Tests.Cluster;
using Tributary.Integration.Tests.Harness;
using Tributary.Integration.Tests.TxnLog;
using Tributary.Protocol;
using Tributary.Protocol.Messages;
using Xunit.Abstractions;
using IsolationLevel = Confluent.Kafka.IsolationLevel;

namespace Tributary.Integration.Tests.Transactions;

/// <summary>One broker that can coordinate transactions alone (<c>__transaction_state</c> with replication factor 1).</summary>
public sealed class TransactionCoordinatorBrokerFixture : BrokerFixture
{
    protected override IReadOnlyDictionary<string, string> Overrides { get; } = new Dictionary<string, string>
    {
        ["transaction.state.log.replication.factor"] = "1",
        ["transaction.state.log.min.isr"] = "1",
    };
}

/// <summary>
/// Transaction requests a well-behaved client never sends, on the raw wire to a real broker process: each answers Kafka's
/// error code and writes nothing (the partition's log end and the coordinator's state are checked afterwards).
/// </summary>
public sealed class TransactionBadInputTests(TransactionCoordinatorBrokerFixture fixture, ITestOutputHelper output)
    : IClassFixture<TransactionCoordinatorBrokerFixture>
{
    private const string StateTopic = "__transaction_state";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private KafkaClients Clients => new(fixture.Broker, new TestOutputSink(output));

    private TxnWire Wire => new("127.0.0.1", fixture.Broker.KafkaPort);

    [Fact]
    public async Task AddPartitionsToTxn_for_an_unknown_topic_is_unknown_topic_or_partition_and_adds_nothing()
    {
        var topic = KafkaClients.UniqueTopic("txn-bad-add");
        await Clients.CreateTopicAsync(topic, 1);
        const string transactionalId = "txn-bad-add-producer";
        var (producerId, epoch) = await InitTransactionalAsync(transactionalId);
        var stateEnd = await Wire.LatestOffsetAsync(StateTopic, TransactionClients.StatePartitionOf(transactionalId), readCommitted: false);

        var response = await SendAsync<AddPartitionsToTxnResponse>(new AddPartitionsToTxnRequest
        {
            V3AndBelowTransactionalId = transactionalId,
            V3AndBelowProducerId = producerId,
            V3AndBelowProducerEpoch = epoch,
            V3AndBelowTopics =
            [
                new() { Name = topic, Partitions = [0] },
                new() { Name = topic + "-missing", Partitions = [0, 1] },
                new() { Name = topic, Partitions = [9] },
            ],
        }, version: 3);

        var errors = response.ResultsByTopicV3AndBelow
            .SelectMany(t => t.ResultsByPartition.Select(p => ((t.Name, p.PartitionIndex), (ErrorCode)p.PartitionErrorCode)))
            .ToDictionary();
        // Kafka: every unknown partition answers UNKNOWN_TOPIC_OR_PARTITION, the request's valid ones OPERATION_NOT_ATTEMPTED.
        Assert.Equal(new Dictionary<(string, int), ErrorCode>
        {
            [(topic, 0)] = ErrorCode.OperationNotAttempted,
            [(topic, 9)] = ErrorCode.UnknownTopicOrPartition,
            [(topic + "-missing", 0)] = ErrorCode.UnknownTopicOrPartition,
            [(topic + "-missing", 1)] = ErrorCode.UnknownTopicOrPartition,
        }, errors);
        var described = await DescribeAsync(transactionalId);
        Assert.Equal((ErrorCode.None, "Empty", 0), ((ErrorCode)described.ErrorCode, described.TransactionState, described.Topics.Count));
        Assert.Equal(stateEnd, await Wire.LatestOffsetAsync(StateTopic, TransactionClients.StatePartitionOf(transactionalId), readCommitted: false));
    }

    [Fact]
    public async Task EndTxn_without_InitProducerId_is_invalid_producer_id_mapping_and_writes_nothing()
    {
        // Another transactional id first, so that __transaction_state exists and the coordinator is loaded.
        await InitTransactionalAsync("txn-bad-end-other");
        const string transactionalId = "txn-bad-end-never-initialised";
        var statePartition = TransactionClients.StatePartitionOf(transactionalId);
        var stateEnd = await Wire.LatestOffsetAsync(StateTopic, statePartition, readCommitted: false);

        var commit = await SendAsync<EndTxnResponse>(
            new EndTxnRequest { TransactionalId = transactionalId, ProducerId = 4242, ProducerEpoch = 0, Committed = true }, version: 3);
        var abort = await SendAsync<EndTxnResponse>(
            new EndTxnRequest { TransactionalId = transactionalId, ProducerId = 4242, ProducerEpoch = 0, Committed = false }, version: 3);

        Assert.Equal(ErrorCode.InvalidProducerIdMapping, (ErrorCode)commit.ErrorCode);
        Assert.Equal(ErrorCode.InvalidProducerIdMapping, (ErrorCode)abort.ErrorCode);
        Assert.Equal(ErrorCode.TransactionalIdNotFound, (ErrorCode)(await DescribeAsync(transactionalId)).ErrorCode);
        Assert.Equal(stateEnd, await Wire.LatestOffsetAsync(StateTopic, statePartition, readCommitted: false));
    }

    [Fact]
    public async Task A_marker_for_a_producer_without_an_open_transaction_is_written_alone_and_exposes_no_record()
    {
        // Kafka writes such a marker too (ProducerStateManager: a marker with no open transaction completes an empty one
        // at its own offset) because a coordinator retries markers until every partition acknowledged; it only refuses
        // a stale producer epoch (INVALID_PRODUCER_EPOCH) or coordinator epoch (TRANSACTION_COORDINATOR_FENCED, covered
        // in TxnLog/ReadCommittedTests). So the log end moves by the marker alone and no reader sees a record.
        var topic = KafkaClients.UniqueTopic("txn-bad-lone-marker");
        await Clients.CreateTopicAsync(topic, 1);
        var wire = Wire;
        var (producerId, epoch) = await wire.InitProducerIdAsync();
        Assert.Equal(ErrorCode.None, (await wire.ProduceAsync(topic, 0, producerId, epoch, 0, ["plain-0", "plain-1"], transactional: false)).Error);
        var end = await wire.LatestOffsetAsync(topic, 0, readCommitted: false);

        Assert.Equal([ErrorCode.None], await wire.WriteMarkerAsync(topic, [0], producerId, epoch, commit: false, coordinatorEpoch: 0));

        Assert.Equal(end + 1, await wire.LatestOffsetAsync(topic, 0, readCommitted: false));
        Assert.Equal(end + 1, await wire.LatestOffsetAsync(topic, 0, readCommitted: true));
        var config = Clients.ConsumerConfig();
        config.IsolationLevel = IsolationLevel.ReadUncommitted;
        Assert.Equal(["plain-0", "plain-1"], Clients.ReadToEnd(topic, 1, Timeout, config)[0].Select(r => Encoding.UTF8.GetString(r.Message.Value!)));
    }

    private async Task<(long ProducerId, short Epoch)> InitTransactionalAsync(string transactionalId)
    {
        // As a client does: FindCoordinator (key type 1) first, which creates __transaction_state; until its partition is
        // loaded the answers are COORDINATOR_NOT_AVAILABLE / COORDINATOR_LOAD_IN_PROGRESS / NOT_COORDINATOR, which clients retry.
        var coordinator = await Eventually.ValueAsync(
            () => SendAsync<FindCoordinatorResponse>(new FindCoordinatorRequest { KeyType = 1, CoordinatorKeys = [transactionalId] }, version: 4),
            r => (ErrorCode)Assert.Single(r.Coordinators).ErrorCode == ErrorCode.None,
            Timeout, TimeSpan.FromMilliseconds(200));
        Assert.Equal(fixture.Broker.KafkaPort, Assert.Single(coordinator.Coordinators).Port);
        var response = await Eventually.ValueAsync(
            () => SendAsync<InitProducerIdResponse>(new InitProducerIdRequest { TransactionalId = transactionalId, TransactionTimeoutMs = 60_000 }, version: 4),
            r => (ErrorCode)r.ErrorCode is not (ErrorCode.CoordinatorNotAvailable or ErrorCode.CoordinatorLoadInProgress or ErrorCode.NotCoordinator),
            Timeout, TimeSpan.FromMilliseconds(200));
        Assert.Equal(ErrorCode.None, (ErrorCode)response.ErrorCode);
        return (response.ProducerId, response.ProducerEpoch);
    }

    private async Task<DescribeTransactionsResponse.TransactionStateEntry> DescribeAsync(string transactionalId) =>
        Assert.Single((await SendAsync<DescribeTransactionsResponse>(new DescribeTransactionsRequest { TransactionalIds = [transactionalId] }, version: 0))
            .TransactionStates);

    private Task<TResponse> SendAsync<TResponse>(IRequestMessage request, short version)
        where TResponse : class, IResponseMessage =>
        RawKafkaExchange.SendAsync<TResponse>("127.0.0.1", fixture.Broker.KafkaPort, request, version, Timeout);
}
