using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Tributary.Integration.Tests.Harness;
using Xunit.Abstractions;

namespace Tributary.Integration.Tests.Groups;

/// <summary>Static membership (KIP-345): a member with <c>group.instance.id</c> that comes back within its session timeout causes no rebalance.</summary>
public sealed class StaticMembershipTests : IClassFixture<GroupBrokerFixture>, IDisposable
{
    private const int PartitionCount = 6;
    private static readonly TimeSpan StabilizeTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(30);

    // Several heartbeat intervals (500 ms): long enough for a rebalance the coordinator started to reach the other member.
    private static readonly TimeSpan QuietPeriod = TimeSpan.FromSeconds(4);

    private readonly BrokerProcess broker;
    private readonly KafkaClients clients;

    public StaticMembershipTests(GroupBrokerFixture fixture, ITestOutputHelper output)
    {
        broker = fixture.Broker;
        broker.Log.Attach(output);
        clients = new KafkaClients(broker, broker.Log);
    }

    public void Dispose() => broker.Log.Attach(null);

    [Fact]
    public async Task Static_member_restarting_within_its_session_timeout_gets_its_partitions_back_without_a_rebalance()
    {
        var topic = KafkaClients.UniqueTopic("static");
        var group = GroupBrokerSettings.UniqueGroup("static");
        await clients.CreateTopicAsync(topic, PartitionCount);

        // The staying member joins first, so it is the group leader and the restarting one a follower.
        using var staying = new GroupMember("static-b", StaticConfig(group, "instance-b"), topic, broker.Log, traceJoins: true);
        await Eventually.ValueAsync(() => staying.Assignment.Count, n => n == PartitionCount, StabilizeTimeout);
        var first = new GroupMember("static-a", StaticConfig(group, "instance-a"), topic, broker.Log, traceJoins: true);
        Ownership stable;
        try
        {
            stable = await Eventually.ValueAsync(() => Ownership(staying, first), o => o.IsPartitionOfAll(PartitionCount, 2), StabilizeTimeout);
            Assert.True(stable.IsPartitionOfAll(PartitionCount, 2), $"Two static members did not split {PartitionCount} partitions within {StabilizeTimeout}: {stable}.");
            await Task.Delay(QuietPeriod); // let the group settle: no rebalance may be pending when the member leaves
        }
        finally
        {
            await first.CloseAsync(CloseTimeout); // a static member sends no LeaveGroup on close (KIP-345)
            first.Dispose();
        }

        var stayingEventsBefore = staying.Events.Count;
        var stayingAssignment = staying.Assignment;
        var generationBefore = first.JoinGenerations.LastOrDefault(-1);
        Assert.True(generationBefore >= 0, "librdkafka logged no successful JoinGroup response for the first session.");

        using var restarted = new GroupMember("static-a-again", StaticConfig(group, "instance-a"), topic, broker.Log, traceJoins: true);
        var back = await Eventually.ValueAsync(() => restarted.Assignment, a => a.Count > 0, StabilizeTimeout);
        await Task.Delay(QuietPeriod);

        Assert.Equal(stable.Owned["static-a"].Order(), back.Order());
        Assert.Equal(stable.Owned["static-a"].Order(), restarted.Assignment.Order());
        Assert.True(staying.Events.Count == stayingEventsBefore,
            $"The other member saw rebalance callbacks: {string.Join("; ", staying.Events.Skip(stayingEventsBefore))}.");
        Assert.Equal(stayingAssignment.Order(), staying.Assignment.Order());
        Assert.Equal([generationBefore], restarted.JoinGenerations); // rejoined into the same generation: no new one was formed

        using var admin = clients.CreateAdmin();
        var description = (await admin.DescribeConsumerGroupsAsync([group], new DescribeConsumerGroupsOptions { RequestTimeout = KafkaClients.AdminTimeout }))
            .ConsumerGroupDescriptions.Single();
        Assert.Equal(ConsumerGroupState.Stable, description.State);
        Assert.Equal(["instance-a", "instance-b"], description.Members.Select(m => m.GroupInstanceId).Order());
        Assert.Equal(stable.Owned["static-a"].Order(), description.Members.Single(m => m.GroupInstanceId == "instance-a").Assignment.TopicPartitions.Select(tp => tp.Partition.Value).Order());
        Assert.Equal(restarted.MemberId, description.Members.Single(m => m.GroupInstanceId == "instance-a").ConsumerId);
        await restarted.CloseAsync(CloseTimeout);
        await staying.CloseAsync(CloseTimeout);
    }

    private ConsumerConfig StaticConfig(string group, string instanceId)
    {
        var config = GroupBrokerSettings.ConsumerConfig(broker, group);
        config.GroupInstanceId = instanceId;
        config.SessionTimeoutMs = 30_000;
        config.MaxPollIntervalMs = 30_000;
        return config;
    }

    private static Ownership Ownership(GroupMember a, GroupMember b) =>
        new(new Dictionary<string, IReadOnlySet<int>> { [a.Name] = a.Assignment, [b.Name] = b.Assignment });
}
