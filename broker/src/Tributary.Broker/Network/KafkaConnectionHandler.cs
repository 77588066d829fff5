using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Threading.Channels;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using Tributary.Broker.Requests;
using Tributary.Protocol;
using Tributary.Protocol.Framing;
using Tributary.Protocol.Messages;

namespace Tributary.Broker.Network;

/// <summary>
/// Serves one Kafka client connection: reads length-prefixed frames, decodes each request, hands it to the
/// dispatcher and writes the responses, always in request order. Requests are handled one at a time, as Kafka does
/// (it mutes a channel while a request is in flight) — with one exception: once a Produce request has appended its
/// batches, the next request may start while it waits for its in-sync replicas (acks=all), up to
/// <see cref="MaxPipelinedRequests"/> responses outstanding. Appends stay in request order; only the replication
/// waits overlap, so a client pipelining acks=all produces is not held to one replication round trip per request.
/// Anything malformed closes only this connection, with a log line saying why.
/// </summary>
public sealed partial class KafkaConnectionHandler : ConnectionHandler
{
    private readonly BrokerServer _server;
    private readonly ILogger<KafkaConnectionHandler> _logger;

    public KafkaConnectionHandler(BrokerServer server, ILogger<KafkaConnectionHandler> logger)
    {
        _server = server;
        _logger = logger;
    }

    public override async Task OnConnectedAsync(ConnectionContext connection)
    {
        var remote = connection.RemoteEndPoint?.ToString() ?? "?";
        var session = new ClientSession(connection.ConnectionId, remote);
        var maxFrame = _server.Config.SocketRequestMaxBytes;
        var input = connection.Transport.Input;
        var output = connection.Transport.Output;
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(connection.ConnectionClosed, _server.Stopping);
        var aborted = linked.Token;
        try
        {
            // Clients that connect while logs are still recovering wait, as they would for a broker not yet listening.
            await _server.WhenReady.WaitAsync(aborted).ConfigureAwait(false);
        }
        catch (Exception) when (_server.WhenReady.IsFaulted)
        {
            // Start-up failed (logged by the server, which stops the process): nothing to serve.
            return;
        }

        using var closing = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        // Frame bytes this connection holds (pipelined Produce requests included): at most one largest frame's worth.
        var connectionBudget = new RequestMemoryBudget(maxFrame);
        var pending = Channel.CreateBounded<PendingResponse>(new BoundedChannelOptions(MaxPipelinedRequests)
        {
            SingleReader = true,
            SingleWriter = true,
        });
        var writer = Task.Run(() => WriteResponsesAsync(pending.Reader, output, session, closing, connectionBudget,
            () => connection.Abort(new ConnectionAbortedException("response could not be written"))), CancellationToken.None);
        try
        {
            var reading = closing.Token;
            while (!reading.IsCancellationRequested)
            {
                var frame = await ReadFrameAsync(input, maxFrame, session, connectionBudget, reading).ConfigureAwait(false);
                if (frame is null)
                {
                    return;
                }

                var item = Dispatch(frame.Value, session, reading);
                if (item is null)
                {
                    ReturnFrame(frame.Value, connectionBudget);
                    return;
                }

                await pending.Writer.WriteAsync(item, reading).ConfigureAwait(false);
                // The next request starts once this one is answered, or — for Produce — once its appends are done.
                await Task.WhenAny(item.Response, item.OrderedPartDone).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (closing.IsCancellationRequested)
        {
        }
        catch (ConnectionResetException)
        {
        }
        catch (IOException e)
        {
            LogConnectionError(_logger, session.ConnectionId, remote, e.Message);
        }
        finally
        {
            // Answer what was accepted before closing (or, if the writer stopped, return the frames it didn't get to).
            pending.Writer.TryComplete();
            await writer.ConfigureAwait(false);
        }
    }

    /// <summary>A request being answered: its response (maybe still pending), for writing in order.</summary>
    private sealed record PendingResponse(RentedFrame Frame, int CorrelationId, short ApiKey, short ApiVersion, string ApiName,
        Task<IResponseMessage?> Response, Task OrderedPartDone, long StartedTicks);

    /// <summary>Most responses a connection may have outstanding (only Produce requests overlap; memory stays bounded).</summary>
    private const int MaxPipelinedRequests = 16;

    /// <summary>
    /// Writes responses in request order as each completes. A handler failure (a bug) or a write failure closes the
    /// connection, as Kafka does; the client reconnects and retries.
    /// </summary>
    private async Task WriteResponsesAsync(ChannelReader<PendingResponse> pending, PipeWriter output, ClientSession session,
        CancellationTokenSource closing, RequestMemoryBudget connectionBudget, Action abort)
    {
        var failed = false;
        await foreach (var item in pending.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
        {
            try
            {
                if (failed)
                {
                    continue;
                }

                IResponseMessage? response;
                try
                {
                    response = await item.Response.ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    failed = true;
                    continue;
                }
                catch (Exception e)
                {
                    LogHandlerFailed(_logger, session.ConnectionId, session.Remote, item.ApiName, item.ApiVersion, e);
                    failed = true;
                    continue;
                }

                if (response is not null)
                {
                    await WriteResponseAsync(output, item.CorrelationId, item.ApiKey, item.ApiVersion, response, closing.Token)
                        .ConfigureAwait(false);
                }

                _server.Metrics.RecordRequest(item.ApiName, System.Diagnostics.Stopwatch.GetElapsedTime(item.StartedTicks).TotalMilliseconds);
            }
            catch (OperationCanceledException)
            {
                failed = true;
            }
            catch (Exception e)
            {
                // A peer that went away or a connection already closing needs no line; anything else says why.
                if (e is not ConnectionResetException && !closing.IsCancellationRequested)
                {
                    if (e is IOException)
                    {
                        // Typically a fetched segment deleted or truncated while its bytes were being written.
                        LogConnectionError(_logger, session.ConnectionId, session.Remote, e.Message);
                    }
                    else
                    {
                        LogWriteFailed(_logger, session.ConnectionId, session.Remote, item.ApiName, item.ApiVersion, e);
                    }
                }

                // Part of a response may sit unflushed in the output: drop the connection rather than let it be sent.
                abort();
                failed = true;
            }
            finally
            {
                ReturnFrame(item.Frame, connectionBudget);
                if (failed)
                {
                    await closing.CancelAsync().ConfigureAwait(false);
                }
            }
        }
    }

    /// <summary>Gives a frame's array back to the pool and its bytes back to both budgets.</summary>
    private void ReturnFrame(RentedFrame frame, RequestMemoryBudget connectionBudget)
    {
        ArrayPool<byte>.Shared.Return(frame.Array);
        _server.RequestMemory.Release(frame.Length);
        connectionBudget.Release(frame.Length);
    }

    /// <summary>
    /// Reads the next frame into a pooled array of exactly the declared size, copying as bytes arrive so the
    /// transport never has to buffer a whole large request. Before the body is read its bytes are reserved from this
    /// connection's budget and from the broker's (queued.max.request.bytes); while either is spent nothing more is read
    /// from the socket, so TCP holds the sender back. Returns null when the connection should close.
    /// </summary>
    private async ValueTask<RentedFrame?> ReadFrameAsync(PipeReader input, int maxFrame, ClientSession session,
        RequestMemoryBudget connectionBudget, CancellationToken aborted)
    {
        byte[]? array = null;
        var reservedConnection = false;
        var reservedBroker = false;
        var size = 0;
        var filled = 0;
        try
        {
            while (true)
            {
                var result = await input.ReadAsync(aborted).ConfigureAwait(false);
                var buffer = result.Buffer;
                if (array is null)
                {
                    var status = FrameDecoder.TryReadSize(ref buffer, maxFrame, out size);
                    switch (status)
                    {
                        case FrameSizeStatus.TooLarge:
                            LogFrameTooLarge(_logger, session.ConnectionId, session.Remote, size, maxFrame);
                            return null;
                        case FrameSizeStatus.Invalid:
                            LogFrameInvalid(_logger, session.ConnectionId, session.Remote, size);
                            return null;
                        case FrameSizeStatus.NeedMoreData:
                            if (result.IsCompleted)
                            {
                                if (!buffer.IsEmpty)
                                {
                                    LogTruncated(_logger, session.ConnectionId, session.Remote, (int)buffer.Length, 4);
                                }

                                return null;
                            }

                            input.AdvanceTo(buffer.Start, buffer.End);
                            continue;
                    }

                    await connectionBudget.ReserveAsync(size, aborted).ConfigureAwait(false);
                    reservedConnection = true;
                    if (!_server.RequestMemory.TryReserve(size))
                    {
                        LogRequestMemoryFull(_logger, session.ConnectionId, session.Remote, size, _server.RequestMemory.Capacity);
                        await _server.RequestMemory.ReserveAsync(size, aborted).ConfigureAwait(false);
                    }

                    reservedBroker = true;
                    array = ArrayPool<byte>.Shared.Rent(size);
                }

                var take = (int)Math.Min(buffer.Length, size - filled);
                buffer.Slice(0, take).CopyTo(array.AsSpan(filled));
                filled += take;
                var consumed = buffer.GetPosition(take);
                if (filled == size)
                {
                    input.AdvanceTo(consumed);
                    var frame = new RentedFrame(array, size);
                    array = null;
                    reservedConnection = reservedBroker = false;
                    return frame;
                }

                input.AdvanceTo(consumed, buffer.End);
                if (result.IsCompleted)
                {
                    LogTruncated(_logger, session.ConnectionId, session.Remote, filled, size);
                    return null;
                }
            }
        }
        finally
        {
            if (array is not null)
            {
                ArrayPool<byte>.Shared.Return(array);
            }

            if (reservedBroker)
            {
                _server.RequestMemory.Release(size);
            }

            if (reservedConnection)
            {
                connectionBudget.Release(size);
            }
        }
    }

    /// <summary>Decodes one request and starts handling it; null means close the connection (the reason is logged).</summary>
    private PendingResponse? Dispatch(RentedFrame frame, ClientSession session, CancellationToken aborted)
    {
        var memory = new ReadOnlyMemory<byte>(frame.Array, 0, frame.Length);
        var apiKey = BinaryPrimitives.ReadInt16BigEndian(memory.Span);
        var apiVersion = BinaryPrimitives.ReadInt16BigEndian(memory.Span[2..]);
        var correlationId = BinaryPrimitives.ReadInt32BigEndian(memory.Span[4..]);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        if (!ApiCatalog.TryGet(apiKey, out var api))
        {
            LogUnknownApi(_logger, session.ConnectionId, session.Remote, apiKey, apiVersion);
            return null;
        }

        if (apiVersion < api.LowestVersion || apiVersion > api.HighestVersion)
        {
            if (apiKey == ApiVersionsRequest.ApiKey)
            {
                // KIP-511: a client newer than us learns our versions from a v0 response carrying UNSUPPORTED_VERSION.
                var reply = Task.FromResult<IResponseMessage?>(RequestDispatcher.UnsupportedApiVersionsResponse());
                return new PendingResponse(frame, correlationId, apiKey, 0, api.Name, reply, reply, started);
            }

            LogUnsupportedVersion(_logger, session.ConnectionId, session.Remote, api.Name, apiVersion, api.LowestVersion, api.HighestVersion);
            return null;
        }

        RequestHeader header;
        IRequestMessage request;
        try
        {
            var reader = new KafkaReader(memory);
            header = RequestHeader.Read(ref reader, HeaderVersions.RequestHeaderIsFlexible(apiKey, apiVersion));
            request = ApiCatalog.ReadRequest(apiKey, apiVersion, ref reader);
        }
        catch (MalformedMessageException e)
        {
            LogMalformed(_logger, session.ConnectionId, session.Remote, api.Name, apiVersion, e.Message);
            return null;
        }

        var context = new RequestContext(header, session, api.Name);
        Task<IResponseMessage?> response;
        try
        {
            response = _server.Dispatcher.HandleAsync(context, request, aborted).AsTask();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            response = Task.FromException<IResponseMessage?>(e);
        }

        return new PendingResponse(frame, header.CorrelationId, apiKey, apiVersion, api.Name, response, context.OrderedPartDone, started);
    }

    /// <summary>
    /// Serializes a response straight into the connection's output (fetched records go from the segment file into it, see
    /// <see cref="DeferredBytes"/>), then fills in the size prefix it reserved and flushes. Nothing is visible to the peer before
    /// the flush, so a response that fails half-way (a segment deleted under a fetch) is never sent: the caller aborts the
    /// connection instead.
    /// </summary>
    private static async ValueTask WriteResponseAsync(PipeWriter output, int correlationId, short apiKey, short apiVersion,
        IResponseMessage response, CancellationToken aborted)
    {
        var sizePrefix = output.GetMemory(4)[..4];
        output.Advance(4);
        var writer = new KafkaWriter(output);
        new ResponseHeader(correlationId).Write(writer, HeaderVersions.ResponseHeaderIsFlexible(apiKey, apiVersion));
        response.Write(writer, apiVersion);
        if (writer.WrittenBytes > int.MaxValue)
        {
            throw new InvalidOperationException($"A response of {writer.WrittenBytes} bytes cannot be framed.");
        }

        BinaryPrimitives.WriteInt32BigEndian(sizePrefix.Span, (int)writer.WrittenBytes);
        await output.FlushAsync(aborted).ConfigureAwait(false);
    }

    private readonly record struct RentedFrame(byte[] Array, int Length);

    [LoggerMessage(EventId = 200, EventName = "FrameTooLarge", Level = LogLevel.Warning, Message = "Closing connection {ConnectionId} from {Remote}: frame of {Size} bytes exceeds socket.request.max.bytes={Max}")]
    private static partial void LogFrameTooLarge(ILogger logger, string connectionId, string remote, int size, int max);

    [LoggerMessage(EventId = 201, EventName = "FrameInvalid", Level = LogLevel.Warning, Message = "Closing connection {ConnectionId} from {Remote}: invalid frame size {Size}")]
    private static partial void LogFrameInvalid(ILogger logger, string connectionId, string remote, int size);

    [LoggerMessage(EventId = 202, EventName = "FrameTruncated", Level = LogLevel.Warning, Message = "Closing connection {ConnectionId} from {Remote}: peer closed mid-frame ({Received} of {Size} bytes)")]
    private static partial void LogTruncated(ILogger logger, string connectionId, string remote, int received, int size);

    [LoggerMessage(EventId = 203, EventName = "UnknownApiKey", Level = LogLevel.Warning, Message = "Closing connection {ConnectionId} from {Remote}: unknown api key {ApiKey} (version {ApiVersion})")]
    private static partial void LogUnknownApi(ILogger logger, string connectionId, string remote, short apiKey, short apiVersion);

    [LoggerMessage(EventId = 204, EventName = "UnsupportedVersion", Level = LogLevel.Warning, Message = "Closing connection {ConnectionId} from {Remote}: {Api} version {ApiVersion} is not served (range {Min}-{Max})")]
    private static partial void LogUnsupportedVersion(ILogger logger, string connectionId, string remote, string api, short apiVersion, short min, short max);

    [LoggerMessage(EventId = 205, EventName = "MalformedRequest", Level = LogLevel.Warning, Message = "Closing connection {ConnectionId} from {Remote}: malformed {Api} v{ApiVersion} request: {Reason}")]
    private static partial void LogMalformed(ILogger logger, string connectionId, string remote, string api, short apiVersion, string reason);

    [LoggerMessage(EventId = 207, EventName = "HandlerFailed", Level = LogLevel.Error, Message = "Closing connection {ConnectionId} from {Remote}: {Api} v{ApiVersion} handler failed")]
    private static partial void LogHandlerFailed(ILogger logger, string connectionId, string remote, string api, short apiVersion, Exception exception);

    [LoggerMessage(EventId = 208, EventName = "ResponseWriteFailed", Level = LogLevel.Error, Message = "Closing connection {ConnectionId} from {Remote}: writing the {Api} v{ApiVersion} response failed")]
    private static partial void LogWriteFailed(ILogger logger, string connectionId, string remote, string api, short apiVersion, Exception exception);

    [LoggerMessage(EventId = 209, EventName = "RequestMemoryFull", Level = LogLevel.Debug, Message = "Connection {ConnectionId} from {Remote} waits to read a frame of {Size} bytes: queued.max.request.bytes={Max} are in use")]
    private static partial void LogRequestMemoryFull(ILogger logger, string connectionId, string remote, int size, long max);

    [LoggerMessage(EventId = 206, EventName = "ConnectionError", Level = LogLevel.Information, Message = "Connection {ConnectionId} from {Remote} failed: {Reason}")]
    private static partial void LogConnectionError(ILogger logger, string connectionId, string remote, string reason);
}

internal static class MemoryMarshalHelpers
{
    /// <summary>The response buffer is ours; ArrayBufferWriter only hands it out read-only.</summary>
    public static Memory<byte> AsWritable(ReadOnlyMemory<byte> memory) => System.Runtime.InteropServices.MemoryMarshal.AsMemory(memory);
}
