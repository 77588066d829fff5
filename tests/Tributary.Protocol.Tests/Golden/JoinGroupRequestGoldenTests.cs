using Tributary.Protocol.Messages;

namespace Tributary.Protocol.Tests.Golden;

/// <summary>JoinGroup requests encode to the bytes Kafka's message spec prescribes per version (vectors worked out by hand).</summary>
public class JoinGroupRequestGoldenTests
{
    private static JoinGroupRequest StaticMemberFirstJoin() => new()
    {
        GroupId = "g",
        SessionTimeoutMs = 10_000,
        RebalanceTimeoutMs = 300_000,
        MemberId = "",
        GroupInstanceId = "i",
        ProtocolType = "consumer",
        Protocols = [new JoinGroupRequest.JoinGroupRequestProtocol { Name = "range", Metadata = [0x00, 0x01, 0x02] }],
        Reason = "r",
    };

    private const string V5 =
        "0001" + "67" +                 // group_id "g"
        "00002710" +                    // session_timeout_ms 10000
        "000493E0" +                    // rebalance_timeout_ms 300000
        "0000" +                        // member_id "" (first join)
        "0001" + "69" +                 // group_instance_id "i"
        "0008" + "636F6E73756D6572" +   // protocol_type "consumer"
        "00000001" +                    // protocols: 1
        "0005" + "72616E6765" +         //   name "range"
        "00000003" + "000102";          //   metadata, 3 bytes

    [Fact]
    public void Write_v5_puts_group_instance_id_between_member_id_and_protocol_type()
    {
        byte[] bytes = GoldenFrames.EncodeBody(StaticMemberFirstJoin(), version: 5);

        Assert.Equal(V5, Convert.ToHexString(bytes));
    }

    [Fact]
    public void Write_v5_sends_a_dynamic_member_as_a_null_group_instance_id()
    {
        JoinGroupRequest request = StaticMemberFirstJoin();
        request.GroupInstanceId = null;

        byte[] bytes = GoldenFrames.EncodeBody(request, version: 5);

        string expected =
            "000167" + "00002710" + "000493E0" + "0000" +
            "FFFF" +                        // group_instance_id null
            "0008636F6E73756D6572" + "00000001" + "000572616E6765" + "00000003000102";
        Assert.Equal(expected, Convert.ToHexString(bytes));
    }

    [Fact]
    public void Read_v5_recovers_every_field_and_reencodes_to_the_same_bytes()
    {
        byte[] bytes = Convert.FromHexString(V5);
        var reader = new KafkaReader(bytes);

        JoinGroupRequest request = JoinGroupRequest.Read(ref reader, version: 5);

        Assert.Equal(0, reader.Remaining);
        Assert.Equal(("g", 10_000, 300_000, "", "i", "consumer"),
            (request.GroupId, request.SessionTimeoutMs, request.RebalanceTimeoutMs, request.MemberId, request.GroupInstanceId, request.ProtocolType));
        var protocol = Assert.Single(request.Protocols);
        Assert.Equal("range", protocol.Name);
        Assert.Equal(new byte[] { 0x00, 0x01, 0x02 }, protocol.Metadata);
        Assert.Null(request.Reason);
        Assert.Equal(V5, Convert.ToHexString(GoldenFrames.EncodeBody(request, version: 5)));
    }

    [Fact]
    public void Write_v0_has_neither_rebalance_timeout_nor_group_instance_id()
    {
        byte[] bytes = GoldenFrames.EncodeBody(StaticMemberFirstJoin(), version: 0);

        string expected =
            "000167" + "00002710" + "0000" + "0008636F6E73756D6572" +
            "00000001" + "000572616E6765" + "00000003000102";
        Assert.Equal(expected, Convert.ToHexString(bytes));
    }

    [Fact]
    public void Write_v8_is_compact_with_tag_sections_and_adds_the_reason_last()
    {
        byte[] bytes = GoldenFrames.EncodeBody(StaticMemberFirstJoin(), version: 8);

        string expected =
            "02" + "67" +                   // group_id, compact: length + 1
            "00002710" + "000493E0" +
            "01" +                          // member_id ""
            "02" + "69" +                   // group_instance_id "i"
            "09" + "636F6E73756D6572" +     // protocol_type "consumer"
            "02" +                          // protocols: 1, compact
            "06" + "72616E6765" +           //   name "range"
            "04" + "000102" +               //   metadata, compact bytes
            "00" +                          //   protocol: no tags
            "02" + "72" +                   // reason "r" (KIP-800)
            "00";                           // no tags
        Assert.Equal(expected, Convert.ToHexString(bytes));
    }
}
