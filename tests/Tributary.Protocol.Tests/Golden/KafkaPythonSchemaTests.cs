using System.Text.RegularExpressions;
using Tributary.Protocol.Messages;

namespace Tributary.Protocol.Tests.Golden;

/// <summary>
/// Bodies encoded by kafka-python's own, independently written schemas decode completely with our definitions and
/// re-encode to the same bytes: a cross-check of field order and types for every non-flexible version both cover.
/// </summary>
public partial class KafkaPythonSchemaTests
{
    public static TheoryData<string> Vectors()
    {
        var data = new TheoryData<string>();
        foreach (string name in GoldenFrames.Names(GoldenFrames.KafkaPythonSchemas))
        {
            data.Add(name);
        }

        return data;
    }

    [Fact]
    public void Vectors_cover_every_api_kafka_python_describes()
    {
        var apis = GoldenFrames.Names(GoldenFrames.KafkaPythonSchemas).Select(n => Parse(n).Api).ToHashSet();

        Assert.Equal(20, apis.Count);
    }

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Body_is_read_to_its_last_byte(string name)
    {
        var (api, isRequest, version) = Parse(name);
        var reader = new KafkaReader(GoldenFrames.Load(name, GoldenFrames.KafkaPythonSchemas));

        IKafkaMessage message = Read(api, isRequest, version, ref reader);

        Assert.Equal((short)api, message.ApiKeyValue);
        Assert.Equal(0, reader.Remaining);
    }

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Body_reencodes_to_identical_bytes(string name)
    {
        var (api, isRequest, version) = Parse(name);
        byte[] bytes = GoldenFrames.Load(name, GoldenFrames.KafkaPythonSchemas);
        var reader = new KafkaReader(bytes);

        byte[] reencoded = GoldenFrames.EncodeBody(Read(api, isRequest, version, ref reader), version);

        Assert.Equal(Convert.ToHexString(bytes), Convert.ToHexString(reencoded));
    }

    private static IKafkaMessage Read(ApiKeys api, bool isRequest, short version, ref KafkaReader reader) =>
        isRequest
            ? ApiCatalog.ReadRequest((short)api, version, ref reader)
            : ApiCatalog.ReadResponse((short)api, version, ref reader);

    private static (ApiKeys Api, bool IsRequest, short Version) Parse(string name)
    {
        Match match = VectorName().Match(name);
        Assert.True(match.Success, $"unexpected vector name {name}");
        return (Enum.Parse<ApiKeys>(match.Groups["api"].Value), match.Groups["kind"].Value == "Request",
            short.Parse(match.Groups["version"].Value, System.Globalization.CultureInfo.InvariantCulture));
    }

    [GeneratedRegex("^(?<api>[A-Za-z]+)(?<kind>Request|Response)-v(?<version>[0-9]+)$")]
    private static partial Regex VectorName();
}
