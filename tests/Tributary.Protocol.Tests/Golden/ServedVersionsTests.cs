using Tributary.Protocol.Messages;

namespace Tributary.Protocol.Tests.Golden;

/// <summary>The definitions serve exactly the version ranges we promise, with Kafka's first flexible versions.</summary>
public class ServedVersionsTests
{
    [Theory]
    [InlineData(ApiKeys.Produce, 3, 11, 9)]
    [InlineData(ApiKeys.Fetch, 4, 17, 12)]
    [InlineData(ApiKeys.ListOffsets, 0, 9, 6)]
    [InlineData(ApiKeys.Metadata, 0, 12, 9)]
    [InlineData(ApiKeys.OffsetCommit, 0, 9, 8)]
    [InlineData(ApiKeys.OffsetFetch, 0, 9, 6)]
    [InlineData(ApiKeys.FindCoordinator, 0, 6, 3)]
    [InlineData(ApiKeys.JoinGroup, 0, 9, 6)]
    [InlineData(ApiKeys.Heartbeat, 0, 4, 4)]
    [InlineData(ApiKeys.LeaveGroup, 0, 5, 4)]
    [InlineData(ApiKeys.SyncGroup, 0, 5, 4)]
    [InlineData(ApiKeys.DescribeGroups, 0, 5, 5)]
    [InlineData(ApiKeys.ListGroups, 0, 5, 3)]
    [InlineData(ApiKeys.ApiVersions, 0, 4, 3)]
    [InlineData(ApiKeys.CreateTopics, 0, 7, 5)]
    [InlineData(ApiKeys.DeleteTopics, 0, 6, 4)]
    [InlineData(ApiKeys.DeleteRecords, 0, 2, 2)]
    [InlineData(ApiKeys.InitProducerId, 0, 5, 2)]
    [InlineData(ApiKeys.OffsetForLeaderEpoch, 0, 4, 4)]
    [InlineData(ApiKeys.DescribeConfigs, 0, 4, 4)]
    [InlineData(ApiKeys.AlterConfigs, 0, 2, 2)]
    [InlineData(ApiKeys.DescribeLogDirs, 0, 4, 2)]
    [InlineData(ApiKeys.CreatePartitions, 0, 3, 2)]
    [InlineData(ApiKeys.DeleteGroups, 0, 2, 2)]
    [InlineData(ApiKeys.ElectLeaders, 0, 2, 2)]
    [InlineData(ApiKeys.IncrementalAlterConfigs, 0, 1, 1)]
    [InlineData(ApiKeys.AlterPartitionReassignments, 0, 0, 0)]
    [InlineData(ApiKeys.ListPartitionReassignments, 0, 0, 0)]
    [InlineData(ApiKeys.OffsetDelete, 0, 0, -1)]
    [InlineData(ApiKeys.DescribeQuorum, 0, 2, 0)]
    [InlineData(ApiKeys.DescribeCluster, 0, 1, 0)]
    [InlineData(ApiKeys.UnregisterBroker, 0, 0, 0)]
    public void Catalog_serves_the_promised_range(ApiKeys api, short lowest, short highest, short firstFlexible)
    {
        Assert.True(ApiCatalog.TryGet((short)api, out ApiDescriptor? descriptor));

        Assert.Equal((lowest, highest, firstFlexible), (descriptor.LowestVersion, descriptor.HighestVersion, descriptor.FirstFlexibleVersion));
    }
}
