using System.Reflection;
using System.Runtime.Loader;
using Microsoft.Extensions.Logging;
using Tributary.Connect.Api.Connectors;
using Tributary.Connect.Converters;
using Tributary.Connect.Transforms;

namespace Tributary.Connect.Plugins;

/// <summary>The kinds of plugin /connector-plugins reports.</summary>
public enum PluginKind
{
    Source,
    Sink,
    Converter,
    Transformation,
    Predicate,
}

/// <summary>One loadable plugin class and the names it answers to.</summary>
public sealed record PluginDescriptor(Type Type, PluginKind Kind, string ClassName, string Version, IReadOnlyList<string> Aliases)
{
    public string TypeName => Kind switch
    {
        PluginKind.Source => "source",
        PluginKind.Sink => "sink",
        PluginKind.Converter => "converter",
        PluginKind.Transformation => "transformation",
        _ => "predicate",
    };
}

/// <summary>
/// Every plugin the worker knows: the built-in converters, transforms and predicates, and the connectors, converters,
/// transforms and predicates in the assemblies under <c>plugin.path</c>. Each plugin directory gets its own
/// <see cref="AssemblyLoadContext"/>; only the plugin API assembly is shared with the worker.
/// </summary>
public sealed class PluginRegistry
{
    private readonly Dictionary<string, PluginDescriptor> byName = new(StringComparer.Ordinal);
    private readonly List<PluginDescriptor> all = [];

    public PluginRegistry(IEnumerable<string> pluginPath, ILogger logger)
    {
        RegisterBuiltIns();
        foreach (var entry in pluginPath)
        {
            foreach (var dir in PluginDirectories(entry))
            {
                LoadDirectory(dir, logger);
            }
        }
    }

    public IReadOnlyList<PluginDescriptor> All => all;

    /// <summary>The plugin named <paramref name="name"/> (full class name, Kafka's class name, or a short alias).</summary>
    public PluginDescriptor? Find(string name) => byName.GetValueOrDefault(name.Trim());

    public T Create<T>(string name, PluginKind? kind = null) where T : class
    {
        var d = Find(name) ?? throw new PluginNotFoundException(name);
        if (kind is { } k && d.Kind != k && !(k == PluginKind.Source && d.Kind == PluginKind.Sink) && !(k == PluginKind.Sink && d.Kind == PluginKind.Source))
        {
            throw new PluginNotFoundException(name);
        }

        return Activator.CreateInstance(d.Type) as T ?? throw new PluginNotFoundException(name);
    }

    private static IEnumerable<string> PluginDirectories(string entry)
    {
        var trimmed = entry.Trim();
        if (trimmed.Length == 0 || !Directory.Exists(trimmed))
        {
            yield break;
        }

        if (Directory.EnumerateFiles(trimmed, "*.dll").Any())
        {
            yield return trimmed;
        }

        foreach (var sub in Directory.EnumerateDirectories(trimmed).Order(StringComparer.Ordinal))
        {
            if (Directory.EnumerateFiles(sub, "*.dll").Any())
            {
                yield return sub;
            }
        }
    }

    private void LoadDirectory(string dir, ILogger logger)
    {
        var context = new PluginLoadContext(dir);
        foreach (var file in Directory.EnumerateFiles(dir, "*.dll").Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileNameWithoutExtension(file);
            if (PluginLoadContext.IsShared(name))
            {
                continue;
            }

            Assembly assembly;
            try
            {
                assembly = context.LoadFromAssemblyPath(Path.GetFullPath(file));
            }
            catch (BadImageFormatException)
            {
                continue; // a native library next to the plugin
            }

            Type[] types;
            try
            {
                types = assembly.GetExportedTypes();
            }
            catch (Exception e) when (e is ReflectionTypeLoadException or FileNotFoundException or FileLoadException)
            {
                ConnectLog.PluginLoadFailed(logger, file, e.Message);
                continue;
            }

            foreach (var t in types)
            {
                if (Register(t, assembly.GetName().Version?.ToString() ?? "0.0.0") is { } d)
                {
                    ConnectLog.PluginLoaded(logger, d.ClassName, d.TypeName, dir);
                }
            }
        }
    }

    private PluginDescriptor? Register(Type t, string version, params string[] extraAliases)
    {
        if (t.IsAbstract || t.IsInterface || t.GetConstructor(Type.EmptyTypes) is null)
        {
            return null;
        }

        PluginKind? kind = t switch
        {
            _ when typeof(SourceConnector).IsAssignableFrom(t) => PluginKind.Source,
            _ when typeof(SinkConnector).IsAssignableFrom(t) => PluginKind.Sink,
            _ when typeof(IConverter).IsAssignableFrom(t) => PluginKind.Converter,
            _ when typeof(ITransform).IsAssignableFrom(t) => PluginKind.Transformation,
            _ when typeof(IPredicate).IsAssignableFrom(t) => PluginKind.Predicate,
            _ => null,
        };
        if (kind is null)
        {
            return null;
        }

        // Kafka names nested $Key/$Value classes with '$'; our nested classes are Outer+Key: answer to both.
        var className = (t.FullName ?? t.Name).Replace('+', '$');
        var simple = className[(className.LastIndexOf('.') + 1)..];
        var aliases = new List<string> { className, simple };
        if (simple.EndsWith("Connector", StringComparison.Ordinal) && simple.Length > "Connector".Length)
        {
            aliases.Add(simple[..^"Connector".Length]);
        }

        aliases.AddRange(extraAliases);
        var d = new PluginDescriptor(t, kind.Value, className, version, aliases);
        all.Add(d);
        foreach (var a in aliases)
        {
            byName.TryAdd(a, d);
        }

        return d;
    }

    private void RegisterBuiltIns()
    {
        var version = typeof(PluginRegistry).Assembly.GetName().Version?.ToString() ?? "0.0.0";
        const string kt = "org.apache.kafka.connect.transforms.";
        Register(typeof(JsonConverter), version, "org.apache.kafka.connect.json.JsonConverter");
        Register(typeof(StringConverter), version, "org.apache.kafka.connect.storage.StringConverter");
        Register(typeof(ByteArrayConverter), version, "org.apache.kafka.connect.converters.ByteArrayConverter");
        Register(typeof(Converters.Registry.AvroConverter), version, "io.confluent.connect.avro.AvroConverter");
        Register(typeof(Converters.Registry.JsonSchemaConverter), version, "io.confluent.connect.json.JsonSchemaConverter");
        foreach (var (outer, key, value) in new (string, Type, Type)[]
                 {
                     ("ExtractField", typeof(ExtractField.Key), typeof(ExtractField.Value)),
                     ("HoistField", typeof(HoistField.Key), typeof(HoistField.Value)),
                     ("ReplaceField", typeof(ReplaceField.Key), typeof(ReplaceField.Value)),
                     ("MaskField", typeof(MaskField.Key), typeof(MaskField.Value)),
                     ("InsertField", typeof(InsertField.Key), typeof(InsertField.Value)),
                     ("Cast", typeof(Cast.Key), typeof(Cast.Value)),
                     ("Flatten", typeof(Flatten.Key), typeof(Flatten.Value)),
                 })
        {
            Register(key, version, kt + outer + "$Key", outer + "$Key");
            Register(value, version, kt + outer + "$Value", outer + "$Value");
        }

        Register(typeof(ValueToKey), version, kt + "ValueToKey");
        Register(typeof(RegexRouter), version, kt + "RegexRouter");
        Register(typeof(TimestampRouter), version, kt + "TimestampRouter");
        Register(typeof(Filter), version, kt + "Filter");
        Register(typeof(TopicNameMatches), version, kt + "predicates.TopicNameMatches");
        Register(typeof(HasHeaderKey), version, kt + "predicates.HasHeaderKey");
        Register(typeof(RecordIsTombstone), version, kt + "predicates.RecordIsTombstone");
    }

    /// <summary>Loads a plugin directory's own assemblies; the plugin API (and what the worker shares) come from the worker.</summary>
    private sealed class PluginLoadContext(string directory) : AssemblyLoadContext(name: "plugin:" + directory, isCollectible: false)
    {
        public static bool IsShared(string assemblyName) =>
            assemblyName is "Tributary.Connect.Api" or "tributary-connect" || assemblyName.StartsWith("Microsoft.Extensions.", StringComparison.Ordinal);

        protected override Assembly? Load(AssemblyName assemblyName)
        {
            if (assemblyName.Name is null || IsShared(assemblyName.Name))
            {
                return null; // the worker's copy
            }

            var candidate = Path.Combine(directory, assemblyName.Name + ".dll");
            return File.Exists(candidate) ? LoadFromAssemblyPath(Path.GetFullPath(candidate)) : null;
        }
    }
}

/// <summary>No plugin by that name.</summary>
public sealed class PluginNotFoundException(string name) : Exception($"Failed to find any class that implements Connector and which name matches {name}")
{
    public string PluginName { get; } = name;
}
