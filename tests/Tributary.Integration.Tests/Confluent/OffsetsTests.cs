using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Tributary.Integration.Tests.Harness;
using Xunit.Abstractions;

namespace Tributary.Integration.Tests.Confluent;

/// <summary>ListOffsets (watermarks, offsets for times) and DeleteRecords as Confluent.Kafka exposes them.</summary>
public sealed class OffsetsTests : IClassFixture<AdminBrokerFixture>, IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);
    private static readonly long FirstTimestampMs = new DateTimeOffset(2024, 6, 1, 12, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();

    private readonly BrokerProcess broker;
    private readonly KafkaClients clients;

    public OffsetsTests(AdminBrokerFixture fixture, ITestOutputHelper output)
    {
        broker = fixture.Broker;
        broker.Log.Attach(output);
        clients = new KafkaClients(broker, broker.Log);
    }

    public void Dispose() => broker.Log.Attach(null);

    [Fact]
    public async Task QueryWatermarkOffsets_reports_zero_and_the_record_count_for_a_fresh_topic()
    {
        var topic = await TopicWithRecordsAsync("watermarks", 25, timestampStepMs: 1);
        using var consumer = clients.CreateConsumer();

        var watermarks = consumer.QueryWatermarkOffsets(new TopicPartition(topic, 0), Timeout);

        Assert.Equal(0, watermarks.Low.Value);
        Assert.Equal(25, watermarks.High.Value);
    }

    [Fact]
    public async Task DeleteRecords_moves_the_low_watermark_to_the_requested_offset()
    {
        var topic = await TopicWithRecordsAsync("delete-records", 100, timestampStepMs: 1);
        using var admin = clients.CreateAdmin();

        var results = await admin.DeleteRecordsAsync(
            [new TopicPartitionOffset(topic, 0, 40)], new DeleteRecordsOptions { RequestTimeout = Timeout, OperationTimeout = Timeout });

        Assert.Equal(40, results.Single().Offset.Value);
        using var consumer = clients.CreateConsumer();
        var watermarks = consumer.QueryWatermarkOffsets(new TopicPartition(topic, 0), Timeout);
        Assert.Equal(40, watermarks.Low.Value);
        Assert.Equal(100, watermarks.High.Value);
    }

    [Fact]
    public async Task Consumer_from_Beginning_starts_at_the_low_watermark_after_DeleteRecords()
    {
        var topic = await TopicWithRecordsAsync("delete-then-read", 100, timestampStepMs: 1);
        using (var admin = clients.CreateAdmin())
        {
            await admin.DeleteRecordsAsync(
                [new TopicPartitionOffset(topic, 0, 40)], new DeleteRecordsOptions { RequestTimeout = Timeout, OperationTimeout = Timeout });
        }

        var consumed = clients.ReadToEnd(topic, 1, TimeSpan.FromSeconds(30))[0];

        Assert.Equal(Enumerable.Range(40, 60).Select(i => (long)i), consumed.Select(r => r.Offset.Value));
        Assert.Equal("v40", System.Text.Encoding.UTF8.GetString(consumed[0].Message.Value!));
    }

    [Theory]
    [InlineData(0, 0)]        // earlier than every record: the first one
    [InlineData(5_000, 5)]    // exactly a record's timestamp: that record
    [InlineData(5_500, 6)]    // between two records: the later one
    [InlineData(19_000, 19)]  // the last record
    public async Task OffsetsForTimes_returns_the_first_offset_whose_timestamp_is_at_or_after_the_target(long targetAfterFirstMs, long expectedOffset)
    {
        var topic = await TopicWithRecordsAsync("for-times", 20, timestampStepMs: 1_000);
        using var consumer = clients.CreateConsumer();

        var found = consumer.OffsetsForTimes(
            [new TopicPartitionTimestamp(topic, 0, new Timestamp(FirstTimestampMs + targetAfterFirstMs, TimestampType.CreateTime))], Timeout);

        Assert.Equal(expectedOffset, found.Single().Offset.Value);
    }

    [Fact]
    public async Task OffsetsForTimes_returns_End_when_every_record_is_older_than_the_target()
    {
        var topic = await TopicWithRecordsAsync("for-times-none", 20, timestampStepMs: 1_000);
        using var consumer = clients.CreateConsumer();

        var found = consumer.OffsetsForTimes(
            [new TopicPartitionTimestamp(topic, 0, new Timestamp(FirstTimestampMs + 60_000, TimestampType.CreateTime))], Timeout);

        Assert.Equal(Offset.End, found.Single().Offset); // Kafka answers offset -1 when no record is that recent
    }

    private async Task<string> TopicWithRecordsAsync(string purpose, int count, long timestampStepMs)
    {
        var topic = KafkaClients.UniqueTopic(purpose);
        await clients.CreateTopicAsync(topic, partitions: 1);
        using var producer = clients.CreateProducer();
        var reports = KafkaClients.ProduceAll(producer, topic, KafkaClients.NumberedMessages(count, FirstTimestampMs, timestampStepMs), Timeout);
        Assert.All(reports, r => Assert.False(r.Error.IsError, r.Error.ToString()));
        return topic;
    }
}
