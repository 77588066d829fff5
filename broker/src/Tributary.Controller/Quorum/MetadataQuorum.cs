using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Tributary.Controller.Records;
using Tributary.Protocol;

namespace Tributary.Controller.Quorum;

/// <summary>One voter of the Raft quorum that agrees on the cluster metadata log; its leader is the active controller.</summary>
/// <remarks>
/// Home-made Raft (leader election, log replication, commit only by current-epoch majority) over TCP, with the log and
/// the epoch/vote fsynced before anything is acknowledged, so a killed voter restarts from its data directory with
/// every entry it acknowledged. Additions over the paper: the leader resigns when it has not heard from a majority for
/// an election timeout ("check quorum", as KRaft does), so a leader cut off in a minority stops acting as controller.
/// Not yet done (issue 6): snapshots/compaction, pre-vote, voter-set changes, graceful resignation on shutdown.
/// All state sits behind one lock; sockets and appliers run outside it.
/// </remarks>
public sealed class MetadataQuorum : IAsyncDisposable
{
    private const string LogFileName = "metadata-quorum.log";
    private const string StateFileName = "quorum-state";
    private static readonly TimeSpan TickInterval = TimeSpan.FromMilliseconds(10);

    private readonly Lock _gate = new();
    private readonly MetadataQuorumOptions _options;
    private readonly ILogger _logger;
    private readonly QuorumLog _log;
    private readonly QuorumStateFile _stateFile;
    private readonly QuorumTransport _transport;
    private readonly int _majority;
    private readonly long _electionTimeoutMs;
    private readonly long _heartbeatMs;
    private readonly Dictionary<int, FollowerProgress> _followers = [];
    private readonly HashSet<int> _votes = [];
    private readonly SortedDictionary<long, TaskCompletionSource<long>> _pendingAppends = [];
    private readonly Channel<QuorumLeadership> _leadershipChanges = Channel.CreateUnbounded<QuorumLeadership>(
        new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _ticker;
    private readonly Task _leadershipNotifier;

    private Role _role = Role.Follower;
    private long _epoch;
    private int _votedFor;
    private int _leaderId = -1;
    private long _commitIndex;
    private long _electionDeadline;
    private long _leaderSince;
    private QuorumLeadership _lastAnnounced = new(-1, -1);
    private TaskCompletionSource _commitAdvanced = NewSignal();
    private bool _stopped;
    private bool _disposed;

    private MetadataQuorum(MetadataQuorumOptions options, ILogger logger, QuorumLog log, QuorumStateFile stateFile)
    {
        _options = options;
        _logger = logger;
        _log = log;
        _stateFile = stateFile;
        _majority = options.Voters.Count / 2 + 1;
        _electionTimeoutMs = (long)options.ElectionTimeout.TotalMilliseconds;
        _heartbeatMs = (long)options.HeartbeatInterval.TotalMilliseconds;
        (_epoch, _votedFor) = stateFile.Read();
        _transport = new QuorumTransport(options, OnMessage, logger);
        _ticker = Task.Run(TickLoopAsync);
        _leadershipNotifier = Task.Run(NotifyLeadershipLoopAsync);
    }

    /// <summary>Raised (in order, off the quorum's lock) whenever the known leader or epoch changes.</summary>
    public event Action<QuorumLeadership>? LeadershipChanged;

    private enum Role
    {
        Follower,
        Candidate,
        Leader,
    }

    public int NodeId => _options.NodeId;

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

    /// <summary>Opens (or creates) the voter's data directory, replays its log and joins the quorum.</summary>
    /// <exception cref="ArgumentException">The node is not among the voters, or the options are inconsistent.</exception>
    public static MetadataQuorum Start(MetadataQuorumOptions options, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!options.Voters.Any(v => v.Id == options.NodeId))
        {
            throw new ArgumentException($"Node {options.NodeId} is not one of the voters {string.Join(',', options.Voters)}", nameof(options));
        }

        if (options.HeartbeatInterval <= TimeSpan.Zero || options.ElectionTimeout <= options.HeartbeatInterval * 2)
        {
            throw new ArgumentException("The election timeout must exceed two heartbeat intervals", nameof(options));
        }

        logger ??= NullLogger.Instance;
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

    /// <summary>Appends on the leader and waits for the quorum to commit it.</summary>
    /// <returns>The committed offset, or NOT_CONTROLLER with the leader to retry on.</returns>
    public async Task<QuorumAppendResult> TryAppendAsync(MetadataRecord record, CancellationToken cancellationToken)
    {
        byte[] payload = MetadataRecordSerde.Serialize(record);
        if (payload.Length > _options.MaxRecordBytes)
        {
            throw new ArgumentException($"Metadata record of {payload.Length} bytes exceeds {_options.MaxRecordBytes}", nameof(record));
        }

        Task<long> committed;
        lock (_gate)
        {
            if (_role != Role.Leader || _stopped)
            {
                return QuorumAppendResult.NotController(_leaderId);
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

    /// <summary>Appends on the leader and returns the committed offset.</summary>
    /// <exception cref="NotControllerException">This node is not the leader, or lost leadership before the commit.</exception>
    public async Task<long> AppendAsync(MetadataRecord record, CancellationToken cancellationToken)
    {
        var result = await TryAppendAsync(record, cancellationToken).ConfigureAwait(false);
        return result.Error == ErrorCode.None ? result.Offset : throw new NotControllerException(result.LeaderId);
    }

    /// <summary>Every committed record from <paramref name="fromOffset"/> on, in log order, waiting for new commits;
    /// ends when the quorum stops. Leaders and followers yield the same sequence.</summary>
    public async IAsyncEnumerable<CommittedMetadataRecord> ReadCommittedAsync(long fromOffset,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        long nextIndex = Math.Max(fromOffset, 0) + 1;
        while (true)
        {
            List<(long Index, QuorumEntry Entry)> batch = [];
            Task commitAdvanced;
            lock (_gate)
            {
                if (_stopped)
                {
                    yield break;
                }

                for (long index = nextIndex; index <= _commitIndex && batch.Count < 1024; index++)
                {
                    batch.Add((index, _log.EntryAt(index)));
                }

                commitAdvanced = _commitAdvanced.Task;
            }

            foreach (var (index, entry) in batch)
            {
                nextIndex = index + 1;
                if (!entry.IsEpochMarker)
                {
                    yield return new CommittedMetadataRecord(index - 1, entry.Term, MetadataRecordSerde.Deserialize(entry.Payload));
                }
            }

            if (batch.Count == 0)
            {
                await commitAdvanced.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Leaves the quorum at once: no resignation handshake, so it behaves like a crash for the others (the
    /// data directory holds everything acknowledged). Pending appends fail with NOT_CONTROLLER.</summary>
    public async ValueTask DisposeAsync()
    {
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
            _logger.QuorumStopped(NodeId, _epoch, _commitIndex);
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        _leadershipChanges.Writer.TryComplete();
        await _transport.DisposeAsync().ConfigureAwait(false);
        await Task.WhenAll(_ticker, _leadershipNotifier).ConfigureAwait(false);
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
            ResetElectionDeadline(Environment.TickCount64);
            _logger.QuorumStarted(NodeId, _options.Listener.ToString(), _epoch, _log.LastIndex, string.Join(',', _options.Voters));
        }

        _transport.Start();
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
        await foreach (var leadership in _leadershipChanges.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            try
            {
                LeadershipChanged?.Invoke(leadership);
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
        _stateFile.Write(_epoch, _votedFor);
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
                _transport.Send(new VoteRequest(NodeId, voter.Id, _epoch, _log.LastIndex, _log.LastTerm));
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
            _stateFile.Write(_epoch, _votedFor);
        }

        _role = Role.Follower;
        _leaderId = leaderId;
        _followers.Clear();
        ResetElectionDeadline(now);
        if (wasLeader)
        {
            FailPendingAppends(leaderId);
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
            int leaderId = message is AppendRequest ? message.From : -1;
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
                _stateFile.Write(_epoch, _votedFor);
            }

            ResetElectionDeadline(now);
        }

        _transport.Send(new VoteResponse(NodeId, request.From, _epoch, granted));
    }

    private void OnAppendRequest(AppendRequest request, long now)
    {
        if (request.Term < _epoch)
        {
            _transport.Send(new AppendResponse(NodeId, request.From, _epoch, Success: false, Index: 0));
            return;
        }

        if (_role != Role.Follower || _leaderId != request.From)
        {
            BecomeFollower(_epoch, request.From, now);
        }

        ResetElectionDeadline(now);
        if (request.PrevIndex > _log.LastIndex)
        {
            _transport.Send(new AppendResponse(NodeId, request.From, _epoch, Success: false, Index: _log.LastIndex + 1));
            return;
        }

        if (_log.TermAt(request.PrevIndex) != request.PrevTerm)
        {
            // Our entry at PrevIndex is from a deposed leader and was never committed; the leader retries one earlier.
            _transport.Send(new AppendResponse(NodeId, request.From, _epoch, Success: false, Index: Math.Max(1, request.PrevIndex)));
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

        _transport.Send(new AppendResponse(NodeId, request.From, _epoch, Success: true, Index: lastMatched));
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

        _transport.Send(new AppendRequest(NodeId, peerId, _epoch, prevIndex, _log.TermAt(prevIndex), _commitIndex, entries));
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
            _leadershipChanges.Writer.TryWrite(leadership);
        }
    }

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
