using Tributary.Protocol;

namespace Tributary.Broker.Requests;

/// <summary>Who is connected: the connection's id and the peer's address.</summary>
public sealed record ClientSession(string ConnectionId, string Remote);

/// <summary>Everything a handler may want to know about a request besides its body.</summary>
public sealed record RequestContext(RequestHeader Header, ClientSession Session, string ApiName)
{
    public short ApiVersion => Header.ApiVersion;
    public string? ClientId => Header.ClientId;
}
