using System.Collections;
using System.Globalization;

namespace Tributary.Broker.Config;

/// <summary>Builds a <see cref="BrokerConfig"/> from <c>--config file</c> &lt; <c>TRIBUTARY_*</c> environment &lt; <c>--override key=value</c>.</summary>
public static class BrokerConfigLoader
{
    /// <summary>Environment variables with this prefix set broker keys: TRIBUTARY_LOG_DIRS → log.dirs.</summary>
    public const string EnvironmentPrefix = "TRIBUTARY_";

    /// <summary>Command-line usage, printed by the host for --help and argument errors.</summary>
    public const string Usage =
        "usage: tributary-broker [--config server.properties] [--override key=value]...\n" +
        "  Settings come from the file, then TRIBUTARY_<KEY> environment variables (dots as underscores,\n" +
        "  e.g. TRIBUTARY_LOG_DIRS), then --override; later sources win.";

    /// <summary>Loads and validates the configuration; unknown keys become <paramref name="warnings"/>, invalid values a <see cref="ConfigException"/>.</summary>
    public static BrokerConfig Load(string[] args, IDictionary environment, out IReadOnlyList<string> warnings)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(environment);

        var (configFile, overrides) = ParseArguments(args);
        var collected = new List<string>();
        var settings = new Dictionary<string, ConfigSetting>(StringComparer.Ordinal);

        if (configFile is not null)
        {
            var fileName = Path.GetFileName(configFile);
            foreach (var entry in JavaProperties.ReadFile(configFile))
            {
                Add(new ConfigSetting(entry.Key, entry.Value, BrokerConfigSource.ConfigFile,
                    $"{fileName} line {entry.LineNumber.ToString(CultureInfo.InvariantCulture)}"));
            }
        }

        foreach (var (variable, value) in EnvironmentSettings(environment))
        {
            Add(new ConfigSetting(KeyFromEnvironmentVariable(variable), value, BrokerConfigSource.Environment, $"environment {variable}"));
        }

        foreach (var (key, value) in overrides)
        {
            Add(new ConfigSetting(key, value, BrokerConfigSource.CommandLine, "--override"));
        }

        var config = new BrokerConfig(settings);
        warnings = collected;
        return config;

        void Add(ConfigSetting setting)
        {
            if (BrokerConfigDefinitions.All.ContainsKey(setting.Key))
            {
                settings[setting.Key] = setting;
            }
            else
            {
                collected.Add($"Unknown configuration '{setting.Key}' ({setting.Origin}) is ignored.");
            }
        }
    }

    /// <summary>TRIBUTARY_LOG_DIRS → log.dirs. Kafka keys contain no underscores, so the mapping is unambiguous.</summary>
    public static string KeyFromEnvironmentVariable(string variable) =>
        variable[EnvironmentPrefix.Length..].ToLowerInvariant().Replace('_', '.');

    /// <summary>log.dirs → TRIBUTARY_LOG_DIRS.</summary>
    public static string EnvironmentVariableFromKey(string key) =>
        EnvironmentPrefix + key.ToUpperInvariant().Replace('.', '_');

    private static IEnumerable<(string Variable, string Value)> EnvironmentSettings(IDictionary environment)
    {
        var found = new List<(string, string)>();
        foreach (DictionaryEntry entry in environment)
        {
            if (entry.Key is string name && name.Length > EnvironmentPrefix.Length
                && name.StartsWith(EnvironmentPrefix, StringComparison.Ordinal))
            {
                found.Add((name, entry.Value as string ?? ""));
            }
        }

        // Sorted so that warnings and precedence between aliases do not depend on hash order.
        found.Sort((a, b) => string.CompareOrdinal(a.Item1, b.Item1));
        return found;
    }

    private static (string? ConfigFile, List<(string Key, string Value)> Overrides) ParseArguments(string[] args)
    {
        string? configFile = null;
        var overrides = new List<(string, string)>();
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            if (TryOption(args, ref i, "--config", out var path))
            {
                if (configFile is not null)
                {
                    throw new ConfigException("--config may be given only once.");
                }

                configFile = path;
            }
            else if (TryOption(args, ref i, "--override", out var assignment))
            {
                var equals = assignment.IndexOf('=', StringComparison.Ordinal);
                if (equals <= 0)
                {
                    throw new ConfigException($"--override expects key=value, got '{assignment}'.");
                }

                overrides.Add((assignment[..equals].Trim(), assignment[(equals + 1)..]));
            }
            else if (!arg.StartsWith('-') && configFile is null)
            {
                // Kafka's kafka-server-start.sh takes the properties file as its first positional argument.
                configFile = arg;
            }
            else
            {
                throw new ConfigException($"Unknown argument '{arg}'.\n{Usage}");
            }
        }

        return (configFile, overrides);
    }

    private static bool TryOption(string[] args, ref int index, string name, out string value)
    {
        var arg = args[index];
        if (arg.StartsWith(name + "=", StringComparison.Ordinal))
        {
            value = arg[(name.Length + 1)..];
            return true;
        }

        if (arg == name)
        {
            if (index + 1 >= args.Length)
            {
                throw new ConfigException($"{name} needs a value.\n{Usage}");
            }

            value = args[++index];
            return true;
        }

        value = "";
        return false;
    }
}
