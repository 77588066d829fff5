using System.Diagnostics;

namespace Tributary.Tests.Shared;

/// <summary>
/// The one polling helper of the test suites: waits until a condition holds, bounded, and fails with what was awaited.
/// Prefer it to private wait loops so every test waits the same way and says the same thing when it gives up.
/// </summary>
public static class Eventually
{
    /// <summary>How long a condition may take by default: generous, because tests share two cores with brokers.</summary>
    public static readonly TimeSpan DefaultLimit = TimeSpan.FromSeconds(30);

    /// <summary>Pause between two checks of a condition (<see cref="TrueAsync(Func{bool}, string, TimeSpan?, TimeSpan?)"/>).</summary>
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromMilliseconds(10);

    /// <summary>Pause between two reads of <see cref="ValueAsync{T}(Func{Task{T}}, Func{T, bool}, TimeSpan?, TimeSpan?)"/>:
    /// longer, because such reads usually cost something (admin requests, HTTP scrapes, reading a topic).</summary>
    public static readonly TimeSpan DefaultReadInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>Polls <paramref name="condition"/> until it returns true; throws <see cref="TimeoutException"/> naming
    /// <paramref name="what"/> after <paramref name="limit"/> (default <see cref="DefaultLimit"/>).</summary>
    public static async Task TrueAsync(Func<bool> condition, string what = "condition", TimeSpan? limit = null, TimeSpan? interval = null)
    {
        ArgumentNullException.ThrowIfNull(condition);
        await TrueAsync(() => Task.FromResult(condition()), what, limit, interval).ConfigureAwait(false);
    }

    /// <summary>Asynchronous form of <see cref="TrueAsync(Func{bool}, string, TimeSpan?, TimeSpan?)"/>.</summary>
    public static async Task TrueAsync(Func<Task<bool>> condition, string what = "condition", TimeSpan? limit = null, TimeSpan? interval = null)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var budget = limit ?? DefaultLimit;
        var clock = Stopwatch.StartNew();
        while (!await condition().ConfigureAwait(false))
        {
            if (clock.Elapsed > budget)
            {
                throw new TimeoutException($"{what} not met within {budget.TotalSeconds:0.#} s");
            }

            await Task.Delay(interval ?? DefaultInterval).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Reads <paramref name="read"/> until <paramref name="done"/> holds for the value or <paramref name="limit"/> passes, and
    /// returns the last value read either way: the test asserts on it, so a failure shows what was last seen.
    /// <paramref name="interval"/> defaults to <see cref="DefaultReadInterval"/>.
    /// </summary>
    public static async Task<T> ValueAsync<T>(Func<Task<T>> read, Func<T, bool> done, TimeSpan? limit = null, TimeSpan? interval = null)
    {
        ArgumentNullException.ThrowIfNull(read);
        ArgumentNullException.ThrowIfNull(done);
        var budget = limit ?? DefaultLimit;
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var value = await read().ConfigureAwait(false);
            if (done(value) || clock.Elapsed > budget)
            {
                return value;
            }

            await Task.Delay(interval ?? DefaultReadInterval).ConfigureAwait(false);
        }
    }

    /// <summary>Synchronous-read form of <see cref="ValueAsync{T}(Func{Task{T}}, Func{T, bool}, TimeSpan?, TimeSpan?)"/>.</summary>
    public static Task<T> ValueAsync<T>(Func<T> read, Func<T, bool> done, TimeSpan? limit = null, TimeSpan? interval = null)
    {
        ArgumentNullException.ThrowIfNull(read);
        return ValueAsync(() => Task.FromResult(read()), done, limit, interval);
    }
}
