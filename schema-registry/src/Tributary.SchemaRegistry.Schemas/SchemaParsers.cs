using Tributary.SchemaRegistry.Schemas.Avro;
using Tributary.SchemaRegistry.Schemas.Json;
using Tributary.SchemaRegistry.Schemas.Protobuf;

namespace Tributary.SchemaRegistry.Schemas;

/// <summary>Entry point: parses and validates a schema text of a given type, resolving its references.</summary>
public static class SchemaParsers
{
    /// <summary>Largest schema text accepted (characters); the registry's request limit is expected to be smaller.</summary>
    public const int MaxSchemaChars = 4 * 1024 * 1024;

    /// <summary>Deepest chain of references followed (A references B references C …).</summary>
    public const int MaxReferenceDepth = 32;

    /// <param name="resolve">Returns the schema text of a reference (the registry looks it up); throws <see cref="InvalidSchemaException"/>.</param>
    public static IParsedSchema Parse(SchemaType type, string schemaText, IReadOnlyList<SchemaReference> references,
        Func<SchemaReference, (SchemaType Type, string Text, IReadOnlyList<SchemaReference> References)> resolve)
    {
        ArgumentNullException.ThrowIfNull(schemaText);
        ArgumentNullException.ThrowIfNull(references);
        ArgumentNullException.ThrowIfNull(resolve);
        return Parse(type, schemaText, references, resolve, [], new Dictionary<(string, int), IParsedSchema>(), 0);
    }

    private static IParsedSchema Parse(SchemaType type, string text, IReadOnlyList<SchemaReference> references,
        Func<SchemaReference, (SchemaType Type, string Text, IReadOnlyList<SchemaReference> References)> resolve,
        HashSet<(string, int)> chain, Dictionary<(string, int), IParsedSchema> parsed, int depth)
    {
        if (text.Length > MaxSchemaChars)
        {
            throw new InvalidSchemaException($"Invalid schema: {text.Length} characters, more than the {MaxSchemaChars} allowed");
        }
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new InvalidSchemaException("Invalid schema: empty schema");
        }
        if (depth > MaxReferenceDepth)
        {
            throw new InvalidSchemaException($"Invalid schema: references nested deeper than {MaxReferenceDepth}");
        }
        var resolved = new List<(SchemaReference Reference, IParsedSchema Schema)>(references.Count);
        foreach (var reference in references)
        {
            if (reference is null || string.IsNullOrEmpty(reference.Name) || string.IsNullOrEmpty(reference.Subject))
            {
                throw new InvalidSchemaException("Invalid schema: a reference needs a name, a subject and a version");
            }
            var key = (reference.Subject, reference.Version);
            if (!chain.Add(key))
            {
                throw new InvalidSchemaException($"Invalid schema: circular reference to subject {reference.Subject} version {reference.Version}");
            }
            // Each referenced version is parsed once per call, however many paths lead to it.
            if (!parsed.TryGetValue(key, out var dependency))
            {
                var (refType, refText, refReferences) = resolve(reference);
                dependency = Parse(refType, refText ?? "", refReferences ?? [], resolve, chain, parsed, depth + 1);
                parsed[key] = dependency;
            }
            resolved.Add((reference, dependency));
            chain.Remove(key);
        }
        return type switch
        {
            SchemaType.Avro => AvroParsedSchema.Parse(text, references, resolved.Select(r => r.Schema).ToList()),
            SchemaType.Json => JsonParsedSchema.Parse(text, references, resolved),
            SchemaType.Protobuf => ProtobufParsedSchema.Parse(text, references, resolved),
            _ => throw new InvalidSchemaException($"Invalid schema: unknown schema type {type}"),
        };
    }
}
