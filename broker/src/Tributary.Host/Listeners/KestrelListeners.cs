using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Tributary.Broker.Config;

namespace Tributary.Host.Listeners;

/// <summary>Turns a configured <c>host:port</c> into Kestrel endpoints with Kafka's meaning of the host part.</summary>
internal static class KestrelListeners
{
    /// <summary>Binds <paramref name="listener"/>; every created endpoint is configured by <paramref name="configure"/> and added to <paramref name="bound"/>.</summary>
    public static void Bind(KestrelServerOptions options, ListenerEndpoint listener, Action<ListenOptions> configure, ICollection<ListenOptions> bound)
    {
        void Configure(ListenOptions listenOptions)
        {
            configure(listenOptions);
            bound.Add(listenOptions);
        }

        var host = listener.Host;
        if (host.Length == 0)
        {
            // Kafka binds an empty host to every interface, IPv4 and IPv6 alike; ListenAnyIP is dual-mode with an IPv4 fallback.
            options.ListenAnyIP(listener.Port, Configure);
        }
        else if (IPAddress.TryParse(host, out var address))
        {
            options.Listen(address, listener.Port, Configure);
        }
        else if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase) && listener.Port != 0)
        {
            options.ListenLocalhost(listener.Port, Configure);
        }
        else
        {
            foreach (var resolved in Resolve(listener))
            {
                options.Listen(resolved, listener.Port, Configure);
            }
        }
    }

    private static IEnumerable<IPAddress> Resolve(ListenerEndpoint listener)
    {
        IPAddress[] addresses;
        try
        {
            addresses = Dns.GetHostAddresses(listener.Host);
        }
        catch (SocketException e)
        {
            throw new ConfigException($"Cannot resolve host '{listener.Host}' of listener {listener}: {e.Message}");
        }

        var usable = addresses
            .Where(a => a.AddressFamily is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6)
            .Distinct()
            .ToArray();
        if (usable.Length == 0)
        {
            throw new ConfigException($"Host '{listener.Host}' of listener {listener} resolves to no IPv4 or IPv6 address.");
        }

        // With port 0 each address would get a different ephemeral port; one address keeps "the" port well defined.
        return listener.Port == 0 ? usable.Take(1) : usable;
    }
}
