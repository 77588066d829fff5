using Tributary.SchemaRegistry.Schemas;

namespace Tributary.SchemaRegistry.Schemas.Tests;

/// <summary>Test helpers: parse schema texts, register them as referenced subjects, run the checker.</summary>
internal static class Schemas
{
    public static IParsedSchema Parse(SchemaType type, string text, params (string Name, string Subject, string Text)[] references)
    {
        var registry = references.Select((r, i) => (Reference: new SchemaReference(r.Name, r.Subject, 1), r.Text)).ToList();
        return SchemaParsers.Parse(type, text, registry.Select(r => r.Reference).ToList(), reference =>
        {
            var found = registry.FirstOrDefault(r => r.Reference == reference);
            return found.Text is null
                ? throw new InvalidSchemaException($"no such reference {reference}")
                : (type, found.Text, (IReadOnlyList<SchemaReference>)[]);
        });
    }

    public static IParsedSchema ParseAvro(string text) => Parse(SchemaType.Avro, text);

    public static IParsedSchema ParseJson(string text) => Parse(SchemaType.Json, text);

    public static IParsedSchema ParseProto(string text) => Parse(SchemaType.Protobuf, text);

    /// <summary>Checks <paramref name="candidate"/> against <paramref name="previous"/> (oldest first).</summary>
    public static IReadOnlyList<string> Check(CompatibilityLevel level, IParsedSchema candidate, params IParsedSchema[] previous) =>
        CompatibilityChecker.Check(candidate, previous, level);

    /// <summary>A record named <c>User</c> in namespace <c>example</c> with the given field JSON objects.</summary>
    public static IParsedSchema AvroUser(params string[] fields) =>
        ParseAvro($$"""{"type":"record","name":"User","namespace":"example","fields":[{{string.Join(",", fields)}}]}""");
}
