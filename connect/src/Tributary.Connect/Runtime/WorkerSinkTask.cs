using System.Diagnostics;
using Confluent.Kafka;
using Tributary.Connect.Api.Connectors;
using Tributary.Connect.Api.Data;
using Tributary.Connect.Storage;
using TopicPartition = Tributary.Connect.Api.Connectors.TopicPartition;

namespace Tributary.Connect.Runtime;

/// <summary>
/// Consumes the connector's topics in the consumer group <c>connect-{connector}</c>, converts and transforms each record
/// (errors per errors.tolerance, tolerated ones to the DLQ), hands batches to the sink task, and commits consumer offsets
/// only after the task flushed them (every offset.flush.interval.ms, on revocation and on stop).
/// </summary>
public sealed class WorkerSinkTask : WorkerTask, ISinkTaskContext, IErrantRecordReporter
{
    private const int MaxBatch = 500;
    private static readonly TimeSpan BatchWait = TimeSpan.FromMilliseconds(200);

    private readonly IReadOnlyDictionary<string, string> connectorConfig;

    public IReadOnlyDictionary<string, string> ConnectorSettings => connectorConfig;
    private readonly Dictionary<TopicPartition, long> current = [];
    private readonly Dictionary<TopicPartition, long> lastCommitted = [];
    private volatile bool commitRequested;
    private SinkTask? task;
    private IConsumer<byte[]?, byte[]?>? consumer;
    private ErrorHandler? errorHandler;

    /// <summary>The raw records of the batch being put, for <see cref="Report"/> (the DLQ gets the original bytes).</summary>
    private readonly Dictionary<(string Topic, int Partition, long Offset), OriginalRecord> batchOriginals = [];

    public WorkerSinkTask(Worker worker, string connector, int id, IReadOnlyDictionary<string, string> connectorConfig,
        IReadOnlyDictionary<string, string> taskConfig, TargetState target)
        : base(worker, connector, id, taskConfig, target) => this.connectorConfig = connectorConfig;

    public static string GroupIdOf(string connector) => "connect-" + connector;

    public void RequestCommit() => commitRequested = true;

    public IErrantRecordReporter? ErrantRecordReporter => this;

    public Microsoft.Extensions.Logging.ILogger Logger => taskLogger ??= Worker.Loggers.CreateLogger("Tributary.Connect.Task." + TaskId);

    private Microsoft.Extensions.Logging.ILogger? taskLogger;

    public void Report(SinkRecord record, Exception error)
    {
        var original = batchOriginals.GetValueOrDefault((record.OriginalTopic, record.OriginalPartition, record.OriginalOffset));
        errorHandler!.Execute<object>(ErrorStage.TASK_PUT, task!.GetType(), () => throw error, original, out _);
    }

    protected override async Task ExecuteAsync(CancellationToken cancellation)
    {
        task = (SinkTask)Activator.CreateInstance(TaskTypeOf(Worker, connectorConfig))!;
        var keyConverter = CreateConverter(Worker, connectorConfig, isKey: true);
        var valueConverter = CreateConverter(Worker, connectorConfig, isKey: false);
        using var chain = TransformationChain.Build(Worker.Plugins, connectorConfig);
        var policy = ErrorPolicy.From(connectorConfig, sink: true);
        IProducer<byte[]?, byte[]?>? dlq = null;
        if (policy.DlqTopic is not null)
        {
            await EnsureTopicAsync(Worker.Config.BootstrapServers, policy.DlqTopic, policy.DlqReplicationFactor);
            dlq = new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig
            {
                BootstrapServers = Worker.Config.BootstrapServers, ClientId = $"connector-dlq-producer-{Connector}-{Id}", Acks = Acks.All, EnableIdempotence = true,
            }).Build();
        }

        var errors = new ErrorHandler(policy, Connector, Id, Worker.Logger, dlq, Worker.Time);
        errorHandler = errors;
        consumer = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = Worker.Config.BootstrapServers,
            GroupId = GroupIdOf(Connector),
            ClientId = $"connector-consumer-{Connector}-{Id}",
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            FetchWaitMaxMs = 100,
            PartitionAssignmentStrategy = PartitionAssignmentStrategy.CooperativeSticky,
        }.WithOverrides(Worker.Config.Subset("consumer."), ConnectorConfig.Subset(connectorConfig, "consumer.override.")))
            .SetPartitionsRevokedHandler((c, revoked) => CommitOffsets(revoked.Select(r => new TopicPartition(r.Topic, r.Partition.Value)).ToHashSet()))
            .SetPartitionsLostHandler((c, lost) =>
            {
                foreach (var l in lost)
                {
                    current.Remove(new TopicPartition(l.Topic, l.Partition.Value));
                }
            })
            .Build();
        try
        {
            var topics = connectorConfig.GetValueOrDefault(SinkConnector.TopicsConfig, "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var regex = connectorConfig.GetValueOrDefault(SinkConnector.TopicsRegexConfig, "").Trim();
            if (topics.Length > 0)
            {
                consumer.Subscribe(topics);
            }
            else if (regex.Length > 0)
            {
                consumer.Subscribe(regex.StartsWith('^') ? regex : "^" + regex);
            }
            else
            {
                throw new ConnectException("Must configure one of topics or topics.regex");
            }

            task.Context = this;
            task.Start(TaskConfig);
            Worker.ReportTask(Connector, Id, IsPaused ? States.Paused : States.Running);
            ConnectLog.Started(Worker.Logger, "task", TaskId);
            var sinceCommit = Stopwatch.StartNew();
            while (!cancellation.IsCancellationRequested)
            {
                await WaitWhilePausedAsync(cancellation);
                var batch = new List<SinkRecord>();
                batchOriginals.Clear();
                var clock = Stopwatch.StartNew();
                while (batch.Count < MaxBatch && clock.Elapsed < BatchWait && !cancellation.IsCancellationRequested)
                {
                    ConsumeResult<byte[]?, byte[]?>? r;
                    try
                    {
                        r = consumer.Consume(TimeSpan.FromMilliseconds(50));
                    }
                    catch (ConsumeException e) when (!e.Error.IsFatal)
                    {
                        // e.g. a subscribed topic that does not exist yet: librdkafka keeps retrying, and so do we.
                        ConnectLog.Retrying(Worker.Logger, TaskId, ErrorStage.KAFKA_CONSUME.ToString(), e.Error.Reason, 1);
                        await Task.Delay(500, cancellation);
                        continue;
                    }

                    if (r is null || r.IsPartitionEOF)
                    {
                        if (batch.Count > 0)
                        {
                            break;
                        }

                        continue;
                    }

                    var tp = new TopicPartition(r.Topic, r.Partition.Value);
                    var converted = Convert(r, keyConverter, valueConverter, chain, errors);
                    if (converted is not null)
                    {
                        batch.Add(converted);
                    }

                    current[tp] = r.Offset.Value + 1;
                }

                if (batch.Count > 0)
                {
                    await PutWithRetryAsync(batch, errors, cancellation);
                }

                if (commitRequested || sinceCommit.ElapsedMilliseconds >= Worker.Config.OffsetFlushIntervalMs)
                {
                    commitRequested = false;
                    CommitOffsets(null);
                    sinceCommit.Restart();
                }
            }
        }
        finally
        {
            try
            {
                CommitOffsets(null);
            }
            catch (Exception e) when (e is KafkaException or ConnectException)
            {
                ConnectLog.Failed(Worker.Logger, e, "final offset commit of task", TaskId);
            }

            task.Stop();
            try
            {
                consumer.Close();
            }
            catch (KafkaException)
            {
            }

            consumer.Dispose();
            dlq?.Flush(TimeSpan.FromSeconds(5));
            dlq?.Dispose();
        }
    }

    private SinkRecord? Convert(ConsumeResult<byte[]?, byte[]?> r, IConverter keyConverter, IConverter valueConverter, TransformationChain chain, ErrorHandler errors)
    {
        var original = new OriginalRecord(r.Topic, r.Partition.Value, r.Offset.Value, r.Message.Key, r.Message.Value, r.Message.Headers);
        batchOriginals[(r.Topic, r.Partition.Value, r.Offset.Value)] = original;
        var key = errors.Execute(ErrorStage.KEY_CONVERTER, keyConverter.GetType(), () => (SchemaAndValue?)keyConverter.ToConnectData(r.Topic, r.Message.Key), original, out var keyFailed);
        if (keyFailed)
        {
            return null;
        }

        var value = errors.Execute(ErrorStage.VALUE_CONVERTER, valueConverter.GetType(), () => (SchemaAndValue?)valueConverter.ToConnectData(r.Topic, r.Message.Value), original, out var valueFailed);
        if (valueFailed)
        {
            return null;
        }

        var headers = r.Message.Headers?.Select(h => new ConnectHeader(h.Key, h.GetValueBytes())).ToList();
        ConnectRecord? record = new SinkRecord(r.Topic, r.Partition.Value, key!.Value.Schema, key.Value.Value, value!.Value.Schema, value.Value.Value,
            r.Offset.Value, r.Message.Timestamp.Type == TimestampType.NotAvailable ? null : r.Message.Timestamp.UnixTimestampMs, headers);
        foreach (var stage in chain.Stages)
        {
            var currentRecord = record;
            record = errors.Execute(ErrorStage.TRANSFORMATION, stage.Transform.GetType(), () => stage.Applies(currentRecord) ? stage.Transform.Apply(currentRecord) : currentRecord, original, out var failed);
            if (failed || record is null)
            {
                return null;
            }
        }

        return (SinkRecord)record;
    }

    private async Task PutWithRetryAsync(List<SinkRecord> batch, ErrorHandler errors, CancellationToken cancellation)
    {
        var started = Worker.Time.GetTimestamp();
        var backoff = TimeSpan.FromMilliseconds(300);
        while (true)
        {
            try
            {
                task!.Put(batch);
                return;
            }
            catch (RetriableException e)
            {
                var limit = errors.Policy.RetryTimeoutMs;
                if (limit >= 0 && Worker.Time.GetElapsedTime(started).TotalMilliseconds >= Math.Max(limit, 0) && limit != 0)
                {
                    throw new ConnectException("Exiting WorkerSinkTask due to unrecoverable exception.", e);
                }

                // Kafka redelivers the batch after a retriable exception from put (RetriableException means "try again").
                ConnectLog.Retrying(Worker.Logger, TaskId, ErrorStage.TASK_PUT.ToString(), e.Message, 1);
                await Task.Delay(backoff, cancellation);
                backoff = TimeSpan.FromMilliseconds(Math.Min(backoff.TotalMilliseconds * 2, errors.Policy.RetryDelayMaxMs));
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                throw new ConnectException("Exiting WorkerSinkTask due to unrecoverable exception.", e);
            }
        }
    }

    /// <summary>Flushes the task and commits the offsets of <paramref name="only"/> (all assigned partitions when null).</summary>
    private void CommitOffsets(HashSet<TopicPartition>? only)
    {
        var offsets = current.Where(c => only is null || only.Contains(c.Key))
            .Where(c => !lastCommitted.TryGetValue(c.Key, out var last) || last != c.Value)
            .ToDictionary(c => c.Key, c => c.Value);
        if (offsets.Count == 0 || task is null || consumer is null)
        {
            return;
        }

        task.Flush(offsets);
        consumer.Commit(offsets.Select(o => new TopicPartitionOffset(o.Key.Topic, new Partition(o.Key.Partition), new Offset(o.Value))));
        foreach (var (k, v) in offsets)
        {
            lastCommitted[k] = v;
        }
    }
}
