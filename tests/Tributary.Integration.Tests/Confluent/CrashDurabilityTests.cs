using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Confluent.Kafka;
using Tributary.Integration.Tests.Harness;
using Xunit.Abstractions;

namespace Tributary.Integration.Tests.Confluent;

/// <summary>kill -9 of the broker in the middle of an acks=all stream loses no acknowledged record.</summary>
public sealed class CrashDurabilityTests(ITestOutputHelper output)
{
    private const int AcksBeforeKill = 3_000;
    private static readonly TimeSpan AckWaitTimeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Acknowledged_records_survive_kill_9_and_restart_with_contiguous_offsets()
    {
        await using var broker = await BrokerProcess.StartAsync(output, new Dictionary<string, string> { ["log.flush.interval.messages"] = "1" });
        var clients = new KafkaClients(broker, broker.Log);
        var topic = KafkaClients.UniqueTopic("crash");
        await clients.CreateTopicAsync(topic, partitions: 1);

        var acked = new ConcurrentDictionary<long, string>();
        var failedDeliveries = 0;
        var config = clients.ProducerConfig();
        config.LingerMs = 1;
        config.BatchNumMessages = 50; // many small produce requests, so the kill lands between and inside them
        config.MaxInFlight = 5; // several requests in flight when the broker dies; duplicates are allowed, loss is not
        config.MessageTimeoutMs = 5_000; // records stuck behind the dead broker fail fast instead of waiting for it
        config.QueueBufferingMaxMessages = 10_000; // back-pressure keeps the stream steady rather than a burst
        using var producer = clients.CreateProducer(config);
        using var stop = new CancellationTokenSource();
        var producing = Task.Run(() =>
        {
            long next = 0;
            while (!stop.IsCancellationRequested)
            {
                var value = $"value-{next:D9}";
                try
                {
                    producer.Produce(topic, new Message<byte[]?, byte[]?> { Value = Encoding.UTF8.GetBytes(value) }, report =>
                    {
                        if (report.Error.IsError)
                        {
                            Interlocked.Increment(ref failedDeliveries);
                        }
                        else
                        {
                            acked[report.Offset.Value] = value;
                        }
                    });
                    next++;
                }
                catch (ProduceException<byte[]?, byte[]?> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
                {
                    Thread.Sleep(5);
                }
            }

            return next;
        });

        var waited = Stopwatch.StartNew();
        while (acked.Count < AcksBeforeKill && waited.Elapsed < AckWaitTimeout && !producing.IsCompleted)
        {
            await Task.Delay(20);
        }

        Assert.True(acked.Count >= AcksBeforeKill, $"Only {acked.Count} acks after {waited.Elapsed.TotalSeconds:F0} s (failed deliveries: {failedDeliveries}).");
        broker.Kill();
        var ackedWhenKilled = acked.Count;
        await Task.Delay(200); // the producer keeps streaming into the dead broker for a moment
        await stop.CancelAsync();
        var produced = await producing;
        var unresolved = producer.Flush(TimeSpan.FromSeconds(30));
        Assert.Equal(0, unresolved); // every record is now either acknowledged or failed; the acked set is final

        await broker.RestartAsync();
        var recovery = broker.LastStartupDuration;
        var readBack = clients.ReadToEnd(topic, 1, TimeSpan.FromSeconds(60))[0];

        output.WriteLine(
            $"produced {produced}, acked {acked.Count} ({ackedWhenKilled} when killed), failed {failedDeliveries}, " +
            $"read back {readBack.Count}, recovery (process start to /readyz) {recovery.TotalMilliseconds:F0} ms");
        for (var position = 0; position < readBack.Count; position++)
        {
            Assert.True(readBack[position].Offset.Value == position, $"Offset gap: position {position} holds offset {readBack[position].Offset.Value}.");
        }

        var lost = acked.Keys.Where(offset => offset >= readBack.Count).Order().ToList();
        Assert.True(lost.Count == 0, $"{lost.Count} acknowledged records missing after restart (log ends at {readBack.Count}); first: offset {lost.FirstOrDefault()}.");
        foreach (var (offset, value) in acked)
        {
            var stored = Encoding.UTF8.GetString(readBack[(int)offset].Message.Value ?? []);
            Assert.True(stored == value, $"Offset {offset} was acknowledged as {value} but reads back as {stored}.");
        }
    }
}
