using Microsoft.Extensions.Logging.Abstractions;
using Tributary.Metadata.Records;
using Tributary.Protocol;

namespace Tributary.Controller.Tests.ActiveController;

/// <summary>A test clock that only moves when told to (timers are not needed: ticks are run explicitly).</summary>
internal sealed class ManualTimeProviderFake : TimeProvider
{
    private DateTimeOffset _now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}

/// <summary>Delegates to the fake log, but can make this node lose leadership right as the controller appends.</summary>
internal sealed class LeadershipLossOnAppendLog(InMemoryMetadataLogTestDouble inner) : IMetadataLog
{
    public bool LoseLeadershipOnNextAppend { get; set; }

    public int NodeId => inner.NodeId;
    public bool IsVoter => inner.IsVoter;
    public MetadataLeadership Leadership => inner.Leadership;
    public long LeaderReadyOffset => inner.LeaderReadyOffset;

    public event Action<MetadataLeadership>? LeadershipChanged
    {
        add => inner.LeadershipChanged += value;
        remove => inner.LeadershipChanged -= value;
    }

    public Task<MetadataAppendResult> TryAppendAsync(IReadOnlyList<MetadataRecord> records, long expectedEpoch, CancellationToken cancellationToken)
    {
        if (LoseLeadershipOnNextAppend)
        {
            LoseLeadershipOnNextAppend = false;
            inner.LoseLeadership(newLeaderId: 2);
        }

        return inner.TryAppendAsync(records, expectedEpoch, cancellationToken);
    }

    public IAsyncEnumerable<MetadataBatch> ReadCommittedAsync(long fromOffset, CancellationToken cancellationToken) =>
        inner.ReadCommittedAsync(fromOffset, cancellationToken);

    public long LatestSnapshotOffset => inner.LatestSnapshotOffset;

    public Task WriteSnapshotAsync(long lastIncludedOffset, IReadOnlyList<MetadataRecord> records, CancellationToken cancellationToken) =>
        inner.WriteSnapshotAsync(lastIncludedOffset, records, cancellationToken);

    public Task<byte[]> CallControllerAsync(ControllerCall request, CancellationToken cancellationToken) =>
        inner.CallControllerAsync(request, cancellationToken);

    public void SetControllerRequestHandler(Func<ControllerCall, CancellationToken, Task<byte[]>> handler) =>
        inner.SetControllerRequestHandler(handler);

    public ValueTask DisposeAsync() => inner.DisposeAsync();
}

/// <summary>A controller over the in-memory log test double, with helpers that speak like brokers.</summary>
internal sealed class ControllerFixture : IAsyncDisposable
{
    public static readonly TimeSpan SessionTimeout = TimeSpan.FromSeconds(9);
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);
    private readonly Dictionary<int, long> _epochs = [];

    private ControllerFixture(QuorumControllerOptions options)
    {
        Log = new InMemoryMetadataLogTestDouble(nodeId: 100);
        Wrapper = new LeadershipLossOnAppendLog(Log);
        Controller = new QuorumController(Wrapper, options, Time, NullLogger.Instance);
    }

    public InMemoryMetadataLogTestDouble Log { get; }
    public LeadershipLossOnAppendLog Wrapper { get; }
    public QuorumController Controller { get; }
    public ManualTimeProviderFake Time { get; } = new();
    /// <summary>The controller's own replayed state (it answers once this holds the change).</summary>
    public MetadataImage Image => Controller.Image;

    /// <summary>Started; when <paramref name="lead"/>, this node leads the quorum and the controller is active.</summary>
    public static async Task<ControllerFixture> StartAsync(QuorumControllerOptions? options = null, bool lead = true)
    {
        var fixture = new ControllerFixture((options ?? new QuorumControllerOptions()) with
        {
            TickInterval = Timeout.InfiniteTimeSpan,
            BrokerSessionTimeout = SessionTimeout,
            PlacementSeed = 7,
        });
        fixture.Controller.Start();
        if (lead)
        {
            fixture.Log.BecomeLeader(1);
            await fixture.TickAsync();
            Assert.True(fixture.Controller.IsActive);
        }

        return fixture;
    }

    public Task TickAsync() => Controller.RunTickAsync(CancellationToken.None).WaitAsync(Bound);

    public async Task<TReply> SendAsync<TReply>(ControllerCommand command) where TReply : ControllerReply
    {
        var reply = await Controller.HandleAsync(command, CancellationToken.None).WaitAsync(Bound);
        return Assert.IsType<TReply>(reply);
    }

    public Task<ControllerReply> SendAsync(ControllerCommand command) => Controller.HandleAsync(command, CancellationToken.None).WaitAsync(Bound);

    public long EpochOf(int broker) => _epochs[broker];

    public async Task<RegisterBrokerReply> RegisterAsync(int broker, string? rack = null)
    {
        var reply = await SendAsync<RegisterBrokerReply>(new RegisterBrokerCommand(broker, Uuid.NewRandom(),
            [new BrokerEndpoint("PLAINTEXT", "127.0.0.1", 9000 + broker, 0)], rack));
        Assert.Equal(ErrorCode.None, reply.Error);
        _epochs[broker] = reply.BrokerEpoch;
        return reply;
    }

    public Task<BrokerHeartbeatReply> HeartbeatAsync(int broker, bool wantShutdown = false, long? metadataOffset = null) =>
        SendAsync<BrokerHeartbeatReply>(new BrokerHeartbeatCommand(broker, _epochs[broker], metadataOffset ?? Image.Offset, WantFence: false, wantShutdown));

    /// <summary>Registers the broker and heartbeats it caught up, so it is active.</summary>
    public async Task AddBrokerAsync(int broker, string? rack = null)
    {
        await RegisterAsync(broker, rack);
        var reply = await HeartbeatAsync(broker);
        Assert.False(reply.IsFenced);
    }

    public async Task AddBrokersAsync(params int[] brokers)
    {
        foreach (var broker in brokers)
        {
            await AddBrokerAsync(broker);
        }
    }

    public async Task CreateTopicAsync(string name, params int[][] assignment)
    {
        var assignments = assignment.Select((replicas, p) => (p, replicas)).ToDictionary(x => x.p, x => x.replicas);
        var reply = await SendAsync(new CreateTopicCommand(
            new NewTopic(name, assignment.Length, (short)assignment[0].Length, assignments, new Dictionary<string, string?>()), ValidateOnly: false));
        Assert.Equal(ErrorCode.None, reply.Error);
    }

    public PartitionImage Partition(string topic, int partition = 0) => Image.Topics[topic].Partitions[partition];

    public Uuid TopicId(string topic) => Image.Topics[topic].Id;

    /// <summary>Lets the session of every broker but <paramref name="silent"/> live on, and runs a tick after the session
    /// timeout: the silent ones expire.</summary>
    public async Task ExpireAsync(params int[] silent)
    {
        Time.Advance(SessionTimeout + TimeSpan.FromSeconds(1));
        foreach (var broker in _epochs.Keys.Where(b => !silent.Contains(b) && Image.Brokers.ContainsKey(b)))
        {
            await HeartbeatAsync(broker);
        }

        await TickAsync();
    }

    /// <summary>As the partition leader would: asks to change the ISR with the current epochs.</summary>
    public Task<AlterPartitionReply> AlterIsrAsync(string topic, int partition, params int[] isr)
    {
        var state = Partition(topic, partition);
        return SendAsync<AlterPartitionReply>(new AlterPartitionCommand(state.Leader, _epochs[state.Leader], TopicId(topic), partition,
            state.LeaderEpoch, state.PartitionEpoch, isr));
    }

    public async ValueTask DisposeAsync()
    {
        await Controller.DisposeAsync();
        await Log.DisposeAsync();
    }
}

public sealed class QuorumControllerTests
{
    [Fact]
    public async Task Commands_get_NOT_CONTROLLER_while_this_node_does_not_lead()
    {
        await using var cluster = await ControllerFixture.StartAsync(lead: false);

        var reply = await cluster.SendAsync<RegisterBrokerReply>(new RegisterBrokerCommand(1, Uuid.NewRandom(),
            [new BrokerEndpoint("PLAINTEXT", "127.0.0.1", 9001, 0)], null));

        Assert.Equal(ErrorCode.NotController, reply.Error);
        Assert.False(cluster.Controller.IsActive);
    }

    [Fact]
    public async Task Controller_stops_acting_once_another_node_leads()
    {
        await using var cluster = await ControllerFixture.StartAsync();

        cluster.Log.LoseLeadership(newLeaderId: 2);
        var reply = await cluster.SendAsync<ProducerIdsReply>(new AllocateProducerIdsCommand(1, 1));

        Assert.Equal(ErrorCode.NotController, reply.Error);
        Assert.False(cluster.Controller.IsActive);
    }

    [Fact]
    public async Task Leadership_lost_during_an_append_answers_NOT_CONTROLLER_and_writes_nothing()
    {
        await using var cluster = await ControllerFixture.StartAsync();
        await cluster.AddBrokersAsync(1);
        var batchesBefore = cluster.Log.Batches.Count;

        cluster.Wrapper.LoseLeadershipOnNextAppend = true;
        var reply = await cluster.SendAsync(new CreateTopicCommand(
            new NewTopic("orders", 1, 1, null, new Dictionary<string, string?>()), ValidateOnly: false));

        Assert.Equal(ErrorCode.NotController, reply.Error);
        Assert.Equal(batchesBefore, cluster.Log.Batches.Count);
        Assert.False(cluster.Image.Topics.ContainsKey("orders"));
        Assert.False(cluster.Controller.IsActive);
    }

    [Fact]
    public async Task Activation_writes_the_configured_cluster_id_when_the_log_has_none()
    {
        await using var cluster = await ControllerFixture.StartAsync(new QuorumControllerOptions { ClusterId = "tributary-test" });

        Assert.Equal("tributary-test", cluster.Image.ClusterId);
    }

    [Fact]
    public async Task A_new_leader_becomes_active_only_after_applying_what_was_committed_before()
    {
        await using var cluster = await ControllerFixture.StartAsync(lead: false);
        cluster.Log.CommitExternally(new ClusterIdRecord("earlier"),
            new RegisterBrokerRecord(1, Uuid.NewRandom(), 5, [new BrokerEndpoint("PLAINTEXT", "h", 1, 0)], null, Fenced: false));

        cluster.Log.BecomeLeader(3);
        await cluster.TickAsync();

        Assert.True(cluster.Controller.IsActive);
        Assert.Equal("earlier", cluster.Image.ClusterId);
        var registered = await cluster.RegisterAsync(2);
        Assert.True(registered.BrokerEpoch > 5);
    }

    [Fact]
    public async Task Registered_broker_stays_fenced_until_its_heartbeat_shows_it_caught_up()
    {
        await using var cluster = await ControllerFixture.StartAsync();
        var registration = await cluster.RegisterAsync(1);
        Assert.True(cluster.Image.Brokers[1].Fenced);

        var behind = await cluster.HeartbeatAsync(1, metadataOffset: registration.Offset - 1);
        Assert.True(behind.IsFenced);
        Assert.False(behind.IsCaughtUp);
        Assert.True(cluster.Image.Brokers[1].Fenced);

        var caughtUp = await cluster.HeartbeatAsync(1, metadataOffset: registration.Offset);
        Assert.False(caughtUp.IsFenced);
        Assert.True(caughtUp.IsCaughtUp);
        Assert.False(cluster.Image.Brokers[1].Fenced);
    }

    [Fact]
    public async Task Reregistration_gets_a_higher_epoch_and_the_old_epoch_is_stale()
    {
        await using var cluster = await ControllerFixture.StartAsync();
        var first = await cluster.RegisterAsync(1);

        var second = await cluster.RegisterAsync(1);
        var stale = await cluster.SendAsync<BrokerHeartbeatReply>(new BrokerHeartbeatCommand(1, first.BrokerEpoch, cluster.Image.Offset, false, false));

        Assert.True(second.BrokerEpoch > first.BrokerEpoch);
        Assert.Equal(second.BrokerEpoch, cluster.Image.Brokers[1].Epoch);
        Assert.Equal(ErrorCode.StaleBrokerEpoch, stale.Error);
    }

    [Fact]
    public async Task Heartbeat_from_an_unregistered_broker_is_stale()
    {
        await using var cluster = await ControllerFixture.StartAsync();

        var reply = await cluster.SendAsync<BrokerHeartbeatReply>(new BrokerHeartbeatCommand(7, 1, 0, false, false));

        Assert.Equal(ErrorCode.StaleBrokerEpoch, reply.Error);
    }

    [Fact]
    public async Task Session_expiry_fences_the_broker_moves_its_leadership_and_shrinks_the_isr()
    {
        await using var cluster = await ControllerFixture.StartAsync();
        await cluster.AddBrokersAsync(1, 2, 3);
        await cluster.CreateTopicAsync("orders", [1, 2, 3]);

        await cluster.ExpireAsync(1);

        Assert.True(cluster.Image.Brokers[1].Fenced);
        var partition = cluster.Partition("orders");
        Assert.Equal(2, partition.Leader);
        Assert.Equal([2, 3], partition.Isr.ToArray());
        Assert.Equal(1, partition.LeaderEpoch);
    }

    [Fact]
    public async Task Brokers_that_keep_heartbeating_are_not_fenced()
    {
        await using var cluster = await ControllerFixture.StartAsync();
        await cluster.AddBrokersAsync(1, 2);

        await cluster.ExpireAsync();

        Assert.False(cluster.Image.Brokers[1].Fenced);
        Assert.False(cluster.Image.Brokers[2].Fenced);
    }

    [Fact]
    public async Task Last_isr_member_fenced_leaves_the_partition_offline_until_that_broker_returns()
    {
        await using var cluster = await ControllerFixture.StartAsync();
        await cluster.AddBrokersAsync(1, 2);
        await cluster.CreateTopicAsync("orders", [1, 2]);
        Assert.Equal(ErrorCode.None, (await cluster.AlterIsrAsync("orders", 0, 1)).Error);

        await cluster.ExpireAsync(1);
        var offline = cluster.Partition("orders");
        Assert.Equal(-1, offline.Leader);
        Assert.Equal([1], offline.Isr.ToArray());

        await cluster.TickAsync();
        Assert.Equal(-1, cluster.Partition("orders").Leader); // broker 2 is active but out of sync: never elected cleanly

        var back = await cluster.HeartbeatAsync(1);
        Assert.False(back.IsFenced);
        Assert.Equal(1, cluster.Partition("orders").Leader);
    }

    [Fact]
    public async Task With_unclean_election_enabled_for_the_topic_an_out_of_sync_replica_takes_over()
    {
        await using var cluster = await ControllerFixture.StartAsync();
        await cluster.AddBrokersAsync(1, 2);
        await cluster.CreateTopicAsync("orders", [1, 2]);
        await cluster.SendAsync(new ReplaceTopicConfigsCommand("orders", new Dictionary<string, string> { ["unclean.leader.election.enable"] = "true" }, false));
        await cluster.AlterIsrAsync("orders", 0, 1);

        await cluster.ExpireAsync(1);

        var partition = cluster.Partition("orders");
        Assert.Equal(2, partition.Leader);
        Assert.Equal([2], partition.Isr.ToArray());
    }

    [Fact]
    public async Task Controlled_shutdown_moves_leadership_then_lets_the_broker_stop()
    {
        await using var cluster = await ControllerFixture.StartAsync();
        await cluster.AddBrokersAsync(1, 2, 3);
        await cluster.CreateTopicAsync("orders", [1, 2, 3], [2, 1, 3]);

        var first = await cluster.HeartbeatAsync(1, wantShutdown: true, metadataOffset: cluster.Image.Offset);
        Assert.False(first.ShouldShutdown);
        Assert.True(cluster.Image.Brokers[1].InControlledShutdown);
        Assert.Equal(2, cluster.Partition("orders", 0).Leader);
        Assert.Equal([2, 3], cluster.Partition("orders", 0).Isr.ToArray());
        Assert.Equal([2, 3], cluster.Partition("orders", 1).Isr.ToArray());

        var second = await cluster.HeartbeatAsync(1, wantShutdown: true);
        Assert.True(second.ShouldShutdown);
        Assert.True(cluster.Image.Brokers[1].Fenced);
    }

    [Fact]
    public async Task Restart_without_controlled_shutdown_takes_leadership_from_the_old_incarnation()
    {
        await using var cluster = await ControllerFixture.StartAsync();
        await cluster.AddBrokersAsync(1, 2);
        await cluster.CreateTopicAsync("orders", [1, 2]);

        await cluster.RegisterAsync(1);

        Assert.Equal(2, cluster.Partition("orders").Leader);
        Assert.Equal([2], cluster.Partition("orders").Isr.ToArray());
    }

    [Fact]
    public async Task Producer_id_blocks_are_consecutive_and_never_reused()
    {
        await using var cluster = await ControllerFixture.StartAsync();
        await cluster.AddBrokersAsync(1, 2);

        var first = await cluster.SendAsync<ProducerIdsReply>(new AllocateProducerIdsCommand(1, cluster.EpochOf(1)));
        var second = await cluster.SendAsync<ProducerIdsReply>(new AllocateProducerIdsCommand(2, cluster.EpochOf(2)));

        Assert.Equal((0L, 1000), (first.FirstProducerId, first.Size));
        Assert.Equal((1000L, 1000), (second.FirstProducerId, second.Size));
        Assert.Equal(2000, cluster.Image.NextProducerId);
    }

    [Fact]
    public async Task Producer_ids_are_refused_to_a_stale_broker_epoch()
    {
        await using var cluster = await ControllerFixture.StartAsync();
        await cluster.AddBrokersAsync(1);

        var reply = await cluster.SendAsync<ProducerIdsReply>(new AllocateProducerIdsCommand(1, cluster.EpochOf(1) - 1));

        Assert.Equal(ErrorCode.StaleBrokerEpoch, reply.Error);
        Assert.Equal(0, cluster.Image.NextProducerId);
    }

    [Fact]
    public async Task Unregistering_a_broker_that_hosts_replicas_is_refused()
    {
        await using var cluster = await ControllerFixture.StartAsync();
        await cluster.AddBrokersAsync(1, 2);
        await cluster.CreateTopicAsync("orders", [1]);

        var refused = await cluster.SendAsync(new UnregisterBrokerCommand(1));
        var accepted = await cluster.SendAsync(new UnregisterBrokerCommand(2));

        Assert.Equal(ErrorCode.InvalidRequest, refused.Error);
        Assert.Contains("orders-0", refused.Message);
        Assert.Equal(ErrorCode.None, accepted.Error);
        Assert.False(cluster.Image.Brokers.ContainsKey(2));
    }

    [Fact]
    public async Task Unregistering_an_unknown_broker_id_is_refused_with_broker_id_not_registered()
    {
        await using var cluster = await ControllerFixture.StartAsync();
        await cluster.AddBrokersAsync(1);

        var refused = await cluster.SendAsync(new UnregisterBrokerCommand(7));

        Assert.Equal(ErrorCode.BrokerIdNotRegistered, refused.Error);
        Assert.Contains("7", refused.Message);
        Assert.True(cluster.Image.Brokers.ContainsKey(1));
    }
}
