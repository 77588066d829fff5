using System.Globalization;
using Microsoft.Extensions.Logging;
using Tributary.Broker.Config;
using Tributary.Broker.Metadata;
using Tributary.Broker.Replication;
using Tributary.Protocol;
using Tributary.Protocol.Records;

namespace Tributary.Broker.Groups;

/// <summary>
/// The internal compacted topic <c>__consumer_offsets</c> as the coordinator's record log: created through the active
/// controller on first use with Kafka's settings (offsets.topic.num.partitions, offsets.topic.replication.factor,
/// cleanup.policy=compact, segment.bytes=offsets.topic.segment.bytes), written through the replica manager with
/// acks=all, replayed when this broker becomes a partition's leader.
/// </summary>
public sealed partial class OffsetsTopic : IGroupRecordLog, IDisposable
{
    /// <summary>Kafka's name for the topic.</summary>
    public const string Name = "__consumer_offsets";

    /// <summary>How long one creation attempt may take before it is given up (the next FindCoordinator tries again).</summary>
    private static readonly TimeSpan CreateTimeout = TimeSpan.FromSeconds(30);

    private readonly BrokerConfig _config;
    private readonly ControllerGateway _controller;
    private readonly ReplicaManager _replicas;
    private readonly ILogger _logger;
    private readonly object _createGate = new();
    private Task<ErrorCode>? _creation;
    private bool _warnedTooFewBrokers;

    public OffsetsTopic(BrokerConfig config, ControllerGateway controller, ReplicaManager replicas, ILogger logger)
    {
        _config = config;
        _controller = controller;
        _replicas = replicas;
        _logger = logger;
        _replicas.LeadershipChanged += OnReplicaLeadershipChanged;
    }

    public event Action<int, bool>? LeadershipChanged;

    public int PartitionCount =>
        _controller.Current.Topics.TryGetValue(Name, out var topic) ? topic.Partitions.Length : _config.OffsetsTopicNumPartitions;

    public bool Exists => _controller.Current.Topics.ContainsKey(Name);

    public bool Leads(int partition) => _replicas.TryGetPartition(Name, partition, out var replica) && replica.IsLeader;

    public bool WillLead(int partition) =>
        Leads(partition)
        || _controller.Current.Topics.TryGetValue(Name, out var topic) && partition < topic.Partitions.Length
        && topic.Partitions[partition].Leader == _config.NodeId;

    public IReadOnlyList<int> LedPartitions() =>
        _replicas.Partitions.Where(p => p.Topic == Name && p.IsLeader).Select(p => p.Index).Order().ToList();

    /// <summary>
    /// Creates the topic unless it exists; concurrent callers share one attempt. Answers COORDINATOR_NOT_AVAILABLE while
    /// that is impossible (too few brokers, no controller) — clients retry FindCoordinator.
    /// </summary>
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
                    // The next caller starts a fresh attempt (e.g. once enough brokers registered).
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
        // Like Kafka, never create the offsets topic with fewer replicas than configured: a topic created early with
        // RF 1 would stay under-replicated for good. Until enough brokers are registered and unfenced there is no
        // coordinator (COORDINATOR_NOT_AVAILABLE, which clients retry). A single-broker setup sets
        // offsets.topic.replication.factor=1, as config/server.properties does.
        var brokers = _controller.Current.Brokers.Values.Count(b => b.IsActive);
        var replicationFactor = _config.OffsetsTopicReplicationFactor;
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
            ["compression.type"] = "producer",
            ["segment.bytes"] = _config.OffsetsTopicSegmentBytes.ToString(CultureInfo.InvariantCulture),
        };
        try
        {
            using var timeout = new CancellationTokenSource(CreateTimeout);
            var (outcome, _) = await _controller.CreateTopicAsync(
                new NewTopic(Name, _config.OffsetsTopicNumPartitions, replicationFactor, null, configs), validateOnly: false, timeout.Token)
                .ConfigureAwait(false);
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

    public GroupAppend Append(int partition, IReadOnlyList<GroupRecord> records, long nowMs, int timeoutMs, CancellationToken cancellation)
    {
        if (records.Count == 0)
        {
            return new GroupAppend(ErrorCode.None, -1, Task.FromResult(ErrorCode.None));
        }

        if (!_controller.Current.Topics.TryGetValue(Name, out var topic))
        {
            return GroupAppend.Failed(ErrorCode.UnknownTopicOrPartition);
        }

        var batch = GroupCoordinator.BuildBatch(records, nowMs);
        var append = _replicas.Append(topic, partition, batch, acks: -1, timeoutMs, cancellation, coordinatorOrigin: true);
        if (append.Outcome.Error != ErrorCode.None)
        {
            return GroupAppend.Failed(append.Outcome.Error);
        }

        var waiting = append.Committed;
        return new GroupAppend(ErrorCode.None, append.Outcome.BaseOffset,
            waiting.IsCompletedSuccessfully ? waiting : AwaitReplication(waiting));
    }

    /// <summary>A broker shutting down stops waiting; the client finds the next coordinator.</summary>
    private static async Task<ErrorCode> AwaitReplication(Task<ErrorCode> waiting)
    {
        try
        {
            return await waiting.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return ErrorCode.NotLeaderOrFollower;
        }
    }

    /// <summary>Everything this partition's log holds, start to end (<see cref="LogReplay"/>); nothing when it is not hosted here.</summary>
    public IEnumerable<GroupRecord> Replay(int partition) =>
        _replicas.TryGetPartition(Name, partition, out var replica)
            ? LogReplay.Records<GroupRecord>(replica.Log, (batches, into) => Decode(batches, into, partition))
            : [];

    public void Dispose() => _replicas.LeadershipChanged -= OnReplicaLeadershipChanged;

    private void OnReplicaLeadershipChanged(Partition partition, bool leading)
    {
        if (partition.Topic == Name)
        {
            LeadershipChanged?.Invoke(partition.Index, leading);
        }
    }

    /// <summary>Copies the records of the batches in <paramref name="batches"/>; returns the offset after the last batch.</summary>
    private long Decode(ReadOnlyMemory<byte> batches, List<GroupRecord> into, int partition)
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
                // A transaction marker resolves the producer's pending transactional offsets.
                if (EndTransactionMarker.TryRead(batch, out var marker))
                {
                    into.Add(GroupRecord.Marker(parsed.ProducerId, marker.IsCommit, parsed.BaseOffset));
                }

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
                    into.Add(new GroupRecord(record.Key.ToArray(), record.HasValue ? record.Value.ToArray() : null)
                    {
                        ProducerId = parsed.IsTransactional ? parsed.ProducerId : -1,
                        ProducerEpoch = parsed.IsTransactional ? parsed.ProducerEpoch : (short)-1,
                        Offset = record.Offset,
                    });
                }
            }
        }

        return next;
    }

    [LoggerMessage(EventId = 420, EventName = "OffsetsTopicTooFewBrokers", Level = LogLevel.Warning, Message = "Not creating __consumer_offsets yet: offsets.topic.replication.factor={Configured} but only {Brokers} active broker(s) registered; consumer groups have no coordinator until then")]
    private static partial void LogTooFewBrokers(ILogger logger, short configured, int brokers);

    [LoggerMessage(EventId = 421, EventName = "OffsetsTopicCreateFailed", Level = LogLevel.Warning, Message = "Creating __consumer_offsets failed: {Error} {Message}")]
    private static partial void LogCreateFailed(ILogger logger, string error, string message);

    [LoggerMessage(EventId = 422, EventName = "OffsetsTopicCompressedBatchSkipped", Level = LogLevel.Warning, Message = "Skipped a compressed batch at offset {Offset} of __consumer_offsets-{Partition} while loading")]
    private static partial void LogCompressedSkipped(ILogger logger, int partition, long offset);
}
