using System.Text;
using Confluent.Kafka;

namespace Tributary.Integration.Tests.Harness;

/// <summary>Produces one record to a topic the broker should not know, to observe how the client reports it.</summary>
public static class UnknownTopicProbe
{
    /// <summary>
    /// librdkafka fails queued records with its local UNKNOWN_TOPIC (-188) once a Metadata response says
    /// UNKNOWN_TOPIC_OR_PARTITION (3) for the topic, or with code 3 itself when the broker rejects the produce; both
    /// mean the broker reported the topic as unknown.
    /// </summary>
    public static bool IsUnknownTopic(ErrorCode code) => code is ErrorCode.UnknownTopicOrPart or ErrorCode.Local_UnknownTopic;

    /// <summary>Returns the delivery error code (NoError if the record was, wrongly, accepted).</summary>
    public static ErrorCode ProduceOneAndReturnError(KafkaClients clients, string topic)
    {
        var config = clients.ProducerConfig();
        // librdkafka waits this long for a newly created topic to show up before giving up on it (default 30 s).
        config.TopicMetadataPropagationMaxMs = 1000;
        config.MessageTimeoutMs = 15_000;
        using var producer = clients.CreateProducer(config);
        var message = new Message<byte[]?, byte[]?> { Value = Encoding.UTF8.GetBytes("should not land") };
        var report = KafkaClients.ProduceAll(producer, topic, [message], TimeSpan.FromSeconds(20)).Single();
        clients.Broker.Log.WriteLine($"[probe] produce to {topic}: {report.Error.Code} ({report.Error.Reason})");
        return report.Error.Code;
    }
}
