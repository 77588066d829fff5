using Tributary.Protocol;

namespace Tributary.Protocol.Tests.Messages;

/// <summary>Corrupted frames must either decode or throw <see cref="MalformedMessageException"/>: never another
/// exception type, never an allocation out of proportion to the frame.</summary>
public class FuzzTests
{
    private const int MutationsPerMessageVersion = 24;

    public static TheoryData<string, short> AllMessageVersions() => DefinitionModel.AllMessageVersions();

    [Theory]
    [MemberData(nameof(AllMessageVersions))]
    public void Read_of_corrupted_bytes_succeeds_or_throws_malformed(string className, short version)
    {
        var (api, message) = DefinitionModel.Find(className);
        var random = new Random(RoundTripTests.HashCode(className, version, 1000));
        byte[] valid = DefinitionModel.Serialize(new RandomMessageBuilder(message, random).Build(version), version);

        for (int i = 0; i < MutationsPerMessageVersion; i++)
        {
            byte[] corrupted = Mutate(valid, random, i % 3);
            long before = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                var reader = new KafkaReader(corrupted);
                DefinitionModel.Deserialize(message, api.Key, version, ref reader);
            }
            catch (MalformedMessageException)
            {
                // The one acceptable failure.
            }

            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.True(
                allocated < (1 << 20) + (1000L * corrupted.Length),
                $"{className} v{version}: {allocated} bytes allocated decoding a {corrupted.Length}-byte frame");
        }
    }

    [Fact]
    public void Read_of_a_frame_claiming_a_huge_array_throws_malformed_without_allocating_it()
    {
        // MetadataRequest v1: Topics array count int32.MaxValue followed by nothing.
        var reader = new KafkaReader(new byte[] { 0x7F, 0xFF, 0xFF, 0xFF });
        long before = GC.GetAllocatedBytesForCurrentThread();

        Assert.Throws<MalformedMessageException>(() => Tributary.Protocol.Messages.MetadataRequest.Read(ref reader, 1));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64 * 1024);
    }

    private static byte[] Mutate(byte[] valid, Random random, int strategy)
    {
        switch (strategy)
        {
            case 0:
                {
                    byte[] flipped = (byte[])valid.Clone();
                    if (flipped.Length > 0)
                    {
                        int flips = random.Next(1, 4);
                        for (int f = 0; f < flips; f++)
                        {
                            flipped[random.Next(flipped.Length)] = (byte)random.Next(256);
                        }
                    }

                    return flipped;
                }

            case 1:
                return valid[..random.Next(valid.Length + 1)];
            default:
                {
                    byte[] noise = new byte[random.Next(0, 64)];
                    random.NextBytes(noise);
                    return noise;
                }
        }
    }
}
