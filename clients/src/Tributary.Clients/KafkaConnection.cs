using System.Buffers;
using System.Buffers.Binary;
using System.Net.Sockets;
using Tributary.Protocol;

namespace Tributary.Clients;

/// <summary>Reads a generated response body in a given version.</summary>
public delegate T ResponseReader<out T>(ref KafkaReader reader, short version);

/// <summary>Thrown when a broker connection fails or a response cannot be read; callers reconnect and retry.</summary>
public sealed class KafkaConnectionException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>One TCP connection to one broker: requests are sent one at a time and answered in order.</summary>
/// <remarks>One request in flight keeps the client simple; users that need concurrency (a long-polling fetch next to
/// heartbeats) open one connection each.</remarks>
public sealed class KafkaConnection : IAsyncDisposable
{
    /// <summary>Largest response frame accepted (a fetch answer is bounded by the request's MaxBytes, well below this).</summary>
    public const int MaxResponseBytes = 128 * 1024 * 1024;

    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly string _clientId;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private int _nextCorrelationId;
    private bool _broken;

    private KafkaConnection(Socket socket, string clientId, string endpoint)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _clientId = clientId;
        Endpoint = endpoint;
    }

    /// <summary>host:port this connection goes to.</summary>
    public string Endpoint { get; }

    /// <summary>False once an I/O error or a malformed response broke the connection.</summary>
    public bool IsUsable => !_broken;

    public static async Task<KafkaConnection> ConnectAsync(string host, int port, string clientId, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(host, port, cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new KafkaConnectionException($"Cannot connect to {host}:{port}: {e.Message}", e);
        }

        return new KafkaConnection(socket, clientId, $"{host}:{port}");
    }

    /// <summary>Sends <paramref name="request"/> in <paramref name="version"/> and reads its response.</summary>
    /// <exception cref="KafkaConnectionException">I/O failed, the response was malformed, or the wait was cancelled
    /// (the connection is then unusable, as a late answer would desynchronise it).</exception>
    public async Task<T> SendAsync<T>(IRequestMessage request, short version, ResponseReader<T> readResponse, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_broken)
            {
                throw new KafkaConnectionException($"Connection to {Endpoint} is broken");
            }

            int correlationId = ++_nextCorrelationId;
            byte[] frame = Encode(request, version, correlationId);
            byte[] response;
            try
            {
                await _stream.WriteAsync(frame, cancellationToken).ConfigureAwait(false);
                response = await ReadFrameAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                _broken = true;
                if (e is OperationCanceledException && cancellationToken.IsCancellationRequested)
                {
                    throw;
                }

                throw new KafkaConnectionException($"Request {request.GetType().Name} to {Endpoint} failed: {e.Message}", e);
            }

            try
            {
                var reader = new KafkaReader(response);
                var header = ResponseHeader.Read(ref reader, HeaderVersions.ResponseHeaderIsFlexible(request.ApiKeyValue, version));
                if (header.CorrelationId != correlationId)
                {
                    throw new MalformedMessageException($"Response correlation id {header.CorrelationId}, expected {correlationId}");
                }

                return readResponse(ref reader, version);
            }
            catch (Exception e) when (e is MalformedMessageException or UnsupportedVersionException or InvalidDataException)
            {
                _broken = true;
                throw new KafkaConnectionException($"Malformed {request.GetType().Name} response from {Endpoint}: {e.Message}", e);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    private byte[] Encode(IRequestMessage request, short version, int correlationId)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        buffer.GetSpan(4);
        buffer.Advance(4);
        var writer = new KafkaWriter(buffer);
        new RequestHeader(request.ApiKeyValue, version, correlationId, _clientId)
            .Write(writer, HeaderVersions.RequestHeaderIsFlexible(request.ApiKeyValue, version));
        request.Write(writer, version);
        byte[] frame = buffer.WrittenSpan.ToArray();
        BinaryPrimitives.WriteInt32BigEndian(frame, frame.Length - 4);
        return frame;
    }

    private async Task<byte[]> ReadFrameAsync(CancellationToken cancellationToken)
    {
        byte[] prefix = new byte[4];
        await _stream.ReadExactlyAsync(prefix, cancellationToken).ConfigureAwait(false);
        int length = BinaryPrimitives.ReadInt32BigEndian(prefix);
        if (length is < 4 or > MaxResponseBytes)
        {
            throw new IOException($"Response frame of {length} bytes is outside 4..{MaxResponseBytes}");
        }

        byte[] body = new byte[length];
        await _stream.ReadExactlyAsync(body, cancellationToken).ConfigureAwait(false);
        return body;
    }

    public async ValueTask DisposeAsync()
    {
        _broken = true;
        await _stream.DisposeAsync().ConfigureAwait(false);
        _gate.Dispose();
    }
}
