using System.Collections.Immutable;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Tributary.Broker.Metadata;
using Tributary.Broker.Replication;
using Tributary.Protocol;
using Tributary.Protocol.Records;
using Tributary.Storage;

namespace Tributary.Broker.Tests.Producers;

/// <summary>Produce of idempotent batches through the replica manager onto a real log.</summary>
public sealed class IdempotentProduceTests : IDisposable
{
    private const long Producer = 9001;
    private const long Now = 1_700_000_000_000;

    private readonly string _logDir = Path.Combine(Path.GetTempPath(), "tributary-idempotence-" + Guid.NewGuid().ToString("N"));
    private readonly TopicImage _topic = new("events", Uuid.NewRandom(),
        [new PartitionImage(0, [1], 1, 0, [1])], ImmutableDictionary<string, string>.Empty);

    private LogManager _logs;
    private ReplicaManager _replicas;

    public IdempotentProduceTests() => (_logs, _replicas) = Start();

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

    private (LogManager, ReplicaManager) Start()
    {
        LogManager logs = LogManager.Open(new LogManagerOptions { LogDirs = [_logDir] });
        var replicas = new ReplicaManager(1, logs, _ => LogConfig.Default, _ => 1, NullLogger.Instance);
        var topics = ImmutableSortedDictionary<string, TopicImage>.Empty.WithComparers(StringComparer.Ordinal).Add(_topic.Name, _topic);
        replicas.ApplyImage(new MetadataImage("cluster", 1, ImmutableDictionary<int, BrokerRegistration>.Empty, topics, 1));
        return (logs, replicas);
    }

    private static byte[] Batch(short epoch, int baseSequence, int count = 3, bool transactional = false)
    {
        var builder = new RecordBatchBuilder
        {
            ProducerId = Producer, ProducerEpoch = epoch, BaseSequence = baseSequence, IsTransactional = transactional,
        };
        for (int i = 0; i < count; i++)
        {
            builder.Append(Now, null, Encoding.UTF8.GetBytes($"record-{baseSequence + i}"));
        }

        return builder.Build();
    }

    private AppendOutcome Produce(byte[] batch) => _replicas.Append(_topic, 0, batch, acks: -1, 30_000, CancellationToken.None).Outcome;

    private long LogEndOffset => _replicas.TryGetPartition(_topic.Name, 0, out Partition partition) ? partition.Log.LogEndOffset : -1;

    [Fact]
    public void A_retried_produce_succeeds_with_the_original_base_offset_and_appends_nothing()
    {
        Produce(Batch(0, 0));
        Produce(Batch(0, 3));

        AppendOutcome retry = Produce(Batch(0, 0));

        Assert.Equal(ErrorCode.None, retry.Error);
        Assert.Equal(0, retry.BaseOffset);
        Assert.Equal(0, retry.RecordCount);
        Assert.Equal(6, LogEndOffset);
    }

    [Fact]
    public void A_sequence_gap_is_answered_with_out_of_order_sequence_number()
    {
        Produce(Batch(0, 0));

        AppendOutcome outcome = Produce(Batch(0, 7));

        Assert.Equal(ErrorCode.OutOfOrderSequenceNumber, outcome.Error);
        Assert.Equal(-1, outcome.BaseOffset);
        Assert.Equal(3, LogEndOffset);
    }

    [Fact]
    public void A_batch_from_an_older_epoch_is_answered_with_invalid_producer_epoch()
    {
        Produce(Batch(2, 0));

        AppendOutcome outcome = Produce(Batch(1, 3));

        Assert.Equal(ErrorCode.InvalidProducerEpoch, outcome.Error);
        Assert.Equal(3, LogEndOffset);
    }

    [Fact]
    public void A_retry_after_a_broker_restart_is_still_recognised_as_a_duplicate()
    {
        Produce(Batch(0, 0));
        Produce(Batch(0, 3));
        _replicas.Dispose();
        _logs.Close();
        (_logs, _replicas) = Start();

        AppendOutcome retry = Produce(Batch(0, 3));

        Assert.Equal(ErrorCode.None, retry.Error);
        Assert.Equal(3, retry.BaseOffset);
        Assert.Equal(6, LogEndOffset);
        Assert.Equal(6, Produce(Batch(0, 6)).BaseOffset);
    }
}
