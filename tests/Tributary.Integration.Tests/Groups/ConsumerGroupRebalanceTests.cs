using System.Collections.Concurrent;
using System.Diagnostics;
using Confluent.Kafka;
using Tributary.Integration.Tests.Harness;
using Xunit.Abstractions;

namespace Tributary.Integration.Tests.Groups;

/// <summary>Confluent.Kafka consumers subscribing as a group: partitions split among members, moved on leave, groups independent.</summary>
public sealed class ConsumerGroupRebalanceTests : IClassFixture<GroupBrokerFixture>, IDisposable
{
    private const int PartitionCount = 12;
    private static readonly TimeSpan StabilizeTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan ProduceTimeout = TimeSpan.FromSeconds(60);

    private readonly BrokerProcess broker;
    private readonly KafkaClients clients;
    private readonly ITestOutputHelper output;

    public ConsumerGroupRebalanceTests(GroupBrokerFixture fixture, ITestOutputHelper output)
    {
        this.output = output;
        broker = fixture.Broker;
        broker.Log.Attach(output);
        clients = new KafkaClients(broker, broker.Log);
    }

    public void Dispose() => broker.Log.Attach(null);

    [Fact]
    public async Task Three_members_split_twelve_partitions_rebalance_on_leave_and_consume_every_record_exactly_once()
    {
        const int total = 12_000;
        const int producedBefore = 6_000;
        var topic = KafkaClients.UniqueTopic("group-split");
        var group = GroupBrokerSettings.UniqueGroup("split");
        await clients.CreateTopicAsync(topic, PartitionCount);
        GroupBrokerSettings.ProduceNumbered(clients, topic, PartitionCount, 0, producedBefore, ProduceTimeout);

        var consumed = new ConcurrentQueue<ConsumedRecord>();
        var config = GroupBrokerSettings.ConsumerConfig(broker, group);
        var subscribed = Stopwatch.StartNew();
        var members = Enumerable.Range(1, 3)
            .Select(i => new GroupMember($"member-{i}", config, topic, broker.Log, consumed, commitEachRecord: true))
            .ToList();
        try
        {
            var stable = await Eventually.ValueAsync(() => Ownership(members), o => o.IsPartitionOfAll(PartitionCount, members.Count), StabilizeTimeout);
            var stabilizedAfter = subscribed.Elapsed;
            Assert.True(stable.IsPartitionOfAll(PartitionCount, members.Count), $"No stable split of {PartitionCount} partitions over 3 members within {StabilizeTimeout}: {stable}.");

            var producing = Task.Run(() => GroupBrokerSettings.ProduceNumbered(clients, topic, PartitionCount, producedBefore, total - producedBefore, ProduceTimeout));
            await Eventually.ValueAsync(() => consumed.Count, c => c >= producedBefore, TimeSpan.FromSeconds(60));

            var leaving = members[2];
            var leaveClock = Stopwatch.StartNew();
            await leaving.CloseAsync(CloseTimeout);
            var remaining = members.Take(2).ToList();
            var afterLeave = await Eventually.ValueAsync(
                () => Ownership(remaining), o => o.IsPartitionOfAll(PartitionCount, remaining.Count), GroupBrokerSettings.RebalanceTimeout);
            var movedAfter = leaveClock.Elapsed;
            Assert.True(afterLeave.IsPartitionOfAll(PartitionCount, remaining.Count),
                $"The leaver's partitions {string.Join(',', stable.Owned[leaving.Name])} did not move to the other two within the rebalance timeout {GroupBrokerSettings.RebalanceTimeout}: {afterLeave}.");

            await producing;
            var all = await Eventually.ValueAsync(() => consumed.Select(r => r.Value).ToHashSet().Count, n => n >= total, TimeSpan.FromSeconds(90));
            foreach (var member in remaining)
            {
                await member.CloseAsync(CloseTimeout);
            }

            output.WriteLine(
                $"rebalance: subscribe of 3 members -> all {PartitionCount} partitions assigned in {stabilizedAfter.TotalMilliseconds:F0} ms; " +
                $"after one member's Close() -> all assigned to the other 2 in {movedAfter.TotalMilliseconds:F0} ms; " +
                $"consumed {consumed.Count} records ({all} distinct) of {total}");
            var failures = string.Join("; ", members.SelectMany(m => m.Failures).Take(10));
            var duplicates = consumed.GroupBy(r => r.Value).Where(g => g.Count() > 1).Take(5)
                .Select(g => $"{g.Key} by {string.Join('+', g.Select(r => $"{r.Member}@p{r.Partition}/o{r.Offset}"))}");
            Assert.True(all == total, $"Consumed {all} distinct records of {total}. Member errors: {failures}");
            Assert.True(consumed.Count == total, $"{consumed.Count - total} duplicate deliveries, e.g. {string.Join("; ", duplicates)}. Member errors: {failures}");
            Assert.Equal(Enumerable.Range(0, total).Select(GroupBrokerSettings.ValueOf).ToHashSet(), consumed.Select(r => r.Value).ToHashSet());
        }
        finally
        {
            members.ForEach(m => m.Dispose());
        }
    }

    [Fact]
    public async Task Two_groups_each_receive_every_record_of_the_same_topic()
    {
        const int total = 2_000;
        const int partitions = 4;
        var topic = KafkaClients.UniqueTopic("two-groups");
        await clients.CreateTopicAsync(topic, partitions);
        GroupBrokerSettings.ProduceNumbered(clients, topic, partitions, 0, total, ProduceTimeout);

        var first = new GroupMember("group-a", GroupBrokerSettings.ConsumerConfig(broker, GroupBrokerSettings.UniqueGroup("a")), topic, broker.Log, commitEachRecord: false);
        var second = new GroupMember("group-b", GroupBrokerSettings.ConsumerConfig(broker, GroupBrokerSettings.UniqueGroup("b")), topic, broker.Log, commitEachRecord: false);
        using (first)
        using (second)
        {
            await Eventually.ValueAsync(() => Math.Min(first.Consumed.Count, second.Consumed.Count), n => n >= total, TimeSpan.FromSeconds(60));
            await first.CloseAsync(CloseTimeout);
            await second.CloseAsync(CloseTimeout);

            var expected = Enumerable.Range(0, total).Select(GroupBrokerSettings.ValueOf).Order().ToList();
            Assert.Equal(expected, first.Consumed.Select(r => r.Value).Order().ToList());
            Assert.Equal(expected, second.Consumed.Select(r => r.Value).Order().ToList());
        }
    }

    [Fact]
    public async Task Cooperative_sticky_members_move_only_the_partitions_a_new_member_takes()
    {
        var topic = KafkaClients.UniqueTopic("coop");
        await clients.CreateTopicAsync(topic, PartitionCount);
        var config = GroupBrokerSettings.ConsumerConfig(broker, GroupBrokerSettings.UniqueGroup("coop"));
        config.PartitionAssignmentStrategy = PartitionAssignmentStrategy.CooperativeSticky;

        var members = new List<GroupMember>
        {
            new("coop-1", config, topic, broker.Log),
            new("coop-2", config, topic, broker.Log),
        };
        try
        {
            var two = await Eventually.ValueAsync(() => Ownership(members), o => o.IsPartitionOfAll(PartitionCount, 2), StabilizeTimeout);
            Assert.True(two.IsPartitionOfAll(PartitionCount, 2), $"Two cooperative members did not split {PartitionCount} partitions within {StabilizeTimeout}: {two}.");
            var eventsBefore = members.ToDictionary(m => m.Name, m => m.Events.Count);

            members.Add(new GroupMember("coop-3", config, topic, broker.Log));
            var three = await Eventually.ValueAsync(() => Ownership(members), o => o.IsPartitionOfAll(PartitionCount, 3), StabilizeTimeout);
            Assert.True(three.IsPartitionOfAll(PartitionCount, 3), $"Three cooperative members did not split {PartitionCount} partitions within {StabilizeTimeout}: {three}.");

            foreach (var veteran in members.Take(2))
            {
                var later = veteran.Events.Skip(eventsBefore[veteran.Name]).ToList();
                var revoked = later.Where(e => e.Kind != "assigned").SelectMany(e => e.Partitions).Order().ToList();
                var gained = later.Where(e => e.Kind == "assigned").SelectMany(e => e.Partitions).ToList();
                var kept = three.Owned[veteran.Name];
                Assert.True(kept.IsSubsetOf(two.Owned[veteran.Name]), $"{veteran.Name} owned [{string.Join(',', two.Owned[veteran.Name])}] and now [{string.Join(',', kept)}]: it gained partitions.");
                Assert.True(gained.Count == 0, $"{veteran.Name} was assigned [{string.Join(',', gained)}] while a member joined: not incremental.");
                Assert.Equal(two.Owned[veteran.Name].Except(kept).Order().ToList(), revoked); // only what moved was revoked
            }

            var newcomer = members[2];
            Assert.All(newcomer.Events, e => Assert.Equal("assigned", e.Kind));
            Assert.Equal(three.Owned[newcomer.Name].Order(), newcomer.Events.SelectMany(e => e.Partitions).Order());
        }
        finally
        {
            members.ForEach(m => m.Dispose());
        }
    }

    private static Ownership Ownership(IReadOnlyList<GroupMember> members) =>
        new(members.ToDictionary(m => m.Name, m => m.Assignment));
}

/// <summary>Which member owns which partitions at one moment.</summary>
public sealed record Ownership(IReadOnlyDictionary<string, IReadOnlySet<int>> Owned)
{
    /// <summary>Every one of <paramref name="partitions"/> is owned by exactly one of the <paramref name="members"/>, and each member owns some.</summary>
    public bool IsPartitionOfAll(int partitions, int members) =>
        Owned.Count == members
        && Owned.Values.All(p => p.Count > 0)
        && Owned.Values.Sum(p => p.Count) == partitions
        && Owned.Values.SelectMany(p => p).ToHashSet().SetEquals(Enumerable.Range(0, partitions));

    public override string ToString() =>
        string.Join("; ", Owned.Select(kv => $"{kv.Key}=[{string.Join(',', kv.Value.Order())}]"));
}
