using Tributary.Metadata.Records;
using Tributary.Protocol;

namespace Tributary.Controller.Tests.ActiveController;

public sealed class QuorumControllerTopicsTests
{
    private static readonly Dictionary<string, string?> NoConfigs = [];

    private static CreateTopicCommand Create(string name, int partitions, short replicationFactor, Dictionary<string, string?>? configs = null,
        bool validateOnly = false) =>
        new(new NewTopic(name, partitions, replicationFactor, null, configs ?? NoConfigs), validateOnly);

    [Fact]
    public async Task A_topic_with_more_partitions_than_one_quorum_entry_holds_is_written_in_consecutive_batches()
    {
        await using var cluster = await ControllerFixture.StartAsync();
        await cluster.AddBrokersAsync(1, 2, 3);
        var before = cluster.Log.Batches.Count;

        var reply = await cluster.SendAsync(Create("wide", 10_000, 1));

        Assert.Equal(ErrorCode.None, reply.Error);
        Assert.True(cluster.Log.Batches.Count - before > 1);
        Assert.Equal(10_000, cluster.Image.Topics["wide"].Partitions.Length);
        Assert.True(cluster.Image.Topics["wide"].Partitions.Select(p => p.Partition).SequenceEqual(Enumerable.Range(0, 10_000)));
    }

    [Fact]
    public async Task Creating_a_topic_writes_the_topic_its_partitions_and_configs_in_one_batch()
    {
        await using var cluster = await ControllerFixture.StartAsync();
        await cluster.AddBrokersAsync(1, 2, 3);

        var reply = await cluster.SendAsync(Create("orders", 3, 2, new() { ["retention.ms"] = "1000" }));

        Assert.Equal(ErrorCode.None, reply.Error);
        var batch = cluster.Log.Batches.Single(b => b.Offset == reply.Offset);
        Assert.Equal([MetadataRecordType.Topic, MetadataRecordType.Partition, MetadataRecordType.Partition, MetadataRecordType.Partition,
            MetadataRecordType.Config], batch.Records.Select(r => r.Type));
        var topic = cluster.Image.Topics["orders"];
        Assert.Equal(3, topic.Partitions.Length);
        Assert.All(topic.Partitions, p => Assert.Equal(2, p.Replicas.Length));
        Assert.All(topic.Partitions, p => Assert.Equal(p.Replicas.ToArray(), p.Isr.ToArray()));
        Assert.All(topic.Partitions, p => Assert.Equal(p.Replicas[0], p.Leader));
        Assert.Equal("1000", topic.Configs["retention.ms"]);
    }

    [Fact]
    public async Task Validate_only_creation_writes_nothing()
    {
        await using var cluster = await ControllerFixture.StartAsync();
        await cluster.AddBrokersAsync(1);
        var batches = cluster.Log.Batches.Count;

        var reply = await cluster.SendAsync(Create("orders", 1, 1, validateOnly: true));

        Assert.Equal(ErrorCode.None, reply.Error);
        Assert.Equal(batches, cluster.Log.Batches.Count);
        Assert.False(cluster.Image.Topics.ContainsKey("orders"));
    }

    [Fact]
    public async Task Creating_an_existing_topic_is_refused()
    {
        await using var cluster = await ControllerFixture.StartAsync();
        await cluster.AddBrokersAsync(1);
        await cluster.SendAsync(Create("orders", 1, 1));

        var reply = await cluster.SendAsync(Create("orders", 1, 1));

        Assert.Equal(ErrorCode.TopicAlreadyExists, reply.Error);
    }

    [Fact]
    public async Task Topic_names_colliding_in_metric_names_are_refused()
    {
        await using var cluster = await ControllerFixture.StartAsync();
        await cluster.AddBrokersAsync(1);
        await cluster.SendAsync(Create("a.b", 1, 1));

        var reply = await cluster.SendAsync(Create("a_b", 1, 1));

        Assert.Equal(ErrorCode.InvalidTopicException, reply.Error);
    }

    [Fact]
    public async Task Invalid_topic_configs_are_refused_with_the_validators_message()
    {
        var options = new QuorumControllerOptions { ValidateTopicConfig = (key, _) => key == "bogus" ? "Unknown topic config name: bogus" : null };
        await using var cluster = await ControllerFixture.StartAsync(options);
        await cluster.AddBrokersAsync(1);

        var reply = await cluster.SendAsync(Create("orders", 1, 1, new() { ["bogus"] = "1" }));

        Assert.Equal((ErrorCode.InvalidConfig, "Unknown topic config name: bogus"), (reply.Error, reply.Message));
    }

    [Fact]
    public async Task Replication_factor_above_the_active_brokers_is_refused()
    {
        await using var cluster = await ControllerFixture.StartAsync();
        await cluster.AddBrokersAsync(1, 2);
        await cluster.RegisterAsync(3); // registered but still fenced: does not count

        var reply = await cluster.SendAsync(Create("orders", 1, 3));

        Assert.Equal(ErrorCode.InvalidReplicationFactor, reply.Error);
    }

    [Fact]
    public async Task Automatic_placement_uses_only_active_brokers()
    {
        await using var cluster = await ControllerFixture.StartAsync();
        await cluster.AddBrokersAsync(1, 2, 3);
        await cluster.ExpireAsync(2);

        await cluster.SendAsync(Create("orders", 6, 2));

        Assert.All(cluster.Image.Topics["orders"].Partitions, p => Assert.DoesNotContain(2, p.Replicas));
    }

    [Fact]
    public async Task Rack_aware_placement_puts_the_replicas_of_a_partition_on_distinct_racks()
    {
        await using var cluster = await ControllerFixture.StartAsync();
        var racks = new Dictionary<int, string> { [1] = "a", [2] = "a", [3] = "b", [4] = "b", [5] = "c", [6] = "c" };
        foreach (var (broker, rack) in racks)
        {
            await cluster.AddBrokerAsync(broker, rack);
        }

        await cluster.SendAsync(Create("orders", 12, 3));

        Assert.All(cluster.Image.Topics["orders"].Partitions,
            p => Assert.Equal(["a", "b", "c"], p.Replicas.Select(b => racks[b]).Order()));
    }

    [Fact]
    public async Task Automatic_placement_spreads_leaders_evenly()
    {
        await using var cluster = await ControllerFixture.StartAsync();
        await cluster.AddBrokersAsync(1, 2, 3);

        await cluster.SendAsync(Create("orders", 6, 2));

        var leaders = cluster.Image.Topics["orders"].Partitions.GroupBy(p => p.Leader).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(new Dictionary<int, int> { [1] = 2, [2] = 2, [3] = 2 }, leaders);
    }

    [Fact]
    public async Task Manual_assignment_may_name_a_fenced_broker_which_starts_outside_the_isr()
    {
        await using var cluster = await ControllerFixture.StartAsync();
        await cluster.AddBrokersAsync(1, 2);
        await cluster.ExpireAsync(1);

        await cluster.CreateTopicAsync("orders", [1, 2]);

        var partition = cluster.Partition("orders");
        Assert.Equal([1, 2], partition.Replicas.ToArray());
        Assert.Equal([2], partition.Isr.ToArray());
        Assert.Equal(2, partition.Leader);
    }

    [Fact]
    public async Task Manual_assignment_with_only_fenced_brokers_is_refused()
    {
        await using var cluster = await ControllerFixture.StartAsync();
        await cluster.AddBrokersAsync(1, 2);
        await cluster.ExpireAsync(1);

        var reply = await cluster.SendAsync(new CreateTopicCommand(
            new NewTopic("orders", 1, 1, new Dictionary<int, int[]> { [0] = [1] }, NoConfigs), false));

        Assert.Equal(ErrorCode.InvalidReplicaAssignment, reply.Error);
    }

    [Fact]
    public async Task Deleting_a_topic_removes_it()
    {
        await using var cluster = await ControllerFixture.StartAsync();
        await cluster.AddBrokersAsync(1);
        await cluster.SendAsync(Create("orders", 1, 1));

        var reply = await cluster.SendAsync(new DeleteTopicCommand("orders"));
        var again = await cluster.SendAsync(new DeleteTopicCommand("orders"));

        Assert.Equal(ErrorCode.None, reply.Error);
        Assert.False(cluster.Image.Topics.ContainsKey("orders"));
        Assert.Equal(ErrorCode.UnknownTopicOrPartition, again.Error);
    }

    [Fact]
    public async Task Adding_partitions_places_them_with_the_topics_replication_factor()
    {
        await using var cluster = await ControllerFixture.StartAsync();
        await cluster.AddBrokersAsync(1, 2, 3);
        await cluster.SendAsync(Create("orders", 2, 2));

        var reply = await cluster.SendAsync(new CreatePartitionsCommand("orders", 5, null, false));
        var shrink = await cluster.SendAsync(new CreatePartitionsCommand("orders", 3, null, false));

        Assert.Equal(ErrorCode.None, reply.Error);
        var partitions = cluster.Image.Topics["orders"].Partitions;
        Assert.Equal([0, 1, 2, 3, 4], partitions.Select(p => p.Partition));
        Assert.All(partitions, p => Assert.Equal(2, p.Replicas.Length));
        Assert.Equal(ErrorCode.InvalidPartitions, shrink.Error);
    }

    [Fact]
    public async Task Replacing_configs_sets_changed_keys_and_removes_missing_ones()
    {
        await using var cluster = await ControllerFixture.StartAsync();
        await cluster.AddBrokersAsync(1);
        await cluster.SendAsync(Create("orders", 1, 1, new() { ["retention.ms"] = "1000", ["cleanup.policy"] = "compact" }));

        var reply = await cluster.SendAsync(new ReplaceTopicConfigsCommand("orders", new Dictionary<string, string> { ["retention.ms"] = "2000" }, false));

        Assert.Equal(ErrorCode.None, reply.Error);
        var configs = cluster.Image.Topics["orders"].Configs;
        Assert.Equal("2000", configs["retention.ms"]);
        Assert.False(configs.ContainsKey("cleanup.policy"));
    }
}
