using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Tributary.Protocol;

namespace Tributary.Raft.Transport;

/// <summary>TCP between voters: one listener for inbound messages (and client connections from any node) and one
/// outbound connection per other voter.</summary>
/// <remarks>Delivery is best effort by design. Raft retries everything it needs (heartbeats re-send entries, candidates
/// re-run elections), so a message that finds its peer down or its queue full is dropped rather than buffered.
/// Calls from this node to a voter go through <see cref="QuorumClient"/>.</remarks>
internal sealed class TcpRaftTransport : IRaftTransport
{
    private const int PeerQueueCapacity = 1024;
    private static readonly TimeSpan ReconnectBackoff = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan DrainLimit = TimeSpan.FromMilliseconds(100);

    private readonly int _nodeId;
    private readonly RaftQuorumOptions _options;
    private readonly QuorumClient _client;
    private Action<QuorumMessage> _deliver = static _ => { };
    private Func<ClientFrame, CancellationToken, Task<ClientFrame>> _serveClient = static (_, _) => throw new InvalidOperationException("Not serving");
    private readonly ILogger _logger;
    private readonly int _maxFrameBytes;
    private readonly Dictionary<int, Peer> _peers = [];
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Task> _loops = [];
    private readonly List<Task> _sendLoops = [];
    private readonly List<Socket> _inbound = [];
    private readonly Lock _inboundGate = new();
    private Socket? _listener;

    public TcpRaftTransport(RaftQuorumOptions options, ILogger logger)
    {
        _nodeId = options.NodeId;
        _options = options;
        _client = new QuorumClient(options, logger);
        _logger = logger;
        _maxFrameBytes = MaxAppendBytes(options) + options.MaxRecordBytes + 1024;
        foreach (var voter in options.Voters)
        {
            if (voter.Id != _nodeId)
            {
                _peers[voter.Id] = new Peer(voter);
            }
        }
    }

    /// <summary>Soft cap on the entry bytes of one append request (a single bigger entry is still sent alone).</summary>
    public static int MaxAppendBytes(RaftQuorumOptions options) => Math.Max(options.MaxRecordBytes, 1024 * 1024);

    public void Start(Action<QuorumMessage> deliver, Func<ClientFrame, CancellationToken, Task<ClientFrame>> serve)
    {
        _deliver = deliver;
        _serveClient = serve;
        var endpoint = _options.Listener ?? throw new InvalidOperationException("A voter needs a listener");
        var listener = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        // A restarted voter must get its port back even while the old connections sit in TIME_WAIT.
        listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        listener.Bind(endpoint);
        listener.Listen(16);
        _listener = listener;
        _loops.Add(Task.Run(AcceptLoopAsync));
        foreach (var peer in _peers.Values)
        {
            _sendLoops.Add(Task.Run(() => SendLoopAsync(peer)));
        }
    }

    public void Send(QuorumMessage message)
    {
        if (_peers.TryGetValue(message.To, out var peer))
        {
            peer.Queue.Writer.TryWrite(QuorumMessageCodec.Encode(message));
        }
    }

    public Task<ClientFrame> CallAsync(int voterId, Func<int, ClientFrame> buildRequest, CancellationToken cancellationToken) =>
        _client.SendAsync(voterId, buildRequest, cancellationToken);

    public ValueTask DisposeAsync() => StopAsync(drain: false);

    /// <summary>Stops; with <paramref name="drain"/> the messages already queued get a short chance to go out first
    /// (a resigning leader's last words), otherwise they are dropped as in a crash.</summary>
    public async ValueTask StopAsync(bool drain)
    {
        if (drain)
        {
            foreach (var peer in _peers.Values)
            {
                peer.Queue.Writer.TryComplete();
            }

            await Task.WhenAny(Task.WhenAll(_sendLoops), Task.Delay(DrainLimit)).ConfigureAwait(false);
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        _listener?.Dispose();
        lock (_inboundGate)
        {
            foreach (var socket in _inbound)
            {
                socket.Dispose();
            }
        }

        foreach (var peer in _peers.Values)
        {
            peer.Queue.Writer.TryComplete();
        }

        try
        {
            await Task.WhenAll(_loops.Concat(_sendLoops)).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        await _client.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        var listener = _listener!;
        while (!_stopping.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            socket.NoDelay = true;
            lock (_inboundGate)
            {
                _inbound.RemoveAll(s => !s.Connected);
                _inbound.Add(socket);
            }

            _ = Task.Run(() => ReceiveLoopAsync(socket));
        }
    }

    /// <summary>Reads one inbound connection: voter messages are delivered to Raft; client requests (controller calls,
    /// observer fetches) are served off the Raft loop and answered on this same socket.</summary>
    private async Task ReceiveLoopAsync(Socket socket)
    {
        var header = new byte[5];
        string remote = socket.RemoteEndPoint?.ToString() ?? "?";
        using var stream = new NetworkStream(socket, ownsSocket: true);
        using var connection = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        using var writeGate = new SemaphoreSlim(1, 1);
        try
        {
            while (!_stopping.IsCancellationRequested)
            {
                await stream.ReadExactlyAsync(header, _stopping.Token).ConfigureAwait(false);
                int size = BinaryPrimitives.ReadInt32BigEndian(header);
                sbyte kind = (sbyte)header[4];
                bool fromClient = ClientFrameCodec.IsRequestKind(kind);
                int limit = fromClient ? _options.MaxControllerMessageBytes + ClientFrameCodec.OverheadBytes : _maxFrameBytes;
                if (!fromClient && !QuorumMessageCodec.IsVoterKind(kind))
                {
                    throw new MalformedMessageException($"Unknown frame kind {kind}");
                }

                if (size <= 0 || size > limit)
                {
                    throw new MalformedMessageException($"Frame of kind {kind} with {size} bytes (at most {limit})");
                }

                var body = new byte[size];
                body[0] = header[4];
                await stream.ReadExactlyAsync(body.AsMemory(1), _stopping.Token).ConfigureAwait(false);
                if (fromClient)
                {
                    var request = ClientFrameCodec.Decode(body, 0, 0);
                    _ = Task.Run(() => ServeClientAsync(request, stream, writeGate, connection.Token));
                    continue;
                }

                var message = QuorumMessageCodec.Decode(body, _options.MaxEntriesPerAppend, _options.MaxRecordBytes);
                if (message.To != _nodeId || !_peers.ContainsKey(message.From))
                {
                    throw new MalformedMessageException($"Quorum message from {message.From} to {message.To} reached voter {_nodeId}");
                }

                _deliver(message);
            }
        }
        catch (MalformedMessageException e)
        {
            _logger.QuorumConnectionRejected(_nodeId, remote, e.Message);
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or IOException or EndOfStreamException
                                      or SocketException)
        {
            // The peer went away or we are stopping; it reconnects on its own.
        }
        finally
        {
            // Requests still being served on this connection have nobody to answer to.
            await connection.CancelAsync().ConfigureAwait(false);
        }
    }

    private async Task ServeClientAsync(ClientFrame request, NetworkStream stream, SemaphoreSlim writeGate, CancellationToken cancellationToken)
    {
        try
        {
            var response = await _serveClient(request, cancellationToken).ConfigureAwait(false);
            byte[] frame = ClientFrameCodec.Encode(response);
            await writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await stream.WriteAsync(frame, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                writeGate.Release();
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or IOException or SocketException)
        {
            // The caller went away or we are stopping; it retries elsewhere.
        }
    }

    private async Task SendLoopAsync(Peer peer)
    {
        NetworkStream? stream = null;
        long nextConnectAt = 0;
        try
        {
            await foreach (byte[] frame in peer.Queue.Reader.ReadAllAsync(_stopping.Token).ConfigureAwait(false))
            {
                if (stream is null)
                {
                    if (Environment.TickCount64 < nextConnectAt)
                    {
                        continue; // peer recently unreachable: drop, Raft re-sends what still matters
                    }

                    stream = await ConnectAsync(peer.Voter).ConfigureAwait(false);
                    if (stream is null)
                    {
                        nextConnectAt = Environment.TickCount64 + (long)ReconnectBackoff.TotalMilliseconds;
                        continue;
                    }
                }

                try
                {
                    await stream.WriteAsync(frame, _stopping.Token).ConfigureAwait(false);
                }
                catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
                {
                    await stream.DisposeAsync().ConfigureAwait(false);
                    stream = null;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            if (stream is not null)
            {
                await stream.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private async Task<NetworkStream?> ConnectAsync(QuorumVoter voter)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        timeout.CancelAfter(_options.ConnectTimeout);
        try
        {
            await socket.ConnectAsync(voter.Host, voter.Port, timeout.Token).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            socket.Dispose();
            if (!_stopping.IsCancellationRequested)
            {
                _logger.QuorumPeerUnreachable(_nodeId, voter.Id, e.Message);
            }

            return null;
        }
    }

    private sealed class Peer(QuorumVoter voter)
    {
        public QuorumVoter Voter { get; } = voter;

        public Channel<byte[]> Queue { get; } = Channel.CreateBounded<byte[]>(
            new BoundedChannelOptions(PeerQueueCapacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
    }
}
