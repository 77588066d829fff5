using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Tributary.Connect.Api.Config;
using Tributary.Connect.Api.Connectors;

namespace Tributary.Connect.Runtime;

/// <summary>The stage of record processing an error happened in, named as Kafka reports it in DLQ headers and logs.</summary>
public enum ErrorStage
{
    KEY_CONVERTER,
    VALUE_CONVERTER,
    HEADER_CONVERTER,
    TRANSFORMATION,
    TASK_PUT,
    TASK_POLL,
    KAFKA_PRODUCE,
    KAFKA_CONSUME,
}

/// <summary>The <c>errors.*</c> settings of one connector.</summary>
public sealed record ErrorPolicy(bool TolerateAll, long RetryTimeoutMs, long RetryDelayMaxMs, bool LogEnable, bool LogIncludeMessages,
    string? DlqTopic, short DlqReplicationFactor, bool DlqContextHeaders)
{
    public static ErrorPolicy From(IReadOnlyDictionary<string, string> props, bool sink)
    {
        var c = ParsedConfig.Of(ConnectorConfig.Base(sink), props.Where(p => p.Key != ConnectorConfig.Name || p.Value.Length > 0).ToDictionary());
        var dlq = sink ? c.GetString(ConnectorConfig.DlqTopic) : null;
        return new ErrorPolicy(
            c.GetString(ConnectorConfig.ErrorsTolerance)!.Equals("all", StringComparison.OrdinalIgnoreCase),
            c.GetLong(ConnectorConfig.ErrorsRetryTimeout),
            c.GetLong(ConnectorConfig.ErrorsRetryDelayMax),
            c.GetBoolean(ConnectorConfig.ErrorsLogEnable),
            c.GetBoolean(ConnectorConfig.ErrorsLogIncludeMessages),
            string.IsNullOrWhiteSpace(dlq) ? null : dlq.Trim(),
            sink ? (short)ConfigDef.Parse(ConnectorConfig.DlqReplicationFactor, ConfigType.Short, props.GetValueOrDefault(ConnectorConfig.DlqReplicationFactor) ?? "3")! : (short)3,
            sink && c.GetBoolean(ConnectorConfig.DlqContextHeaders));
    }
}

/// <summary>The consumed record an error happened on, as the DLQ needs it (raw bytes and where it was read).</summary>
public sealed record OriginalRecord(string Topic, int Partition, long Offset, byte[]? Key, byte[]? Value, Headers? Headers);

/// <summary>Too many errors (errors.tolerance=none, or a non-tolerable one): the task fails with this.</summary>
public sealed class ToleranceExceededException(string message, Exception inner) : ConnectException(message, inner);

/// <summary>
/// Kafka's RetryWithToleranceOperator: runs one stage of record processing, retrying <see cref="RetriableException"/> with
/// exponential backoff (from 300 ms, capped at errors.retry.delay.max.ms) for up to errors.retry.timeout; a final failure
/// either fails the task (errors.tolerance=none) or is logged (errors.log.enable), sent to the DLQ and skipped (all).
/// </summary>
public sealed class ErrorHandler(ErrorPolicy policy, string connector, int taskId, ILogger logger, IProducer<byte[]?, byte[]?>? dlqProducer, TimeProvider time)
{
    private const string HeaderPrefix = "__connect.errors.";
    private static readonly TimeSpan InitialBackoff = TimeSpan.FromMilliseconds(300);

    public ErrorPolicy Policy => policy;

    /// <summary>Errors tolerated so far (skipped records).</summary>
    public long ToleratedErrors { get; private set; }

    /// <summary>The stage's result, or <c>failed=true</c> when the error was tolerated and the record should be skipped.</summary>
    public T? Execute<T>(ErrorStage stage, Type executingClass, Func<T?> operation, OriginalRecord? original, out bool failed)
    {
        var started = time.GetTimestamp();
        var backoff = InitialBackoff;
        var attempt = 0;
        while (true)
        {
            attempt++;
            try
            {
                failed = false;
                return operation();
            }
            catch (RetriableException e) when (CanRetry(started, ref backoff, stage, e, attempt))
            {
            }
            catch (Exception e) when (e is not ToleranceExceededException and not OperationCanceledException)
            {
                Report(stage, executingClass, e, original);
                if (!policy.TolerateAll)
                {
                    throw new ToleranceExceededException("Tolerance exceeded in error handler", e);
                }

                ToleratedErrors++;
                failed = true;
                return default;
            }
        }
    }

    private bool CanRetry(long started, ref TimeSpan backoff, ErrorStage stage, Exception e, int attempt)
    {
        var elapsed = time.GetElapsedTime(started);
        var limit = policy.RetryTimeoutMs < 0 ? TimeSpan.MaxValue : TimeSpan.FromMilliseconds(policy.RetryTimeoutMs);
        if (elapsed >= limit)
        {
            return false;
        }

        var delay = backoff;
        if (limit != TimeSpan.MaxValue && elapsed + delay > limit)
        {
            delay = limit - elapsed;
        }

        ConnectLog.Retrying(logger, $"{connector}-{taskId}", stage.ToString(), e.Message, attempt);
        Thread.Sleep(delay);
        var next = backoff * 2;
        var max = TimeSpan.FromMilliseconds(policy.RetryDelayMaxMs);
        backoff = next > max ? max : next;
        return true;
    }

    private void Report(ErrorStage stage, Type executingClass, Exception error, OriginalRecord? original)
    {
        if (policy.LogEnable)
        {
            var where = original is null ? "" : policy.LogIncludeMessages
                ? $" with consumed record {{topic='{original.Topic}', partition={original.Partition}, offset={original.Offset}}}"
                : $" with record at topic '{original.Topic}', partition {original.Partition}, offset {original.Offset}";
            ConnectLog.RecordError(logger, error, $"{connector}-{taskId}", stage.ToString(), ClassName(executingClass), where);
        }

        if (dlqProducer is null || policy.DlqTopic is null || original is null)
        {
            return;
        }

        var headers = new Headers();
        if (original.Headers is not null)
        {
            foreach (var h in original.Headers)
            {
                headers.Add(h.Key, h.GetValueBytes());
            }
        }

        if (policy.DlqContextHeaders)
        {
            void Add(string name, string? value)
            {
                if (value is not null)
                {
                    headers.Add(HeaderPrefix + name, Encoding.UTF8.GetBytes(value));
                }
            }

            Add("topic", original.Topic);
            Add("partition", original.Partition.ToString(CultureInfo.InvariantCulture));
            Add("offset", original.Offset.ToString(CultureInfo.InvariantCulture));
            Add("connector.name", connector);
            Add("task.id", taskId.ToString(CultureInfo.InvariantCulture));
            Add("stage", stage.ToString());
            Add("class.name", ClassName(executingClass));
            Add("exception.class.name", error.GetType().FullName);
            Add("exception.message", error.Message);
            Add("exception.stacktrace", error.ToString());
        }

        // Synchronous: the DLQ write is part of skipping the record (its offset is committed only afterwards).
        dlqProducer.ProduceAsync(policy.DlqTopic, new Message<byte[]?, byte[]?> { Key = original.Key, Value = original.Value, Headers = headers })
            .GetAwaiter().GetResult();
    }

    private static string ClassName(Type t) => (t.FullName ?? t.Name).Replace('+', '$');
}
