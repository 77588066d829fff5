namespace Tributary.Broker.Replication;

/// <summary>
/// A long-polling fetch parked on the partitions it asked for (Kafka's DelayedFetch in the fetch purgatory). It watches
/// only those partitions: a follower's fetch wakes on an append to one of them, a consumer's when one's high watermark moves
/// (or its role changes, or it goes away); an append to any other partition wakes nobody here. Its timer wakes it at the
/// fetch's max wait.
/// </summary>
internal sealed class DelayedFetch
{
    private readonly TaskCompletionSource _woken = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<Partition> _watched = [];
    private ITimer? _timer;
    private Partition? _wokenBy;
    private int _state;

    public DelayedFetch(bool wakesOnAppend) => WakesOnAppend = wakesOnAppend;

    /// <summary>A follower's fetch (wakes on appends); a consumer's wakes on high-watermark changes.</summary>
    public bool WakesOnAppend { get; }

    /// <summary>Completes when a watched partition signals or the timer fires.</summary>
    public Task Woken => _woken.Task;

    /// <summary>The partition whose signal woke it; null for the timer or a shutdown.</summary>
    public Partition? WokenBy => Volatile.Read(ref _wokenBy);

    /// <summary>True once it watches at least one partition (a fetch naming none has nothing to wait for).</summary>
    public bool IsWatching => _watched.Count > 0;

    public void Watch(Partition partition)
    {
        _watched.Add(partition);
        partition.AddWatcher(this);
    }

    /// <summary>Wakes it at <paramref name="after"/> unless a partition does first.</summary>
    public void ArmTimer(TimeProvider time, TimeSpan after) =>
        _timer = time.CreateTimer(static state => ((DelayedFetch)state!).Wake(null), this, after, Timeout.InfiniteTimeSpan);

    /// <summary>Called by a watched partition (with itself) or the timer (null); only the first call counts.</summary>
    public void Wake(Partition? by)
    {
        if (Interlocked.Exchange(ref _state, 1) == 0)
        {
            Volatile.Write(ref _wokenBy, by);
            _woken.TrySetResult();
        }
    }

    /// <summary>Stops watching every partition and stops the timer (the fetch answers or looks again).</summary>
    public void Release()
    {
        _timer?.Dispose();
        foreach (var partition in _watched)
        {
            partition.RemoveWatcher(this);
        }

        _watched.Clear();
    }
}
