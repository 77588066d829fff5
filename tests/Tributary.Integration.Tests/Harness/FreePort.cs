using System.Net;
using System.Net.Sockets;

namespace Tributary.Integration.Tests.Harness;

/// <summary>Finds loopback TCP ports nobody is listening on.</summary>
public static class FreePort
{
    /// <summary>Binds port 0 on 127.0.0.1, reads the port the kernel chose and releases it.</summary>
    /// <remarks>Racy by nature (another process may grab it before the broker binds), but the window is short
    /// and the kernel hands out ephemeral ports round-robin, so an immediate reuse is unlikely.</remarks>
    public static int Next()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)listener.LocalEndPoint!).Port;
    }
}
