namespace Tributary.SchemaRegistry.Schemas;

/// <summary>The schema formats the registry accepts; REST names are "AVRO", "JSON" and "PROTOBUF".</summary>
public enum SchemaType { Avro, Json, Protobuf }

/// <summary>A reference from one schema to a registered schema: the name it is imported by, and its subject/version.</summary>
public sealed record SchemaReference(string Name, string Subject, int Version);

/// <summary>A schema text that does not parse or is not a valid schema of its type (REST error 42201).</summary>
public sealed class InvalidSchemaException(string message) : Exception(message);

/// <summary>A parsed, validated schema of any type.</summary>
public interface IParsedSchema
{
    SchemaType Type { get; }

    /// <summary>What the registry stores and compares (Confluent's canonical form per type).</summary>
    string CanonicalString { get; }

    IReadOnlyList<SchemaReference> References { get; }

    /// <summary>The normalized form (REST <c>?normalize=true</c>).</summary>
    IParsedSchema Normalize();

    /// <summary>"Same schema" for lookups and de-duplication: canonical string and references are equal.</summary>
    bool IsEquivalentTo(IParsedSchema other);
}

/// <summary>Compatibility levels of a subject or of the registry (REST names BACKWARD, FULL_TRANSITIVE, …).</summary>
public enum CompatibilityLevel { None, Backward, BackwardTransitive, Forward, ForwardTransitive, Full, FullTransitive }
