using System.Collections;
using System.Reflection;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;

namespace Tributary.Operator.Api.Schema;

/// <summary>
/// Checks a spec against the same attributes CrdGen turns into the CRD schema, so a spec the API server admitted
/// (an old CRD, an OperatorOnly bound) is still refused with a readable reason before the operator acts on it.
/// </summary>
public static class SpecValidator
{
    private const int MaxDepth = 16;

    /// <summary>Every violation as "path: problem"; empty when the spec is valid.</summary>
    public static IReadOnlyList<string> Validate(object? spec, string path = "spec")
    {
        var errors = new List<string>();
        if (spec is null)
        {
            errors.Add($"{path}: is required");
            return errors;
        }

        Walk(spec, path, errors, 0);
        return errors;
    }

    private static void Walk(object value, string path, List<string> errors, int depth)
    {
        if (depth > MaxDepth)
        {
            errors.Add($"{path}: nested deeper than {MaxDepth} levels");
            return;
        }

        foreach (var property in value.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.GetIndexParameters().Length > 0 || property.GetCustomAttribute<JsonIgnoreAttribute>() is not null)
            {
                continue;
            }

            var name = JsonName(property);
            var fieldPath = $"{path}.{name}";
            var fieldValue = property.GetValue(value);
            if (fieldValue is null || (fieldValue is string s0 && s0.Length == 0))
            {
                if (property.GetCustomAttribute<RequiredAttribute>() is not null)
                {
                    errors.Add($"{fieldPath}: is required");
                }

                continue;
            }

            if (property.GetCustomAttribute<MinimumAttribute>() is { } min && ToLong(fieldValue) is { } n1 && n1 < min.Value)
            {
                errors.Add($"{fieldPath}: must be at least {min.Value} (is {n1})");
            }

            if (property.GetCustomAttribute<MaximumAttribute>() is { } max && ToLong(fieldValue) is { } n2 && n2 > max.Value)
            {
                errors.Add($"{fieldPath}: must be at most {max.Value} (is {n2})");
            }

            if (fieldValue is string text)
            {
                if (property.GetCustomAttribute<MaxLengthAttribute>() is { } maxLength && text.Length > maxLength.Value)
                {
                    errors.Add($"{fieldPath}: must be at most {maxLength.Value} characters (is {text.Length})");
                }

                if (property.GetCustomAttribute<PatternAttribute>() is { } pattern
                    && !Regex.IsMatch(text, pattern.Regex, RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(100)))
                {
                    errors.Add($"{fieldPath}: '{text}' does not match {pattern.Regex}");
                }

                continue;
            }

            if (fieldValue is IDictionary dictionary)
            {
                foreach (DictionaryEntry entry in dictionary)
                {
                    if (entry.Key is string key && key.Length == 0)
                    {
                        errors.Add($"{fieldPath}: keys must not be empty");
                    }
                }

                continue;
            }

            var type = fieldValue.GetType();
            if (type.IsClass && type.Namespace?.StartsWith("Tributary.Operator.Api", StringComparison.Ordinal) == true)
            {
                Walk(fieldValue, fieldPath, errors, depth + 1);
            }
        }
    }

    /// <summary>The JSON name of a property: its [JsonPropertyName] or its camel-cased C# name.</summary>
    public static string JsonName(PropertyInfo property) =>
        property.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name
        ?? char.ToLowerInvariant(property.Name[0]) + property.Name[1..];

    private static long? ToLong(object value) => value switch
    {
        int i => i,
        long l => l,
        short s => s,
        _ => null,
    };
}
