using Microsoft.Extensions.Logging;
using Tributary.SchemaRegistry;
using Tributary.SchemaRegistry.Config;

// tributary-schema-registry [--config] schema-registry.properties [--override key=value]…
// Confluent's key names (listeners, kafkastore.bootstrap.servers, kafkastore.topic, schema.compatibility.level, …);
// environment TRIBUTARY_SR_<KEY_WITH_UNDERSCORES> also sets a key (e.g. TRIBUTARY_SR_LISTENERS).
var properties = new Dictionary<string, string>(StringComparer.Ordinal);
try
{
    for (int i = 0; i < args.Length; i++)
    {
        switch (args[i])
        {
            case "--config" when i + 1 < args.Length:
                foreach (var (k, v) in RegistryOptions.ReadPropertiesFile(args[++i]))
                {
                    properties[k] = v;
                }

                break;
            case "--override" when i + 1 < args.Length:
                string pair = args[++i];
                int eq = pair.IndexOf('=', StringComparison.Ordinal);
                if (eq <= 0)
                {
                    throw new RegistryConfigException($"--override {pair} is not key=value");
                }

                properties[pair[..eq]] = pair[(eq + 1)..];
                break;
            case "--help" or "-h":
                Console.WriteLine("usage: tributary-schema-registry [--config] <schema-registry.properties> [--override key=value]...");
                return 0;
            default:
                if (args[i].StartsWith("--", StringComparison.Ordinal))
                {
                    throw new RegistryConfigException($"unknown option {args[i]}");
                }

                foreach (var (k, v) in RegistryOptions.ReadPropertiesFile(args[i]))
                {
                    properties[k] = v;
                }

                break;
        }
    }

    foreach (System.Collections.DictionaryEntry entry in Environment.GetEnvironmentVariables())
    {
        if (entry.Key is string name && name.StartsWith("TRIBUTARY_SR_", StringComparison.Ordinal) && entry.Value is string value)
        {
            properties[name["TRIBUTARY_SR_".Length..].ToLowerInvariant().Replace('_', '.')] = value;
        }
    }

    var options = RegistryOptions.FromProperties(properties, key => Console.Error.WriteLine($"tributary-schema-registry: unknown config key {key} (ignored)"));
    await using var server = await SchemaRegistryServer.StartAsync(options, logging => logging
        .AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
        })
        .SetMinimumLevel(LogLevel.Information)
        .AddFilter("Microsoft.AspNetCore", LogLevel.Warning));
    await server.WaitForShutdownAsync();
    return 0;
}
catch (RegistryConfigException e)
{
    Console.Error.WriteLine($"tributary-schema-registry: invalid configuration: {e.Message}");
    return 2;
}
catch (IOException e)
{
    Console.Error.WriteLine($"tributary-schema-registry: {e.Message}");
    return 2;
}
