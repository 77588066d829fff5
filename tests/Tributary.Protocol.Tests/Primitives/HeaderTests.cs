using Tributary.Protocol;
using static Tributary.Protocol.Tests.Primitives.Bytes;

namespace Tributary.Protocol.Tests.Primitives;

public class HeaderTests
{
    [Fact]
    public void RequestHeader_v1_is_key_version_correlation_and_int16_client_id()
    {
        var header = new RequestHeader(3, 1, 7, "ab");

        byte[] bytes = Written(w => header.Write(w, flexible: false));

        Assert.Equal(Hex("0003 0001 00000007 0002 6162"), bytes);
        var reader = Reader(bytes);
        Assert.Equal(header, RequestHeader.Read(ref reader, flexible: false));
    }

    [Fact]
    public void RequestHeader_v2_keeps_the_int16_client_id_and_adds_tagged_fields()
    {
        var header = new RequestHeader(18, 3, 9, "ab");

        byte[] bytes = Written(w => header.Write(w, flexible: true));

        Assert.Equal(Hex("0012 0003 00000009 0002 6162 00"), bytes);
    }

    [Fact]
    public void RequestHeader_read_skips_unknown_tagged_fields_in_v2()
    {
        var reader = Reader(Hex("0012 0003 00000009 FFFF 01 04 02 ABCD 55"));

        var header = RequestHeader.Read(ref reader, flexible: true);

        Assert.Equal(new RequestHeader(18, 3, 9, null), header);
        Assert.Equal(0x55, reader.ReadInt8());
    }

    [Fact]
    public void RequestHeader_null_client_id_is_minus_one()
    {
        byte[] bytes = Written(w => new RequestHeader(0, 9, 1, null).Write(w, flexible: false));

        Assert.Equal(Hex("0000 0009 00000001 FFFF"), bytes);
    }

    [Fact]
    public void Peek_reads_key_version_and_correlation_id_without_parsing_the_rest()
    {
        byte[] frame = Hex("0001 000D 0000002A FFFF");

        Assert.Equal(1, RequestHeader.PeekApiKey(frame));
        Assert.Equal(13, RequestHeader.PeekApiVersion(frame));
        Assert.Equal(42, RequestHeader.PeekCorrelationId(frame));
    }

    [Fact]
    public void Peek_throws_malformed_on_a_frame_shorter_than_the_fixed_prefix()
    {
        Assert.Throws<MalformedMessageException>(() => RequestHeader.PeekApiKey(Hex("0001 00")));
    }

    [Fact]
    public void ResponseHeader_v0_is_the_correlation_id_and_v1_adds_tagged_fields()
    {
        var header = new ResponseHeader(5);

        Assert.Equal(Hex("00000005"), Written(w => header.Write(w, flexible: false)));
        Assert.Equal(Hex("00000005 00"), Written(w => header.Write(w, flexible: true)));
        var reader = Reader(Hex("00000005 00"));
        Assert.Equal(header, ResponseHeader.Read(ref reader, flexible: true));
    }

    [Fact]
    public void ResponseHeaderIsFlexible_is_false_for_ApiVersions_even_in_flexible_versions()
    {
        Assert.False(HeaderVersions.ResponseHeaderIsFlexible(18, 3));
        Assert.True(HeaderVersions.RequestHeaderIsFlexible(18, 3));
    }

    [Fact]
    public void Header_flexibility_follows_the_first_flexible_version_of_the_api()
    {
        Assert.False(HeaderVersions.ResponseHeaderIsFlexible(3, 8));
        Assert.True(HeaderVersions.ResponseHeaderIsFlexible(3, 9));
        Assert.False(HeaderVersions.RequestHeaderIsFlexible(0, 8));
        Assert.True(HeaderVersions.RequestHeaderIsFlexible(0, 9));
    }
}
