using Tributary.Protocol.Messages;

namespace Tributary.Protocol.Tests.Golden;

/// <summary>
/// The Fetch fields a follower replica relies on encode as Kafka's message spec prescribes: ReplicaId,
/// CurrentLeaderEpoch, LastFetchedEpoch and LogStartOffset in the request; HighWatermark and the tagged DivergingEpoch
/// (KIP-595) in the response (vectors worked out by hand, v12: the first flexible version).
/// </summary>
public class FetchReplicationGoldenTests
{
    private const string FollowerRequestV12 =
        "00000002" +                    // replica_id 2: a follower
        "000001F4" +                    // max_wait_ms 500
        "00000001" +                    // min_bytes 1
        "7FFFFFFF" +                    // max_bytes
        "00" +                          // isolation_level READ_UNCOMMITTED
        "00000000" +                    // session_id 0
        "FFFFFFFF" +                    // session_epoch -1: no session
        "02" +                          // topics: 1, compact
        "02" + "74" +                   //   topic "t"
        "02" +                          //   partitions: 1
        "00000000" +                    //     partition 0
        "00000003" +                    //     current_leader_epoch 3
        "0000000000000064" +            //     fetch_offset 100
        "00000002" +                    //     last_fetched_epoch 2
        "0000000000000000" +            //     log_start_offset 0
        "00100000" +                    //     partition_max_bytes 1 MiB
        "00" +                          //     partition: no tags
        "00" +                          //   topic: no tags
        "01" +                          // forgotten_topics_data: 0
        "01" +                          // rack_id ""
        "00";                           // no tags (cluster_id null is the default, not written)

    [Fact]
    public void Write_v12_follower_request_carries_the_epochs_of_its_log()
    {
        var request = new FetchRequest
        {
            ReplicaId = 2,
            MaxWaitMs = 500,
            MinBytes = 1,
            SessionEpoch = -1,
            Topics =
            [
                new FetchRequest.FetchTopic
                {
                    Topic = "t",
                    Partitions =
                    [
                        new FetchRequest.FetchPartition
                        {
                            Partition = 0,
                            CurrentLeaderEpoch = 3,
                            FetchOffset = 100,
                            LastFetchedEpoch = 2,
                            LogStartOffset = 0,
                            PartitionMaxBytes = 1 << 20,
                        },
                    ],
                },
            ],
        };

        Assert.Equal(FollowerRequestV12, Convert.ToHexString(GoldenFrames.EncodeBody(request, version: 12)));
    }

    [Fact]
    public void Read_v12_follower_request_recovers_the_last_fetched_epoch()
    {
        var reader = new KafkaReader(Convert.FromHexString(FollowerRequestV12));

        var request = FetchRequest.Read(ref reader, version: 12);

        Assert.Equal(0, reader.Remaining);
        Assert.Equal(2, request.ReplicaId);
        var partition = Assert.Single(Assert.Single(request.Topics).Partitions);
        Assert.Equal((3, 100L, 2, 0L), (partition.CurrentLeaderEpoch, partition.FetchOffset, partition.LastFetchedEpoch, partition.LogStartOffset));
    }

    private const string DivergedResponseV12 =
        "00000000" +                    // throttle_time_ms 0
        "0000" +                        // error_code 0
        "00000000" +                    // session_id 0
        "02" +                          // responses: 1, compact
        "02" + "74" +                   //   topic "t"
        "02" +                          //   partitions: 1
        "00000000" +                    //     partition_index 0
        "0000" +                        //     error_code 0
        "000000000000005A" +            //     high_watermark 90
        "000000000000005A" +            //     last_stable_offset 90
        "0000000000000000" +            //     log_start_offset 0
        "00" +                          //     aborted_transactions null, compact
        "FFFFFFFF" +                    //     preferred_read_replica -1
        "00" +                          //     records null, compact
        "01" +                          //     tagged fields: 1
        "00" + "0D" +                   //       tag 0 diverging_epoch, 13 bytes:
        "00000002" +                    //         epoch 2
        "0000000000000050" +            //         end_offset 80
        "00" +                          //         struct: no tags
        "00" +                          //   topic: no tags
        "00";                           // no tags

    [Fact]
    public void Write_v12_response_tells_the_follower_where_its_log_diverged()
    {
        var response = new FetchResponse
        {
            Responses =
            [
                new FetchResponse.FetchableTopicResponse
                {
                    Topic = "t",
                    Partitions =
                    [
                        new FetchResponse.PartitionData
                        {
                            PartitionIndex = 0,
                            HighWatermark = 90,
                            LastStableOffset = 90,
                            LogStartOffset = 0,
                            DivergingEpoch = new FetchResponse.EpochEndOffset { Epoch = 2, EndOffset = 80 },
                            AbortedTransactions = null,
                            Records = null,
                        },
                    ],
                },
            ],
        };

        Assert.Equal(DivergedResponseV12, Convert.ToHexString(GoldenFrames.EncodeBody(response, version: 12)));
    }

    [Fact]
    public void Read_v12_response_recovers_the_diverging_epoch_and_high_watermark()
    {
        var reader = new KafkaReader(Convert.FromHexString(DivergedResponseV12));

        var response = FetchResponse.Read(ref reader, version: 12);

        Assert.Equal(0, reader.Remaining);
        var partition = Assert.Single(Assert.Single(response.Responses).Partitions);
        Assert.Equal(90, partition.HighWatermark);
        Assert.Equal((2, 80L), (partition.DivergingEpoch.Epoch, partition.DivergingEpoch.EndOffset));
        Assert.Equal((-1, -1), (partition.CurrentLeader.LeaderId, partition.CurrentLeader.LeaderEpoch));
    }
}
