using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Tributary.Protocol;
using Tributary.Raft.Election;
using Tributary.Raft.Log;
using Tributary.Raft.Observer;
using Tributary.Raft.Replication;
using Tributary.Raft.Transport;

namespace Tributary.Raft;

/// <summary>One node of a Raft quorum that agrees on a log of records of type <typeparamref name="T"/>: a voter (one of
/// them leads) or an observer (it only follows the committed log and calls the leader).</summary>
/// <remarks>
/// <para>Raft (leader election, log replication, commit only by current-epoch majority) with the log and the epoch/vote
/// fsynced before anything is acknowledged, so a killed voter restarts from its data directory with every entry it
/// acknowledged. Additions over the paper: the leader resigns when it has not heard from a majority for an election
/// timeout ("check quorum", as KRaft does); a stopping leader hands over with TimeoutNow (thesis §3.10). One entry
/// carries one atomic batch of records. Snapshots (KIP-630): the layer above stores one through a committed offset
/// (<see cref="WriteSnapshotAsync"/>), the log is cut below it, a follower or observer behind the log start is sent it.</para>
/// <para>This type holds the lock and wires the parts: <see cref="ElectionState"/> (votes, timers),
/// <see cref="LeaderReplication"/> (follower progress, commit index), <see cref="ObserverFetcher"/> (observers),
/// <see cref="RaftLog"/> + <see cref="SnapshotStore"/> (storage) and an <see cref="IRaftTransport"/>. It knows nothing
/// of what the records mean: <see cref="IRecordSerde{T}"/> encodes them.</para>
/// <para>All state sits behind one lock; the transport, readers, the leader's request handler and event subscribers run
/// outside it. One <see cref="TimeProvider"/> (<see cref="RaftQuorumOptions.TimeProvider"/>) drives every timer.</para>
/// </remarks>
public sealed class RaftQuorum<T> : IAsyncDisposable, IObserverSink, IReplicationHost
{
    private const string StateFileName = "quorum-state";
    private const string SnapshotDirectoryName = "snapshots";
    private static readonly TimeSpan TickInterval = TimeSpan.FromMilliseconds(10);

    private readonly Lock _gate = new();
    private readonly RaftQuorumOptions _options;
    private readonly IRecordSerde<T> _serde;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly RaftLog _log;
    private readonly SnapshotStore _snapshots;
    private readonly IRaftTransport _transport;
    private readonly ElectionState _election;
    private readonly LeaderReplication _leader;
    private readonly FollowerReplication _follower;
    private readonly bool _isObserver;
    private readonly bool _manualTicks;
    private readonly long _electionTimeoutMs;
    private readonly long _heartbeatMs;
    private readonly SortedDictionary<long, TaskCompletionSource<long>> _pendingAppends = [];
    private readonly Channel<Notification> _notifications = Channel.CreateUnbounded<Notification>(
        new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stopping = new();
    private readonly SemaphoreSlim _snapshotWriteGate = new(1, 1);
    private readonly long _startedAt;
    private Task _ticker = Task.CompletedTask;
    private Task _leadershipNotifier = Task.CompletedTask;
    private Task _observer = Task.CompletedTask;
    private volatile Func<ReadOnlyMemory<byte>, CancellationToken, Task<byte[]>>? _leaderHandler;

    private long _commitIndex;
    private QuorumLeadership _lastAnnounced = new(-1, -1);
    private TaskCompletionSource _commitAdvanced = NewSignal();
    private TaskCompletionSource _leadershipSignal = NewSignal();
    private TaskCompletionSource? _handedOver;
    private bool _stopped;
    private bool _disposed;

    private RaftQuorum(RaftQuorumOptions options, IRecordSerde<T> serde, ILogger logger, RaftLog log, SnapshotStore snapshots,
        QuorumStateFile? stateFile, IRaftTransport transport, bool manualTicks)
    {
        _options = options;
        _serde = serde;
        _logger = logger;
        _time = options.TimeProvider;
        _startedAt = _time.GetTimestamp();
        _log = log;
        _snapshots = snapshots;
        _transport = transport;
        _isObserver = stateFile is null;
        _manualTicks = manualTicks;
        _electionTimeoutMs = (long)options.ElectionTimeout.TotalMilliseconds;
        _heartbeatMs = (long)options.HeartbeatInterval.TotalMilliseconds;
        _election = new ElectionState(options.NodeId, options.Voters.Count, stateFile, _electionTimeoutMs, Random.Shared);
        _leader = new LeaderReplication(options, _election.Majority, log, snapshots, transport, logger, this);
        _follower = new FollowerReplication(options, log, transport, logger, this);
        // A snapshot holds committed entries only, so everything through it is committed here too.
        _commitIndex = log.SnapshotIndex;
    }

    /// <summary>Raised (in order, off the quorum's lock) whenever the known leader or epoch changes.</summary>
    public event Action<QuorumLeadership>? LeadershipChanged;

    /// <summary>Raised (in order with <see cref="LeadershipChanged"/>, off the lock) when this node, as leader, has
    /// committed its epoch-start entry; the argument is that entry's offset (<see cref="LeaderReadyOffset"/>).</summary>
    public event Action<long>? LeaderReady;

    public int NodeId => _options.NodeId;

    /// <summary>True when this node is not among the voters: it follows the committed log but never votes or leads.</summary>
    public bool IsObserver => _isObserver;

    /// <summary>While this node leads: the offset of its own epoch-start entry once that entry is committed, else -1.</summary>
    /// <remarks>Everything earlier leaders committed precedes this offset, so the layer above must not decide anything
    /// until the state it applied from <see cref="ReadCommittedBatchesAsync"/> has reached it.</remarks>
    public long LeaderReadyOffset
    {
        get
        {
            lock (_gate)
            {
                return _election.IsLeader && _leader.ReadyAnnounced ? _leader.EpochStartIndex - 1 : -1;
            }
        }
    }

    /// <summary>The leader this node knows of in the current epoch, or -1.</summary>
    public int LeaderId
    {
        get
        {
            lock (_gate)
            {
                return _election.LeaderId;
            }
        }
    }

    /// <summary>The current epoch (Raft term): grows with every election.</summary>
    public long Epoch
    {
        get
        {
            lock (_gate)
            {
                return _election.Epoch;
            }
        }
    }

    public bool IsLeader
    {
        get
        {
            lock (_gate)
            {
                return _election.IsLeader;
            }
        }
    }

    /// <summary>Whether this voter is a candidate (an election of its own is running).</summary>
    public bool IsCandidate
    {
        get
        {
            lock (_gate)
            {
                return _election.Role == RaftRole.Candidate;
            }
        }
    }

    public QuorumLeadership Leadership
    {
        get
        {
            lock (_gate)
            {
                return new QuorumLeadership(_election.LeaderId, _election.Epoch);
            }
        }
    }

    /// <summary>Offset of the last entry known committed (the high watermark minus one); -1 before any.</summary>
    public long CommittedOffset
    {
        get
        {
            lock (_gate)
            {
                return _commitIndex - 1;
            }
        }
    }

    /// <summary>Offset of the latest stored snapshot's last entry, -1 if none.</summary>
    public long LatestSnapshotOffset
    {
        get
        {
            lock (_gate)
            {
                return _snapshots.Latest?.LastOffset ?? -1;
            }
        }
    }

    /// <summary>The first offset the log still holds (everything before is in the latest snapshot).</summary>
    public long LogStartOffset
    {
        get
        {
            lock (_gate)
            {
                return _log.StartIndex - 1;
            }
        }
    }

    /// <summary>
    /// Replication progress of every voter as this node knows it (DescribeQuorum): on the leader, each follower's
    /// matched log end and how long ago it last answered; elsewhere only this node's own log end. Offsets are log ends
    /// (last index + 1); -1 where unknown.
    /// </summary>
    public IReadOnlyList<QuorumVoterProgress> VoterProgress()
    {
        lock (_gate)
        {
            long now = NowMs();
            var result = new List<QuorumVoterProgress>(_options.Voters.Count);
            foreach (var voter in _options.Voters)
            {
                if (voter.Id == _options.NodeId)
                {
                    result.Add(new QuorumVoterProgress(voter.Id, _log.LastIndex + 1, 0));
                }
                else if (_election.IsLeader && _leader.Followers.TryGetValue(voter.Id, out var follower))
                {
                    result.Add(new QuorumVoterProgress(voter.Id, follower.MatchIndex + 1, now - follower.LastHeardAt));
                }
                else
                {
                    result.Add(new QuorumVoterProgress(voter.Id, -1, -1));
                }
            }

            return result;
        }
    }

    /// <summary>Joins the quorum over TCP. A voter opens (or creates) its data directory: latest snapshot, then the log
    /// after it; an observer starts from its latest snapshot (if any) and fetches the rest from the leader.</summary>
    /// <exception cref="ArgumentException">A voter without a listener, or inconsistent options.</exception>
    public static RaftQuorum<T> Start(RaftQuorumOptions options, IRecordSerde<T> serde, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        logger ??= NullLogger.Instance;
        Validate(options);
        if (options.Voters.Any(v => v.Id == options.NodeId) && options.Listener is null)
        {
            throw new ArgumentException($"Voter {options.NodeId} needs a listener", nameof(options));
        }

        return Start(options, serde, logger, new QuorumTransport(options, logger), manualTicks: false);
    }

    /// <summary>Joins over the given transport; with <paramref name="manualTicks"/> no timer runs and the caller drives
    /// time with <see cref="Tick"/> (tests with a fake clock and an in-memory network).</summary>
    internal static RaftQuorum<T> Start(RaftQuorumOptions options, IRecordSerde<T> serde, ILogger logger, IRaftTransport transport,
        bool manualTicks)
    {
        ArgumentNullException.ThrowIfNull(serde);
        Validate(options);
        bool observer = !options.Voters.Any(v => v.Id == options.NodeId);
        Directory.CreateDirectory(options.DataDirectory);
        var snapshots = SnapshotStore.Open(Path.Combine(options.DataDirectory, SnapshotDirectoryName), options.MaxSnapshotBytes);
        foreach (string corrupt in snapshots.CorruptFiles)
        {
            logger.QuorumSnapshotFileCorrupt(options.NodeId, corrupt);
        }

        long snapshotIndex = snapshots.Latest?.LastIndex ?? 0;
        long snapshotTerm = snapshots.Latest?.LastTerm ?? 0;
        RaftLog log = observer
            ? RaftLog.InMemory(options.MaxRecordBytes, snapshotIndex, snapshotTerm)
            : RaftLog.Open(options.DataDirectory, options.MaxRecordBytes, snapshotIndex, snapshotTerm);
        RaftQuorum<T> quorum;
        try
        {
            if (log.TruncatedTailBytes > 0)
            {
                logger.QuorumLogTailTruncated(options.NodeId, log.TruncatedTailBytes);
            }

            var stateFile = observer ? null : new QuorumStateFile(Path.Combine(options.DataDirectory, StateFileName));
            quorum = new RaftQuorum<T>(options, serde, logger, log, snapshots, stateFile, transport, manualTicks);
        }
        catch
        {
            log.Dispose();
            throw;
        }

        if (snapshotIndex > 0)
        {
            logger.QuorumStartedFromSnapshot(options.NodeId, snapshotIndex - 1, snapshotTerm, log.LastIndex - snapshotIndex);
        }

        quorum.Begin();
        return quorum;
    }

    /// <summary>Appends one record on the leader (a one-record batch) and waits for the quorum to commit it.</summary>
    /// <returns>The committed offset, or NOT_CONTROLLER with the leader to retry on.</returns>
    public Task<QuorumAppendResult> TryAppendAsync(T record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        return TryAppendAsync([record], -1, cancellationToken);
    }

    /// <summary>Appends the records as one entry on the leader, to be committed and applied atomically, and waits for
    /// the quorum to commit it.</summary>
    /// <param name="records">At least one record.</param>
    /// <param name="expectedEpoch">The epoch the caller read its state in; the append is refused unless this node still
    /// leads in exactly that epoch (-1 skips the check).</param>
    /// <param name="cancellationToken">Stops waiting (the entry may still commit).</param>
    /// <returns>The committed offset; NOT_CONTROLLER with the leader to retry on (nothing appended when refused up
    /// front; outcome unknown when leadership was lost after the append, see the type's remarks); MESSAGE_TOO_LARGE,
    /// nothing appended, when the batch exceeds <see cref="RaftQuorumOptions.MaxRecordBytes"/> or
    /// <see cref="RaftQuorumOptions.MaxRecordsPerEntry"/>.</returns>
    public async Task<QuorumAppendResult> TryAppendAsync(IReadOnlyList<T> records, long expectedEpoch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(records);
        if (records.Count == 0)
        {
            throw new ArgumentException("A batch needs at least one record", nameof(records));
        }

        byte[]? payload = records.Count <= _options.MaxRecordsPerEntry ? RaftBatchCodec.Encode(records, _serde) : null;
        Task<long> committed;
        lock (_gate)
        {
            if (payload is null || payload.Length > _options.MaxRecordBytes)
            {
                return new QuorumAppendResult(ErrorCode.MessageTooLarge, -1, _election.LeaderId);
            }

            if (!_election.IsLeader || _stopped || _leader.Resigning || (expectedEpoch >= 0 && expectedEpoch != _election.Epoch))
            {
                return QuorumAppendResult.NotController(_leader.Resigning ? -1 : _election.LeaderId);
            }

            try
            {
                _log.Append([new QuorumEntry(_election.Epoch, payload)]);
            }
            catch (IOException e)
            {
                FailStop(e);
                throw;
            }

            var completion = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
            _pendingAppends.Add(_log.LastIndex, completion);
            committed = completion.Task;
            _leader.ReplicateToIdleFollowers(NowMs());
            _leader.AdvanceCommit();
        }

        try
        {
            return new QuorumAppendResult(ErrorCode.None, await committed.WaitAsync(cancellationToken).ConfigureAwait(false), NodeId);
        }
        catch (NotControllerException e)
        {
            return QuorumAppendResult.NotController(e.LeaderId);
        }
    }

    /// <summary>Appends one record on the leader and returns the committed offset.</summary>
    /// <exception cref="NotControllerException">This node is not the leader, or lost leadership before the commit.</exception>
    /// <exception cref="ArgumentException">The record exceeds the entry size bound.</exception>
    public async Task<long> AppendAsync(T record, CancellationToken cancellationToken)
    {
        var result = await TryAppendAsync(record, cancellationToken).ConfigureAwait(false);
        return result.Error switch
        {
            ErrorCode.None => result.Offset,
            ErrorCode.MessageTooLarge => throw new ArgumentException($"Record exceeds {_options.MaxRecordBytes} bytes", nameof(record)),
            _ => throw new NotControllerException(result.LeaderId),
        };
    }

    /// <summary>Every committed entry from <paramref name="fromOffset"/> on, in log order, one batch per entry (epoch-start
    /// entries included, with zero records), waiting for new commits; ends when the quorum stops. Leaders, followers
    /// and observers yield the same sequence. When the next offset lies below the log start (the log was cut under a
    /// snapshot), the latest snapshot comes first as one batch with <see cref="CommittedBatch{T}.IsSnapshot"/>: the
    /// reader resets its state, applies the snapshot's records, and the entries after it follow.</summary>
    public async IAsyncEnumerable<CommittedBatch<T>> ReadCommittedBatchesAsync(long fromOffset,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        long nextIndex = Math.Max(fromOffset, 0) + 1;
        while (true)
        {
            List<(long Index, QuorumEntry Entry)> entries = [];
            RaftSnapshot? snapshot = null;
            Task commitAdvanced;
            lock (_gate)
            {
                if (_stopped)
                {
                    yield break;
                }

                if (nextIndex < _log.StartIndex)
                {
                    snapshot = _snapshots.Latest ?? throw new InvalidOperationException($"Log starts at {_log.StartIndex} without a snapshot");
                }
                else
                {
                    for (long index = nextIndex; index <= _commitIndex && entries.Count < 1024; index++)
                    {
                        entries.Add((index, _log.EntryAt(index)));
                    }
                }

                commitAdvanced = _commitAdvanced.Task;
            }

            if (snapshot is not null)
            {
                nextIndex = snapshot.LastIndex + 1;
                yield return new CommittedBatch<T>(snapshot.LastOffset, snapshot.LastTerm, DecodeSnapshot(snapshot.Data), IsSnapshot: true);
                continue;
            }

            foreach (var (index, entry) in entries)
            {
                nextIndex = index + 1;
                yield return new CommittedBatch<T>(index - 1, entry.Term, RaftBatchCodec.Decode(entry.Payload, _options.MaxRecordsPerEntry, _serde));
            }

            if (entries.Count == 0)
            {
                await commitAdvanced.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Every committed record from <paramref name="fromOffset"/> on, in log order, waiting for new commits;
    /// ends when the quorum stops. The flattened view of <see cref="ReadCommittedBatchesAsync"/>: epoch-start entries
    /// are skipped, the records of one batch share its offset, a snapshot's records share the snapshot's offset.</summary>
    public async IAsyncEnumerable<CommittedRecord<T>> ReadCommittedAsync(long fromOffset,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var batch in ReadCommittedBatchesAsync(fromOffset, cancellationToken).ConfigureAwait(false))
        {
            foreach (var record in batch.Records)
            {
                yield return new CommittedRecord<T>(batch.Offset, batch.Epoch, record);
            }
        }
    }

    /// <summary>Stores a snapshot of the state through <paramref name="lastIncludedOffset"/> (inclusive, committed) as
    /// <paramref name="records"/>, then cuts the log below it: readers that start below the new log start get the
    /// snapshot first, and followers or observers behind it are sent it. A snapshot not newer than the latest is
    /// ignored.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The offset is not committed here, or already cut from the log.</exception>
    /// <exception cref="ArgumentException">The snapshot exceeds <see cref="RaftQuorumOptions.MaxSnapshotBytes"/>.</exception>
    public async Task WriteSnapshotAsync(long lastIncludedOffset, IReadOnlyList<T> records, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(records);
        byte[] data = RaftBatchCodec.Encode(records, _serde);
        if (data.Length > _options.MaxSnapshotBytes)
        {
            throw new ArgumentException($"Snapshot of {data.Length} bytes exceeds {_options.MaxSnapshotBytes}", nameof(records));
        }

        long lastIndex = lastIncludedOffset + 1;
        await _snapshotWriteGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            long lastTerm;
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_stopped, this);
                if (lastIndex <= _log.SnapshotIndex)
                {
                    return; // an equal or newer snapshot is already here (e.g. installed from the leader)
                }

                if (lastIndex > _commitIndex)
                {
                    throw new ArgumentOutOfRangeException(nameof(lastIncludedOffset), lastIncludedOffset,
                        $"Only committed offsets can be snapshotted (committed through {_commitIndex - 1})");
                }

                lastTerm = _log.TermAt(lastIndex);
            }

            // The file is written off the lock (it may be large); it becomes the latest and the log is cut under the
            // lock, if it is still newer than what a leader may have installed meanwhile.
            var snapshot = new RaftSnapshot(lastIndex, lastTerm, data);
            _snapshots.WriteFile(snapshot);
            lock (_gate)
            {
                if (_stopped || lastIndex <= _log.SnapshotIndex)
                {
                    return;
                }

                try
                {
                    _snapshots.Publish(snapshot);
                    _log.StartAfterSnapshot(lastIndex, lastTerm);
                }
                catch (IOException e)
                {
                    FailStop(e);
                    throw;
                }

                _logger.QuorumSnapshotWritten(NodeId, snapshot.LastOffset, lastTerm, data.Length, _log.StartIndex - 1);
            }
        }
        finally
        {
            _snapshotWriteGate.Release();
        }
    }

    /// <summary>Sets the handler that answers <see cref="CallLeaderAsync"/> while this node leads (opaque bytes both
    /// ways; the layer above owns the encoding). It runs off the Raft loop, once per call, concurrently.</summary>
    public void SetLeaderRequestHandler(Func<ReadOnlyMemory<byte>, CancellationToken, Task<byte[]>> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        _leaderHandler = handler;
    }

    /// <summary>Sends a request to the leader and returns its handler's answer. On the leader itself the handler is
    /// called directly; elsewhere the request travels on this node's connection to the leader.</summary>
    /// <exception cref="NotControllerException">No leader is known, the leader changed while waiting, the connection
    /// failed, or the receiving voter is not (or no longer) the leader or has no handler yet: retry (the request may
    /// or may not have been handled, as with any timeout).</exception>
    /// <exception cref="ControllerCallFailedException">The leader's handler failed.</exception>
    /// <exception cref="ArgumentException">The request exceeds <see cref="RaftQuorumOptions.MaxControllerMessageBytes"/>.</exception>
    /// <exception cref="OperationCanceledException">The token ended the wait.</exception>
    public async Task<byte[]> CallLeaderAsync(ReadOnlyMemory<byte> request, CancellationToken cancellationToken)
    {
        if (request.Length > _options.MaxControllerMessageBytes)
        {
            throw new ArgumentException($"Request of {request.Length} bytes exceeds {_options.MaxControllerMessageBytes}", nameof(request));
        }

        int leaderId;
        bool self;
        Task leadershipChanged;
        lock (_gate)
        {
            leaderId = _stopped || _leader.Resigning ? -1 : _election.LeaderId;
            self = leaderId == NodeId && _election.IsLeader;
            leadershipChanged = _leadershipSignal.Task;
        }

        if (self)
        {
            var handler = _leaderHandler ?? throw new NotControllerException(-1);
            return await handler(request, cancellationToken).ConfigureAwait(false);
        }

        if (leaderId < 0)
        {
            throw new NotControllerException(-1);
        }

        byte[] payload = request.ToArray();
        var call = _transport.CallAsync(leaderId, id => new ControllerCallRequest(id, NodeId, payload), cancellationToken);
        if (await Task.WhenAny(call, leadershipChanged).ConfigureAwait(false) != call)
        {
            _ = call.ContinueWith(static t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            throw new NotControllerException(LeaderId);
        }

        ClientFrame frame;
        try
        {
            frame = await call.ConfigureAwait(false);
        }
        catch (IOException)
        {
            throw new NotControllerException(-1);
        }

        return frame switch
        {
            ControllerCallResponse { Status: ControllerCallStatus.Ok } response => response.Payload,
            ControllerCallResponse { Status: ControllerCallStatus.NotController } response => throw new NotControllerException(response.LeaderId),
            ControllerCallResponse => throw new ControllerCallFailedException($"The leader {leaderId} failed to handle the request"),
            _ => throw new NotControllerException(-1),
        };
    }

    /// <summary>Leaves the quorum. A leader first hands over: it stops taking appends, brings its most caught-up
    /// follower up to date and sends it TimeoutNow, so that follower starts an election at once instead of after an
    /// election timeout; it waits at most one heartbeat interval for the new epoch to show. Then it stops like
    /// <see cref="StopAsync"/> without hand-over. Pending appends fail with NOT_CONTROLLER (outcome unknown).</summary>
    public ValueTask DisposeAsync() => StopAsync(handOverLeadership: true);

    /// <summary>Leaves the quorum; without <paramref name="handOverLeadership"/> at once, with no goodbye, so it behaves
    /// like a crash for the others (the data directory holds everything acknowledged).</summary>
    internal async ValueTask StopAsync(bool handOverLeadership)
    {
        Task? handedOver = null;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            if (handOverLeadership && _election.IsLeader && !_stopped && !_leader.Resigning && _leader.Followers.Count > 0)
            {
                handedOver = BeginHandOver(NowMs());
            }
        }

        if (handedOver is not null)
        {
            try
            {
                await handedOver.WaitAsync(_options.HeartbeatInterval, _time).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                _logger.QuorumLeadershipHandOverIncomplete(NodeId, _heartbeatMs);
            }
        }

        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _stopped = true;
            FailPendingAppends(-1);
            _commitAdvanced.TrySetResult();
            _leadershipSignal.TrySetResult();
            _logger.QuorumStopped(NodeId, _election.Epoch, _commitIndex);
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        _notifications.Writer.TryComplete();
        await Task.WhenAll(_ticker, _observer).ConfigureAwait(false); // both end on _stopping; the observer calls out first
        await _transport.StopAsync(drain: handedOver is not null).ConfigureAwait(false);
        await _leadershipNotifier.ConfigureAwait(false);
        lock (_gate)
        {
            _log.Dispose();
        }

        _stopping.Dispose();
    }

    /// <summary>Runs one timer step at the clock's current time: elections, heartbeats, check quorum (the tick loop
    /// calls it every 10 ms; tests with manual ticks call it directly).</summary>
    internal void Tick()
    {
        lock (_gate)
        {
            if (_stopped || _isObserver)
            {
                return;
            }

            try
            {
                TickLocked(NowMs());
            }
            catch (IOException e)
            {
                FailStop(e);
            }
        }
    }

    /// <summary>Delivers one message from another voter (the transport calls it).</summary>
    internal void OnMessage(QuorumMessage message)
    {
        lock (_gate)
        {
            if (_stopped)
            {
                return;
            }

            try
            {
                Handle(message, NowMs());
            }
            catch (IOException e)
            {
                FailStop(e);
            }
        }
    }

    (int LeaderId, long FromOffset) IObserverSink.FetchPosition()
    {
        lock (_gate)
        {
            return (_election.LeaderId, _log.LastIndex);
        }
    }

    /// <summary>Takes an observer's fetch response: committed entries from the leader, and the leadership it names when
    /// that is news: a newer epoch, or the leader of the epoch this observer knows none for. An answer from the past (a
    /// voter still in an older epoch) or a leader that stopped answering changes nothing: the observer keeps its last
    /// known leader until it learns a newer epoch, so the leadership it announces only moves forward (no flapping
    /// between the old leader and "none" during an election). True when <paramref name="target"/> answered as the leader.</summary>
    bool IObserverSink.ApplyFetchResponse(int target, long fromOffset, FetchCommittedResponse response)
    {
        lock (_gate)
        {
            if (_stopped)
            {
                return true;
            }

            if (response.Epoch > _election.Epoch || (response.Epoch == _election.Epoch && _election.LeaderId < 0 && response.LeaderId >= 0))
            {
                _election.Observe(response.Epoch, response.LeaderId);
                Announce();
            }

            bool fromLeader = response.LeaderId == target && response.Epoch == _election.Epoch;
            // Committed entries are the same on every voter (Raft's log matching), so even a deposed leader's are good.
            if (response.LeaderId == target && response.Entries.Count > 0 && _log.LastIndex == fromOffset)
            {
                _log.Append(response.Entries);
                SetCommitIndex(_log.LastIndex);
            }

            return fromLeader;
        }
    }

    void IObserverSink.InstallSnapshot(int fromId, RaftSnapshot snapshot)
    {
        lock (_gate)
        {
            if (_stopped)
            {
                return;
            }

            try
            {
                InstallSnapshotLocked(fromId, snapshot);
            }
            catch (IOException e)
            {
                FailStop(e);
            }
        }
    }

    long IReplicationHost.Epoch => _election.Epoch;

    long IReplicationHost.CommitIndex => _commitIndex;

    long IReplicationHost.NowMs() => NowMs();

    void IReplicationHost.AdvanceCommitIndex(long commitIndex) => SetCommitIndex(commitIndex);

    void IReplicationHost.InstallSnapshot(int fromId, RaftSnapshot snapshot) => InstallSnapshotLocked(fromId, snapshot);

    string? IReplicationHost.CheckSnapshot(byte[] data)
    {
        try
        {
            _ = DecodeSnapshot(data);
            return null;
        }
        catch (MalformedMessageException e)
        {
            return e.Message;
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private static void Validate(RaftQuorumOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Voters.Count == 0)
        {
            throw new ArgumentException("The quorum needs at least one voter", nameof(options));
        }

        if (options.HeartbeatInterval <= TimeSpan.Zero || options.ElectionTimeout <= options.HeartbeatInterval * 2)
        {
            throw new ArgumentException("The election timeout must exceed two heartbeat intervals", nameof(options));
        }

        if (options.MaxRecordBytes <= 0 || options.MaxRecordsPerEntry <= 0 || options.MaxControllerMessageBytes <= 0
            || options.MaxSnapshotBytes <= 0 || options.SnapshotChunkBytes <= 0 || options.SnapshotChunkBytes > options.MaxRecordBytes)
        {
            throw new ArgumentException("Size bounds must be positive, and snapshot chunks at most MaxRecordBytes", nameof(options));
        }
    }

    /// <summary>Milliseconds since this node started, on the quorum's clock (only differences are ever used).</summary>
    private long NowMs() => (long)_time.GetElapsedTime(_startedAt).TotalMilliseconds;

    private IReadOnlyList<T> DecodeSnapshot(byte[] data) => RaftBatchCodec.Decode(data, int.MaxValue, _serde, allowEmpty: true);

    private void Begin()
    {
        lock (_gate)
        {
            if (_isObserver)
            {
                _logger.QuorumObserverStarted(NodeId, string.Join(',', _options.Voters));
            }
            else
            {
                _election.ResetDeadline(NowMs());
                // The only voter has nobody to wait for (Kafka's KRaft also elects itself at once): a single-node cluster
                // is ready an election timeout sooner.
                if (_options.Voters.Count == 1)
                {
                    _election.ElectAtOnce();
                }

                _logger.QuorumStarted(NodeId, _options.Listener?.ToString() ?? "in-memory", _election.Epoch, _log.LastIndex, string.Join(',', _options.Voters));
            }
        }

        _leadershipNotifier = Task.Run(NotifyLeadershipLoopAsync);
        if (_isObserver)
        {
            var fetcher = new ObserverFetcher(_options, _transport, this, _logger);
            _observer = Task.Run(() => fetcher.RunAsync(_stopping.Token));
        }
        else
        {
            _transport.Start(OnMessage, ServeClientAsync);
            if (!_manualTicks)
            {
                _ticker = Task.Run(TickLoopAsync);
            }
        }
    }

    /// <summary>Raft thesis §3.10 leadership transfer, as the leader stops: no new appends, bring the most caught-up
    /// follower up to date, then TimeoutNow. The returned task completes once a newer epoch shows up here.</summary>
    private Task BeginHandOver(long now)
    {
        _leader.Resigning = true;
        _handedOver = NewSignal();
        var (targetId, target) = _leader.ChooseHandOverTarget(now, _electionTimeoutMs);
        _leader.HandOverTarget = targetId;
        _logger.QuorumLeadershipHandOver(NodeId, _election.Epoch, targetId);
        if (target.MatchIndex == _log.LastIndex)
        {
            _leader.SendTimeoutNow();
        }
        else
        {
            _leader.SendAppend(targetId, target, now);
        }

        return _handedOver.Task;
    }

    /// <summary>Answers a request on a voter: a leader call, an observer's fetch or snapshot fetch.</summary>
    private Task<ClientFrame> ServeClientAsync(ClientFrame request, CancellationToken cancellationToken) => request switch
    {
        ControllerCallRequest call => ServeLeaderCallAsync(call, cancellationToken),
        FetchCommittedRequest fetch => ServeFetchAsync(fetch, cancellationToken),
        FetchSnapshotRequest fetch => Task.FromResult<ClientFrame>(ServeFetchSnapshot(fetch)),
        _ => throw new InvalidOperationException($"Client frame {request.GetType().Name} is not a request"),
    };

    private async Task<ClientFrame> ServeLeaderCallAsync(ControllerCallRequest request, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_election.IsLeader || _stopped || _leader.Resigning)
            {
                return new ControllerCallResponse(request.CorrelationId, ControllerCallStatus.NotController, _leader.Resigning ? -1 : _election.LeaderId, []);
            }
        }

        var handler = _leaderHandler;
        if (handler is null)
        {
            return new ControllerCallResponse(request.CorrelationId, ControllerCallStatus.NotController, -1, []);
        }

        byte[] answer;
        try
        {
            answer = await handler(request.Payload, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
#pragma warning disable CA1031 // a handler's bug is answered to the caller, not allowed to kill the connection
        catch (Exception e)
#pragma warning restore CA1031
        {
            _logger.QuorumControllerHandlerFailed(e, NodeId, e.Message);
            return new ControllerCallResponse(request.CorrelationId, ControllerCallStatus.HandlerFailed, NodeId, []);
        }

        if (answer.Length > _options.MaxControllerMessageBytes)
        {
            _logger.QuorumControllerHandlerFailed(null, NodeId, $"answer of {answer.Length} bytes exceeds {_options.MaxControllerMessageBytes}");
            return new ControllerCallResponse(request.CorrelationId, ControllerCallStatus.HandlerFailed, NodeId, []);
        }

        return new ControllerCallResponse(request.CorrelationId, ControllerCallStatus.Ok, NodeId, answer);
    }

    /// <summary>An observer's long poll: only the leader answers with entries, and only committed ones, so an observer's
    /// log is always a committed prefix; others answer at once with the leader they know. An offset below the log start
    /// is answered with the snapshot to fetch instead.</summary>
    private async Task<ClientFrame> ServeFetchAsync(FetchCommittedRequest request, CancellationToken cancellationToken)
    {
        long deadline = NowMs() + Math.Clamp(request.MaxWaitMs, 0, ObserverFetcher.MaxFetchWaitMs);
        int maxEntries = Math.Clamp(request.MaxEntries, 1, _options.MaxEntriesPerAppend);
        long maxBytes = Math.Clamp(request.MaxBytes, 1, QuorumTransport.MaxAppendBytes(_options));
        while (true)
        {
            Task commitAdvanced;
            Task leadershipChanged;
            long remaining;
            lock (_gate)
            {
                if (_stopped || !_election.IsLeader)
                {
                    return new FetchCommittedResponse(request.CorrelationId, _stopped ? -1 : _election.LeaderId, _election.Epoch, []);
                }

                long fromIndex = Math.Max(request.FromOffset, 0) + 1;
                if (fromIndex < _log.StartIndex)
                {
                    var snapshot = _snapshots.Latest!;
                    return new FetchCommittedResponse(request.CorrelationId, NodeId, _election.Epoch, [], snapshot.LastIndex, snapshot.LastTerm);
                }

                if (fromIndex <= _commitIndex)
                {
                    var entries = new List<QuorumEntry>();
                    long bytes = 0;
                    for (long index = fromIndex; index <= _commitIndex && entries.Count < maxEntries; index++)
                    {
                        var entry = _log.EntryAt(index);
                        if (entries.Count > 0 && bytes + entry.Payload.Length > maxBytes)
                        {
                            break;
                        }

                        bytes += entry.Payload.Length;
                        entries.Add(entry);
                    }

                    return new FetchCommittedResponse(request.CorrelationId, NodeId, _election.Epoch, entries);
                }

                remaining = deadline - NowMs();
                if (remaining <= 0)
                {
                    return new FetchCommittedResponse(request.CorrelationId, NodeId, _election.Epoch, []);
                }

                commitAdvanced = _commitAdvanced.Task;
                leadershipChanged = _leadershipSignal.Task;
            }

            await Task.WhenAny(commitAdvanced, leadershipChanged, Task.Delay(TimeSpan.FromMilliseconds(remaining), _time, cancellationToken))
                .ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    /// <summary>FetchSnapshot: a chunk of the latest snapshot, if it is still the one asked for.</summary>
    private FetchSnapshotResponse ServeFetchSnapshot(FetchSnapshotRequest request)
    {
        RaftSnapshot? snapshot;
        lock (_gate)
        {
            snapshot = _snapshots.Latest;
        }

        if (snapshot is null || snapshot.LastIndex != request.LastIndex || snapshot.LastTerm != request.LastTerm
            || request.Position < 0 || request.Position > snapshot.Data.Length)
        {
            return new FetchSnapshotResponse(request.CorrelationId, false, request.LastIndex, request.LastTerm, 0, request.Position, []);
        }

        int length = Math.Min(Math.Clamp(request.MaxBytes, 1, _options.SnapshotChunkBytes), snapshot.Data.Length - request.Position);
        return new FetchSnapshotResponse(request.CorrelationId, true, snapshot.LastIndex, snapshot.LastTerm, snapshot.Data.Length, request.Position,
            snapshot.Data.AsSpan(request.Position, length).ToArray());
    }

    private async Task TickLoopAsync()
    {
        using var timer = new PeriodicTimer(TickInterval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token).ConfigureAwait(false))
            {
                Tick();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task NotifyLeadershipLoopAsync()
    {
        await foreach (var notification in _notifications.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            try
            {
                if (notification.ReadyOffset >= 0)
                {
                    LeaderReady?.Invoke(notification.ReadyOffset);
                }
                else
                {
                    LeadershipChanged?.Invoke(notification.Leadership);
                }
            }
#pragma warning disable CA1031 // a subscriber's bug must not stop later notifications
            catch (Exception e)
#pragma warning restore CA1031
            {
                _logger.QuorumLeadershipHandlerFailed(e, NodeId);
            }
        }
    }

    private void TickLocked(long now)
    {
        if (!_election.IsLeader)
        {
            if (now >= _election.ElectionDeadline)
            {
                StartElection(now);
            }

            return;
        }

        _leader.SendDueHeartbeats(now);
        if (!_leader.HeardFromMajority(now, _electionTimeoutMs))
        {
            _logger.QuorumLeaderResigned(NodeId, _election.Epoch, _electionTimeoutMs);
            BecomeFollower(_election.Epoch, leaderId: -1, now);
        }
    }

    private void StartElection(long now)
    {
        bool wonAlone = _election.BecomeCandidate(now);
        Announce();
        _logger.QuorumElectionStarted(NodeId, _election.Epoch, _log.LastIndex, _log.LastTerm);
        if (wonAlone)
        {
            BecomeLeader(now);
            return;
        }

        foreach (var voter in _options.Voters)
        {
            if (voter.Id != NodeId)
            {
                _transport.Send(new VoteRequest(NodeId, voter.Id, _election.Epoch, _log.LastIndex, _log.LastTerm));
            }
        }
    }

    private void BecomeLeader(long now)
    {
        _election.BecomeLeader();
        // Raft commits only entries of the leader's own epoch by counting replicas; this marker is that first entry.
        _log.Append([new QuorumEntry(_election.Epoch, [])]);
        _leader.BeginTerm(_log.LastIndex, now);
        _leader.ReplicateToIdleFollowers(now);
        _logger.QuorumLeaderElected(NodeId, _election.Epoch);
        Announce();
        _leader.AdvanceCommit();
    }

    private void BecomeFollower(long epoch, int leaderId, long now)
    {
        bool wasLeader = _election.IsLeader;
        _election.Follow(epoch, leaderId, now);
        _leader.EndTerm();
        if (wasLeader)
        {
            FailPendingAppends(leaderId);
        }

        if (_leader.Resigning)
        {
            _handedOver?.TrySetResult();
        }

        if (leaderId >= 0)
        {
            _logger.QuorumFollowing(NodeId, leaderId, epoch);
        }

        Announce();
    }

    private void Handle(QuorumMessage message, long now)
    {
        if (message.Term > _election.Epoch)
        {
            int leaderId = message is AppendRequest or TimeoutNowRequest or InstallSnapshotRequest ? message.From : -1;
            BecomeFollower(message.Term, leaderId, now);
        }

        switch (message)
        {
            case VoteRequest request:
                bool granted = _election.DecideVote(request.From, request.Term, request.LastIndex, request.LastTerm, _log.LastIndex,
                    _log.LastTerm, now);
                _transport.Send(new VoteResponse(NodeId, request.From, _election.Epoch, granted));
                break;
            case VoteResponse response:
                if (_election.Role == RaftRole.Candidate && response.Term == _election.Epoch && response.Granted && _election.AddVote(response.From))
                {
                    BecomeLeader(now);
                }

                break;
            case AppendRequest request:
                if (AcceptLeader(request.From, request.Term, now))
                {
                    _follower.OnAppendRequest(request);
                }
                else
                {
                    _transport.Send(new AppendResponse(NodeId, request.From, _election.Epoch, Success: false, Index: 0));
                }

                break;
            case InstallSnapshotRequest request:
                if (AcceptLeader(request.From, request.Term, now))
                {
                    _follower.OnInstallSnapshot(request);
                }
                else
                {
                    _transport.Send(new AppendResponse(NodeId, request.From, _election.Epoch, Success: false, Index: 0));
                }

                break;
            case AppendResponse response when _election.IsLeader && response.Term == _election.Epoch:
                _leader.OnAppendResponse(response, now);
                break;
            case InstallSnapshotResponse response when _election.IsLeader && response.Term == _election.Epoch:
                _leader.OnInstallSnapshotResponse(response, now);
                break;
            case TimeoutNowRequest request:
                // Only from the leader of our epoch: a stale or foreign TimeoutNow must not disrupt a healthy leader.
                if (request.Term == _election.Epoch && _election.Role == RaftRole.Follower && _election.LeaderId == request.From)
                {
                    _logger.QuorumTimeoutNowReceived(NodeId, request.From);
                    StartElection(now);
                }

                break;
        }
    }

    /// <summary>Accepts a message from <paramref name="leaderId"/> claiming leadership in <paramref name="term"/>; false
    /// (after answering nothing) when it is from an older epoch.</summary>
    private bool AcceptLeader(int leaderId, long term, long now)
    {
        if (term < _election.Epoch)
        {
            return false;
        }

        if (_election.Role != RaftRole.Follower || _election.LeaderId != leaderId)
        {
            BecomeFollower(_election.Epoch, leaderId, now);
        }

        _election.ResetDeadline(now);
        return true;
    }

    private void InstallSnapshotLocked(int fromId, RaftSnapshot snapshot)
    {
        if (snapshot.LastIndex <= _log.SnapshotIndex)
        {
            return;
        }

        _snapshots.Save(snapshot);
        _log.StartAfterSnapshot(snapshot.LastIndex, snapshot.LastTerm);
        _logger.QuorumSnapshotInstalled(NodeId, snapshot.LastOffset, snapshot.LastTerm, snapshot.Data.Length, fromId);
        if (snapshot.LastIndex > _commitIndex)
        {
            SetCommitIndex(snapshot.LastIndex);
        }
        else
        {
            WakeReaders();
        }
    }

    private void SetCommitIndex(long commitIndex)
    {
        _commitIndex = commitIndex;
        while (_pendingAppends.Count > 0)
        {
            var (index, completion) = _pendingAppends.First();
            if (index > commitIndex)
            {
                break;
            }

            _pendingAppends.Remove(index);
            completion.TrySetResult(index - 1);
        }

        if (_election.IsLeader && !_leader.ReadyAnnounced && _leader.EpochStartIndex > 0 && commitIndex >= _leader.EpochStartIndex)
        {
            _leader.ReadyAnnounced = true;
            _logger.QuorumLeaderReady(NodeId, _leader.EpochStartIndex - 1, _election.Epoch);
            _notifications.Writer.TryWrite(new Notification(default, _leader.EpochStartIndex - 1));
        }

        WakeReaders();
    }

    private void WakeReaders()
    {
        var signal = _commitAdvanced;
        _commitAdvanced = NewSignal();
        signal.TrySetResult();
    }

    /// <summary>A node whose log, snapshot or state file cannot be written must stop voting and acknowledging (Kafka
    /// halts the process): its in-memory state may now claim more than its disk holds.</summary>
    private void FailStop(IOException exception)
    {
        _logger.QuorumStorageFailed(exception, NodeId);
        _stopped = true;
        _election.Halt();
        FailPendingAppends(-1);
        _commitAdvanced.TrySetResult();
    }

    private void FailPendingAppends(int leaderId)
    {
        foreach (var completion in _pendingAppends.Values)
        {
            completion.TrySetException(new NotControllerException(leaderId));
        }

        _pendingAppends.Clear();
    }

    private void Announce()
    {
        var leadership = new QuorumLeadership(_election.LeaderId, _election.Epoch);
        if (leadership != _lastAnnounced)
        {
            _lastAnnounced = leadership;
            _notifications.Writer.TryWrite(new Notification(leadership, -1));
            var signal = _leadershipSignal;
            _leadershipSignal = NewSignal();
            signal.TrySetResult();
        }
    }

    /// <summary>What the notifier raises next: a leadership change, or (<see cref="ReadyOffset"/> ≥ 0) leader readiness.</summary>
    private readonly record struct Notification(QuorumLeadership Leadership, long ReadyOffset);
}
