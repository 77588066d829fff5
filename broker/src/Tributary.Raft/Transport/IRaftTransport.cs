namespace Tributary.Raft.Transport;

/// <summary>How a quorum node talks to the others: one-way Raft messages between voters (best effort: Raft re-sends
/// what still matters) and request/response calls from any node to a voter (controller calls, observer fetches).</summary>
internal interface IRaftTransport : IAsyncDisposable
{
    /// <summary>Starts serving (voters only): <paramref name="deliver"/> gets every Raft message addressed to this node,
    /// <paramref name="serve"/> answers every request from a caller.</summary>
    void Start(Action<QuorumMessage> deliver, Func<ClientFrame, CancellationToken, Task<ClientFrame>> serve);

    /// <summary>Queues a message to another voter; dropped when it cannot go out.</summary>
    void Send(QuorumMessage message);

    /// <summary>Sends the request built for a fresh correlation id to a voter and waits for its response.</summary>
    /// <exception cref="IOException">The voter could not be reached, or the connection failed before the response.</exception>
    Task<ClientFrame> CallAsync(int voterId, Func<int, ClientFrame> buildRequest, CancellationToken cancellationToken);

    /// <summary>Stops; with <paramref name="drain"/> queued messages get a short chance to go out first.</summary>
    ValueTask StopAsync(bool drain);
}
