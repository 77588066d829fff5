using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Tributary.Protocol;

namespace Tributary.Raft.Transport;

/// <summary>The quorum on Kafka's wire (<see cref="QuorumWire"/>): a voter's quorum listener answers Kafka-framed
/// requests — ApiVersions, the voter APIs (Vote, EndQuorumEpoch, AppendEntries, InstallSnapshot) and the client APIs
/// (ControllerCall, FetchCommitted, FetchSnapshot) — and everything this node sends goes out through one
/// <see cref="QuorumClient"/>.</summary>
/// <remarks>Raft here is message-passing; on Kafka's wire a voter message is a request and the receiver's Raft answer
/// (which the algorithm hands back synchronously while handling it) is returned as that request's response. Delivery is
/// best effort by design: Raft retries everything it needs (heartbeats re-send entries, candidates re-run elections), so
/// a message that finds its peer down (back-off) or its queue full is dropped rather than buffered. A frame that is
/// oversized, malformed or of an api this listener does not serve closes that one connection, with a logged reason.</remarks>
internal sealed class QuorumTransport : IRaftTransport
{
    private const int PeerQueueCapacity = 1024;
    private static readonly TimeSpan ReconnectBackoff = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan DrainLimit = TimeSpan.FromMilliseconds(100);

    /// <summary>The answer the algorithm gives while this thread delivers a voter request (Raft answers synchronously,
    /// under its lock), so the receive loop can send it back as the request's response.</summary>
    [ThreadStatic]
    private static ReplyCapture? t_capture;

    private readonly int _nodeId;
    private readonly RaftQuorumOptions _options;
    private readonly QuorumClient _client;
    private readonly ILogger _logger;
    private readonly int _maxFrameBytes;
    private readonly Dictionary<int, Peer> _peers = [];
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Task> _loops = [];
    private readonly List<Task> _sendLoops = [];
    private readonly List<Socket> _inbound = [];
    private readonly Lock _inboundGate = new();
    private Action<QuorumMessage> _deliver = static _ => { };
    private Func<ClientFrame, CancellationToken, Task<ClientFrame>> _serveClient = static (_, _) => throw new InvalidOperationException("Not serving");
    private Socket? _listener;

    public QuorumTransport(RaftQuorumOptions options, ILogger logger)
    {
        _nodeId = options.NodeId;
        _options = options;
        _client = new QuorumClient(options, logger);
        _logger = logger;
        _maxFrameBytes = MaxFrameBytes(options);
        foreach (var voter in options.Voters)
        {
            if (voter.Id != _nodeId)
            {
                _peers[voter.Id] = new Peer(voter);
            }
        }
    }

    /// <summary>Soft cap on the entry bytes of one append request or fetch answer (a single bigger entry is still sent alone).</summary>
    public static int MaxAppendBytes(RaftQuorumOptions options) => Math.Max(options.MaxRecordBytes, 1024 * 1024);

    /// <summary>Largest frame either side reads: a full append or fetch answer (entries up to the cap, or one bigger entry,
    /// each with its epoch and length) or a controller call, plus headers.</summary>
    public static int MaxFrameBytes(RaftQuorumOptions options) =>
        Math.Max(options.MaxControllerMessageBytes, MaxAppendBytes(options) + options.MaxRecordBytes) + (16 * options.MaxEntriesPerAppend) + 1024;

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

    /// <summary>The endpoint the listener is bound to (its port when the options asked for port 0).</summary>
    public EndPoint? LocalEndPoint => _listener?.LocalEndPoint;

    public void Send(QuorumMessage message)
    {
        if (message is VoteResponse or AppendResponse or InstallSnapshotResponse)
        {
            // An answer goes back as the response to the request being delivered on this thread; Raft gives none
            // outside that, and an answer cannot travel as a request on Kafka's wire.
            if (t_capture is { } capture && capture.Owner == this && capture.PeerId == message.To && capture.Reply is null)
            {
                capture.Reply = message;
            }

            return;
        }

        if (_peers.TryGetValue(message.To, out var peer))
        {
            peer.Queue.Writer.TryWrite(message);
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

    /// <summary>Serves one inbound connection: voter requests are delivered to Raft in order and answered at once with
    /// its reply; client requests (controller calls, observer fetches) are served off the Raft loop and answered when
    /// done, so their responses may overtake each other (Kafka clients match them by correlation id).</summary>
    private async Task ReceiveLoopAsync(Socket socket)
    {
        var sizePrefix = new byte[4];
        string remote = socket.RemoteEndPoint?.ToString() ?? "?";
        using var stream = new NetworkStream(socket, ownsSocket: true);
        using var connection = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        using var writeGate = new SemaphoreSlim(1, 1);
        try
        {
            while (!_stopping.IsCancellationRequested)
            {
                await stream.ReadExactlyAsync(sizePrefix, _stopping.Token).ConfigureAwait(false);
                int size = BinaryPrimitives.ReadInt32BigEndian(sizePrefix);
                if (size < RequestHeader.FixedPrefixLength || size > _maxFrameBytes)
                {
                    throw new MalformedMessageException($"Frame of {size} bytes (from {RequestHeader.FixedPrefixLength} to {_maxFrameBytes})");
                }

                var frame = new byte[size];
                await stream.ReadExactlyAsync(frame, _stopping.Token).ConfigureAwait(false);
                var (header, body) = QuorumWire.DecodeRequestFrame(frame);
                if (header.ApiKey == QuorumWire.ApiVersionsKey)
                {
                    bool unsupported = !Tributary.Protocol.Messages.ApiCatalog.IsSupported(header.ApiKey, header.ApiVersion);
                    short version = unsupported ? (short)0 : header.ApiVersion;
                    await WriteAsync(stream, writeGate, QuorumWire.EncodeResponseFrame(header.ApiKey, version, header.CorrelationId,
                        QuorumWire.ApiVersions(unsupported)), connection.Token).ConfigureAwait(false);
                    continue;
                }

                if (QuorumWire.IsVoterApi(header.ApiKey))
                {
                    var message = QuorumWire.FromRequest(body, _nodeId, _options.MaxEntriesPerAppend, _options.MaxRecordBytes);
                    if (!_peers.ContainsKey(message.From))
                    {
                        throw new MalformedMessageException($"{message.GetType().Name} from {message.From}, which is not another voter of {_nodeId}");
                    }

                    var reply = DeliverCapturingReply(message);
                    await WriteAsync(stream, writeGate, QuorumWire.EncodeResponseFrame(header.ApiKey, header.ApiVersion, header.CorrelationId,
                        QuorumWire.ToResponse(body, reply)), connection.Token).ConfigureAwait(false);
                    continue;
                }

                var request = QuorumWire.FromRequest(body, header.CorrelationId);
                if (request is ControllerCallRequest { Payload.Length: var length } && length > _options.MaxControllerMessageBytes)
                {
                    throw new MalformedMessageException($"Controller call of {length} bytes (at most {_options.MaxControllerMessageBytes})");
                }

                _ = Task.Run(() => ServeClientAsync(header.ApiKey, header.ApiVersion, request, stream, writeGate, connection.Token));
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

    private QuorumMessage? DeliverCapturingReply(QuorumMessage message)
    {
        var capture = new ReplyCapture(this, message.From);
        t_capture = capture;
        try
        {
            _deliver(message);
        }
        finally
        {
            t_capture = null;
        }

        return capture.Reply;
    }

    private async Task ServeClientAsync(short apiKey, short apiVersion, ClientFrame request, NetworkStream stream, SemaphoreSlim writeGate,
        CancellationToken cancellationToken)
    {
        try
        {
            var response = await _serveClient(request, cancellationToken).ConfigureAwait(false);
            byte[] frame = QuorumWire.EncodeResponseFrame(apiKey, apiVersion, request.CorrelationId, QuorumWire.ToResponse(response));
            await WriteAsync(stream, writeGate, frame, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or IOException or SocketException)
        {
            // The caller went away or we are stopping; it retries elsewhere.
        }
    }

    private static async Task WriteAsync(NetworkStream stream, SemaphoreSlim writeGate, byte[] frame, CancellationToken cancellationToken)
    {
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

    /// <summary>Sends one peer's messages in order over the shared client connection; a peer that cannot be reached is
    /// left alone for <see cref="ReconnectBackoff"/> (its messages dropped meanwhile). Answers are delivered as they arrive.</summary>
    private async Task SendLoopAsync(Peer peer)
    {
        long nextConnectAt = 0;
        var time = _options.TimeProvider;
        try
        {
            await foreach (var message in peer.Queue.Reader.ReadAllAsync(_stopping.Token).ConfigureAwait(false))
            {
                if (time.GetTimestamp() < nextConnectAt)
                {
                    continue; // peer recently unreachable: drop, Raft re-sends what still matters
                }

                // A peer that answers nothing within an election timeout (paused, cut off) fails the connection; the
                // answer would be stale by then anyway.
                var answerTimeout = new CancellationTokenSource(_options.ElectionTimeout, time);
                var linked = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token, answerTimeout.Token);
                Task<IResponseMessage> answered;
                try
                {
                    answered = await _client.SendRequestAsync(peer.Voter.Id, QuorumWire.ToRequest(message), linked.Token).ConfigureAwait(false);
                }
                catch (Exception e) when (e is IOException || (e is OperationCanceledException && !_stopping.IsCancellationRequested))
                {
                    linked.Dispose();
                    answerTimeout.Dispose();
                    if (!_stopping.IsCancellationRequested)
                    {
                        _logger.QuorumPeerUnreachable(_nodeId, peer.Voter.Id, e.Message);
                    }

                    nextConnectAt = time.GetTimestamp() + (long)(ReconnectBackoff.TotalSeconds * time.TimestampFrequency);
                    continue;
                }

                _ = DeliverAnswerAsync(peer.Voter.Id, answered, linked, answerTimeout);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task DeliverAnswerAsync(int peerId, Task<IResponseMessage> answered, CancellationTokenSource linked, CancellationTokenSource timeout)
    {
        try
        {
            var response = await answered.ConfigureAwait(false);
            if (QuorumWire.FromResponse(response, peerId, _nodeId) is { } reply)
            {
                _deliver(reply);
            }
        }
        catch (MalformedMessageException e)
        {
            _logger.QuorumClientConnectionRejected(_nodeId, peerId, e.Message);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
        {
            // No answer: Raft re-sends what still matters.
        }
        finally
        {
            linked.Dispose();
            timeout.Dispose();
        }
    }

    /// <summary>Where <see cref="Send"/> puts the answer to the request being delivered on this thread.</summary>
    private sealed class ReplyCapture(QuorumTransport owner, int peerId)
    {
        public QuorumTransport Owner { get; } = owner;

        public int PeerId { get; } = peerId;

        public QuorumMessage? Reply { get; set; }
    }

    private sealed class Peer(QuorumVoter voter)
    {
        public QuorumVoter Voter { get; } = voter;

        public Channel<QuorumMessage> Queue { get; } = Channel.CreateBounded<QuorumMessage>(
            new BoundedChannelOptions(PeerQueueCapacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
    }
}
