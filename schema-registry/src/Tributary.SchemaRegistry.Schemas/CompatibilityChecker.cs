namespace Tributary.SchemaRegistry.Schemas;

/// <summary>Checks a candidate schema against a subject's earlier versions under a compatibility level.</summary>
public static class CompatibilityChecker
{
    /// <param name="previous">The subject's earlier versions, oldest first (non-transitive levels check only the last one).</param>
    /// <returns>The incompatibilities as Confluent's verbose messages; empty means compatible.</returns>
    public static IReadOnlyList<string> Check(IParsedSchema candidate, IReadOnlyList<IParsedSchema> previous, CompatibilityLevel level)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        ArgumentNullException.ThrowIfNull(previous);
        if (level == CompatibilityLevel.None || previous.Count == 0)
        {
            return [];
        }
        throw new NotSupportedException("Compatibility checking is not implemented in this build yet");
    }
}
