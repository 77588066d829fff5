using System.Collections.Concurrent;
using Confluent.Kafka;
using Confluent.Kafka.Admin;

namespace Tributary.Connect.Storage;

/// <summary>
/// A topic read from the beginning into memory and kept up to date (Kafka's KafkaBasedLog): one consumer assigned to every
/// partition reads on its own thread and hands each record to <c>onRecord</c>; writes go through an acks=all producer.
/// </summary>
public sealed class KafkaBasedLog : IAsyncDisposable
{
    private readonly string bootstrap;
    private readonly string topic;
    private readonly int partitions;
    private readonly short replicationFactor;
    private readonly Action<ConsumeResult<byte[]?, byte[]?>> onRecord;
    private readonly ConcurrentDictionary<int, long> nextOffset = new();
    private readonly CancellationTokenSource stop = new();
    private IConsumer<byte[]?, byte[]?>? consumer;
    private IProducer<byte[]?, byte[]?>? producer;
    private Thread? reader;
    private volatile Exception? readerFailure;

    public KafkaBasedLog(string bootstrap, string topic, int partitions, short replicationFactor, Action<ConsumeResult<byte[]?, byte[]?>> onRecord)
    {
        this.bootstrap = bootstrap;
        this.topic = topic;
        this.partitions = partitions;
        this.replicationFactor = replicationFactor;
        this.onRecord = onRecord;
    }

    public string Topic => topic;

    /// <summary>Creates the topic (compacted) when missing, starts reading, and returns once everything written before is read.</summary>
    public async Task StartAsync(string clientId, CancellationToken cancellation)
    {
        using (var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap, ClientId = clientId }).Build())
        {
            // A controller that is slow to answer (a loaded or electing quorum) is retried, as Kafka's admin client retries
            // REQUEST_TIMED_OUT; the topic may have been created meanwhile, which TopicAlreadyExists then says.
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await admin.CreateTopicsAsync([new TopicSpecification
                    {
                        Name = topic, NumPartitions = partitions, ReplicationFactor = replicationFactor,
                        Configs = new Dictionary<string, string> { ["cleanup.policy"] = "compact" },
                    }]);
                    break;
                }
                catch (CreateTopicsException e) when (e.Results.All(r => r.Error.Code is ErrorCode.TopicAlreadyExists or ErrorCode.NoError))
                {
                    break;
                }
                catch (CreateTopicsException e) when (attempt < 10 && e.Results.Any(r => r.Error.Code is ErrorCode.RequestTimedOut or ErrorCode.NotController or ErrorCode.Local_TimedOut))
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(500 * attempt), cancellation);
                }
            }

            var meta = admin.GetMetadata(topic, TimeSpan.FromSeconds(30));
            var actual = meta.Topics.FirstOrDefault(t => t.Topic == topic)?.Partitions.Count ?? 0;
            if (actual == 0)
            {
                throw new InvalidOperationException($"Topic {topic} has no partitions in the cluster metadata.");
            }

            foreach (var p in Enumerable.Range(0, actual))
            {
                nextOffset[p] = 0;
            }
        }

        producer = new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig
        {
            BootstrapServers = bootstrap, ClientId = clientId + "-" + topic, Acks = Acks.All, EnableIdempotence = true, LingerMs = 0,
        }).Build();
        consumer = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = bootstrap, ClientId = clientId + "-" + topic + "-reader", GroupId = clientId + "-" + topic + "-reader",
            EnableAutoCommit = false, EnableAutoOffsetStore = false, AutoOffsetReset = AutoOffsetReset.Earliest, FetchWaitMaxMs = 100,
            // Exactly-once source tasks write offsets inside transactions (KIP-618): only committed ones count.
            IsolationLevel = IsolationLevel.ReadCommitted,
            EnablePartitionEof = true,
        }).Build();
        consumer.Assign(nextOffset.Keys.Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
        reader = new Thread(ReadLoop) { IsBackground = true, Name = "log-" + topic };
        reader.Start();
        await ReadToEndAsync(cancellation);
    }

    private void ReadLoop()
    {
        try
        {
            while (!stop.IsCancellationRequested)
            {
                var r = consumer!.Consume(TimeSpan.FromMilliseconds(100));
                if (r is null)
                {
                    continue;
                }

                if (r.IsPartitionEOF)
                {
                    // At the end: everything below this offset is read (a trailing transaction marker included).
                    nextOffset.AddOrUpdate(r.Partition.Value, r.Offset.Value, (_, read) => Math.Max(read, r.Offset.Value));
                    continue;
                }

                onRecord(r);
                nextOffset[r.Partition.Value] = r.Offset.Value + 1;
            }
        }
        catch (ObjectDisposedException)
        {
        }
        catch (Exception e) when (!stop.IsCancellationRequested)
        {
            readerFailure = e;
        }
    }

    /// <summary>Waits until every record written to the topic before this call has been read.</summary>
    public async Task ReadToEndAsync(CancellationToken cancellation)
    {
        var targets = new Dictionary<int, long>();
        foreach (var p in nextOffset.Keys)
        {
            targets[p] = consumer!.QueryWatermarkOffsets(new TopicPartition(topic, p), TimeSpan.FromSeconds(10)).High.Value;
        }

        // The consumer's position, not the last record read: a transaction marker takes an offset but is never handed out.
        while (targets.Any(t => Position(t.Key) < t.Value))
        {
            if (readerFailure is { } failure)
            {
                throw new InvalidOperationException($"Reading {topic} failed: {failure.Message}", failure);
            }

            await Task.Delay(20, cancellation);
        }
    }

    private long Position(int partition)
    {
        var read = nextOffset[partition];
        try
        {
            var position = consumer!.Position(new TopicPartition(topic, partition));
            return position.IsSpecial ? read : Math.Max(read, position.Value);
        }
        catch (KafkaException)
        {
            return read;
        }
    }

    /// <summary>Writes one record and waits for it to be acknowledged by all in-sync replicas.</summary>
    public async Task<long> SendAsync(byte[] key, byte[]? value, int? partition = null)
    {
        var message = new Message<byte[]?, byte[]?> { Key = key, Value = value };
        var result = partition is { } p
            ? await producer!.ProduceAsync(new TopicPartition(topic, p), message)
            : await producer!.ProduceAsync(topic, message);
        return result.Offset.Value;
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        reader?.Join(TimeSpan.FromSeconds(5));
        try
        {
            consumer?.Close();
        }
        catch (KafkaException)
        {
        }

        consumer?.Dispose();
        producer?.Flush(TimeSpan.FromSeconds(5));
        producer?.Dispose();
        stop.Dispose();
    }
}
