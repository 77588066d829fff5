using Confluent.Kafka;
using Confluent.Kafka.Admin;

namespace Tributary.Operator.E2E.Harness;

/// <summary>A real Kafka client (librdkafka through Confluent.Kafka) pointed at the brokers the node double runs.</summary>
public static class KafkaProbe
{
    public static IAdminClient Admin(string bootstrap) => new AdminClientBuilder(new AdminClientConfig
    {
        BootstrapServers = bootstrap,
        SocketTimeoutMs = 10000,
        // DNS names come from /etc/hosts lines the double changes: never cache a failed lookup for long.
        BrokerAddressTtl = 1000,
    }).Build();

    public static Metadata Metadata(string bootstrap)
    {
        using var admin = Admin(bootstrap);
        return admin.GetMetadata(TimeSpan.FromSeconds(10));
    }

    public static async Task<TopicDescription?> DescribeTopicAsync(string bootstrap, string topic)
    {
        using var admin = Admin(bootstrap);
        try
        {
            var result = await admin.DescribeTopicsAsync(TopicCollection.OfTopicNames([topic]), new DescribeTopicsOptions { RequestTimeout = TimeSpan.FromSeconds(10) });
            return result.TopicDescriptions.Single();
        }
        catch (DescribeTopicsException e) when (e.Results.TopicDescriptions.Single().Error.Code == ErrorCode.UnknownTopicOrPart)
        {
            return null;
        }
    }

    public static async Task<Dictionary<string, string>> TopicConfigAsync(string bootstrap, string topic)
    {
        using var admin = Admin(bootstrap);
        var result = await admin.DescribeConfigsAsync([new ConfigResource { Type = ResourceType.Topic, Name = topic }], new DescribeConfigsOptions { RequestTimeout = TimeSpan.FromSeconds(10) });
        return result.Single().Entries.ToDictionary(e => e.Key, e => e.Value.Value);
    }
}
