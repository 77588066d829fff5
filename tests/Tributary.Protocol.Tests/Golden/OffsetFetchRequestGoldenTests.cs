using Tributary.Protocol.Messages;

namespace Tributary.Protocol.Tests.Golden;

/// <summary>OffsetFetch requests: one group with nullable topics up to v7, a batch of groups from v8 (KIP-709).</summary>
public class OffsetFetchRequestGoldenTests
{
    [Fact]
    public void Write_v8_sends_groups_each_with_null_topics_for_all_partitions_then_require_stable()
    {
        var request = new OffsetFetchRequest
        {
            Groups = [new OffsetFetchRequest.OffsetFetchRequestGroup { GroupId = "g", Topics = null }],
            RequireStable = true,
        };

        byte[] bytes = GoldenFrames.EncodeBody(request, version: 8);

        string expected =
            "02" +                          // groups: 1, compact
            "0267" +                        //   group_id "g"
            "00" +                          //   topics: null (every committed partition)
            "00" +                          //   group: no tags
            "01" +                          // require_stable true
            "00";                           // no tags
        Assert.Equal(expected, Convert.ToHexString(bytes));
    }

    [Fact]
    public void Write_v2_sends_null_topics_as_count_minus_one()
    {
        var request = new OffsetFetchRequest { GroupId = "g", Topics = null };

        Assert.Equal("000167" + "FFFFFFFF", Convert.ToHexString(GoldenFrames.EncodeBody(request, version: 2)));
    }

    [Fact]
    public void Write_v1_refuses_null_topics_which_only_v2_and_later_allow()
    {
        var request = new OffsetFetchRequest { GroupId = "g", Topics = null };

        Assert.Throws<InvalidOperationException>(() => GoldenFrames.EncodeBody(request, version: 1));
    }

    [Fact]
    public void Read_v7_recovers_named_partitions_and_require_stable()
    {
        string v7 =
            "0267" +                        // group_id "g"
            "02" + "0274" +                 // topics: 1, name "t"
            "03" + "00000000" + "00000001" + // partition_indexes: [0, 1]
            "00" +                          //   topic: no tags
            "01" +                          // require_stable true
            "00";
        var reader = new KafkaReader(Convert.FromHexString(v7));

        OffsetFetchRequest request = OffsetFetchRequest.Read(ref reader, version: 7);

        Assert.Equal(0, reader.Remaining);
        Assert.Equal("g", request.GroupId);
        var topic = Assert.Single(request.Topics!);
        Assert.Equal("t", topic.Name);
        Assert.Equal([0, 1], topic.PartitionIndexes);
        Assert.True(request.RequireStable);
        Assert.Equal(v7, Convert.ToHexString(GoldenFrames.EncodeBody(request, version: 7)));
    }
}
