using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Tributary.Integration.Tests.Harness;

/// <summary>How the broker reacted to bytes a raw TCP client sent it.</summary>
/// <param name="Closed">The broker closed (FIN) or reset the connection.</param>
/// <param name="How">"closed", "reset", or "still open" after the wait.</param>
/// <param name="BytesReceived">Bytes the broker wrote back before closing.</param>
/// <param name="Elapsed">Time from the last byte sent until the close (or the end of the wait).</param>
public sealed record ServerReaction(bool Closed, string How, int BytesReceived, TimeSpan Elapsed);

/// <summary>A plain TCP client that speaks no Kafka at all: sends raw bytes and watches whether the broker hangs up.</summary>
public static class RawConnection
{
    /// <summary>Connects, sends <paramref name="bytes"/>, optionally half-closes, then reads until the broker closes or <paramref name="within"/> passes.</summary>
    public static async Task<ServerReaction> SendAndObserveAsync(int port, ReadOnlyMemory<byte> bytes, bool halfCloseAfterSending, TimeSpan within)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
        var clock = Stopwatch.StartNew();
        try
        {
            await socket.SendAsync(bytes, SocketFlags.None);
            if (halfCloseAfterSending)
            {
                socket.Shutdown(SocketShutdown.Send);
            }
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted or SocketError.Shutdown)
        {
            return new ServerReaction(true, "reset", 0, clock.Elapsed); // hung up before we finished sending
        }

        clock.Restart();
        var received = 0;
        var buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(within);
        try
        {
            while (true)
            {
                var n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
                if (n == 0)
                {
                    return new ServerReaction(true, "closed", received, clock.Elapsed);
                }

                received += n;
            }
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted)
        {
            return new ServerReaction(true, "reset", received, clock.Elapsed);
        }
        catch (OperationCanceledException)
        {
            return new ServerReaction(false, "still open", received, clock.Elapsed);
        }
    }
}
