using Tributary.Protocol;
using Tributary.Protocol.Messages;
using Xunit.Abstractions;
using WireError = Tributary.Protocol.ErrorCode;

namespace Tributary.Integration.Tests.Cluster;

/// <summary>
/// DescribeQuorum v2 (KIP-853, served by Kafka 3.9) on the wire against a real 3-broker cluster: each voter appears in
/// Nodes with its controller listener, and directory ids are the zero uuid of a static voter set.
/// </summary>
public sealed class DescribeQuorumV2ClusterTests(ITestOutputHelper output)
{
    [Fact]
    public async Task DescribeQuorum_v2_lists_every_voter_with_its_controller_listener()
    {
        await using var cluster = await ClusterProcess.StartAsync(output);
        var controller = await cluster.ActiveControllerIdAsync();
        var request = new DescribeQuorumRequest
        {
            Topics = [new DescribeQuorumRequest.TopicData { TopicName = "__cluster_metadata", Partitions = [new DescribeQuorumRequest.PartitionData { PartitionIndex = 0 }] }],
        };

        var response = await RawKafkaExchange.SendAsync<DescribeQuorumResponse>(cluster.Broker(controller), request, version: 2);

        Assert.Equal(((short)WireError.None, (string?)null), (response.ErrorCode, response.ErrorMessage));
        var partition = response.Topics.Single().Partitions.Single();
        Assert.Equal(((short)WireError.None, (string?)null, controller), (partition.ErrorCode, partition.ErrorMessage, partition.LeaderId));
        Assert.All(partition.CurrentVoters, v => Assert.Equal(Uuid.Zero, v.ReplicaDirectoryId));
        var voters = cluster.Brokers.Where(b => b.IsVoter).OrderBy(b => b.NodeId).ToList();
        Assert.Equal(voters.Select(b => b.NodeId), response.Nodes.Select(n => n.NodeId).Order());
        foreach (var voter in voters)
        {
            var listener = Assert.Single(response.Nodes.Single(n => n.NodeId == voter.NodeId).Listeners);
            Assert.Equal(("CONTROLLER", voter.Host, voter.Ports.Quorum), (listener.Name, listener.Host, (int)listener.Port));
        }
    }

}
