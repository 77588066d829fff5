using System.Text;
using Confluent.Kafka;
using ErrorCode = Tributary.Protocol.ErrorCode;
using Tributary.Integration.Tests.Harness;
using Xunit.Abstractions;

namespace Tributary.Integration.Tests.TxnLog;

/// <summary>
/// Transactions on a real broker process, with the test as the transaction coordinator: transactional batches framed as a
/// transactional client sends them, markers through WriteTxnMarkers, and Confluent.Kafka (librdkafka) consumers reading with
/// read_committed against read_uncommitted.
/// </summary>
public sealed class ReadCommittedTests(DefaultBrokerFixture fixture, ITestOutputHelper output) : IClassFixture<DefaultBrokerFixture>
{
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(60);

    private KafkaClients Clients => new(fixture.Broker, new TestOutputSink(output));

    private TxnWire Wire => new("127.0.0.1", fixture.Broker.KafkaPort);

    private static List<string> Values(string prefix, int count) => [.. Enumerable.Range(0, count).Select(i => $"{prefix}-{i}")];

    private List<string> Read(string topic, bool readCommitted)
    {
        var config = Clients.ConsumerConfig();
        config.IsolationLevel = readCommitted ? IsolationLevel.ReadCommitted : IsolationLevel.ReadUncommitted;
        return [.. Clients.ReadToEnd(topic, 1, ReadTimeout, config)[0].Select(r => Encoding.UTF8.GetString(r.Message.Value!))];
    }

    [Fact]
    public async Task Read_committed_consumer_sees_committed_records_never_aborted_ones_and_stops_at_the_open_transaction()
    {
        var topic = KafkaClients.UniqueTopic("txn-read-committed");
        await Clients.CreateTopicAsync(topic, 1);
        var wire = Wire;
        var (producer, epoch) = await wire.InitProducerIdAsync();
        var committed = Values("committed", 5);
        var aborted = Values("aborted", 4);
        var open = Values("open", 3);

        Assert.Equal(ErrorCode.None, (await wire.ProduceAsync(topic, 0, producer, epoch, 0, committed)).Error);
        Assert.Equal([ErrorCode.None], await wire.WriteMarkerAsync(topic, [0], producer, epoch, commit: true, coordinatorEpoch: 0));
        Assert.Equal(ErrorCode.None, (await wire.ProduceAsync(topic, 0, producer, epoch, 5, aborted)).Error);
        Assert.Equal([ErrorCode.None], await wire.WriteMarkerAsync(topic, [0], producer, epoch, commit: false, coordinatorEpoch: 0));
        var (openError, openOffset) = await wire.ProduceAsync(topic, 0, producer, epoch, 9, open);
        Assert.Equal(ErrorCode.None, openError);

        // The open transaction holds the last stable offset at its first record; the high watermark is past it.
        Assert.Equal(openOffset, await wire.LatestOffsetAsync(topic, 0, readCommitted: true));
        Assert.Equal(openOffset + open.Count, await wire.LatestOffsetAsync(topic, 0, readCommitted: false));

        var uncommitted = Read(topic, readCommitted: false);
        Assert.Equal([.. committed, .. aborted, .. open], uncommitted);
        // Record by record: the read_uncommitted records without the aborted ones, and nothing at or past the LSO.
        Assert.Equal(uncommitted.Where(v => !aborted.Contains(v) && !open.Contains(v)), Read(topic, readCommitted: true));

        Assert.Equal([ErrorCode.None], await wire.WriteMarkerAsync(topic, [0], producer, epoch, commit: true, coordinatorEpoch: 0));

        Assert.Equal(openOffset + open.Count + 1, await wire.LatestOffsetAsync(topic, 0, readCommitted: true));
        Assert.Equal(uncommitted.Where(v => !aborted.Contains(v)), Read(topic, readCommitted: true));
    }

    [Fact]
    public async Task Markers_for_an_unknown_partition_a_stale_producer_epoch_or_a_stale_coordinator_epoch_are_refused_and_write_nothing()
    {
        var topic = KafkaClients.UniqueTopic("txn-bad-markers");
        await Clients.CreateTopicAsync(topic, 1);
        var wire = Wire;
        var (producer, epoch) = await wire.InitProducerIdAsync();
        Assert.Equal(ErrorCode.None, (await wire.ProduceAsync(topic, 0, producer, epoch, 0, Values("first", 2))).Error);
        Assert.Equal([ErrorCode.None], await wire.WriteMarkerAsync(topic, [0], producer, (short)(epoch + 1), commit: false, coordinatorEpoch: 4));
        var end = await wire.LatestOffsetAsync(topic, 0, readCommitted: false);

        Assert.Equal([ErrorCode.UnknownTopicOrPartition], await wire.WriteMarkerAsync(topic, [7], producer, (short)(epoch + 1), true, 4));
        Assert.Equal([ErrorCode.UnknownTopicOrPartition], await wire.WriteMarkerAsync(topic + "-missing", [0], producer, (short)(epoch + 1), true, 4));
        Assert.Equal([ErrorCode.InvalidProducerEpoch], await wire.WriteMarkerAsync(topic, [0], producer, epoch, true, 4));
        Assert.Equal([ErrorCode.TransactionCoordinatorFenced], await wire.WriteMarkerAsync(topic, [0], producer, (short)(epoch + 1), true, 3));
        // The abort marker bumped the epoch: a batch of the old epoch is a zombie's.
        Assert.Equal(ErrorCode.InvalidProducerEpoch, (await wire.ProduceAsync(topic, 0, producer, epoch, 2, Values("zombie", 1))).Error);

        Assert.Equal(end, await wire.LatestOffsetAsync(topic, 0, readCommitted: false));
        Assert.Equal(end, await wire.LatestOffsetAsync(topic, 0, readCommitted: true));
        Assert.Empty(Read(topic, readCommitted: true));
    }
}
