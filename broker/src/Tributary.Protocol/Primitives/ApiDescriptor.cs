namespace Tributary.Protocol;

/// <summary>What we serve of one Kafka API: its key, name and version range.</summary>
/// <param name="FirstFlexibleVersion">First version using compact encodings and tagged fields; -1 when none is.</param>
public sealed record ApiDescriptor(short ApiKey, string Name, short LowestVersion, short HighestVersion, short FirstFlexibleVersion)
{
    /// <summary>True when <paramref name="version"/> lies within the served range.</summary>
    public bool IsSupported(short version) => version >= LowestVersion && version <= HighestVersion;

    /// <summary>True when <paramref name="version"/> uses the flexible (KIP-482) encoding.</summary>
    public bool IsFlexible(short version) => FirstFlexibleVersion >= 0 && version >= FirstFlexibleVersion;
}
