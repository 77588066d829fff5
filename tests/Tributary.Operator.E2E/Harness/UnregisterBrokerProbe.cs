using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;

namespace Tributary.Operator.E2E.Harness;

/// <summary>
/// One raw UnregisterBroker v0 exchange (KIP-856, API key 64, flexible): no client we ship implements the API, and asking
/// for an id a second time is how a test learns that the registration is gone (BROKER_ID_NOT_REGISTERED, 102).
/// </summary>
public static class UnregisterBrokerProbe
{
    public const short BrokerIdNotRegistered = 102;

    private const short ApiKey = 64;
    private const int MaxResponseBytes = 64 * 1024;

    public static async Task<(short ErrorCode, string? ErrorMessage)> SendAsync(string hostPort, int brokerId, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var colon = hostPort.LastIndexOf(':');
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(hostPort[..colon], int.Parse(hostPort[(colon + 1)..]), cts.Token);
        var stream = tcp.GetStream();

        const int correlationId = 7;
        var clientId = "e2e-probe"u8.ToArray();
        // Request header v2: api key, version, correlation id, client id (int16-length string), tagged fields; body: broker id, tagged fields.
        var body = new byte[2 + 2 + 4 + 2 + clientId.Length + 1 + 4 + 1];
        var at = 0;
        BinaryPrimitives.WriteInt16BigEndian(body.AsSpan(at), ApiKey); at += 2;
        BinaryPrimitives.WriteInt16BigEndian(body.AsSpan(at), 0); at += 2;
        BinaryPrimitives.WriteInt32BigEndian(body.AsSpan(at), correlationId); at += 4;
        BinaryPrimitives.WriteInt16BigEndian(body.AsSpan(at), (short)clientId.Length); at += 2;
        clientId.CopyTo(body, at); at += clientId.Length;
        body[at++] = 0;
        BinaryPrimitives.WriteInt32BigEndian(body.AsSpan(at), brokerId); at += 4;
        body[at] = 0;
        var size = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(size, body.Length);
        await stream.WriteAsync(size, cts.Token);
        await stream.WriteAsync(body, cts.Token);

        await stream.ReadExactlyAsync(size, cts.Token);
        var length = BinaryPrimitives.ReadInt32BigEndian(size);
        if (length is < 4 + 1 + 4 + 2 + 1 or > MaxResponseBytes)
        {
            throw new InvalidDataException($"UnregisterBroker response of {length} bytes");
        }

        var response = new byte[length];
        await stream.ReadExactlyAsync(response, cts.Token);
        // Response header v1: correlation id, tagged fields (none expected); body: throttle, error code, compact nullable string.
        if (BinaryPrimitives.ReadInt32BigEndian(response) != correlationId || response[4] != 0)
        {
            throw new InvalidDataException("unexpected UnregisterBroker response header");
        }

        var errorCode = BinaryPrimitives.ReadInt16BigEndian(response.AsSpan(9));
        var stringLength = response[11] & 0x7f; // uvarint length + 1; our messages stay under 127 bytes or are null (0)
        if ((response[11] & 0x80) != 0 || 12 + stringLength - 1 > response.Length)
        {
            throw new InvalidDataException("UnregisterBroker error message too long for this probe");
        }

        var message = stringLength == 0 ? null : Encoding.UTF8.GetString(response, 12, stringLength - 1);
        return (errorCode, message);
    }
}
