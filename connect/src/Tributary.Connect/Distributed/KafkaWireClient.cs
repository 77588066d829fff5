using System.Buffers;
using System.Buffers.Binary;
using System.Net.Sockets;
using Tributary.Protocol;

namespace Tributary.Connect.Distributed;

/// <summary>Reads a response body of one API version (the generated <c>XxxResponse.Read</c> methods fit).</summary>
public delegate T ResponseReader<out T>(ref KafkaReader reader, short version);

/// <summary>
/// One plain TCP connection to a broker speaking the Kafka protocol with our generated messages: one request at a time,
/// non-flexible request versions (header v1, response header v0). Used for the group membership Confluent.Kafka does not expose.
/// </summary>
public sealed class KafkaWireClient : IDisposable
{
    /// <summary>Largest response we accept (group responses carry every member's metadata).</summary>
    private const int MaxResponseBytes = 16 * 1024 * 1024;

    private readonly TcpClient tcp;
    private readonly NetworkStream stream;
    private readonly SemaphoreSlim gate = new(1, 1);
    private int correlation;

    private KafkaWireClient(TcpClient tcp)
    {
        this.tcp = tcp;
        stream = tcp.GetStream();
    }

    public string Endpoint { get; private init; } = "";

    public static async Task<KafkaWireClient> ConnectAsync(string host, int port, CancellationToken cancellation)
    {
        var tcp = new TcpClient { NoDelay = true };
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            await tcp.ConnectAsync(host, port, timeout.Token);
            return new KafkaWireClient(tcp) { Endpoint = $"{host}:{port}" };
        }
        catch
        {
            tcp.Dispose();
            throw;
        }
    }

    public async Task<T> SendAsync<T>(short apiKey, short version, Action<KafkaWriter> writeBody, ResponseReader<T> read, TimeSpan timeout, CancellationToken cancellation)
    {
        await gate.WaitAsync(cancellation);
        try
        {
            var id = ++correlation;
            var body = new ArrayBufferWriter<byte>(256);
            var writer = new KafkaWriter(body);
            new RequestHeader(apiKey, version, id, "tributary-connect").Write(writer, flexible: false);
            writeBody(writer);
            var frame = new byte[4 + body.WrittenCount];
            BinaryPrimitives.WriteInt32BigEndian(frame, body.WrittenCount);
            body.WrittenSpan.CopyTo(frame.AsSpan(4));

            using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
            limit.CancelAfter(timeout);
            await stream.WriteAsync(frame, limit.Token);
            var sizeBytes = new byte[4];
            await stream.ReadExactlyAsync(sizeBytes, limit.Token);
            var size = BinaryPrimitives.ReadInt32BigEndian(sizeBytes);
            if (size < 4 || size > MaxResponseBytes)
            {
                throw new IOException($"Response of {size} bytes from {Endpoint} is outside 4..{MaxResponseBytes}.");
            }

            var payload = new byte[size];
            await stream.ReadExactlyAsync(payload, limit.Token);
            var reader = new KafkaReader(payload);
            var header = ResponseHeader.Read(ref reader, flexible: false);
            if (header.CorrelationId != id)
            {
                throw new IOException($"Response correlation id {header.CorrelationId} from {Endpoint}, expected {id}.");
            }

            return read(ref reader, version);
        }
        finally
        {
            gate.Release();
        }
    }

    public void Dispose()
    {
        stream.Dispose();
        tcp.Dispose();
        gate.Dispose();
    }
}
