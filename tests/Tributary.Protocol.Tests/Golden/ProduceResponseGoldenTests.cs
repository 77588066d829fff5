using Tributary.Protocol.Messages;

namespace Tributary.Protocol.Tests.Golden;

/// <summary>Produce responses encode to the bytes the protocol guide prescribes, including KIP-951's tagged leader hints.</summary>
public class ProduceResponseGoldenTests
{
    private static ProduceResponse NotLeaderWithHint() => new()
    {
        Responses =
        [
            new ProduceResponse.TopicProduceResponse
            {
                Name = "t",
                PartitionResponses =
                [
                    new ProduceResponse.PartitionProduceResponse
                    {
                        Index = 0,
                        ErrorCode = (short)ErrorCode.NotLeaderOrFollower,
                        BaseOffset = -1,
                        CurrentLeader = new ProduceResponse.LeaderIdAndEpoch { LeaderId = 2, LeaderEpoch = 7 },
                    },
                ],
            },
        ],
        ThrottleTimeMs = 0,
        NodeEndpoints = [new ProduceResponse.NodeEndpoint { NodeId = 2, Host = "h", Port = 9092, Rack = null }],
    };

    // Everything up to the partition's tagged-field section, identical in v9 and v10.
    private const string PartitionPrefix =
        "02" + "0274" +                 // responses: 1 topic, compact name "t"
        "02" +                          // partition_responses: 1
        "00000000" +                    // index 0
        "0006" +                        // NOT_LEADER_OR_FOLLOWER
        "FFFFFFFFFFFFFFFF" +            // base_offset -1
        "FFFFFFFFFFFFFFFF" +            // log_append_time_ms -1
        "FFFFFFFFFFFFFFFF" +            // log_start_offset -1
        "01" +                          // record_errors: empty compact array
        "00";                           // error_message: null compact string

    [Fact]
    public void Write_v10_sends_current_leader_and_node_endpoints_as_tag_zero_of_their_structs()
    {
        byte[] bytes = GoldenFrames.EncodeBody(NotLeaderWithHint(), version: 10);

        string expected =
            PartitionPrefix +
            "01" + "00" + "09" + "00000002" + "00000007" + "00" + // partition tags: CurrentLeader (its own empty tag section included)
            "00" +                                                 // topic: no tags
            "00000000" +                                           // throttle_time_ms
            "01" + "00" + "0D" +                                   // response tags: NodeEndpoints, 13 bytes
            "02" + "00000002" + "0268" + "00002384" + "00" + "00"; //   1 node: id 2, host "h", port 9092, rack null, no tags
        Assert.Equal(expected, Convert.ToHexString(bytes));
    }

    [Fact]
    public void Write_v9_leaves_out_the_leader_hints_that_only_exist_from_v10()
    {
        byte[] bytes = GoldenFrames.EncodeBody(NotLeaderWithHint(), version: 9);

        Assert.Equal(PartitionPrefix + "00" + "00" + "00000000" + "00", Convert.ToHexString(bytes));
    }

    [Fact]
    public void Read_v10_recovers_the_leader_hint_and_its_endpoint()
    {
        byte[] bytes = GoldenFrames.EncodeBody(NotLeaderWithHint(), version: 10);
        var reader = new KafkaReader(bytes);

        ProduceResponse response = ProduceResponse.Read(ref reader, version: 10);

        var partition = Assert.Single(Assert.Single(response.Responses).PartitionResponses);
        Assert.Equal(2, partition.CurrentLeader.LeaderId);
        Assert.Equal(7, partition.CurrentLeader.LeaderEpoch);
        var node = Assert.Single(response.NodeEndpoints);
        Assert.Equal(("h", 9092), (node.Host, node.Port));
        Assert.Equal(0, reader.Remaining);
    }

    [Fact]
    public void Write_v8_uses_int16_strings_and_int32_counts_with_no_tag_sections()
    {
        byte[] bytes = GoldenFrames.EncodeBody(NotLeaderWithHint(), version: 8);

        string expected =
            "00000001" + "0001" + "74" +    // responses: 1 topic, name "t"
            "00000001" +                    // partition_responses: 1
            "00000000" + "0006" +
            "FFFFFFFFFFFFFFFF" + "FFFFFFFFFFFFFFFF" + "FFFFFFFFFFFFFFFF" +
            "00000000" +                    // record_errors: empty
            "FFFF" +                        // error_message: null
            "00000000";                     // throttle_time_ms
        Assert.Equal(expected, Convert.ToHexString(bytes));
    }
}
