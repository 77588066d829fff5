namespace Tributary.SchemaRegistry.Schemas;

/// <summary>Entry point: parses and validates a schema text of a given type, resolving its references.</summary>
public static class SchemaParsers
{
    /// <param name="resolve">Returns the schema text of a reference (the registry looks it up); throws <see cref="InvalidSchemaException"/>.</param>
    public static IParsedSchema Parse(SchemaType type, string schemaText, IReadOnlyList<SchemaReference> references,
        Func<SchemaReference, (SchemaType Type, string Text, IReadOnlyList<SchemaReference> References)> resolve)
    {
        ArgumentNullException.ThrowIfNull(schemaText);
        ArgumentNullException.ThrowIfNull(references);
        ArgumentNullException.ThrowIfNull(resolve);
        throw new InvalidSchemaException($"Schema type {type} is not supported yet by this build");
    }
}
