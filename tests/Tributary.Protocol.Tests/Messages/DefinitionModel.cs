using System.Buffers;
using Tributary.Protocol;
using Tributary.Protocol.Messages;
using Tributary.ProtocolGen;
using Tributary.ProtocolGen.Model;

namespace Tributary.Protocol.Tests.Messages;

/// <summary>The parsed definitions (the same model the generator used), plus lookups from them to generated types.</summary>
internal static class DefinitionModel
{
    private static readonly Lazy<IReadOnlyList<ApiDefinition>> LazyApis =
        new(() => Generator.ParseDirectory(RepoPaths.DefinitionsDirectory));

    public static IReadOnlyList<ApiDefinition> Apis => LazyApis.Value;

    /// <summary>Every (message class, version) pair the definitions declare, for theories.</summary>
    public static TheoryData<string, short> AllMessageVersions()
    {
        var data = new TheoryData<string, short>();
        foreach (var api in Apis.OrderBy(a => a.Key))
        {
            foreach (var message in new[] { api.Request, api.Response })
            {
                for (short version = api.Versions.Min; version <= api.Versions.Max; version++)
                {
                    data.Add(message.ClassName, version);
                }
            }
        }

        return data;
    }

    public static (ApiDefinition Api, MessageDefinition Message) Find(string className)
    {
        foreach (var api in Apis)
        {
            if (api.Request.ClassName == className)
            {
                return (api, api.Request);
            }

            if (api.Response.ClassName == className)
            {
                return (api, api.Response);
            }
        }

        throw new ArgumentException($"no message class {className}", nameof(className));
    }

    public static Type ClassOf(string className) =>
        typeof(IKafkaMessage).Assembly.GetType("Tributary.Protocol.Messages." + className, throwOnError: true)!;

    public static byte[] Serialize(IKafkaMessage message, short version)
    {
        var buffer = new ArrayBufferWriter<byte>();
        message.Write(new KafkaWriter(buffer), version);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Reads through the catalog, as the broker will.</summary>
    public static IKafkaMessage Deserialize(MessageDefinition message, short apiKey, short version, ref KafkaReader reader) =>
        message.Kind == MessageKind.Request
            ? ApiCatalog.ReadRequest(apiKey, version, ref reader)
            : ApiCatalog.ReadResponse(apiKey, version, ref reader);
}

/// <summary>Locates the repository from the test's output directory.</summary>
internal static class RepoPaths
{
    private static readonly Lazy<string> LazyRoot = new(() =>
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Cluster.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("Cluster.sln not found above " + AppContext.BaseDirectory);
    });

    public static string Root => LazyRoot.Value;

    public static string DefinitionsDirectory => Path.Combine(Root, "broker", "src", "Tributary.Protocol", "Definitions");

    public static string MessagesDirectory => Path.Combine(Root, "broker", "src", "Tributary.Protocol", "Messages");
}
