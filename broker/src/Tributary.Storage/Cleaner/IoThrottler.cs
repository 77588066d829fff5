namespace Tributary.Storage.Cleaner;

/// <summary>
/// Caps the cleaner's combined read and write rate (log.cleaner.io.max.bytes.per.second) like Kafka's Throttler: bytes are counted
/// over a short period and a caller that is ahead of the allowed rate sleeps the difference.
/// </summary>
internal sealed class IoThrottler(double maxBytesPerSecond, TimeProvider time, CancellationToken cancellation)
{
    private const long CheckPeriodMs = 300;

    private readonly Lock _lock = new();
    private long _periodStartMs = time.GetUtcNow().ToUnixTimeMilliseconds();
    private double _bytesInPeriod;

    public bool IsUnlimited => maxBytesPerSecond >= double.MaxValue / 2 || maxBytesPerSecond <= 0;

    /// <summary>Accounts for <paramref name="bytes"/> of I/O and sleeps if the rate over the current period is too high.</summary>
    public void Throttle(long bytes)
    {
        if (IsUnlimited)
        {
            return;
        }

        long sleepMs = 0;
        lock (_lock)
        {
            _bytesInPeriod += bytes;
            long nowMs = time.GetUtcNow().ToUnixTimeMilliseconds();
            long elapsedMs = nowMs - _periodStartMs;
            if (elapsedMs >= CheckPeriodMs)
            {
                double rate = _bytesInPeriod * 1000 / elapsedMs;
                if (rate > maxBytesPerSecond)
                {
                    sleepMs = (long)((_bytesInPeriod * 1000 / maxBytesPerSecond) - elapsedMs);
                }

                _periodStartMs = nowMs + Math.Max(0, sleepMs);
                _bytesInPeriod = 0;
            }
        }

        if (sleepMs > 0)
        {
            cancellation.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(sleepMs));
        }
    }
}
