using System.Text.Json;

namespace Tributary.Integration.Tests.Harness;

/// <summary>
/// Runs one of our client scripts (scripts/*.py) with Debian's Python, where python3-kafka and python3-confluent-kafka
/// are installed (never a PATH lookup: the first python3 on PATH may be another interpreter). Each script checks what it
/// reads itself, exits non-zero with a message on a mismatch, and prints one final JSON line of counts.
/// </summary>
public static class PythonScript
{
    private const string Python = "/usr/bin/python3";

    /// <summary>Runs the script, asserts it exited 0 and returns its final JSON line.</summary>
    public static async Task<JsonElement> RunAsync(string script, IReadOnlyList<string> arguments, TestOutputSink log, TimeSpan timeout)
    {
        var result = await ExternalProcess.RunAsync(
            Python,
            [Path.Combine(RepositoryLayout.ClientScriptsDirectory, script), .. arguments],
            log,
            timeout);

        Assert.True(result.ExitCode == 0, $"{script} exited with {result.ExitCode}: {result.StandardError.Trim()}");
        var lastLine = result.StandardOutput.TrimEnd().Split('\n')[^1];
        using var summary = JsonDocument.Parse(lastLine);
        return summary.RootElement.Clone();
    }
}
