using System.Collections.Immutable;
using System.Runtime.InteropServices;
using Tributary.Broker.Metadata;
using Tributary.Broker.Metrics;
using Tributary.Broker.Producers;
using Tributary.Protocol;
using Tributary.Protocol.Records;
using Tributary.Storage;

namespace Tributary.Broker.Replication;

/// <summary>
/// This broker's replica of one partition: its log, its role (leader or follower, from the metadata image), its leader
/// epoch, and — while it leads — what it knows of its followers, from which it advances the high watermark and decides ISR
/// changes. It owns its locks and drives its log: appends as leader, reads for consumers and followers, the acks=all
/// waiters it completes when the high watermark passes them, and the long polls it wakes.
/// </summary>
/// <remarks>
/// High watermark (leader): the minimum log end offset over the leader and every follower of the "maximal ISR" — the
/// committed ISR plus members an in-flight ISR change adds (Kafka's KIP-497 rule: the HW never counts on a replica the
/// controller may not have admitted yet, and never skips one it still lists). With a single replica it is the log end
/// offset after every append. Followers take min(leader HW, own LEO) from fetch responses.
/// Lock order: leader lock, then the state gate, then the log's own lock. Waiters are completed and long polls woken
/// outside the gate.
/// </remarks>
public sealed class Partition
{
    private readonly Lock _gate = new();
    private readonly Lock _watchGate = new();
    private readonly ReplicaContext _context;
    private readonly ReaderWriterLockSlim _leaderLock = new(LockRecursionPolicy.NoRecursion);
    private readonly Dictionary<int, FollowerState> _followers = [];
    private readonly PriorityQueue<DelayedProduce, long> _delayedProduces = new();
    private List<DelayedFetch> _appendWatchers = [];
    private List<DelayedFetch> _changeWatchers = [];
    private IPartitionChangeListener[] _listeners = [];
    private ImmutableArray<int>? _pendingIsr;
    private long _pendingIsrSince;
    private long _leaderEpochStartOffset;
    private long _lastAppendTimestamp;
    private bool _deleted;

    internal Partition(string topic, Uuid topicId, int index, PartitionLog log, PartitionImage image, ReplicaContext context)
    {
        Topic = topic;
        TopicId = topicId;
        Index = index;
        Log = log;
        _context = context;
        Image = new PartitionImage(index, [], -1, -1, []);
        ApplyImage(image);
    }

    public string Topic { get; }
    public Uuid TopicId { get; }
    public int Index { get; }
    public PartitionLog Log { get; }

    /// <summary>The placement this replica last applied from the metadata image.</summary>
    public PartitionImage Image { get; private set; }

    public int LeaderEpoch => Image.LeaderEpoch;

    public bool IsLeader => Image.Leader == _context.LocalNodeId;

    /// <summary>The topic's effective min.insync.replicas, resolved when the replica is created or its configs change.</summary>
    public int MinInsyncReplicas { get; internal set; } = 1;

    public long HighWatermark => Log.HighWatermark;

    /// <summary>While leading: the log end offset when this leader's epoch began (-1 before it ever led).</summary>
    public long LeaderEpochStartOffset => IsLeader ? Volatile.Read(ref _leaderEpochStartOffset) : -1;

    /// <summary>Offset below which every transaction has ended (the high watermark when none is open): read_committed reads stop here.</summary>
    public long LastStableOffset => Log.LastStableOffset;

    /// <summary>An ISR change this leader asked the controller for and has not seen in metadata yet.</summary>
    public ImmutableArray<int>? PendingIsr
    {
        get
        {
            lock (_gate)
            {
                return _pendingIsr;
            }
        }
    }

    /// <summary>Replicas whose log end offsets the high watermark waits for.</summary>
    public ImmutableArray<int> MaximalIsr
    {
        get
        {
            lock (_gate)
            {
                return MaximalIsrLocked();
            }
        }
    }

    /// <summary>acks=all appends waiting for the high watermark (the produce purgatory's size for this partition).</summary>
    public int DelayedProduceCount
    {
        get
        {
            lock (_gate)
            {
                return _delayedProduces.Count;
            }
        }
    }

    /// <summary>Applies a new placement. Returns true when this broker became leader (new epoch) and must act on it.</summary>
    internal bool ApplyImage(PartitionImage image)
    {
        bool becameLeader;
        List<DelayedProduce>? abandoned = null;
        _leaderLock.EnterWriteLock();
        try
        {
            lock (_gate)
            {
                var previous = Image;
                becameLeader = ApplyImageLocked(image);
                if (previous.Leader == _context.LocalNodeId && !IsLeader)
                {
                    // Leadership moved: the new leader may not have the records, so the waiting acks=all produces fail.
                    abandoned = DrainDelayedProducesLocked();
                }
            }
        }
        finally
        {
            _leaderLock.ExitWriteLock();
        }

        Complete(abandoned, ErrorCode.NotLeaderOrFollower);
        if (IsLeader)
        {
            MaybeAdvanceHighWatermark();
        }

        WakeWatchers(appends: true, changes: true);
        return becameLeader;
    }

    private bool ApplyImageLocked(PartitionImage image)
    {
        var previous = Image;
        var isLeader = image.Leader == _context.LocalNodeId;
        var becameLeader = isLeader && (previous.Leader != _context.LocalNodeId || previous.LeaderEpoch != image.LeaderEpoch);
        var nowMs = _context.NowMs;
        if (becameLeader)
        {
            _leaderEpochStartOffset = Log.LogEndOffset;
            Log.AssignLeaderEpochStartOffset(image.LeaderEpoch, _leaderEpochStartOffset);
            // Kafka gives ISR members a fresh catch-up clock on election so they are not dropped at once.
            _followers.Clear();
            foreach (var replica in image.Replicas)
            {
                if (replica != _context.LocalNodeId)
                {
                    _followers[replica] = new FollowerState { LastCaughtUpMs = image.Isr.Contains(replica) ? nowMs : 0 };
                }
            }
        }
        else if (isLeader)
        {
            foreach (var replica in image.Replicas)
            {
                if (replica != _context.LocalNodeId && !_followers.ContainsKey(replica))
                {
                    _followers[replica] = new FollowerState();
                }
            }
        }
        else
        {
            _followers.Clear();
        }

        // Published only now: appends check IsLeader, so none lands in the new epoch before its start is recorded.
        Image = image;

        if (_pendingIsr is not null && (!isLeader || previous.PartitionEpoch != image.PartitionEpoch))
        {
            // The controller answered (or leadership moved): the image is the truth now.
            _pendingIsr = null;
        }

        return becameLeader;
    }

    /// <summary>The replica was deleted (or the broker stops): waiters get NOT_LEADER_OR_FOLLOWER, long polls wake.</summary>
    internal void Close()
    {
        List<DelayedProduce>? abandoned;
        lock (_gate)
        {
            _deleted = true;
            abandoned = DrainDelayedProducesLocked();
        }

        Complete(abandoned, ErrorCode.NotLeaderOrFollower);
        WakeWatchers(appends: true, changes: true);
    }

    /// <summary>
    /// Appends one validated produced batch as the leader. The leader lock (read side) keeps the role and epoch fixed during
    /// the append: a leadership change waits for it, so no batch is stamped with an epoch that has already ended (Kafka's
    /// leaderIsrUpdateLock). For acks=all, <see cref="PartitionAppend.Committed"/> completes when the high watermark passes
    /// the batch (or leadership moves, or <paramref name="timeout"/> passes).
    /// </summary>
    internal PartitionAppend AppendAsLeader(ReadOnlyMemory<byte> batch, int recordCount, bool logAppendTime, short acks, TimeSpan timeout,
        CancellationToken cancellation, bool coordinatorOrigin = false)
    {
        var time = _context.Time;
        var started = time.GetTimestamp();
        LogAppendInfo info;
        ProducerAppendResult producerResult;
        _leaderLock.EnterReadLock();
        try
        {
            var placement = Image;
            if (placement.Leader != _context.LocalNodeId || Volatile.Read(ref _deleted))
            {
                return PartitionAppend.Failed(new(ErrorCode.NotLeaderOrFollower, -1, -1, -1,
                    "This server is no longer the leader for that topic-partition."));
            }

            // The log reads producer id, epoch and sequence from the batch header and checks them under its append lock.
            info = Log.AppendAsLeader(MemoryMarshal.AsMemory(batch), recordCount, placement.LeaderEpoch, _context.NowMs, logAppendTime,
                out producerResult, coordinatorOrigin);
        }
        finally
        {
            _leaderLock.ExitReadLock();
        }

        var appended = time.GetTimestamp();
        _context.Stages?.Record(ProduceStage.Append, time, started, appended);
        AppendOutcome outcome;
        if (producerResult.Status != ProducerAppendStatus.Appended)
        {
            // A duplicate is a success carrying the offsets of the first append (nothing new to wake fetchers for).
            var producerError = producerResult.Status.ToErrorCode();
            outcome = new(producerError, producerError == ErrorCode.None ? info.FirstOffset : -1, info.LogAppendTimeMs, info.LogStartOffset,
                producerResult.Message, ProducerStatus: producerResult.Status);
            if (producerError != ErrorCode.None)
            {
                return PartitionAppend.Failed(outcome);
            }
        }
        else
        {
            Volatile.Write(ref _lastAppendTimestamp, appended);
            WakeWatchers(appends: true, changes: false);
            MaybeAdvanceHighWatermark();
            outcome = new(ErrorCode.None, info.FirstOffset, info.LogAppendTimeMs, info.LogStartOffset, null, info.RecordCount, info.SizeInBytes,
                info.LastOffset + 1);
        }

        if (acks != -1)
        {
            return new PartitionAppend(outcome, PartitionAppend.NoWait);
        }

        // A duplicate (idempotent retry) carries no new offset: wait for the log end as it is now, which covers the original append.
        var required = outcome.NextOffset >= 0 ? outcome.NextOffset : Log.LogEndOffset;
        var waiter = WaitForHighWatermark(required, appended, timeout, cancellation);
        return new PartitionAppend(outcome, waiter?.Task ?? PartitionAppend.NoWait) { Waiter = waiter };
    }

    /// <summary>
    /// Appends a transaction marker (WriteTxnMarkers) as the leader, with acks=all semantics: refused with NOT_ENOUGH_REPLICAS when
    /// the ISR is below min.insync.replicas, and <see cref="PartitionAppend.Committed"/> completes when the ISR has the marker. A
    /// marker refused by the producer state (stale producer or coordinator epoch) is not written.
    /// </summary>
    internal PartitionAppend AppendTxnMarkerAsLeader(long producerId, short producerEpoch, EndTransactionMarker marker, TimeSpan timeout,
        CancellationToken cancellation)
    {
        var time = _context.Time;
        LogAppendInfo info;
        ProducerAppendResult producerResult;
        _leaderLock.EnterReadLock();
        try
        {
            var placement = Image;
            if (placement.Leader != _context.LocalNodeId || Volatile.Read(ref _deleted))
            {
                return PartitionAppend.Failed(new(ErrorCode.NotLeaderOrFollower, -1, -1, -1,
                    "This server is no longer the leader for that topic-partition."));
            }

            if (placement.Isr.Length < MinInsyncReplicas)
            {
                return PartitionAppend.Failed(new(ErrorCode.NotEnoughReplicas, -1, -1, Log.LogStartOffset,
                    $"The size of the current ISR {placement.Isr.Length} is insufficient to satisfy the min.isr requirement of {MinInsyncReplicas}."));
            }

            info = Log.AppendTxnMarkerAsLeader(producerId, producerEpoch, marker, placement.LeaderEpoch, _context.NowMs, out producerResult);
        }
        finally
        {
            _leaderLock.ExitReadLock();
        }

        if (producerResult.IsRefused)
        {
            return PartitionAppend.Failed(new(producerResult.Status.ToErrorCode(), -1, -1, info.LogStartOffset, producerResult.Message,
                ProducerStatus: producerResult.Status));
        }

        var appended = time.GetTimestamp();
        Volatile.Write(ref _lastAppendTimestamp, appended);
        WakeWatchers(appends: true, changes: false);
        MaybeAdvanceHighWatermark();
        var outcome = new AppendOutcome(ErrorCode.None, info.FirstOffset, -1, info.LogStartOffset, null, info.RecordCount, info.SizeInBytes,
            info.LastOffset + 1);
        var waiter = WaitForHighWatermark(outcome.NextOffset, appended, timeout, cancellation);
        return new PartitionAppend(outcome, waiter?.Task ?? PartitionAppend.NoWait) { Waiter = waiter };
    }

    /// <summary>
    /// Waits until everything below <paramref name="requiredOffset"/> is replicated to the ISR (the high watermark passed it),
    /// as acks=all requires. Kafka's outcomes: NOT_ENOUGH_REPLICAS_AFTER_APPEND when the ISR shrank below min.insync.replicas
    /// meanwhile, NOT_LEADER_OR_FOLLOWER when leadership moved, REQUEST_TIMED_OUT at the deadline.
    /// </summary>
    /// <returns>null when the high watermark already passed it.</returns>
    private DelayedProduce? WaitForHighWatermark(long requiredOffset, long appendedTimestamp, TimeSpan timeout, CancellationToken cancellation)
    {
        DelayedProduce delayed;
        lock (_gate)
        {
            if (Log.HighWatermark >= requiredOffset && IsLeader && !_deleted)
            {
                return null;
            }

            delayed = new DelayedProduce(requiredOffset, appendedTimestamp);
            if (!IsLeader || _deleted)
            {
                delayed.TryComplete(ErrorCode.NotLeaderOrFollower);
                return delayed;
            }

            delayed = new DelayedProduce(requiredOffset, appendedTimestamp);
            _delayedProduces.Enqueue(delayed, requiredOffset);
        }

        delayed.Arm(_context.Time, timeout < TimeSpan.Zero ? TimeSpan.Zero : timeout, cancellation);
        return delayed;
    }

    /// <summary>
    /// A consumer's read: whole batches below the high watermark (read_committed: below the last stable offset, with the aborted
    /// transactions of the range read) from <paramref name="fetchOffset"/>, as a region of the segment file that is copied when
    /// the response is written (<see cref="PartitionLog.ReadRegion"/>).
    /// </summary>
    internal ReadOutcome Read(long fetchOffset, int maxBytes, bool minOneBatch, bool readCommitted = false)
    {
        try
        {
            // The LSO first: it never passes the high watermark read after it.
            var lastStable = LastStableOffset;
            var highWatermark = Log.HighWatermark;
            var logStart = Log.LogStartOffset;
            IReadOnlyList<AbortedTransaction>? noneAborted = readCommitted ? [] : null;
            if (fetchOffset < logStart || fetchOffset > highWatermark)
            {
                return new(ErrorCode.OffsetOutOfRange, ReadOnlyMemory<byte>.Empty, highWatermark, lastStable, logStart);
            }

            // Kafka: read_committed reads stop at the LSO; an offset between the LSO and the high watermark is not out of range.
            var readLimit = readCommitted ? Math.Min(lastStable, highWatermark) : highWatermark;
            if (fetchOffset >= readLimit || maxBytes <= 0 && !minOneBatch)
            {
                // HasMore: readable records remain past the offset (the byte budget ran out). Records between the LSO and the high
                // watermark are not readable for read_committed; the high watermark moving past a marker wakes the fetch instead.
                return new(ErrorCode.None, ReadOnlyMemory<byte>.Empty, highWatermark, lastStable, logStart, AbortedTransactions: noneAborted)
                {
                    HasMore = fetchOffset < readLimit,
                };
            }

            var read = Log.ReadRegion(fetchOffset, maxBytes, readLimit, minOneBatch);
            if (read.Error == LogReadError.OffsetOutOfRange)
            {
                // Retention or DeleteRecords moved the log start past the offset between our check and the read.
                return new(ErrorCode.OffsetOutOfRange, ReadOnlyMemory<byte>.Empty, highWatermark, lastStable, read.LogStartOffset);
            }

            var aborted = noneAborted;
            if (readCommitted && read.Records.Length > 0)
            {
                // Kafka's collectAbortedTransactions: those whose data may lie in what was read (up to the end of the last batch).
                aborted = Log.CollectAbortedTransactions(read.FirstOffset, read.NextOffset);
            }

            return new(ErrorCode.None, read.Records, highWatermark, lastStable, read.LogStartOffset, AbortedTransactions: aborted)
            {
                HasMore = read.Records.IsEmpty,
            };
        }
        catch (ObjectDisposedException)
        {
            // Deleted (topic deletion) between lookup and read.
            return ReadOutcome.Failed(ErrorCode.NotLeaderOrFollower);
        }
        catch (IOException)
        {
            return ReadOutcome.Failed(ErrorCode.KafkaStorageError);
        }
    }

    /// <summary>
    /// Serves a follower's fetch: records up to the log end offset (not the high watermark), or the diverging epoch when the
    /// follower's last fetched epoch shows it has a tail the leader doesn't. A fetch from offset N tells the leader the follower
    /// has everything below N, which may advance the high watermark (completing acks=all waiters) and bring the follower
    /// back into the ISR.
    /// </summary>
    /// <param name="session">The follower's incremental fetch session when the read serves one: its later fetches that skip
    /// this partition still count as fetches of it (see <see cref="IFollowerSessionLink"/>).</param>
    internal ReadOutcome ReadForFollower(int replicaId, long replicaBrokerEpoch, long fetchOffset, int maxBytes, bool minOneBatch,
        int lastFetchedEpoch, IFollowerSessionLink? session = null)
    {
        if (!Image.Replicas.Contains(replicaId))
        {
            return ReadOutcome.Failed(ErrorCode.NotLeaderOrFollower);
        }

        try
        {
            if (lastFetchedEpoch >= 0)
            {
                var (epoch, endOffset) = Log.EndOffsetForEpoch(lastFetchedEpoch);
                if (epoch < 0 || endOffset < 0)
                {
                    // The leader's epochs say nothing about the follower's last epoch: one above every epoch here (the follower
                    // led an epoch this leader never saw) ends where this leader's latest epoch ends, its log end, so the
                    // follower truncates below it; with no epochs at all Kafka answers OFFSET_OUT_OF_RANGE and the follower
                    // truncates to this log's end. An undefined answer (-1, -1) is no diverging epoch on the wire, and the
                    // follower would fetch past this log's end forever without either.
                    var latest = Log.LatestEpoch;
                    if (latest < 0 || latest >= lastFetchedEpoch)
                    {
                        return new(ErrorCode.OffsetOutOfRange, ReadOnlyMemory<byte>.Empty, HighWatermark, LastStableOffset, Log.LogStartOffset);
                    }

                    (epoch, endOffset) = Log.EndOffsetForEpoch(latest);
                }

                if (epoch < lastFetchedEpoch || endOffset < fetchOffset)
                {
                    return new(ErrorCode.None, ReadOnlyMemory<byte>.Empty, HighWatermark, LastStableOffset, Log.LogStartOffset, epoch, endOffset);
                }
            }

            var end = Log.LogEndOffset;
            if (fetchOffset < Log.LogStartOffset || fetchOffset > end)
            {
                return new(ErrorCode.OffsetOutOfRange, ReadOnlyMemory<byte>.Empty, HighWatermark, LastStableOffset, Log.LogStartOffset);
            }

            RecordFollowerFetch(replicaId, fetchOffset, replicaBrokerEpoch, session);
            var records = ReadOnlyMemory<byte>.Empty;
            if (fetchOffset < end && (maxBytes > 0 || minOneBatch))
            {
                var read = Log.ReadRegion(fetchOffset, maxBytes, end, minOneBatch);
                if (read.Error == LogReadError.OffsetOutOfRange)
                {
                    return new(ErrorCode.OffsetOutOfRange, ReadOnlyMemory<byte>.Empty, HighWatermark, LastStableOffset, read.LogStartOffset);
                }

                records = read.Records;
                if (!records.IsEmpty && _context.Stages is not null)
                {
                    MarkRecordsServed(replicaId);
                }
            }

            var hasMore = fetchOffset < end && records.IsEmpty;

            return new(ErrorCode.None, records, HighWatermark, LastStableOffset, Log.LogStartOffset) { HasMore = hasMore };
        }
        catch (ObjectDisposedException)
        {
            return ReadOutcome.Failed(ErrorCode.NotLeaderOrFollower);
        }
        catch (IOException)
        {
            return ReadOutcome.Failed(ErrorCode.KafkaStorageError);
        }
    }

    /// <summary><see cref="TimeProvider.GetTimestamp"/> of the latest append as leader (0 before any).</summary>
    internal long LastAppendTimestamp => Volatile.Read(ref _lastAppendTimestamp);

    /// <summary>A follower fetched from <paramref name="fetchOffset"/>: everything below it is on that replica.</summary>
    internal void RecordFollowerFetch(int replicaId, long fetchOffset, long brokerEpoch = -1, IFollowerSessionLink? session = null)
    {
        var nowMs = _context.NowMs;
        var stages = _context.Stages;
        var arrived = stages is null ? 0 : _context.Time.GetTimestamp();
        bool outsideIsr;
        lock (_gate)
        {
            if (!_followers.TryGetValue(replicaId, out var state))
            {
                return;
            }

            if (state.RecordsServedTimestamp > 0 && fetchOffset > state.LogEndOffset)
            {
                // The follower appended what it was last served and fetches from past it: the follower round trip stage.
                stages?.Record(ProduceStage.FollowerRoundTrip, _context.Time, state.RecordsServedTimestamp, arrived);
                state.RecordsServedTimestamp = 0;
            }

            // The session fetches that skipped this partition since its last read were fetches of it at the same offset, with
            // the leader's end unchanged (an append would have made the session read it): bring the state up to the latest.
            if (state.Session is { } linked)
            {
                state.FoldSkippedFetch(ReferenceEquals(linked, session) ? linked.PreviousFetchMs(this) : linked.LastFetchMs(this));
            }

            state.Session = session;
            var leaderEnd = Log.LogEndOffset;
            // Kafka's rule: caught up now if it reached our end; or caught up as of its previous fetch if it reached the
            // end we had then.
            if (fetchOffset >= leaderEnd)
            {
                state.LastCaughtUpMs = nowMs;
            }
            else if (fetchOffset >= state.LeaderEndAtLastFetch)
            {
                state.LastCaughtUpMs = Math.Max(state.LastCaughtUpMs, state.LastFetchMs);
            }

            state.LogEndOffset = fetchOffset;
            state.LastFetchMs = nowMs;
            state.BrokerEpoch = brokerEpoch;
            state.LeaderEndAtLastFetch = leaderEnd;
            outsideIsr = !Image.Isr.Contains(replicaId);
        }

        if (MaybeAdvanceHighWatermark() && stages is not null)
        {
            stages.Record(ProduceStage.HighWatermarkAdvance, _context.Time, arrived, _context.Time.GetTimestamp());
        }

        if (outsideIsr)
        {
            // Kafka's maybeExpandIsr: only a fetch from a replica outside the ISR can expand it; shrinking is the periodic check's.
            MaybeChangeIsr();
        }
    }

    /// <summary>A follower's fetch is being answered with records: its next fetch from past them ends the follower round trip stage.</summary>
    private void MarkRecordsServed(int replicaId)
    {
        var now = _context.Time.GetTimestamp();
        lock (_gate)
        {
            if (_followers.TryGetValue(replicaId, out var state))
            {
                state.RecordsServedTimestamp = now;
            }
        }
    }

    /// <summary>Recomputes the leader's high watermark; completes the acks=all waiters it passed and wakes consumers' long polls.
    /// True when it moved.</summary>
    internal bool MaybeAdvanceHighWatermark()
    {
        List<DelayedProduce>? committed = null;
        var outcome = ErrorCode.None;
        lock (_gate)
        {
            if (!IsLeader)
            {
                return false;
            }

            var candidate = Log.LogEndOffset;
            foreach (var replica in MaximalIsrLocked())
            {
                if (replica == _context.LocalNodeId)
                {
                    continue;
                }

                candidate = Math.Min(candidate, _followers.TryGetValue(replica, out var state) ? state.LogEndOffset : -1);
            }

            if (candidate <= Log.HighWatermark)
            {
                return false;
            }

            Log.UpdateHighWatermark(candidate);
            while (_delayedProduces.TryPeek(out var waiter, out var required) && required <= candidate)
            {
                _delayedProduces.Dequeue();
                (committed ??= []).Add(waiter);
            }

            outcome = CommitOutcomeLocked();
        }

        if (committed is not null)
        {
            var time = _context.Time;
            var now = time.GetTimestamp();
            foreach (var waiter in committed)
            {
                if (waiter.TryComplete(outcome, now))
                {
                    _context.Stages?.Record(ProduceStage.Replicate, time, waiter.AppendedTimestamp, now);
                }
            }
        }

        WakeWatchers(appends: false, changes: true);
        return true;
    }

    /// <summary>As a follower: the leader's high watermark bounds ours, and so does our own log end.</summary>
    internal void UpdateFollowerHighWatermark(long leaderHighWatermark)
    {
        var hw = Math.Min(leaderHighWatermark, Log.LogEndOffset);
        if (hw != Log.HighWatermark && hw >= Log.LogStartOffset)
        {
            Log.UpdateHighWatermark(hw);
            WakeWatchers(appends: false, changes: true);
        }
    }

    /// <summary>
    /// Asks the controller for an ISR change when the leader's view calls for one (one request in flight): members not caught
    /// up within replica.lag.time.max.ms leave; active replicas that reached the high watermark (and this leader's epoch
    /// start) join.
    /// </summary>
    internal void MaybeChangeIsr()
    {
        if (_context.IsrSender is not { } sender)
        {
            return;
        }

        var proposal = ProposeIsrChange(_context.NowMs, _context.LagTimeMaxMs, _context.IsActiveBroker, _context.RegisteredBrokerEpoch);
        if (proposal is not { } isr)
        {
            return;
        }

        var placement = Image;
        ReplicationLog.IsrChangeProposed(_context.Logger, Topic, Index, string.Join(",", placement.Isr), string.Join(",", isr));
        _ = SendIsrChangeAsync(sender, new IsrChangeRequest(TopicId, Index, placement.LeaderEpoch, placement.PartitionEpoch, isr));
    }

    private async Task SendIsrChangeAsync(IAlterPartitionSender sender, IsrChangeRequest request)
    {
        try
        {
            var reply = await sender.SendAsync(request, _context.Stopping).ConfigureAwait(false);
            if (!reply.IsOk)
            {
                ReplicationLog.IsrChangeRefused(_context.Logger, Topic, Index, reply.Error, reply.Message ?? "");
                ClearPendingIsr();
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or TimeoutException)
        {
            ClearPendingIsr();
        }
    }

    /// <summary>
    /// The ISR this leader should ask for now, or null when none is needed (or one is already in flight): members not
    /// caught up within <paramref name="lagTimeMaxMs"/> leave; active replicas that reached the high watermark (and this
    /// leader's epoch start) join.
    /// </summary>
    /// <remarks>KIP-903: a follower whose fetches carry a broker epoch joins only if that epoch is its current registration
    /// (<paramref name="registeredEpoch"/>), so fetches from a previous incarnation never bring it back.</remarks>
    internal ImmutableArray<int>? ProposeIsrChange(long nowMs, long lagTimeMaxMs, Func<int, bool> isActiveBroker, Func<int, long> registeredEpoch)
    {
        lock (_gate)
        {
            if (!IsLeader || _deleted)
            {
                return null;
            }

            if (_pendingIsr is not null)
            {
                // Re-propose only if the controller never answered (lost request); the image clears it otherwise.
                if (nowMs - _pendingIsrSince < Math.Max(lagTimeMaxMs, 5_000))
                {
                    return null;
                }

                _pendingIsr = null;
            }

            // Decide each replica's membership first and build a proposal only when it differs from the ISR: this runs for every
            // led partition every replica.lag.time.max.ms / 2, and an idle partition's answer is nearly always "no change", which
            // must cost no allocation per partition (issue 20: 10,000 idle partitions per broker).
            var isr = Image.Isr;
            var replicas = Image.Replicas;
            var hw = Log.HighWatermark;
            Span<bool> member = replicas.Length <= 64 ? stackalloc bool[replicas.Length] : new bool[replicas.Length];
            var members = 0;
            var differs = false;
            for (var i = 0; i < replicas.Length; i++)
            {
                var replica = replicas[i];
                var inIsr = isr.Contains(replica);
                if (replica == _context.LocalNodeId)
                {
                    member[i] = true;
                }
                else
                {
                    _followers.TryGetValue(replica, out var state);
                    state?.FoldSkippedFetch(state.Session?.LastFetchMs(this) ?? -1);
                    member[i] = inIsr
                        ? state is not null && nowMs - state.LastCaughtUpMs <= lagTimeMaxMs
                        : state is not null && state.LogEndOffset >= hw && state.LogEndOffset >= _leaderEpochStartOffset
                          && isActiveBroker(replica) && nowMs - state.LastFetchMs <= lagTimeMaxMs
                          && (state.BrokerEpoch < 0 || state.BrokerEpoch == registeredEpoch(replica));
                }

                members += member[i] ? 1 : 0;
                differs |= member[i] != inIsr;
            }

            if (!differs && members == isr.Length)
            {
                return null;
            }

            var next = ImmutableArray.CreateBuilder<int>(members);
            for (var i = 0; i < replicas.Length; i++)
            {
                if (member[i])
                {
                    next.Add(replicas[i]);
                }
            }

            var proposal = next.ToImmutable();
            _pendingIsr = proposal;
            _pendingIsrSince = nowMs;
            return proposal;
        }
    }

    /// <summary>The controller refused or failed the ISR change: forget it (the next check re-evaluates).</summary>
    internal void ClearPendingIsr()
    {
        lock (_gate)
        {
            _pendingIsr = null;
        }

        MaybeAdvanceHighWatermark();
    }

    /// <summary>Followers known to this leader and their log end offsets (for metrics and DescribeLogDirs-style views).</summary>
    public IReadOnlyDictionary<int, long> FollowerEndOffsets()
    {
        lock (_gate)
        {
            return _followers.ToDictionary(kv => kv.Key, kv => kv.Value.LogEndOffset);
        }
    }

    /// <summary>Kafka's check of a client's view of the leader epoch (KIP-320).</summary>
    public ErrorCode CheckLeaderEpoch(int requestEpoch)
    {
        if (requestEpoch < 0 || requestEpoch == LeaderEpoch)
        {
            return ErrorCode.None;
        }

        return requestEpoch > LeaderEpoch ? ErrorCode.UnknownLeaderEpoch : ErrorCode.FencedLeaderEpoch;
    }

    /// <summary>Long polls parked on this partition now.</summary>
    internal int FetchWatcherCount
    {
        get
        {
            lock (_watchGate)
            {
                return _appendWatchers.Count + _changeWatchers.Count;
            }
        }
    }

    internal void AddWatcher(DelayedFetch fetch)
    {
        lock (_watchGate)
        {
            (fetch.WakesOnAppend ? _appendWatchers : _changeWatchers).Add(fetch);
        }
    }

    internal void RemoveWatcher(DelayedFetch fetch)
    {
        lock (_watchGate)
        {
            (fetch.WakesOnAppend ? _appendWatchers : _changeWatchers).Remove(fetch);
        }
    }

    /// <summary>Fetch sessions holding this partition, told of every change until removed (issue 20).</summary>
    internal int ChangeListenerCount => Volatile.Read(ref _listeners).Length;

    internal void AddListener(IPartitionChangeListener listener)
    {
        lock (_watchGate)
        {
            if (Array.IndexOf(_listeners, listener) < 0)
            {
                _listeners = [.. _listeners, listener];
            }
        }
    }

    internal void RemoveListener(IPartitionChangeListener listener)
    {
        lock (_watchGate)
        {
            var at = Array.IndexOf(_listeners, listener);
            if (at >= 0)
            {
                _listeners = [.. _listeners.AsSpan(0, at), .. _listeners.AsSpan(at + 1)];
            }
        }
    }

    /// <summary>DeleteRecords moved the log start: incremental fetches answer the new log start offset.</summary>
    internal void LogStartOffsetMoved() => WakeWatchers(appends: false, changes: true);

    private void WakeWatchers(bool appends, bool changes)
    {
        List<DelayedFetch>? appendWatchers = null, changeWatchers = null;
        lock (_watchGate)
        {
            if (appends && _appendWatchers.Count > 0)
            {
                appendWatchers = _appendWatchers;
                _appendWatchers = [];
            }

            if (changes && _changeWatchers.Count > 0)
            {
                changeWatchers = _changeWatchers;
                _changeWatchers = [];
            }
        }

        appendWatchers?.ForEach(w => w.Wake(this));
        changeWatchers?.ForEach(w => w.Wake(this));
        foreach (var listener in Volatile.Read(ref _listeners))
        {
            listener.PartitionChanged(appends, changes);
        }
    }

    private ErrorCode CommitOutcomeLocked() =>
        Image.Isr.Length < MinInsyncReplicas ? ErrorCode.NotEnoughReplicasAfterAppend : ErrorCode.None;

    private List<DelayedProduce>? DrainDelayedProducesLocked()
    {
        if (_delayedProduces.Count == 0)
        {
            return null;
        }

        var drained = new List<DelayedProduce>(_delayedProduces.Count);
        while (_delayedProduces.TryDequeue(out var waiter, out _))
        {
            drained.Add(waiter);
        }

        return drained;
    }

    private static void Complete(List<DelayedProduce>? waiters, ErrorCode error) => waiters?.ForEach(w => w.TryComplete(error));

    private ImmutableArray<int> MaximalIsrLocked()
    {
        if (_pendingIsr is not { } pending)
        {
            return Image.Isr;
        }

        return [.. Image.Isr.Union(pending)];
    }

    private sealed class FollowerState
    {
        public long LogEndOffset { get; set; } = -1;
        public long LastCaughtUpMs { get; set; }
        public long LastFetchMs { get; set; }
        public long LeaderEndAtLastFetch { get; set; } = -1;
        public long BrokerEpoch { get; set; } = -1;

        /// <summary><see cref="TimeProvider.GetTimestamp"/> when the follower was last served records (0: none since its last fetch past them).</summary>
        public long RecordsServedTimestamp { get; set; }

        /// <summary>The follower's incremental fetch session that last read this partition, if any.</summary>
        public IFollowerSessionLink? Session { get; set; }

        /// <summary>
        /// Counts a session fetch at <paramref name="fetchMs"/> that did not read this partition (-1: none) as Kafka counts it: a
        /// fetch at the offset last read, while the leader's end was what it was then, so caught up if the follower was then.
        /// </summary>
        public void FoldSkippedFetch(long fetchMs)
        {
            if (fetchMs <= LastFetchMs)
            {
                return;
            }

            if (LogEndOffset >= LeaderEndAtLastFetch && LogEndOffset >= 0)
            {
                LastCaughtUpMs = Math.Max(LastCaughtUpMs, fetchMs);
            }

            LastFetchMs = fetchMs;
        }
    }
}

/// <summary>One partition's append for a Produce: where the records landed, and for acks=all when the ISR has them.</summary>
/// <param name="Committed">Completes with NONE when the high watermark passed the batch (at once for acks 0 and 1), or with the
/// error that ended the wait (NOT_ENOUGH_REPLICAS_AFTER_APPEND, NOT_LEADER_OR_FOLLOWER, REQUEST_TIMED_OUT).</param>
public readonly record struct PartitionAppend(AppendOutcome Outcome, Task<ErrorCode> Committed)
{
    internal DelayedProduce? Waiter { get; init; }

    /// <summary><see cref="TimeProvider.GetTimestamp"/> when the wait for the ISR ended (0 when there was none).</summary>
    public long CommittedTimestamp => Waiter?.CompletedTimestamp ?? 0;

    internal static readonly Task<ErrorCode> NoWait = Task.FromResult(ErrorCode.None);

    internal static PartitionAppend Failed(AppendOutcome outcome) => new(outcome, NoWait);
}
