using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Confluent.Kafka;
using Tributary.Connect.Api.Connectors;
using Tributary.Connect.Storage;

namespace Tributary.Connect.Runtime;

/// <summary>
/// KIP-618's exactly-once source task: one transactional producer (<c>transactional.id</c> = <c>{group.id}-{connector}-{task}</c>)
/// writes the task's records and the source offsets they reach in the same transaction, committed at the connector's
/// <c>transaction.boundary</c> (every poll, every <c>transaction.boundary.interval.ms</c>, or when the task asks). An aborted
/// or never committed transaction (a crash, a fenced zombie, a connector-defined abort) leaves neither records visible to
/// read_committed consumers nor offsets, so the restarted task resumes exactly after the last committed record.
/// </summary>
public sealed partial class WorkerSourceTask
{
    private static readonly TimeSpan TransactionTimeout = TimeSpan.FromSeconds(60);

    private enum Boundary
    {
        Poll,
        Interval,
        Connector,
    }

    /// <summary>What the task asked for through <see cref="ISourceTaskContext.TransactionContext"/> (connector-defined boundaries).</summary>
    private sealed class TransactionRequests : ITransactionContext
    {
        private int request; // 0 none, 1 commit, 2 abort (an abort wins over a commit asked for in the same batch)

        public void CommitTransaction() => Interlocked.CompareExchange(ref request, 1, 0);

        public void AbortTransaction() => Interlocked.Exchange(ref request, 2);

        public int Take() => Interlocked.Exchange(ref request, 0);
    }

    private TransactionRequests? transactionRequests;

    /// <summary>Set for tasks of a connector with <c>transaction.boundary=connector</c> when exactly-once source support is enabled.</summary>
    public ITransactionContext? TransactionContext => transactionRequests;

    private async Task ExecuteExactlyOnceAsync(SourceTask task, TransformationChain chain, IConverter keyConverter, IConverter valueConverter,
        ErrorHandler errors, CancellationToken cancellation)
    {
        var boundary = connectorConfig.GetValueOrDefault(ConnectorConfig.TransactionBoundary, "poll").Trim().ToLowerInvariant() switch
        {
            "interval" => Boundary.Interval,
            "connector" => Boundary.Connector,
            _ => Boundary.Poll,
        };
        var interval = TimeSpan.FromMilliseconds(
            connectorConfig.TryGetValue(ConnectorConfig.TransactionBoundaryIntervalMs, out var rawInterval) && rawInterval.Trim().Length > 0
                ? long.Parse(rawInterval.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture)
                : Worker.Config.OffsetFlushIntervalMs);
        transactionRequests = boundary == Boundary.Connector ? new TransactionRequests() : null;
        var transactionalId = Worker.Config.TransactionalId(Connector, Id);

        var ownTopic = connectorConfig.GetValueOrDefault(ConnectorConfig.OffsetsStorageTopic) is { } t && t.Trim().Length > 0 ? t.Trim() : null;
        var offsetsTopic = ownTopic ?? Worker.Config.OffsetTopic;
        await using var ownOffsets = ownTopic is null ? null
            : new KafkaOffsetBackingStore(Worker.Config.BootstrapServers, ownTopic, Worker.Config.OffsetPartitions, Worker.Config.OffsetReplicationFactor, $"connector-offsets-{Connector}-{Id}");

        using var producer = new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig
        {
            BootstrapServers = Worker.Config.BootstrapServers,
            LingerMs = 5,
        }.WithOverrides(Worker.Config.Subset("producer."), ConnectorConfig.Subset(connectorConfig, "producer.override."))
            .WithOverrides(new Dictionary<string, string>
            {
                // Not overridable: these make the producer transactional (as Kafka's worker forces them).
                ["client.id"] = $"connector-producer-{Connector}-{Id}",
                ["transactional.id"] = transactionalId,
                ["enable.idempotence"] = "true",
                ["acks"] = "all",
                ["max.in.flight.requests.per.connection"] = "5",
            })).Build();

        // Initialising the transactional id fences every older producer with the same id (a zombie of this task on another
        // worker) and aborts its open transaction, so the offsets read next are final.
        producer.InitTransactions(TransactionTimeout);
        if (ownOffsets is not null)
        {
            await ownOffsets.StartAsync(cancellation);
        }

        foreach (var (p, o) in await Worker.Offsets.ReadAsync(Connector, cancellation))
        {
            committed[OffsetJson.Canonical(p)] = o;
        }

        if (ownOffsets is not null)
        {
            // KIP-618: a connector's own offsets topic wins over the worker's global one.
            foreach (var (p, o) in await ownOffsets.ReadAsync(Connector, cancellation))
            {
                committed[OffsetJson.Canonical(p)] = o;
            }
        }

        task.Context = this;
        task.Start(TaskConfig);
        Worker.ReportTask(Connector, Id, IsPaused ? States.Paused : States.Running);
        ConnectLog.Started(Worker.Logger, "task", TaskId);
        ConnectLog.ExactlyOnceTaskStarted(Worker.Logger, TaskId, transactionalId, boundary.ToString().ToLowerInvariant(), offsetsTopic);

        var open = false;
        var pendingOffsets = new Dictionary<string, (JsonObject Partition, JsonObject Offset)>(StringComparer.Ordinal);
        var commitDue = long.MaxValue;
        try
        {
            while (!cancellation.IsCancellationRequested)
            {
                if (IsPaused && open)
                {
                    Commit(producer, offsetsTopic, pendingOffsets, task);
                    open = false;
                }

                await WaitWhilePausedAsync(cancellation);
                var batch = await task.PollAsync(cancellation);
                if (batch is { Count: > 0 })
                {
                    if (!open)
                    {
                        producer.BeginTransaction();
                        open = true;
                        commitDue = Worker.Time.GetTimestamp() + (long)(interval.TotalSeconds * Worker.Time.TimestampFrequency);
                    }

                    await SendTransactionalAsync(batch, chain, keyConverter, valueConverter, errors, producer, pendingOffsets, cancellation);
                }

                var request = transactionRequests?.Take() ?? 0;
                if (!open)
                {
                    continue;
                }

                if (request == 2)
                {
                    producer.AbortTransaction(TransactionTimeout);
                    open = false;
                    ConnectLog.TransactionAborted(Worker.Logger, TaskId, "the task asked for it (transaction.boundary=connector)");
                    pendingOffsets.Clear();
                    continue;
                }

                var due = boundary switch
                {
                    Boundary.Poll => true,
                    Boundary.Interval => Worker.Time.GetTimestamp() >= commitDue,
                    _ => request == 1,
                };
                if (due)
                {
                    Commit(producer, offsetsTopic, pendingOffsets, task);
                    open = false;
                }
            }
        }
        catch (KafkaException e) when (IsFenced(e.Error))
        {
            ConnectLog.TaskFenced(Worker.Logger, TaskId, transactionalId, e.Error.Reason);
            open = false; // a fenced producer can neither commit nor abort; the newer instance's initialisation aborted it
            throw new ConnectException($"Task {TaskId} was fenced: a newer instance of it (transactional.id {transactionalId}) has started. {e.Error.Reason}", e);
        }
        finally
        {
            if (open)
            {
                // Stopping or failing mid-transaction: nothing of it becomes visible, the next instance resumes from the last commit.
                try
                {
                    producer.AbortTransaction(TransactionTimeout);
                    ConnectLog.TransactionAborted(Worker.Logger, TaskId, cancellation.IsCancellationRequested ? "the task is stopping" : "the task failed");
                }
                catch (KafkaException e)
                {
                    if (IsFenced(e.Error))
                    {
                        ConnectLog.TaskFenced(Worker.Logger, TaskId, transactionalId, e.Error.Reason);
                    }
                    else
                    {
                        ConnectLog.Failed(Worker.Logger, e, "transaction abort of task", TaskId);
                    }
                }
            }

            task.Stop();
        }
    }

    private async Task SendTransactionalAsync(IReadOnlyList<Api.Data.SourceRecord> batch, TransformationChain chain, IConverter keyConverter, IConverter valueConverter,
        ErrorHandler errors, IProducer<byte[]?, byte[]?> producer, Dictionary<string, (JsonObject Partition, JsonObject Offset)> pendingOffsets, CancellationToken cancellation)
    {
        foreach (var original in batch)
        {
            if (original.SourcePartition is { } sp && original.SourceOffset is { } so)
            {
                var pj = OffsetJson.ToJson(sp);
                pendingOffsets[OffsetJson.Canonical(pj)] = (pj, OffsetJson.ToJson(so));
            }

            if (Convert(original, chain, keyConverter, valueConverter, errors) is not { } converted)
            {
                continue;
            }

            var (record, message) = converted;
            while (true)
            {
                try
                {
                    // No delivery handler: a failed send fails the transaction's commit, which fails the task (nothing of it is visible).
                    if (record.KafkaPartition is { } partition)
                    {
                        producer.Produce(new Confluent.Kafka.TopicPartition(record.Topic, partition), message);
                    }
                    else
                    {
                        producer.Produce(record.Topic, message);
                    }

                    break;
                }
                catch (ProduceException<byte[]?, byte[]?> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
                {
                    await Task.Delay(20, cancellation);
                }
            }
        }
    }

    /// <summary>Writes the transaction's source offsets to the offsets topic inside it, then commits records and offsets together.</summary>
    private void Commit(IProducer<byte[]?, byte[]?> producer, string offsetsTopic, Dictionary<string, (JsonObject Partition, JsonObject Offset)> pendingOffsets, SourceTask task)
    {
        foreach (var (_, (partition, offset)) in pendingOffsets)
        {
            producer.Produce(offsetsTopic, new Message<byte[]?, byte[]?>
            {
                Key = OffsetJson.Key(Connector, partition), Value = JsonSerializer.SerializeToUtf8Bytes(offset),
            });
        }

        producer.CommitTransaction(TransactionTimeout);
        foreach (var (k, v) in pendingOffsets)
        {
            committed[k] = v.Offset;
        }

        ConnectLog.TransactionCommitted(Worker.Logger, TaskId, pendingOffsets.Count);
        pendingOffsets.Clear();
        task.Commit();
    }

    /// <summary>PRODUCER_FENCED / INVALID_PRODUCER_EPOCH from the broker, or librdkafka's fatal "fenced" state.</summary>
    internal static bool IsFenced(Error error) =>
        error.Code is ErrorCode.ProducerFenced or ErrorCode.InvalidProducerEpoch or ErrorCode.Local_Fenced
        || (error.IsFatal && error.Reason.Contains("fenced", StringComparison.OrdinalIgnoreCase));
}
