using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace Tributary.Integration.Tests.Harness;

/// <summary>
/// A loopback TCP proxy in front of one broker that reads Kafka frames in both directions and, once armed, swallows
/// the next response to a Produce request while forwarding everything else. The client then sees its request time
/// out and retries it although the broker already appended the batch — the situation idempotence exists for.
/// </summary>
/// <remarks>
/// Start the broker with <c>advertised.listeners</c> pointing at <see cref="Port"/> so that every connection a client
/// opens after bootstrap (metadata hands out the advertised address) also goes through the proxy.
/// </remarks>
public sealed class DroppingProxy : IAsyncDisposable
{
    private const short ProduceApiKey = 0;

    // Frames larger than the broker's own socket.request.max.bytes default would never be valid; bounding the read
    // keeps a confused stream from allocating arbitrary memory.
    private const int MaxFrameBytes = 100 * 1024 * 1024;

    private readonly Socket listener;
    private readonly TestOutputSink log;
    private readonly CancellationTokenSource stopping = new();
    private readonly ConcurrentBag<Socket> sockets = [];
    private readonly ConcurrentBag<Task> pumps = [];
    private readonly ConcurrentDictionary<string, bool> produceBodies = new();
    private readonly Task acceptLoop;
    private int targetPort;
    private int armed;
    private int droppedResponses;
    private int produceRequests;
    private int repeatedProduceRequests;

    private DroppingProxy(TestOutputSink log)
    {
        this.log = log;
        listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(64);
        Port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        acceptLoop = Task.Run(AcceptLoopAsync);
    }

    /// <summary>The loopback port clients connect to.</summary>
    public int Port { get; }

    /// <summary>Produce responses swallowed so far.</summary>
    public int DroppedResponses => Volatile.Read(ref droppedResponses);

    /// <summary>Produce requests forwarded to the broker so far (retries included).</summary>
    public int ProduceRequests => Volatile.Read(ref produceRequests);

    /// <summary>
    /// Produce requests byte-for-byte equal (after the correlation id) to an earlier one: the client sent the same
    /// batch again, e.g. a retry after the swallowed response.
    /// </summary>
    public int RepeatedProduceRequests => Volatile.Read(ref repeatedProduceRequests);

    /// <summary>Starts listening on a free loopback port; connections are accepted but wait for <see cref="ForwardTo"/> before reaching the broker.</summary>
    public static DroppingProxy Start(TestOutputSink log) => new(log);

    /// <summary>Sets the broker port every accepted connection is forwarded to.</summary>
    public void ForwardTo(int brokerPort) => Volatile.Write(ref targetPort, brokerPort);

    /// <summary>The next response to a Produce request (on any connection) is swallowed; later ones pass again.</summary>
    public void DropNextProduceResponse() => Volatile.Write(ref armed, 1);

    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync();
        listener.Dispose();
        foreach (var socket in sockets)
        {
            socket.Dispose();
        }

        try
        {
            await acceptLoop;
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // The listener was closed under the accept call.
        }

        await Task.WhenAll(pumps);
        stopping.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!stopping.IsCancellationRequested)
        {
            var client = await listener.AcceptAsync(stopping.Token);
            sockets.Add(client);
            pumps.Add(Task.Run(() => ConnectionAsync(client)));
        }
    }

    private async Task ConnectionAsync(Socket client)
    {
        using var broker = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        sockets.Add(broker);
        try
        {
            var port = Volatile.Read(ref targetPort);
            if (port == 0)
            {
                throw new InvalidOperationException("DroppingProxy accepted a connection before ForwardTo was called.");
            }

            await broker.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), stopping.Token);
            var produceCorrelationIds = new ConcurrentDictionary<int, bool>();
            using var clientStream = new NetworkStream(client, ownsSocket: false);
            using var brokerStream = new NetworkStream(broker, ownsSocket: false);
            var requests = PumpRequestsAsync(clientStream, brokerStream, produceCorrelationIds);
            var responses = PumpResponsesAsync(brokerStream, clientStream, produceCorrelationIds);
            await Task.WhenAny(requests, responses);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // A side hung up (the client reconnecting after its timeout is part of the scenario).
        }
        finally
        {
            client.Dispose();
        }
    }

    private async Task PumpRequestsAsync(Stream from, Stream to, ConcurrentDictionary<int, bool> produceCorrelationIds)
    {
        try
        {
            while (await ReadFrameAsync(from) is { } frame)
            {
                // Request header: api_key int16, api_version int16, correlation_id int32 (every header version).
                if (frame.Length >= 12 && BinaryPrimitives.ReadInt16BigEndian(frame.AsSpan(4)) == ProduceApiKey)
                {
                    // Recorded before forwarding, so the response can never overtake the bookkeeping.
                    produceCorrelationIds[BinaryPrimitives.ReadInt32BigEndian(frame.AsSpan(8))] = true;
                    Interlocked.Increment(ref produceRequests);
                    var body = Convert.ToHexString(SHA256.HashData(frame.AsSpan(12)));
                    if (!produceBodies.TryAdd(body, true))
                    {
                        Interlocked.Increment(ref repeatedProduceRequests);
                    }
                }

                await to.WriteAsync(frame, stopping.Token);
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // Connection ended.
        }
    }

    private async Task PumpResponsesAsync(Stream from, Stream to, ConcurrentDictionary<int, bool> produceCorrelationIds)
    {
        try
        {
            while (await ReadFrameAsync(from) is { } frame)
            {
                // Response header: correlation_id int32 first (v0 and v1 alike).
                var correlationId = frame.Length >= 8 ? BinaryPrimitives.ReadInt32BigEndian(frame.AsSpan(4)) : -1;
                if (produceCorrelationIds.TryRemove(correlationId, out _) && Interlocked.CompareExchange(ref armed, 0, 1) == 1)
                {
                    Interlocked.Increment(ref droppedResponses);
                    log.WriteLine($"[proxy] swallowed the Produce response with correlation id {correlationId} ({frame.Length} bytes)");
                    continue;
                }

                await to.WriteAsync(frame, stopping.Token);
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // Connection ended.
        }
    }

    /// <summary>One whole frame including its 4-byte size prefix, or null at a clean end of stream.</summary>
    private async Task<byte[]?> ReadFrameAsync(Stream from)
    {
        var sizeBytes = new byte[4];
        var first = await from.ReadAsync(sizeBytes.AsMemory(0, 1), stopping.Token);
        if (first == 0)
        {
            return null;
        }

        await from.ReadExactlyAsync(sizeBytes.AsMemory(1, 3), stopping.Token);
        var size = BinaryPrimitives.ReadInt32BigEndian(sizeBytes);
        if (size is < 0 or > MaxFrameBytes)
        {
            throw new IOException($"Frame size {size} is outside 0..{MaxFrameBytes}.");
        }

        var frame = new byte[4 + size];
        sizeBytes.CopyTo(frame, 0);
        await from.ReadExactlyAsync(frame.AsMemory(4), stopping.Token);
        return frame;
    }
}
