using System.Text;
using Confluent.Kafka;
using Tributary.Integration.Tests.Harness;
using Xunit.Abstractions;

namespace Tributary.Integration.Tests.Idempotence;

/// <summary>
/// A Produce response lost on the way back (a proxy swallows it) makes librdkafka time the request out and send the
/// batch again although the broker already appended it. With enable.idempotence the broker recognises the retry by
/// producer id and sequence and does not append it twice; without it the duplicate lands in the log.
/// </summary>
public sealed class LostProduceResponseTests(ITestOutputHelper output)
{
    private const int RecordCount = 2_000;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    public async Task Idempotent_producer_retrying_after_a_lost_produce_response_leaves_each_record_once_in_order(int maxInFlight)
    {
        var log = new TestOutputSink(output);
        await using var proxy = DroppingProxy.Start(log);
        await using var broker = await StartBehindAsync(proxy);
        var config = ProducerConfig(proxy);
        config.EnableIdempotence = true;
        config.MaxInFlight = maxInFlight;

        var (failed, records) = await ProduceThroughDroppedResponseAsync(broker, proxy, config);

        Assert.True(failed.Count == 0, $"{failed.Count} deliveries failed, first: {failed.FirstOrDefault()}.");
        Assert.Equal(1, proxy.DroppedResponses);
        Assert.True(proxy.RepeatedProduceRequests >= 1, "The producer never sent an identical Produce request again: no retry reached the broker.");
        Assert.Equal(Enumerable.Range(0, RecordCount).Select(i => $"v{i}"), records);
    }

    [Fact]
    public async Task Non_idempotent_producer_retrying_after_a_lost_produce_response_writes_a_duplicate()
    {
        var log = new TestOutputSink(output);
        await using var proxy = DroppingProxy.Start(log);
        await using var broker = await StartBehindAsync(proxy);
        var config = ProducerConfig(proxy);
        config.EnableIdempotence = false;
        config.MaxInFlight = 1;

        var (failed, records) = await ProduceThroughDroppedResponseAsync(broker, proxy, config);

        // This run is the control: it proves the proxy forced a real retry of an appended batch.
        Assert.True(failed.Count == 0, $"{failed.Count} deliveries failed instead of being retried, first: {failed.FirstOrDefault()}.");
        Assert.Equal(1, proxy.DroppedResponses);
        Assert.Equal(Enumerable.Range(0, RecordCount).Select(i => $"v{i}").ToHashSet(), records.ToHashSet());
        Assert.True(records.Count > RecordCount, $"The log holds {records.Count} records for {RecordCount} produced: the retried batch was not duplicated.");
    }

    /// <summary>A broker whose advertised listener is the proxy, so every client connection passes through it.</summary>
    private async Task<BrokerProcess> StartBehindAsync(DroppingProxy proxy)
    {
        var broker = await BrokerProcess.StartAsync(output, new Dictionary<string, string>
        {
            ["advertised.listeners"] = $"PLAINTEXT://127.0.0.1:{proxy.Port}",
        });
        proxy.ForwardTo(broker.KafkaPort);
        return broker;
    }

    private static ProducerConfig ProducerConfig(DroppingProxy proxy) => new()
    {
        BootstrapServers = $"127.0.0.1:{proxy.Port}",
        BrokerAddressFamily = BrokerAddressFamily.V4,
        Acks = Acks.All,
        // librdkafka's request.timeout.ms is only the broker-side ack timeout; the client times a ProduceRequest out
        // after the lesser of socket.timeout.ms and the first message's remaining message.timeout.ms, then drops the
        // connection (socket.max.fails=1) and sends the batch again on a new one.
        RequestTimeoutMs = 2_000,
        SocketTimeoutMs = 2_000,
        MessageTimeoutMs = 60_000, // long enough that the retry, not a message timeout, resolves the batch
        LingerMs = 5,
        BatchNumMessages = 100,
    };

    private async Task<(List<string> Failed, List<string> Records)> ProduceThroughDroppedResponseAsync(
        BrokerProcess broker, DroppingProxy proxy, ProducerConfig config)
    {
        var clients = new KafkaClients(broker, broker.Log);
        var topic = KafkaClients.UniqueTopic("lost-response");
        await clients.CreateTopicAsync(topic, partitions: 1);

        proxy.DropNextProduceResponse();
        var failed = new List<string>();
        using (var producer = clients.CreateProducer(config))
        {
            var reports = KafkaClients.ProduceAll(
                producer,
                topic,
                Enumerable.Range(0, RecordCount).Select(i => new Message<byte[]?, byte[]?> { Value = Encoding.UTF8.GetBytes($"v{i}") }).ToList(),
                Timeout);
            failed.AddRange(reports.Where(r => r.Error.IsError).Select(r => $"{Encoding.UTF8.GetString(r.Message.Value ?? [])}: {r.Error}"));
        }

        var consumerConfig = clients.ConsumerConfig();
        consumerConfig.BootstrapServers = $"127.0.0.1:{proxy.Port}";
        var records = clients.ReadToEnd(topic, 1, Timeout, consumerConfig)[0]
            .Select(r => Encoding.UTF8.GetString(r.Message.Value ?? []))
            .ToList();
        output.WriteLine(
            $"idempotence={config.EnableIdempotence}, max.in.flight={config.MaxInFlight}: produce requests through the proxy {proxy.ProduceRequests}, " +
            $"identical resends {proxy.RepeatedProduceRequests}, responses swallowed {proxy.DroppedResponses}, failed deliveries {failed.Count}, log holds {records.Count} records ({records.Distinct().Count()} distinct) for {RecordCount} produced");
        return (failed, records);
    }
}
