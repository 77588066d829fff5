using Tributary.ProtocolGen.Emitting;
using Tributary.ProtocolGen.Model;
using Tributary.ProtocolGen.Parsing;

namespace Tributary.ProtocolGen;

/// <summary>Parses every <c>*.kmsg</c> in a directory and writes the generated sources into another.</summary>
public static class Generator
{
    public const string CatalogFileName = "ApiCatalog.g.cs";

    /// <summary>Namespace of the generated code unless told otherwise: the Kafka APIs the broker serves.</summary>
    public const string DefaultNamespace = "Tributary.Protocol.Messages";

    /// <summary>Parses all definitions; throws an <see cref="AggregateException"/> of every <see cref="DefinitionException"/> found.</summary>
    public static IReadOnlyList<ApiDefinition> ParseDirectory(string definitionsDirectory)
    {
        var files = Directory.GetFiles(definitionsDirectory, "*.kmsg").Order(StringComparer.Ordinal).ToList();
        var apis = new List<ApiDefinition>();
        var errors = new List<DefinitionException>();
        foreach (string file in files)
        {
            try
            {
                apis.Add(DefinitionParser.ParseFile(file));
            }
            catch (DefinitionException error)
            {
                errors.Add(error);
            }
        }

        CheckAcrossFiles(apis, errors);
        if (errors.Count > 0)
        {
            throw new AggregateException($"{errors.Count} definition error(s)", errors);
        }

        return apis;
    }

    /// <summary>Generated file name → content, fully deterministic.</summary>
    public static SortedDictionary<string, string> Render(IReadOnlyList<ApiDefinition> apis, string ns = DefaultNamespace)
    {
        var files = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var api in apis)
        {
            files[api.Request.ClassName + ".g.cs"] = MessageEmitter.Emit(api, api.Request, ns);
            files[api.Response.ClassName + ".g.cs"] = MessageEmitter.Emit(api, api.Response, ns);
        }

        files[CatalogFileName] = CatalogEmitter.Emit(apis, ns);
        return files;
    }

    /// <summary>Writes changed files, deletes stale <c>*.g.cs</c>, and returns the names written.</summary>
    /// <param name="ns">Namespace of the generated types (another set of APIs, e.g. the controller's RPCs, gets its own).</param>
    public static IReadOnlyList<string> Run(string definitionsDirectory, string outputDirectory, string ns = DefaultNamespace)
    {
        var files = Render(ParseDirectory(definitionsDirectory), ns);
        Directory.CreateDirectory(outputDirectory);
        foreach (string stale in Directory.GetFiles(outputDirectory, "*.g.cs"))
        {
            if (!files.ContainsKey(Path.GetFileName(stale)))
            {
                File.Delete(stale);
            }
        }

        foreach (var (name, content) in files)
        {
            string path = Path.Combine(outputDirectory, name);
            // Rewriting unchanged files would only bump timestamps and trigger rebuilds.
            if (!File.Exists(path) || File.ReadAllText(path) != content)
            {
                File.WriteAllText(path, content);
            }
        }

        return files.Keys.ToList();
    }

    private static void CheckAcrossFiles(List<ApiDefinition> apis, List<DefinitionException> errors)
    {
        foreach (var group in apis.GroupBy(a => a.Key).Where(g => g.Count() > 1))
        {
            var list = group.ToList();
            errors.Add(new DefinitionException(list[1].SourceFile, 1, $"API key {group.Key} is also used by {list[0].SourceFile}"));
        }

        foreach (var group in apis.GroupBy(a => a.Name, StringComparer.Ordinal).Where(g => g.Count() > 1))
        {
            var list = group.ToList();
            errors.Add(new DefinitionException(list[1].SourceFile, 1, $"API name {group.Key} is also used by {list[0].SourceFile}"));
        }

        foreach (var api in apis)
        {
            string expected = api.Name + ".kmsg";
            if (!string.Equals(api.SourceFile, expected, StringComparison.Ordinal))
            {
                errors.Add(new DefinitionException(api.SourceFile, 1, $"file defines API '{api.Name}' and should be named {expected}"));
            }
        }
    }
}
