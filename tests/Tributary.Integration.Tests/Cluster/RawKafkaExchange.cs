using System.Buffers;
using System.Buffers.Binary;
using System.Net.Sockets;
using Tributary.Protocol;
using Tributary.Protocol.Messages;

namespace Tributary.Integration.Tests.Cluster;

/// <summary>
/// One request and its response with one chosen broker, framed with our generated protocol messages. For APIs no client
/// we ship implements (librdkafka has no AlterPartitionReassignments, ListPartitionReassignments, DescribeQuorum, or a
/// public OffsetForLeaderEpoch) and for asking a particular broker rather than whichever one a client picks.
/// </summary>
public static class RawKafkaExchange
{
    private const int MaxResponseBytes = 4 << 20;
    private const string ClientId = "tributary-it-raw";

    /// <summary>Sends <paramref name="request"/> in <paramref name="version"/> to <paramref name="broker"/> and reads its answer; throws on timeout or a closed connection.</summary>
    public static Task<TResponse> SendAsync<TResponse>(ClusterBroker broker, IRequestMessage request, short version, TimeSpan? timeout = null)
        where TResponse : class, IResponseMessage =>
        SendAsync<TResponse>(broker.Host, broker.Ports.Kafka, request, version, timeout ?? TimeSpan.FromSeconds(15));

    public static async Task<TResponse> SendAsync<TResponse>(string host, int port, IRequestMessage request, short version, TimeSpan timeout)
        where TResponse : class, IResponseMessage
    {
        using var deadline = new CancellationTokenSource(timeout);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(host, port, deadline.Token);
        const int correlationId = 7;
        await socket.SendAsync(Frame(request, version, correlationId), SocketFlags.None, deadline.Token);

        var sizeBytes = new byte[4];
        await ReceiveExactlyAsync(socket, sizeBytes, deadline.Token);
        var size = BinaryPrimitives.ReadInt32BigEndian(sizeBytes);
        if (size is < 4 or > MaxResponseBytes)
        {
            throw new InvalidDataException($"Response size {size} out of bounds.");
        }

        var body = new byte[size];
        await ReceiveExactlyAsync(socket, body, deadline.Token);
        var reader = new KafkaReader(body);
        var header = ResponseHeader.Read(ref reader, HeaderVersions.ResponseHeaderIsFlexible(request.ApiKeyValue, version));
        if (header.CorrelationId != correlationId)
        {
            throw new InvalidDataException($"Response correlation id {header.CorrelationId}, expected {correlationId}.");
        }

        var response = ApiCatalog.ReadResponse(request.ApiKeyValue, version, ref reader);
        return response as TResponse
            ?? throw new InvalidDataException($"Expected {typeof(TResponse).Name}, read {response.GetType().Name}.");
    }

    /// <summary>
    /// One partition's state as <paramref name="broker"/>'s Metadata v9 answer reports it (partition error code and leader
    /// epoch included, which librdkafka's metadata API does not expose); null if the topic or partition is absent.
    /// </summary>
    public static async Task<MetadataResponse.MetadataResponsePartition?> PartitionMetadataAsync(ClusterBroker broker, string topic, int partition)
    {
        var request = new MetadataRequest
        {
            Topics = [new MetadataRequest.MetadataRequestTopic { Name = topic }],
            AllowAutoTopicCreation = false,
        };
        var response = await SendAsync<MetadataResponse>(broker, request, version: 9);
        return response.Topics.SingleOrDefault(t => t.Name == topic)?.Partitions.SingleOrDefault(p => p.PartitionIndex == partition);
    }

    private static byte[] Frame(IRequestMessage request, short version, int correlationId)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        var writer = new KafkaWriter(buffer);
        writer.WriteInt32(0); // length, patched below
        new RequestHeader(request.ApiKeyValue, version, correlationId, ClientId)
            .Write(writer, HeaderVersions.RequestHeaderIsFlexible(request.ApiKeyValue, version));
        request.Write(writer, version);
        var frame = buffer.WrittenSpan.ToArray();
        BinaryPrimitives.WriteInt32BigEndian(frame, frame.Length - 4);
        return frame;
    }

    private static async Task ReceiveExactlyAsync(Socket socket, byte[] buffer, CancellationToken cancellation)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            var n = await socket.ReceiveAsync(buffer.AsMemory(read), SocketFlags.None, cancellation);
            if (n == 0)
            {
                throw new SocketException((int)SocketError.ConnectionReset);
            }

            read += n;
        }
    }
}
