using Xunit.Abstractions;

namespace Tributary.Operator.E2E.Harness;

/// <summary>
/// Forwards harness lines (node double, pod processes, helm, kubectl) to the xunit test currently attached and keeps the
/// most recent ones, so a failure can quote what the pods last said.
/// </summary>
public sealed class TestLog
{
    private const int RecentLineLimit = 600;
    private readonly Lock gate = new();
    private readonly Queue<string> recent = new();
    private readonly System.Diagnostics.Stopwatch clock = System.Diagnostics.Stopwatch.StartNew();
    private ITestOutputHelper? current;

    public void Attach(ITestOutputHelper? output)
    {
        lock (gate)
        {
            current = output;
        }
    }

    public void WriteLine(string line)
    {
        var stamped = $"[{clock.Elapsed.TotalSeconds,7:F1}s] {line}";
        lock (gate)
        {
            recent.Enqueue(stamped);
            if (recent.Count > RecentLineLimit)
            {
                recent.Dequeue();
            }

            try
            {
                current?.WriteLine(stamped);
            }
            catch (InvalidOperationException)
            {
                // xunit refuses output after its test finished; pods outlive tests in a shared fixture.
                current = null;
            }
        }
    }

    public string RecentLines(Func<string, bool>? filter = null)
    {
        lock (gate)
        {
            return string.Join(Environment.NewLine, filter is null ? recent : recent.Where(filter));
        }
    }
}
