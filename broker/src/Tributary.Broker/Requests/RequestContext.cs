using Tributary.Protocol;

namespace Tributary.Broker.Requests;

/// <summary>Who is connected: the connection's id and the peer's address.</summary>
public sealed record ClientSession(string ConnectionId, string Remote);

/// <summary>Everything a handler may want to know about a request besides its body.</summary>
public sealed record RequestContext(RequestHeader Header, ClientSession Session, string ApiName)
{
    private readonly TaskCompletionSource _orderedPartDone = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public short ApiVersion => Header.ApiVersion;
    public string? ClientId => Header.ClientId;

    /// <summary>
    /// Completes when the part of this request whose order matters on the connection is done (for Produce: the appends),
    /// so the connection may start on the next request while this one waits (acks=all replication). Handlers that never
    /// signal it are treated as fully ordered: the next request starts once this one has its response.
    /// </summary>
    public Task OrderedPartDone => _orderedPartDone.Task;

    /// <summary>Says the order-sensitive part of the request is done (see <see cref="OrderedPartDone"/>).</summary>
    public void CompleteOrderedPart() => _orderedPartDone.TrySetResult();
}
