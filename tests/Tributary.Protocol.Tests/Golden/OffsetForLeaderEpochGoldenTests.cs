using Tributary.Protocol.Messages;

namespace Tributary.Protocol.Tests.Golden;

/// <summary>
/// OffsetForLeaderEpoch encodes as Kafka's message spec prescribes: CurrentLeaderEpoch from v2, ReplicaId from v3,
/// flexible from v4; the response's LeaderEpoch from v1 and ThrottleTimeMs from v2 (vectors worked out by hand).
/// </summary>
public class OffsetForLeaderEpochGoldenTests
{
    private static OffsetForLeaderEpochRequest FollowerAsksForEpoch4() => new()
    {
        ReplicaId = 1,
        Topics =
        [
            new OffsetForLeaderEpochRequest.OffsetForLeaderTopic
            {
                Topic = "t",
                Partitions = [new OffsetForLeaderEpochRequest.OffsetForLeaderPartition { Partition = 0, CurrentLeaderEpoch = 5, LeaderEpoch = 4 }],
            },
        ],
    };

    private const string RequestV4 =
        "00000001" +                    // replica_id 1
        "02" +                          // topics: 1, compact
        "02" + "74" +                   //   topic "t"
        "02" +                          //   partitions: 1
        "00000000" +                    //     partition 0
        "00000005" +                    //     current_leader_epoch 5
        "00000004" +                    //     leader_epoch 4
        "00" +                          //     partition: no tags
        "00" +                          //   topic: no tags
        "00";                           // no tags

    private const string RequestV3 =
        "00000001" +                    // replica_id 1
        "00000001" +                    // topics: 1, int32 count
        "0001" + "74" +                 //   topic "t", int16 length
        "00000001" +                    //   partitions: 1
        "00000000" +                    //     partition 0
        "00000005" +                    //     current_leader_epoch 5
        "00000004";                     //     leader_epoch 4

    [Fact]
    public void Write_v4_request_is_compact_with_a_tag_section_per_struct()
    {
        Assert.Equal(RequestV4, Convert.ToHexString(GoldenFrames.EncodeBody(FollowerAsksForEpoch4(), version: 4)));
    }

    [Fact]
    public void Write_v3_request_has_classic_lengths_and_the_replica_id()
    {
        Assert.Equal(RequestV3, Convert.ToHexString(GoldenFrames.EncodeBody(FollowerAsksForEpoch4(), version: 3)));
    }

    [Fact]
    public void Read_v4_request_recovers_the_follower_and_the_epochs()
    {
        var reader = new KafkaReader(Convert.FromHexString(RequestV4));

        var request = OffsetForLeaderEpochRequest.Read(ref reader, version: 4);

        Assert.Equal(0, reader.Remaining);
        Assert.Equal(1, request.ReplicaId);
        var topic = Assert.Single(request.Topics);
        Assert.Equal("t", topic.Topic);
        var partition = Assert.Single(topic.Partitions);
        Assert.Equal((0, 5, 4), (partition.Partition, partition.CurrentLeaderEpoch, partition.LeaderEpoch));
    }

    [Fact]
    public void Read_v1_request_has_no_replica_id_or_current_epoch_and_takes_the_defaults()
    {
        string v1 =
            "00000001" +                // topics: 1
            "0001" + "74" +             //   topic "t"
            "00000001" +                //   partitions: 1
            "00000002" +                //     partition 2
            "00000004";                 //     leader_epoch 4
        var reader = new KafkaReader(Convert.FromHexString(v1));

        var request = OffsetForLeaderEpochRequest.Read(ref reader, version: 1);

        Assert.Equal(0, reader.Remaining);
        // -2 is Kafka's "debug consumer" id, the default before followers identified themselves (v3).
        Assert.Equal(-2, request.ReplicaId);
        var partition = Assert.Single(Assert.Single(request.Topics).Partitions);
        Assert.Equal((2, -1, 4), (partition.Partition, partition.CurrentLeaderEpoch, partition.LeaderEpoch));
    }

    private static OffsetForLeaderEpochResponse Epoch4EndsAt100() => new()
    {
        ThrottleTimeMs = 0,
        Topics =
        [
            new OffsetForLeaderEpochResponse.OffsetForLeaderTopicResult
            {
                Topic = "t",
                Partitions = [new OffsetForLeaderEpochResponse.EpochEndOffset { ErrorCode = 0, Partition = 0, LeaderEpoch = 4, EndOffset = 100 }],
            },
        ],
    };

    private const string ResponseV4 =
        "00000000" +                    // throttle_time_ms 0
        "02" +                          // topics: 1, compact
        "02" + "74" +                   //   topic "t"
        "02" +                          //   partitions: 1
        "0000" +                        //     error_code 0
        "00000000" +                    //     partition 0
        "00000004" +                    //     leader_epoch 4
        "0000000000000064" +            //     end_offset 100
        "00" +                          //     partition: no tags
        "00" +                          //   topic: no tags
        "00";                           // no tags

    [Fact]
    public void Write_v4_response_gives_the_epoch_and_its_end_offset()
    {
        Assert.Equal(ResponseV4, Convert.ToHexString(GoldenFrames.EncodeBody(Epoch4EndsAt100(), version: 4)));
    }

    [Fact]
    public void Write_v0_response_has_neither_throttle_time_nor_leader_epoch()
    {
        string v0 =
            "00000001" +                // topics: 1
            "0001" + "74" +             //   topic "t"
            "00000001" +                //   partitions: 1
            "0000" +                    //     error_code 0
            "00000000" +                //     partition 0
            "0000000000000064";         //     end_offset 100

        Assert.Equal(v0, Convert.ToHexString(GoldenFrames.EncodeBody(Epoch4EndsAt100(), version: 0)));
    }

    [Fact]
    public void Read_v4_response_recovers_a_fenced_partition()
    {
        string fenced =
            "00000000" +                // throttle_time_ms 0
            "02" + "02" + "74" + "02" + // topics: 1, topic "t", partitions: 1
            "004A" +                    //     error_code 74 FENCED_LEADER_EPOCH
            "00000003" +                //     partition 3
            "FFFFFFFF" +                //     leader_epoch -1
            "FFFFFFFFFFFFFFFF" +        //     end_offset -1 (UNDEFINED_EPOCH_OFFSET)
            "00" + "00" + "00";         //     partition, topic, top-level: no tags
        var reader = new KafkaReader(Convert.FromHexString(fenced));

        var response = OffsetForLeaderEpochResponse.Read(ref reader, version: 4);

        Assert.Equal(0, reader.Remaining);
        var partition = Assert.Single(Assert.Single(response.Topics).Partitions);
        Assert.Equal(((short)ErrorCode.FencedLeaderEpoch, 3, -1, -1L), (partition.ErrorCode, partition.Partition, partition.LeaderEpoch, partition.EndOffset));
    }
}
