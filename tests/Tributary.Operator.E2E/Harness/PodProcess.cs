using System.Diagnostics;

namespace Tributary.Operator.E2E.Harness;

/// <summary>A bind mount that makes a pod volume appear at the container's mount path.</summary>
public sealed record PodMount(string Source, string Target);

/// <summary>
/// One container of a pod run as a local process in a private mount namespace (<c>unshare --mount</c>), where each
/// volume is bind-mounted at its mount path, so the process sees /etc/tributary/…, /var/lib/tributary/… exactly as in a
/// container while nothing changes on the host but empty mount-point directories (removed again by the double).
/// </summary>
public sealed class PodProcess
{
    // Runs inside the new mount namespace: bind each source onto its target, cd, then become the container's program.
    private const string MountScript = """
        set -e
        workdir=$1; shift
        while [ "$1" != "--" ]; do
          src=$1; dst=$2; shift 2
          if [ -d "$src" ]; then mkdir -p "$dst" 2>/dev/null || [ -d "$dst" ]
          elif [ -f "$src" ]; then mkdir -p "$(dirname "$dst")" 2>/dev/null; [ -e "$dst" ] || : > "$dst"
          else echo "volume source $src is missing" >&2; exit 66; fi
          mount --bind "$src" "$dst"
        done
        shift
        mkdir -p "$workdir"; cd "$workdir"
        exec "$@"
        """;

    private readonly Process process;
    private readonly StreamWriter logFile;

    private PodProcess(Process process, StreamWriter logFile)
    {
        this.process = process;
        this.logFile = logFile;
    }

    public int Id => process.Id;

    public bool HasExited => process.HasExited;

    public DateTime StartedAt { get; } = DateTime.UtcNow;

    public static PodProcess Start(IReadOnlyList<string> command, IReadOnlyDictionary<string, string> environment,
        IReadOnlyList<PodMount> mounts, string workingDirectory, string logPath)
    {
        var start = new ProcessStartInfo("unshare")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            WorkingDirectory = "/",
        };
        foreach (var argument in (string[])["--mount", "--propagation", "private", "--", "/bin/sh", "-c", MountScript, "sh", workingDirectory])
        {
            start.ArgumentList.Add(argument);
        }

        // Shorter mount paths first, so a volume mounted inside another one lands on top of it.
        foreach (var mount in mounts.OrderBy(m => m.Target.Length))
        {
            start.ArgumentList.Add(mount.Source);
            start.ArgumentList.Add(mount.Target);
        }

        start.ArgumentList.Add("--");
        foreach (var argument in command)
        {
            start.ArgumentList.Add(argument);
        }

        // A container's environment is what its spec says plus what the runtime adds, not the test runner's.
        start.Environment.Clear();
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(logPath)!);
        var logFile = new StreamWriter(new FileStream(logPath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => Append(logFile, e.Data, "");
        process.ErrorDataReceived += (_, e) => Append(logFile, e.Data, "[err] ");
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new PodProcess(process, logFile);
    }

    public async Task<int> WaitForExitAsync(CancellationToken cancellationToken)
    {
        await process.WaitForExitAsync(cancellationToken);
        var code = process.ExitCode;
        lock (logFile)
        {
            logFile.WriteLine($"--- exited with code {code}");
            logFile.Flush();
        }

        return code;
    }

    /// <summary>SIGTERM, then SIGKILL when it has not exited after <paramref name="grace"/>: how a runtime stops a container.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        if (process.HasExited)
        {
            return;
        }

        PosixSignals.Send(process.Id, PosixSignals.SigTerm);
        using var timeout = new CancellationTokenSource(grace);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            PosixSignals.Send(process.Id, PosixSignals.SigKill);
            await process.WaitForExitAsync();
        }
    }

    public void Signal(int signal)
    {
        if (!process.HasExited)
        {
            PosixSignals.Send(process.Id, signal);
        }
    }

    private static void Append(StreamWriter log, string? line, string prefix)
    {
        if (line is null)
        {
            return;
        }

        lock (log)
        {
            log.WriteLine(prefix + line);
        }
    }
}
