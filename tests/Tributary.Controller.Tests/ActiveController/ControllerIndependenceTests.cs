using Microsoft.Extensions.Logging.Abstractions;
using Tributary.Metadata.Records;
using Tributary.Protocol;

namespace Tributary.Controller.Tests.ActiveController;

/// <summary>The active controller answers from its own replayed state: a broker-side publisher that is stuck (a slow
/// disk, thousands of leadership changes) must not stall cluster metadata.</summary>
public sealed class ControllerIndependenceTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Controller_answers_create_topics_and_heartbeats_while_its_own_brokers_publisher_is_blocked()
    {
        await using var log = new InMemoryMetadataLogTestDouble(nodeId: 100);
        await using var brokerLoader = new MetadataLoader(log, NullLogger.Instance);
        using var gate = new ManualResetEventSlim(initialState: true);
        brokerLoader.AddPublisher(new BlockingPublisherTestDouble(gate));
        await using var controller = new QuorumController(log,
            new QuorumControllerOptions { TickInterval = Timeout.InfiniteTimeSpan, PlacementSeed = 7 }, new ManualTimeProviderFake(), NullLogger.Instance);
        brokerLoader.Start();
        controller.Start();
        log.BecomeLeader(1);
        await controller.RunTickAsync(CancellationToken.None).WaitAsync(Bound);
        var registered = (RegisterBrokerReply)await controller.HandleAsync(new RegisterBrokerCommand(1, Uuid.NewRandom(),
            [new BrokerEndpoint("PLAINTEXT", "127.0.0.1", 9001, 0)], null), CancellationToken.None).WaitAsync(Bound);
        var unfenced = (BrokerHeartbeatReply)await controller.HandleAsync(new BrokerHeartbeatCommand(1, registered.BrokerEpoch,
            registered.Offset, WantFence: false, WantShutdown: false), CancellationToken.None).WaitAsync(Bound);
        Assert.False(unfenced.IsFenced);

        gate.Reset();
        try
        {
            var created = await controller.HandleAsync(new CreateTopicCommand(
                new NewTopic("orders", 3, 1, null, new Dictionary<string, string?>()), ValidateOnly: false), CancellationToken.None).WaitAsync(Bound);
            var heartbeat = (BrokerHeartbeatReply)await controller.HandleAsync(new BrokerHeartbeatCommand(1, registered.BrokerEpoch,
                registered.Offset, WantFence: false, WantShutdown: false), CancellationToken.None).WaitAsync(Bound);

            Assert.Equal(ErrorCode.None, created.Error);
            Assert.Equal(ErrorCode.None, heartbeat.Error);
            Assert.False(heartbeat.IsFenced);
            Assert.True(controller.IsActive);
            Assert.Equal(3, controller.Image.Topics["orders"].Partitions.Length);
            // The broker's loader releases its waiters only after its publishers ran: still blocked.
            Assert.False(brokerLoader.WaitForOffsetAsync(created.Offset, CancellationToken.None).IsCompleted,
                "the broker's publisher was still blocked when the controller answered");
        }
        finally
        {
            gate.Set();
        }

        await brokerLoader.WaitForOffsetAsync(log.LastOffset, new CancellationTokenSource(Bound).Token);
        Assert.True(brokerLoader.Current.Topics.ContainsKey("orders"));
    }

    /// <summary>A broker-side publisher stuck while the gate is closed (bounded, so a broken test cannot hang the run).</summary>
    private sealed class BlockingPublisherTestDouble(ManualResetEventSlim gate) : IMetadataPublisher
    {
        public string Name => "blocking";

        public void OnMetadataUpdate(MetadataDelta delta, MetadataImage newImage) => gate.Wait(TimeSpan.FromSeconds(60));
    }
}
