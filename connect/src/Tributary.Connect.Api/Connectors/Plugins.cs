using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Tributary.Connect.Api.Config;
using Tributary.Connect.Api.Data;

namespace Tributary.Connect.Api.Connectors;

/// <summary>What the runtime gives a connector: a way to ask for its tasks to be reconfigured, or to fail it.</summary>
public interface IConnectorContext
{
    /// <summary>The connector's task configs changed (e.g. new tables): the runtime asks for them again.</summary>
    void RequestTaskReconfiguration();

    /// <summary>The connector cannot go on; it is shown FAILED with this error's trace.</summary>
    void RaiseError(Exception error);
}

/// <summary>A connector: validates its config and splits the work into task configs. Runs on one worker.</summary>
public abstract class Connector
{
    /// <summary>Set by the runtime before <see cref="Start"/>.</summary>
    public IConnectorContext? Context { get; set; }

    public abstract string Version { get; }

    public abstract ConfigDef Config { get; }

    public abstract Type TaskType { get; }

    public abstract void Start(IReadOnlyDictionary<string, string> props);

    /// <summary>Up to <paramref name="maxTasks"/> task configs.</summary>
    public abstract IReadOnlyList<IReadOnlyDictionary<string, string>> TaskConfigs(int maxTasks);

    public abstract void Stop();

    /// <summary>Per-key validation; a connector may override to add cross-key checks.</summary>
    public virtual List<ConfigValue> Validate(IReadOnlyDictionary<string, string> props) => Config.Validate(props);
}

/// <summary>A connector whose tasks read from an outside system into Kafka.</summary>
public abstract class SourceConnector : Connector
{
    /// <summary>
    /// Whether this connector's tasks can give exactly-once delivery with <paramref name="props"/> (KIP-618's
    /// exactlyOnceSupport): their source offsets must say exactly where to resume. Null means the connector does not say,
    /// and <c>exactly.once.support=required</c> is then refused.
    /// </summary>
    public virtual ExactlyOnceSupport? ExactlyOnceSupportFor(IReadOnlyDictionary<string, string> props) => null;

    /// <summary>Whether the tasks define their own transaction boundaries (<c>transaction.boundary=connector</c>) through <see cref="ISourceTaskContext.TransactionContext"/>.</summary>
    public virtual ConnectorTransactionBoundaries CanDefineTransactionBoundaries(IReadOnlyDictionary<string, string> props) => ConnectorTransactionBoundaries.UNSUPPORTED;
}

/// <summary>A source connector's answer to "can you deliver exactly once with this config" (Kafka's ExactlyOnceSupport).</summary>
public enum ExactlyOnceSupport
{
    SUPPORTED,
    UNSUPPORTED,
}

/// <summary>Whether a source connector can define its own transaction boundaries (Kafka's ConnectorTransactionBoundaries).</summary>
public enum ConnectorTransactionBoundaries
{
    SUPPORTED,
    UNSUPPORTED,
}

/// <summary>
/// Lets a source task of a connector with <c>transaction.boundary=connector</c> end the current transaction (Kafka's
/// TransactionContext). The request takes effect once the batch being returned from the current poll has been sent.
/// </summary>
public interface ITransactionContext
{
    /// <summary>Commits the open transaction (its records and source offsets) after the current batch.</summary>
    void CommitTransaction();

    /// <summary>Aborts the open transaction after the current batch: its records are never visible to read_committed readers and its offsets are not stored.</summary>
    void AbortTransaction();
}

/// <summary>A connector whose tasks write Kafka records into an outside system.</summary>
public abstract class SinkConnector : Connector
{
    public const string TopicsConfig = "topics";
    public const string TopicsRegexConfig = "topics.regex";
}

/// <summary>Reads the offsets source tasks committed earlier (by source partition).</summary>
public interface IOffsetStorageReader
{
    IReadOnlyDictionary<string, object?>? Offset(IReadOnlyDictionary<string, object?> partition);
}

/// <summary>What the runtime gives a source task.</summary>
public interface ISourceTaskContext
{
    IOffsetStorageReader OffsetStorageReader { get; }

    /// <summary>Set only for tasks of a connector with <c>transaction.boundary=connector</c> on a worker with exactly-once source support enabled.</summary>
    ITransactionContext? TransactionContext => null;

    /// <summary>The worker's logger for this task (its events show in the worker's log).</summary>
    ILogger Logger => NullLogger.Instance;
}

/// <summary>A unit of source work: polled for records in a loop by one worker.</summary>
public abstract class SourceTask
{
    public ISourceTaskContext? Context { get; set; }

    public abstract string Version { get; }

    public abstract void Start(IReadOnlyDictionary<string, string> props);

    /// <summary>The next batch, or null/empty when there is nothing yet (should not block for long; honour the token).</summary>
    public abstract Task<IReadOnlyList<SourceRecord>?> PollAsync(CancellationToken cancellation);

    /// <summary>Offsets up to the last polled batch were committed.</summary>
    public virtual void Commit()
    {
    }

    public abstract void Stop();
}

/// <summary>A Kafka topic partition, as sink tasks see it.</summary>
public readonly record struct TopicPartition(string Topic, int Partition);

/// <summary>What the runtime gives a sink task.</summary>
public interface ISinkTaskContext
{
    /// <summary>Asks for the consumer offsets to be committed soon.</summary>
    void RequestCommit();

    /// <summary>Where the task reports a record it cannot write (Kafka's errantRecordReporter()); null when the runtime has none.</summary>
    IErrantRecordReporter? ErrantRecordReporter => null;

    /// <summary>The worker's logger for this task (its events show in the worker's log).</summary>
    ILogger Logger => NullLogger.Instance;
}

/// <summary>
/// Kafka's ErrantRecordReporter: a sink task hands over a record it cannot write, and the runtime treats it by the
/// connector's errors.* settings (logged, sent to the dead letter queue with its error context, skipped under
/// errors.tolerance=all; the task fails under errors.tolerance=none, thrown from <see cref="Report"/>).
/// </summary>
public interface IErrantRecordReporter
{
    void Report(SinkRecord record, Exception error);
}

/// <summary>A unit of sink work: receives batches of records from one worker's consumer.</summary>
public abstract class SinkTask
{
    public ISinkTaskContext? Context { get; set; }

    public abstract string Version { get; }

    public abstract void Start(IReadOnlyDictionary<string, string> props);

    public abstract void Put(IReadOnlyCollection<SinkRecord> records);

    /// <summary>Makes everything put so far durable before the runtime commits <paramref name="currentOffsets"/> (next offset to read).</summary>
    public virtual void Flush(IReadOnlyDictionary<TopicPartition, long> currentOffsets)
    {
    }

    public abstract void Stop();
}

/// <summary>Turns Connect data into bytes and back (Kafka's Converter).</summary>
public interface IConverter
{
    ConfigDef Config { get; }

    void Configure(IReadOnlyDictionary<string, string> configs, bool isKey);

    byte[]? FromConnectData(string topic, Schema? schema, object? value);

    SchemaAndValue ToConnectData(string topic, byte[]? value);
}

/// <summary>A single-message transform (Kafka's Transformation): returns the changed record, or null to drop it.</summary>
public interface ITransform : IDisposable
{
    ConfigDef Config { get; }

    void Configure(IReadOnlyDictionary<string, string> configs);

    ConnectRecord? Apply(ConnectRecord record);
}

/// <summary>A condition on a record that decides whether a transform applies (Kafka's Predicate).</summary>
public interface IPredicate : IDisposable
{
    ConfigDef Config { get; }

    void Configure(IReadOnlyDictionary<string, string> configs);

    bool Test(ConnectRecord record);
}

/// <summary>An error a task can retry (Kafka's RetriableException): the runtime retries within errors.retry.timeout.</summary>
public class RetriableException : Exception
{
    public RetriableException(string message) : base(message)
    {
    }

    public RetriableException(string message, Exception inner) : base(message, inner)
    {
    }
}

/// <summary>A connector- or task-level failure (Kafka's ConnectException).</summary>
public class ConnectException : Exception
{
    public ConnectException(string message) : base(message)
    {
    }

    public ConnectException(string message, Exception inner) : base(message, inner)
    {
    }
}
