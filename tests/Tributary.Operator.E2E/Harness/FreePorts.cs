using System.Net;
using System.Net.Sockets;

namespace Tributary.Operator.E2E.Harness;

/// <summary>Finds loopback ports nobody listens on.</summary>
public static class FreePorts
{
    /// <summary>A base port B such that every B + offset is free on 127.0.0.1 right now.</summary>
    public static int FindBase(IReadOnlyList<int> offsets)
    {
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var candidate = Random.Shared.Next(20000, 30000);
            if (offsets.All(o => IsFree(candidate + o)))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException("no free loopback port range found");
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
