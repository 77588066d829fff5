using System.Collections.Frozen;
using Microsoft.Extensions.Logging;
using Tributary.Broker.Metadata;
using Tributary.Broker.Network.Client;
using Tributary.Protocol;
using Tributary.Protocol.Messages;

namespace Tributary.Broker.Groups;

/// <summary>
/// High watermarks (the end offset a consumer sees) of partitions that have committed group offsets on this coordinator
/// but no replica on this broker, learned in the background with ListOffsets (latest, as a consumer: replica id -1,
/// read-uncommitted) sent to each partition's leader — one request per leader and round, as kafka-exporter computes lag.
/// </summary>
/// <remarks>
/// The scrape path only reads the last snapshot (<see cref="TryGet"/>); nothing is asked when no group has committed an
/// offset for a partition hosted elsewhere. Work and memory are bounded: at most <see cref="MaxPartitions"/> partitions per
/// round, at most <see cref="MaxPartitionsPerRequest"/> per request, one connection per leader asked in the last round
/// (others are closed), and the snapshot holds only the partitions wanted in the latest round. A value whose refresh fails
/// is kept for up to <see cref="StaleRounds"/> rounds, so a transient error does not make the lag series disappear.
/// </remarks>
public sealed partial class RemoteHighWatermarks : IAsyncDisposable
{
    public const int MaxPartitions = 100_000;
    public const int MaxPartitionsPerRequest = 1_000;
    public const int StaleRounds = 3;
    private const short ListOffsetsVersion = 7;
    private const long LatestTimestamp = -1;
    private const int ConsumerReplicaId = -1;

    private readonly int _nodeId;
    private readonly Func<MetadataImage> _image;
    private readonly Func<IEnumerable<(string Topic, int Partition)>> _wanted;
    private readonly TimeSpan _interval;
    private readonly int _maxResponseBytes;
    private readonly TimeSpan _requestTimeout;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Dictionary<int, (string Host, int Port, KafkaClientConnection Connection)> _connections = [];
    private readonly CancellationTokenSource _stop = new();
    private FrozenDictionary<(string Topic, int Partition), Entry> _snapshot = FrozenDictionary<(string, int), Entry>.Empty;
    private Task _loop = Task.CompletedTask;
    private long _round;
    private bool _warnedTooMany;

    /// <param name="wanted">Partitions with a committed offset that this broker hosts no replica of (read once per round).</param>
    public RemoteHighWatermarks(int nodeId, Func<MetadataImage> image, Func<IEnumerable<(string Topic, int Partition)>> wanted,
        TimeSpan interval, int maxResponseBytes, TimeSpan requestTimeout, TimeProvider time, ILogger logger)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero);
        _nodeId = nodeId;
        _image = image;
        _wanted = wanted;
        _interval = interval;
        _maxResponseBytes = maxResponseBytes;
        _requestTimeout = requestTimeout;
        _time = time;
        _logger = logger;
    }

    /// <summary>Partitions in the current snapshot.</summary>
    public int Count => Volatile.Read(ref _snapshot).Count;

    /// <summary>The partition's high watermark as its leader last reported it, if it was learned recently enough.</summary>
    public bool TryGet(string topic, int partition, out long highWatermark)
    {
        if (Volatile.Read(ref _snapshot).TryGetValue((topic, partition), out var entry))
        {
            highWatermark = entry.HighWatermark;
            return true;
        }

        highWatermark = -1;
        return false;
    }

    public void Start() => _loop = Task.Run(() => LoopAsync(_stop.Token));

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        foreach (var (_, _, connection) in _connections.Values)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }

        _connections.Clear();
        _stop.Dispose();
    }

    private async Task LoopAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await RefreshAsync(stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                LogRefreshFailed(_logger, e);
            }

            try
            {
                await Task.Delay(_interval, _time, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>One round: asks every leader of a wanted partition for its high watermarks, then swaps in the new snapshot.</summary>
    private async Task RefreshAsync(CancellationToken stop)
    {
        var round = ++_round;
        var previous = Volatile.Read(ref _snapshot);
        var image = _image();
        var byLeader = new Dictionary<int, List<(string Topic, int Partition, int LeaderEpoch)>>();
        var wanted = new HashSet<(string, int)>();
        foreach (var key in _wanted())
        {
            if (wanted.Count >= MaxPartitions)
            {
                if (!_warnedTooMany)
                {
                    _warnedTooMany = true;
                    LogTooManyPartitions(_logger, MaxPartitions);
                }

                break;
            }

            if (!wanted.Add(key) || !image.Topics.TryGetValue(key.Topic, out var topic) || key.Partition < 0 || key.Partition >= topic.Partitions.Length)
            {
                continue;
            }

            var placement = topic.Partitions[key.Partition];
            if (placement.Leader < 0 || placement.Leader == _nodeId)
            {
                continue;
            }

            if (!byLeader.TryGetValue(placement.Leader, out var list))
            {
                byLeader[placement.Leader] = list = [];
            }

            list.Add((key.Topic, key.Partition, placement.LeaderEpoch));
        }

        var learned = new Dictionary<(string, int), Entry>();
        foreach (var (leader, partitions) in byLeader)
        {
            if (!image.Brokers.TryGetValue(leader, out var broker))
            {
                continue;
            }

            try
            {
                var connection = await ConnectionAsync(broker, stop).ConfigureAwait(false);
                foreach (var chunk in partitions.Chunk(MaxPartitionsPerRequest))
                {
                    await AskAsync(connection, chunk, round, learned, stop).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException || !stop.IsCancellationRequested)
            {
                LogLeaderUnreachable(_logger, leader, e.Message);
                await DropConnectionAsync(leader).ConfigureAwait(false);
            }
        }

        // A value not refreshed this round (error, leader unknown for a moment) stays for a few rounds, while still wanted.
        foreach (var (key, entry) in previous)
        {
            if (wanted.Contains(key) && !learned.ContainsKey(key) && round - entry.Round < StaleRounds)
            {
                learned[key] = entry;
            }
        }

        Volatile.Write(ref _snapshot, learned.ToFrozenDictionary());
        foreach (var leader in _connections.Keys.Where(id => !byLeader.ContainsKey(id)).ToList())
        {
            await DropConnectionAsync(leader).ConfigureAwait(false);
        }
    }

    private async Task AskAsync(KafkaClientConnection connection, (string Topic, int Partition, int LeaderEpoch)[] partitions, long round,
        Dictionary<(string, int), Entry> learned, CancellationToken stop)
    {
        var request = new ListOffsetsRequest { ReplicaId = ConsumerReplicaId, IsolationLevel = 0 };
        foreach (var group in partitions.GroupBy(p => p.Topic, StringComparer.Ordinal))
        {
            var topic = new ListOffsetsRequest.ListOffsetsTopic { Name = group.Key };
            foreach (var p in group)
            {
                topic.Partitions.Add(new ListOffsetsRequest.ListOffsetsPartition
                {
                    PartitionIndex = p.Partition, CurrentLeaderEpoch = p.LeaderEpoch, Timestamp = LatestTimestamp,
                });
            }

            request.Topics.Add(topic);
        }

        var asked = partitions.Select(p => (p.Topic, p.Partition)).ToHashSet();
        var response = await connection.SendAsync<ListOffsetsResponse>(request, ListOffsetsVersion, stop).ConfigureAwait(false);
        foreach (var topic in response.Topics)
        {
            foreach (var p in topic.Partitions)
            {
                // Only what was asked, and only a usable answer: a partition in error keeps its recent value (see above).
                if (asked.Contains((topic.Name, p.PartitionIndex)) && p.ErrorCode == (short)ErrorCode.None && p.Offset >= 0)
                {
                    learned[(topic.Name, p.PartitionIndex)] = new Entry(p.Offset, round);
                }
            }
        }
    }

    private async Task<KafkaClientConnection> ConnectionAsync(BrokerRegistration broker, CancellationToken stop)
    {
        if (_connections.TryGetValue(broker.NodeId, out var existing))
        {
            if (existing.Connection.IsConnected && existing.Host == broker.Host && existing.Port == broker.Port)
            {
                return existing.Connection;
            }

            await DropConnectionAsync(broker.NodeId).ConfigureAwait(false);
        }

        var connection = new KafkaClientConnection(_maxResponseBytes, _requestTimeout);
        _connections[broker.NodeId] = (broker.Host, broker.Port, connection);
        await connection.ConnectAsync(broker.Host, broker.Port, $"broker-{_nodeId}-group-lag", stop).ConfigureAwait(false);
        return connection;
    }

    private async Task DropConnectionAsync(int leader)
    {
        if (_connections.Remove(leader, out var entry))
        {
            await entry.Connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    private readonly record struct Entry(long HighWatermark, long Round);

    [LoggerMessage(EventId = 430, EventName = "GroupLagRefreshFailed", Level = LogLevel.Warning, Message = "Refreshing the end offsets of remote partitions for consumer lag failed")]
    private static partial void LogRefreshFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 431, EventName = "GroupLagLeaderUnreachable", Level = LogLevel.Debug, Message = "Asking leader {Leader} for end offsets (consumer lag) failed: {Error}")]
    private static partial void LogLeaderUnreachable(ILogger logger, int leader, string error);

    [LoggerMessage(EventId = 432, EventName = "GroupLagTooManyPartitions", Level = LogLevel.Warning, Message = "Consumer lag of remote partitions is computed for the first {Limit} partitions only")]
    private static partial void LogTooManyPartitions(ILogger logger, int limit);
}
