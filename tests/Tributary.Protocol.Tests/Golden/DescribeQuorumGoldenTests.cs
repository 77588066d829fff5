using Tributary.Protocol.Messages;

namespace Tributary.Protocol.Tests.Golden;

/// <summary>
/// DescribeQuorum encodes as Kafka's message spec prescribes: flexible in every version, the replicas' fetch and
/// caught-up timestamps from v1 (KIP-836) (vectors worked out by hand).
/// </summary>
public class DescribeQuorumGoldenTests
{
    /// <summary>"__cluster_metadata" (18 bytes) as a compact string: length + 1 = 0x13, then UTF-8.</summary>
    private const string MetadataTopic = "13" + "5F5F636C75737465725F6D65746164617461";

    [Fact]
    public void Write_v1_request_names_the_metadata_partition()
    {
        var request = new DescribeQuorumRequest
        {
            Topics =
            [
                new DescribeQuorumRequest.TopicData
                {
                    TopicName = "__cluster_metadata",
                    Partitions = [new DescribeQuorumRequest.PartitionData { PartitionIndex = 0 }],
                },
            ],
        };

        string expected =
            "02" +                      // topics: 1, compact
            MetadataTopic +             //   topic_name "__cluster_metadata"
            "02" +                      //   partitions: 1
            "00000000" +                //     partition_index 0
            "00" +                      //     partition: no tags
            "00" +                      //   topic: no tags
            "00";                       // no tags
        Assert.Equal(expected, Convert.ToHexString(GoldenFrames.EncodeBody(request, version: 1)));
    }

    private static DescribeQuorumResponse OneVoterLeading() => new()
    {
        ErrorCode = 0,
        Topics =
        [
            new DescribeQuorumResponse.TopicData
            {
                TopicName = "__cluster_metadata",
                Partitions =
                [
                    new DescribeQuorumResponse.PartitionData
                    {
                        PartitionIndex = 0,
                        ErrorCode = 0,
                        LeaderId = 1,
                        LeaderEpoch = 3,
                        HighWatermark = 10,
                        CurrentVoters =
                        [
                            new DescribeQuorumResponse.ReplicaState
                            {
                                ReplicaId = 1,
                                LogEndOffset = 10,
                                LastFetchTimestamp = 1000,
                                LastCaughtUpTimestamp = 1000,
                            },
                        ],
                        Observers = [],
                    },
                ],
            },
        ],
    };

    private const string ResponseV1 =
        "0000" +                        // error_code 0
        "02" +                          // topics: 1, compact
        MetadataTopic +                 //   topic_name "__cluster_metadata"
        "02" +                          //   partitions: 1
        "00000000" +                    //     partition_index 0
        "0000" +                        //     error_code 0
        "00000001" +                    //     leader_id 1
        "00000003" +                    //     leader_epoch 3
        "000000000000000A" +            //     high_watermark 10
        "02" +                          //     current_voters: 1
        "00000001" +                    //       replica_id 1
        "000000000000000A" +            //       log_end_offset 10
        "00000000000003E8" +            //       last_fetch_timestamp 1000
        "00000000000003E8" +            //       last_caught_up_timestamp 1000
        "00" +                          //       voter: no tags
        "01" +                          //     observers: 0, compact
        "00" +                          //     partition: no tags
        "00" +                          //   topic: no tags
        "00";                           // no tags

    [Fact]
    public void Write_v1_response_gives_leader_high_watermark_and_voter_progress()
    {
        Assert.Equal(ResponseV1, Convert.ToHexString(GoldenFrames.EncodeBody(OneVoterLeading(), version: 1)));
    }

    [Fact]
    public void Read_v1_response_recovers_the_voter_state()
    {
        var reader = new KafkaReader(Convert.FromHexString(ResponseV1));

        var response = DescribeQuorumResponse.Read(ref reader, version: 1);

        Assert.Equal(0, reader.Remaining);
        var topic = Assert.Single(response.Topics);
        Assert.Equal("__cluster_metadata", topic.TopicName);
        var partition = Assert.Single(topic.Partitions);
        Assert.Equal((1, 3, 10L), (partition.LeaderId, partition.LeaderEpoch, partition.HighWatermark));
        var voter = Assert.Single(partition.CurrentVoters);
        Assert.Equal((1, 10L, 1000L, 1000L), (voter.ReplicaId, voter.LogEndOffset, voter.LastFetchTimestamp, voter.LastCaughtUpTimestamp));
        Assert.Empty(partition.Observers);
    }

    [Fact]
    public void Read_v0_response_has_no_timestamps_and_leaves_them_unknown()
    {
        string v0 =
            "0000" +                    // error_code 0
            "02" + MetadataTopic +      // topics: 1, topic_name "__cluster_metadata"
            "02" +                      //   partitions: 1
            "00000000" +                //     partition_index 0
            "0000" +                    //     error_code 0
            "00000001" +                //     leader_id 1
            "00000003" +                //     leader_epoch 3
            "000000000000000A" +        //     high_watermark 10
            "01" +                      //     current_voters: 0
            "02" +                      //     observers: 1
            "00000007" +                //       replica_id 7
            "0000000000000009" +        //       log_end_offset 9
            "00" +                      //       observer: no tags
            "00" + "00" + "00";         //     partition, topic, top-level: no tags
        var reader = new KafkaReader(Convert.FromHexString(v0));

        var response = DescribeQuorumResponse.Read(ref reader, version: 0);

        Assert.Equal(0, reader.Remaining);
        var partition = Assert.Single(Assert.Single(response.Topics).Partitions);
        Assert.Empty(partition.CurrentVoters);
        var observer = Assert.Single(partition.Observers);
        Assert.Equal((7, 9L, -1L, -1L), (observer.ReplicaId, observer.LogEndOffset, observer.LastFetchTimestamp, observer.LastCaughtUpTimestamp));
    }
}
