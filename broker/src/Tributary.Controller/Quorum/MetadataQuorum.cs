using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Tributary.Metadata.Records;
using Tributary.Protocol;

namespace Tributary.Controller.Quorum;

/// <summary>One node of the Raft quorum that agrees on the cluster metadata log: a voter (its leader is the active
/// controller) or an observer (a broker that only follows the committed log and calls the controller).</summary>
/// <remarks>
/// Home-made Raft (leader election, log replication, commit only by current-epoch majority) over TCP, with the log and
/// the epoch/vote fsynced before anything is acknowledged, so a killed voter restarts from its data directory with
/// every entry it acknowledged. Additions over the paper: the leader resigns when it has not heard from a majority for
/// an election timeout ("check quorum", as KRaft does), so a leader cut off in a minority stops acting as controller;
/// a stopping leader hands over with TimeoutNow (thesis §3.10). One entry carries one atomic batch of records.
/// Observers long-poll the leader for committed entries over a client connection and keep them only in memory.
/// Not yet done (issue 6): snapshots/compaction, pre-vote, voter-set changes.
/// All state sits behind one lock; sockets, appliers and the controller handler run outside it.
/// </remarks>
public sealed class MetadataQuorum : IAsyncDisposable
{
    private const string LogFileName = "metadata-quorum.log";
    private const string StateFileName = "quorum-state";
    private static readonly TimeSpan TickInterval = TimeSpan.FromMilliseconds(10);

    /// <summary>Longest an observer's fetch may wait on the leader for new commits, whatever it asks for.</summary>
    private const int MaxFetchWaitMs = 30_000;

    private readonly Lock _gate = new();
    private readonly MetadataQuorumOptions _options;
    private readonly ILogger _logger;
    private readonly QuorumLog _log;
    private readonly QuorumStateFile? _stateFile;
    private readonly QuorumTransport? _transport;
    private readonly QuorumClient _client;
    private readonly bool _isObserver;
    private readonly int _majority;
    private readonly long _electionTimeoutMs;
    private readonly long _heartbeatMs;
    private readonly Dictionary<int, FollowerProgress> _followers = [];
    private readonly HashSet<int> _votes = [];
    private readonly SortedDictionary<long, TaskCompletionSource<long>> _pendingAppends = [];
    private readonly Channel<Notification> _notifications = Channel.CreateUnbounded<Notification>(
        new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _ticker;
    private readonly Task _leadershipNotifier;
    private Task _observer = Task.CompletedTask;
    private volatile Func<ReadOnlyMemory<byte>, CancellationToken, Task<byte[]>>? _controllerHandler;

    private Role _role = Role.Follower;
    private long _epoch;
    private int _votedFor;
    private int _leaderId = -1;
    private long _commitIndex;
    private long _electionDeadline;
    private long _leaderSince;
    private QuorumLeadership _lastAnnounced = new(-1, -1);
    private TaskCompletionSource _commitAdvanced = NewSignal();
    private TaskCompletionSource _leadershipSignal = NewSignal();
    private long _epochStartIndex;
    private bool _readyAnnounced;
    private bool _resigning;
    private int _handOverTarget = -1;
    private bool _timeoutNowSent;
    private TaskCompletionSource? _handedOver;
    private bool _stopped;
    private bool _disposed;

    private MetadataQuorum(MetadataQuorumOptions options, ILogger logger, QuorumLog log, QuorumStateFile? stateFile)
    {
        _options = options;
        _logger = logger;
        _log = log;
        _stateFile = stateFile;
        _isObserver = stateFile is null;
        _majority = options.Voters.Count / 2 + 1;
        _electionTimeoutMs = (long)options.ElectionTimeout.TotalMilliseconds;
        _heartbeatMs = (long)options.HeartbeatInterval.TotalMilliseconds;
        (_epoch, _votedFor) = stateFile?.Read() ?? (0, -1);
        _client = new QuorumClient(options, logger);
        if (!_isObserver)
        {
            _transport = new QuorumTransport(options, OnMessage, ServeClientAsync, logger);
        }

        _ticker = _isObserver ? Task.CompletedTask : Task.Run(TickLoopAsync);
        _leadershipNotifier = Task.Run(NotifyLeadershipLoopAsync);
    }

    /// <summary>Raised (in order, off the quorum's lock) whenever the known leader or epoch changes.</summary>
    public event Action<QuorumLeadership>? LeadershipChanged;

    /// <summary>Raised (in order with <see cref="LeadershipChanged"/>, off the lock) when this node, as leader, has
    /// committed its epoch-start entry; the argument is that entry's offset (<see cref="LeaderReadyOffset"/>).</summary>
    public event Action<long>? LeaderReady;

    private enum Role
    {
        Follower,
        Candidate,
        Leader,
    }

    public int NodeId => _options.NodeId;

    /// <summary>True when this node is not among the voters: it follows the committed log but never votes or leads.</summary>
    public bool IsObserver => _isObserver;

    /// <summary>While this node leads: the offset of its own epoch-start entry once that entry is committed, else -1.</summary>
    /// <remarks>Everything earlier leaders committed precedes this offset, so the active controller must not decide
    /// anything until the state it applied from <see cref="ReadCommittedBatchesAsync"/> has reached it.</remarks>
    public long LeaderReadyOffset
    {
        get
        {
            lock (_gate)
            {
                return _role == Role.Leader && _readyAnnounced ? _epochStartIndex - 1 : -1;
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
                return _leaderId;
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
                return _epoch;
            }
        }
    }

    public bool IsLeader
    {
        get
        {
            lock (_gate)
            {
                return _role == Role.Leader;
            }
        }
    }

    public QuorumLeadership Leadership
    {
        get
        {
            lock (_gate)
            {
                return new QuorumLeadership(_leaderId, _epoch);
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

    /// <summary>
    /// Replication progress of every voter as this node knows it (DescribeQuorum): on the leader, each follower's
    /// matched log end and how long ago it last answered; elsewhere only this node's own log end. Offsets are log ends
    /// (last index + 1); -1 where unknown.
    /// </summary>
    public IReadOnlyList<QuorumVoterProgress> VoterProgress()
    {
        lock (_gate)
        {
            long now = Environment.TickCount64;
            var result = new List<QuorumVoterProgress>(_options.Voters.Count);
            foreach (var voter in _options.Voters)
            {
                if (voter.Id == _options.NodeId)
                {
                    result.Add(new QuorumVoterProgress(voter.Id, _log.LastIndex + 1, 0));
                }
                else if (_role == Role.Leader && _followers.TryGetValue(voter.Id, out var follower))
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

    /// <summary>Joins the quorum. A voter opens (or creates) its data directory and replays its log; an observer (its
    /// id is not among the voters) starts empty and fetches the committed log from the leader.</summary>
    /// <exception cref="ArgumentException">A voter without a listener, or inconsistent options.</exception>
    public static MetadataQuorum Start(MetadataQuorumOptions options, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Voters.Count == 0)
        {
            throw new ArgumentException("The quorum needs at least one voter", nameof(options));
        }

        bool observer = !options.Voters.Any(v => v.Id == options.NodeId);
        if (!observer && options.Listener is null)
        {
            throw new ArgumentException($"Voter {options.NodeId} needs a listener", nameof(options));
        }

        if (options.HeartbeatInterval <= TimeSpan.Zero || options.ElectionTimeout <= options.HeartbeatInterval * 2)
        {
            throw new ArgumentException("The election timeout must exceed two heartbeat intervals", nameof(options));
        }

        if (options.MaxRecordBytes <= 0 || options.MaxRecordsPerEntry <= 0 || options.MaxControllerMessageBytes <= 0)
        {
            throw new ArgumentException("Size bounds must be positive", nameof(options));
        }

        logger ??= NullLogger.Instance;
        if (observer)
        {
            var observerQuorum = new MetadataQuorum(options, logger, QuorumLog.InMemory(options.MaxRecordBytes), stateFile: null);
            observerQuorum.Begin();
            return observerQuorum;
        }

        Directory.CreateDirectory(options.DataDirectory);
        var log = QuorumLog.Open(Path.Combine(options.DataDirectory, LogFileName), options.MaxRecordBytes);
        MetadataQuorum quorum;
        try
        {
            if (log.TruncatedTailBytes > 0)
            {
                logger.QuorumLogTailTruncated(options.NodeId, log.TruncatedTailBytes);
            }

            quorum = new MetadataQuorum(options, logger, log, new QuorumStateFile(Path.Combine(options.DataDirectory, StateFileName)));
        }
        catch
        {
            log.Dispose();
            throw;
        }

        quorum.Begin();
        return quorum;
    }

    /// <summary>Appends one record on the leader (a one-record batch) and waits for the quorum to commit it.</summary>
    /// <returns>The committed offset, or NOT_CONTROLLER with the leader to retry on.</returns>
    public Task<QuorumAppendResult> TryAppendAsync(MetadataRecord record, CancellationToken cancellationToken)
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
    /// nothing appended, when the batch exceeds <see cref="MetadataQuorumOptions.MaxRecordBytes"/> or
    /// <see cref="MetadataQuorumOptions.MaxRecordsPerEntry"/>.</returns>
    public async Task<QuorumAppendResult> TryAppendAsync(IReadOnlyList<MetadataRecord> records, long expectedEpoch,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(records);
        if (records.Count == 0)
        {
            throw new ArgumentException("A metadata batch needs at least one record", nameof(records));
        }

        byte[]? payload = records.Count <= _options.MaxRecordsPerEntry ? MetadataBatchCodec.Encode(records) : null;
        Task<long> committed;
        lock (_gate)
        {
            if (payload is null || payload.Length > _options.MaxRecordBytes)
            {
                return new QuorumAppendResult(ErrorCode.MessageTooLarge, -1, _leaderId);
            }

            if (_role != Role.Leader || _stopped || _resigning || (expectedEpoch >= 0 && expectedEpoch != _epoch))
            {
                return QuorumAppendResult.NotController(_resigning ? -1 : _leaderId);
            }

            try
            {
                _log.Append([new QuorumEntry(_epoch, payload)]);
            }
            catch (IOException e)
            {
                FailStop(e);
                throw;
            }

            var completion = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
            _pendingAppends.Add(_log.LastIndex, completion);
            committed = completion.Task;
            long now = Environment.TickCount64;
            foreach (var (peerId, follower) in _followers)
            {
                if (now >= follower.InFlightUntil)
                {
                    SendAppend(peerId, follower, now);
                }
            }

            AdvanceLeaderCommit();
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
    public async Task<long> AppendAsync(MetadataRecord record, CancellationToken cancellationToken)
    {
        var result = await TryAppendAsync(record, cancellationToken).ConfigureAwait(false);
        return result.Error switch
        {
            ErrorCode.None => result.Offset,
            ErrorCode.MessageTooLarge => throw new ArgumentException($"Metadata record exceeds {_options.MaxRecordBytes} bytes", nameof(record)),
            _ => throw new NotControllerException(result.LeaderId),
        };
    }

    /// <summary>Every committed entry from <paramref name="fromOffset"/> on, in log order, one batch per entry (epoch-start
    /// entries included, with zero records), waiting for new commits; ends when the quorum stops. Leaders, followers
    /// and observers yield the same sequence.</summary>
    public async IAsyncEnumerable<CommittedMetadataBatch> ReadCommittedBatchesAsync(long fromOffset,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        long nextIndex = Math.Max(fromOffset, 0) + 1;
        while (true)
        {
            List<(long Index, QuorumEntry Entry)> entries = [];
            Task commitAdvanced;
            lock (_gate)
            {
                if (_stopped)
                {
                    yield break;
                }

                for (long index = nextIndex; index <= _commitIndex && entries.Count < 1024; index++)
                {
                    entries.Add((index, _log.EntryAt(index)));
                }

                commitAdvanced = _commitAdvanced.Task;
            }

            foreach (var (index, entry) in entries)
            {
                nextIndex = index + 1;
                yield return new CommittedMetadataBatch(index - 1, entry.Term, MetadataBatchCodec.Decode(entry.Payload, _options.MaxRecordsPerEntry));
            }

            if (entries.Count == 0)
            {
                await commitAdvanced.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Every committed record from <paramref name="fromOffset"/> on, in log order, waiting for new commits;
    /// ends when the quorum stops. The flattened view of <see cref="ReadCommittedBatchesAsync"/>: epoch-start entries
    /// are skipped and the records of one batch share its offset.</summary>
    public async IAsyncEnumerable<CommittedMetadataRecord> ReadCommittedAsync(long fromOffset,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var batch in ReadCommittedBatchesAsync(fromOffset, cancellationToken).ConfigureAwait(false))
        {
            foreach (var record in batch.Records)
            {
                yield return new CommittedMetadataRecord(batch.Offset, batch.Epoch, record);
            }
        }
    }

    /// <summary>Sets the handler that answers <see cref="CallControllerAsync"/> while this node leads (opaque bytes both
    /// ways; the broker owns the encoding). It runs off the Raft loop, once per call, concurrently.</summary>
    public void SetControllerRequestHandler(Func<ReadOnlyMemory<byte>, CancellationToken, Task<byte[]>> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        _controllerHandler = handler;
    }

    /// <summary>Sends a request to the active controller and returns its handler's answer. On the leader itself the
    /// handler is called directly; elsewhere the request travels on this node's client connection to the leader.</summary>
    /// <exception cref="NotControllerException">No leader is known, the leader changed while waiting, the connection
    /// failed, or the receiving voter is not (or no longer) the leader or has no handler yet: retry (the request may
    /// or may not have been handled, as with any timeout).</exception>
    /// <exception cref="ControllerCallFailedException">The controller's handler failed.</exception>
    /// <exception cref="ArgumentException">The request exceeds <see cref="MetadataQuorumOptions.MaxControllerMessageBytes"/>.</exception>
    /// <exception cref="OperationCanceledException">The token ended the wait.</exception>
    public async Task<byte[]> CallControllerAsync(ReadOnlyMemory<byte> request, CancellationToken cancellationToken)
    {
        if (request.Length > _options.MaxControllerMessageBytes)
        {
            throw new ArgumentException($"Controller request of {request.Length} bytes exceeds {_options.MaxControllerMessageBytes}", nameof(request));
        }

        int leaderId;
        bool self;
        Task leadershipChanged;
        lock (_gate)
        {
            leaderId = _stopped || _resigning ? -1 : _leaderId;
            self = leaderId == NodeId && _role == Role.Leader;
            leadershipChanged = _leadershipSignal.Task;
        }

        if (self)
        {
            var handler = _controllerHandler ?? throw new NotControllerException(-1);
            return await handler(request, cancellationToken).ConfigureAwait(false);
        }

        if (leaderId < 0)
        {
            throw new NotControllerException(-1);
        }

        byte[] payload = request.ToArray();
        var call = _client.SendAsync(leaderId, id => new ControllerCallRequest(id, NodeId, payload), cancellationToken);
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
            ControllerCallResponse => throw new ControllerCallFailedException($"The active controller {leaderId} failed to handle the request"),
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

            if (handOverLeadership && _role == Role.Leader && !_stopped && !_resigning && _followers.Count > 0)
            {
                handedOver = BeginHandOver(Environment.TickCount64);
            }
        }

        if (handedOver is not null)
        {
            try
            {
                await handedOver.WaitAsync(_options.HeartbeatInterval).ConfigureAwait(false);
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
            _logger.QuorumStopped(NodeId, _epoch, _commitIndex);
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        _notifications.Writer.TryComplete();
        if (_transport is not null)
        {
            await _transport.StopAsync(drain: handedOver is not null).ConfigureAwait(false);
        }

        await Task.WhenAll(_ticker, _observer).ConfigureAwait(false); // both end on _stopping; the observer uses the client
        await _client.DisposeAsync().ConfigureAwait(false);
        await _leadershipNotifier.ConfigureAwait(false);
        lock (_gate)
        {
            _log.Dispose();
        }

        _stopping.Dispose();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

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
                // The only voter has nobody to wait for (Kafka's KRaft also elects itself at once): a single-node cluster
                // is ready an election timeout sooner.
                ResetElectionDeadline(Environment.TickCount64);
                if (_options.Voters.Count == 1)
                {
                    _electionDeadline = 0;
                }

                _logger.QuorumStarted(NodeId, _options.Listener!.ToString(), _epoch, _log.LastIndex, string.Join(',', _options.Voters));
            }
        }

        if (_isObserver)
        {
            _observer = Task.Run(ObserveLoopAsync);
        }
        else
        {
            _transport!.Start();
        }
    }

    /// <summary>Raft thesis §3.10 leadership transfer, as the leader stops: no new appends, bring the most caught-up
    /// follower up to date, then TimeoutNow. The returned task completes once a newer epoch shows up here.</summary>
    private Task BeginHandOver(long now)
    {
        _resigning = true;
        _handedOver = NewSignal();
        // The most caught-up follower among those still answering: TimeoutNow to a dead one would only waste the wait.
        var (targetId, target) = _followers
            .OrderByDescending(f => now - f.Value.LastHeardAt < _electionTimeoutMs)
            .ThenByDescending(f => f.Value.MatchIndex)
            .First();
        _handOverTarget = targetId;
        _logger.QuorumLeadershipHandOver(NodeId, _epoch, targetId);
        if (target.MatchIndex == _log.LastIndex)
        {
            SendTimeoutNow();
        }
        else
        {
            SendAppend(targetId, target, now);
        }

        return _handedOver.Task;
    }

    private void SendTimeoutNow()
    {
        _timeoutNowSent = true;
        _transport!.Send(new TimeoutNowRequest(NodeId, _handOverTarget, _epoch));
    }

    /// <summary>Answers a client frame on a voter: a controller call or an observer's fetch.</summary>
    private Task<ClientFrame> ServeClientAsync(ClientFrame request, CancellationToken cancellationToken) => request switch
    {
        ControllerCallRequest call => ServeControllerCallAsync(call, cancellationToken),
        FetchCommittedRequest fetch => ServeFetchAsync(fetch, cancellationToken),
        _ => throw new InvalidOperationException($"Client frame {request.GetType().Name} is not a request"),
    };

    private async Task<ClientFrame> ServeControllerCallAsync(ControllerCallRequest request, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_role != Role.Leader || _stopped || _resigning)
            {
                return new ControllerCallResponse(request.CorrelationId, ControllerCallStatus.NotController, _resigning ? -1 : _leaderId, []);
            }
        }

        var handler = _controllerHandler;
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
    /// log is always a committed prefix; others answer at once with the leader they know.</summary>
    private async Task<ClientFrame> ServeFetchAsync(FetchCommittedRequest request, CancellationToken cancellationToken)
    {
        long deadline = Environment.TickCount64 + Math.Clamp(request.MaxWaitMs, 0, MaxFetchWaitMs);
        int maxEntries = Math.Clamp(request.MaxEntries, 1, _options.MaxEntriesPerAppend);
        long maxBytes = Math.Clamp(request.MaxBytes, 1, QuorumTransport.MaxAppendBytes(_options));
        while (true)
        {
            Task commitAdvanced;
            Task leadershipChanged;
            lock (_gate)
            {
                if (_stopped || _role != Role.Leader)
                {
                    return new FetchCommittedResponse(request.CorrelationId, _stopped ? -1 : _leaderId, _epoch, []);
                }

                long fromIndex = Math.Max(request.FromOffset, 0) + 1;
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

                    return new FetchCommittedResponse(request.CorrelationId, NodeId, _epoch, entries);
                }

                if (Environment.TickCount64 >= deadline)
                {
                    return new FetchCommittedResponse(request.CorrelationId, NodeId, _epoch, []);
                }

                commitAdvanced = _commitAdvanced.Task;
                leadershipChanged = _leadershipSignal.Task;
            }

            long remaining = Math.Max(1, deadline - Environment.TickCount64);
            await Task.WhenAny(commitAdvanced, leadershipChanged, Task.Delay(TimeSpan.FromMilliseconds(remaining), cancellationToken))
                .ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    /// <summary>An observer's only activity: long-poll the leader for committed entries; with no leader known, rotate
    /// over the voters (each answers with the leader it knows).</summary>
    private async Task ObserveLoopAsync()
    {
        var stopping = _stopping.Token;
        int rotation = Random.Shared.Next(_options.Voters.Count);
        int maxWaitMs = (int)Math.Min(_heartbeatMs * 5, MaxFetchWaitMs);
        var backoff = _options.HeartbeatInterval;
        while (!stopping.IsCancellationRequested)
        {
            int target;
            long fromOffset;
            lock (_gate)
            {
                target = _leaderId;
                fromOffset = _log.LastIndex;
            }

            if (target < 0)
            {
                target = _options.Voters[rotation++ % _options.Voters.Count].Id;
            }

            bool leaderFound;
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
                timeout.CancelAfter(TimeSpan.FromMilliseconds(maxWaitMs) + _options.ElectionTimeout);
                var frame = await _client.SendAsync(target,
                    id => new FetchCommittedRequest(id, NodeId, fromOffset, _options.MaxEntriesPerAppend, QuorumTransport.MaxAppendBytes(_options), maxWaitMs),
                    timeout.Token).ConfigureAwait(false);
                leaderFound = frame is FetchCommittedResponse response
                    ? ApplyFetchResponse(target, fromOffset, response)
                    : throw new IOException($"Voter {target} answered a fetch with {frame.GetType().Name}");
            }
            catch (Exception e) when (e is IOException || (e is OperationCanceledException && !stopping.IsCancellationRequested))
            {
                _logger.QuorumObserverFetchFailed(NodeId, target, e.Message);
                lock (_gate)
                {
                    if (_leaderId == target)
                    {
                        _leaderId = -1;
                        Announce();
                    }
                }

                leaderFound = false;
            }
            catch (OperationCanceledException)
            {
                return;
            }

            if (!leaderFound)
            {
                try
                {
                    await Task.Delay(backoff, stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>Takes an observer's fetch response: committed entries from the leader, and the leadership it names
    /// unless that is older than what this observer already knows. True when a leader to fetch from is known.</summary>
    private bool ApplyFetchResponse(int target, long fromOffset, FetchCommittedResponse response)
    {
        lock (_gate)
        {
            if (_stopped)
            {
                return true;
            }

            if (response.Epoch > _epoch || (response.Epoch == _epoch && response.LeaderId >= 0))
            {
                _epoch = response.Epoch;
                _leaderId = response.LeaderId;
                Announce();
            }
            else if (response.Epoch == _epoch && _leaderId == target)
            {
                _leaderId = -1; // our leader no longer leads and knows no successor yet
                Announce();
            }

            // Committed entries are the same on every voter (Raft's log matching), so even a deposed leader's are good.
            if (response.LeaderId == target && response.Entries.Count > 0 && _log.LastIndex == fromOffset)
            {
                _log.Append(response.Entries);
                SetCommitIndex(_log.LastIndex);
            }

            return _leaderId >= 0;
        }
    }

    private async Task TickLoopAsync()
    {
        using var timer = new PeriodicTimer(TickInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token).ConfigureAwait(false))
            {
                lock (_gate)
                {
                    if (!_stopped)
                    {
                        try
                        {
                            Tick(Environment.TickCount64);
                        }
                        catch (IOException e)
                        {
                            FailStop(e);
                        }
                    }
                }
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

    private void Tick(long now)
    {
        if (_role != Role.Leader)
        {
            if (now >= _electionDeadline)
            {
                StartElection(now);
            }

            return;
        }

        int heard = 1;
        foreach (var (peerId, follower) in _followers)
        {
            if (now >= follower.NextSendAt)
            {
                SendAppend(peerId, follower, now);
            }

            if (now - follower.LastHeardAt < _electionTimeoutMs)
            {
                heard++;
            }
        }

        if (heard < _majority && now - _leaderSince >= _electionTimeoutMs)
        {
            _logger.QuorumLeaderResigned(NodeId, _epoch, _electionTimeoutMs);
            BecomeFollower(_epoch, leaderId: -1, now);
        }
    }

    private void StartElection(long now)
    {
        _role = Role.Candidate;
        _epoch++;
        _votedFor = NodeId;
        _leaderId = -1;
        _stateFile!.Write(_epoch, _votedFor);
        _votes.Clear();
        _votes.Add(NodeId);
        ResetElectionDeadline(now);
        Announce();
        _logger.QuorumElectionStarted(NodeId, _epoch, _log.LastIndex, _log.LastTerm);
        if (_votes.Count >= _majority)
        {
            BecomeLeader(now);
            return;
        }

        foreach (var voter in _options.Voters)
        {
            if (voter.Id != NodeId)
            {
                _transport!.Send(new VoteRequest(NodeId, voter.Id, _epoch, _log.LastIndex, _log.LastTerm));
            }
        }
    }

    private void BecomeLeader(long now)
    {
        _role = Role.Leader;
        _leaderId = NodeId;
        _leaderSince = now;
        _followers.Clear();
        // Raft commits only entries of the leader's own epoch by counting replicas; this marker is that first entry.
        _log.Append([new QuorumEntry(_epoch, [])]);
        _epochStartIndex = _log.LastIndex;
        _readyAnnounced = false;
        foreach (var voter in _options.Voters)
        {
            if (voter.Id != NodeId)
            {
                var follower = new FollowerProgress { NextIndex = _log.LastIndex, LastHeardAt = now };
                _followers[voter.Id] = follower;
                SendAppend(voter.Id, follower, now);
            }
        }

        _logger.QuorumLeaderElected(NodeId, _epoch);
        Announce();
        AdvanceLeaderCommit();
    }

    private void BecomeFollower(long epoch, int leaderId, long now)
    {
        bool wasLeader = _role == Role.Leader;
        if (epoch != _epoch)
        {
            _epoch = epoch;
            _votedFor = -1;
            _stateFile!.Write(_epoch, _votedFor);
        }

        _role = Role.Follower;
        _leaderId = leaderId;
        _followers.Clear();
        _epochStartIndex = 0;
        _readyAnnounced = false;
        ResetElectionDeadline(now);
        if (wasLeader)
        {
            FailPendingAppends(leaderId);
        }

        if (_resigning)
        {
            _handedOver?.TrySetResult();
        }

        if (leaderId >= 0)
        {
            _logger.QuorumFollowing(NodeId, leaderId, epoch);
        }

        Announce();
    }

    private void OnMessage(QuorumMessage message)
    {
        lock (_gate)
        {
            if (_stopped)
            {
                return;
            }

            try
            {
                Handle(message, Environment.TickCount64);
            }
            catch (IOException e)
            {
                FailStop(e);
            }
        }
    }

    private void Handle(QuorumMessage message, long now)
    {
        if (message.Term > _epoch)
        {
            int leaderId = message is AppendRequest or TimeoutNowRequest ? message.From : -1;
            BecomeFollower(message.Term, leaderId, now);
        }

        switch (message)
        {
            case VoteRequest request:
                OnVoteRequest(request, now);
                break;
            case VoteResponse response:
                if (_role == Role.Candidate && response.Term == _epoch && response.Granted)
                {
                    _votes.Add(response.From);
                    if (_votes.Count >= _majority)
                    {
                        BecomeLeader(now);
                    }
                }

                break;
            case AppendRequest request:
                OnAppendRequest(request, now);
                break;
            case AppendResponse response:
                OnAppendResponse(response, now);
                break;
            case TimeoutNowRequest request:
                // Only from the leader of our epoch: a stale or foreign TimeoutNow must not disrupt a healthy leader.
                if (request.Term == _epoch && _role == Role.Follower && _leaderId == request.From)
                {
                    _logger.QuorumTimeoutNowReceived(NodeId, request.From);
                    StartElection(now);
                }

                break;
        }
    }

    private void OnVoteRequest(VoteRequest request, long now)
    {
        // A candidate's log must be at least as up to date as ours (Raft §5.4.1), so every committed entry survives.
        bool logUpToDate = request.LastTerm > _log.LastTerm
                           || (request.LastTerm == _log.LastTerm && request.LastIndex >= _log.LastIndex);
        bool granted = request.Term == _epoch && _role != Role.Leader && (_votedFor == -1 || _votedFor == request.From) && logUpToDate;
        if (granted)
        {
            if (_votedFor != request.From)
            {
                _votedFor = request.From;
                _stateFile!.Write(_epoch, _votedFor);
            }

            ResetElectionDeadline(now);
        }

        _transport!.Send(new VoteResponse(NodeId, request.From, _epoch, granted));
    }

    private void OnAppendRequest(AppendRequest request, long now)
    {
        if (request.Term < _epoch)
        {
            _transport!.Send(new AppendResponse(NodeId, request.From, _epoch, Success: false, Index: 0));
            return;
        }

        if (_role != Role.Follower || _leaderId != request.From)
        {
            BecomeFollower(_epoch, request.From, now);
        }

        ResetElectionDeadline(now);
        if (request.PrevIndex > _log.LastIndex)
        {
            _transport!.Send(new AppendResponse(NodeId, request.From, _epoch, Success: false, Index: _log.LastIndex + 1));
            return;
        }

        if (_log.TermAt(request.PrevIndex) != request.PrevTerm)
        {
            // Our entry at PrevIndex is from a deposed leader and was never committed; the leader retries one earlier.
            _transport!.Send(new AppendResponse(NodeId, request.From, _epoch, Success: false, Index: Math.Max(1, request.PrevIndex)));
            return;
        }

        int firstNew = 0;
        long index = request.PrevIndex + 1;
        while (firstNew < request.Entries.Count && index <= _log.LastIndex && _log.TermAt(index) == request.Entries[firstNew].Term)
        {
            firstNew++;
            index++;
        }

        if (firstNew < request.Entries.Count)
        {
            if (index <= _log.LastIndex)
            {
                if (index <= _commitIndex)
                {
                    throw new InvalidOperationException($"Leader {request.From} conflicts with committed entry {index}");
                }

                _logger.QuorumFollowerLogTruncated(NodeId, index, request.From);
                _log.TruncateFrom(index);
            }

            _log.Append(request.Entries.Skip(firstNew).ToList());
        }

        long lastMatched = request.PrevIndex + request.Entries.Count;
        if (request.LeaderCommit > _commitIndex)
        {
            SetCommitIndex(Math.Min(request.LeaderCommit, lastMatched));
        }

        _transport!.Send(new AppendResponse(NodeId, request.From, _epoch, Success: true, Index: lastMatched));
    }

    private void OnAppendResponse(AppendResponse response, long now)
    {
        if (_role != Role.Leader || response.Term != _epoch || !_followers.TryGetValue(response.From, out var follower))
        {
            return;
        }

        follower.LastHeardAt = now;
        follower.InFlightUntil = 0;
        if (response.Success)
        {
            follower.MatchIndex = Math.Max(follower.MatchIndex, response.Index);
            follower.NextIndex = Math.Max(follower.NextIndex, follower.MatchIndex + 1);
            AdvanceLeaderCommit();
        }
        else
        {
            follower.NextIndex = Math.Clamp(response.Index, follower.MatchIndex + 1, _log.LastIndex + 1);
        }

        if (_resigning && !_timeoutNowSent && response.From == _handOverTarget && follower.MatchIndex == _log.LastIndex)
        {
            SendTimeoutNow();
        }

        if (follower.NextIndex <= _log.LastIndex || follower.AcknowledgedCommit < _commitIndex)
        {
            SendAppend(response.From, follower, now);
        }
    }

    private void SendAppend(int peerId, FollowerProgress follower, long now)
    {
        long prevIndex = follower.NextIndex - 1;
        var entries = _log.EntriesFrom(follower.NextIndex, _options.MaxEntriesPerAppend);
        long bytes = 0;
        int keep = 0;
        int maxBytes = QuorumTransport.MaxAppendBytes(_options);
        while (keep < entries.Count && (keep == 0 || bytes + entries[keep].Payload.Length <= maxBytes))
        {
            bytes += entries[keep].Payload.Length;
            keep++;
        }

        if (keep < entries.Count)
        {
            entries.RemoveRange(keep, entries.Count - keep);
        }

        _transport!.Send(new AppendRequest(NodeId, peerId, _epoch, prevIndex, _log.TermAt(prevIndex), _commitIndex, entries));
        follower.NextSendAt = now + _heartbeatMs;
        follower.AcknowledgedCommit = _commitIndex;
        follower.InFlightUntil = entries.Count > 0 ? now + _heartbeatMs : 0;
    }

    private void AdvanceLeaderCommit()
    {
        Span<long> matched = stackalloc long[_options.Voters.Count];
        int count = 0;
        matched[count++] = _log.LastIndex;
        foreach (var follower in _followers.Values)
        {
            matched[count++] = follower.MatchIndex;
        }

        matched[..count].Sort();
        long majorityIndex = matched[count - _majority];
        if (majorityIndex > _commitIndex && _log.TermAt(majorityIndex) == _epoch)
        {
            SetCommitIndex(majorityIndex);
            long now = Environment.TickCount64;
            foreach (var (peerId, follower) in _followers)
            {
                if (now >= follower.InFlightUntil)
                {
                    SendAppend(peerId, follower, now);
                }
            }
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

        if (_role == Role.Leader && !_readyAnnounced && _epochStartIndex > 0 && commitIndex >= _epochStartIndex)
        {
            _readyAnnounced = true;
            _logger.QuorumLeaderReady(NodeId, _epochStartIndex - 1, _epoch);
            _notifications.Writer.TryWrite(new Notification(default, _epochStartIndex - 1));
        }

        var signal = _commitAdvanced;
        _commitAdvanced = NewSignal();
        signal.TrySetResult();
    }

    /// <summary>A voter whose log or state file cannot be written must stop voting and acknowledging (Kafka halts the
    /// process): its in-memory state may now claim more than its disk holds.</summary>
    private void FailStop(IOException exception)
    {
        _logger.QuorumStorageFailed(exception, NodeId);
        _stopped = true;
        _role = Role.Follower;
        _leaderId = -1;
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

    private void ResetElectionDeadline(long now) =>
        _electionDeadline = now + _electionTimeoutMs + Random.Shared.NextInt64(_electionTimeoutMs);

    private void Announce()
    {
        var leadership = new QuorumLeadership(_leaderId, _epoch);
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

    /// <summary>What the leader knows of one follower (Raft's nextIndex/matchIndex plus timing).</summary>
    private sealed class FollowerProgress
    {
        public long NextIndex { get; set; }

        public long MatchIndex { get; set; }

        public long LastHeardAt { get; set; }

        public long NextSendAt { get; set; }

        /// <summary>While an append with entries is unanswered, new appends wait for its response (or a heartbeat)
        /// instead of re-sending the same entries.</summary>
        public long InFlightUntil { get; set; }

        /// <summary>The commit index last sent, so a commit advance reaches followers without waiting a heartbeat.</summary>
        public long AcknowledgedCommit { get; set; }
    }
}
