using System.Globalization;

namespace Tributary.Connect.Api.Config;

/// <summary>Config value types, named as Connect's REST API reports them.</summary>
public enum ConfigType
{
    Boolean,
    String,
    Int,
    Short,
    Long,
    Double,
    List,
    Class,
    Password,
}

/// <summary>How much a user should care about a key (reported by /config/validate).</summary>
public enum Importance
{
    High,
    Medium,
    Low,
}

/// <summary>Checks one parsed value; throws <see cref="ConfigException"/> with the reason when it is not acceptable.</summary>
public interface IConfigValidator
{
    void EnsureValid(string name, object? value);
}

/// <summary>A bad configuration: the message names the key and why.</summary>
public sealed class ConfigException : Exception
{
    public ConfigException(string message) : base(message)
    {
    }

    public ConfigException(string name, object? value, string reason)
        : base($"Invalid value {ConfigDef.Show(value)} for configuration {name}: {reason}")
    {
    }
}

/// <summary>One key of a <see cref="ConfigDef"/>.</summary>
public sealed record ConfigKey(string Name, ConfigType Type, object? DefaultValue, bool HasDefault, IConfigValidator? Validator,
    Importance Importance, string Documentation, string? Group = null, int OrderInGroup = -1, string? DisplayName = null);

/// <summary>Result of validating one key: its value as given and every error found.</summary>
public sealed class ConfigValue(string name, object? value)
{
    public string Name { get; } = name;
    public object? Value { get; set; } = value;
    public List<string> ErrorMessages { get; } = [];
    public List<object> RecommendedValues { get; } = [];
    public bool Visible { get; set; } = true;
}

/// <summary>A set of typed config keys with defaults, importance, documentation and validators (Kafka's ConfigDef).</summary>
public sealed class ConfigDef
{
    /// <summary>Marks a key without a default: it must be set.</summary>
    public static readonly object NoDefault = new();

    private readonly Dictionary<string, ConfigKey> keys = new(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, ConfigKey> Keys => keys;

    public IEnumerable<ConfigKey> OrderedKeys => keys.Values;

    public ConfigDef Define(string name, ConfigType type, object? defaultValue, IConfigValidator? validator, Importance importance,
        string documentation, string? group = null, int orderInGroup = -1, string? displayName = null)
    {
        if (keys.ContainsKey(name))
        {
            throw new ConfigException($"Configuration {name} is defined twice.");
        }

        var hasDefault = !ReferenceEquals(defaultValue, NoDefault);
        var parsedDefault = hasDefault && defaultValue is not null ? Parse(name, type, defaultValue) : null;
        if (hasDefault && validator is not null && parsedDefault is not null)
        {
            validator.EnsureValid(name, parsedDefault);
        }

        keys[name] = new ConfigKey(name, type, parsedDefault, hasDefault, validator, importance, documentation, group, orderInGroup, displayName ?? name);
        return this;
    }

    public ConfigDef Define(string name, ConfigType type, object? defaultValue, Importance importance, string documentation, string? group,
        int orderInGroup, string? displayName) =>
        Define(name, type, defaultValue, null, importance, documentation, group, orderInGroup, displayName);

    public ConfigDef Define(string name, ConfigType type, object? defaultValue, Importance importance, string documentation) =>
        Define(name, type, defaultValue, null, importance, documentation);

    public ConfigDef Define(string name, ConfigType type, Importance importance, string documentation) =>
        Define(name, type, NoDefault, null, importance, documentation);

    /// <summary>Every key of <paramref name="other"/> added to a copy of this definition.</summary>
    public ConfigDef Merge(ConfigDef other)
    {
        var merged = new ConfigDef();
        foreach (var k in keys.Values.Concat(other.keys.Values))
        {
            merged.keys.TryAdd(k.Name, k);
        }

        return merged;
    }

    /// <summary>Parses and validates every defined key of <paramref name="props"/>; throws on the first problem.</summary>
    public Dictionary<string, object?> Parse(IReadOnlyDictionary<string, string> props)
    {
        var values = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var key in keys.Values)
        {
            object? value;
            if (props.TryGetValue(key.Name, out var raw))
            {
                value = Parse(key.Name, key.Type, raw);
            }
            else if (key.HasDefault)
            {
                value = key.DefaultValue;
            }
            else
            {
                throw new ConfigException($"Missing required configuration \"{key.Name}\" which has no default value.");
            }

            if (key.Validator is not null && (value is not null || !key.HasDefault))
            {
                key.Validator.EnsureValid(key.Name, value);
            }

            values[key.Name] = value;
        }

        return values;
    }

    /// <summary>Validates every defined key and reports each problem per key instead of stopping at the first.</summary>
    public List<ConfigValue> Validate(IReadOnlyDictionary<string, string> props)
    {
        var result = new List<ConfigValue>();
        foreach (var key in keys.Values)
        {
            props.TryGetValue(key.Name, out var raw);
            var value = new ConfigValue(key.Name, raw);
            result.Add(value);
            try
            {
                object? parsed;
                if (raw is not null)
                {
                    parsed = Parse(key.Name, key.Type, raw);
                }
                else if (key.HasDefault)
                {
                    parsed = key.DefaultValue;
                }
                else
                {
                    value.ErrorMessages.Add($"Missing required configuration \"{key.Name}\" which has no default value.");
                    continue;
                }

                if (key.Validator is not null && (parsed is not null || raw is not null))
                {
                    key.Validator.EnsureValid(key.Name, parsed);
                }
            }
            catch (ConfigException e)
            {
                value.ErrorMessages.Add(e.Message);
            }
        }

        return result;
    }

    /// <summary>Parses one raw value into the CLR value of <paramref name="type"/>.</summary>
    public static object? Parse(string name, ConfigType type, object value)
    {
        if (value is not string s)
        {
            return type switch
            {
                ConfigType.Int when value is int => value,
                ConfigType.Long when value is long or int => Convert.ToInt64(value, CultureInfo.InvariantCulture),
                ConfigType.Short when value is short => value,
                ConfigType.Double when value is double or int or long => Convert.ToDouble(value, CultureInfo.InvariantCulture),
                ConfigType.Boolean when value is bool => value,
                ConfigType.List when value is IReadOnlyList<string> => value,
                _ => Parse(name, type, Convert.ToString(value, CultureInfo.InvariantCulture) ?? ""),
            };
        }

        var trimmed = s.Trim();
        switch (type)
        {
            case ConfigType.Boolean:
                if (trimmed.Equals("true", StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }

                if (trimmed.Equals("false", StringComparison.OrdinalIgnoreCase))
                {
                    return false;
                }

                throw new ConfigException(name, s, "Expected value to be either true or false");
            case ConfigType.String:
            case ConfigType.Class:
            case ConfigType.Password:
                return type == ConfigType.String ? s : trimmed;
            case ConfigType.Int:
                return int.TryParse(trimmed, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i)
                    ? i : throw new ConfigException(name, s, "Not a number of type INT");
            case ConfigType.Short:
                return short.TryParse(trimmed, NumberStyles.Integer, CultureInfo.InvariantCulture, out var sh)
                    ? sh : throw new ConfigException(name, s, "Not a number of type SHORT");
            case ConfigType.Long:
                return long.TryParse(trimmed, NumberStyles.Integer, CultureInfo.InvariantCulture, out var l)
                    ? l : throw new ConfigException(name, s, "Not a number of type LONG");
            case ConfigType.Double:
                return double.TryParse(trimmed, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)
                    ? d : throw new ConfigException(name, s, "Not a number of type DOUBLE");
            case ConfigType.List:
                return trimmed.Length == 0
                    ? Array.Empty<string>()
                    : trimmed.Split(',').Select(p => p.Trim()).ToArray();
            default:
                throw new ConfigException(name, s, "Unknown type " + type);
        }
    }

    public static string Show(object? value) => value switch
    {
        null => "null",
        IEnumerable<string> list when value is not string => string.Join(",", list),
        bool b => b ? "true" : "false",
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
    };

    /// <summary>The type name Connect's REST API reports (e.g. STRING, INT, LIST).</summary>
    public static string TypeName(ConfigType type) => type.ToString().ToUpperInvariant();
}

/// <summary>Common validators (Kafka's Range, ValidString, NonEmptyString, …).</summary>
public static class Validators
{
    public static IConfigValidator AtLeast(long min) => new RangeValidator(min, null);

    public static IConfigValidator Between(long min, long max) => new RangeValidator(min, max);

    public static IConfigValidator In(params string[] allowed) => new InValidator(allowed, ignoreCase: false);

    public static IConfigValidator InIgnoreCase(params string[] allowed) => new InValidator(allowed, ignoreCase: true);

    public static IConfigValidator NonEmptyString { get; } = new LambdaValidator((name, v) =>
    {
        if (v is not string s || s.Trim().Length == 0)
        {
            throw new ConfigException(name, v, "String must be non-empty");
        }
    });

    public static IConfigValidator NonEmptyList { get; } = new LambdaValidator((name, v) =>
    {
        if (v is not IReadOnlyList<string> list || list.Count == 0)
        {
            throw new ConfigException(name, v, "Empty list");
        }
    });

    /// <summary>Any check written as a delegate that throws <see cref="ConfigException"/>.</summary>
    public static IConfigValidator Of(Action<string, object?> check) => new LambdaValidator(check);

    private sealed class LambdaValidator(Action<string, object?> check) : IConfigValidator
    {
        public void EnsureValid(string name, object? value) => check(name, value);
    }

    private sealed class RangeValidator(long min, long? max) : IConfigValidator
    {
        public void EnsureValid(string name, object? value)
        {
            if (value is null)
            {
                throw new ConfigException(name, null, "Value must be non-null");
            }

            var n = Convert.ToDouble(value, CultureInfo.InvariantCulture);
            if (n < min)
            {
                throw new ConfigException(name, value, "Value must be at least " + min);
            }

            if (max is { } m && n > m)
            {
                throw new ConfigException(name, value, "Value must be no more than " + m);
            }
        }
    }

    private sealed class InValidator(string[] allowed, bool ignoreCase) : IConfigValidator
    {
        public void EnsureValid(string name, object? value)
        {
            var s = value as string;
            var cmp = ignoreCase ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
            if (s is null || !allowed.Any(a => string.Equals(a, s, cmp)))
            {
                throw new ConfigException(name, value, "String must be one of: " + string.Join(", ", allowed));
            }
        }
    }
}

/// <summary>Typed access to parsed config values.</summary>
public sealed class ParsedConfig(IReadOnlyDictionary<string, object?> values, IReadOnlyDictionary<string, string> originals)
{
    public static ParsedConfig Of(ConfigDef def, IReadOnlyDictionary<string, string> props) => new(def.Parse(props), props);

    public IReadOnlyDictionary<string, string> Originals { get; } = originals;

    public string? GetString(string key) => (string?)values[key];

    public int GetInt(string key) => (int)values[key]!;

    public long GetLong(string key) => (long)values[key]!;

    public bool GetBoolean(string key) => (bool)values[key]!;

    public double GetDouble(string key) => (double)values[key]!;

    public IReadOnlyList<string> GetList(string key) => (IReadOnlyList<string>?)values[key] ?? [];
}
