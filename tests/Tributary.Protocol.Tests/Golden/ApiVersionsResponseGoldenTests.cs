using Tributary.Protocol.Messages;

namespace Tributary.Protocol.Tests.Golden;

/// <summary>ApiVersions responses encode to the exact bytes the protocol guide prescribes (vectors worked out by hand).</summary>
public class ApiVersionsResponseGoldenTests
{
    private static ApiVersionsResponse TwoApis() => new()
    {
        ErrorCode = 0,
        ApiKeys =
        [
            new ApiVersionsResponse.ApiVersion { ApiKey = 18, MinVersion = 0, MaxVersion = 4 },
            new ApiVersionsResponse.ApiVersion { ApiKey = 3, MinVersion = 0, MaxVersion = 12 },
        ],
        ThrottleTimeMs = 0,
    };

    // v0: error_code int16, api_keys as an int32-counted array of (int16 key, int16 min, int16 max); nothing else.
    private const string V0 =
        "0000" +            // error_code NONE
        "00000002" +        // api_keys: 2 entries
        "0012" + "0000" + "0004" + // ApiVersions 0-4
        "0003" + "0000" + "000C";  // Metadata 0-12

    // v3: compact array (count + 1 as uvarint), each entry ends with an empty tagged-field section,
    // then throttle_time_ms and the body's own tagged-field section.
    private const string V3 =
        "0000" +
        "03" +                              // api_keys: 2 entries, compact
        "0012" + "0000" + "0004" + "00" +   // ApiVersions 0-4, no tags
        "0003" + "0000" + "000C" + "00" +   // Metadata 0-12, no tags
        "00000000" +                        // throttle_time_ms
        "00";                               // no tagged fields

    [Fact]
    public void Write_v0_gives_error_code_and_int32_counted_array_only()
    {
        byte[] bytes = GoldenFrames.EncodeBody(TwoApis(), version: 0);

        Assert.Equal(V0, Convert.ToHexString(bytes));
    }

    [Fact]
    public void Write_v3_gives_compact_array_throttle_time_and_empty_tag_sections()
    {
        byte[] bytes = GoldenFrames.EncodeBody(TwoApis(), version: 3);

        Assert.Equal(V3, Convert.ToHexString(bytes));
    }

    [Fact]
    public void Write_v1_adds_throttle_time_after_the_int32_counted_array()
    {
        ApiVersionsResponse response = TwoApis();
        response.ThrottleTimeMs = 250;

        byte[] bytes = GoldenFrames.EncodeBody(response, version: 1);

        Assert.Equal(V0 + "000000FA", Convert.ToHexString(bytes));
    }

    [Fact]
    public void Write_v3_puts_set_tagged_fields_in_ascending_tag_order_with_their_sizes()
    {
        ApiVersionsResponse response = TwoApis();
        response.SupportedFeatures =
        [
            new ApiVersionsResponse.SupportedFeatureKey { Name = "metadata.version", MinVersion = 1, MaxVersion = 21 },
        ];
        response.FinalizedFeaturesEpoch = 5;

        byte[] bytes = GoldenFrames.EncodeBody(response, version: 3);

        string expectedTags =
            "02" +                                   // two tagged fields
            "00" + "17" +                            // tag 0 (SupportedFeatures), 23 bytes
            "02" +                                   //   compact array of 1
            "11" + Convert.ToHexString("metadata.version"u8) + // compact string, 16 bytes
            "0001" + "0015" + "00" +                 //   min 1, max 21, no tags
            "01" + "08" + "0000000000000005";        // tag 1 (FinalizedFeaturesEpoch), 8 bytes
        Assert.Equal(V3[..^2] + expectedTags, Convert.ToHexString(bytes));
    }

    [Fact]
    public void Read_v3_recovers_tagged_fields_from_their_bytes()
    {
        byte[] bytes = Convert.FromHexString(
            V3[..^2] + "01" + "01" + "08" + "0000000000000007"); // only FinalizedFeaturesEpoch = 7
        var reader = new KafkaReader(bytes);

        ApiVersionsResponse response = ApiVersionsResponse.Read(ref reader, version: 3);

        Assert.Equal(7, response.FinalizedFeaturesEpoch);
        Assert.Empty(response.SupportedFeatures);
        Assert.Equal(new short[] { 18, 3 }, response.ApiKeys.Select(k => k.ApiKey));
        Assert.Equal(0, reader.Remaining);
    }

    [Fact]
    public void Write_v3_leaves_out_tagged_fields_that_hold_their_defaults()
    {
        ApiVersionsResponse response = TwoApis();
        response.FinalizedFeaturesEpoch = -1;
        response.ZkMigrationReady = false;

        byte[] bytes = GoldenFrames.EncodeBody(response, version: 3);

        Assert.Equal(V3, Convert.ToHexString(bytes));
    }
}
