using System.Globalization;
using Microsoft.Extensions.Logging;
using Tributary.Broker.Config;
using Tributary.Broker.Metadata;
using Tributary.Broker.Replication;
using Tributary.Protocol;
using Tributary.Protocol.Records;

namespace Tributary.Broker.Transactions;

/// <summary>
/// The internal compacted topic <c>__transaction_state</c> as the transaction coordinator's log: created through the active
/// controller on first use with Kafka's settings (transaction.state.log.num.partitions, .replication.factor, .min.isr as
/// the topic's min.insync.replicas, .segment.bytes, cleanup.policy=compact), written through the replica manager with
/// acks=all, replayed when this broker becomes a partition's leader.
/// </summary>
public sealed partial class TransactionStateTopic : ITransactionStateLog, IDisposable
{
    /// <summary>Kafka's name for the topic.</summary>
    public const string Name = "__transaction_state";

    private static readonly TimeSpan CreateTimeout = TimeSpan.FromSeconds(30);

    private readonly BrokerConfig _config;
    private readonly ControllerGateway _controller;
    private readonly ReplicaManager _replicas;
    private readonly ILogger _logger;
    private readonly object _createGate = new();
    private Task<ErrorCode>? _creation;
    private bool _warnedTooFewBrokers;

    public TransactionStateTopic(BrokerConfig config, ControllerGateway controller, ReplicaManager replicas, ILogger logger)
    {
        _config = config;
        _controller = controller;
        _replicas = replicas;
        _logger = logger;
        _replicas.LeadershipChanged += OnReplicaLeadershipChanged;
    }

    public event Action<int, bool>? LeadershipChanged;

    public int PartitionCount =>
        _controller.Current.Topics.TryGetValue(Name, out var topic) ? topic.Partitions.Length : _config.GetInt("transaction.state.log.num.partitions");

    public bool Exists => _controller.Current.Topics.ContainsKey(Name);

    public bool Leads(int partition) => _replicas.TryGetPartition(Name, partition, out var replica) && replica.IsLeader;

    public int LeaderEpoch(int partition) =>
        _replicas.TryGetPartition(Name, partition, out var replica) && replica.IsLeader ? replica.LeaderEpoch : -1;

    public IReadOnlyList<int> LedPartitions() =>
        _replicas.Partitions.Where(p => p.Topic == Name && p.IsLeader).Select(p => p.Index).Order().ToList();

    /// <summary>Creates the topic unless it exists; concurrent callers share one attempt.</summary>
    public async Task<ErrorCode> EnsureCreatedAsync(CancellationToken cancellation)
    {
        if (Exists)
        {
            return ErrorCode.None;
        }

        Task<ErrorCode> creation;
        lock (_createGate)
        {
            creation = _creation ??= CreateAsync();
        }

        try
        {
            return await creation.WaitAsync(cancellation).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return ErrorCode.CoordinatorNotAvailable;
        }
        finally
        {
            if (creation.IsCompleted)
            {
                lock (_createGate)
                {
                    if (ReferenceEquals(_creation, creation))
                    {
                        _creation = null;
                    }
                }
            }
        }
    }

    private async Task<ErrorCode> CreateAsync()
    {
        // As Kafka: never with fewer replicas than configured (a single node sets transaction.state.log.replication.factor=1).
        var brokers = _controller.Current.Brokers.Values.Count(b => b.IsActive);
        var replicationFactor = (short)_config.GetInt("transaction.state.log.replication.factor");
        if (replicationFactor > brokers)
        {
            if (!_warnedTooFewBrokers)
            {
                _warnedTooFewBrokers = true;
                LogTooFewBrokers(_logger, replicationFactor, brokers);
            }

            return ErrorCode.CoordinatorNotAvailable;
        }

        var configs = new Dictionary<string, string?>
        {
            ["cleanup.policy"] = "compact",
            ["compression.type"] = "uncompressed",
            ["min.insync.replicas"] = _config.GetInt("transaction.state.log.min.isr").ToString(CultureInfo.InvariantCulture),
            ["segment.bytes"] = _config.GetInt("transaction.state.log.segment.bytes").ToString(CultureInfo.InvariantCulture),
        };
        try
        {
            using var timeout = new CancellationTokenSource(CreateTimeout);
            var (outcome, _) = await _controller.CreateTopicAsync(
                new NewTopic(Name, _config.GetInt("transaction.state.log.num.partitions"), replicationFactor, null, configs), validateOnly: false,
                timeout.Token).ConfigureAwait(false);
            if (outcome.IsOk || outcome.Error == ErrorCode.TopicAlreadyExists)
            {
                return ErrorCode.None;
            }

            LogCreateFailed(_logger, outcome.Error.ToString(), outcome.Message ?? "");
            return ErrorCode.CoordinatorNotAvailable;
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or TimeoutException)
        {
            LogCreateFailed(_logger, e.GetType().Name, e.Message);
            return ErrorCode.CoordinatorNotAvailable;
        }
    }

    public async Task<ErrorCode> AppendAsync(int partition, TransactionLogRecord record, long nowMs, int timeoutMs, CancellationToken cancellation)
    {
        if (!_controller.Current.Topics.TryGetValue(Name, out var topic))
        {
            return ErrorCode.UnknownTopicOrPartition;
        }

        var batch = new RecordBatchBuilder().Append(nowMs, record.Key, true, record.Value, record.Value is not null).Build();
        var append = _replicas.Append(topic, partition, batch, acks: -1, timeoutMs, cancellation);
        if (append.Outcome.Error != ErrorCode.None)
        {
            return append.Outcome.Error;
        }

        try
        {
            return await append.Committed.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // A broker shutting down stops waiting; the client finds the next coordinator.
            return ErrorCode.NotLeaderOrFollower;
        }
    }

    /// <summary>Everything this partition's log holds, start to end (<see cref="LogReplay"/>); nothing when it is not hosted here.</summary>
    public IEnumerable<TransactionLogRecord> Replay(int partition) =>
        _replicas.TryGetPartition(Name, partition, out var replica)
            ? LogReplay.Records<TransactionLogRecord>(replica.Log, (batches, into) => Decode(batches, into, partition))
            : [];

    public void Dispose() => _replicas.LeadershipChanged -= OnReplicaLeadershipChanged;

    private void OnReplicaLeadershipChanged(Partition partition, bool leading)
    {
        if (partition.Topic == Name)
        {
            LeadershipChanged?.Invoke(partition.Index, leading);
        }
    }

    private long Decode(ReadOnlyMemory<byte> batches, List<TransactionLogRecord> into, int partition)
    {
        long next = -1;
        var batchesOf = new RecordBatchEnumerator(batches.Span);
        while (batchesOf.MoveNext())
        {
            var batch = batchesOf.Current;
            var parsed = batchesOf.CurrentHeader;
            next = parsed.NextOffset;
            if (parsed.IsControl)
            {
                continue;
            }

            if (parsed.Compression != CompressionType.None)
            {
                LogCompressedSkipped(_logger, partition, parsed.BaseOffset);
                continue;
            }

            var reader = new RecordReader(batch);
            while (reader.TryReadNext(out var record))
            {
                if (record.HasKey)
                {
                    into.Add(new TransactionLogRecord(record.Key.ToArray(), record.HasValue ? record.Value.ToArray() : null));
                }
            }
        }

        return next;
    }

    [LoggerMessage(EventId = 830, EventName = "TransactionStateTopicTooFewBrokers", Level = LogLevel.Warning, Message = "Not creating __transaction_state yet: transaction.state.log.replication.factor={Configured} but only {Brokers} active broker(s) registered; transactions have no coordinator until then")]
    private static partial void LogTooFewBrokers(ILogger logger, short configured, int brokers);

    [LoggerMessage(EventId = 831, EventName = "TransactionStateTopicCreateFailed", Level = LogLevel.Warning, Message = "Creating __transaction_state failed: {Error} {Message}")]
    private static partial void LogCreateFailed(ILogger logger, string error, string message);

    [LoggerMessage(EventId = 832, EventName = "TransactionStateCompressedBatchSkipped", Level = LogLevel.Warning, Message = "Skipped a compressed batch at offset {Offset} of __transaction_state-{Partition} while loading")]
    private static partial void LogCompressedSkipped(ILogger logger, int partition, long offset);
}
