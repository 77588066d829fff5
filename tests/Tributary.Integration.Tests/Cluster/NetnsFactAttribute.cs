using System.Diagnostics;

namespace Tributary.Integration.Tests.Cluster;

/// <summary>
/// A fact that needs Linux network namespaces (root and <c>ip netns</c>). xunit 2 has no run-time skip, so the probe
/// runs when the test is discovered: if creating a namespace fails, the test is skipped with the reason; everywhere
/// else it runs (and fails loudly if the namespaces then misbehave).
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class NetnsFactAttribute : FactAttribute
{
    public NetnsFactAttribute()
    {
        if (ProbeFailure() is { } reason)
        {
            Skip = $"needs network namespaces: {reason}";
        }
    }

    /// <summary>Creates and deletes a throwaway namespace; returns why that failed, or null.</summary>
    private static string? ProbeFailure()
    {
        if (!OperatingSystem.IsLinux())
        {
            return "not Linux";
        }

        var name = $"tn-probe-{Environment.ProcessId}";
        try
        {
            var added = Run("ip", "netns", "add", name);
            if (added.ExitCode != 0)
            {
                return $"`ip netns add` failed with {added.ExitCode}: {added.Error}";
            }

            Run("ip", "netns", "del", name);
            return null;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return $"cannot run `ip`: {e.Message}";
        }
    }

    private static (int ExitCode, string Error) Run(string fileName, params string[] arguments)
    {
        var start = new ProcessStartInfo(fileName) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{fileName} did not start.");
        var error = process.StandardError.ReadToEnd();
        process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(10_000))
        {
            process.Kill();
            return (-1, "timed out");
        }

        return (process.ExitCode, error.Trim());
    }
}
