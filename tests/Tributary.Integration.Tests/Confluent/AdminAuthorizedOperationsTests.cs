using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Tributary.Integration.Tests.Groups;
using Tributary.Integration.Tests.Harness;
using Xunit.Abstractions;

namespace Tributary.Integration.Tests.Confluent;

/// <summary>
/// include_authorized_operations (KIP-430) as Confluent.Kafka's AdminClient asks for it: without an authorizer Kafka
/// answers every operation the resource type has, and nothing (null) when it was not asked.
/// </summary>
public sealed class AdminAuthorizedOperationsTests : IClassFixture<GroupBrokerFixture>, IDisposable
{
    private static readonly AclOperation[] ClusterOperations =
    [
        AclOperation.Create, AclOperation.Alter, AclOperation.Describe, AclOperation.ClusterAction, AclOperation.DescribeConfigs,
        AclOperation.AlterConfigs, AclOperation.IdempotentWrite,
    ];

    private static readonly AclOperation[] TopicOperations =
    [
        AclOperation.Read, AclOperation.Write, AclOperation.Create, AclOperation.Delete, AclOperation.Alter, AclOperation.Describe,
        AclOperation.DescribeConfigs, AclOperation.AlterConfigs,
    ];

    private static readonly AclOperation[] GroupOperations =
    [
        AclOperation.Read, AclOperation.Delete, AclOperation.Describe, AclOperation.DescribeConfigs, AclOperation.AlterConfigs,
    ];

    private readonly BrokerProcess broker;
    private readonly KafkaClients clients;

    public AdminAuthorizedOperationsTests(GroupBrokerFixture fixture, ITestOutputHelper output)
    {
        broker = fixture.Broker;
        broker.Log.Attach(output);
        clients = new KafkaClients(broker, broker.Log);
    }

    public void Dispose() => broker.Log.Attach(null);

    [Fact]
    public async Task DescribeCluster_with_authorized_operations_lists_the_seven_cluster_operations()
    {
        using var admin = clients.CreateAdmin();

        var described = await admin.DescribeClusterAsync(new DescribeClusterOptions { IncludeAuthorizedOperations = true, RequestTimeout = KafkaClients.AdminTimeout });
        var plain = await admin.DescribeClusterAsync(new DescribeClusterOptions { RequestTimeout = KafkaClients.AdminTimeout });

        Assert.Equal(ClusterOperations.Order(), described.AuthorizedOperations.Order());
        Assert.Null(plain.AuthorizedOperations);
    }

    [Fact]
    public async Task DescribeTopics_with_authorized_operations_lists_the_eight_topic_operations()
    {
        var topic = KafkaClients.UniqueTopic("authorized-ops");
        await clients.CreateTopicAsync(topic, 1);
        using var admin = clients.CreateAdmin();

        var described = await admin.DescribeTopicsAsync(TopicCollection.OfTopicNames([topic]),
            new DescribeTopicsOptions { IncludeAuthorizedOperations = true, RequestTimeout = KafkaClients.AdminTimeout });
        var plain = await admin.DescribeTopicsAsync(TopicCollection.OfTopicNames([topic]),
            new DescribeTopicsOptions { RequestTimeout = KafkaClients.AdminTimeout });

        Assert.Equal(TopicOperations.Order(), described.TopicDescriptions.Single().AuthorizedOperations.Order());
        Assert.Null(plain.TopicDescriptions.Single().AuthorizedOperations);
    }

    [Fact]
    public async Task DescribeConsumerGroups_with_authorized_operations_lists_the_group_operations()
    {
        var topic = KafkaClients.UniqueTopic("authorized-ops-group");
        var group = GroupBrokerSettings.UniqueGroup("authorized-ops");
        await clients.CreateTopicAsync(topic, 1);
        using (var consumer = new ConsumerBuilder<byte[], byte[]>(GroupBrokerSettings.ConsumerConfig(broker, group)).Build())
        {
            consumer.Commit([new TopicPartitionOffset(topic, 0, 0)]);
        }

        using var admin = clients.CreateAdmin();
        var described = await admin.DescribeConsumerGroupsAsync([group],
            new DescribeConsumerGroupsOptions { IncludeAuthorizedOperations = true, RequestTimeout = KafkaClients.AdminTimeout });
        var plain = await admin.DescribeConsumerGroupsAsync([group], new DescribeConsumerGroupsOptions { RequestTimeout = KafkaClients.AdminTimeout });

        var description = described.ConsumerGroupDescriptions.Single();
        Assert.Equal(ConsumerGroupState.Empty, description.State);
        Assert.Equal(GroupOperations.Order(), description.AuthorizedOperations.Order());
        Assert.Null(plain.ConsumerGroupDescriptions.Single().AuthorizedOperations);
    }
}
