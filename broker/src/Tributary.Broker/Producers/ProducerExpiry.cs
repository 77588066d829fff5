using Microsoft.Extensions.Logging;
using Tributary.Storage;

namespace Tributary.Broker.Producers;

/// <summary>
/// Forgets producers that have been idle for producer.id.expiration.ms in every local partition, checked every
/// producer.id.expiration.check.interval.ms (Kafka's defaults: one day, ten minutes). Without it every producer id ever used
/// (each client restart takes a new one) would stay in memory and in every snapshot forever.
/// </summary>
public sealed partial class ProducerExpiry : IDisposable
{
    private readonly Func<IEnumerable<PartitionLog>> _logs;
    private readonly long _expirationMs;
    private readonly long _checkIntervalMs;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private ITimer? _timer;

    public ProducerExpiry(Func<IEnumerable<PartitionLog>> logs, long expirationMs, long checkIntervalMs, TimeProvider time, ILogger logger)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(expirationMs);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(checkIntervalMs);
        _logs = logs;
        _expirationMs = expirationMs;
        _checkIntervalMs = checkIntervalMs;
        _time = time;
        _logger = logger;
    }

    /// <summary>Starts the periodic check.</summary>
    public void Start() =>
        _timer ??= _time.CreateTimer(_ => RunOnce(), null, TimeSpan.FromMilliseconds(_checkIntervalMs), TimeSpan.FromMilliseconds(_checkIntervalMs));

    /// <summary>One pass over every local partition; returns how many producers were forgotten.</summary>
    public int RunOnce()
    {
        long nowMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
        int removed = 0;
        foreach (PartitionLog log in _logs())
        {
            try
            {
                removed += log.RemoveExpiredProducers(nowMs, _expirationMs);
            }
            catch (Exception e) when (e is ObjectDisposedException or IOException)
            {
                // Deleted or offline since the list was taken: nothing to expire there.
            }
        }

        if (removed > 0)
        {
            LogExpired(_logger, removed);
        }

        return removed;
    }

    public void Dispose() => _timer?.Dispose();

    [LoggerMessage(EventId = 530, EventName = "ProducersExpired", Level = LogLevel.Information,
        Message = "Forgot {Count} producers idle for longer than producer.id.expiration.ms")]
    private static partial void LogExpired(ILogger logger, int count);
}
