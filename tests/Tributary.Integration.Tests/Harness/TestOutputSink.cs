using Xunit.Abstractions;

namespace Tributary.Integration.Tests.Harness;

/// <summary>
/// Forwards diagnostic lines (broker stdout/stderr, client logs) to the xunit test currently attached and keeps the
/// most recent ones, so a failure message can quote the broker's last words.
/// </summary>
public sealed class TestOutputSink
{
    private const int RecentLineLimit = 400;

    private readonly Lock gate = new();
    private readonly Queue<string> recent = new();
    private ITestOutputHelper? current;

    public TestOutputSink(ITestOutputHelper? output = null) => current = output;

    /// <summary>Routes further lines to <paramref name="output"/> (null: keep them only).</summary>
    public void Attach(ITestOutputHelper? output)
    {
        lock (gate)
        {
            current = output;
        }
    }

    public void WriteLine(string line)
    {
        lock (gate)
        {
            recent.Enqueue(line);
            if (recent.Count > RecentLineLimit)
            {
                recent.Dequeue();
            }

            try
            {
                current?.WriteLine(line);
            }
            catch (InvalidOperationException)
            {
                // xunit rejects output once its test has finished; a broker outliving a test is normal for
                // class fixtures, and the line is still kept in the recent buffer.
                current = null;
            }
        }
    }

    /// <summary>The last lines written, oldest first.</summary>
    public string RecentLines()
    {
        lock (gate)
        {
            return string.Join(Environment.NewLine, recent);
        }
    }
}
