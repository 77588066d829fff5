using System.Diagnostics;

namespace Tributary.Operator.E2E.Harness;

/// <summary>Runs a command-line tool (kubectl, helm, the k8s scripts) to completion with a bound on its time.</summary>
public static class CommandLine
{
    public sealed record Result(int ExitCode, string Output, string Error)
    {
        public Result EnsureSuccess(string what) => ExitCode == 0
            ? this
            : throw new InvalidOperationException($"{what} failed with exit code {ExitCode}:\n{Output}\n{Error}");
    }

    public static async Task<Result> RunAsync(string program, IEnumerable<string> arguments, TestLog log,
        IReadOnlyDictionary<string, string>? environment = null, string? standardInput = null, TimeSpan? timeout = null)
    {
        var start = new ProcessStartInfo(program)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = standardInput is not null,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        log.WriteLine($"$ {program} {string.Join(' ', start.ArgumentList)}");
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {program}");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (standardInput is not null)
        {
            await process.StandardInput.WriteAsync(standardInput);
            process.StandardInput.Close();
        }

        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(3));
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', start.ArgumentList)} did not finish in time");
        }

        var result = new Result(process.ExitCode, await output, await error);
        if (result.ExitCode != 0)
        {
            log.WriteLine($"  exit {result.ExitCode}: {result.Error.Trim()}");
        }

        return result;
    }
}
