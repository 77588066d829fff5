using System.ComponentModel;
using System.Diagnostics;

namespace Tributary.Integration.Tests.Harness;

/// <summary>Output of a finished external client process (kcat, python).</summary>
public sealed record ExternalResult(int ExitCode, string StandardOutput, string StandardError);

/// <summary>Runs Debian-packaged clients (kcat, /usr/bin/python3) with a bounded wait.</summary>
public static class ExternalProcess
{
    /// <summary>Runs <paramref name="fileName"/> to completion (killed after <paramref name="timeout"/>), logging its command line and output.</summary>
    public static async Task<ExternalResult> RunAsync(
        string fileName, IReadOnlyList<string> arguments, TestOutputSink log, TimeSpan timeout, string? standardInput = null)
    {
        var start = new ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // The test runner's LD_LIBRARY_PATH points at the NuGet librdkafka; Debian's kcat and python3-confluent-kafka
        // are built against Debian's librdkafka and must keep loading that one.
        start.Environment.Remove("LD_LIBRARY_PATH");
        log.WriteLine($"[run] {fileName} {string.Join(' ', arguments)}");

        using var process = new Process { StartInfo = start };
        try
        {
            process.Start();
        }
        catch (Win32Exception e)
        {
            throw new InvalidOperationException(
                $"Cannot run {fileName} ({e.Message}); install it: apt-get install -y kcat python3-kafka python3-confluent-kafka.", e);
        }

        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (standardInput is not null)
        {
            await process.StandardInput.WriteAsync(standardInput);
        }

        process.StandardInput.Close();

        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            log.WriteLine($"[run] {fileName} killed after {timeout}; stdout:\n{await stdout}\nstderr:\n{await stderr}");
            throw new TimeoutException($"{fileName} {string.Join(' ', arguments)} did not finish within {timeout}.");
        }

        var result = new ExternalResult(process.ExitCode, await stdout, await stderr);
        log.WriteLine($"[run] exit {result.ExitCode}; stdout:\n{Truncate(result.StandardOutput)}\nstderr:\n{Truncate(result.StandardError)}");
        return result;
    }

    private static string Truncate(string text) => text.Length <= 8000 ? text : text[..8000] + $"… ({text.Length} chars)";
}
