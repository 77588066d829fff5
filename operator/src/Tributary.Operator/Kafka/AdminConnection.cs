using System.Buffers;
using System.Buffers.Binary;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Tributary.Protocol;
using Tributary.Protocol.Messages;

namespace Tributary.Operator.Kafka;

/// <summary>A Kafka admin call failed: unreachable broker, timeout, malformed response, or an error code the caller cannot handle.</summary>
public sealed class KafkaAdminException(string message, Exception? inner = null) : IOException(message, inner);

/// <summary>
/// One TCP connection to a broker for admin requests, sent one at a time. The versions used are the highest both sides
/// speak, learnt from ApiVersions when the connection opens. Any failure closes it; the owner opens a new one.
/// </summary>
internal sealed class AdminConnection : IAsyncDisposable
{
    // Admin responses are small (metadata of many partitions is the largest); anything past this is a confused peer.
    private const int MaxResponseBytes = 64 * 1024 * 1024;

    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly TimeSpan _timeout;
    private readonly Dictionary<short, short> _maxVersions = [];
    private int _correlationId;

    private AdminConnection(Socket socket, string remote, TimeSpan timeout)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        Remote = remote;
        _timeout = timeout;
    }

    public string Remote { get; }

    public bool Broken { get; private set; }

    public static async Task<AdminConnection> OpenAsync(string host, int port, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var remote = $"{host}:{port}";
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            await socket.ConnectAsync(host, port, cts.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            socket.Dispose();
            throw new KafkaAdminException($"connecting to {remote} failed: {e.Message}", e);
        }

        var connection = new AdminConnection(socket, remote, timeout);
        try
        {
            var versions = await connection.SendAsync<ApiVersionsResponse>(new ApiVersionsRequest(), 0, cancellationToken).ConfigureAwait(false);
            if (versions.ErrorCode != 0)
            {
                throw new KafkaAdminException($"ApiVersions to {remote} failed: {(ErrorCode)versions.ErrorCode}");
            }

            foreach (var api in versions.ApiKeys)
            {
                connection._maxVersions[api.ApiKey] = api.MaxVersion;
            }
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return connection;
    }

    /// <summary>The highest version of <paramref name="apiKey"/> both we (<paramref name="ourHighest"/>) and the broker speak.</summary>
    public short VersionFor(short apiKey, short ourLowest, short ourHighest)
    {
        if (!_maxVersions.TryGetValue(apiKey, out var theirs) || theirs < ourLowest)
        {
            throw new KafkaAdminException($"{Remote} does not serve {(ApiKeys)apiKey} v{ourLowest}+");
        }

        return Math.Min(theirs, ourHighest);
    }

    public async Task<TResponse> SendAsync<TResponse>(IRequestMessage request, short version, CancellationToken cancellationToken)
        where TResponse : class, IResponseMessage
    {
        if (Broken)
        {
            throw new KafkaAdminException($"the connection to {Remote} is closed");
        }

        var apiKey = request.ApiKeyValue;
        var correlationId = ++_correlationId;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(_timeout);
        try
        {
            var buffer = new ArrayBufferWriter<byte>(256);
            buffer.GetSpan(4);
            buffer.Advance(4);
            var writer = new KafkaWriter(buffer);
            new RequestHeader(apiKey, version, correlationId, "tributary-operator").Write(writer, HeaderVersions.RequestHeaderIsFlexible(apiKey, version));
            request.Write(writer, version);
            var bytes = buffer.WrittenMemory;
            BinaryPrimitives.WriteInt32BigEndian(MemoryMarshal.AsMemory(bytes).Span, bytes.Length - 4);
            await _stream.WriteAsync(bytes, cts.Token).ConfigureAwait(false);

            var size = new byte[4];
            await _stream.ReadExactlyAsync(size, cts.Token).ConfigureAwait(false);
            var length = BinaryPrimitives.ReadInt32BigEndian(size);
            if (length < 4 || length > MaxResponseBytes)
            {
                throw new KafkaAdminException($"response frame of {length} bytes from {Remote} is outside 4..{MaxResponseBytes}");
            }

            var frame = new byte[length];
            await _stream.ReadExactlyAsync(frame, cts.Token).ConfigureAwait(false);
            var reader = new KafkaReader(frame);
            var header = ResponseHeader.Read(ref reader, HeaderVersions.ResponseHeaderIsFlexible(apiKey, version));
            if (header.CorrelationId != correlationId)
            {
                throw new KafkaAdminException($"response from {Remote} carries correlation id {header.CorrelationId}, expected {correlationId}");
            }

            var response = ApiCatalog.ReadResponse(apiKey, version, ref reader);
            return response as TResponse ?? throw new KafkaAdminException($"{(ApiKeys)apiKey} decoded to {response.GetType().Name}");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            Broken = true;
            throw new KafkaAdminException($"{(ApiKeys)apiKey} v{version} to {Remote} got no response within {_timeout.TotalSeconds:0} s");
        }
        catch (Exception e) when (e is IOException or SocketException or MalformedMessageException or UnsupportedVersionException or ObjectDisposedException)
        {
            Broken = true;
            throw e as KafkaAdminException ?? new KafkaAdminException($"{(ApiKeys)apiKey} v{version} to {Remote} failed: {e.Message}", e);
        }
        catch
        {
            Broken = true;
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        Broken = true;
        await _stream.DisposeAsync().ConfigureAwait(false);
        _socket.Dispose();
    }
}
