using System.Globalization;
using Confluent.Kafka;
using Tributary.Integration.Tests.Confluent;
using Xunit.Abstractions;

namespace Tributary.Integration.Tests.Cluster;

/// <summary>Dynamic broker configs (KIP-226) on three broker processes: set through one broker, applied by all, kept across restarts.</summary>
public sealed class DynamicBrokerConfigClusterTests(ITestOutputHelper output)
{
    private const sbyte TopicResourceType = 2;
    private const sbyte DynamicDefaultBrokerConfig = 3;
    private const string SmallMessageMaxBytes = "2000";
    private static readonly TimeSpan PropagationTimeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Cluster_default_set_through_broker_1_limits_produce_on_every_broker_and_survives_a_restart()
    {
        await using var cluster = await ClusterProcess.StartAsync(output, new ClusterOptions { Brokers = 3 });
        var clients = new ClusterClients(cluster);
        var topic = $"dynamic-{Guid.NewGuid():N}"[..24];
        await clients.CreateTopicAsync(topic, 3, replicationFactor: 3);
        var first = cluster.Broker(1);
        var third = cluster.Broker(3);

        await ClusterDefaultConfigs.SetAsync(first.Host, first.Ports.Kafka, "message.max.bytes", SmallMessageMaxBytes);

        // Broker 3 learns it from the metadata log: its own description and the topic's default both show the dynamic default.
        var onThird = await Eventually.ValueAsync(() => MessageMaxBytesAsync(third), e => e?.Value == SmallMessageMaxBytes, PropagationTimeout);
        Assert.Equal((SmallMessageMaxBytes, DynamicDefaultBrokerConfig), (onThird?.Value, onThird?.ConfigSource));
        var topicOnThird = (await ClusterDefaultConfigs.DescribeAsync(third.Host, third.Ports.Kafka, topic, TopicResourceType))
            .Configs.Single(c => c.Name == "max.message.bytes");
        Assert.Equal((SmallMessageMaxBytes, DynamicDefaultBrokerConfig), (topicOnThird.Value, topicOnThird.ConfigSource));

        // Each partition leader (placement spreads the 3 leaders over the brokers) refuses a batch over the new limit.
        Assert.True(await Eventually.ValueAsync(() => AllBrokersHaveItAsync(cluster), all => all, PropagationTimeout),
            $"Not every broker applied message.max.bytes={SmallMessageMaxBytes} within {PropagationTimeout}.");
        using (var producer = clients.CreateProducer(new ProducerConfig
        {
            BootstrapServers = cluster.BootstrapServers, Acks = Acks.All, MessageTimeoutMs = 15_000,
            EnableIdempotence = false, MessageSendMaxRetries = 0,
        }))
        {
            for (var partition = 0; partition < 3; partition++)
            {
                var large = new string('x', 4_000);
                var error = await Assert.ThrowsAsync<ProduceException<string, string>>(() =>
                    producer.ProduceAsync(new TopicPartition(topic, partition), new Message<string, string> { Value = large }));
                Assert.Equal(ErrorCode.MsgSizeTooLarge, error.Error.Code);
                var small = await producer.ProduceAsync(new TopicPartition(topic, partition), new Message<string, string> { Value = "fits" });
                Assert.Equal(PersistenceStatus.Persisted, small.Status);
            }
        }

        await third.StopAsync();
        await third.RestartAsync();
        var afterRestart = await MessageMaxBytesAsync(third);
        Assert.Equal((SmallMessageMaxBytes, DynamicDefaultBrokerConfig), (afterRestart?.Value, afterRestart?.ConfigSource));
    }

    private static async Task<bool> AllBrokersHaveItAsync(ClusterProcess cluster)
    {
        foreach (var broker in cluster.Brokers)
        {
            if ((await MessageMaxBytesAsync(broker))?.Value != SmallMessageMaxBytes)
            {
                return false;
            }
        }

        return true;
    }

    private static async Task<Protocol.Messages.DescribeConfigsResponse.DescribeConfigsResourceResult?> MessageMaxBytesAsync(ClusterBroker broker)
    {
        var described = await ClusterDefaultConfigs.DescribeAsync(broker.Host, broker.Ports.Kafka, broker.NodeId.ToString(CultureInfo.InvariantCulture));
        return described.Configs.SingleOrDefault(c => c.Name == "message.max.bytes");
    }
}
