using Tributary.Broker.Replication;
using Tributary.Protocol;
using Tributary.Protocol.Messages;

namespace Tributary.Broker.Fetch;

/// <summary>A partition as a fetch session names it: by topic id from Fetch v13 on (KIP-516), by topic name before.</summary>
public readonly record struct SessionPartitionKey(Uuid TopicId, string TopicName, int Partition)
{
    public static SessionPartitionKey Of(FetchRequest.FetchTopic topic, int partition, bool usesTopicIds) =>
        usesTopicIds ? new(topic.TopicId, "", partition) : new(Uuid.Zero, topic.Topic, partition);

    public static SessionPartitionKey Of(FetchResponse.FetchableTopicResponse topic, int partition, bool usesTopicIds) =>
        usesTopicIds ? new(topic.TopicId, "", partition) : new(Uuid.Zero, topic.Topic, partition);

    public static SessionPartitionKey Of(FetchRequest.ForgottenTopic topic, int partition, bool usesTopicIds) =>
        usesTopicIds ? new(topic.TopicId, "", partition) : new(Uuid.Zero, topic.Topic, partition);

    public (Uuid, string) Topic => (TopicId, TopicName);
}

/// <summary>
/// One incremental fetch session (KIP-227): the partitions a client fetches with the request fields it last sent for each,
/// and what this broker last answered for each (high watermark, last stable offset, log start offset), so an incremental
/// response carries only the partitions whose answer changed.
/// </summary>
/// <remarks>
/// The session keeps the partitions as <see cref="FetchRequest.FetchTopic"/>/<see cref="FetchRequest.FetchPartition"/>
/// objects grouped by topic (<see cref="Topics"/>): the fetch handler reads them exactly as it reads a full request, and an
/// incremental request only rewrites the fields of the partitions it names. A client has one request outstanding per session
/// (the epoch it must send next exists only once the previous response is built), so the objects are not read and written at
/// the same time by two requests of a well-behaved client; a misbehaving one only garbles its own answers.
/// <para>
/// What an incremental fetch reads (issue 20): not every partition, but those that are due — changed since their last read
/// (each partition, once read, tells the session of its appends, high-watermark and role changes: <see cref="CachedPartition"/>
/// is its <see cref="IPartitionChangeListener"/>), named by the request, answered with records or an error last time, never
/// read yet, or not read for <see cref="FetchSessionCache.RefreshMs"/> (a slow sweep for what no partition signals, such as
/// retention moving a log start). A fetch with nothing to answer parks on the session, and any of its partitions wakes it.
/// </para>
/// </remarks>
public sealed class FetchSession
{
    /// <summary>Partitions the refresh sweep looks at per fetch: bounded work, a whole session every few hundred fetches.</summary>
    internal const int SweepPerFetch = 8;

    private readonly Dictionary<SessionPartitionKey, CachedPartition> _partitions = [];
    private readonly Dictionary<(Uuid, string), FetchRequest.FetchTopic> _topicsByKey = [];
    private readonly List<CachedPartition> _order = [];
    private readonly Lock _dirtyGate = new();
    private List<CachedPartition> _dirty = [];
    private TaskCompletionSource? _parked;
    private volatile bool _wakePending;
    private volatile Partition? _wokenBy;
    private volatile bool _closed;
    private long _lastUsedMs;
    private long _previousUsedMs;
    private int _sweepCursor;
    private long _dueSequence;

    internal FetchSession(int id, bool privileged, bool usesTopicIds, long nowMs)
    {
        Id = id;
        Privileged = privileged;
        UsesTopicIds = usesTopicIds;
        CreatedMs = nowMs;
        _lastUsedMs = nowMs;
        _previousUsedMs = nowMs;
        Epoch = FetchSessionEpochs.Next(FetchSessionEpochs.Initial);
    }

    public int Id { get; }

    /// <summary>Follower (replica) sessions outrank consumer sessions when the cache is full; their fetches wake on appends.</summary>
    public bool Privileged { get; }

    /// <summary>Created by Fetch v13+ (topics by id); an incremental request must then also be v13+, and the reverse.</summary>
    public bool UsesTopicIds { get; }

    public long CreatedMs { get; }

    /// <summary>When the client last fetched with this session (ms): its latest fetch of every session partition.</summary>
    public long LastUsedMs
    {
        get => Interlocked.Read(ref _lastUsedMs);
        internal set => Interlocked.Exchange(ref _lastUsedMs, value);
    }

    /// <summary>When the client fetched before <see cref="LastUsedMs"/>.</summary>
    internal long PreviousUsedMs => Interlocked.Read(ref _previousUsedMs);

    /// <summary>The epoch the client's next incremental request must carry.</summary>
    public int Epoch { get; internal set; }

    /// <summary>Partitions in the session.</summary>
    public int Size => _partitions.Count;

    /// <summary>Removed from the cache: its partitions no longer listen to changes and its fetch times no longer count.</summary>
    internal bool Closed => _closed;

    /// <summary>The session's partitions grouped by topic, in the order they were added.</summary>
    internal List<FetchRequest.FetchTopic> Topics { get; } = [];

    internal object Gate { get; } = new();

    /// <summary>The partition whose change last woke a parked fetch of this session (the follower wake-up stage), if any.</summary>
    internal Partition? WokenBy => _wokenBy;

    internal bool TryGet(SessionPartitionKey key, out CachedPartition partition) => _partitions.TryGetValue(key, out partition!);

    /// <summary>A new fetch of the client's: it fetches every session partition now.</summary>
    internal void Touch(long nowMs)
    {
        Interlocked.Exchange(ref _previousUsedMs, LastUsedMs);
        LastUsedMs = nowMs;
    }

    /// <summary>Adds the partition or rewrites the request fields of the one cached under its key; either way it is read next.</summary>
    internal void AddOrUpdate(FetchRequest.FetchTopic requestTopic, FetchRequest.FetchPartition requested)
    {
        var key = SessionPartitionKey.Of(requestTopic, requested.Partition, UsesTopicIds);
        if (_partitions.TryGetValue(key, out var cached))
        {
            cached.Request.CurrentLeaderEpoch = requested.CurrentLeaderEpoch;
            cached.Request.FetchOffset = requested.FetchOffset;
            cached.Request.LastFetchedEpoch = requested.LastFetchedEpoch;
            cached.Request.LogStartOffset = requested.LogStartOffset;
            cached.Request.PartitionMaxBytes = requested.PartitionMaxBytes;
            cached.Request.ReplicaDirectoryId = requested.ReplicaDirectoryId;
            // A partition the client names is answered in full next time, so a client that has reset its state for it (a
            // follower re-assigned the partition, a consumer seeked) learns the high watermark without waiting for a change.
            cached.ForgetAnswer();
            MarkDue(cached, wake: false);
            return;
        }

        if (!_topicsByKey.TryGetValue(key.Topic, out var topic))
        {
            topic = new FetchRequest.FetchTopic { Topic = requestTopic.Topic, TopicId = requestTopic.TopicId };
            _topicsByKey[key.Topic] = topic;
            Topics.Add(topic);
        }

        var copy = new FetchRequest.FetchPartition
        {
            Partition = requested.Partition,
            CurrentLeaderEpoch = requested.CurrentLeaderEpoch,
            FetchOffset = requested.FetchOffset,
            LastFetchedEpoch = requested.LastFetchedEpoch,
            LogStartOffset = requested.LogStartOffset,
            PartitionMaxBytes = requested.PartitionMaxBytes,
            ReplicaDirectoryId = requested.ReplicaDirectoryId,
        };
        topic.Partitions.Add(copy);
        var added = new CachedPartition(this, topic, copy);
        _partitions[key] = added;
        _order.Add(added);
        MarkDue(added, wake: false);
    }

    internal void Remove(SessionPartitionKey key)
    {
        if (!_partitions.Remove(key, out var cached))
        {
            return;
        }

        cached.Forget();
        _order.Remove(cached);
        if (!_topicsByKey.TryGetValue(key.Topic, out var topic))
        {
            return;
        }

        topic.Partitions.Remove(cached.Request);
        if (topic.Partitions.Count == 0)
        {
            _topicsByKey.Remove(key.Topic);
            Topics.Remove(topic);
        }
    }

    /// <summary>The cache dropped the session: its partitions stop listening, a parked fetch wakes.</summary>
    internal void Close()
    {
        _closed = true;
        lock (Gate)
        {
            foreach (var cached in _order)
            {
                cached.Forget();
            }
        }

        WakeParked(by: null);
    }

    /// <summary>
    /// The partitions the next read of this session must cover: every one marked due since the last call, plus any of the
    /// <see cref="SweepPerFetch"/> partitions at the sweep cursor not read for <paramref name="refreshMs"/>. Caller holds <see cref="Gate"/>.
    /// </summary>
    internal List<CachedPartition> TakeDue(long nowMs, long refreshMs, out long sequence)
    {
        List<CachedPartition> due;
        lock (_dirtyGate)
        {
            due = _dirty;
            _dirty = due.Count == 0 ? due : [];
            foreach (var cached in due)
            {
                cached.Queued = false;
            }

            _wakePending = false;
        }

        due.RemoveAll(static cached => cached.Forgotten);

        if (due.Count == 0)
        {
            due = [];
        }

        sequence = ++_dueSequence;
        foreach (var cached in due)
        {
            cached.DueSequence = sequence;
        }

        for (var i = 0; i < SweepPerFetch && i < _order.Count; i++)
        {
            _sweepCursor = (_sweepCursor + 1) % _order.Count;
            var candidate = _order[_sweepCursor];
            if (candidate.DueSequence != sequence && nowMs - candidate.LastReadMs >= refreshMs)
            {
                candidate.DueSequence = sequence;
                due.Add(candidate);
            }
        }

        return due;
    }

    /// <summary>Partitions marked due since the last <see cref="TakeDue"/>, for another pass of a parked fetch (no sweep).</summary>
    internal List<CachedPartition> TakeChanged()
    {
        lock (_dirtyGate)
        {
            if (_dirty.Count == 0)
            {
                return [];
            }

            var changed = _dirty;
            _dirty = [];
            foreach (var cached in changed)
            {
                cached.Queued = false;
            }

            _wakePending = false;
            changed.RemoveAll(static cached => cached.Forgotten);
            return changed;
        }
    }

    /// <summary>
    /// Marks the partition due for the next read; <paramref name="wake"/> also wakes a parked fetch of the session (or the next
    /// one to park). Called by partitions on their threads; lock-free when the partition is already due and nothing more is asked.
    /// </summary>
    internal void MarkDue(CachedPartition cached, bool wake)
    {
        if (cached.Queued && (!wake || _wakePending))
        {
            return;
        }

        TaskCompletionSource? woken = null;
        lock (_dirtyGate)
        {
            if (!cached.Queued)
            {
                cached.Queued = true;
                _dirty.Add(cached);
            }

            if (wake)
            {
                if (_parked is { Task.IsCompleted: false } parked)
                {
                    woken = parked;
                    _parked = null;
                    _wokenBy = cached.Bound;
                }
                else
                {
                    _wakePending = true;
                }
            }
        }

        woken?.TrySetResult();
    }

    /// <summary>
    /// A task that completes when a session partition changes in a way that wakes this session's fetches (at once if one did
    /// since the last <see cref="TakeDue"/> or <see cref="TakeChanged"/>). <see cref="Unpark"/> when done waiting.
    /// </summary>
    internal Task Park()
    {
        lock (_dirtyGate)
        {
            _wokenBy = null;
            if (_wakePending || _closed)
            {
                _wakePending = false;
                return Task.CompletedTask;
            }

            if (_parked is not { Task.IsCompleted: false })
            {
                _parked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            return _parked.Task;
        }
    }

    internal void Unpark(Task parked)
    {
        lock (_dirtyGate)
        {
            if (_parked is { } current && ReferenceEquals(current.Task, parked))
            {
                _parked = null;
            }
        }
    }

    private void WakeParked(Partition? by)
    {
        TaskCompletionSource? woken;
        lock (_dirtyGate)
        {
            woken = _parked;
            _parked = null;
            _wokenBy = by;
        }

        woken?.TrySetResult();
    }
}

/// <summary>
/// A session partition: the request fields the client last sent, what the broker last answered, and its standing interest in
/// this broker's replica of it (told of its changes, it marks itself due in its session; a follower session's fetch times
/// count as fetches of it, see <see cref="IFollowerSessionLink"/>).
/// </summary>
internal sealed class CachedPartition(FetchSession session, FetchRequest.FetchTopic topic, FetchRequest.FetchPartition request)
    : IPartitionChangeListener, IFollowerSessionLink
{
    private volatile Partition? _bound;
    private volatile bool _forgotten;
    private volatile bool _queued;

    public FetchSession Session { get; } = session;

    /// <summary>The session's topic entry this partition belongs to.</summary>
    public FetchRequest.FetchTopic Topic { get; } = topic;

    public FetchRequest.FetchPartition Request { get; } = request;

    public long HighWatermark { get; private set; } = -1;

    public long LastStableOffset { get; private set; } = -1;

    public long LogStartOffset { get; private set; } = -1;

    /// <summary>The replica this partition listens to (the one its last read found), if this broker hosts one.</summary>
    public Partition? Bound => _bound;

    /// <summary>In the session's due list (written under the session's due lock).</summary>
    public bool Queued
    {
        get => _queued;
        set => _queued = value;
    }

    /// <summary>The <see cref="FetchSession.TakeDue"/> call that last picked it (a partition is read once per pass).</summary>
    public long DueSequence { get; set; }

    /// <summary>When a fetch last read it (ms); -1 before the first read.</summary>
    public long LastReadMs { get; private set; } = -1;

    /// <summary>Read just now: listen to <paramref name="replica"/> (this broker's replica, null when it hosts none) from now on.</summary>
    public void Bind(Partition? replica, long nowMs)
    {
        LastReadMs = nowMs;
        var previous = _bound;
        if (ReferenceEquals(previous, replica))
        {
            return;
        }

        previous?.RemoveListener(this);
        _bound = replica;
        if (replica is null)
        {
            return;
        }

        replica.AddListener(this);
        if (_forgotten || Session.Closed)
        {
            // Removed from the session while this read ran: listen no more.
            replica.RemoveListener(this);
            _bound = null;
        }
    }

    /// <summary>Left the session: no longer read.</summary>
    public bool Forgotten => _forgotten;

    /// <summary>Left the session (forgotten, or the session closed): stop listening.</summary>
    public void Forget()
    {
        _forgotten = true;
        var bound = _bound;
        _bound = null;
        bound?.RemoveListener(this);
    }

    public void PartitionChanged(bool appended, bool changed)
    {
        if (_forgotten)
        {
            return;
        }

        // A follower reads up to the log end: appends wake it, a new high watermark is only answered on its next fetch (as
        // Kafka's delayed fetch for followers counts bytes only). A consumer reads up to the high watermark: its moves wake it.
        if (Session.Privileged ? appended || changed : changed)
        {
            Session.MarkDue(this, wake: Session.Privileged ? appended : changed);
        }
    }

    public long LastFetchMs(Partition partition) => Follows(partition) ? Session.LastUsedMs : -1;

    public long PreviousFetchMs(Partition partition) => Follows(partition) ? Session.PreviousUsedMs : -1;

    private bool Follows(Partition partition) => !_forgotten && !Session.Closed && ReferenceEquals(_bound, partition);

    /// <summary>
    /// Whether an incremental response must carry this answer (Kafka's rules: records, an error, a diverging epoch, or a
    /// changed high watermark, last stable offset or log start offset), and remembers it as the last one sent. After an error
    /// the cached high watermark is forgotten, so the first answer after the error goes away is sent too.
    /// </summary>
    public bool MustRespond(FetchResponse.PartitionData answer)
    {
        var must = answer.Records is { Length: > 0 }
            || answer.DivergingEpoch is { } d && (d.Epoch >= 0 || d.EndOffset >= 0)
            || answer.HighWatermark != HighWatermark
            || answer.LastStableOffset != LastStableOffset
            || answer.LogStartOffset != LogStartOffset;
        if (answer.ErrorCode != (short)ErrorCode.None)
        {
            ForgetAnswer();
            return true;
        }

        Remember(answer);
        return must;
    }

    public void Remember(FetchResponse.PartitionData answer)
    {
        if (answer.ErrorCode != (short)ErrorCode.None)
        {
            ForgetAnswer();
            return;
        }

        HighWatermark = answer.HighWatermark;
        LastStableOffset = answer.LastStableOffset;
        LogStartOffset = answer.LogStartOffset;
    }

    public void ForgetAnswer()
    {
        HighWatermark = -1;
        LastStableOffset = -1;
        LogStartOffset = -1;
    }
}

/// <summary>KIP-227's session epochs: 0 asks for a new session, -1 closes one (or fetches without), then 1, 2, … wrapping to 1.</summary>
public static class FetchSessionEpochs
{
    public const int Initial = 0;
    public const int Final = -1;

    public static int Next(int epoch) => epoch < 0 ? Final : epoch == int.MaxValue ? 1 : epoch + 1;
}
