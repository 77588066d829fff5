using Tributary.Protocol;

namespace Tributary.Broker.Groups;

/// <summary>The bits of the consumer's embedded protocol (ConsumerProtocolSubscription) the coordinator needs to read.</summary>
public static class ConsumerProtocol
{
    /// <summary>protocol_type of Kafka consumers.</summary>
    public const string ProtocolType = "consumer";

    private const int MaxTopics = 100_000;

    /// <summary>
    /// The topics of a subscription (versions 0-3 share the leading int16 version and topics array; they're not
    /// flexible). Empty when the bytes are not a subscription we can parse: the caller treats the member as
    /// subscribed to nothing, like Kafka does for unparseable metadata.
    /// </summary>
    public static IReadOnlyList<string> SubscribedTopics(byte[] subscription)
    {
        try
        {
            var reader = new KafkaReader(subscription);
            var version = reader.ReadInt16();
            if (version < 0)
            {
                return [];
            }

            var count = reader.ReadInt32();
            if (count is < 0 or > MaxTopics)
            {
                return [];
            }

            var topics = new List<string>(Math.Min(count, 1024));
            for (int i = 0; i < count; i++)
            {
                topics.Add(reader.ReadString(compact: false));
            }

            return topics;
        }
        catch (MalformedMessageException)
        {
            return [];
        }
    }
}
