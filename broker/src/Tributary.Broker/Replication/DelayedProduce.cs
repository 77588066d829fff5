using Tributary.Protocol;

namespace Tributary.Broker.Replication;

/// <summary>
/// An acks=all append waiting for the high watermark to pass it (Kafka's DelayedProduce in the produce purgatory). The
/// partition completes it on the thread that advances the high watermark, or with NOT_LEADER_OR_FOLLOWER when leadership
/// moves or the replica goes away; its own timer completes it with REQUEST_TIMED_OUT at the request's timeout. Nothing polls.
/// </summary>
internal sealed class DelayedProduce
{
    private readonly TaskCompletionSource<ErrorCode> _result = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _sync = new();
    private ITimer? _timer;
    private CancellationTokenRegistration _cancellation;
    private bool _done;

    public DelayedProduce(long requiredOffset, long appendedTimestamp)
    {
        RequiredOffset = requiredOffset;
        AppendedTimestamp = appendedTimestamp;
    }

    /// <summary>One past the batch's last offset: the high watermark that commits it.</summary>
    public long RequiredOffset { get; }

    /// <summary><see cref="TimeProvider.GetTimestamp"/> when the append finished (for the replicate stage's histogram).</summary>
    public long AppendedTimestamp { get; }

    public Task<ErrorCode> Task => _result.Task;

    /// <summary><see cref="TimeProvider.GetTimestamp"/> when it completed (0 before), for the respond stage's histogram.</summary>
    public long CompletedTimestamp { get; private set; }

    /// <summary>Starts the timeout and follows <paramref name="cancellation"/> (the connection closing, the broker stopping).</summary>
    public void Arm(TimeProvider time, TimeSpan timeout, CancellationToken cancellation)
    {
        var timer = time.CreateTimer(static state => ((DelayedProduce)state!).TryComplete(ErrorCode.RequestTimedOut), this, timeout,
            Timeout.InfiniteTimeSpan);
        var registration = cancellation.CanBeCanceled
            ? cancellation.UnsafeRegister(static (state, token) => ((DelayedProduce)state!).Cancel(token), this)
            : default;
        lock (_sync)
        {
            if (!_done)
            {
                _timer = timer;
                _cancellation = registration;
                return;
            }
        }

        // Completed before it was armed (the high watermark passed it at once).
        timer.Dispose();
        registration.Dispose();
    }

    /// <summary>Completes the wait with <paramref name="error"/> at <paramref name="timestamp"/>; false when it had already completed.</summary>
    public bool TryComplete(ErrorCode error, long timestamp = 0)
    {
        if (!Finish())
        {
            return false;
        }

        CompletedTimestamp = timestamp;

        _result.TrySetResult(error);
        return true;
    }

    private void Cancel(CancellationToken token)
    {
        if (Finish())
        {
            _result.TrySetCanceled(token);
        }
    }

    private bool Finish()
    {
        ITimer? timer;
        CancellationTokenRegistration registration;
        lock (_sync)
        {
            if (_done)
            {
                return false;
            }

            _done = true;
            timer = _timer;
            registration = _cancellation;
            _timer = null;
            _cancellation = default;
        }

        timer?.Dispose();
        registration.Dispose();
        return true;
    }
}
