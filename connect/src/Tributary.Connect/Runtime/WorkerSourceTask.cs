using System.Text.Json.Nodes;
using Confluent.Kafka;
using Tributary.Connect.Api.Connectors;
using Tributary.Connect.Api.Data;
using Tributary.Connect.Storage;

namespace Tributary.Connect.Runtime;

/// <summary>
/// Polls a source task, transforms and converts each record and produces it (acks=all, idempotent); once a batch is
/// acknowledged its source offsets are committed to the offset store (at-least-once: a crash between the two replays the
/// batch). With <c>exactly.once.source.support=enabled</c> the records and their offsets go in one producer transaction
/// instead (WorkerSourceTask.ExactlyOnce.cs).
/// </summary>
public sealed partial class WorkerSourceTask : WorkerTask, ISourceTaskContext, IOffsetStorageReader
{
    private readonly IReadOnlyDictionary<string, string> connectorConfig;

    public IReadOnlyDictionary<string, string> ConnectorSettings => connectorConfig;
    private Dictionary<string, JsonObject> committed = new(StringComparer.Ordinal);

    public WorkerSourceTask(Worker worker, string connector, int id, IReadOnlyDictionary<string, string> connectorConfig,
        IReadOnlyDictionary<string, string> taskConfig, TargetState target)
        : base(worker, connector, id, taskConfig, target) => this.connectorConfig = connectorConfig;

    public IOffsetStorageReader OffsetStorageReader => this;

    public Microsoft.Extensions.Logging.ILogger Logger => taskLogger ??= Worker.Loggers.CreateLogger("Tributary.Connect.Task." + TaskId);

    private Microsoft.Extensions.Logging.ILogger? taskLogger;

    public IReadOnlyDictionary<string, object?>? Offset(IReadOnlyDictionary<string, object?> partition) =>
        committed.TryGetValue(OffsetJson.Canonical(OffsetJson.ToJson(partition)), out var o) ? OffsetJson.FromJson(o) : null;

    protected override async Task ExecuteAsync(CancellationToken cancellation)
    {
        var task = (SourceTask)Activator.CreateInstance(TaskTypeOf(Worker, connectorConfig))!;
        var keyConverter = CreateConverter(Worker, connectorConfig, isKey: true);
        var valueConverter = CreateConverter(Worker, connectorConfig, isKey: false);
        using var chain = TransformationChain.Build(Worker.Plugins, connectorConfig);
        var errors = new ErrorHandler(ErrorPolicy.From(connectorConfig, sink: false), Connector, Id, Worker.Logger, null, Worker.Time);

        if (Worker.Config.ExactlyOnceSourceEnabled)
        {
            await ExecuteExactlyOnceAsync(task, chain, keyConverter, valueConverter, errors, cancellation);
            return;
        }

        foreach (var (p, o) in await Worker.Offsets.ReadAsync(Connector, cancellation))
        {
            committed[OffsetJson.Canonical(p)] = o;
        }

        using var producer = new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig
        {
            BootstrapServers = Worker.Config.BootstrapServers,
            ClientId = $"connector-producer-{Connector}-{Id}",
            Acks = Acks.All,
            EnableIdempotence = true,
            LingerMs = 5,
            MaxInFlight = 5,
        }.WithOverrides(Worker.Config.Subset("producer."), ConnectorConfig.Subset(connectorConfig, "producer.override."))).Build();

        task.Context = this;
        task.Start(TaskConfig);
        Worker.ReportTask(Connector, Id, IsPaused ? States.Paused : States.Running);
        ConnectLog.Started(Worker.Logger, "task", TaskId);
        try
        {
            while (!cancellation.IsCancellationRequested)
            {
                await WaitWhilePausedAsync(cancellation);
                var batch = await task.PollAsync(cancellation);
                if (batch is null || batch.Count == 0)
                {
                    continue;
                }

                await SendBatchAsync(batch, chain, keyConverter, valueConverter, errors, producer, cancellation);
                task.Commit();
            }
        }
        finally
        {
            task.Stop();
        }
    }

    private async Task SendBatchAsync(IReadOnlyList<SourceRecord> batch, TransformationChain chain, IConverter keyConverter, IConverter valueConverter,
        ErrorHandler errors, IProducer<byte[]?, byte[]?> producer, CancellationToken cancellation)
    {
        var offsets = new Dictionary<string, (JsonObject Partition, JsonObject Offset)>(StringComparer.Ordinal);
        Exception? deliveryError = null;
        var pending = 0;
        var allSent = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Interlocked.Increment(ref pending);
        foreach (var original in batch)
        {
            if (original.SourcePartition is { } sp && original.SourceOffset is { } so)
            {
                var pj = OffsetJson.ToJson(sp);
                offsets[OffsetJson.Canonical(pj)] = (pj, OffsetJson.ToJson(so));
            }

            if (Convert(original, chain, keyConverter, valueConverter, errors) is not { } converted)
            {
                continue;
            }

            var (record, message) = converted;
            Interlocked.Increment(ref pending);
            void Delivered(DeliveryReport<byte[]?, byte[]?> report)
            {
                if (report.Error.IsError)
                {
                    Interlocked.CompareExchange(ref deliveryError, new KafkaException(report.Error), null);
                }

                if (Interlocked.Decrement(ref pending) == 0)
                {
                    allSent.TrySetResult();
                }
            }

            while (true)
            {
                try
                {
                    if (record.KafkaPartition is { } partition)
                    {
                        producer.Produce(new Confluent.Kafka.TopicPartition(record.Topic, partition), message, Delivered);
                    }
                    else
                    {
                        producer.Produce(record.Topic, message, Delivered);
                    }

                    break;
                }
                catch (ProduceException<byte[]?, byte[]?> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
                {
                    await Task.Delay(50, cancellation);
                }
            }
        }

        if (Interlocked.Decrement(ref pending) == 0)
        {
            allSent.TrySetResult();
        }

        await allSent.Task.WaitAsync(cancellation);

        if (deliveryError is not null)
        {
            throw new ConnectException($"Unrecoverable exception from producer send callback: {deliveryError.Message}", deliveryError);
        }

        if (offsets.Count > 0)
        {
            await Worker.Offsets.WriteAsync(Connector, offsets.Values.Select(o => (o.Partition, (JsonObject?)o.Offset)).ToList(), CancellationToken.None);
            foreach (var (k, v) in offsets)
            {
                committed[k] = v.Offset;
            }

            ConnectLog.OffsetsCommitted(Worker.Logger, TaskId, offsets.Count);
        }
    }

    /// <summary>Transforms and converts one record; null when a transform dropped it or an error was tolerated.</summary>
    private static (ConnectRecord Record, Message<byte[]?, byte[]?> Message)? Convert(SourceRecord original, TransformationChain chain,
        IConverter keyConverter, IConverter valueConverter, ErrorHandler errors)
    {
        ConnectRecord? record = original;
        foreach (var stage in chain.Stages)
        {
            var current = record;
            record = errors.Execute(ErrorStage.TRANSFORMATION, stage.Transform.GetType(), () => stage.Applies(current) ? stage.Transform.Apply(current) : current, null, out var failed);
            if (failed || record is null)
            {
                record = null;
                break;
            }
        }

        if (record is null)
        {
            return null;
        }

        var key = errors.Execute(ErrorStage.KEY_CONVERTER, keyConverter.GetType(), () => keyConverter.FromConnectData(record.Topic, record.KeySchema, record.Key), null, out var keyFailed);
        if (keyFailed)
        {
            return null;
        }

        var value = errors.Execute(ErrorStage.VALUE_CONVERTER, valueConverter.GetType(), () => valueConverter.FromConnectData(record.Topic, record.ValueSchema, record.Value), null, out var valueFailed);
        if (valueFailed)
        {
            return null;
        }

        Headers? headers = null;
        if (record.Headers.Count > 0)
        {
            headers = [];
            foreach (var h in record.Headers)
            {
                headers.Add(h.Key, h.Value);
            }
        }

        var message = new Message<byte[]?, byte[]?> { Key = key, Value = value, Headers = headers };
        if (record.Timestamp is { } ts)
        {
            message.Timestamp = new Timestamp(ts, TimestampType.CreateTime);
        }

        return (record, message);
    }
}
