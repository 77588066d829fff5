using System.Buffers;
using System.Buffers.Binary;
using System.Net.Sockets;
using Tributary.Protocol;
using Tributary.Protocol.Messages;

namespace Tributary.Broker.Network.Client;

/// <summary>
/// One TCP connection from this broker to another (follower fetches, later controller traffic): writes a framed Kafka
/// request and reads the matching response. Requests are sent one at a time, so a response can only answer the request just
/// sent; a second caller waits its turn. Any failure (disconnect, timeout, malformed or mismatched response) closes the
/// connection and surfaces as a <see cref="KafkaConnectionException"/>; the owner reconnects with a new instance.
/// </summary>
public sealed class KafkaClientConnection : IAsyncDisposable, IDisposable
{
    /// <summary>Smallest valid response frame: the correlation id.</summary>
    private const int MinResponseFrame = 4;

    private readonly int _maxResponseBytes;
    private readonly TimeSpan _requestTimeout;
    private readonly SemaphoreSlim _inFlight = new(1, 1);
    private readonly ArrayBufferWriter<byte> _requestBuffer = new(4096);
    private readonly byte[] _sizeBuffer = new byte[4];
    private Socket? _socket;
    private NetworkStream? _stream;
    private string _clientId = "";
    private int _nextCorrelationId;
    private volatile bool _broken;

    /// <param name="maxResponseBytes">largest response frame accepted (socket.request.max.bytes): a bigger size prefix means a
    /// confused or hostile peer, not a buffer to allocate.</param>
    /// <param name="requestTimeout">bound on connecting and on each request/response exchange; for long-polling fetches it must
    /// exceed the fetch's MaxWaitMs (Kafka's replica.socket.timeout.ms).</param>
    public KafkaClientConnection(int maxResponseBytes, TimeSpan requestTimeout)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxResponseBytes, MinResponseFrame);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(requestTimeout, TimeSpan.Zero);
        _maxResponseBytes = maxResponseBytes;
        _requestTimeout = requestTimeout;
    }

    /// <summary>"host:port" of the peer once connecting started.</summary>
    public string Remote { get; private set; } = "?";

    /// <summary>True after a successful connect and until the first failure or dispose.</summary>
    public bool IsConnected => _stream is not null && !_broken;

    /// <summary>Opens the TCP connection; <paramref name="clientId"/> goes into every request header.</summary>
    /// <exception cref="KafkaConnectionException">the peer refused, was unreachable or did not answer within the request timeout.</exception>
    public async Task ConnectAsync(string host, int port, string clientId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(clientId);
        if (_socket is not null)
        {
            throw new InvalidOperationException("The connection was already opened; create a new one to reconnect.");
        }

        Remote = $"{host}:{port}";
        _clientId = clientId;
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        _socket = socket;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_requestTimeout);
        try
        {
            await socket.ConnectAsync(host, port, timeout.Token).ConfigureAwait(false);
            _stream = new NetworkStream(socket, ownsSocket: false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            Break();
            throw new KafkaConnectionException($"Connecting to {Remote} timed out after {_requestTimeout.TotalMilliseconds:0} ms");
        }
        catch (SocketException e)
        {
            Break();
            throw new KafkaConnectionException($"Connecting to {Remote} failed: {e.SocketErrorCode}", e);
        }
        catch
        {
            Break();
            throw;
        }
    }

    /// <summary>
    /// Sends <paramref name="request"/> in <paramref name="apiVersion"/> (request header v1, or v2 when that version is flexible)
    /// and returns the decoded response of that version.
    /// </summary>
    /// <exception cref="KafkaConnectionException">not connected, disconnected, timed out, or the response was malformed, too large,
    /// carried another correlation id or was not a <typeparamref name="TResponse"/>. The connection is closed afterwards.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired; the connection is closed too, since
    /// a response may be left half-read.</exception>
    public async Task<TResponse> SendAsync<TResponse>(IRequestMessage request, short apiVersion, CancellationToken cancellationToken)
        where TResponse : class, IResponseMessage
    {
        ArgumentNullException.ThrowIfNull(request);
        await _inFlight.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var stream = _stream;
            if (stream is null || _broken)
            {
                throw new KafkaConnectionException($"The connection to {Remote} is not open");
            }

            var apiKey = request.ApiKeyValue;
            var correlationId = _nextCorrelationId++;
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_requestTimeout);
            try
            {
                await WriteRequestAsync(stream, request, apiKey, apiVersion, correlationId, timeout.Token).ConfigureAwait(false);
                var frame = await ReadFrameAsync(stream, timeout.Token).ConfigureAwait(false);
                return Decode<TResponse>(frame, apiKey, apiVersion, correlationId);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                Break();
                throw new KafkaConnectionException(
                    $"{(ApiKeys)apiKey} v{apiVersion} to {Remote} got no response within {_requestTimeout.TotalMilliseconds:0} ms");
            }
            catch (KafkaConnectionException)
            {
                Break();
                throw;
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
            {
                Break();
                throw new KafkaConnectionException($"{(ApiKeys)apiKey} v{apiVersion} to {Remote} failed: {e.Message}", e);
            }
            catch
            {
                Break();
                throw;
            }
        }
        finally
        {
            _inFlight.Release();
        }
    }

    /// <summary>Closes the connection; an exchange in progress fails with <see cref="KafkaConnectionException"/>.</summary>
    public void Dispose() => Break();

    public ValueTask DisposeAsync()
    {
        Break();
        return ValueTask.CompletedTask;
    }

    private async Task WriteRequestAsync(NetworkStream stream, IRequestMessage request, short apiKey, short apiVersion, int correlationId,
        CancellationToken cancellationToken)
    {
        _requestBuffer.Clear();
        _requestBuffer.GetSpan(4);
        _requestBuffer.Advance(4);
        var writer = new KafkaWriter(_requestBuffer);
        new RequestHeader(apiKey, apiVersion, correlationId, _clientId).Write(writer, HeaderVersions.RequestHeaderIsFlexible(apiKey, apiVersion));
        request.Write(writer, apiVersion);
        var bytes = _requestBuffer.WrittenMemory;
        BinaryPrimitives.WriteInt32BigEndian(MemoryMarshalHelpers.AsWritable(bytes).Span, bytes.Length - 4);
        await stream.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads one size-prefixed frame into a fresh array: decoded responses (fetched records) slice it and outlive the call.</summary>
    private async Task<byte[]> ReadFrameAsync(NetworkStream stream, CancellationToken cancellationToken)
    {
        await ReadExactlyOrThrowAsync(stream, _sizeBuffer, cancellationToken).ConfigureAwait(false);
        var size = BinaryPrimitives.ReadInt32BigEndian(_sizeBuffer);
        if (size < MinResponseFrame || size > _maxResponseBytes)
        {
            throw new KafkaConnectionException($"Response frame of {size} bytes from {Remote} is outside 4..{_maxResponseBytes}");
        }

        var frame = new byte[size];
        await ReadExactlyOrThrowAsync(stream, frame, cancellationToken).ConfigureAwait(false);
        return frame;
    }

    private async Task ReadExactlyOrThrowAsync(NetworkStream stream, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        try
        {
            await stream.ReadExactlyAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (EndOfStreamException e)
        {
            throw new KafkaConnectionException($"{Remote} closed the connection", e);
        }
    }

    private TResponse Decode<TResponse>(byte[] frame, short apiKey, short apiVersion, int correlationId)
        where TResponse : class, IResponseMessage
    {
        try
        {
            var reader = new KafkaReader(frame);
            var header = ResponseHeader.Read(ref reader, HeaderVersions.ResponseHeaderIsFlexible(apiKey, apiVersion));
            if (header.CorrelationId != correlationId)
            {
                throw new KafkaConnectionException(
                    $"Response from {Remote} carries correlation id {header.CorrelationId}, expected {correlationId}");
            }

            var response = ApiCatalog.ReadResponse(apiKey, apiVersion, ref reader);
            reader.EnsureFullyConsumed($"{(ApiKeys)apiKey} v{apiVersion} response");
            return response as TResponse ?? throw new KafkaConnectionException(
                $"{(ApiKeys)apiKey} v{apiVersion} decodes to {response.GetType().Name}, not the {typeof(TResponse).Name} asked for");
        }
        catch (Exception e) when (e is MalformedMessageException or UnsupportedVersionException)
        {
            throw new KafkaConnectionException($"Malformed {(ApiKeys)apiKey} v{apiVersion} response from {Remote}: {e.Message}", e);
        }
    }

    private void Break()
    {
        _broken = true;
        _stream?.Dispose();
        _socket?.Dispose();
    }
}

/// <summary>A connection to another broker failed (I/O error, timeout, malformed response); the connection is closed.</summary>
public sealed class KafkaConnectionException : IOException
{
    public KafkaConnectionException(string message)
        : base(message)
    {
    }

    public KafkaConnectionException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
