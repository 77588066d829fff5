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

    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(10);

    /// <summary>Polls <paramref name="condition"/> until it returns true; throws <see cref="TimeoutException"/> naming
    /// <paramref name="what"/> after <paramref name="limit"/> (default <see cref="DefaultLimit"/>).</summary>
    public static async Task TrueAsync(Func<bool> condition, string what = "condition", TimeSpan? limit = null)
    {
        ArgumentNullException.ThrowIfNull(condition);
        await TrueAsync(() => Task.FromResult(condition()), what, limit).ConfigureAwait(false);
    }

    /// <summary>Asynchronous form of <see cref="TrueAsync(Func{bool}, string, TimeSpan?)"/>.</summary>
    public static async Task TrueAsync(Func<Task<bool>> condition, string what = "condition", TimeSpan? limit = null)
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

            await Task.Delay(PollInterval).ConfigureAwait(false);
        }
    }
}
