using System.Text.Json;
using Tributary.Integration.Tests.Harness;

namespace Tributary.Integration.Tests.KafkaJs;

/// <summary>
/// Runs our kafkajs scripts (tests/clients/kafkajs, kafkajs 2.2.4 unmodified from npm, installed by <c>npm ci</c> in
/// <c>make kafkajs-deps</c>) with the machine's node and returns the JSON line each script prints last.
/// </summary>
public static class KafkaJsScript
{
    /// <summary>tests/clients/kafkajs in the repository.</summary>
    public static string Directory => Path.Combine(RepositoryLayout.Root, "tests", "clients", "kafkajs");

    /// <summary>Runs <c>node &lt;script&gt; &lt;arguments&gt;</c>, asserts it exited 0 and returns its final JSON line.</summary>
    public static async Task<JsonElement> RunAsync(string script, IReadOnlyList<string> arguments, TestOutputSink log, TimeSpan timeout)
    {
        Assert.True(System.IO.Directory.Exists(Path.Combine(Directory, "node_modules", "kafkajs")),
            $"kafkajs is not installed in {Directory}; run `make kafkajs-deps` (npm ci).");
        var result = await ExternalProcess.RunAsync("node", [Path.Combine(Directory, script), .. arguments], log, timeout);

        var lastLine = result.StandardOutput.TrimEnd().Split('\n')[^1];
        Assert.True(result.ExitCode == 0, $"{script} {string.Join(' ', arguments)} exited with {result.ExitCode}: {lastLine} {result.StandardError.Trim()}");
        using var summary = JsonDocument.Parse(lastLine);
        return summary.RootElement.Clone();
    }

    /// <summary>A JSON array of strings as a list.</summary>
    public static List<string> Strings(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetString()!)];

    /// <summary>A JSON array of arrays of strings (one per partition) as lists.</summary>
    public static List<List<string>> PerPartition(JsonElement array) => [.. array.EnumerateArray().Select(Strings)];
}
