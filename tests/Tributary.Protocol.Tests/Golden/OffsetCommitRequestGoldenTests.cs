using Tributary.Protocol.Messages;

namespace Tributary.Protocol.Tests.Golden;

/// <summary>OffsetCommit requests encode to the bytes Kafka's message spec prescribes per version (vectors worked out by hand).</summary>
public class OffsetCommitRequestGoldenTests
{
    private static OffsetCommitRequest CommitOne() => new()
    {
        GroupId = "g",
        GenerationIdOrMemberEpoch = 3,
        MemberId = "m",
        GroupInstanceId = null,
        Topics =
        [
            new OffsetCommitRequest.OffsetCommitRequestTopic
            {
                Name = "t",
                Partitions =
                [
                    new OffsetCommitRequest.OffsetCommitRequestPartition
                    {
                        PartitionIndex = 0,
                        CommittedOffset = 42,
                        CommittedLeaderEpoch = 5,
                        CommittedMetadata = "",
                    },
                ],
            },
        ],
    };

    private const string V8 =
        "02" + "67" +                   // group_id "g", compact
        "00000003" +                    // generation_id_or_member_epoch 3
        "02" + "6D" +                   // member_id "m"
        "00" +                          // group_instance_id null
        "02" +                          // topics: 1, compact
        "02" + "74" +                   //   name "t"
        "02" +                          //   partitions: 1
        "00000000" +                    //     partition_index 0
        "000000000000002A" +            //     committed_offset 42
        "00000005" +                    //     committed_leader_epoch 5
        "01" +                          //     committed_metadata "" (compact: length + 1)
        "00" +                          //     partition: no tags
        "00" +                          //   topic: no tags
        "00";                           // no tags

    [Fact]
    public void Write_v8_is_compact_with_a_tag_section_per_struct()
    {
        byte[] bytes = GoldenFrames.EncodeBody(CommitOne(), version: 8);

        Assert.Equal(V8, Convert.ToHexString(bytes));
    }

    [Fact]
    public void Read_v8_recovers_every_field_and_reencodes_to_the_same_bytes()
    {
        var reader = new KafkaReader(Convert.FromHexString(V8));

        OffsetCommitRequest request = OffsetCommitRequest.Read(ref reader, version: 8);

        Assert.Equal(0, reader.Remaining);
        Assert.Equal(("g", 3, "m"), (request.GroupId, request.GenerationIdOrMemberEpoch, request.MemberId));
        Assert.Null(request.GroupInstanceId);
        var topic = Assert.Single(request.Topics);
        Assert.Equal("t", topic.Name);
        var partition = Assert.Single(topic.Partitions);
        Assert.Equal((0, 42L, 5, ""), (partition.PartitionIndex, partition.CommittedOffset, partition.CommittedLeaderEpoch, partition.CommittedMetadata));
        Assert.Equal(V8, Convert.ToHexString(GoldenFrames.EncodeBody(request, version: 8)));
    }

    [Fact]
    public void Write_v1_carries_a_per_partition_commit_timestamp_and_no_leader_epoch()
    {
        byte[] bytes = GoldenFrames.EncodeBody(CommitOne(), version: 1);

        string expected =
            "000167" + "00000003" + "00016D" +
            "00000001" + "000174" + "00000001" +
            "00000000" + "000000000000002A" +
            "FFFFFFFFFFFFFFFF" +            // commit_timestamp -1: "now"
            "0000";                         // committed_metadata ""
        Assert.Equal(expected, Convert.ToHexString(bytes));
    }

    [Fact]
    public void Write_v2_carries_the_retention_time_after_the_member_id()
    {
        byte[] bytes = GoldenFrames.EncodeBody(CommitOne(), version: 2);

        string expected =
            "000167" + "00000003" + "00016D" +
            "FFFFFFFFFFFFFFFF" +            // retention_time_ms -1: the broker's offsets.retention.minutes
            "00000001" + "000174" + "00000001" +
            "00000000" + "000000000000002A" + "0000";
        Assert.Equal(expected, Convert.ToHexString(bytes));
    }

    [Fact]
    public void Write_v0_has_only_the_group_id_before_the_topics()
    {
        byte[] bytes = GoldenFrames.EncodeBody(CommitOne(), version: 0);

        Assert.Equal("000167" + "00000001" + "000174" + "00000001" + "00000000" + "000000000000002A" + "0000", Convert.ToHexString(bytes));
    }

    [Fact]
    public void Null_metadata_travels_as_compact_length_zero_in_v8()
    {
        OffsetCommitRequest request = CommitOne();
        request.Topics[0].Partitions[0].CommittedMetadata = null;

        byte[] bytes = GoldenFrames.EncodeBody(request, version: 8);
        var reader = new KafkaReader(bytes);
        OffsetCommitRequest decoded = OffsetCommitRequest.Read(ref reader, version: 8);

        // V8 up to the leader epoch, then metadata null instead of "" and the three tag sections.
        Assert.Equal(V8[..^8] + "00" + "000000", Convert.ToHexString(bytes));
        Assert.Null(decoded.Topics[0].Partitions[0].CommittedMetadata);
    }
}
