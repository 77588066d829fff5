using System.Diagnostics;

namespace Tributary.Operator.E2E.Harness;

/// <summary>Bounded, condition-based waiting: poll until the condition holds, fail with what was last seen.</summary>
public static class Wait
{
    public static async Task<TimeSpan> UntilAsync(string what, Func<Task<bool>> condition, TimeSpan timeout, Func<Task<string>>? describe = null)
    {
        var clock = Stopwatch.StartNew();
        Exception? last = null;
        while (clock.Elapsed < timeout)
        {
            try
            {
                if (await condition())
                {
                    return clock.Elapsed;
                }

                last = null;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                last = e;
            }

            await Task.Delay(250);
        }

        var state = describe is null ? "" : "\n" + await describe();
        throw new TimeoutException($"{what}: not reached within {timeout.TotalSeconds:F0} s{(last is null ? "" : $" (last error: {last.Message})")}{state}");
    }
}
