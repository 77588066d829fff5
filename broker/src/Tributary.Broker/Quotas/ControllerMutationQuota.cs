namespace Tributary.Broker.Quotas;

/// <summary>
/// KIP-599's controller mutation quota: how many partitions per second clients may create, add or delete through this
/// broker. One token bucket for the whole broker (<c>tributary.controller.mutation.rate</c>; Kafka sets
/// <c>controller_mutation_rate</c> per user/client id, which Tributary does not have yet). The bucket holds
/// <see cref="BurstSeconds"/> seconds of the rate and starts full. As in Kafka, an operation is admitted while the bucket
/// is not in debt and may drive it into debt (one large topic is never refused for its size alone); while in debt,
/// strict requests (CreateTopics v6+, CreatePartitions v3+, DeleteTopics v5+) get THROTTLING_QUOTA_EXCEEDED per topic, and
/// the throttle time is how long the debt takes to repay.
/// </summary>
public sealed class ControllerMutationQuota
{
    /// <summary>Burst the bucket allows, in seconds of the rate (Kafka: quota.window.num × quota.window.size.seconds ≈ 11 s).</summary>
    public const double BurstSeconds = 10;

    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private readonly double _rate;
    private double _tokens;
    private long _lastRefill;

    /// <param name="partitionsPerSecond">The rate; zero or negative means unlimited.</param>
    public ControllerMutationQuota(double partitionsPerSecond, TimeProvider time)
    {
        _time = time;
        _rate = partitionsPerSecond;
        _tokens = Capacity;
        _lastRefill = time.GetTimestamp();
    }

    public bool IsUnlimited => _rate <= 0;

    private double Capacity => _rate * BurstSeconds;

    /// <summary>
    /// Strict mode: records <paramref name="partitions"/> mutations and returns 0 when the bucket is not in debt; otherwise
    /// records nothing and returns the throttle time in ms (the caller refuses with THROTTLING_QUOTA_EXCEEDED).
    /// </summary>
    public int TryAcquire(int partitions)
    {
        if (IsUnlimited)
        {
            return 0;
        }

        lock (_gate)
        {
            Refill();
            if (_tokens < 0)
            {
                return ThrottleMs();
            }

            _tokens -= Math.Max(partitions, 0);
            return 0;
        }
    }

    /// <summary>Permissive mode (older request versions): always records and returns the throttle time the client
    /// should observe (0 while not in debt).</summary>
    public int Record(int partitions)
    {
        if (IsUnlimited)
        {
            return 0;
        }

        lock (_gate)
        {
            Refill();
            _tokens -= Math.Max(partitions, 0);
            return _tokens < 0 ? ThrottleMs() : 0;
        }
    }

    /// <summary>The throttle time now (0 while not in debt), for a response's throttle_time_ms.</summary>
    public int CurrentThrottleMs()
    {
        if (IsUnlimited)
        {
            return 0;
        }

        lock (_gate)
        {
            Refill();
            return _tokens < 0 ? ThrottleMs() : 0;
        }
    }

    private int ThrottleMs() => (int)Math.Min(int.MaxValue, Math.Ceiling(-_tokens / _rate * 1000));

    private void Refill()
    {
        var now = _time.GetTimestamp();
        var elapsed = _time.GetElapsedTime(_lastRefill, now).TotalSeconds;
        _lastRefill = now;
        _tokens = Math.Min(Capacity, _tokens + elapsed * _rate);
    }
}
