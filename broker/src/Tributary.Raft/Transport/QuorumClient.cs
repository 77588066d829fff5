using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Tributary.Protocol;

namespace Tributary.Raft.Transport;

/// <summary>Client connections from this node (voter or observer) to the voters: one per voter, opened on first use,
/// carrying request/response pairs matched by correlation id (controller calls, observer fetches).</summary>
/// <remarks>A failed connection fails every request waiting on it with <see cref="IOException"/> and is reopened by the
/// next request; nothing is retried here, the callers decide (they may have to look for another leader).</remarks>
internal sealed class QuorumClient : IAsyncDisposable
{
    private readonly RaftQuorumOptions _options;
    private readonly ILogger _logger;
    private readonly Dictionary<int, QuorumVoter> _voters;
    private readonly ConcurrentDictionary<int, Connection> _connections = new();
    // One gate per voter: a connect that hangs (a voter paused or cut off, until ConnectTimeout) delays only the
    // requests to that voter, never those to the others.
    private readonly Dictionary<int, SemaphoreSlim> _connectGates;
    private readonly CancellationTokenSource _stopping = new();
    private readonly int _maxResponseBytes;
    private int _nextCorrelationId;

    public QuorumClient(RaftQuorumOptions options, ILogger logger)
    {
        _options = options;
        _logger = logger;
        _voters = options.Voters.ToDictionary(v => v.Id);
        _connectGates = options.Voters.ToDictionary(v => v.Id, _ => new SemaphoreSlim(1, 1));
        // A fetch answer holds entries up to the append cap, or one bigger entry, plus a term and length per entry.
        _maxResponseBytes = Math.Max(options.MaxControllerMessageBytes, TcpRaftTransport.MaxAppendBytes(options) + options.MaxRecordBytes)
                            + (12 * options.MaxEntriesPerAppend) + ClientFrameCodec.OverheadBytes;
    }

    /// <summary>Sends the request built for a fresh correlation id to a voter and waits for its response.</summary>
    /// <exception cref="IOException">The voter could not be reached, or the connection failed before the response.</exception>
    public async Task<ClientFrame> SendAsync(int voterId, Func<int, ClientFrame> buildRequest, CancellationToken cancellationToken)
    {
        if (!_voters.TryGetValue(voterId, out var voter))
        {
            throw new IOException($"Node {voterId} is not a voter");
        }

        var connection = await ConnectAsync(voter, cancellationToken).ConfigureAwait(false);
        int correlationId = Interlocked.Increment(ref _nextCorrelationId);
        var response = new TaskCompletionSource<ClientFrame>(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.Pending[correlationId] = response;
        try
        {
            if (connection.Failed)
            {
                throw new IOException($"Connection to voter {voterId} failed");
            }

            byte[] frame = ClientFrameCodec.Encode(buildRequest(correlationId));
            await connection.WriteGate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await connection.Stream.WriteAsync(frame, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException)
            {
                Fail(voterId, connection);
                throw new IOException($"Connection to voter {voterId} failed: {e.Message}", e);
            }
            finally
            {
                connection.WriteGate.Release();
            }

            return await response.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            connection.Pending.TryRemove(correlationId, out _);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        var receivers = new List<Task>();
        foreach (var (voterId, connection) in _connections)
        {
            receivers.Add(connection.Receiver);
            Fail(voterId, connection);
        }

        await Task.WhenAll(receivers).ConfigureAwait(false);
        _stopping.Dispose();
        foreach (var gate in _connectGates.Values)
        {
            gate.Dispose();
        }
    }

    private async Task<Connection> ConnectAsync(QuorumVoter voter, CancellationToken cancellationToken)
    {
        if (_connections.TryGetValue(voter.Id, out var existing) && !existing.Failed)
        {
            return existing;
        }

        var gate = _connectGates[voter.Id];
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_connections.TryGetValue(voter.Id, out existing) && !existing.Failed)
            {
                return existing;
            }

            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
            timeout.CancelAfter(_options.ConnectTimeout);
            try
            {
                await socket.ConnectAsync(voter.Host, voter.Port, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                socket.Dispose();
                throw new IOException($"Cannot reach voter {voter.Id}: {e.Message}", e);
            }

            var connection = new Connection(new NetworkStream(socket, ownsSocket: true));
            connection.Receiver = Task.Run(() => ReceiveLoopAsync(voter.Id, connection));
            _connections[voter.Id] = connection; // if it already failed, the next request sees Failed and reconnects
            return connection;
        }
        finally
        {
            gate.Release();
        }
    }

    private async Task ReceiveLoopAsync(int voterId, Connection connection)
    {
        var header = new byte[4];
        try
        {
            while (!_stopping.IsCancellationRequested)
            {
                await connection.Stream.ReadExactlyAsync(header, _stopping.Token).ConfigureAwait(false);
                int size = BinaryPrimitives.ReadInt32BigEndian(header);
                if (size <= 0 || size > _maxResponseBytes)
                {
                    throw new MalformedMessageException($"Client response of {size} bytes (at most {_maxResponseBytes})");
                }

                var body = new byte[size];
                await connection.Stream.ReadExactlyAsync(body, _stopping.Token).ConfigureAwait(false);
                var frame = ClientFrameCodec.Decode(body, _options.MaxEntriesPerAppend, _options.MaxRecordBytes);
                if (frame is not (ControllerCallResponse or FetchCommittedResponse or FetchSnapshotResponse))
                {
                    throw new MalformedMessageException($"Voter {voterId} sent a {frame.GetType().Name} on a client connection");
                }

                if (connection.Pending.TryRemove(frame.CorrelationId, out var waiter))
                {
                    waiter.TrySetResult(frame);
                }
            }
        }
        catch (MalformedMessageException e)
        {
            _logger.QuorumClientConnectionRejected(_options.NodeId, voterId, e.Message);
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or IOException or EndOfStreamException
                                      or SocketException)
        {
            // The voter went away or we are stopping; the callers see the failure below.
        }

        Fail(voterId, connection);
    }

    private void Fail(int voterId, Connection connection)
    {
        connection.Failed = true;
        _connections.TryRemove(new KeyValuePair<int, Connection>(voterId, connection));
        connection.Stream.Dispose();
        foreach (var correlationId in connection.Pending.Keys)
        {
            if (connection.Pending.TryRemove(correlationId, out var waiter))
            {
                waiter.TrySetException(new IOException($"Connection to voter {voterId} closed"));
            }
        }
    }

    private sealed class Connection(NetworkStream stream)
    {
        public NetworkStream Stream { get; } = stream;

        public SemaphoreSlim WriteGate { get; } = new(1, 1);

        public ConcurrentDictionary<int, TaskCompletionSource<ClientFrame>> Pending { get; } = new();

        private volatile bool _failed;

        public Task Receiver { get; set; } = Task.CompletedTask;

        public bool Failed
        {
            get => _failed;
            set => _failed = value;
        }
    }
}
