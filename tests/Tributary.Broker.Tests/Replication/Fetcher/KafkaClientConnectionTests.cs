using System.Net;
using System.Net.Sockets;
using Tributary.Broker.Network.Client;
using Tributary.Protocol;
using Tributary.Protocol.Messages;

namespace Tributary.Broker.Tests.Replication.Fetcher;

public sealed class KafkaClientConnectionTests
{
    [Fact]
    public async Task ApiVersions_round_trip_lists_fetch_v15_and_list_offsets_v7()
    {
        await using var leader = await LeaderBrokerForTests.StartAsync();
        await using var connection = await ConnectAsync(leader.Port);

        var response = await connection.SendAsync<ApiVersionsResponse>(
            new ApiVersionsRequest { ClientSoftwareName = "tributary", ClientSoftwareVersion = "test" }, 3, CancellationToken.None);

        Assert.Equal((short)ErrorCode.None, response.ErrorCode);
        Assert.Contains(response.ApiKeys, k => k.ApiKey == FetchRequest.ApiKey && k.MaxVersion >= 15);
        Assert.Contains(response.ApiKeys, k => k.ApiKey == ListOffsetsRequest.ApiKey && k.MaxVersion >= 7);
    }

    [Fact]
    public async Task Metadata_round_trip_describes_a_created_topic_with_its_id()
    {
        await using var leader = await LeaderBrokerForTests.StartAsync();
        var (topicId, _) = await leader.CreateTopicAsync("client-metadata");
        await using var connection = await ConnectAsync(leader.Port);

        var response = await connection.SendAsync<MetadataResponse>(new MetadataRequest
        {
            Topics = [new MetadataRequest.MetadataRequestTopic { Name = "client-metadata" }],
        }, 12, CancellationToken.None);

        var topic = Assert.Single(response.Topics);
        Assert.Equal(topicId, topic.TopicId);
        Assert.Equal(LeaderBrokerForTests.NodeId, Assert.Single(topic.Partitions).LeaderId);
        Assert.Equal(LeaderBrokerForTests.NodeId, Assert.Single(response.Brokers).NodeId);
    }

    [Fact]
    public async Task Produce_then_fetch_v15_by_topic_id_returns_the_produced_batch()
    {
        await using var leader = await LeaderBrokerForTests.StartAsync();
        var (topicId, _) = await leader.CreateTopicAsync("client-produce");

        var first = await leader.ProduceAsync("client-produce", 3);
        var second = await leader.ProduceAsync("client-produce", 2);
        var (batches, highWatermark) = await leader.ReadAllAsync(topicId);

        Assert.Equal((0L, 3L), (first, second));
        Assert.Equal(5, highWatermark);
        Assert.Equal(2, batches.Count);
    }

    [Fact]
    public async Task A_peer_that_closes_the_connection_fails_the_request_instead_of_hanging()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        await using var connection = new KafkaClientConnection(1024 * 1024, TimeSpan.FromSeconds(30));
        await connection.ConnectAsync("127.0.0.1", port, "test", CancellationToken.None);
        using (var accepted = await listener.AcceptSocketAsync())
        {
            accepted.Close();
        }

        var send = connection.SendAsync<ApiVersionsResponse>(new ApiVersionsRequest(), 3, CancellationToken.None);

        await Assert.ThrowsAsync<KafkaConnectionException>(() => send.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.False(connection.IsConnected);
    }

    [Fact]
    public async Task A_peer_that_never_answers_times_out_with_a_connection_error()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        await using var connection = new KafkaClientConnection(1024 * 1024, TimeSpan.FromMilliseconds(300));
        await connection.ConnectAsync("127.0.0.1", port, "test", CancellationToken.None);
        using var accepted = await listener.AcceptSocketAsync();

        var send = connection.SendAsync<ApiVersionsResponse>(new ApiVersionsRequest(), 3, CancellationToken.None);

        var error = await Assert.ThrowsAsync<KafkaConnectionException>(() => send.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Contains("no response", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_response_frame_larger_than_the_bound_is_refused_without_reading_it()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        await using var connection = new KafkaClientConnection(1024, TimeSpan.FromSeconds(30));
        await connection.ConnectAsync("127.0.0.1", port, "test", CancellationToken.None);
        using var accepted = await listener.AcceptSocketAsync();
        await accepted.SendAsync(new byte[] { 0x7f, 0xff, 0xff, 0xff }, SocketFlags.None);

        var send = connection.SendAsync<ApiVersionsResponse>(new ApiVersionsRequest(), 3, CancellationToken.None);

        var error = await Assert.ThrowsAsync<KafkaConnectionException>(() => send.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Contains("outside", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Connecting_to_a_closed_port_fails_with_a_connection_error()
    {
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        await using var connection = new KafkaClientConnection(1024, TimeSpan.FromSeconds(5));

        await Assert.ThrowsAsync<KafkaConnectionException>(() => connection.ConnectAsync("127.0.0.1", port, "test", CancellationToken.None));
    }

    private static async Task<KafkaClientConnection> ConnectAsync(int port)
    {
        var connection = new KafkaClientConnection(64 * 1024 * 1024, TimeSpan.FromSeconds(10));
        await connection.ConnectAsync("127.0.0.1", port, "client-tests", CancellationToken.None);
        return connection;
    }
}
