namespace Tributary.Broker.Network;

/// <summary>
/// Bytes of request frames held in memory at once, broker-wide (Kafka's <c>queued.max.request.bytes</c>). A connection
/// reserves a frame's size after reading its 4-byte prefix and before reading the body; while the budget is spent it
/// waits and reads nothing more from its socket, so a flood of large or slow requests is held back by TCP
/// flow control instead of being buffered. The reservation is released once the request has been answered.
/// </summary>
/// <remarks>Waiters are served in arrival order, so one large frame is not starved by a stream of small ones.
/// A frame larger than the whole budget is never asked for: <c>socket.request.max.bytes</c> must not exceed it
/// (checked at start-up).</remarks>
public sealed class RequestMemoryBudget
{
    private readonly Lock _gate = new();
    private readonly LinkedList<Waiter> _waiters = new();
    private long _available;

    /// <param name="capacity">Bytes; <see cref="long.MaxValue"/> (from -1 in the config) means unbounded.</param>
    public RequestMemoryBudget(long capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        Capacity = capacity;
        _available = capacity;
    }

    public long Capacity { get; }

    /// <summary>Bytes reserved right now (for /metrics and tests).</summary>
    public long InUse
    {
        get
        {
            lock (_gate)
            {
                return Capacity - _available;
            }
        }
    }

    /// <summary>Connections waiting for room right now.</summary>
    public int Waiting
    {
        get
        {
            lock (_gate)
            {
                return _waiters.Count;
            }
        }
    }

    /// <summary>Reserves <paramref name="bytes"/> if they are free now and nobody waits ahead.</summary>
    public bool TryReserve(int bytes)
    {
        lock (_gate)
        {
            if (_waiters.Count == 0 && _available >= bytes)
            {
                _available -= bytes;
                return true;
            }

            return false;
        }
    }

    /// <summary>Reserves <paramref name="bytes"/>, waiting (in arrival order) until they are free.</summary>
    public ValueTask ReserveAsync(int bytes, CancellationToken cancellation)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        if (bytes > Capacity)
        {
            throw new ArgumentOutOfRangeException(nameof(bytes), bytes, $"A frame of {bytes} bytes can never fit queued.max.request.bytes={Capacity}.");
        }

        Waiter waiter;
        lock (_gate)
        {
            if (_waiters.Count == 0 && _available >= bytes)
            {
                _available -= bytes;
                return ValueTask.CompletedTask;
            }

            waiter = new Waiter(bytes);
            waiter.Node = _waiters.AddLast(waiter);
        }

        return WaitAsync(waiter, cancellation);
    }

    /// <summary>Gives back bytes reserved earlier and wakes the waiters that now fit.</summary>
    public void Release(int bytes)
    {
        List<Waiter>? woken = null;
        lock (_gate)
        {
            _available += bytes;
            while (_waiters.First is { } first && first.Value.Bytes <= _available)
            {
                _available -= first.Value.Bytes;
                _waiters.RemoveFirst();
                first.Value.Node = null;
                (woken ??= []).Add(first.Value);
            }
        }

        if (woken is not null)
        {
            foreach (var waiter in woken)
            {
                waiter.Done.TrySetResult();
            }
        }
    }

    private async ValueTask WaitAsync(Waiter waiter, CancellationToken cancellation)
    {
        await using var registration = cancellation.Register(() =>
        {
            bool removed;
            lock (_gate)
            {
                removed = waiter.Node is not null;
                if (removed)
                {
                    _waiters.Remove(waiter.Node!);
                    waiter.Node = null;
                }
            }

            if (removed)
            {
                waiter.Done.TrySetCanceled(cancellation);
                // A waiter leaving the head of the line may let the next ones in.
                Release(0);
            }
        }).ConfigureAwait(false);
        await waiter.Done.Task.ConfigureAwait(false);
    }

    private sealed class Waiter(int bytes)
    {
        public int Bytes { get; } = bytes;
        public LinkedListNode<Waiter>? Node { get; set; }
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
