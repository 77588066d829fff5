using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Tributary.Integration.Tests.Fuzz;
using Tributary.Integration.Tests.Harness;
using Tributary.Protocol.Messages;
using Xunit.Abstractions;

namespace Tributary.Integration.Tests.Bounds;

/// <summary>
/// queued.max.request.bytes bounds the request bytes a broker holds: once they are spent, further frames are not read
/// (back-pressure through TCP) until memory is released; nothing is dropped.
/// </summary>
public sealed class RequestMemoryTests(ITestOutputHelper output)
{
    private const int MaxFrame = 1024 * 1024;

    [Fact]
    public async Task A_request_waits_while_other_connections_hold_queued_max_request_bytes_and_is_answered_once_they_release_it()
    {
        await using var broker = await BrokerProcess.StartAsync(output, new Dictionary<string, string>
        {
            ["socket.request.max.bytes"] = MaxFrame.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["queued.max.request.bytes"] = (2 * MaxFrame).ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        // Two slow senders: each promises a frame of the largest size and sends only part of it, holding its reservation.
        using var slow1 = await ConnectAsync(broker.KafkaPort);
        using var slow2 = await ConnectAsync(broker.KafkaPort);
        await SendPartialFrameAsync(slow1);
        await SendPartialFrameAsync(slow2);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (await Available(broker) != 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "The two partial frames never reserved all of queued.max.request.bytes.");
            await Task.Delay(100);
        }

        using var client = await ConnectAsync(broker.KafkaPort);
        await client.SendAsync(RequestFuzzer.Frame(new ApiVersionsRequest { ClientSoftwareName = "bounds", ClientSoftwareVersion = "1" }, 3));
        var early = ReceiveAsync(client);
        var answeredWhileFull = await Task.WhenAny(early, Task.Delay(TimeSpan.FromSeconds(1))) == early;
        slow1.Close(); // the broker drops the half-read frame and releases its bytes

        Assert.False(answeredWhileFull, "The broker read and answered a request while queued.max.request.bytes were spent.");
        var answer = await early.WaitAsync(TimeSpan.FromSeconds(15));
        Assert.True(answer > 0);
        Assert.True(broker.IsRunning);
    }

    private static async Task<double> Available(BrokerProcess broker) =>
        MetricsScrape.FindSample(await MetricsScrape.TextAsync(broker.HttpPort), "kafka_network_socketserver_memorypoolavailable",
            new Dictionary<string, string>()) ?? -1;

    private static async Task<Socket> ConnectAsync(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
        return socket;
    }

    private static async Task SendPartialFrameAsync(Socket socket)
    {
        var start = new byte[4 + 1024];
        BinaryPrimitives.WriteInt32BigEndian(start, MaxFrame);
        BinaryPrimitives.WriteInt16BigEndian(start.AsSpan(4), ApiVersionsRequest.ApiKey);
        await socket.SendAsync(start);
    }

    /// <summary>Size of the first response frame.</summary>
    private static async Task<int> ReceiveAsync(Socket socket)
    {
        var prefix = new byte[4];
        var got = 0;
        while (got < 4)
        {
            var n = await socket.ReceiveAsync(prefix.AsMemory(got));
            if (n == 0)
            {
                return -1;
            }

            got += n;
        }

        return BinaryPrimitives.ReadInt32BigEndian(prefix);
    }
}
