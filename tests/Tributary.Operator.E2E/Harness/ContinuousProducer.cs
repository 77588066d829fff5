using System.Collections.Concurrent;
using Confluent.Kafka;

namespace Tributary.Operator.E2E.Harness;

/// <summary>
/// An idempotent acks=all producer writing numbered records as fast as acknowledgements come back, for as long as it
/// runs; it remembers every acknowledged record so a reader can prove none was lost.
/// </summary>
public sealed class ContinuousProducer : IAsyncDisposable
{
    private readonly IProducer<string, string> producer;
    private readonly string topic;
    private readonly CancellationTokenSource stop = new();
    private readonly ConcurrentDictionary<string, (int Partition, long Offset)> acknowledged = new();
    private readonly ConcurrentQueue<string> errors = new();
    private readonly Task loop;
    private long sent;

    public ContinuousProducer(string bootstrap, string topic)
    {
        this.topic = topic;
        producer = new ProducerBuilder<string, string>(new ProducerConfig
        {
            BootstrapServers = bootstrap,
            EnableIdempotence = true,
            Acks = Acks.All,
            LingerMs = 5,
            // Long enough to ride out a broker restart; the idempotent producer retries without duplicates or gaps.
            MessageTimeoutMs = 120000,
            BrokerAddressTtl = 1000,
        }).Build();
        loop = Task.Run(RunAsync);
    }

    public int AcknowledgedCount => acknowledged.Count;

    public IReadOnlyCollection<string> Errors => errors;

    public IReadOnlyDictionary<string, (int Partition, long Offset)> Acknowledged => acknowledged;

    private async Task RunAsync()
    {
        var inFlight = new SemaphoreSlim(200);
        while (!stop.IsCancellationRequested)
        {
            await inFlight.WaitAsync();
            var value = $"record-{Interlocked.Increment(ref sent):D9}";
            try
            {
                producer.Produce(topic, new Message<string, string> { Key = value, Value = value }, report =>
                {
                    if (report.Error.IsError)
                    {
                        errors.Enqueue($"{value}: {report.Error.Code} {report.Error.Reason}");
                    }
                    else
                    {
                        acknowledged[value] = (report.Partition.Value, report.Offset.Value);
                    }

                    inFlight.Release();
                });
            }
            catch (ProduceException<string, string> e)
            {
                errors.Enqueue($"{value}: {e.Error.Code} {e.Error.Reason}");
                inFlight.Release();
                await Task.Delay(100);
            }
        }
    }

    /// <summary>Stops producing and waits for every record in flight to be acknowledged or to fail.</summary>
    public async Task StopAsync()
    {
        await stop.CancelAsync();
        await loop;
        producer.Flush(TimeSpan.FromSeconds(150));
    }

    /// <summary>Reads the topic from the beginning to its end offsets; returns each record value found.</summary>
    public static HashSet<string> ReadAll(string bootstrap, string topic, TimeSpan timeout)
    {
        using var consumer = new ConsumerBuilder<string, string>(new ConsumerConfig
        {
            BootstrapServers = bootstrap,
            GroupId = "verify-" + Guid.NewGuid().ToString("N"),
            EnableAutoCommit = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            IsolationLevel = IsolationLevel.ReadCommitted,
        }).Build();
        using var admin = KafkaProbe.Admin(bootstrap);
        var metadata = admin.GetMetadata(topic, TimeSpan.FromSeconds(10));
        var partitions = metadata.Topics.Single().Partitions.Select(p => new TopicPartition(topic, p.PartitionId)).ToList();
        var ends = partitions.ToDictionary(p => p.Partition.Value, p => consumer.QueryWatermarkOffsets(p, TimeSpan.FromSeconds(10)).High.Value);
        consumer.Assign(partitions.Select(p => new TopicPartitionOffset(p, Offset.Beginning)));
        var found = new HashSet<string>();
        var positions = partitions.ToDictionary(p => p.Partition.Value, _ => -1L);
        var deadline = DateTime.UtcNow + timeout;
        while (positions.Any(p => p.Value + 1 < ends[p.Key]) && DateTime.UtcNow < deadline)
        {
            var result = consumer.Consume(TimeSpan.FromSeconds(1));
            if (result?.Message is null)
            {
                continue;
            }

            found.Add(result.Message.Value);
            positions[result.Partition.Value] = result.Offset.Value;
        }

        return found;
    }

    public async ValueTask DisposeAsync()
    {
        if (!stop.IsCancellationRequested)
        {
            await StopAsync();
        }

        producer.Dispose();
    }
}
