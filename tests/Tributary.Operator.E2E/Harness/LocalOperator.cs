using System.Diagnostics;

namespace Tributary.Operator.E2E.Harness;

/// <summary>
/// An operator replica run by the test as a local process (out of cluster, with the admin kubeconfig), next to the
/// chart's replica that the node double runs as a pod. Two replicas cannot both be pods here: the operator binds
/// 0.0.0.0:&lt;http-port&gt; and the double's pods share the host network, where only one process can hold that port.
/// </summary>
public sealed class LocalOperator : IAsyncDisposable
{
    private readonly Process process;
    private readonly StreamWriter logFile;

    private LocalOperator(Process process, StreamWriter logFile, string identity, int httpPort, string logPath)
    {
        this.process = process;
        this.logFile = logFile;
        Identity = identity;
        HttpPort = httpPort;
        LogPath = logPath;
    }

    public string Identity { get; }

    public int HttpPort { get; }

    public string LogPath { get; }

    public bool HasExited => process.HasExited;

    public static LocalOperator Start(string kubeconfig, string leaseNamespace, string identity, string logPath)
    {
        var port = FreePorts.FindBase([0]);
        var start = new ProcessStartInfo(RepositoryLayout.DotnetHost)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in (string[])[RepositoryLayout.OperatorDll, "--kubeconfig", kubeconfig, "--lease-namespace", leaseNamespace,
                     "--identity", identity, "--http-port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--log-level", "Debug"])
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment.Remove("LD_LIBRARY_PATH");
        var log = new StreamWriter(new FileStream(logPath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (log) { log.WriteLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (log) { log.WriteLine("[err] " + e.Data); } } };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new LocalOperator(process, log, identity, port, logPath);
    }

    public void Kill()
    {
        if (!process.HasExited)
        {
            PosixSignals.Send(process.Id, PosixSignals.SigKill);
            process.WaitForExit();
        }
    }

    public string LogTail(int lines = 40)
    {
        using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var all = new StreamReader(stream).ReadToEnd().Split('\n');
        return string.Join('\n', all.Skip(Math.Max(0, all.Length - lines)));
    }

    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            PosixSignals.Send(process.Id, PosixSignals.SigTerm);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                Kill();
            }
        }

        process.Dispose();
        await logFile.DisposeAsync();
    }
}
