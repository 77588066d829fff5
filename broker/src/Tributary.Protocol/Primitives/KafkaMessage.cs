namespace Tributary.Protocol;

/// <summary>A generated Kafka request or response body that can serialize itself in any version it supports.</summary>
public interface IKafkaMessage
{
    /// <summary>The API key of the message (Produce = 0, Fetch = 1, …).</summary>
    short ApiKeyValue { get; }

    /// <summary>Writes the body (no header, no length prefix) in <paramref name="version"/>.</summary>
    void Write(KafkaWriter writer, short version);
}

/// <summary>A generated request body.</summary>
public interface IRequestMessage : IKafkaMessage
{
}

/// <summary>A generated response body.</summary>
public interface IResponseMessage : IKafkaMessage
{
}
