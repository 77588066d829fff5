using System.Runtime.InteropServices;

namespace Tributary.Integration.Tests.Harness;

/// <summary>Sends POSIX signals by PID; .NET's Process API only offers SIGKILL.</summary>
internal static partial class PosixSignals
{
    public const int SigKill = 9;
    public const int SigTerm = 15;

    /// <summary>Sends <paramref name="signal"/> to <paramref name="pid"/>; false if the process is already gone.</summary>
    public static bool Send(int pid, int signal) => Kill(pid, signal) == 0;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
