using Tributary.Protocol.Messages;

namespace Tributary.Protocol.Tests.Golden;

/// <summary>SyncGroup responses encode to the bytes Kafka's message spec prescribes per version (vectors worked out by hand).</summary>
public class SyncGroupResponseGoldenTests
{
    private static SyncGroupResponse Assigned() => new()
    {
        ThrottleTimeMs = 100,
        ErrorCode = 0,
        ProtocolType = "consumer",
        ProtocolName = "range",
        Assignment = [0xDE, 0xAD, 0xBE, 0xEF],
    };

    private const string V3 =
        "00000064" +                    // throttle_time_ms 100
        "0000" +                        // error_code NONE
        "00000004" + "DEADBEEF";        // assignment, int32 length + bytes

    [Fact]
    public void Write_v3_gives_throttle_time_error_code_and_the_assignment()
    {
        byte[] bytes = GoldenFrames.EncodeBody(Assigned(), version: 3);

        Assert.Equal(V3, Convert.ToHexString(bytes));
    }

    [Fact]
    public void Read_v3_recovers_the_assignment_and_reencodes_to_the_same_bytes()
    {
        var reader = new KafkaReader(Convert.FromHexString(V3));

        SyncGroupResponse response = SyncGroupResponse.Read(ref reader, version: 3);

        Assert.Equal(0, reader.Remaining);
        Assert.Equal((100, (short)0), (response.ThrottleTimeMs, response.ErrorCode));
        Assert.Equal(new byte[] { 0xDE, 0xAD, 0xBE, 0xEF }, response.Assignment);
        Assert.Null(response.ProtocolType);
        Assert.Equal(V3, Convert.ToHexString(GoldenFrames.EncodeBody(response, version: 3)));
    }

    [Fact]
    public void Write_v3_of_a_rebalancing_group_carries_the_error_and_an_empty_assignment()
    {
        var response = new SyncGroupResponse { ErrorCode = (short)ErrorCode.RebalanceInProgress };

        byte[] bytes = GoldenFrames.EncodeBody(response, version: 3);

        Assert.Equal("00000000" + "001B" + "00000000", Convert.ToHexString(bytes));
    }

    [Fact]
    public void Write_v0_has_no_throttle_time()
    {
        byte[] bytes = GoldenFrames.EncodeBody(Assigned(), version: 0);

        Assert.Equal("0000" + "00000004DEADBEEF", Convert.ToHexString(bytes));
    }

    [Fact]
    public void Write_v5_is_compact_and_echoes_protocol_type_and_name()
    {
        byte[] bytes = GoldenFrames.EncodeBody(Assigned(), version: 5);

        string expected =
            "00000064" + "0000" +
            "09" + "636F6E73756D6572" +     // protocol_type "consumer" (KIP-559)
            "06" + "72616E6765" +           // protocol_name "range"
            "05" + "DEADBEEF" +             // assignment, compact bytes: length + 1
            "00";                           // no tags
        Assert.Equal(expected, Convert.ToHexString(bytes));
    }
}
