using System.Collections.Concurrent;

namespace Tributary.Broker.Replication;

/// <summary>
/// Lets a warning about a topic through at most once per interval (per topic), counting the ones it held back, so a
/// client retrying a refused produce in a tight loop does not flood the log but the user still sees why.
/// </summary>
public sealed class TopicWarningLimiter(TimeProvider time, TimeSpan interval)
{
    private readonly ConcurrentDictionary<string, Window> _windows = new(StringComparer.Ordinal);

    /// <summary>True when the warning about <paramref name="topic"/> should be logged now; <paramref name="suppressed"/> is
    /// how many were held back since the last one that was.</summary>
    public bool ShouldWarn(string topic, out int suppressed)
    {
        var now = time.GetUtcNow();
        var window = _windows.GetOrAdd(topic, static _ => new Window());
        lock (window)
        {
            if (window.LastWarnedAt is { } last && now - last < interval)
            {
                window.Suppressed++;
                suppressed = 0;
                return false;
            }

            suppressed = window.Suppressed;
            window.Suppressed = 0;
            window.LastWarnedAt = now;
            return true;
        }
    }

    /// <summary>Drops the state of a deleted topic.</summary>
    public void Forget(string topic) => _windows.TryRemove(topic, out _);

    private sealed class Window
    {
        public DateTimeOffset? LastWarnedAt;
        public int Suppressed;
    }
}
