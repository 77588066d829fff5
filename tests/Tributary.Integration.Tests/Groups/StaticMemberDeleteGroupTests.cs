using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Tributary.Integration.Tests.Cluster;
using Tributary.Integration.Tests.Harness;
using Tributary.Protocol.Messages;
using Xunit.Abstractions;

namespace Tributary.Integration.Tests.Groups;

/// <summary>A broker with Kafka's default group.initial.rebalance.delay.ms (3 s), as <c>make run</c> has it.</summary>
public sealed class InitialDelayBrokerFixture : BrokerFixture
{
    public const int InitialRebalanceDelayMs = 3_000;

    protected override IReadOnlyDictionary<string, string> Overrides { get; } = new Dictionary<string, string>
    {
        ["group.initial.rebalance.delay.ms"] = "3000",
    };
}

/// <summary>
/// DeleteGroups right after the group's static members closed. librdkafka's Close sends no LeaveGroup for a static member
/// (KIP-345), so the close is followed by the LeaveGroup v5 that clients which do leave send on close (member id and
/// group instance id, KIP-1092 / KIP-345 admin removal), and then Confluent.Kafka's DeleteGroups.
/// </summary>
public sealed class StaticMemberDeleteGroupTests : IClassFixture<InitialDelayBrokerFixture>, IDisposable
{
    private const short LeaveGroupVersion = 5;
    private const string InstanceId = "instance-closing";
    private static readonly TimeSpan JoinTimeout = TimeSpan.FromSeconds(20);

    private readonly BrokerProcess broker;
    private readonly KafkaClients clients;

    public StaticMemberDeleteGroupTests(InitialDelayBrokerFixture fixture, ITestOutputHelper output)
    {
        broker = fixture.Broker;
        broker.Log.Attach(output);
        clients = new KafkaClients(broker, broker.Log);
    }

    public void Dispose() => broker.Log.Attach(null);

    [Fact]
    public async Task Group_whose_static_member_closed_and_left_during_the_initial_rebalance_delay_can_be_deleted_at_once()
    {
        var topic = KafkaClients.UniqueTopic("static-delete");
        var group = GroupBrokerSettings.UniqueGroup("static-delete");
        await clients.CreateTopicAsync(topic, 2);
        using var admin = clients.CreateAdmin();

        var config = GroupBrokerSettings.ConsumerConfig(broker, group);
        config.GroupInstanceId = InstanceId;
        config.SessionTimeoutMs = 30_000; // nothing may expire by itself during the test
        config.MaxPollIntervalMs = 30_000;
        string memberId;
        using (var consumer = new ConsumerBuilder<byte[], byte[]>(config).Build())
        {
            consumer.Subscribe(topic);
            // The join is held by the initial rebalance delay; the coordinator already lists the member.
            var members = await Eventually.ValueAsync(
                async () => await DescribeMembersAsync(admin, group),
                m => m.Count == 1,
                JoinTimeout);
            memberId = Assert.Single(members).ConsumerId;
            Assert.Equal(InstanceId, members[0].GroupInstanceId);
            consumer.Close();
        }

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var leave = new LeaveGroupRequest { GroupId = group };
        leave.Members.Add(new LeaveGroupRequest.MemberIdentity { MemberId = memberId, GroupInstanceId = InstanceId, Reason = "the consumer is closing" });
        var left = await RawKafkaExchange.SendAsync<LeaveGroupResponse>("127.0.0.1", broker.KafkaPort, leave, LeaveGroupVersion, TimeSpan.FromSeconds(10));
        Assert.Equal(0, left.ErrorCode);
        Assert.Equal(0, Assert.Single(left.Members).ErrorCode);

        // No retry on NON_EMPTY_GROUP: Kafka answers the first DeleteGroups after the leave with success.
        await admin.DeleteGroupsAsync([group], new DeleteGroupsOptions { RequestTimeout = KafkaClients.AdminTimeout });
        Assert.True(clock.ElapsedMilliseconds < InitialDelayBrokerFixture.InitialRebalanceDelayMs,
            $"LeaveGroup and DeleteGroups took {clock.ElapsedMilliseconds} ms: they waited for the initial rebalance delay.");
        var listed = await admin.ListConsumerGroupsAsync(new ListConsumerGroupsOptions { RequestTimeout = KafkaClients.AdminTimeout });
        Assert.DoesNotContain(listed.Valid, g => g.GroupId == group);
    }

    private static async Task<IReadOnlyList<MemberDescription>> DescribeMembersAsync(IAdminClient admin, string group)
    {
        try
        {
            var described = await admin.DescribeConsumerGroupsAsync([group], new DescribeConsumerGroupsOptions { RequestTimeout = KafkaClients.AdminTimeout });
            return described.ConsumerGroupDescriptions.Single().Members;
        }
        catch (DescribeConsumerGroupsException)
        {
            return []; // the coordinator is still loading right after __consumer_offsets was created
        }
    }
}
