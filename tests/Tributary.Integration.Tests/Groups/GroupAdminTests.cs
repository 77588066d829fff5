using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Tributary.Integration.Tests.Harness;
using Xunit.Abstractions;

namespace Tributary.Integration.Tests.Groups;

/// <summary>The AdminClient's consumer-group operations: ListGroups, DescribeGroups, DeleteGroups, OffsetDelete, OffsetFetch.</summary>
public sealed class GroupAdminTests : IClassFixture<GroupBrokerFixture>, IDisposable
{
    private const int Partitions = 3;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(30);

    private readonly BrokerProcess broker;
    private readonly KafkaClients clients;

    public GroupAdminTests(GroupBrokerFixture fixture, ITestOutputHelper output)
    {
        broker = fixture.Broker;
        broker.Log.Attach(output);
        clients = new KafkaClients(broker, broker.Log);
    }

    public void Dispose() => broker.Log.Attach(null);

    [Fact]
    public async Task ListConsumerGroups_shows_a_group_with_a_live_member_as_stable()
    {
        var (topic, group) = await TopicAndGroupAsync("list");
        using var member = new GroupMember("listed", GroupBrokerSettings.ConsumerConfig(broker, group), topic, broker.Log);
        await Eventually.ValueAsync(() => member.Assignment.Count, n => n == Partitions, Timeout);
        using var admin = clients.CreateAdmin();

        var listing = await Eventually.ValueAsync(
            async () => (await admin.ListConsumerGroupsAsync(new ListConsumerGroupsOptions { RequestTimeout = KafkaClients.AdminTimeout }))
                .Valid.SingleOrDefault(g => g.GroupId == group),
            g => g?.State == ConsumerGroupState.Stable,
            Timeout);

        Assert.NotNull(listing);
        Assert.Equal(ConsumerGroupState.Stable, listing.State);
        Assert.False(listing.IsSimpleConsumerGroup);
        await member.CloseAsync(CloseTimeout);
    }

    [Fact]
    public async Task DescribeConsumerGroups_reports_stable_state_assignor_and_each_members_assignment()
    {
        var (topic, group) = await TopicAndGroupAsync("describe");
        var config = GroupBrokerSettings.ConsumerConfig(broker, group);
        config.ClientId = "describe-client";
        using var first = new GroupMember("describe-1", config, topic, broker.Log);
        using var second = new GroupMember("describe-2", config, topic, broker.Log);
        var members = new[] { first, second };
        var owned = await Eventually.ValueAsync(
            () => new Ownership(members.ToDictionary(m => m.Name, m => m.Assignment)), o => o.IsPartitionOfAll(Partitions, 2), Timeout);
        Assert.True(owned.IsPartitionOfAll(Partitions, 2), $"Two members did not split {Partitions} partitions: {owned}.");
        using var admin = clients.CreateAdmin();

        var description = (await admin.DescribeConsumerGroupsAsync([group], new DescribeConsumerGroupsOptions { RequestTimeout = KafkaClients.AdminTimeout }))
            .ConsumerGroupDescriptions.Single();

        Assert.Equal(group, description.GroupId);
        Assert.Equal(ConsumerGroupState.Stable, description.State);
        Assert.Equal("range", description.PartitionAssignor);
        Assert.False(description.IsSimpleConsumerGroup);
        Assert.Equal(BrokerProcess.NodeId, description.Coordinator.Id);
        Assert.Equal(members.Select(m => m.MemberId).Order(), description.Members.Select(m => m.ConsumerId).Order());
        foreach (var described in description.Members)
        {
            var member = members.Single(m => m.MemberId == described.ConsumerId);
            Assert.Equal("describe-client", described.ClientId);
            Assert.Equal(member.Assignment.Order(), described.Assignment.TopicPartitions.Select(tp => tp.Partition.Value).Order());
            Assert.All(described.Assignment.TopicPartitions, tp => Assert.Equal(topic, tp.Topic));
        }

        await first.CloseAsync(CloseTimeout);
        await second.CloseAsync(CloseTimeout);
    }

    [Fact]
    public async Task ListConsumerGroupOffsets_returns_what_the_group_committed()
    {
        var (topic, group) = await TopicAndGroupAsync("list-offsets");
        await CommitAsync(group, topic, [5, 0, 7]);
        using var admin = clients.CreateAdmin();

        var offsets = await ListOffsetsAsync(admin, group, topic);

        Assert.Equal([5L, Offset.Unset.Value, 7L], offsets);
    }

    [Fact]
    public async Task DeleteConsumerGroupOffsets_removes_only_the_named_partition_of_an_empty_group()
    {
        var (topic, group) = await TopicAndGroupAsync("offset-delete");
        await CommitAsync(group, topic, [5, 6, 7]);
        using var admin = clients.CreateAdmin();

        var result = await admin.DeleteConsumerGroupOffsetsAsync(
            group, [new TopicPartition(topic, 1)], new DeleteConsumerGroupOffsetsOptions { RequestTimeout = KafkaClients.AdminTimeout });

        Assert.Equal(group, result.Group);
        Assert.Equal(new TopicPartition(topic, 1), Assert.Single(result.Partitions));
        Assert.Equal([5L, Offset.Unset.Value, 7L], await ListOffsetsAsync(admin, group, topic));
    }

    [Fact]
    public async Task DeleteGroups_removes_an_empty_group_and_its_offsets()
    {
        var (topic, group) = await TopicAndGroupAsync("delete-group");
        await CommitAsync(group, topic, [3, 3, 3]);
        using var admin = clients.CreateAdmin();

        await admin.DeleteGroupsAsync([group], new DeleteGroupsOptions { RequestTimeout = KafkaClients.AdminTimeout });

        Assert.Equal([Offset.Unset.Value, Offset.Unset.Value, Offset.Unset.Value], await ListOffsetsAsync(admin, group, topic));
        var listed = await admin.ListConsumerGroupsAsync(new ListConsumerGroupsOptions { RequestTimeout = KafkaClients.AdminTimeout });
        Assert.DoesNotContain(listed.Valid, g => g.GroupId == group);
    }

    [Fact]
    public async Task DeleteGroups_of_a_group_with_a_live_member_fails_with_NonEmptyGroup()
    {
        var (topic, group) = await TopicAndGroupAsync("delete-busy");
        using var member = new GroupMember("busy", GroupBrokerSettings.ConsumerConfig(broker, group), topic, broker.Log);
        await Eventually.ValueAsync(() => member.Assignment.Count, n => n == Partitions, Timeout);
        using var admin = clients.CreateAdmin();

        var failure = await Assert.ThrowsAsync<DeleteGroupsException>(() =>
            admin.DeleteGroupsAsync([group], new DeleteGroupsOptions { RequestTimeout = KafkaClients.AdminTimeout }));

        Assert.Equal(ErrorCode.NonEmptyGroup, Assert.Single(failure.Results).Error.Code);
        await member.CloseAsync(CloseTimeout);
    }

    private async Task<(string Topic, string Group)> TopicAndGroupAsync(string purpose)
    {
        var topic = KafkaClients.UniqueTopic("admin-" + purpose);
        await clients.CreateTopicAsync(topic, Partitions);
        GroupBrokerSettings.ProduceNumbered(clients, topic, Partitions, 0, Partitions * 10, Timeout);
        return (topic, GroupBrokerSettings.UniqueGroup(purpose));
    }

    /// <summary>
    /// Commits <paramref name="offsets"/> (0 = none for that partition) as a group member would and leaves, so the
    /// group is Empty afterwards with committed offsets.
    /// </summary>
    private async Task CommitAsync(string group, string topic, long[] offsets)
    {
        using var consumer = clients.CreateConsumer(GroupBrokerSettings.ConsumerConfig(broker, group));
        consumer.Subscribe(topic);
        var assigned = await Eventually.ValueAsync(
            () =>
            {
                consumer.Consume(TimeSpan.FromMilliseconds(100));
                return consumer.Assignment.Count;
            },
            n => n == Partitions,
            Timeout);
        Assert.True(assigned == Partitions, $"The committing consumer got {assigned} of {Partitions} partitions within {Timeout}.");
        consumer.Commit(offsets.Select((o, p) => (o, p)).Where(x => x.o > 0).Select(x => new TopicPartitionOffset(topic, x.p, x.o)));
        consumer.Close();
    }

    private static async Task<List<long>> ListOffsetsAsync(IAdminClient admin, string group, string topic)
    {
        var result = await admin.ListConsumerGroupOffsetsAsync(
            [new ConsumerGroupTopicPartitions(group, Enumerable.Range(0, Partitions).Select(p => new TopicPartition(topic, p)).ToList())],
            new ListConsumerGroupOffsetsOptions { RequestTimeout = KafkaClients.AdminTimeout });
        var partitions = Assert.Single(result).Partitions;
        Assert.All(partitions, p => Assert.False(p.Error.IsError, $"{p.TopicPartition}: {p.Error}"));
        return partitions.OrderBy(p => p.Partition.Value).Select(p => p.Offset.Value).ToList();
    }
}
