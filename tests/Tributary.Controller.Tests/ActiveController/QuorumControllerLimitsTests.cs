using Tributary.Protocol;

namespace Tributary.Controller.Tests.ActiveController;

/// <summary>What one user operation may ask of the controller (issue 16): Kafka's 10,000 records per operation and a
/// per-broker partition limit, refused whole before anything is written.</summary>
public sealed class QuorumControllerLimitsTests
{
    private static readonly Dictionary<string, string?> NoConfigs = [];

    private static CreateTopicCommand Create(string name, int partitions, short replicationFactor = 1) =>
        new(new NewTopic(name, partitions, replicationFactor, null, NoConfigs), ValidateOnly: false);

    [Fact]
    public async Task A_topic_of_more_than_10000_partitions_is_refused_with_policy_violation_and_nothing_is_written()
    {
        await using var cluster = await ControllerFixture.StartAsync();
        await cluster.AddBrokersAsync(1);
        var batches = cluster.Log.Batches.Count;

        var reply = await cluster.SendAsync(Create("wide", 10_001));

        Assert.Equal(ErrorCode.PolicyViolation, reply.Error);
        Assert.Contains("10,000", reply.Message, StringComparison.Ordinal);
        Assert.Equal(batches, cluster.Log.Batches.Count);
        Assert.False(cluster.Image.Topics.ContainsKey("wide"));
    }

    [Fact]
    public async Task A_topic_of_int_max_partitions_is_refused_without_placing_them()
    {
        await using var cluster = await ControllerFixture.StartAsync();
        await cluster.AddBrokersAsync(1);

        var reply = await cluster.SendAsync(Create("huge", int.MaxValue));

        Assert.Equal(ErrorCode.PolicyViolation, reply.Error);
        Assert.True(cluster.Controller.IsActive);
    }

    [Fact]
    public async Task Adding_more_than_10000_partitions_to_a_topic_is_refused_with_policy_violation()
    {
        await using var cluster = await ControllerFixture.StartAsync();
        await cluster.AddBrokersAsync(1);
        await cluster.SendAsync(Create("orders", 1));

        var reply = await cluster.SendAsync(new CreatePartitionsCommand("orders", 10_002, null, ValidateOnly: false));

        Assert.Equal(ErrorCode.PolicyViolation, reply.Error);
        Assert.Single(cluster.Image.Topics["orders"].Partitions);
    }

    [Fact]
    public async Task Reassigning_more_than_10000_partitions_in_one_request_is_refused_whole()
    {
        await using var cluster = await ControllerFixture.StartAsync();
        await cluster.AddBrokersAsync(1, 2);
        await cluster.CreateTopicAsync("orders", [1]);
        var targets = Enumerable.Range(0, 10_001).Select(_ => new ReassignmentTarget("orders", 0, [2])).ToList();

        var reply = await cluster.SendAsync<PartitionOutcomesReply>(new AlterReassignmentsCommand(targets));

        Assert.Equal(ErrorCode.PolicyViolation, reply.Error);
        Assert.False(cluster.Partition("orders").IsReassigning);
    }

    [Fact]
    public async Task Partitions_beyond_a_brokers_limit_are_refused_naming_the_limit()
    {
        var options = new QuorumControllerOptions { MaxPartitionsPerBroker = 5, MaxPartitionsPerBrokerReason = "max.broker.partitions=5" };
        await using var cluster = await ControllerFixture.StartAsync(options);
        await cluster.AddBrokersAsync(1);
        Assert.Equal(ErrorCode.None, (await cluster.SendAsync(Create("first", 3))).Error);

        var topic = await cluster.SendAsync(Create("second", 3));
        var grow = await cluster.SendAsync(new CreatePartitionsCommand("first", 6, null, ValidateOnly: false));

        Assert.Equal(ErrorCode.PolicyViolation, topic.Error);
        Assert.Contains("max.broker.partitions=5", topic.Message, StringComparison.Ordinal);
        Assert.Equal(ErrorCode.PolicyViolation, grow.Error);
        Assert.False(cluster.Image.Topics.ContainsKey("second"));
        Assert.Equal(3, cluster.Image.Topics["first"].Partitions.Length);
        Assert.Equal(ErrorCode.None, (await cluster.SendAsync(Create("fits", 2))).Error);
    }
}
