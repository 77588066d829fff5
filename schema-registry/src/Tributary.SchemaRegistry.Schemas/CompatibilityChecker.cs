namespace Tributary.SchemaRegistry.Schemas;

/// <summary>Checks a candidate schema against a subject's earlier versions under a compatibility level.</summary>
public static class CompatibilityChecker
{
    internal const string DifferentTypeMessage = "Incompatible because of different schema type";

    private const int MaxSchemaCharsInMessage = 10 * 1024;

    /// <param name="previous">The subject's earlier versions, oldest first (non-transitive levels check only the last one).</param>
    /// <returns>The incompatibilities as Confluent's verbose messages; empty means compatible.</returns>
    /// <remarks>
    /// Like Confluent's validators: BACKWARD = the candidate reads the latest version's data, FORWARD = the latest
    /// version reads the candidate's, FULL = both; transitive levels go through every earlier version newest first
    /// and stop at the first one that fails. Each failure ends with the old schema, as Confluent's messages do.
    /// </remarks>
    public static IReadOnlyList<string> Check(IParsedSchema candidate, IReadOnlyList<IParsedSchema> previous, CompatibilityLevel level)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        ArgumentNullException.ThrowIfNull(previous);
        if (level == CompatibilityLevel.None || previous.Count == 0)
        {
            return [];
        }
        var transitive = level is CompatibilityLevel.BackwardTransitive or CompatibilityLevel.ForwardTransitive
            or CompatibilityLevel.FullTransitive;
        var toCheck = transitive ? previous.Reverse() : [previous[^1]];
        foreach (var existing in toCheck)
        {
            var messages = level switch
            {
                CompatibilityLevel.Backward or CompatibilityLevel.BackwardTransitive =>
                    WithOldSchema(Reads(candidate, existing, "new", "old"), existing),
                CompatibilityLevel.Forward or CompatibilityLevel.ForwardTransitive =>
                    WithOldSchema(Reads(existing, candidate, "old", "new"), existing),
                _ => [.. Reads(existing, candidate, "old", "new"), .. WithOldSchema(Reads(candidate, existing, "new", "old"), existing)],
            };
            if (messages.Count > 0)
            {
                return messages;
            }
        }
        return [];
    }

    private static IReadOnlyList<string> Reads(IParsedSchema reader, IParsedSchema writer, string readerLabel, string writerLabel)
    {
        if (reader.Type != writer.Type)
        {
            return [DifferentTypeMessage];
        }
        if (reader is not ICompatibilityRules rules)
        {
            throw new ArgumentException($"Schema of type {reader.GetType().Name} was not parsed by SchemaParsers", nameof(reader));
        }
        return rules.ReadIncompatibilities(writer, readerLabel, writerLabel);
    }

    private static List<string> WithOldSchema(IReadOnlyList<string> messages, IParsedSchema existing)
    {
        if (messages.Count == 0)
        {
            return [];
        }
        var old = existing.CanonicalString;
        return
        [
            .. messages,
            old.Length <= MaxSchemaCharsInMessage
                ? $"{{oldSchema: '{old}'}}"
                : $"{{oldSchema: <truncated to {MaxSchemaCharsInMessage} characters> '{old[..MaxSchemaCharsInMessage]}'}}",
        ];
    }
}
