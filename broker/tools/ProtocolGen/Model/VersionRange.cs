namespace Tributary.ProtocolGen.Model;

/// <summary>An inclusive range of API versions; <see cref="Max"/> is <see cref="short.MaxValue"/> for "and later".</summary>
public readonly record struct VersionRange(short Min, short Max)
{
    public static readonly VersionRange None = new(0, -1);

    public bool IsEmpty => Max < Min;

    public bool IsOpenEnded => Max == short.MaxValue;

    public static VersionRange From(short min) => new(min, short.MaxValue);

    public bool Contains(short version) => version >= Min && version <= Max;

    /// <summary>True when every version of <paramref name="other"/> is in this range (an empty range is in every range).</summary>
    public bool Covers(VersionRange other) => other.IsEmpty || (!IsEmpty && other.Min >= Min && other.Max <= Max);

    public VersionRange Intersect(VersionRange other)
    {
        var result = new VersionRange(Math.Max(Min, other.Min), Math.Min(Max, other.Max));
        return result.IsEmpty ? None : result;
    }

    public override string ToString() =>
        IsEmpty ? "none" : IsOpenEnded ? $"v{Min}+" : Min == Max ? $"v{Min}" : $"v{Min}-{Max}";
}
