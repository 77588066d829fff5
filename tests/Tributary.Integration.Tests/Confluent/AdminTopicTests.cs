using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Tributary.Integration.Tests.Harness;
using Xunit.Abstractions;

namespace Tributary.Integration.Tests.Confluent;

/// <summary>Topic lifecycle through Confluent.Kafka's AdminClient: create (and its errors), grow, delete, describe the cluster.</summary>
public sealed class AdminTopicTests : IClassFixture<AdminBrokerFixture>, IDisposable
{
    private readonly BrokerProcess broker;
    private readonly KafkaClients clients;

    public AdminTopicTests(AdminBrokerFixture fixture, ITestOutputHelper output)
    {
        broker = fixture.Broker;
        broker.Log.Attach(output);
        clients = new KafkaClients(broker, broker.Log);
    }

    public void Dispose() => broker.Log.Attach(null);

    [Fact]
    public async Task CreateTopics_creates_topic_with_requested_partitions_led_by_the_broker()
    {
        var topic = KafkaClients.UniqueTopic("create");

        await clients.CreateTopicAsync(topic, partitions: 3);

        using var admin = clients.CreateAdmin();
        var metadata = admin.GetMetadata(topic, KafkaClients.AdminTimeout).Topics.Single();
        Assert.Equal(ErrorCode.NoError, metadata.Error.Code);
        Assert.Equal([0, 1, 2], metadata.Partitions.Select(p => p.PartitionId).Order());
        Assert.All(metadata.Partitions, p =>
        {
            Assert.Equal(BrokerProcess.NodeId, p.Leader);
            Assert.Equal([BrokerProcess.NodeId], p.Replicas);
            Assert.Equal([BrokerProcess.NodeId], p.InSyncReplicas);
        });
    }

    [Fact]
    public async Task CreateTopics_fails_with_TopicAlreadyExists_when_the_name_is_taken()
    {
        var topic = KafkaClients.UniqueTopic("twice");
        await clients.CreateTopicAsync(topic, partitions: 1);

        var error = await CreateTopicErrorAsync(new TopicSpecification { Name = topic, NumPartitions = 1, ReplicationFactor = 1 });

        Assert.Equal(ErrorCode.TopicAlreadyExists, error);
    }

    [Theory]
    [InlineData("has space")]
    [InlineData("slash/in/name")]
    [InlineData("..")]
    [InlineData("star*")]
    public async Task CreateTopics_fails_with_InvalidTopic_when_the_name_is_illegal(string name)
    {
        var error = await CreateTopicErrorAsync(new TopicSpecification { Name = name, NumPartitions = 1, ReplicationFactor = 1 });

        Assert.Equal(ErrorCode.TopicException, error); // INVALID_TOPIC_EXCEPTION (17)
    }

    [Fact]
    public async Task CreateTopics_fails_with_InvalidTopic_when_the_name_is_longer_than_249_characters()
    {
        var error = await CreateTopicErrorAsync(new TopicSpecification { Name = new string('a', 250), NumPartitions = 1, ReplicationFactor = 1 });

        Assert.Equal(ErrorCode.TopicException, error);
    }

    [Fact]
    public async Task CreateTopics_fails_with_InvalidReplicationFactor_when_factor_exceeds_broker_count()
    {
        var error = await CreateTopicErrorAsync(new TopicSpecification { Name = KafkaClients.UniqueTopic("rf3"), NumPartitions = 1, ReplicationFactor = 3 });

        Assert.Equal(ErrorCode.InvalidReplicationFactor, error);
    }

    [Theory]
    [InlineData("retention.ms", "not-a-number")]
    [InlineData("cleanup.policy", "sometimes")]
    [InlineData("min.insync.replicas", "0")]
    [InlineData("no.such.topic.config", "1")]
    public async Task CreateTopics_fails_with_InvalidConfig_when_a_config_is_invalid(string key, string value)
    {
        var spec = new TopicSpecification
        {
            Name = KafkaClients.UniqueTopic("badconfig"),
            NumPartitions = 1,
            ReplicationFactor = 1,
            Configs = new Dictionary<string, string> { [key] = value },
        };

        var error = await CreateTopicErrorAsync(spec);

        Assert.Equal(ErrorCode.InvalidConfig, error);
    }

    [Fact]
    public async Task CreateTopics_with_an_invalid_config_leaves_no_topic_behind()
    {
        var topic = KafkaClients.UniqueTopic("badconfig-gone");
        var control = KafkaClients.UniqueTopic("goodconfig-kept");
        await CreateTopicErrorAsync(new TopicSpecification
        {
            Name = topic, NumPartitions = 1, ReplicationFactor = 1, Configs = new Dictionary<string, string> { ["retention.ms"] = "x" },
        });
        await clients.CreateTopicAsync(control, partitions: 1);

        using var admin = clients.CreateAdmin();
        var listed = admin.GetMetadata(KafkaClients.AdminTimeout).Topics.Select(t => t.Topic).ToList();
        Assert.Contains(control, listed); // the listing works, so the absence below means something
        Assert.DoesNotContain(topic, listed);
    }

    [Fact]
    public async Task CreatePartitions_grows_a_topic_from_3_to_6_partitions()
    {
        var topic = KafkaClients.UniqueTopic("grow");
        await clients.CreateTopicAsync(topic, partitions: 3);
        using var admin = clients.CreateAdmin();

        await admin.CreatePartitionsAsync(
            [new PartitionsSpecification { Topic = topic, IncreaseTo = 6 }],
            new CreatePartitionsOptions { RequestTimeout = KafkaClients.AdminTimeout, OperationTimeout = KafkaClients.AdminTimeout });

        var partitions = admin.GetMetadata(topic, KafkaClients.AdminTimeout).Topics.Single().Partitions;
        Assert.Equal([0, 1, 2, 3, 4, 5], partitions.Select(p => p.PartitionId).Order());
        Assert.All(partitions, p => Assert.Equal(BrokerProcess.NodeId, p.Leader));
    }

    [Fact]
    public async Task CreatePartitions_fails_with_InvalidPartitions_when_the_count_would_shrink()
    {
        var topic = KafkaClients.UniqueTopic("shrink");
        await clients.CreateTopicAsync(topic, partitions: 3);
        using var admin = clients.CreateAdmin();

        var thrown = await Assert.ThrowsAsync<CreatePartitionsException>(() => admin.CreatePartitionsAsync(
            [new PartitionsSpecification { Topic = topic, IncreaseTo = 2 }],
            new CreatePartitionsOptions { RequestTimeout = KafkaClients.AdminTimeout, OperationTimeout = KafkaClients.AdminTimeout }));

        Assert.Equal(ErrorCode.InvalidPartitions, thrown.Results.Single().Error.Code);
        Assert.Equal(3, admin.GetMetadata(topic, KafkaClients.AdminTimeout).Topics.Single().Partitions.Count);
    }

    [Fact]
    public async Task DeleteTopics_removes_the_topic_from_metadata()
    {
        var topic = KafkaClients.UniqueTopic("delete");
        await clients.CreateTopicAsync(topic, partitions: 2);
        using var admin = clients.CreateAdmin();
        Assert.Contains(topic, admin.GetMetadata(KafkaClients.AdminTimeout).Topics.Select(t => t.Topic));

        await admin.DeleteTopicsAsync([topic], new DeleteTopicsOptions { RequestTimeout = KafkaClients.AdminTimeout, OperationTimeout = KafkaClients.AdminTimeout });

        // Kafka applies a deletion through the metadata log, so observers may see it a moment later: poll, bounded.
        var listed = await Eventually.ValueAsync(
            () => admin.GetMetadata(KafkaClients.AdminTimeout).Topics.Any(t => t.Topic == topic),
            stillListed => !stillListed,
            TimeSpan.FromSeconds(10));
        Assert.False(listed, $"{topic} is still listed in metadata 10 s after DeleteTopics.");
    }

    [Fact]
    public async Task Produce_to_a_deleted_topic_fails_with_unknown_topic_when_auto_create_is_disabled()
    {
        var topic = KafkaClients.UniqueTopic("deleted-produce");
        await clients.CreateTopicAsync(topic, partitions: 1);
        using (var admin = clients.CreateAdmin())
        {
            await admin.DeleteTopicsAsync([topic], new DeleteTopicsOptions { RequestTimeout = KafkaClients.AdminTimeout, OperationTimeout = KafkaClients.AdminTimeout });
        }

        var error = UnknownTopicProbe.ProduceOneAndReturnError(clients, topic);

        Assert.True(UnknownTopicProbe.IsUnknownTopic(error), $"Produce to deleted topic {topic} ended with {error}, expected an unknown-topic error.");
    }

    [Fact]
    public async Task DescribeCluster_reports_the_single_broker_and_it_as_controller()
    {
        using var admin = clients.CreateAdmin();

        var cluster = await admin.DescribeClusterAsync(new DescribeClusterOptions { RequestTimeout = KafkaClients.AdminTimeout });

        var node = Assert.Single(cluster.Nodes);
        Assert.Equal(BrokerProcess.NodeId, node.Id);
        Assert.Equal("127.0.0.1", node.Host);
        Assert.Equal(broker.KafkaPort, node.Port);
        Assert.NotNull(cluster.Controller);
        Assert.Equal(BrokerProcess.NodeId, cluster.Controller.Id);
        Assert.False(string.IsNullOrEmpty(cluster.ClusterId), "DescribeCluster returned no cluster id.");
    }

    private async Task<ErrorCode> CreateTopicErrorAsync(TopicSpecification spec)
    {
        using var admin = clients.CreateAdmin();
        var thrown = await Assert.ThrowsAsync<CreateTopicsException>(() => admin.CreateTopicsAsync(
            [spec], new CreateTopicsOptions { RequestTimeout = KafkaClients.AdminTimeout, OperationTimeout = KafkaClients.AdminTimeout }));
        return thrown.Results.Single().Error.Code;
    }
}
