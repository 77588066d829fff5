using System.Threading.RateLimiting;

namespace Tributary.Operator.Queue;

/// <summary>Which object a reconcile is about.</summary>
public readonly record struct ObjectKey(string Kind, string Namespace, string Name)
{
    public override string ToString() => $"{Kind} {Namespace}/{Name}";
}

/// <summary>
/// A work queue keyed by object, as client-go's: a key queued many times is processed once; a key is never processed by two
/// workers at once (one added while it is processed runs again afterwards); failures back off per key exponentially;
/// and a token bucket bounds the overall rate, so a storm of events cannot hammer the API server or the brokers.
/// </summary>
public sealed class WorkQueue<TKey> : IDisposable
    where TKey : notnull
{
    private readonly object _gate = new();
    private readonly Queue<TKey> _ready = new();
    private readonly HashSet<TKey> _dirty = [];
    private readonly HashSet<TKey> _processing = [];
    private readonly Dictionary<TKey, int> _failures = [];
    private readonly SemaphoreSlim _available = new(0);
    private readonly TimeProvider _time;
    private readonly TokenBucketRateLimiter _rate;

    public WorkQueue(TimeProvider time, TimeSpan? baseDelay = null, TimeSpan? maxDelay = null, int perSecond = 10, int burst = 100)
    {
        _time = time;
        BaseDelay = baseDelay ?? TimeSpan.FromMilliseconds(200);
        MaxDelay = maxDelay ?? TimeSpan.FromSeconds(60);
        _rate = new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = burst,
            TokensPerPeriod = perSecond,
            ReplenishmentPeriod = TimeSpan.FromSeconds(1),
            QueueLimit = int.MaxValue,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
            AutoReplenishment = true,
        });
    }

    public TimeSpan BaseDelay { get; }

    public TimeSpan MaxDelay { get; }

    /// <summary>Keys waiting (not counting those being processed).</summary>
    public int Depth
    {
        get
        {
            lock (_gate)
            {
                return _ready.Count;
            }
        }
    }

    public void Add(TKey key)
    {
        lock (_gate)
        {
            if (!_dirty.Add(key) || _processing.Contains(key))
            {
                return;
            }

            _ready.Enqueue(key);
        }

        _available.Release();
    }

    /// <summary>Adds <paramref name="key"/> once <paramref name="delay"/> has passed.</summary>
    public void AddAfter(TKey key, TimeSpan delay, CancellationToken cancellationToken = default)
    {
        if (delay <= TimeSpan.Zero)
        {
            Add(key);
            return;
        }

        _ = Task.Delay(delay, _time, cancellationToken).ContinueWith(
            t => { if (!t.IsCanceled) { Add(key); } }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>Adds <paramref name="key"/> after its next back-off delay (doubling per failure since the last <see cref="Forget"/>).</summary>
    public TimeSpan AddRateLimited(TKey key, CancellationToken cancellationToken = default)
    {
        int failures;
        lock (_gate)
        {
            _failures.TryGetValue(key, out failures);
            _failures[key] = failures + 1;
        }

        var delay = BackoffFor(failures, BaseDelay, MaxDelay);
        AddAfter(key, delay, cancellationToken);
        return delay;
    }

    /// <summary>The key succeeded: its back-off starts over.</summary>
    public void Forget(TKey key)
    {
        lock (_gate)
        {
            _failures.Remove(key);
        }
    }

    /// <summary>Waits for the next key; the caller must call <see cref="Done"/> with it.</summary>
    public async Task<TKey> TakeAsync(CancellationToken cancellationToken)
    {
        using var lease = await _rate.AcquireAsync(1, cancellationToken).ConfigureAwait(false);
        while (true)
        {
            await _available.WaitAsync(cancellationToken).ConfigureAwait(false);
            lock (_gate)
            {
                if (_ready.TryDequeue(out var key))
                {
                    _dirty.Remove(key);
                    _processing.Add(key);
                    return key;
                }
            }
        }
    }

    /// <summary>Processing of <paramref name="key"/> finished; if it was added meanwhile it is queued again.</summary>
    public void Done(TKey key)
    {
        bool requeue;
        lock (_gate)
        {
            _processing.Remove(key);
            requeue = _dirty.Contains(key);
            if (requeue)
            {
                _ready.Enqueue(key);
            }
        }

        if (requeue)
        {
            _available.Release();
        }
    }

    /// <summary>base·2^failures, capped at <paramref name="max"/>.</summary>
    public static TimeSpan BackoffFor(int failures, TimeSpan @base, TimeSpan max)
    {
        var factor = Math.Pow(2, Math.Min(failures, 30));
        var ticks = @base.Ticks * factor;
        return ticks >= max.Ticks ? max : TimeSpan.FromTicks((long)ticks);
    }

    public void Dispose()
    {
        _available.Dispose();
        _rate.Dispose();
    }
}
