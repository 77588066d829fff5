using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Tributary.Protocol;
using Tributary.Raft.Transport;
using Wire = Tributary.Raft.Messages;

namespace Tributary.Raft.Tests;

/// <summary>A voter's quorum listener on a free loopback port, spoken to over raw sockets in Kafka framing.</summary>
public sealed class QuorumListenerTests : IAsyncLifetime
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(20);
    private QuorumTransport _transport = null!;
    private int _port;

    public Task InitializeAsync()
    {
        var options = new RaftQuorumOptions
        {
            NodeId = 1,
            Voters = [new QuorumVoter(1, "127.0.0.1", 0), new QuorumVoter(2, "127.0.0.1", 1)],
            DataDirectory = Path.GetTempPath(),
            Listener = new IPEndPoint(IPAddress.Loopback, 0),
        };
        _transport = new QuorumTransport(options, NullLogger.Instance);
        // Raft's part, reduced to the vote rule's outcome: grant every vote in the candidate's epoch.
        _transport.Start(
            message =>
            {
                if (message is VoteRequest vote)
                {
                    _transport.Send(new VoteResponse(1, vote.From, vote.Term, Granted: true));
                }
            },
            (request, _) => Task.FromResult<ClientFrame>(new ControllerCallResponse(request.CorrelationId, ControllerCallStatus.NotController, 2, [])));
        _port = ((IPEndPoint)_transport.LocalEndPoint!).Port;
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _transport.DisposeAsync();

    [Fact]
    public async Task A_vote_request_is_answered_with_the_voters_decision()
    {
        using var client = await ConnectAsync();

        var response = await CallAsync(client, QuorumWire.ToRequest(new VoteRequest(2, 1, 5, 10, 4)), correlationId: 11);

        var vote = Assert.IsType<Wire.VoteResponse>(response);
        var partition = Assert.Single(Assert.Single(vote.Topics).Partitions);
        Assert.True(partition.VoteGranted);
        Assert.Equal(5, partition.LeaderEpoch);
    }

    [Fact]
    public async Task ApiVersions_is_answered_with_the_quorum_apis()
    {
        using var client = await ConnectAsync();
        var request = new Tributary.Protocol.Messages.ApiVersionsRequest { ClientSoftwareName = "test", ClientSoftwareVersion = "1" };
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        var writer = new KafkaWriter(buffer);
        writer.WriteInt32(0);
        new RequestHeader(18, 3, 7, "test").Write(writer, flexible: true);
        request.Write(writer, 3);
        byte[] frame = buffer.WrittenSpan.ToArray();
        BinaryPrimitives.WriteInt32BigEndian(frame, frame.Length - 4);
        await client.SendAsync(frame);

        byte[] answer = await ReadFrameAsync(client);
        var reader = new KafkaReader(answer);
        Assert.Equal(7, ResponseHeader.Read(ref reader, flexible: false).CorrelationId);
        var response = Tributary.Protocol.Messages.ApiVersionsResponse.Read(ref reader, 3);
        Assert.Equal(0, response.ErrorCode);
        Assert.Contains(response.ApiKeys, k => k.ApiKey == Wire.VoteRequest.ApiKey);
        Assert.Contains(response.ApiKeys, k => k.ApiKey == Wire.ControllerCallRequest.ApiKey);
    }

    [Fact]
    public async Task A_garbage_frame_closes_only_its_own_connection()
    {
        using var healthy = await ConnectAsync();
        using var garbage = await ConnectAsync();

        await garbage.SendAsync(new byte[] { 0, 0, 0, 12, 0x7f, 0x7f, 0, 0, 0, 0, 1, 0, 0xff, 0xff, 0xff, 0xff });

        Assert.True(await ClosedByPeerAsync(garbage), "the listener should close the connection that sent garbage");
        var response = await CallAsync(healthy, QuorumWire.ToRequest(new VoteRequest(2, 1, 6, 10, 4)), correlationId: 12);
        Assert.True(Assert.Single(Assert.Single(Assert.IsType<Wire.VoteResponse>(response).Topics).Partitions).VoteGranted);
    }

    [Fact]
    public async Task An_oversized_frame_is_refused_before_its_body_is_read()
    {
        using var client = await ConnectAsync();

        await client.SendAsync(new byte[] { 0x7f, 0xff, 0xff, 0xff, 0, 52, 0, 0 });

        Assert.True(await ClosedByPeerAsync(client), "the listener should close a connection announcing a 2 GiB frame");
    }

    [Fact]
    public async Task A_vote_from_a_node_that_is_not_a_voter_closes_the_connection()
    {
        using var client = await ConnectAsync();
        byte[] frame = QuorumWire.EncodeRequestFrame(QuorumWire.ToRequest(new VoteRequest(9, 1, 5, 10, 4)), 1, "test");

        await client.SendAsync(frame);

        Assert.True(await ClosedByPeerAsync(client));
    }

    [Fact]
    public async Task A_controller_call_is_answered_by_the_installed_handler()
    {
        using var client = await ConnectAsync();

        var response = await CallAsync(client, QuorumWire.ToRequest(new ControllerCallRequest(0, 3, [1, 2])), correlationId: 13);

        var call = Assert.IsType<Wire.ControllerCallResponse>(response);
        Assert.Equal((short)ErrorCode.NotController, call.ErrorCode);
        Assert.Equal(2, call.LeaderId);
    }

    private async Task<Socket> ConnectAsync()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, _port)).WaitAsync(Limit);
        return socket;
    }

    private static async Task<IResponseMessage> CallAsync(Socket socket, IRequestMessage request, int correlationId)
    {
        await socket.SendAsync(QuorumWire.EncodeRequestFrame(request, correlationId, "test"));
        byte[] frame = await ReadFrameAsync(socket);
        var (received, body) = QuorumWire.DecodeResponseFrame(frame, request.ApiKeyValue);
        Assert.Equal(correlationId, received);
        return body;
    }

    private static async Task<byte[]> ReadFrameAsync(Socket socket)
    {
        using var stream = new NetworkStream(socket, ownsSocket: false);
        var size = new byte[4];
        await stream.ReadExactlyAsync(size).AsTask().WaitAsync(Limit);
        var frame = new byte[BinaryPrimitives.ReadInt32BigEndian(size)];
        await stream.ReadExactlyAsync(frame).AsTask().WaitAsync(Limit);
        return frame;
    }

    /// <summary>True when the peer closes the connection (a read returns end of stream or a reset) within the limit.</summary>
    private static async Task<bool> ClosedByPeerAsync(Socket socket)
    {
        try
        {
            var buffer = new byte[16];
            int read = await socket.ReceiveAsync(buffer, SocketFlags.None).WaitAsync(Limit);
            return read == 0;
        }
        catch (SocketException)
        {
            return true;
        }
    }
}
