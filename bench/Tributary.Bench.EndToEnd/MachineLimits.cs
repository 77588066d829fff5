using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Win32.SafeHandles;

namespace Tributary.Bench.EndToEnd;

/// <summary>What this machine can do at all, printed beside the broker's figures: loopback TCP copy, page-cache writes, sequential write + fsync.</summary>
internal static class MachineLimits
{
    /// <summary>One TCP connection over 127.0.0.1, one sender and one receiver thread, 256 KiB writes.</summary>
    public static double LoopbackMiBPerSecond(long bytes)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var client = new TcpClient();
        client.Connect((IPEndPoint)listener.LocalEndpoint);
        using var server = listener.AcceptTcpClient();
        var receiver = Task.Run(() =>
        {
            var buffer = new byte[256 * 1024];
            long total = 0;
            using var stream = server.GetStream();
            while (total < bytes)
            {
                var n = stream.Read(buffer);
                if (n == 0)
                {
                    break;
                }

                total += n;
            }
        });
        var chunk = new byte[256 * 1024];
        var clock = Stopwatch.StartNew();
        using (var stream = client.GetStream())
        {
            for (long sent = 0; sent < bytes; sent += chunk.Length)
            {
                stream.Write(chunk);
            }

            receiver.Wait();
        }

        return bytes / clock.Elapsed.TotalSeconds / (1024 * 1024);
    }

    /// <summary>Sequential 1 MiB writes of <paramref name="bytes"/> then one fsync, in <paramref name="directory"/>.</summary>
    public static double SequentialWriteMiBPerSecond(string directory, long bytes)
    {
        var path = Path.Combine(directory, "bench-seqwrite-" + Guid.NewGuid().ToString("N"));
        var chunk = new byte[1024 * 1024];
        Random.Shared.NextBytes(chunk);
        try
        {
            var clock = Stopwatch.StartNew();
            using (SafeFileHandle file = File.OpenHandle(path, FileMode.CreateNew, FileAccess.Write))
            {
                for (long written = 0; written < bytes; written += chunk.Length)
                {
                    RandomAccess.Write(file, chunk, written);
                }

                RandomAccess.FlushToDisk(file);
            }

            return bytes / clock.Elapsed.TotalSeconds / (1024 * 1024);
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>
    /// Sequential 1 MiB writes of <paramref name="bytes"/> into the page cache without fsync, first into a new file (the kernel takes
    /// fresh pages), then again over the same range (pages already cached): what appending to a log costs before any disk I/O.
    /// On a virtual machine whose free memory is handed back to the host, the first figure can be an order of magnitude below the
    /// second: every new page-cache page is a first touch of guest memory.
    /// </summary>
    public static (double NewPages, double CachedPages) PageCacheWriteMiBPerSecond(string directory, long bytes)
    {
        var path = Path.Combine(directory, "bench-pagecache-" + Guid.NewGuid().ToString("N"));
        var chunk = new byte[1024 * 1024];
        Random.Shared.NextBytes(chunk);
        try
        {
            using SafeFileHandle file = File.OpenHandle(path, FileMode.CreateNew, FileAccess.Write);
            double Pass()
            {
                var clock = Stopwatch.StartNew();
                for (long written = 0; written < bytes; written += chunk.Length)
                {
                    RandomAccess.Write(file, chunk, written);
                }

                return bytes / clock.Elapsed.TotalSeconds / (1024 * 1024);
            }

            var fresh = Pass();
            return (fresh, Pass());
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>4 KiB appends each followed by fsync, as flush.messages=1 would do: fsyncs per second.</summary>
    public static double FsyncsPerSecond(string directory, int count)
    {
        var path = Path.Combine(directory, "bench-fsync-" + Guid.NewGuid().ToString("N"));
        var chunk = new byte[4096];
        try
        {
            using SafeFileHandle file = File.OpenHandle(path, FileMode.CreateNew, FileAccess.Write);
            var clock = Stopwatch.StartNew();
            for (var i = 0; i < count; i++)
            {
                RandomAccess.Write(file, chunk, (long)i * chunk.Length);
                RandomAccess.FlushToDisk(file);
            }

            return count / clock.Elapsed.TotalSeconds;
        }
        finally
        {
            File.Delete(path);
        }
    }
}
