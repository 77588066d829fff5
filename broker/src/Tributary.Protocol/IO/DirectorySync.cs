using System.Runtime.InteropServices;

namespace Tributary.Protocol.IO;

/// <summary>
/// fsync of a directory, which makes file creations, renames and deletions in it durable on Linux. .NET cannot open a directory
/// as a file, so this calls libc directly; elsewhere it is a no-op (Windows commits metadata with the file).
/// It lives here, in the lowest project, because both storage (partition logs, checkpoints) and the Raft log (segments,
/// snapshots, quorum state) need it and neither depends on the other.
/// </summary>
public static partial class DirectorySync
{
    // O_RDONLY: opening a directory read-only is allowed and enough for fsync (O_DIRECTORY differs per architecture).
    private const int ReadOnlyDirectory = 0;

    /// <summary>fsyncs <paramref name="directory"/>; returns false if the platform offers no way to do so.</summary>
    public static bool TrySync(string directory)
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }

        int fd;
        try
        {
            fd = Open(directory, ReadOnlyDirectory);
        }
        catch (DllNotFoundException)
        {
            return false;
        }
        catch (EntryPointNotFoundException)
        {
            return false;
        }

        if (fd < 0)
        {
            throw new IOException($"Cannot open directory {directory} to fsync it (errno {Marshal.GetLastPInvokeError()}).");
        }

        try
        {
            if (Fsync(fd) != 0)
            {
                throw new IOException($"fsync of directory {directory} failed (errno {Marshal.GetLastPInvokeError()}).");
            }
        }
        finally
        {
            _ = Close(fd);
        }

        return true;
    }

    [LibraryImport("libc.so.6", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc.so.6", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc.so.6", EntryPoint = "close")]
    private static partial int Close(int fd);
}
