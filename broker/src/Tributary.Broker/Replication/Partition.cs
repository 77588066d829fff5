using System.Collections.Immutable;
using Tributary.Broker.Metadata;
using Tributary.Protocol;
using Tributary.Storage;

namespace Tributary.Broker.Replication;

/// <summary>
/// This broker's replica of one partition: its log, its role (leader or follower, from the metadata image), its leader
/// epoch, and — while it leads — what it knows of its followers, from which it advances the high watermark and
/// decides ISR changes. Long-polling fetches and acks=all produces wait on its signals.
/// </summary>
/// <remarks>
/// High watermark (leader): the minimum log end offset over the leader and every follower of the "maximal ISR" — the
/// committed ISR plus members an in-flight ISR change adds (Kafka's KIP-497 rule: the HW never counts on a replica the
/// controller may not have admitted yet, and never skips one it still lists). With a single replica it is the log end
/// offset after every append. Followers take min(leader HW, own LEO) from fetch responses.
/// </remarks>
public sealed class Partition
{
    private readonly object _gate = new();
    private readonly int _localNodeId;
    private readonly Dictionary<int, FollowerState> _followers = [];
    private TaskCompletionSource _appended = NewSignal();
    private TaskCompletionSource _changed = NewSignal();
    private ImmutableArray<int>? _pendingIsr;
    private long _pendingIsrSince;
    private long _leaderEpochStartOffset;

    public Partition(string topic, Uuid topicId, int index, PartitionLog log, PartitionImage image, int localNodeId, long nowMs)
    {
        Topic = topic;
        TopicId = topicId;
        Index = index;
        Log = log;
        _localNodeId = localNodeId;
        Image = new PartitionImage(index, [], -1, -1, []);
        ApplyImage(image, nowMs);
    }

    public string Topic { get; }
    public Uuid TopicId { get; }

    /// <summary>Appends hold it for reading, role changes for writing: an append never straddles a leader epoch change.</summary>
    internal ReaderWriterLockSlim LeaderLock { get; } = new(LockRecursionPolicy.NoRecursion);
    public int Index { get; }
    public PartitionLog Log { get; }

    /// <summary>The placement this replica last applied from the metadata image.</summary>
    public PartitionImage Image { get; private set; }

    public int LeaderEpoch => Image.LeaderEpoch;

    public bool IsLeader => Image.Leader == _localNodeId;

    /// <summary>The topic's effective min.insync.replicas, resolved when the replica is created or its configs change.</summary>
    public int MinInsyncReplicas { get; internal set; } = 1;

    public long HighWatermark => Log.HighWatermark;

    /// <summary>While leading: the log end offset when this leader's epoch began (-1 before it ever led).</summary>
    public long LeaderEpochStartOffset => IsLeader ? Volatile.Read(ref _leaderEpochStartOffset) : -1;

    /// <summary>Without transactions every record below the high watermark is stable.</summary>
    public long LastStableOffset => HighWatermark;

    /// <summary>Completes the next time records are appended (followers' long polls wait on it).</summary>
    public Task NextAppend => Volatile.Read(ref _appended).Task;

    /// <summary>Completes the next time the high watermark advances, the role changes or the replica goes away
    /// (consumers' long polls and acks=all produces wait on it).</summary>
    public Task NextChange => Volatile.Read(ref _changed).Task;

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

    internal void SignalAppended() => Interlocked.Exchange(ref _appended, NewSignal()).TrySetResult();

    internal void SignalChanged() => Interlocked.Exchange(ref _changed, NewSignal()).TrySetResult();

    /// <summary>Applies a new placement. Returns true when this broker became leader (new epoch) and must act on it.</summary>
    internal bool ApplyImage(PartitionImage image, long nowMs)
    {
        bool becameLeader;
        LeaderLock.EnterWriteLock();
        try
        {
            becameLeader = ApplyImageLocked(image, nowMs);
        }
        finally
        {
            LeaderLock.ExitWriteLock();
        }

        if (IsLeader)
        {
            MaybeAdvanceHighWatermark();
        }

        SignalChanged();
        SignalAppended();
        return becameLeader;
    }

    private bool ApplyImageLocked(PartitionImage image, long nowMs)
    {
        bool becameLeader;
        lock (_gate)
        {
            var previous = Image;
            var isLeader = image.Leader == _localNodeId;
            becameLeader = isLeader && (previous.Leader != _localNodeId || previous.LeaderEpoch != image.LeaderEpoch);
            if (becameLeader)
            {
                _leaderEpochStartOffset = Log.LogEndOffset;
                Log.AssignLeaderEpochStartOffset(image.LeaderEpoch, _leaderEpochStartOffset);
                // Kafka gives ISR members a fresh catch-up clock on election so they are not dropped at once.
                _followers.Clear();
                foreach (var replica in image.Replicas)
                {
                    if (replica != _localNodeId)
                    {
                        _followers[replica] = new FollowerState { LastCaughtUpMs = image.Isr.Contains(replica) ? nowMs : 0 };
                    }
                }
            }
            else if (isLeader)
            {
                foreach (var replica in image.Replicas)
                {
                    if (replica != _localNodeId && !_followers.ContainsKey(replica))
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
        }

        return becameLeader;
    }

    /// <summary>A follower fetched from <paramref name="fetchOffset"/>: everything below it is on that replica.</summary>
    internal void RecordFollowerFetch(int replicaId, long fetchOffset, long nowMs, long brokerEpoch = -1)
    {
        lock (_gate)
        {
            if (!_followers.TryGetValue(replicaId, out var state))
            {
                return;
            }

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
        }

        MaybeAdvanceHighWatermark();
    }

    /// <summary>Recomputes the leader's high watermark; wakes waiters when it moved.</summary>
    internal void MaybeAdvanceHighWatermark()
    {
        long candidate;
        lock (_gate)
        {
            if (!IsLeader)
            {
                return;
            }

            candidate = Log.LogEndOffset;
            foreach (var replica in MaximalIsrLocked())
            {
                if (replica == _localNodeId)
                {
                    continue;
                }

                candidate = Math.Min(candidate, _followers.TryGetValue(replica, out var state) ? state.LogEndOffset : -1);
            }
        }

        if (candidate > Log.HighWatermark)
        {
            Log.UpdateHighWatermark(candidate);
            SignalChanged();
        }
    }

    /// <summary>As a follower: the leader's high watermark bounds ours, and so does our own log end.</summary>
    internal void UpdateFollowerHighWatermark(long leaderHighWatermark)
    {
        var hw = Math.Min(leaderHighWatermark, Log.LogEndOffset);
        if (hw != Log.HighWatermark && hw >= Log.LogStartOffset)
        {
            Log.UpdateHighWatermark(hw);
            SignalChanged();
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
            if (!IsLeader)
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

            var isr = Image.Isr;
            var hw = Log.HighWatermark;
            var next = new List<int>(Image.Replicas.Length);
            foreach (var replica in Image.Replicas)
            {
                if (replica == _localNodeId)
                {
                    next.Add(replica);
                    continue;
                }

                _followers.TryGetValue(replica, out var state);
                if (isr.Contains(replica))
                {
                    var lagging = state is null || nowMs - state.LastCaughtUpMs > lagTimeMaxMs;
                    if (!lagging)
                    {
                        next.Add(replica);
                    }
                }
                else if (state is not null && state.LogEndOffset >= hw && state.LogEndOffset >= _leaderEpochStartOffset
                         && isActiveBroker(replica) && nowMs - state.LastFetchMs <= lagTimeMaxMs
                         && (state.BrokerEpoch < 0 || state.BrokerEpoch == registeredEpoch(replica)))
                {
                    next.Add(replica);
                }
            }

            if (next.Count == isr.Length && next.All(isr.Contains))
            {
                return null;
            }

            var proposal = next.ToImmutableArray();
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

    private ImmutableArray<int> MaximalIsrLocked()
    {
        if (_pendingIsr is not { } pending)
        {
            return Image.Isr;
        }

        return [.. Image.Isr.Union(pending)];
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private sealed class FollowerState
    {
        public long LogEndOffset { get; set; } = -1;
        public long LastCaughtUpMs { get; set; }
        public long LastFetchMs { get; set; }
        public long LeaderEndAtLastFetch { get; set; } = -1;
        public long BrokerEpoch { get; set; } = -1;
    }
}
