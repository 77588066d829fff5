using Tributary.Protocol;

namespace Tributary.Protocol.Tests.Messages;

/// <summary>Every generated message in every version: write, read back, write again.</summary>
public class RoundTripTests
{
    public static TheoryData<string, short> AllMessageVersions() => DefinitionModel.AllMessageVersions();

    [Theory]
    [MemberData(nameof(AllMessageVersions))]
    public void Message_rewrites_to_identical_bytes_and_equal_fields_after_a_read(string className, short version)
    {
        var (api, message) = DefinitionModel.Find(className);
        for (int seed = 0; seed < 5; seed++)
        {
            var original = new RandomMessageBuilder(message, new Random(HashCode(className, version, seed))).Build(version);
            byte[] first = DefinitionModel.Serialize(original, version);

            var reader = new KafkaReader(first);
            var decoded = DefinitionModel.Deserialize(message, api.Key, version, ref reader);

            Assert.Equal(0, reader.Remaining);
            Assert.Equal(original.GetType(), decoded.GetType());
            Assert.Equal(first, DefinitionModel.Serialize(decoded, version));
            MessageEquivalence.AssertEquivalent(message, original, decoded, version);
        }
    }

    [Fact]
    public void Every_definition_has_a_request_and_a_response_class_with_matching_constants()
    {
        foreach (var api in DefinitionModel.Apis)
        {
            foreach (var message in new[] { api.Request, api.Response })
            {
                var type = DefinitionModel.ClassOf(message.ClassName);
                Assert.Equal(api.Key, (short)type.GetField("ApiKey")!.GetValue(null)!);
                Assert.Equal(api.Versions.Min, (short)type.GetField("LowestVersion")!.GetValue(null)!);
                Assert.Equal(api.Versions.Max, (short)type.GetField("HighestVersion")!.GetValue(null)!);
                Assert.Equal(api.FirstFlexibleVersion, (short)type.GetField("FirstFlexibleVersion")!.GetValue(null)!);
            }
        }
    }

    /// <summary>string.GetHashCode is randomized per process; this keeps seeds stable across runs.</summary>
    internal static int HashCode(string name, short version, int salt)
    {
        int hash = 17;
        foreach (char c in name)
        {
            hash = unchecked((hash * 31) + c);
        }

        return unchecked((hash * 31 * 31) + (version * 31) + salt);
    }
}
