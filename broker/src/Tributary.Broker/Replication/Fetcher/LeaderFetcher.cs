using Microsoft.Extensions.Logging;
using Tributary.Broker.Metrics;
using Tributary.Broker.Network.Client;
using Tributary.Protocol;
using Tributary.Protocol.Messages;

namespace Tributary.Broker.Replication.Fetcher;

/// <summary>
/// Fetches every partition this broker follows from one leader broker over one connection (Kafka's ReplicaFetcherThread):
/// a loop of Fetch v15 requests that long-poll the leader, appending what comes back and truncating where the leader's
/// log diverged from ours. The fetches use one incremental fetch session per leader (KIP-227, <see cref="FollowerFetchSession"/>):
/// after a full fetch has opened it, a request names only partitions whose fetch position changed (plus added and
/// forgotten ones) and the response carries only partitions with news; any session error falls back to a full fetch.
/// </summary>
/// <remarks>
/// Responses are applied under <see cref="_lock"/>, which <see cref="Remove"/> and <see cref="Add"/> also take: once they
/// return, no result of a fetch sent for the previous assignment can still be applied (each assignment also carries a
/// generation that is compared before applying). Partitions added while a fetch is in flight are fetched from the next round.
/// </remarks>
internal sealed class LeaderFetcher
{
    /// <summary>Backoff after an error that means metadata is still propagating between leader and follower.</summary>
    private const int MetadataRaceBackoffMs = 100;

    private const short FetchVersion = 15;
    private const short ListOffsetsVersion = 7;
    private const long EarliestTimestamp = -2;
    private const long LatestTimestamp = -1;

    private readonly int _localBrokerId;
    private readonly Func<long> _brokerEpoch;
    private readonly FetcherOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly ProduceStageMetrics? _stages;
    private readonly Lock _lock = new();
    private readonly Dictionary<(string Topic, int Partition), PartitionFetchState> _partitions = [];
    private readonly SemaphoreSlim _changed = new(0, 1);
    private readonly CancellationTokenSource _stop = new();
    private (string Host, int Port) _endpoint;
    private KafkaClientConnection? _connection;
    private Task _loop = Task.CompletedTask;
    private long _requestsSent;
    private readonly FollowerFetchSession _session = new();

    // Reused by every round of the one fetch loop (issue 20): a round walks every partition this broker follows from the leader, and
    // with thousands of idle ones a per-round list, map and entry per partition were most of what an idle broker allocated.
    private readonly List<RoundEntry> _round = [];
    private readonly Dictionary<(Uuid TopicId, int Partition), int> _roundIndex = [];
    private readonly List<RoundEntry> _outOfRange = [];
    private readonly Dictionary<Uuid, FetchRequest.FetchTopic> _requestTopics = [];

    // Rounds are numbered; a partition remembers the latest round it was in, and the fetcher when its latest round completed, so
    // completing a round is O(1) instead of a lookup per partition (an incremental response to an idle follower names none).
    private long _roundsBuilt;
    private long _completedRound;
    private long _completedRoundMs = -1;

    /// <param name="stages">Where the follower's stages of the produce path are recorded (fetch build, fetch wait, append); null: nowhere.</param>
    public LeaderFetcher(int leaderId, string host, int port, int localBrokerId, Func<long> brokerEpoch, FetcherOptions options, ILogger logger,
        TimeProvider time, ProduceStageMetrics? stages = null)
    {
        _stages = stages;
        LeaderId = leaderId;
        _endpoint = (host, port);
        _localBrokerId = localBrokerId;
        _brokerEpoch = brokerEpoch;
        _options = options;
        _logger = logger;
        _time = time;
    }

    public int LeaderId { get; }

    public (string Host, int Port) Endpoint
    {
        get
        {
            lock (_lock)
            {
                return _endpoint;
            }
        }
    }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _partitions.Count;
            }
        }
    }

    /// <summary>The incremental fetch session with this leader (tests drive rounds through it without a connection).</summary>
    internal FollowerFetchSession Session => _session;

    /// <summary>Fetch requests sent so far (the long poll keeps this low while nothing is produced).</summary>
    public long RequestsSent => Interlocked.Read(ref _requestsSent);

    private string EndpointText => $"{Endpoint.Host}:{Endpoint.Port}";

    public void Start()
    {
        FetcherLog.FetcherStarted(_logger, LeaderId, EndpointText);
        _loop = Task.Run(() => RunAsync(_stop.Token));
    }

    /// <summary>Points the fetcher at the leader's new address; the current connection is dropped and reopened there.</summary>
    public void UpdateEndpoint(string host, int port)
    {
        lock (_lock)
        {
            if (_endpoint == (host, port))
            {
                return;
            }

            _endpoint = (host, port);
            FetcherLog.EndpointChanged(_logger, LeaderId, EndpointText);
        }

        // Closing fails an in-flight fetch, whose results are then never applied; the loop reconnects to the new address (and
        // starts a new fetch session there, as a connection failure resets it).
        Volatile.Read(ref _connection)?.Dispose();
        Signal();
    }

    public void Add(PartitionFetchState state)
    {
        lock (_lock)
        {
            _partitions[state.Key] = state;
        }

        Signal();
    }

    /// <summary>Stops fetching the partition; waits for a response being applied to finish first.</summary>
    public bool Remove((string Topic, int Partition) key)
    {
        lock (_lock)
        {
            return _partitions.Remove(key);
        }
    }

    public bool TryGetStatus((string Topic, int Partition) key, out FollowerFetchStatus status)
    {
        lock (_lock)
        {
            if (_partitions.TryGetValue(key, out var state))
            {
                status = state.ToStatus(LastFetchTimeMs(state));
                return true;
            }
        }

        status = default;
        return false;
    }

    public void CollectStatuses(List<FollowerFetchStatus> into)
    {
        lock (_lock)
        {
            foreach (var state in _partitions.Values)
            {
                into.Add(state.ToStatus(LastFetchTimeMs(state)));
            }
        }
    }

    public async Task StopAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loop.ConfigureAwait(false);
        }
        finally
        {
            if (_connection is { } connection)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }

            _stop.Dispose();
            FetcherLog.FetcherStopped(_logger, LeaderId);
        }
    }

    private async Task RunAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                var building = _time.GetTimestamp();
                var round = BuildRound(out var idleMs);
                if (round.Count == 0)
                {
                    await WaitForWorkAsync(idleMs, stop).ConfigureAwait(false);
                    continue;
                }

                var connection = await ConnectedAsync(stop).ConfigureAwait(false);
                var request = BuildRequest(round);
                Interlocked.Increment(ref _requestsSent);
                var sending = _time.GetTimestamp();
                _stages?.Record(ProduceStage.FollowerFetchBuild, _time, building, sending);
                var response = await connection.SendAsync<FetchResponse>(request, FetchVersion, stop).ConfigureAwait(false);
                var received = _time.GetTimestamp();
                _stages?.Record(ProduceStage.FollowerFetchWait, _time, sending, received);
                if (!_session.Completed(request, response))
                {
                    // The leader lost or refused the session (restarted, evicted it, another epoch): fetch in full right away.
                    FetcherLog.SessionReset(_logger, LeaderId, ((ErrorCode)response.ErrorCode).ToString());
                    continue;
                }

                if (response.ErrorCode != (short)ErrorCode.None)
                {
                    FetcherLog.FetchFailed(_logger, LeaderId, ((ErrorCode)response.ErrorCode).ToString(), _options.BackoffMs);
                    await Task.Delay(TimeSpan.FromMilliseconds(_options.BackoffMs), _time, stop).ConfigureAwait(false);
                    continue;
                }

                var outOfRange = Apply(round, response);
                if (_stages is not null && CarriesRecords(response))
                {
                    _stages.Record(ProduceStage.FollowerAppend, _time, received, _time.GetTimestamp());
                }

                foreach (var entry in outOfRange)
                {
                    await ResolveOutOfRangeAsync(connection, entry, stop).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (KafkaConnectionException e)
            {
                // Whether the leader saw the last request is unknown, so its session epoch is too: start a new session.
                _session.Reset();
                await DropConnectionAsync().ConfigureAwait(false);
                FetcherLog.ConnectionFailed(_logger, LeaderId, EndpointText, e.Message, _options.BackoffMs);
                await BackOffAsync(stop).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                // A bug, not a peer's fault; the loop must survive it (the partitions stay assigned and are retried).
                _session.Reset();
                await DropConnectionAsync().ConfigureAwait(false);
                FetcherLog.LoopFailed(_logger, LeaderId, _options.BackoffMs, e);
                await BackOffAsync(stop).ConfigureAwait(false);
            }
        }
    }

    /// <summary>The partitions to fetch this round with the offsets sent; <paramref name="idleMs"/> is how long to wait when none.</summary>
    internal List<RoundEntry> BuildRound(out int idleMs)
    {
        var now = Environment.TickCount64;
        var round = _round;
        round.Clear();
        var nextWake = long.MaxValue;
        lock (_lock)
        {
            var number = ++_roundsBuilt;
            foreach (var state in _partitions.Values)
            {
                if (state.IsDelayed(now))
                {
                    nextWake = Math.Min(nextWake, state.DelayedUntilTicks);
                    continue;
                }

                // The partition's previous round may have completed: keep its time before the partition joins this one.
                state.LastFetchTimeMs = LastFetchTimeMs(state);
                state.LastRound = number;
                var replica = state.Replica;
                round.Add(new RoundEntry(state, state.Generation, replica.LogEndOffset, replica.LeaderEpoch, replica.LatestEpoch,
                    replica.LogStartOffset));
            }
        }

        idleMs = nextWake == long.MaxValue ? Timeout.Infinite : (int)Math.Clamp(nextWake - now, 1, int.MaxValue);
        return round;
    }

    internal FetchRequest BuildRequest(List<RoundEntry> round)
    {
        var request = new FetchRequest
        {
            ReplicaState = new FetchRequest.ReplicaIdAndEpoch { ReplicaId = _localBrokerId, ReplicaEpoch = _brokerEpoch() },
            MaxWaitMs = _options.MaxWaitMs,
            MinBytes = _options.MinBytes,
            MaxBytes = _options.ResponseMaxBytes,
            IsolationLevel = 0,
        };
        _session.Begin(request, round.Count);
        var byTopic = _requestTopics;
        byTopic.Clear();
        foreach (var entry in round)
        {
            var replica = entry.State.Replica;
            var sent = new SessionPartition(entry.State, entry.Generation, entry.FetchOffset, entry.LeaderEpoch, entry.LastFetchedEpoch,
                entry.LogStartOffset, _options.PartitionMaxBytes);
            if (!_session.NeedsSending(replica.TopicId, replica.Partition, sent))
            {
                continue;
            }

            if (!byTopic.TryGetValue(replica.TopicId, out var topic))
            {
                topic = new FetchRequest.FetchTopic { Topic = replica.Topic, TopicId = replica.TopicId };
                byTopic[replica.TopicId] = topic;
                request.Topics.Add(topic);
            }

            topic.Partitions.Add(new FetchRequest.FetchPartition
            {
                Partition = replica.Partition,
                CurrentLeaderEpoch = entry.LeaderEpoch,
                FetchOffset = entry.FetchOffset,
                LastFetchedEpoch = entry.LastFetchedEpoch,
                LogStartOffset = entry.LogStartOffset,
                PartitionMaxBytes = _options.PartitionMaxBytes,
            });
        }

        _session.AddForgotten(request);
        byTopic.Clear();
        return request;
    }

    /// <summary>Applies a fetch response; returns the partitions that need an OFFSET_OUT_OF_RANGE lookup (done without the lock).</summary>
    internal List<RoundEntry> Apply(List<RoundEntry> round, FetchResponse response)
    {
        // Only the partitions a response carries are looked up; an incremental response to an idle follower carries none.
        var sent = _roundIndex;
        sent.Clear();
        if (response.Responses.Count > 0)
        {
            for (var i = 0; i < round.Count; i++)
            {
                sent[(round[i].State.Replica.TopicId, round[i].State.Replica.Partition)] = i;
            }
        }

        var outOfRange = _outOfRange;
        outOfRange.Clear();
        var nowTicks = Environment.TickCount64;
        var nowMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
        lock (_lock)
        {
            // An incremental response leaves out the partitions with nothing new: this fetch covered them all the same.
            _completedRound = _roundsBuilt;
            _completedRoundMs = nowMs;

            foreach (var topic in response.Responses)
            {
                foreach (var data in topic.Partitions)
                {
                    if (!sent.TryGetValue((topic.TopicId, data.PartitionIndex), out var index))
                    {
                        continue;
                    }

                    var entry = round[index];
                    if (!IsCurrent(entry))
                    {
                        continue;
                    }

                    if (ApplyPartition(entry, data, nowTicks))
                    {
                        outOfRange.Add(entry);
                    }
                }
            }
        }

        return outOfRange;
    }

    private static bool CarriesRecords(FetchResponse response)
    {
        foreach (var topic in response.Responses)
        {
            foreach (var data in topic.Partitions)
            {
                if (data.Records is { Length: > 0 })
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>Caller holds the lock. True when the partition answered OFFSET_OUT_OF_RANGE.</summary>
    private bool ApplyPartition(RoundEntry entry, FetchResponse.PartitionData data, long nowTicks)
    {
        var state = entry.State;
        var replica = state.Replica;
        var error = (ErrorCode)data.ErrorCode;
        switch (error)
        {
            case ErrorCode.None:
                break;
            case ErrorCode.OffsetOutOfRange:
                return true;
            case ErrorCode.NotLeaderOrFollower or ErrorCode.FencedLeaderEpoch or ErrorCode.UnknownLeaderEpoch or ErrorCode.UnknownTopicId
                or ErrorCode.UnknownTopicOrPartition or ErrorCode.KafkaStorageError:
                // Metadata is behind on one side; the controller's next image moves or re-epochs the partition. Usually the
                // leader just hasn't applied the image the follower acts on yet (a new topic, a new epoch): retry soon, so
                // acks=all writes to a fresh partition don't wait out a full replica.fetch.backoff.ms.
                var backoff = Math.Min(_options.BackoffMs, MetadataRaceBackoffMs);
                FetcherLog.PartitionFetchError(_logger, replica.Topic, replica.Partition, LeaderId, error.ToString(), backoff);
                state.Delay(nowTicks, backoff);
                return false;
            default:
                FetcherLog.PartitionFetchError(_logger, replica.Topic, replica.Partition, LeaderId, error.ToString(), _options.BackoffMs);
                state.Delay(nowTicks, _options.BackoffMs);
                return false;
        }

        if (replica.LogEndOffset != entry.FetchOffset)
        {
            // The log moved under the fetch (truncated by the replica manager): this data may not continue it.
            return false;
        }

        state.LastLeaderHighWatermark = data.HighWatermark;
        state.LeaderLogStartOffset = data.LogStartOffset;
        if (data.DivergingEpoch is { Epoch: >= 0, EndOffset: >= 0 } diverging)
        {
            var truncateTo = FollowerTruncation.ForDivergingEpoch(replica, diverging.Epoch, diverging.EndOffset);
            FetcherLog.TruncatedOnDivergingEpoch(_logger, replica.Topic, replica.Partition, replica.LogEndOffset, truncateTo, LeaderId,
                diverging.Epoch, diverging.EndOffset);
            return TryMutate(state, entry.FetchOffset, nowTicks, () => replica.TruncateTo(truncateTo));
        }

        var records = data.Records ?? ReadOnlyMemory<byte>.Empty;
        var whole = FollowerTruncation.WholeBatchesLength(records.Span);
        if (whole == 0 && !records.IsEmpty)
        {
            // Not even one whole batch: the leader sends a first batch whole whatever the limit (KIP-74), so this is damage.
            FetcherLog.AppendFailed(_logger, replica.Topic, replica.Partition, LeaderId, entry.FetchOffset,
                $"{records.Length} bytes hold no whole record batch", _options.BackoffMs);
            state.Delay(nowTicks, _options.BackoffMs);
            return false;
        }

        if (whole > 0 && !TryMutate(state, entry.FetchOffset, nowTicks, () => replica.AppendAsFollower(records[..whole])))
        {
            return false;
        }

        replica.UpdateHighWatermark(data.HighWatermark);
        if (data.LogStartOffset > replica.LogStartOffset)
        {
            TryMutate(state, entry.FetchOffset, nowTicks, () => replica.FollowLeaderLogStart(data.LogStartOffset));
        }

        return false;
    }

    /// <summary>Runs a log mutation; a failure (corrupt data, offsets that don't continue the log, I/O) backs the partition off.</summary>
    private bool TryMutate(PartitionFetchState state, long fetchOffset, long nowTicks, Action mutation)
    {
        try
        {
            mutation();
            return false;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            FetcherLog.AppendFailed(_logger, state.Replica.Topic, state.Replica.Partition, LeaderId, fetchOffset, e.Message, _options.BackoffMs);
            state.Delay(nowTicks, _options.BackoffMs);
            return false;
        }
    }

    private async Task ResolveOutOfRangeAsync(KafkaClientConnection connection, RoundEntry entry, CancellationToken stop)
    {
        var replica = entry.State.Replica;
        long leaderStart;
        long leaderEnd;
        try
        {
            leaderEnd = await ListOffsetAsync(connection, entry, LatestTimestamp, stop).ConfigureAwait(false);
            leaderStart = await ListOffsetAsync(connection, entry, EarliestTimestamp, stop).ConfigureAwait(false);
        }
        catch (LeaderOffsetLookupException e)
        {
            FetcherLog.OutOfRangeLookupFailed(_logger, replica.Topic, replica.Partition, LeaderId, e.Message, _options.BackoffMs);
            lock (_lock)
            {
                entry.State.Delay(Environment.TickCount64, _options.BackoffMs);
            }

            return;
        }

        lock (_lock)
        {
            if (!IsCurrent(entry) || replica.LogEndOffset != entry.FetchOffset)
            {
                return;
            }

            var resolution = FollowerTruncation.ForOutOfRange(replica.LogEndOffset, leaderStart, leaderEnd);
            FetcherLog.OutOfRangeResolved(_logger, replica.Topic, replica.Partition, entry.FetchOffset, LeaderId, leaderStart, leaderEnd,
                resolution.Action, resolution.Offset);
            switch (resolution.Action)
            {
                case OutOfRangeAction.TruncateTo:
                    TryMutate(entry.State, entry.FetchOffset, Environment.TickCount64, () => replica.TruncateTo(resolution.Offset));
                    break;
                case OutOfRangeAction.TruncateFullyAndStartAt:
                    TryMutate(entry.State, entry.FetchOffset, Environment.TickCount64, () => replica.TruncateFullyAndStartAt(resolution.Offset));
                    break;
                case OutOfRangeAction.Refetch:
                    break;
            }
        }
    }

    private async Task<long> ListOffsetAsync(KafkaClientConnection connection, RoundEntry entry, long timestamp, CancellationToken stop)
    {
        var replica = entry.State.Replica;
        var request = new ListOffsetsRequest
        {
            ReplicaId = _localBrokerId,
            IsolationLevel = 0,
            Topics =
            {
                new ListOffsetsRequest.ListOffsetsTopic
                {
                    Name = replica.Topic,
                    Partitions =
                    {
                        new ListOffsetsRequest.ListOffsetsPartition
                        {
                            PartitionIndex = replica.Partition, CurrentLeaderEpoch = entry.LeaderEpoch, Timestamp = timestamp,
                        },
                    },
                },
            },
        };
        var response = await connection.SendAsync<ListOffsetsResponse>(request, ListOffsetsVersion, stop).ConfigureAwait(false);
        var partition = response.Topics.Where(t => t.Name == replica.Topic).SelectMany(t => t.Partitions)
            .FirstOrDefault(p => p.PartitionIndex == replica.Partition)
            ?? throw new LeaderOffsetLookupException("the ListOffsets response does not mention the partition");
        if (partition.ErrorCode != (short)ErrorCode.None)
        {
            throw new LeaderOffsetLookupException(((ErrorCode)partition.ErrorCode).ToString());
        }

        return partition.Offset >= 0 ? partition.Offset : throw new LeaderOffsetLookupException($"the leader answered offset {partition.Offset}");
    }

    /// <summary>Caller holds the lock. When the partition was last fetched: its latest round's completion if that round completed.</summary>
    private long LastFetchTimeMs(PartitionFetchState state) =>
        state.LastRound != 0 && state.LastRound == _completedRound ? _completedRoundMs : state.LastFetchTimeMs;

    /// <summary>Caller holds the lock.</summary>
    private bool IsCurrent(RoundEntry entry) =>
        _partitions.TryGetValue(entry.State.Key, out var current) && ReferenceEquals(current, entry.State) && current.Generation == entry.Generation;

    private async Task<KafkaClientConnection> ConnectedAsync(CancellationToken stop)
    {
        var existing = Volatile.Read(ref _connection);
        if (existing is { IsConnected: true })
        {
            return existing;
        }

        if (existing is not null)
        {
            await existing.DisposeAsync().ConfigureAwait(false);
        }

        var (host, port) = Endpoint;
        var connection = new KafkaClientConnection(_options.MaxResponseFrameBytes, TimeSpan.FromMilliseconds(_options.SocketTimeoutMs));
        Volatile.Write(ref _connection, connection);
        await connection.ConnectAsync(host, port, $"broker-{_localBrokerId}-fetcher-{LeaderId}", stop).ConfigureAwait(false);
        return connection;
    }

    private async Task DropConnectionAsync()
    {
        if (Interlocked.Exchange(ref _connection, null) is { } connection)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task BackOffAsync(CancellationToken stop)
    {
        try
        {
            await Task.Delay(TimeSpan.FromMilliseconds(_options.BackoffMs), _time, stop).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    private async Task WaitForWorkAsync(int timeoutMs, CancellationToken stop) =>
        await _changed.WaitAsync(timeoutMs, stop).ConfigureAwait(false);

    private void Signal()
    {
        try
        {
            _changed.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already signalled; one wake-up covers every change.
        }
    }

    /// <summary>A partition as sent in one fetch round: the assignment it belongs to and the offsets the request carried.</summary>
    internal readonly record struct RoundEntry(PartitionFetchState State, long Generation, long FetchOffset, int LeaderEpoch, int LastFetchedEpoch,
        long LogStartOffset);

    private sealed class LeaderOffsetLookupException(string message) : Exception(message);
}
