namespace Tributary.Protocol;

/// <summary>Thrown when bytes from the wire do not form a valid Kafka message (truncated, bad length, bad varint…).</summary>
/// <remarks>Callers at the connection edge treat this as "close this connection", never as a broker bug.</remarks>
public sealed class MalformedMessageException : Exception
{
    public MalformedMessageException(string message)
        : base(message)
    {
    }

    public MalformedMessageException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
