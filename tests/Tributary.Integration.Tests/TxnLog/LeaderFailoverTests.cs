using Tributary.Integration.Tests.Cluster;
using Xunit.Abstractions;
using ErrorCode = Tributary.Protocol.ErrorCode;

namespace Tributary.Integration.Tests.TxnLog;

/// <summary>
/// A transaction open on a partition of a real 3-broker cluster when its leader is killed -9: the followers replicated the
/// transactional batches as ordinary batches and kept the same producer state, so the new leader's last stable offset still
/// stops at the open transaction, and a marker written to the new leader ends it.
/// </summary>
public sealed class LeaderFailoverTests(ITestOutputHelper output)
{
    private static readonly TimeSpan StateTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Kill_9_of_the_leader_with_an_open_transaction_keeps_the_last_stable_offset_on_the_new_leader()
    {
        await using var cluster = await ClusterProcess.StartAsync(output);
        var clients = new ClusterClients(cluster);
        var controller = await cluster.ActiveControllerIdAsync();
        var firstLeader = cluster.Brokers.First(b => b.NodeId != controller).NodeId;
        var replicas = new[] { firstLeader }.Concat(cluster.Brokers.Select(b => b.NodeId).Where(id => id != firstLeader)).ToList();
        var topic = ClusterSteps.UniqueTopic("txn-failover");
        await ClusterSteps.CreatePlacedTopicAsync(clients, topic, replicas);
        await clients.WaitForPartitionAsync(topic, 0, s => s.Leader == firstLeader && s.Isr.Count == replicas.Count, StateTimeout);
        var leader = cluster.Broker(firstLeader);
        var wire = new TxnWire(leader.Host, leader.Ports.Kafka);
        var (producer, epoch) = await wire.InitProducerIdAsync();

        Assert.Equal(ErrorCode.None, (await wire.ProduceAsync(topic, 0, producer, epoch, 0, ["c-0", "c-1", "c-2"])).Error);
        Assert.Equal([ErrorCode.None], await wire.WriteMarkerAsync(topic, [0], producer, epoch, commit: true, coordinatorEpoch: 0));
        var (openError, openOffset) = await wire.ProduceAsync(topic, 0, producer, epoch, 3, ["o-0", "o-1", "o-2", "o-3"]);
        Assert.Equal(ErrorCode.None, openError);
        Assert.Equal(4, openOffset);
        Assert.Equal(openOffset, await wire.LatestOffsetAsync(topic, 0, readCommitted: true));

        leader.Kill();
        var moved = await clients.WaitForPartitionAsync(topic, 0, s => s.Leader >= 0 && s.Leader != firstLeader && !s.Isr.Contains(firstLeader), StateTimeout);
        var newLeader = cluster.Broker(moved.Leader);
        var newWire = new TxnWire(newLeader.Host, newLeader.Ports.Kafka);
        // acks=all put the open transaction on every in-sync replica; the new leader's high watermark reaches it once it leads.
        var highWatermark = await Eventually.ValueAsync(() => newWire.TryLatestOffsetAsync(topic, 0, readCommitted: false),
            r => r.Error == ErrorCode.None && r.Offset == openOffset + 4, StateTimeout);
        Assert.Equal((ErrorCode.None, openOffset + 4), highWatermark);

        Assert.Equal(openOffset, await newWire.LatestOffsetAsync(topic, 0, readCommitted: true));

        Assert.Equal([ErrorCode.None], await newWire.WriteMarkerAsync(topic, [0], producer, epoch, commit: false, coordinatorEpoch: 1));
        Assert.Equal(openOffset + 5, await newWire.LatestOffsetAsync(topic, 0, readCommitted: true));
        Assert.Equal(openOffset + 5, await newWire.LatestOffsetAsync(topic, 0, readCommitted: false));
    }
}
