using System.Diagnostics;

namespace Tributary.Integration.Tests.Harness;

/// <summary>Bounded polling for state Kafka only promises eventually (metadata propagation).</summary>
public static class Eventually
{
    /// <summary>Reads <paramref name="read"/> every 100 ms until <paramref name="done"/> holds or the time is up; returns the last value.</summary>
    public static async Task<T> ValueAsync<T>(Func<T> read, Func<T, bool> done, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var value = read();
            if (done(value) || clock.Elapsed > timeout)
            {
                return value;
            }

            await Task.Delay(100);
        }
    }
}
