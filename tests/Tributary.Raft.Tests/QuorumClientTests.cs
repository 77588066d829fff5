using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Tributary.Raft.Transport;

namespace Tributary.Raft.Tests;

/// <summary>The client side of the quorum transport against real loopback sockets.</summary>
public sealed class QuorumClientTests
{
    [Fact]
    public async Task A_connect_that_hangs_on_one_voter_does_not_hold_up_connecting_to_another()
    {
        // Voter 1 never completes a handshake: a listener that accepts nothing, its accept queue already full, so the
        // kernel drops the next SYN and the connect hangs until the client's ConnectTimeout.
        using var stalled = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        stalled.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        stalled.Listen(0);
        var stalledPort = ((IPEndPoint)stalled.LocalEndPoint!).Port;
        var fillers = new List<Socket>();
        try
        {
            await FillAcceptQueueAsync(stalledPort, fillers);

            using var healthy = new TcpListener(IPAddress.Loopback, 0);
            healthy.Start();
            var healthyPort = ((IPEndPoint)healthy.LocalEndpoint).Port;
            var options = new RaftQuorumOptions
            {
                NodeId = 10,
                Voters = [new QuorumVoter(1, "127.0.0.1", stalledPort), new QuorumVoter(2, "127.0.0.1", healthyPort)],
                DataDirectory = Path.GetTempPath(),
                ConnectTimeout = TimeSpan.FromSeconds(60),
            };
            await using var client = new QuorumClient(options, NullLogger.Instance);
            using var stop = new CancellationTokenSource();

            // SendAsync runs synchronously up to the pending connect, so voter 1's connect is under way when it returns.
            var toStalled = client.SendAsync(1, id => new FetchCommittedRequest(id, 10, 0, 1, 1024, 0), stop.Token);
            var toHealthy = client.SendAsync(2, id => new FetchCommittedRequest(id, 10, 0, 1, 1024, 0), stop.Token);
            using var accepted = await healthy.AcceptSocketAsync().WaitAsync(TimeSpan.FromSeconds(20));

            Assert.False(toStalled.IsCompleted, "the connect to the stalled voter should still be pending");
            Assert.True(accepted.Connected);
            await stop.CancelAsync();
            await Assert.ThrowsAnyAsync<Exception>(() => toStalled);
            await Assert.ThrowsAnyAsync<Exception>(() => toHealthy);
        }
        finally
        {
            foreach (var filler in fillers)
            {
                filler.Dispose();
            }
        }
    }

    /// <summary>Connects until one connect does not complete at once: the listener's accept queue is then full.</summary>
    private static async Task FillAcceptQueueAsync(int port, List<Socket> fillers)
    {
        for (int i = 0; i < 16; i++)
        {
            var filler = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            fillers.Add(filler);
            using var quick = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
            try
            {
                await filler.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), quick.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }

        Assert.Fail("The listener kept accepting connections; cannot make a connect hang.");
    }
}
