using System.Runtime.InteropServices;

namespace Tributary.Operator.E2E.Harness;

/// <summary>kill(2), to stop pod processes the way a container runtime does (SIGTERM first).</summary>
public static partial class PosixSignals
{
    public const int SigKill = 9;
    public const int SigTerm = 15;

    public static void Send(int pid, int signal)
    {
        if (Kill(pid, signal) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            // ESRCH: already gone, which is what the caller wanted.
            if (errno != 3)
            {
                throw new InvalidOperationException($"kill({pid}, {signal}) failed with errno {errno}");
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
