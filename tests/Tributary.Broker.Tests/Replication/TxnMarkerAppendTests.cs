using System.Collections.Immutable;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Tributary.Broker.Metadata;
using Tributary.Broker.Replication;
using Tributary.Protocol;
using Tributary.Protocol.Records;
using Tributary.Storage;

namespace Tributary.Broker.Tests.Replication;

/// <summary>Transactional produce and transaction markers through the replica manager onto a real log (one broker, RF 1).</summary>
public sealed class TxnMarkerAppendTests : IDisposable
{
    private const long Producer = 4242;
    private const long Now = 1_700_000_000_000;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private readonly string _logDir = Path.Combine(Path.GetTempPath(), "tributary-txn-markers-" + Guid.NewGuid().ToString("N"));
    private readonly TopicImage _topic = new("payments", Uuid.NewRandom(),
        [new PartitionImage(0, [1], 1, 0, [1]), new PartitionImage(1, [1, 2], 2, 0, [1, 2])], ImmutableDictionary<string, string>.Empty);

    private readonly LogManager _logs;
    private readonly ReplicaManager _replicas;

    public TxnMarkerAppendTests()
    {
        _logs = LogManager.Open(new LogManagerOptions { LogDirs = [_logDir] });
        _replicas = new ReplicaManager(1, _logs, _ => LogConfig.Default, _ => 1, NullLogger.Instance);
        var topics = ImmutableSortedDictionary<string, TopicImage>.Empty.WithComparers(StringComparer.Ordinal).Add(_topic.Name, _topic);
        _replicas.ApplyImage(new MetadataImage("cluster", 1, ImmutableDictionary<int, BrokerRegistration>.Empty, topics, 1));
    }

    public void Dispose()
    {
        _replicas.Dispose();
        _logs.Close();
        try
        {
            Directory.Delete(_logDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static byte[] TransactionalBatch(short epoch, int baseSequence, int count = 3)
    {
        var builder = new RecordBatchBuilder { ProducerId = Producer, ProducerEpoch = epoch, BaseSequence = baseSequence, IsTransactional = true };
        for (int i = 0; i < count; i++)
        {
            builder.Append(Now, null, Encoding.UTF8.GetBytes($"txn-record-{baseSequence + i}"));
        }

        return builder.Build();
    }

    private AppendOutcome Produce(byte[] batch) => _replicas.Append(_topic, 0, batch, acks: -1, 30_000, CancellationToken.None).Outcome;

    private async Task<ErrorCode> WriteMarkerAsync(int partition, short epoch, bool commit, int coordinatorEpoch)
    {
        PartitionAppend append = _replicas.AppendTxnMarker(_topic.Name, partition, Producer, epoch,
            new EndTransactionMarker(commit ? ControlRecordType.Commit : ControlRecordType.Abort, coordinatorEpoch), Timeout, CancellationToken.None);
        return append.Outcome.Error != ErrorCode.None ? append.Outcome.Error : await append.Committed;
    }

    private Partition Leader => _replicas.TryGetPartition(_topic.Name, 0, out Partition partition) ? partition : throw new InvalidOperationException();

    [Fact]
    public async Task A_transactional_batch_is_appended_and_holds_the_last_stable_offset_until_its_commit_marker()
    {
        AppendOutcome produced = Produce(TransactionalBatch(0, 0));

        Assert.Equal(ErrorCode.None, produced.Error);
        Assert.Equal(3, Leader.HighWatermark);
        Assert.Equal(0, Leader.LastStableOffset);

        Assert.Equal(ErrorCode.None, await WriteMarkerAsync(0, 0, commit: true, coordinatorEpoch: 1));

        Assert.Equal(4, Leader.HighWatermark);
        Assert.Equal(4, Leader.LastStableOffset);
    }

    [Fact]
    public async Task An_abort_marker_ends_the_transaction_and_is_listed_for_read_committed_fetches()
    {
        Produce(TransactionalBatch(0, 0));

        Assert.Equal(ErrorCode.None, await WriteMarkerAsync(0, 0, commit: false, coordinatorEpoch: 1));

        AbortedTransaction aborted = Assert.Single(Leader.Log.CollectAbortedTransactions(0, Leader.LastStableOffset));
        Assert.Equal((Producer, 0L, 3L), (aborted.ProducerId, aborted.FirstOffset, aborted.LastOffset));
    }

    [Fact]
    public async Task A_marker_with_a_stale_producer_epoch_is_invalid_producer_epoch_and_writes_nothing()
    {
        Produce(TransactionalBatch(3, 0));

        Assert.Equal(ErrorCode.InvalidProducerEpoch, await WriteMarkerAsync(0, 2, commit: true, coordinatorEpoch: 1));
        Assert.Equal(3, Leader.Log.LogEndOffset);
        Assert.Equal(0, Leader.LastStableOffset);
    }

    [Fact]
    public async Task A_marker_from_a_stale_coordinator_epoch_is_transaction_coordinator_fenced_and_writes_nothing()
    {
        Produce(TransactionalBatch(0, 0));
        Assert.Equal(ErrorCode.None, await WriteMarkerAsync(0, 0, commit: true, coordinatorEpoch: 5));
        Produce(TransactionalBatch(0, 3));

        Assert.Equal(ErrorCode.TransactionCoordinatorFenced, await WriteMarkerAsync(0, 0, commit: false, coordinatorEpoch: 4));
        Assert.Equal(7, Leader.Log.LogEndOffset);
        Assert.Equal(4, Leader.LastStableOffset);
    }

    [Fact]
    public async Task Markers_for_unknown_or_not_led_partitions_are_refused()
    {
        Assert.Equal(ErrorCode.NotLeaderOrFollower, await WriteMarkerAsync(1, 0, commit: true, coordinatorEpoch: 0));
        PartitionAppend unknown = _replicas.AppendTxnMarker("no-such-topic", 0, Producer, 0,
            new EndTransactionMarker(ControlRecordType.Commit, 0), Timeout, CancellationToken.None);
        Assert.Equal(ErrorCode.UnknownTopicOrPartition, unknown.Outcome.Error);
    }

    [Fact]
    public async Task After_a_marker_with_a_bumped_epoch_a_batch_of_the_old_epoch_is_fenced()
    {
        Produce(TransactionalBatch(0, 0));
        Assert.Equal(ErrorCode.None, await WriteMarkerAsync(0, 1, commit: false, coordinatorEpoch: 0));

        AppendOutcome zombie = Produce(TransactionalBatch(0, 3));

        Assert.Equal(ErrorCode.InvalidProducerEpoch, zombie.Error);
        Assert.Equal(4, Leader.Log.LogEndOffset);
    }
}
