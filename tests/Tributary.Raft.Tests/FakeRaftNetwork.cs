using Tributary.Raft.Transport;

namespace Tributary.Raft.Tests;

/// <summary>A test double of the network below the quorum (the layer under test): messages queue here and are delivered
/// only when the test calls <see cref="DeliverAll"/>, on the test's thread, so a test with a fake clock decides exactly
/// what happens in which order. Nodes can be cut off (<see cref="Isolate"/>): their messages are dropped both ways.</summary>
internal sealed class FakeRaftNetwork
{
    private readonly Lock _gate = new();
    private readonly Queue<QuorumMessage> _queue = new();
    private readonly Dictionary<int, Action<QuorumMessage>> _receivers = [];
    private readonly HashSet<int> _isolated = [];

    public IRaftTransport TransportFor(int nodeId) => new Endpoint(this, nodeId);

    public void Isolate(int nodeId)
    {
        lock (_gate)
        {
            _isolated.Add(nodeId);
        }
    }

    /// <summary>Delivers queued messages, and those their handling sends, until none is left; returns how many.</summary>
    public int DeliverAll()
    {
        int delivered = 0;
        while (true)
        {
            QuorumMessage message;
            Action<QuorumMessage>? receiver;
            lock (_gate)
            {
                if (_queue.Count == 0)
                {
                    return delivered;
                }

                message = _queue.Dequeue();
                if (_isolated.Contains(message.From) || _isolated.Contains(message.To) || !_receivers.TryGetValue(message.To, out receiver))
                {
                    continue;
                }
            }

            receiver(message);
            delivered++;
            Assert.True(delivered < 100_000, "the quorum keeps sending without time passing");
        }
    }

    private sealed class Endpoint(FakeRaftNetwork network, int nodeId) : IRaftTransport
    {
        public void Start(Action<QuorumMessage> deliver, Func<ClientFrame, CancellationToken, Task<ClientFrame>> serve)
        {
            lock (network._gate)
            {
                network._receivers[nodeId] = deliver;
            }
        }

        public void Send(QuorumMessage message)
        {
            lock (network._gate)
            {
                network._queue.Enqueue(message);
            }
        }

        public Task<ClientFrame> CallAsync(int voterId, Func<int, ClientFrame> buildRequest, CancellationToken cancellationToken) =>
            Task.FromException<ClientFrame>(new IOException("The fake network carries Raft messages only"));

        public ValueTask StopAsync(bool drain)
        {
            lock (network._gate)
            {
                network._receivers.Remove(nodeId);
            }

            return ValueTask.CompletedTask;
        }

        public ValueTask DisposeAsync() => StopAsync(drain: false);
    }
}
