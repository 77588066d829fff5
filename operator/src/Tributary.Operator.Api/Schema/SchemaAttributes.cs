namespace Tributary.Operator.Api.Schema;

// The attributes below are read twice: by CrdGen, which turns them into the CRD's OpenAPI v3 schema, and by
// SpecValidator, which the operator runs before acting on a spec. One declaration, two enforcers.

/// <summary>The smallest allowed value of a number.</summary>
/// <remarks>
/// <see cref="OperatorOnly"/> keeps the bound out of the CRD schema so the API server admits the object and the operator
/// reports the violation as an Error condition on it (a Topic with 0 partitions shows why in its status instead of
/// vanishing at <c>kubectl apply</c>). The schema then still rejects negative numbers.
/// </remarks>
[AttributeUsage(AttributeTargets.Property)]
public sealed class MinimumAttribute(long value) : Attribute
{
    public long Value { get; } = value;

    /// <summary>Checked by the operator only; the schema admits the value down to 0.</summary>
    public bool OperatorOnly { get; init; }
}

/// <summary>The largest allowed value of a number.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class MaximumAttribute(long value) : Attribute
{
    public long Value { get; } = value;
}

/// <summary>A regular expression a string must match (ECMA-262 flavour, as the API server reads it).</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class PatternAttribute(string regex) : Attribute
{
    public string Regex { get; } = regex;
}

/// <summary>The longest allowed string.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class MaxLengthAttribute(int value) : Attribute
{
    public int Value { get; } = value;
}

/// <summary>The property must be present (and a string non-empty).</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class RequiredAttribute : Attribute;

/// <summary>The API server fills this value in when the field is absent (structural schema default).</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class DefaultAttribute(object value) : Attribute
{
    public object Value { get; } = value;
}

/// <summary>What the field means, for the CRD's description (shown by <c>kubectl explain</c>).</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Class)]
public sealed class DocAttribute(string text) : Attribute
{
    public string Text { get; } = text;
}

/// <summary>A quantity such as <c>10Gi</c> or <c>500m</c>: integer or string in the schema.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class QuantityAttribute : Attribute;

/// <summary>A column of <c>kubectl get</c> for this kind.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true)]
public sealed class PrinterColumnAttribute(string name, string type, string jsonPath) : Attribute
{
    public string Name { get; } = name;
    public string Type { get; } = type;
    public string JsonPath { get; } = jsonPath;
    public string? Description { get; init; }
}

/// <summary>Short names for <c>kubectl get</c>.</summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class ShortNamesAttribute(params string[] names) : Attribute
{
    public IReadOnlyList<string> Names { get; } = names;
}
