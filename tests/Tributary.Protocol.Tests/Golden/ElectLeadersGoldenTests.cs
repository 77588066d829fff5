using Tributary.Protocol.Messages;

namespace Tributary.Protocol.Tests.Golden;

/// <summary>
/// ElectLeaders encodes as Kafka's message spec prescribes: ElectionType and the top-level ErrorCode from v1 (KIP-460),
/// flexible from v2, a null partition list meaning "every partition" (vectors worked out by hand).
/// </summary>
public class ElectLeadersGoldenTests
{
    private const string UncleanRequestV2 =
        "01" +                          // election_type 1 (UNCLEAN)
        "02" +                          // topic_partitions: 1, compact
        "02" + "74" +                   //   topic "t"
        "03" +                          //   partitions: 2, compact
        "00000000" + "00000001" +       //     0, 1
        "00" +                          //   topic: no tags
        "00007530" +                    // timeout_ms 30000
        "00";                           // no tags

    [Fact]
    public void Write_v2_request_is_compact_and_carries_the_election_type()
    {
        var request = new ElectLeadersRequest
        {
            ElectionType = 1,
            TopicPartitions = [new ElectLeadersRequest.ElectionTopic { Topic = "t", Partitions = [0, 1] }],
            TimeoutMs = 30_000,
        };

        Assert.Equal(UncleanRequestV2, Convert.ToHexString(GoldenFrames.EncodeBody(request, version: 2)));
    }

    [Fact]
    public void Read_v2_request_recovers_the_topic_partitions()
    {
        var reader = new KafkaReader(Convert.FromHexString(UncleanRequestV2));

        var request = ElectLeadersRequest.Read(ref reader, version: 2);

        Assert.Equal(0, reader.Remaining);
        Assert.Equal((1, 30_000), (request.ElectionType, request.TimeoutMs));
        var topic = Assert.Single(request.TopicPartitions!);
        Assert.Equal("t", topic.Topic);
        Assert.Equal([0, 1], topic.Partitions);
    }

    [Fact]
    public void Read_v0_request_for_all_partitions_has_a_null_list_and_means_preferred()
    {
        string v0 =
            "FFFFFFFF" +                // topic_partitions null: every partition
            "0000EA60";                 // timeout_ms 60000
        var reader = new KafkaReader(Convert.FromHexString(v0));

        var request = ElectLeadersRequest.Read(ref reader, version: 0);

        Assert.Equal(0, reader.Remaining);
        Assert.Null(request.TopicPartitions);
        Assert.Equal((0, 60_000), (request.ElectionType, request.TimeoutMs));
    }

    [Fact]
    public void Write_v2_request_for_all_partitions_writes_a_compact_null()
    {
        var request = new ElectLeadersRequest { ElectionType = 0, TopicPartitions = null, TimeoutMs = 60_000 };

        Assert.Equal("00" + "00" + "0000EA60" + "00", Convert.ToHexString(GoldenFrames.EncodeBody(request, version: 2)));
    }

    private static ElectLeadersResponse NotNeeded() => new()
    {
        ThrottleTimeMs = 0,
        ErrorCode = 0,
        ReplicaElectionResults =
        [
            new ElectLeadersResponse.ReplicaElectionResult
            {
                Topic = "t",
                PartitionResult =
                [
                    new ElectLeadersResponse.PartitionResult { PartitionId = 0, ErrorCode = (short)ErrorCode.ElectionNotNeeded, ErrorMessage = null },
                ],
            },
        ],
    };

    private const string ResponseV2 =
        "00000000" +                    // throttle_time_ms 0
        "0000" +                        // error_code 0
        "02" +                          // replica_election_results: 1, compact
        "02" + "74" +                   //   topic "t"
        "02" +                          //   partition_result: 1
        "00000000" +                    //     partition_id 0
        "0054" +                        //     error_code 84 ELECTION_NOT_NEEDED
        "00" +                          //     error_message null, compact
        "00" +                          //     partition: no tags
        "00" +                          //   topic: no tags
        "00";                           // no tags

    [Fact]
    public void Write_v2_response_has_the_top_level_error_and_compact_results()
    {
        Assert.Equal(ResponseV2, Convert.ToHexString(GoldenFrames.EncodeBody(NotNeeded(), version: 2)));
    }

    [Fact]
    public void Write_v0_response_has_no_top_level_error_code()
    {
        string v0 =
            "00000000" +                // throttle_time_ms 0
            "00000001" +                // replica_election_results: 1
            "0001" + "74" +             //   topic "t"
            "00000001" +                //   partition_result: 1
            "00000000" +                //     partition_id 0
            "0054" +                    //     error_code 84 ELECTION_NOT_NEEDED
            "FFFF";                     //     error_message null, int16 length

        Assert.Equal(v0, Convert.ToHexString(GoldenFrames.EncodeBody(NotNeeded(), version: 0)));
    }

    [Fact]
    public void Read_v2_response_recovers_each_partition_result()
    {
        var reader = new KafkaReader(Convert.FromHexString(ResponseV2));

        var response = ElectLeadersResponse.Read(ref reader, version: 2);

        Assert.Equal(0, reader.Remaining);
        var topic = Assert.Single(response.ReplicaElectionResults);
        Assert.Equal("t", topic.Topic);
        var result = Assert.Single(topic.PartitionResult);
        Assert.Equal((0, (short)ErrorCode.ElectionNotNeeded), (result.PartitionId, result.ErrorCode));
        Assert.Null(result.ErrorMessage);
    }
}
