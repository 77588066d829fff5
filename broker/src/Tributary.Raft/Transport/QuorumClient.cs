using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Tributary.Protocol;

namespace Tributary.Raft.Transport;

/// <summary>This node's connections to the voters' quorum listeners, on Kafka's wire (<see cref="QuorumWire"/>): one
/// per voter, opened on first use, carrying requests and their responses matched by correlation id — the voter
/// messages this node sends (Vote, AppendEntries, …, answered by the receiver's Raft reply) and its client calls
/// (controller calls, observer fetches).</summary>
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
    private readonly string _clientId;
    private int _nextCorrelationId;

    public QuorumClient(RaftQuorumOptions options, ILogger logger)
    {
        _options = options;
        _logger = logger;
        _voters = options.Voters.ToDictionary(v => v.Id);
        _connectGates = options.Voters.ToDictionary(v => v.Id, _ => new SemaphoreSlim(1, 1));
        _maxResponseBytes = QuorumTransport.MaxFrameBytes(options);
        _clientId = $"tributary-raft-{options.NodeId}";
    }

    /// <summary>Sends a client frame built for a fresh correlation id to a voter and waits for its answer.</summary>
    /// <exception cref="IOException">The voter could not be reached, or the connection failed before the response.</exception>
    public async Task<ClientFrame> SendAsync(int voterId, Func<int, ClientFrame> buildRequest, CancellationToken cancellationToken)
    {
        int correlationId = Interlocked.Increment(ref _nextCorrelationId);
        var request = QuorumWire.ToRequest(buildRequest(correlationId));
        var answered = await SendRequestAsync(voterId, request, correlationId, cancellationToken).ConfigureAwait(false);
        var response = await answered.ConfigureAwait(false);
        try
        {
            return QuorumWire.FromResponse(response, correlationId, _options.MaxEntriesPerAppend, _options.MaxRecordBytes);
        }
        catch (MalformedMessageException e)
        {
            throw new IOException($"Voter {voterId} answered with a malformed response: {e.Message}", e);
        }
    }

    /// <summary>Writes a request to a voter; completes once it is written, with the task of its response (which fails
    /// with <see cref="IOException"/> when the connection fails first, or is cancelled with
    /// <paramref name="cancellationToken"/>). Requests written by one caller in sequence reach the voter in order.</summary>
    /// <exception cref="IOException">The voter could not be reached, or the write failed.</exception>
    public Task<Task<IResponseMessage>> SendRequestAsync(int voterId, IRequestMessage request, CancellationToken cancellationToken) =>
        SendRequestAsync(voterId, request, Interlocked.Increment(ref _nextCorrelationId), cancellationToken);

    private async Task<Task<IResponseMessage>> SendRequestAsync(int voterId, IRequestMessage request, int correlationId,
        CancellationToken cancellationToken)
    {
        if (!_voters.TryGetValue(voterId, out var voter))
        {
            throw new IOException($"Node {voterId} is not a voter");
        }

        var connection = await ConnectAsync(voter, cancellationToken).ConfigureAwait(false);
        var pending = new Pending(request.ApiKeyValue);
        connection.Pending[correlationId] = pending;
        try
        {
            if (connection.Failed)
            {
                throw new IOException($"Connection to voter {voterId} failed");
            }

            byte[] frame = QuorumWire.EncodeRequestFrame(request, correlationId, _clientId);
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
            catch (OperationCanceledException)
            {
                // Part of the frame may be out: the connection cannot carry another one.
                Fail(voterId, connection);
                throw;
            }
            finally
            {
                connection.WriteGate.Release();
            }
        }
        catch
        {
            connection.Pending.TryRemove(correlationId, out _);
            throw;
        }

        return AwaitResponseAsync(connection, correlationId, pending, cancellationToken);
    }

    private static async Task<IResponseMessage> AwaitResponseAsync(Connection connection, int correlationId, Pending pending,
        CancellationToken cancellationToken)
    {
        try
        {
            return await pending.Response.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
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
        var sizePrefix = new byte[4];
        try
        {
            while (!_stopping.IsCancellationRequested)
            {
                await connection.Stream.ReadExactlyAsync(sizePrefix, _stopping.Token).ConfigureAwait(false);
                int size = BinaryPrimitives.ReadInt32BigEndian(sizePrefix);
                if (size < 4 || size > _maxResponseBytes)
                {
                    throw new MalformedMessageException($"Response frame of {size} bytes (at most {_maxResponseBytes})");
                }

                var frame = new byte[size];
                await connection.Stream.ReadExactlyAsync(frame, _stopping.Token).ConfigureAwait(false);
                int correlationId = QuorumWire.PeekResponseCorrelationId(frame);
                if (!connection.Pending.TryRemove(correlationId, out var waiter))
                {
                    continue; // its caller gave up waiting
                }

                var (_, response) = QuorumWire.DecodeResponseFrame(frame, waiter.ApiKey);
                waiter.Response.TrySetResult(response);
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
                waiter.Response.TrySetException(new IOException($"Connection to voter {voterId} closed"));
            }
        }
    }

    /// <summary>A request waiting for its response: the api key says how to read it.</summary>
    private sealed class Pending(short apiKey)
    {
        public short ApiKey { get; } = apiKey;

        public TaskCompletionSource<IResponseMessage> Response { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed class Connection(NetworkStream stream)
    {
        public NetworkStream Stream { get; } = stream;

        public SemaphoreSlim WriteGate { get; } = new(1, 1);

        public ConcurrentDictionary<int, Pending> Pending { get; } = new();

        private volatile bool _failed;

        public Task Receiver { get; set; } = Task.CompletedTask;

        public bool Failed
        {
            get => _failed;
            set => _failed = value;
        }
    }
}
