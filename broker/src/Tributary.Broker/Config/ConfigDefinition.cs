using System.Globalization;

namespace Tributary.Broker.Config;

/// <summary>One configuration key: its type, default, allowed range or values, and whether its value is secret.</summary>
public sealed class ConfigDefinition
{
    private readonly Func<string, string?>? _extraValidation;

    public ConfigDefinition(
        string name,
        ConfigValueType type,
        string? defaultValue,
        string documentation,
        decimal? minimum = null,
        decimal? maximum = null,
        IReadOnlyList<string>? allowedValues = null,
        bool isSensitive = false,
        Func<string, string?>? extraValidation = null)
    {
        Name = name;
        Type = type;
        DefaultValue = defaultValue;
        Documentation = documentation;
        Minimum = minimum;
        Maximum = maximum;
        AllowedValues = allowedValues ?? [];
        IsSensitive = isSensitive || type == ConfigValueType.Password;
        _extraValidation = extraValidation;
    }

    public string Name { get; }
    public ConfigValueType Type { get; }

    /// <summary>The value used when nobody sets the key; null when Kafka's default is "no value" (e.g. <c>log.retention.ms</c>).</summary>
    public string? DefaultValue { get; }

    public string Documentation { get; }

    /// <summary>Inclusive lower bound for numeric types.</summary>
    public decimal? Minimum { get; }

    /// <summary>Inclusive upper bound for numeric types.</summary>
    public decimal? Maximum { get; }

    /// <summary>For <see cref="ConfigValueType.String"/> the one allowed value, for <see cref="ConfigValueType.List"/> each item; empty = anything.</summary>
    public IReadOnlyList<string> AllowedValues { get; }

    public bool IsSensitive { get; }

    /// <summary>What a valid value looks like, phrased to follow "expected ".</summary>
    public string Expectation => Type switch
    {
        ConfigValueType.Boolean => "true or false",
        ConfigValueType.Int or ConfigValueType.Short or ConfigValueType.Long => NumberExpectation(Type == ConfigValueType.Long ? "a 64-bit integer" : "an integer"),
        ConfigValueType.Double => NumberExpectation("a number"),
        ConfigValueType.List when AllowedValues.Count > 0 => $"a comma-separated list of values from [{string.Join(", ", AllowedValues)}]",
        ConfigValueType.List => "a comma-separated list",
        ConfigValueType.String when AllowedValues.Count > 0 => $"one of [{string.Join(", ", AllowedValues)}]",
        _ => "a string",
    };

    /// <summary>Checks a raw (untrimmed) value; returns null when valid, otherwise what was expected.</summary>
    public string? Validate(string value)
    {
        var text = value.Trim();
        var typeError = Type switch
        {
            ConfigValueType.Boolean => ConfigValues.TryParseBoolean(text, out _) ? null : Expectation,
            ConfigValueType.Short => ValidateInteger(text, short.MinValue, short.MaxValue),
            ConfigValueType.Int => ValidateInteger(text, int.MinValue, int.MaxValue),
            ConfigValueType.Long => ValidateInteger(text, long.MinValue, long.MaxValue),
            ConfigValueType.Double => ValidateDouble(text),
            ConfigValueType.List => ValidateList(text),
            ConfigValueType.String when AllowedValues.Count > 0 => ContainsAllowed(text) ? null : Expectation,
            _ => null,
        };
        return typeError ?? _extraValidation?.Invoke(text);
    }

    /// <summary>Checks <paramref name="value"/> and returns its trimmed form, or throws a <see cref="ConfigException"/> naming the key.</summary>
    public string RequireValid(string value, string? origin = null)
    {
        var error = Validate(value);
        if (error is not null)
        {
            throw new ConfigException(InvalidValueMessage(value, error, origin));
        }

        return value.Trim();
    }

    /// <summary>"Invalid value 'x' for configuration 'k' (origin): expected …" with secrets hidden.</summary>
    public string InvalidValueMessage(string value, string expectation, string? origin = null)
    {
        var shown = IsSensitive ? "[hidden]" : value;
        var from = string.IsNullOrEmpty(origin) ? "" : $" ({origin})";
        return $"Invalid value '{shown}' for configuration '{Name}'{from}: expected {expectation}.";
    }

    private bool ContainsAllowed(string item)
    {
        foreach (var allowed in AllowedValues)
        {
            // Kafka's enum-like strings (CreateTime, delete, gzip …) are matched case-sensitively except for
            // a handful it lower-cases first; accepting any case is friendlier and cannot be ambiguous here.
            if (string.Equals(allowed, item, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    private string? ValidateInteger(string text, long typeMin, long typeMax)
    {
        if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var parsed)
            || parsed < typeMin || parsed > typeMax)
        {
            return Expectation;
        }

        return (Minimum is { } min && parsed < min) || (Maximum is { } max && parsed > max) ? Expectation : null;
    }

    private string? ValidateDouble(string text)
    {
        if (!ConfigValues.TryParseDouble(text, out var parsed))
        {
            return Expectation;
        }

        return (Minimum is { } min && parsed < (double)min) || (Maximum is { } max && parsed > (double)max) ? Expectation : null;
    }

    private string? ValidateList(string text)
    {
        if (AllowedValues.Count == 0)
        {
            return null;
        }

        foreach (var item in ConfigValues.SplitList(text))
        {
            if (!ContainsAllowed(item))
            {
                return Expectation;
            }
        }

        return null;
    }

    private string NumberExpectation(string kind) => (Minimum, Maximum) switch
    {
        ({ } min, { } max) => $"{kind} in [{Format(min)}, {Format(max)}]",
        ({ } min, null) => $"{kind} >= {Format(min)}",
        (null, { } max) => $"{kind} <= {Format(max)}",
        _ => kind,
    };

    private static string Format(decimal bound) => bound.ToString(CultureInfo.InvariantCulture);
}
