using System.Diagnostics;
using System.Net;

namespace Tributary.Integration.Tests.Harness;

/// <summary>What every harness that runs real broker processes shares: how the process is started with its output
/// captured into the test log, and how it is killed.</summary>
internal static class BrokerLaunch
{
    /// <summary>The dotnet muxer running the tests (the SDK tells child processes), else <c>dotnet</c> from PATH.</summary>
    public static string DotnetHost()
    {
        var fromSdk = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        return !string.IsNullOrEmpty(fromSdk) && File.Exists(fromSdk) ? fromSdk : "dotnet";
    }

    /// <summary>
    /// Starts <paramref name="command"/> (program and arguments) in <paramref name="workingDirectory"/>, copying stdout and
    /// stderr into <paramref name="log"/> with <paramref name="prefix"/>. <paramref name="started"/> runs right after the
    /// process exists and before its output is read (to register the process for clean-up first).
    /// </summary>
    public static Process Start(IReadOnlyList<string> command, string workingDirectory, TestOutputSink log, string prefix, Action<Process> started)
    {
        var start = new ProcessStartInfo(command[0])
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory,
        };
        foreach (var argument in command.Skip(1))
        {
            start.ArgumentList.Add(argument);
        }

        // The broker is not a librdkafka user; keep the test runner's native-library path away from it.
        start.Environment.Remove("LD_LIBRARY_PATH");

        var launched = new Process { StartInfo = start, EnableRaisingEvents = true };
        launched.OutputDataReceived += (_, e) => { if (e.Data is not null) { log.WriteLine(prefix + e.Data); } };
        launched.ErrorDataReceived += (_, e) => { if (e.Data is not null) { log.WriteLine(prefix + "[err] " + e.Data); } };
        launched.Start();
        started(launched);
        launched.BeginOutputReadLine();
        launched.BeginErrorReadLine();
        return launched;
    }

    /// <summary>
    /// Polls <paramref name="readyz"/> every 100 ms until it answers 200, while <paramref name="clock"/> is below
    /// <paramref name="timeout"/>; throws with the broker's last output when the process exits first or time runs out.
    /// </summary>
    public static async Task WaitReadyAsync(Process process, HttpClient http, Uri readyz, Stopwatch clock, TimeSpan timeout,
        TestOutputSink log, string name)
    {
        var lastAnswer = "no answer yet";
        while (clock.Elapsed < timeout)
        {
            if (process.HasExited)
            {
                process.WaitForExit();
                throw new InvalidOperationException(
                    $"{name} exited with code {process.ExitCode} before becoming ready. Last output:{Environment.NewLine}{log.RecentLines()}");
            }

            try
            {
                using var response = await http.GetAsync(readyz);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }

                lastAnswer = $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
            }
            catch (HttpRequestException e)
            {
                lastAnswer = e.Message;
            }
            catch (TaskCanceledException)
            {
                lastAnswer = "request timed out";
            }

            await Task.Delay(100);
        }

        throw new TimeoutException(
            $"{name} not ready within {timeout} (last /readyz: {lastAnswer}). Last output:{Environment.NewLine}{log.RecentLines()}");
    }

    /// <summary>SIGKILLs the process if it still runs, waits for it (bounded) and disposes it.</summary>
    public static void KillAndDispose(Process process, TimeSpan exitTimeout)
    {
        try
        {
            if (!process.HasExited)
            {
                PosixSignals.Send(process.Id, PosixSignals.SigKill);
                process.WaitForExit(exitTimeout);
            }
        }
        catch (InvalidOperationException)
        {
            // The process object never got as far as a running process.
        }

        process.Dispose();
    }

    /// <summary>Kills a still-running process from a ProcessExit handler (the runner exits without disposing).</summary>
    public static void KillIfRunning(Process? process)
    {
        try
        {
            if (process is { HasExited: false } running)
            {
                PosixSignals.Send(running.Id, PosixSignals.SigKill);
            }
        }
        catch (InvalidOperationException)
        {
            // Already disposed.
        }
    }
}
