using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Tributary.Clients.Groups;
using Tributary.Integration.Tests.Harness;
using Tributary.Tests.Shared;
using Xunit.Abstractions;

namespace Tributary.SchemaRegistry.Tests.Clients;

/// <summary>Tributary.Clients' group membership against a real broker process: a custom protocol type, the leader
/// member's assignor, assignments delivered to every member, a new generation when one leaves.</summary>
public sealed class GroupMemberTests(ITestOutputHelper output)
{
    private sealed class RecordingHandler(string name) : IGroupMembershipHandler
    {
        public ConcurrentQueue<GroupAssignment> Assigned { get; } = new();
        public int Revoked;

        public IReadOnlyList<GroupProtocol> Protocols() => [new GroupProtocol("v0", Encoding.UTF8.GetBytes(name))];

        // Every member gets "<its name>@<leader name>": proves the leader saw each member's metadata and chose the bytes.
        public IReadOnlyDictionary<string, byte[]> Assign(string protocolName, IReadOnlyList<GroupMemberInfo> members) =>
            members.ToDictionary(m => m.MemberId, m => Encoding.UTF8.GetBytes($"{Encoding.UTF8.GetString(m.Metadata)}@{name}"));

        public Task OnAssignedAsync(GroupAssignment assignment, CancellationToken cancellationToken)
        {
            Assigned.Enqueue(assignment);
            return Task.CompletedTask;
        }

        public Task OnRevokedAsync(CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Revoked);
            return Task.CompletedTask;
        }

        public GroupAssignment? Last => Assigned.LastOrDefault();
    }

    private static GroupMemberOptions Options(string bootstrap, string group) => new()
    {
        BootstrapServers = bootstrap,
        GroupId = group,
        ProtocolType = "test-protocol",
        SessionTimeout = TimeSpan.FromSeconds(6),
        RebalanceTimeout = TimeSpan.FromSeconds(10),
        HeartbeatInterval = TimeSpan.FromMilliseconds(300),
    };

    [Fact]
    public async Task Two_members_get_the_leaders_assignment_and_the_survivor_rebalances_when_one_leaves()
    {
        await using var broker = await BrokerProcess.StartAsync(output);
        var a = new RecordingHandler("a");
        var b = new RecordingHandler("b");
        var memberA = new GroupMember(Options(broker.BootstrapServers, "g1"), a, NullLogger.Instance);
        var memberB = new GroupMember(Options(broker.BootstrapServers, "g1"), b, NullLogger.Instance);
        try
        {
            memberA.Start();
            memberB.Start();
            await Eventually.TrueAsync(() => a.Last is { } la && b.Last is { } lb && la.GenerationId == lb.GenerationId,
                "both members assigned in the same generation");

            var lastA = a.Last!;
            var lastB = b.Last!;
            Assert.Equal(lastA.LeaderId, lastB.LeaderId);
            string leaderName = lastA.IsLeader ? "a" : "b";
            Assert.Equal($"a@{leaderName}", Encoding.UTF8.GetString(lastA.Assignment));
            Assert.Equal($"b@{leaderName}", Encoding.UTF8.GetString(lastB.Assignment));
            Assert.Equal("v0", lastA.ProtocolName);
            Assert.NotEqual(lastA.MemberId, lastB.MemberId);

            int generation = lastA.GenerationId;
            await memberB.DisposeAsync();
            Assert.True(b.Revoked >= 1);
            await Eventually.TrueAsync(() => a.Last is { } l && l.GenerationId > generation, "a new generation without b");
            var alone = a.Last!;
            Assert.True(alone.IsLeader);
            Assert.Equal("a@a", Encoding.UTF8.GetString(alone.Assignment));
        }
        finally
        {
            await memberA.DisposeAsync();
            await memberB.DisposeAsync();
        }
    }
}
