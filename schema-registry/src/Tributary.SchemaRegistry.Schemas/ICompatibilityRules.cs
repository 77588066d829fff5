namespace Tributary.SchemaRegistry.Schemas;

/// <summary>A schema type's own compatibility rules, seen from one schema reading data written with another.</summary>
internal interface ICompatibilityRules
{
    /// <summary>
    /// Why this schema cannot read data written with <paramref name="writer"/> (Confluent's isBackwardCompatible),
    /// as verbose messages in which the two schemas are called <paramref name="readerLabel"/> and
    /// <paramref name="writerLabel"/> ("new"/"old"); empty when it can.
    /// </summary>
    IReadOnlyList<string> ReadIncompatibilities(IParsedSchema writer, string readerLabel, string writerLabel);
}
