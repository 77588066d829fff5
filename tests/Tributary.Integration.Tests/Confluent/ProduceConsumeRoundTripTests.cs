using System.Buffers.Binary;
using System.Text;
using Confluent.Kafka;
using Tributary.Integration.Tests.Harness;
using Xunit.Abstractions;

namespace Tributary.Integration.Tests.Confluent;

/// <summary>Records produced by Confluent.Kafka come back from the broker exactly as sent, in order, for every codec.</summary>
public sealed class ProduceConsumeRoundTripTests : IClassFixture<DefaultBrokerFixture>, IDisposable
{
    private const int RecordCount = 100_000;
    private const int PartitionCount = 3;
    private static readonly TimeSpan ProduceTimeout = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan ConsumeTimeout = TimeSpan.FromSeconds(120);

    private readonly BrokerProcess broker;
    private readonly KafkaClients clients;
    private readonly ITestOutputHelper output;

    public ProduceConsumeRoundTripTests(DefaultBrokerFixture fixture, ITestOutputHelper output)
    {
        this.output = output;
        broker = fixture.Broker;
        broker.Log.Attach(output);
        clients = new KafkaClients(broker, broker.Log);
    }

    public void Dispose() => broker.Log.Attach(null);

    [Theory]
    [InlineData(CompressionType.None)]
    [InlineData(CompressionType.Gzip)]
    [InlineData(CompressionType.Snappy)]
    [InlineData(CompressionType.Lz4)]
    [InlineData(CompressionType.Zstd)]
    public async Task Keyed_records_with_headers_and_CreateTime_round_trip_in_produce_order_per_partition(CompressionType codec)
    {
        var topic = KafkaClients.UniqueTopic("roundtrip-" + codec.ToString().ToLowerInvariant());
        await clients.CreateTopicAsync(topic, PartitionCount);
        var firstTimestampMs = DateTimeOffset.UtcNow.AddHours(-1).ToUnixTimeMilliseconds();
        var messages = Enumerable.Range(0, RecordCount).Select(i => RoundTripMessage(i, codec, firstTimestampMs)).ToList();
        var config = clients.ProducerConfig();
        config.CompressionType = codec;

        IReadOnlyList<DeliveryReport<byte[]?, byte[]?>> reports;
        using (var producer = clients.CreateProducer(config))
        {
            reports = KafkaClients.ProduceAll(producer, topic, messages, ProduceTimeout);
        }

        var failed = reports.Select((r, i) => (r, i)).Where(x => x.r.Error.IsError).ToList();
        Assert.True(failed.Count == 0, $"{failed.Count} records not acknowledged; first: #{failed.FirstOrDefault().i} {failed.FirstOrDefault().r?.Error}");
        var expectedByPartition = Enumerable.Range(0, PartitionCount).ToDictionary(
            p => p, p => Enumerable.Range(0, RecordCount).Where(i => reports[i].Partition.Value == p).ToList());
        Assert.All(expectedByPartition, kv => Assert.NotEmpty(kv.Value)); // keys spread over all 3 partitions

        var consumed = clients.ReadToEnd(topic, PartitionCount, ConsumeTimeout);

        output.WriteLine($"{codec}: produced {RecordCount}, consumed {consumed.Values.Sum(l => l.Count)} " +
                         $"({string.Join(", ", consumed.Select(kv => $"p{kv.Key}={kv.Value.Count}"))})");
        Assert.Equal(RecordCount, consumed.Values.Sum(l => l.Count));
        foreach (var (partition, expectedIndexes) in expectedByPartition)
        {
            var actual = consumed[partition];
            Assert.Equal(expectedIndexes.Count, actual.Count);
            for (var n = 0; n < expectedIndexes.Count; n++)
            {
                var index = expectedIndexes[n];
                AssertSameRecord(messages[index], reports[index].Offset, actual[n], $"partition {partition}, position {n} (record #{index})");
            }
        }
    }

    [Fact]
    public async Task LogAppendTime_topic_returns_broker_append_time_instead_of_producer_timestamp()
    {
        var topic = KafkaClients.UniqueTopic("log-append-time");
        await clients.CreateTopicAsync(topic, 1, new Dictionary<string, string> { ["message.timestamp.type"] = "LogAppendTime" });
        var producerTimestampMs = new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();
        var messages = KafkaClients.NumberedMessages(1000, producerTimestampMs, timestampStepMs: 1);

        // The broker and this test share one clock, so the append times must fall inside the produce window.
        var windowStartMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        using (var producer = clients.CreateProducer())
        {
            var reports = KafkaClients.ProduceAll(producer, topic, messages, ProduceTimeout);
            Assert.All(reports, r => Assert.False(r.Error.IsError, r.Error.ToString()));
        }

        var windowEndMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        var consumed = clients.ReadToEnd(topic, 1, ConsumeTimeout)[0];

        Assert.Equal(messages.Count, consumed.Count);
        Assert.All(consumed, r =>
        {
            Assert.Equal(TimestampType.LogAppendTime, r.Message.Timestamp.Type);
            Assert.InRange(r.Message.Timestamp.UnixTimestampMs, windowStartMs, windowEndMs);
        });
    }

    private static Message<byte[]?, byte[]?> RoundTripMessage(int i, CompressionType codec, long firstTimestampMs)
    {
        var seq = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(seq, i);
        var headers = new Headers { { "seq", seq }, { "codec", Encoding.ASCII.GetBytes(codec.ToString()) } };
        if (i % 10 == 0)
        {
            headers.Add("nil", null); // a header whose value is null (length -1 on the wire)
        }

        return new Message<byte[]?, byte[]?>
        {
            Key = Encoding.UTF8.GetBytes($"key-{i}"),
            // Every 1000th record is a tombstone (null value); the rest vary in length 0..299 and compress well.
            Value = i % 1000 == 999 ? null : Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat($"value {i};", 40)))[..(i * 7919 % 300)],
            Headers = headers,
            Timestamp = new Timestamp(firstTimestampMs + i, TimestampType.CreateTime),
        };
    }

    private static void AssertSameRecord(Message<byte[]?, byte[]?> sent, Offset ackedOffset, ConsumeResult<byte[]?, byte[]?> got, string where)
    {
        Assert.True(got.Offset == ackedOffset, $"{where}: offset {got.Offset}, delivery report said {ackedOffset}");
        Assert.True(Same(sent.Key, got.Message.Key), $"{where}: key differs");
        Assert.True(Same(sent.Value, got.Message.Value), $"{where}: value differs ({Describe(sent.Value)} sent, {Describe(got.Message.Value)} read)");
        Assert.True(got.Message.Timestamp.Type == TimestampType.CreateTime, $"{where}: timestamp type {got.Message.Timestamp.Type}");
        Assert.True(
            got.Message.Timestamp.UnixTimestampMs == sent.Timestamp.UnixTimestampMs,
            $"{where}: timestamp {got.Message.Timestamp.UnixTimestampMs}, sent {sent.Timestamp.UnixTimestampMs}");
        var sentHeaders = sent.Headers.Select(h => (h.Key, Value: h.GetValueBytes())).ToList();
        var gotHeaders = (got.Message.Headers ?? []).Select(h => (h.Key, Value: h.GetValueBytes())).ToList();
        Assert.True(
            sentHeaders.Count == gotHeaders.Count && sentHeaders.Zip(gotHeaders).All(p => p.First.Key == p.Second.Key && Same(p.First.Value, p.Second.Value)),
            $"{where}: headers [{string.Join(", ", gotHeaders.Select(h => $"{h.Key}={Describe(h.Value)}"))}], sent [{string.Join(", ", sentHeaders.Select(h => $"{h.Key}={Describe(h.Value)}"))}]");
    }

    private static bool Same(byte[]? expected, byte[]? actual) =>
        expected is null ? actual is null : actual is not null && expected.AsSpan().SequenceEqual(actual);

    private static string Describe(byte[]? bytes) => bytes is null ? "null" : $"{bytes.Length} bytes";
}
