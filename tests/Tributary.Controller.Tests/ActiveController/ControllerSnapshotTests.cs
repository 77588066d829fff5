using Microsoft.Extensions.Logging.Abstractions;
using Tributary.Metadata.Records;
using Tributary.Protocol;

namespace Tributary.Controller.Tests.ActiveController;

/// <summary>The controller's replayed state starts from the latest metadata snapshot when the log was truncated below it.</summary>
public sealed class ControllerSnapshotTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Controller_over_a_truncated_log_decides_from_the_snapshot_plus_the_tail()
    {
        await using var log = new InMemoryMetadataLogTestDouble(nodeId: 100);
        var orders = new Uuid(11, 11);
        log.CommitExternally(new ClusterIdRecord("snapshotted"),
            new RegisterBrokerRecord(1, Uuid.NewRandom(), 5, [new BrokerEndpoint("PLAINTEXT", "127.0.0.1", 9001, 0)], null, Fenced: false));
        log.CommitExternally(new TopicRecord("orders", orders), new PartitionRecord(orders, 0, [1], [1], 1, 0, 0),
            new ProducerIdsRecord(1, 5, 7000));
        var applier = new MetadataApplier(NullLogger.Instance);
        var image = log.Batches.Aggregate(MetadataImage.Empty, applier.Apply);
        await log.WriteSnapshotAsync(image.Offset, image.ToRecords(), CancellationToken.None);
        log.TruncateBelowLatestSnapshot();
        log.CommitExternally(new TopicRecord("later", new Uuid(12, 12)), new PartitionRecord(new Uuid(12, 12), 0, [1], [1], 1, 0, 0));

        await using var controller = new QuorumController(log,
            new QuorumControllerOptions { TickInterval = Timeout.InfiniteTimeSpan, PlacementSeed = 7 }, new ManualTimeProviderFake(), NullLogger.Instance);
        controller.Start();
        log.BecomeLeader(2);
        await controller.RunTickAsync(CancellationToken.None).WaitAsync(Bound);

        Assert.True(controller.IsActive);
        Assert.True(log.LogStartOffset > 0);
        Assert.Equal("snapshotted", controller.Image.ClusterId);
        Assert.Equal(["later", "orders"], controller.Image.Topics.Keys);
        var again = await controller.HandleAsync(new CreateTopicCommand(
            new NewTopic("orders", 1, 1, null, new Dictionary<string, string?>()), ValidateOnly: false), CancellationToken.None).WaitAsync(Bound);
        Assert.Equal(ErrorCode.TopicAlreadyExists, again.Error);
        var heartbeat = (BrokerHeartbeatReply)await controller.HandleAsync(
            new BrokerHeartbeatCommand(1, 5, log.LastOffset, WantFence: false, WantShutdown: false), CancellationToken.None).WaitAsync(Bound);
        Assert.Equal(ErrorCode.None, heartbeat.Error);
        var ids = (ProducerIdsReply)await controller.HandleAsync(new AllocateProducerIdsCommand(1, 5), CancellationToken.None).WaitAsync(Bound);
        Assert.Equal((ErrorCode.None, 7000L), (ids.Error, ids.FirstProducerId));
    }
}
