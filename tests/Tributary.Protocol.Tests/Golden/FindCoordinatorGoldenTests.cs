using Tributary.Protocol.Messages;

namespace Tributary.Protocol.Tests.Golden;

/// <summary>FindCoordinator encodes a single key up to v3 and a batch of keys from v4 (KIP-699), as Kafka's message spec prescribes.</summary>
public class FindCoordinatorGoldenTests
{
    [Fact]
    public void Write_v4_request_sends_key_type_then_a_compact_array_of_keys()
    {
        var request = new FindCoordinatorRequest { Key = "ignored in v4", KeyType = 0, CoordinatorKeys = ["g1", "g2"] };

        byte[] bytes = GoldenFrames.EncodeBody(request, version: 4);

        Assert.Equal("00" + "03" + "036731" + "036732" + "00", Convert.ToHexString(bytes));
    }

    [Fact]
    public void Write_v1_request_sends_the_single_key_then_its_type()
    {
        var request = new FindCoordinatorRequest { Key = "tx", KeyType = 1 };

        byte[] bytes = GoldenFrames.EncodeBody(request, version: 1);

        Assert.Equal("0002" + "7478" + "01", Convert.ToHexString(bytes));
    }

    [Fact]
    public void Write_v0_request_is_just_the_key()
    {
        var request = new FindCoordinatorRequest { Key = "g", KeyType = 1 };

        Assert.Equal("000167", Convert.ToHexString(GoldenFrames.EncodeBody(request, version: 0)));
    }

    private static FindCoordinatorResponse Answer() => new()
    {
        ErrorCode = 0,
        ErrorMessage = null,
        NodeId = 1,
        Host = "h",
        Port = 9092,
        Coordinators = [new FindCoordinatorResponse.Coordinator { Key = "g", NodeId = 1, Host = "h", Port = 9092 }],
    };

    private const string V4Response =
        "00000000" +                    // throttle_time_ms
        "02" +                          // coordinators: 1, compact
        "0267" +                        //   key "g"
        "00000001" +                    //   node_id 1
        "0268" + "00002384" +           //   host "h", port 9092
        "0000" + "00" +                 //   error_code NONE, error_message null
        "00" +                          //   coordinator: no tags
        "00";                           // no tags

    [Fact]
    public void Write_v4_response_answers_per_key_and_drops_the_top_level_fields()
    {
        Assert.Equal(V4Response, Convert.ToHexString(GoldenFrames.EncodeBody(Answer(), version: 4)));
    }

    [Fact]
    public void Read_v4_response_recovers_the_coordinator_and_reencodes_to_the_same_bytes()
    {
        var reader = new KafkaReader(Convert.FromHexString(V4Response));

        FindCoordinatorResponse response = FindCoordinatorResponse.Read(ref reader, version: 4);

        Assert.Equal(0, reader.Remaining);
        var coordinator = Assert.Single(response.Coordinators);
        Assert.Equal(("g", 1, "h", 9092), (coordinator.Key, coordinator.NodeId, coordinator.Host, coordinator.Port));
        Assert.Equal(V4Response, Convert.ToHexString(GoldenFrames.EncodeBody(response, version: 4)));
    }

    [Fact]
    public void Write_v3_response_is_compact_with_the_single_answer_at_top_level()
    {
        string expected = "00000000" + "0000" + "00" + "00000001" + "0268" + "00002384" + "00";

        Assert.Equal(expected, Convert.ToHexString(GoldenFrames.EncodeBody(Answer(), version: 3)));
    }

    [Fact]
    public void Write_v0_response_has_no_throttle_time_and_no_error_message()
    {
        Assert.Equal("0000" + "00000001" + "000168" + "00002384", Convert.ToHexString(GoldenFrames.EncodeBody(Answer(), version: 0)));
    }
}
