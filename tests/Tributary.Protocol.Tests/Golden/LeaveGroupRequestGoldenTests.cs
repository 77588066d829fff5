using Tributary.Protocol.Messages;

namespace Tributary.Protocol.Tests.Golden;

/// <summary>LeaveGroup requests: one member id up to v2, a batch of member identities from v3 (KIP-345).</summary>
public class LeaveGroupRequestGoldenTests
{
    private static LeaveGroupRequest OneMember() => new()
    {
        GroupId = "g",
        MemberId = "m",
        Members = [new LeaveGroupRequest.MemberIdentity { MemberId = "m", GroupInstanceId = null, Reason = "r" }],
    };

    [Fact]
    public void Write_v5_gives_each_member_its_own_reason()
    {
        byte[] bytes = GoldenFrames.EncodeBody(OneMember(), version: 5);

        string expected =
            "0267" +                        // group_id "g"
            "02" +                          // members: 1, compact
            "026D" + "00" +                 //   member_id "m", group_instance_id null
            "0272" +                        //   reason "r" (KIP-800)
            "00" +                          //   member: no tags
            "00";                           // no tags
        Assert.Equal(expected, Convert.ToHexString(bytes));
    }

    [Fact]
    public void Write_v3_has_member_identities_without_reason_or_tags()
    {
        Assert.Equal("000167" + "00000001" + "00016D" + "FFFF", Convert.ToHexString(GoldenFrames.EncodeBody(OneMember(), version: 3)));
    }

    [Fact]
    public void Write_v2_sends_the_single_member_id()
    {
        Assert.Equal("000167" + "00016D", Convert.ToHexString(GoldenFrames.EncodeBody(OneMember(), version: 2)));
    }
}
